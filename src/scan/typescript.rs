//! TypeScript SDK extraction: the `@object()` class named after the module (among however many
//! classes the module declares), its `@func()` methods with `@check()`, parameters with
//! `@argument({ defaultPath, ignore, defaultAddress })`, `?` and default values, `Promise<T>`
//! returns, JSDoc, and the constructor's parameters.

use tree_sitter::Node;

use super::extract::{self, ArgumentFacts, Extraction, SourceText, list_of};
use super::model::Argument;
use super::syntax::{
    self, Grammar, SourceFile, block_doc, first_paragraph, named_children, unquote,
};

static GRAMMAR: Grammar = Grammar::new(
    "TypeScript",
    || tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
    include_str!("queries/typescript.scm"),
);

/// Extract the main object `main_object` from a module's TypeScript files.
pub fn extract(files: &[SourceText], main_object: &str) -> Extraction {
    GRAMMAR.extract(files, |extraction, parsed, captures| {
        let Some((class, body)) = captures.class_named(parsed, main_object) else {
            read_other_object(parsed, captures, extraction);
            return;
        };
        if extraction.claim_main(parsed, class, main_object) {
            read_class(parsed, class, body, main_object, extraction);
        }
    })
}

/// Another `@object()` class: its functions, kept where nested checks are looked for.
fn read_other_object(
    file: &SourceFile,
    captures: &syntax::Captures<'_>,
    extraction: &mut Extraction,
) {
    let Some((class, name, body)) = captures.class() else {
        return;
    };
    let outer = class
        .parent()
        .filter(|parent| parent.kind() == "export_statement")
        .unwrap_or(class);
    let is_object = field_decorators(file, class)
        .iter()
        .chain(field_decorators(file, outer).iter())
        .any(|decorator| decorator.name == "object");
    if !is_object {
        return;
    }
    extraction.add_object(file.text(name).to_string(), |name, object| {
        read_class(file, class, body, name, object);
    });
}

fn read_class(
    file: &SourceFile,
    class: Node<'_>,
    body: Node<'_>,
    main_object: &str,
    extraction: &mut Extraction,
) {
    // `@object() export class X` puts the decorator on the export statement.
    let outer = class
        .parent()
        .filter(|parent| parent.kind() == "export_statement")
        .unwrap_or(class);
    let mut decorators = field_decorators(file, class);
    decorators.extend(field_decorators(file, outer));
    if !decorators
        .iter()
        .any(|decorator| decorator.name == "object")
    {
        extraction.problems.push(format!(
            "{}: class `{main_object}` is not decorated with `@object()`",
            file.location(class)
        ));
    }
    extraction.description = leading_jsdoc(file, outer)
        .map(|doc| Jsdoc::parse(&doc))
        .and_then(|doc| doc.text)
        .map(|text| first_paragraph(&text));
    let members = named_children(body);
    for (index, member) in members.iter().enumerate() {
        if member.kind() != "method_definition" {
            continue;
        }
        let (decorators, jsdoc) = member_prelude(file, &members[..index]);
        let name = file.field_text(*member, "name").to_string();
        let jsdoc = jsdoc.map(|doc| Jsdoc::parse(&doc)).unwrap_or_default();
        if name == "constructor" {
            extraction.constructor = parameters(file, *member, &jsdoc);
            continue;
        }
        let has = |wanted: &str| decorators.iter().any(|each| each.name == wanted);
        if has("func") || has("field") {
            let api_name = decorators
                .iter()
                .find(|each| each.name == "func")
                .and_then(|each| each.first_argument)
                .filter(|argument| argument.kind() == "string")
                .map(|argument| unquote(file.text(argument)));
            let returns = member
                .child_by_field_name("return_type")
                .and_then(|annotation| annotation.named_child(0))
                .map(|node| type_name(file, node).0);
            let returns = match returns {
                Some(returns) => returns,
                None => {
                    extraction.problems.push(format!(
                        "{}: `{name}` has no return type annotation: Dagger infers it, the \
                         scanner reports `Unknown`",
                        file.location(*member)
                    ));
                    "Unknown".to_string()
                }
            };
            let args = parameters(file, *member, &jsdoc);
            let mut function = extract::function(
                name,
                api_name.as_deref(),
                has("check"),
                jsdoc.text.clone(),
                returns,
                args,
            );
            function.generate = has("generate");
            extraction.functions.push(function);
        } else if has("check") {
            extraction.problems.push(format!(
                "{}: `{name}` has `@check()` but no `@func()`, so Dagger does not expose it",
                file.location(*member)
            ));
        }
    }
}

