//! Java SDK extraction (best effort): the `@Object` class named after the module, its public
//! `@Function` methods with `@Check`, parameter annotations (`@DefaultPath`, `@Ignore`,
//! `@Default`, `@Optional`-style `Optional<T>`), Javadoc, and the constructor with arguments.

use tree_sitter::Node;

use super::extract::{self, ArgumentFacts, Extraction, SourceText, json_string, list_of};
use super::model::Argument;
use super::syntax::{
    self, Grammar, SourceFile, block_doc, first_paragraph, named_children, unquote,
};

static GRAMMAR: Grammar = Grammar::new(
    "Java",
    || tree_sitter_java::LANGUAGE.into(),
    include_str!("queries/java.scm"),
);

/// Extract the main object `main_object` from a module's Java files.
pub fn extract(files: &[SourceText], main_object: &str) -> Extraction {
    GRAMMAR.extract(files, |extraction, parsed, captures| {
        // Best effort: a second class of the same name is passed over without a word.
        if let Some((class, body)) = captures.class_named(parsed, main_object) {
            if !extraction.found_main {
                extraction.found_main = true;
                read_class(parsed, class, body, main_object, extraction);
            }
        } else if let Some((class, name, body)) = captures.class()
            && annotations(parsed, class)
                .iter()
                .any(|annotation| annotation.name == "Object")
        {
            // Another `@Object` class: where nested checks live.
            extraction.add_object(parsed.text(name).to_string(), |name, object| {
                read_class(parsed, class, body, name, object);
            });
        }
    })
}

fn read_class(
    file: &SourceFile,
    class: Node<'_>,
    body: Node<'_>,
    main_object: &str,
    extraction: &mut Extraction,
) {
    if !annotations(file, class)
        .iter()
        .any(|annotation| annotation.name == "Object")
    {
        extraction.problems.push(format!(
            "{}: class `{main_object}` is not annotated with `@Object`",
            file.location(class)
        ));
    }
    extraction.description = javadoc(file, class).map(|doc| first_paragraph(&doc));
    for member in named_children(body) {
        match member.kind() {
            "constructor_declaration" => {
                let arguments = parameters(file, member);
                if !arguments.is_empty() {
                    extraction.constructor = arguments;
                }
            }
            "method_declaration" => {
                let annotations = annotations(file, member);
                let has = |wanted: &str| annotations.iter().any(|each| each.name == wanted);
                if !has("Function") {
                    continue;
                }
                let name = file.field_text(member, "name").to_string();
                let returns = member
                    .child_by_field_name("type")
                    .map(|node| type_name(file, node).0)
                    .unwrap_or_else(|| "Void".to_string());
                let doc = javadoc(file, member);
                let args = parameters(file, member);
                extraction.functions.push(extract::function(
                    name,
                    None,
                    has("Check"),
                    doc,
                    returns,
                    args,
                ));
            }
            _ => {}
        }
    }
}

fn parameters(file: &SourceFile, declaration: Node<'_>) -> Vec<Argument> {
    let Some(parameters) = declaration.child_by_field_name("parameters") else {
        return Vec::new();
    };
    named_children(parameters)
        .into_iter()
        .filter(|parameter| parameter.kind() == "formal_parameter")
        .filter_map(|parameter| {
            let name = file
                .text(parameter.child_by_field_name("name")?)
                .to_string();
            let (type_name, nullable) = parameter
                .child_by_field_name("type")
                .map(|node| type_name(file, node))
                .unwrap_or_else(|| ("Unknown".to_string(), false));
            let declared = parameter
                .child_by_field_name("type")
                .map(|node| file.text(node).to_string())
                .unwrap_or_default();
            let mut facts = ArgumentFacts {
                name,
                r#type: type_name,
                nullable,
                ..ArgumentFacts::default()
            };
            for annotation in annotations(file, parameter) {
                let value = annotation.value;
                match annotation.name.as_str() {
                    "DefaultPath" => facts.default_path = value.and_then(|v| string(file, v)),
                    "DefaultAddress" => {
                        facts.default_address = value.and_then(|v| string(file, v));
                    }
                    "Doc" => facts.doc = value.and_then(|v| string(file, v)),
                    "Default" => facts.default = value.and_then(|v| string(file, v)),
                    "Ignore" => {
                        facts.ignore = value
                            .map(|v| {
                                if v.kind() == "element_value_array_initializer" {
                                    named_children(v)
                                        .into_iter()
                                        .filter_map(|item| string(file, item))
                                        .collect()
                                } else {
                                    string(file, v).into_iter().collect()
                                }
                            })
                            .unwrap_or_default();
                    }
                    _ => {}
                }
            }
            // `@Default` holds JSON, except that the annotation processor wraps the value of a
            // `String` parameter in quotes (`quoteIfString`: always, unless it is `null`).
            if matches!(declared.as_str(), "String" | "java.lang.String")
                && let Some(default) = &facts.default
                && default != "null"
            {
                facts.default = Some(json_string(default));
            }
            Some(facts.into_argument())
        })
        .collect()
}

fn string(file: &SourceFile, node: Node<'_>) -> Option<String> {
    (node.kind() == "string_literal").then(|| unquote(file.text(node)))
}

/// Dagger's name for a Java type, and whether it is `Optional<T>`.
fn type_name(file: &SourceFile, node: Node<'_>) -> (String, bool) {
    match node.kind() {
        "void_type" => ("Void".to_string(), false),
        "integral_type" | "floating_point_type" | "boolean_type" | "type_identifier" => {
            (extract::dagger_type_name(file.text(node)), false)
        }
        "scoped_type_identifier" => (extract::dagger_type_name(file.text(node)), false),
        "array_type" => match node.child_by_field_name("element") {
            Some(element) => (list_of(&type_name(file, element).0), false),
            None => (list_of("Unknown"), false),
        },
        "generic_type" => {
            let children = named_children(node);
            let base = children
                .first()
                .map(|base| file.text(*base))
                .unwrap_or_default();
            let base = base.rsplit('.').next().unwrap_or(base);
            let argument = children
                .iter()
                .find(|child| child.kind() == "type_arguments")
                .and_then(|arguments| arguments.named_child(0));
            match (base, argument) {
                ("Optional", Some(inner)) => (type_name(file, inner).0, true),
                ("List" | "Set" | "Collection" | "Iterable", Some(inner)) => {
                    (list_of(&type_name(file, inner).0), false)
                }
                _ => (extract::dagger_type_name(base), false),
            }
        }
        _ => (file.text(node).to_string(), false),
    }
}

struct Annotation<'tree> {
    name: String,
    /// The single value (`@DefaultPath(".")`) or `value = …`.
    value: Option<Node<'tree>>,
}

fn annotations<'tree>(file: &SourceFile, declaration: Node<'tree>) -> Vec<Annotation<'tree>> {
    let Some(modifiers) = named_children(declaration)
        .into_iter()
        .find(|child| child.kind() == "modifiers")
    else {
        return Vec::new();
    };
    named_children(modifiers)
        .into_iter()
        .filter(|child| matches!(child.kind(), "annotation" | "marker_annotation"))
        .filter_map(|annotation| {
            let name = annotation.child_by_field_name("name")?;
            let name = file.text(name);
            let value = annotation
                .child_by_field_name("arguments")
                .and_then(|arguments| arguments.named_child(0))
                .map(|first| {
                    if first.kind() == "element_value_pair" {
                        first.child_by_field_name("value").unwrap_or(first)
                    } else {
                        first
                    }
                });
            Some(Annotation {
                name: name.rsplit('.').next().unwrap_or(name).to_string(),
                value,
            })
        })
        .collect()
}

fn javadoc(file: &SourceFile, node: Node<'_>) -> Option<String> {
    let previous = node.prev_named_sibling()?;
    if previous.kind() != "block_comment" {
        return None;
    }
    let doc = block_doc(file.text(previous))?;
    // Tags (`@param`, `@return`) are not prose.
    let prose: Vec<&str> = doc
        .lines()
        .take_while(|line| !line.trim_start().starts_with('@'))
        .collect();
    syntax::clean_doc(&prose.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_checks_and_annotations() {
        let extraction = extract(
            &[SourceText {
                path: "src/main/java/io/dagger/modules/demo/Demo.java".into(),
                text: r#"
package io.dagger.modules.demo;

import io.dagger.module.annotation.*;
import java.util.List;
import java.util.Optional;

/** A Java module. */
@Object
public class Demo {
  public Demo() {}

  public Demo(@Default("\"17\"") String jdk) {}

  /** Run the tests.
   * @param source the code
   */
  @Function
  @Check
  public String test(@DefaultPath(".") @Ignore({"target", ".git"}) Directory source, Optional<Boolean> verbose) {
    return "";
  }

  @Function
  public void publish(Secret token, List<String> tags) {}
}
"#
                .into(),
            }],
            "Demo",
        );
        assert!(extraction.found_main);
        assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
        assert_eq!(extraction.description.as_deref(), Some("A Java module."));
        let test = &extraction.functions[0];
        assert!(test.check);
        assert_eq!(test.doc.as_deref(), Some("Run the tests."));
        assert_eq!(test.args[0].default_path.as_deref(), Some("."));
        assert_eq!(test.args[0].ignore, ["target", ".git"]);
        assert!(test.args[1].optional);
        assert_eq!(test.args[1].r#type, "Boolean");
        let publish = &extraction.functions[1];
        assert_eq!(publish.returns, "Void");
        assert_eq!(publish.args[1].r#type, "[String]");
        // The annotation processor quotes every `String` default, quotes included.
        assert_eq!(
            extraction.constructor[0].default.as_deref(),
            Some(r#""\"17\"""#)
        );
    }

    #[test]
    fn string_defaults_are_json_strings_as_the_annotation_processor_makes_them() {
        let extraction = extract(
            &[SourceText {
                path: "src/main/java/io/dagger/modules/hello/Hello.java".into(),
                text: r#"package io.dagger.modules.hello;

import io.dagger.module.annotation.*;

@Object
public class Hello {
  @Function
  public String hello(@Default("world") String name, @Default("3") int times, @Default("null") String suffix, @Default("true") boolean shout) {
    return name;
  }
}
"#
                .into(),
            }],
            "Hello",
        );
        let defaults = crate::scan::test_support::first_function_defaults(&extraction);
        assert_eq!(
            defaults,
            [Some("\"world\""), Some("3"), Some("null"), Some("true")]
        );
    }
}