/// The decorators and the JSDoc block written just before a class member.
fn member_prelude<'tree>(
    file: &SourceFile,
    before: &[Node<'tree>],
) -> (Vec<Decorator<'tree>>, Option<String>) {
    let mut decorators = Vec::new();
    let mut jsdoc = None;
    for node in before.iter().rev() {
        match node.kind() {
            "decorator" => {
                if let Some(decorator) = Decorator::read(file, *node) {
                    decorators.push(decorator);
                }
            }
            "comment" => {
                if jsdoc.is_none() {
                    jsdoc = block_doc(file.text(*node));
                }
            }
            _ => break,
        }
    }
    (decorators, jsdoc)
}

fn leading_jsdoc(file: &SourceFile, node: Node<'_>) -> Option<String> {
    let mut current = node.prev_named_sibling();
    while let Some(previous) = current {
        match previous.kind() {
            "comment" => {
                if let Some(doc) = block_doc(file.text(previous)) {
                    return Some(doc);
                }
            }
            "decorator" => {}
            _ => return None,
        }
        current = previous.prev_named_sibling();
    }
    None
}

fn parameters(file: &SourceFile, method: Node<'_>, jsdoc: &Jsdoc) -> Vec<Argument> {
    let Some(parameters) = method.child_by_field_name("parameters") else {
        return Vec::new();
    };
    // A `/** … */` block just before a parameter documents it (constructor parameters are
    // usually documented this way rather than with `@param`).
    let mut inline_doc = None;
    let mut arguments = Vec::new();
    for child in named_children(parameters) {
        match child.kind() {
            "comment" => inline_doc = block_doc(file.text(child)),
            "required_parameter" | "optional_parameter" => {
                if let Some(mut argument) = read_parameter(file, child, jsdoc) {
                    if argument.doc.is_none() {
                        argument.doc = inline_doc.take();
                    }
                    arguments.push(argument);
                }
                inline_doc = None;
            }
            _ => {}
        }
    }
    arguments
}

fn read_parameter(file: &SourceFile, parameter: Node<'_>, jsdoc: &Jsdoc) -> Option<Argument> {
    let pattern = parameter
        .child_by_field_name("pattern")
        .or_else(|| parameter.child_by_field_name("name"))?;
    if pattern.kind() != "identifier" {
        return None;
    }
    let name = file.text(pattern).to_string();
    let (type_name, nullable) = parameter
        .child_by_field_name("type")
        .and_then(|annotation| annotation.named_child(0))
        .map(|node| type_name(file, node))
        .unwrap_or_else(|| ("Unknown".to_string(), false));
    let mut facts = ArgumentFacts {
        doc: jsdoc.param(&name),
        name,
        r#type: type_name,
        nullable: nullable || parameter.kind() == "optional_parameter",
        ..ArgumentFacts::default()
    };
    if let Some(value) = parameter.child_by_field_name("value") {
        match json_value(file, value) {
            Some(serde_json::Value::Null) => facts.nullable = true,
            Some(json) => facts.default = Some(json.to_string()),
            None => facts.default = Some(file.text(value).to_string()),
        }
    }
    let mut cursor = parameter.walk();
    let decorators: Vec<Node<'_>> = parameter
        .children_by_field_name("decorator", &mut cursor)
        .collect();
    for decorator in decorators {
        let Some(decorator) = Decorator::read(file, decorator) else {
            continue;
        };
        if decorator.name != "argument" {
            continue;
        }
        let Some(options) = decorator
            .first_argument
            .filter(|argument| argument.kind() == "object")
        else {
            continue;
        };
        for pair in named_children(options)
            .into_iter()
            .filter(|pair| pair.kind() == "pair")
        {
            let (Some(key), Some(value)) = (
                pair.child_by_field_name("key"),
                pair.child_by_field_name("value"),
            ) else {
                continue;
            };
            let key = unquote(file.text(key));
            let string = || match json_value(file, value) {
                Some(serde_json::Value::String(text)) => Some(text),
                _ => None,
            };
            match key.as_str() {
                "defaultPath" => facts.default_path = string(),
                "defaultAddress" => facts.default_address = string(),
                "name" => facts.api_name = string(),
                "ignore" => {
                    if let Some(serde_json::Value::Array(items)) = json_value(file, value) {
                        facts.ignore = items
                            .into_iter()
                            .filter_map(|item| item.as_str().map(str::to_string))
                            .collect();
                    }
                }
                _ => {}
            }
        }
    }
    Some(facts.into_argument())
}

/// Dagger's name for a TypeScript type, and whether it admits `null`/`undefined`.
fn type_name(file: &SourceFile, node: Node<'_>) -> (String, bool) {
    match node.kind() {
        "type_annotation" | "parenthesized_type" => match node.named_child(0) {
            Some(inner) => type_name(file, inner),
            None => ("Unknown".to_string(), false),
        },
        "predefined_type" => match file.text(node) {
            "number" => ("Int".to_string(), false),
            "undefined" | "null" => ("Void".to_string(), true),
            other => (extract::dagger_type_name(other), false),
        },
        "literal_type" => match file.text(node) {
            "null" | "undefined" => ("Void".to_string(), true),
            other => (other.to_string(), false),
        },
        "type_identifier" | "nested_type_identifier" => {
            (extract::dagger_type_name(file.text(node)), false)
        }
        "array_type" => match node.named_child(0) {
            Some(element) => (list_of(&type_name(file, element).0), false),
            None => (list_of("Unknown"), false),
        },
        "union_type" => extract::union_of(
            named_children(node)
                .into_iter()
                .map(|member| type_name(file, member)),
        ),
        "generic_type" => {
            let base = file.field_text(node, "name");
            let argument = node
                .child_by_field_name("type_arguments")
                .and_then(|arguments| arguments.named_child(0));
            match (base, argument) {
                ("Promise", Some(inner)) => type_name(file, inner),
                ("Array" | "ReadonlyArray", Some(inner)) => {
                    (list_of(&type_name(file, inner).0), false)
                }
                _ => (extract::dagger_type_name(base), false),
            }
        }
        _ => (file.text(node).to_string(), false),
    }
}

/// A literal as JSON (`"x"`, `3`, `true`, `null`, arrays of literals); `None` for expressions.
/// An identifier naming a top-level `const` of the same file stands for its value, as the SDK
/// follows it.
fn json_value(file: &SourceFile, node: Node<'_>) -> Option<serde_json::Value> {
    if node.kind() == "identifier" {
        let value = top_level_const(file, file.text(node))?;
        return literal_json(file, value);
    }
    literal_json(file, node)
}

/// `const NAME = value` (exported or not) at the top of the file: its value.
fn top_level_const<'tree>(file: &'tree SourceFile, name: &str) -> Option<Node<'tree>> {
    named_children(file.tree.root_node())
        .into_iter()
        .map(|statement| match statement.kind() {
            "export_statement" => statement.child_by_field_name("declaration"),
            _ => Some(statement),
        })
        .filter_map(|statement| statement.filter(|node| node.kind() == "lexical_declaration"))
        .filter(|declaration| file.text(*declaration).trim_start().starts_with("const"))
        .flat_map(named_children)
        .filter(|declarator| declarator.kind() == "variable_declarator")
        .find(|declarator| {
            declarator
                .child_by_field_name("name")
                .is_some_and(|found| file.text(found) == name)
        })?
        .child_by_field_name("value")
}

/// [`json_value`] for literals only.
fn literal_json(file: &SourceFile, node: Node<'_>) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match node.kind() {
        "string" => Value::String(unquote(file.text(node))),
        "template_string" => {
            if named_children(node)
                .iter()
                .any(|part| part.kind() == "template_substitution")
            {
                return None;
            }
            Value::String(unquote(file.text(node)))
        }
        "number" => serde_json::from_str(&file.text(node).replace('_', "")).ok()?,
        "unary_expression" => {
            let text: String = file.text(node).split_whitespace().collect();
            serde_json::from_str(&text).ok()?
        }
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" | "undefined" => Value::Null,
        "array" => Value::Array(
            named_children(node)
                .into_iter()
                .map(|item| literal_json(file, item))
                .collect::<Option<Vec<_>>>()?,
        ),
        "as_expression" | "parenthesized_expression" => literal_json(file, node.named_child(0)?)?,
        _ => return None,
    })
}

/// A decorator: `@func()`, `@check()`, `@argument({…})`, `@object()` (or a member expression
/// such as `@dagger.func()`), with its first call argument.
struct Decorator<'tree> {
    name: String,
    first_argument: Option<Node<'tree>>,
}

impl<'tree> Decorator<'tree> {
    fn read(file: &SourceFile, decorator: Node<'tree>) -> Option<Decorator<'tree>> {
        let expression = decorator.named_child(0)?;
        let (target, arguments) = if expression.kind() == "call_expression" {
            (
                expression.child_by_field_name("function")?,
                expression.child_by_field_name("arguments"),
            )
        } else {
            (expression, None)
        };
        let name = file.text(target);
        Some(Decorator {
            name: name.rsplit('.').next().unwrap_or(name).to_string(),
            first_argument: arguments.and_then(|arguments| arguments.named_child(0)),
        })
    }
}

fn field_decorators<'tree>(file: &SourceFile, node: Node<'tree>) -> Vec<Decorator<'tree>> {
    let mut cursor = node.walk();
    let nodes: Vec<Node<'tree>> = node
        .children_by_field_name("decorator", &mut cursor)
        .collect();
    nodes
        .into_iter()
        .filter_map(|decorator| Decorator::read(file, decorator))
        .collect()
}

/// A JSDoc block: its prose and its `@param name text` lines.
#[derive(Default)]
struct Jsdoc {
    text: Option<String>,
    params: Vec<(String, String)>,
}

impl Jsdoc {
    fn parse(doc: &str) -> Jsdoc {
        let mut prose = Vec::new();
        let mut params: Vec<(String, String)> = Vec::new();
        let mut in_tag = false;
        for line in doc.lines() {
            let trimmed = line.trim();
            if let Some(rest) = trimmed.strip_prefix("@param") {
                let rest = rest.trim_start();
                // `@param {Type} name text` and `@param name - text`.
                let rest = match rest.strip_prefix('{') {
                    Some(typed) => typed
                        .split_once('}')
                        .map(|(_, after)| after.trim_start())
                        .unwrap_or(""),
                    None => rest,
                };
                let (name, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let text = text
                    .trim_start()
                    .trim_start_matches("- ")
                    .trim()
                    .to_string();
                params.push((name.trim_end_matches('?').to_string(), text));
                in_tag = true;
            } else if trimmed.starts_with('@') {
                in_tag = false;
                prose.push(None);
            } else if in_tag && !trimmed.is_empty() {
                if let Some((_, text)) = params.last_mut() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(trimmed);
                }
            } else {
                in_tag = false;
                prose.push(Some(line.to_string()));
            }
        }
        let prose: Vec<String> = prose
            .into_iter()
            .take_while(Option::is_some)
            .flatten()
            .collect();
        Jsdoc {
            text: syntax::clean_doc(&prose.join("\n")),
            params,
        }
    }

    fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(each, text)| each == name && !text.is_empty())
            .map(|(_, text)| text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::function_names;

    fn run(text: &str, main_object: &str) -> Extraction {
        extract(&[SourceText::new("src/index.ts", text)], main_object)
    }

    #[test]
    fn a_function_without_a_return_annotation_returns_what_the_scanner_cannot_tell() {
        // The SDK asks the type checker, so Dagger exposes the function with its inferred type;
        // the scanner does not guess `Void`.
        let extraction = run(
            r#"import { dag, func, object } from "@dagger.io/dagger"

@object()
export class Example {
  @func()
  post() {
    return dag.container().from("alpine").stdout()
  }
}
"#,
            "Example",
        );
        assert_eq!(extraction.functions[0].returns, "Unknown");
        assert_eq!(
            extraction.problems,
            [
                "src/index.ts:6: `post` has no return type annotation: Dagger infers it, the \
              scanner reports `Unknown`"
            ]
        );
    }

    #[test]
    fn constants_named_in_defaults_and_argument_options_take_their_values() {
        // The SDK follows an identifier back to its literal, in defaults and in `@argument`.
        let extraction = run(
            r#"import { Directory, argument, func, object } from "@dagger.io/dagger"

const EXCLUDES = ["node_modules", "dist"]
export const IMAGE = "node:22-alpine"
const ROOT = "/"
let later = computeIt()

@object()
export class Web {
  @func()
  build(
    @argument({ defaultPath: ROOT, ignore: EXCLUDES }) source: Directory,
    image: string = IMAGE,
    other: string = later,
  ): string {
    return image
  }
}
"#,
            "Web",
        );
        let args = &extraction.functions[0].args;
        assert_eq!(args[0].default_path.as_deref(), Some("/"));
        assert_eq!(args[0].ignore, ["node_modules", "dist"]);
        assert_eq!(args[1].default.as_deref(), Some("\"node:22-alpine\""));
        assert_eq!(args[2].default.as_deref(), Some("later"));
    }

    #[test]
    fn reads_the_main_class_among_several() {
        let extraction = run(
            r#"
import { dag, Container, Directory, Secret, object, func, check, argument } from "@dagger.io/dagger"

@object()
export class Report {
  @func()
  summary(): string { return "" }
}

/**
 * Frontend checks.
 *
 * More.
 */
@object()
export class Web {
  constructor(
    /** the node version */
    nodeVersion: string = "20",
    registry?: string,
  ) {}

  /**
   * Run the unit tests.
   * @param source the project
   * @param watch keep watching
   */
  @func()
  @check()
  async test(
    @argument({ defaultPath: "/", ignore: ["node_modules", "dist"] }) source: Directory,
    watch: boolean = false,
  ): Promise<string> {
    return ""
  }

  @check()
  @func("lint-all")
  lint(@argument({ defaultPath: "." }) source?: Directory, extra: string[] = []): Promise<void> {}

  @func()
  @check()
  publish(token: Secret, tags: Array<string> | null = null): Promise<Report> {}

  helper(): number { return 1 }
}
"#,
            "Web",
        );
        assert!(extraction.found_main);
        assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
        assert_eq!(extraction.description.as_deref(), Some("Frontend checks."));
        assert_eq!(function_names(&extraction), ["test", "lint", "publish"]);
        let test = &extraction.functions[0];
        assert!(test.check);
        assert_eq!(test.returns, "String");
        assert_eq!(test.doc.as_deref(), Some("Run the unit tests."));
        assert_eq!(test.args[0].default_path.as_deref(), Some("/"));
        assert_eq!(test.args[0].ignore, ["node_modules", "dist"]);
        assert_eq!(test.args[0].doc.as_deref(), Some("the project"));
        assert_eq!(test.args[1].default.as_deref(), Some("false"));
        assert_eq!(test.args[1].r#type, "Boolean");
        let lint = &extraction.functions[1];
        assert_eq!(lint.cli_name, "lint-all");
        assert_eq!(lint.returns, "Void");
        assert!(lint.args[0].optional);
        assert_eq!(lint.args[1].r#type, "[String]");
        let publish = &extraction.functions[2];
        assert_eq!(publish.returns, "Report");
        assert!(publish.args[0].is_required());
        assert!(publish.args[1].optional);
        assert_eq!(publish.args[1].r#type, "[String]");
        assert_eq!(extraction.constructor.len(), 2);
        assert_eq!(extraction.constructor[0].default.as_deref(), Some("\"20\""));
        assert_eq!(
            extraction.constructor[0].doc.as_deref(),
            Some("the node version")
        );
        assert_eq!(extraction.constructor[1].doc, None);
        assert!(extraction.constructor[1].optional);
    }
}
