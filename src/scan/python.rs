//! Python SDK extraction: the `@object_type` class named after the module, its `@function`
//! methods (`@check` in either order), `Annotated[…, DefaultPath, Ignore, Doc, DefaultAddress,
//! Name]` arguments, defaults, `X | None` / `Optional[X]`, docstrings, and the dataclass fields
//! (or `create` classmethod) that make up the constructor.

use tree_sitter::Node;

use super::extract::{self, ArgumentFacts, Extraction, SourceText, list_of};
use super::model::{Argument, Function};
use super::syntax::{Grammar, SourceFile, clean_doc, first_paragraph, named_children, unquote};

static GRAMMAR: Grammar = Grammar::new(
    "Python",
    || tree_sitter_python::LANGUAGE.into(),
    include_str!("queries/python.scm"),
);

/// Extract the main object `main_object` from a module's Python files.
pub fn extract(files: &[SourceText], main_object: &str) -> Extraction {
    let mut package_doc = None;
    let mut extraction = GRAMMAR.extract(files, |extraction, parsed, captures| {
        if let Some(doc) = captures.get("module.doc") {
            if parsed.path.ends_with("__init__.py") && package_doc.is_none() {
                package_doc = docstring(parsed, doc);
            }
            return;
        }
        let Some((class, body)) = captures.class_named(parsed, main_object) else {
            read_other_object(parsed, captures, extraction);
            return;
        };
        if extraction.claim_main(parsed, class, main_object) {
            read_main_class(parsed, class, body, main_object, extraction);
        }
    });
    if extraction.description.is_none() {
        extraction.description = package_doc.map(|doc| first_paragraph(&doc));
    }
    extraction
}

/// Another `@object_type` class: its functions, kept where nested checks are looked for.
fn read_other_object(
    file: &SourceFile,
    captures: &super::syntax::Captures<'_>,
    extraction: &mut Extraction,
) {
    let Some((class, name, body)) = captures.class() else {
        return;
    };
    let is_object = class
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .is_some_and(|parent| {
            decorators(file, parent)
                .iter()
                .any(|decorator| decorator.name == "object_type")
        });
    if !is_object {
        return;
    }
    extraction.add_object(file.text(name).to_string(), |name, object| {
        read_main_class(file, class, body, name, object);
    });
}

fn read_main_class(
    file: &SourceFile,
    class: Node<'_>,
    body: Node<'_>,
    main_object: &str,
    extraction: &mut Extraction,
) {
    let class_decorators = class
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .map(|parent| decorators(file, parent))
        .unwrap_or_default();
    if !class_decorators
        .iter()
        .any(|decorator| decorator.name == "object_type")
    {
        extraction.problems.push(format!(
            "{}: class `{main_object}` is not decorated with `@object_type`",
            file.location(class)
        ));
    }
    let mut fields = Vec::new();
    let mut create = None;
    for (index, statement) in named_children(body).into_iter().enumerate() {
        match statement.kind() {
            "expression_statement" => {
                let Some(expression) = statement.named_child(0) else {
                    continue;
                };
                if index == 0 && expression.kind() == "string" {
                    extraction.description =
                        docstring(file, expression).as_deref().map(first_paragraph);
                } else if expression.kind() == "assignment"
                    && let Some(argument) = constructor_field(file, expression)
                {
                    fields.push(argument);
                }
            }
            "decorated_definition" => {
                let Some(definition) = statement.child_by_field_name("definition") else {
                    continue;
                };
                if definition.kind() != "function_definition" {
                    continue;
                }
                let decorators = decorators(file, statement);
                let method_name = file.field_text(definition, "name").to_string();
                let has = |wanted: &str| decorators.iter().any(|each| each.name == wanted);
                if has("classmethod") && method_name == "create" {
                    create = Some(parameters(file, definition, extraction));
                    continue;
                }
                if has("function") {
                    let function = read_function(file, definition, &decorators, extraction);
                    extraction.functions.push(function);
                } else if has("check") {
                    extraction.problems.push(format!(
                        "{}: `{method_name}` has `@check` but no `@function`, so Dagger does not expose it",
                        file.location(definition)
                    ));
                }
            }
            _ => {}
        }
    }
    extraction.constructor = create.unwrap_or(fields);
}

fn read_function(
    file: &SourceFile,
    definition: Node<'_>,
    decorators: &[Decorator<'_>],
    extraction: &mut Extraction,
) -> Function {
    let name = file.field_text(definition, "name").to_string();
    let check = decorators.iter().any(|each| each.name == "check");
    let function_decorator = decorators.iter().find(|each| each.name == "function");
    let keyword = |key: &str| {
        function_decorator
            .and_then(|decorator| decorator.keyword(file, key))
            .filter(|value| value.kind() == "string")
            .map(|value| unquote(file.text(value)))
    };
    let api_name = keyword("name");
    let doc = keyword("doc").or_else(|| {
        definition
            .child_by_field_name("body")
            .and_then(|body| body.named_child(0))
            .filter(|first| first.kind() == "expression_statement")
            .and_then(|first| first.named_child(0))
            .filter(|expression| expression.kind() == "string")
            .and_then(|string| docstring(file, string))
    });
    let returns = match definition.child_by_field_name("return_type") {
        Some(node) => {
            let mut metadata = Metadata::default();
            let (name, _) = type_name(file, node, &mut metadata);
            name
        }
        // The SDK reads a missing annotation as `None`.
        None => "Void".to_string(),
    };
    let args = parameters(file, definition, extraction);
    let mut function = extract::function(name, api_name.as_deref(), check, doc, returns, args);
    function.generate = decorators.iter().any(|each| each.name == "generate");
    function
}

fn parameters(
    file: &SourceFile,
    definition: Node<'_>,
    extraction: &mut Extraction,
) -> Vec<Argument> {
    let Some(parameters) = definition.child_by_field_name("parameters") else {
        return Vec::new();
    };
    let mut arguments = Vec::new();
    for (index, parameter) in named_children(parameters).into_iter().enumerate() {
        let (name_node, type_node, value_node) = match parameter.kind() {
            "identifier" => (Some(parameter), None, None),
            "typed_parameter" => (
                parameter.named_child(0),
                parameter.child_by_field_name("type"),
                None,
            ),
            "default_parameter" | "typed_default_parameter" => (
                parameter.child_by_field_name("name"),
                parameter.child_by_field_name("type"),
                parameter.child_by_field_name("value"),
            ),
            _ => continue,
        };
        let Some(name_node) = name_node.filter(|node| node.kind() == "identifier") else {
            continue;
        };
        let name = file.text(name_node).to_string();
        if index == 0 && (name == "self" || name == "cls") {
            continue;
        }
        let mut facts = ArgumentFacts {
            name,
            ..ArgumentFacts::default()
        };
        apply_type_and_default(file, type_node, value_node, &mut facts);
        if type_node.is_none() {
            extraction.problems.push(format!(
                "{}: argument `{}` has no type annotation",
                file.location(parameter),
                facts.name
            ));
        }
        arguments.push(facts.into_argument());
    }
    arguments
}

/// A dataclass field of the main object: `name: T`, `name: T = value`, `name: T = field(…)`.
fn constructor_field(file: &SourceFile, assignment: Node<'_>) -> Option<Argument> {
    let left = assignment.child_by_field_name("left")?;
    let type_node = assignment.child_by_field_name("type")?;
    if left.kind() != "identifier" {
        return None;
    }
    let base = generic_base(file, type_node);
    if matches!(base.as_deref(), Some("ClassVar") | Some("InitVar")) {
        return None;
    }
    let mut value = assignment.child_by_field_name("right");
    let mut doc = None;
    let mut factory_default = None;
    if let Some(call) = value.filter(|node| node.kind() == "call")
        && call_name(file, call).as_deref() == Some("field")
    {
        let decorator = Decorator {
            name: "field".to_string(),
            call: Some(call),
        };
        if decorator
            .keyword(file, "init")
            .is_some_and(|init| init.kind() == "false")
        {
            return None;
        }
        doc = decorator
            .keyword(file, "description")
            .filter(|node| node.kind() == "string")
            .map(|node| unquote(file.text(node)));
        factory_default =
            decorator
                .keyword(file, "default_factory")
                .map(|factory| match file.text(factory) {
                    "list" => "[]".to_string(),
                    "dict" => "{}".to_string(),
                    other => other.to_string(),
                });
        value = decorator.keyword(file, "default");
    }
    let mut facts = ArgumentFacts {
        name: file.text(left).to_string(),
        ..ArgumentFacts::default()
    };
    apply_type_and_default(file, Some(type_node), value, &mut facts);
    if facts.default.is_none() {
        facts.default = factory_default;
    }
    if facts.doc.is_none() {
        facts.doc = doc;
    }
    Some(facts.into_argument())
}

fn apply_type_and_default(
    file: &SourceFile,
    type_node: Option<Node<'_>>,
    value_node: Option<Node<'_>>,
    facts: &mut ArgumentFacts,
) {
    let mut metadata = Metadata::default();
    let (type_name, nullable) = match type_node {
        Some(node) => type_name(file, node, &mut metadata),
        None => ("Unknown".to_string(), false),
    };
    facts.r#type = type_name;
    facts.nullable = nullable;
    facts.default_path = metadata.default_path;
    facts.default_address = metadata.default_address;
    facts.ignore = metadata.ignore;
    facts.doc = metadata.doc;
    facts.api_name = metadata.name;
    if let Some(value) = value_node {
        match literal(file, value) {
            Literal::None => facts.nullable = true,
            Literal::Value(text) => facts.default = Some(text),
        }
    }
}

/// Annotations carried by `Annotated[T, …]`.
#[derive(Default)]
struct Metadata {
    default_path: Option<String>,
    default_address: Option<String>,
    ignore: Vec<String>,
    doc: Option<String>,
    name: Option<String>,
}

/// Dagger's name for a type annotation, and whether it admits `None`.
fn type_name(file: &SourceFile, node: Node<'_>, metadata: &mut Metadata) -> (String, bool) {
    match node.kind() {
        "type" | "parenthesized_expression" => match node.named_child(0) {
            Some(inner) => type_name(file, inner, metadata),
            None => ("Unknown".to_string(), false),
        },
        "none" => ("Void".to_string(), true),
        "identifier" => (extract::dagger_type_name(file.text(node)), false),
        "attribute" => {
            let name = node
                .child_by_field_name("attribute")
                .map(|attribute| file.text(attribute))
                .unwrap_or_else(|| file.text(node));
            (extract::dagger_type_name(name), false)
        }
        "member_type" => {
            let last = named_children(node)
                .into_iter()
                .last()
                .map(|last| file.text(last).to_string())
                .unwrap_or_default();
            (extract::dagger_type_name(&last), false)
        }
        "string" => {
            // A forward reference: `"Foo"`.
            (
                extract::dagger_type_name(unquote(file.text(node)).trim()),
                false,
            )
        }
        "union_type" | "binary_operator" => {
            let members: Vec<Node<'_>> = if node.kind() == "binary_operator" {
                [
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ]
                .into_iter()
                .flatten()
                .collect()
            } else {
                named_children(node)
            };
            union(file, &members, metadata)
        }
        "generic_type" | "subscript" => {
            let (base, arguments) = generic_parts(file, node);
            generic(file, &base, &arguments, metadata)
        }
        _ => (file.text(node).to_string(), false),
    }
}

fn union(file: &SourceFile, members: &[Node<'_>], metadata: &mut Metadata) -> (String, bool) {
    extract::union_of(
        members
            .iter()
            .map(|member| type_name(file, *member, metadata)),
    )
}

fn generic(
    file: &SourceFile,
    base: &str,
    arguments: &[Node<'_>],
    metadata: &mut Metadata,
) -> (String, bool) {
    match base {
        "Annotated" => {
            for annotation in arguments.iter().skip(1) {
                read_annotation(file, *annotation, metadata);
            }
            match arguments.first() {
                Some(inner) => type_name(file, *inner, metadata),
                None => ("Unknown".to_string(), false),
            }
        }
        "Optional" => match arguments.first() {
            Some(inner) => (type_name(file, *inner, metadata).0, true),
            None => ("Unknown".to_string(), true),
        },
        "Union" => union(file, arguments, metadata),
        "list" | "List" | "Sequence" | "Iterable" | "tuple" | "Tuple" | "set" | "Set"
        | "frozenset" | "FrozenSet" | "AbstractSet" => match arguments.first() {
            Some(inner) => (list_of(&type_name(file, *inner, metadata).0), false),
            None => (list_of("Unknown"), false),
        },
        "Awaitable" | "Coroutine" => match arguments.last() {
            Some(inner) => type_name(file, *inner, metadata),
            None => ("Void".to_string(), false),
        },
        other => (extract::dagger_type_name(other), false),
    }
}

/// The base name and the type arguments of `Base[A, B]`, however the grammar nests it.
fn generic_parts<'tree>(file: &SourceFile, node: Node<'tree>) -> (String, Vec<Node<'tree>>) {
    if node.kind() == "subscript" {
        let base = node
            .child_by_field_name("value")
            .map(|value| last_segment(file, value))
            .unwrap_or_default();
        let mut cursor = node.walk();
        let arguments = node
            .children_by_field_name("subscript", &mut cursor)
            .collect();
        return (base, arguments);
    }
    let mut base = String::new();
    let mut arguments = Vec::new();
    for child in named_children(node) {
        match child.kind() {
            "type_parameter" => arguments.extend(named_children(child)),
            _ if base.is_empty() => base = last_segment(file, child),
            _ => {}
        }
    }
    (base, arguments)
}

fn generic_base(file: &SourceFile, node: Node<'_>) -> Option<String> {
    let inner = if node.kind() == "type" {
        node.named_child(0)?
    } else {
        node
    };
    match inner.kind() {
        "generic_type" | "subscript" => Some(generic_parts(file, inner).0),
        _ => None,
    }
}

fn last_segment(file: &SourceFile, node: Node<'_>) -> String {
    let text = file.text(node);
    text.rsplit('.').next().unwrap_or(text).trim().to_string()
}

/// `DefaultPath("…")`, `Ignore([…])`, `Doc("…")`, `DefaultAddress("…")`, `Name("…")`.
fn read_annotation(file: &SourceFile, node: Node<'_>, metadata: &mut Metadata) {
    let call = if node.kind() == "type" {
        node.named_child(0)
    } else {
        Some(node)
    };
    let Some(call) = call.filter(|call| call.kind() == "call") else {
        return;
    };
    let Some(name) = call_name(file, call) else {
        return;
    };
    let first = call
        .child_by_field_name("arguments")
        .and_then(|arguments| arguments.named_child(0));
    let string = |node: Option<Node<'_>>| {
        node.filter(|node| node.kind() == "string" || node.kind() == "concatenated_string")
            .map(|node| string_value(file, node))
    };
    match name.as_str() {
        "DefaultPath" => metadata.default_path = string(first),
        "DefaultAddress" => metadata.default_address = string(first),
        "Doc" => metadata.doc = string(first),
        "Name" => metadata.name = string(first),
        "Ignore" => {
            if let Some(list) = first.filter(|node| node.kind() == "list" || node.kind() == "tuple")
            {
                metadata.ignore = named_children(list)
                    .into_iter()
                    .filter(|item| item.kind() == "string")
                    .map(|item| string_value(file, item))
                    .collect();
            }
        }
        _ => {}
    }
}

fn call_name(file: &SourceFile, call: Node<'_>) -> Option<String> {
    let function = call.child_by_field_name("function")?;
    Some(last_segment(file, function))
}

fn string_value(file: &SourceFile, node: Node<'_>) -> String {
    if node.kind() == "concatenated_string" {
        return named_children(node)
            .into_iter()
            .map(|part| unquote(file.text(part)))
            .collect();
    }
    unquote(file.text(node))
}

enum Literal {
    None,
    Value(String),
}

/// A default value as `Argument::default` wants it: literals JSON-encoded, anything else as
/// source text.
fn literal(file: &SourceFile, node: Node<'_>) -> Literal {
    match node.kind() {
        "none" => Literal::None,
        // A module-level constant of the same file (`IMAGE = "alpine"`): Python evaluates the
        // default when the module loads, so Dagger registers its value.
        "identifier" => Literal::Value(
            module_constant(file, file.text(node))
                .and_then(|value| json_literal(file, value))
                .unwrap_or_else(|| file.text(node).to_string()),
        ),
        _ => {
            Literal::Value(json_literal(file, node).unwrap_or_else(|| file.text(node).to_string()))
        }
    }
}

/// The value last assigned to `name` at the top level of the file (`NAME = …`,
/// `NAME: Final = …`).
fn module_constant<'tree>(file: &'tree SourceFile, name: &str) -> Option<Node<'tree>> {
    named_children(file.tree.root_node())
        .into_iter()
        .filter(|statement| statement.kind() == "expression_statement")
        .filter_map(|statement| statement.named_child(0))
        .filter(|expression| expression.kind() == "assignment")
        .filter(|assignment| {
            assignment
                .child_by_field_name("left")
                .is_some_and(|left| left.kind() == "identifier" && file.text(left) == name)
        })
        .filter_map(|assignment| assignment.child_by_field_name("right"))
        .next_back()
}

fn json_literal(file: &SourceFile, node: Node<'_>) -> Option<String> {
    let value = json_value(file, node)?;
    Some(value.to_string())
}

fn json_value(file: &SourceFile, node: Node<'_>) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match node.kind() {
        "string" | "concatenated_string" => {
            if named_children(node)
                .iter()
                .any(|part| part.kind() == "interpolation")
            {
                return None;
            }
            Value::String(string_value(file, node))
        }
        "integer" | "float" => serde_json::from_str(&file.text(node).replace('_', "")).ok()?,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "none" => Value::Null,
        "unary_operator" => {
            let text: String = file.text(node).split_whitespace().collect();
            serde_json::from_str(&text.replace('_', "")).ok()?
        }
        "list" | "tuple" => Value::Array(
            named_children(node)
                .into_iter()
                .map(|item| json_value(file, item))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

fn docstring(file: &SourceFile, string: Node<'_>) -> Option<String> {
    clean_doc(&unquote(file.text(string)))
}

/// A decorator: its last name segment (`dagger.function` → `function`) and its call, if any.
struct Decorator<'tree> {
    name: String,
    call: Option<Node<'tree>>,
}

impl<'tree> Decorator<'tree> {
    /// A keyword argument of the decorator call (`@function(name="x")`).
    fn keyword(&self, file: &SourceFile, key: &str) -> Option<Node<'tree>> {
        let arguments = self.call?.child_by_field_name("arguments")?;
        named_children(arguments)
            .into_iter()
            .filter(|argument| argument.kind() == "keyword_argument")
            .find(|argument| {
                argument
                    .child_by_field_name("name")
                    .is_some_and(|name| file.text(name) == key)
            })
            .and_then(|argument| argument.child_by_field_name("value"))
    }
}

fn decorators<'tree>(file: &SourceFile, decorated: Node<'tree>) -> Vec<Decorator<'tree>> {
    named_children(decorated)
        .into_iter()
        .filter(|child| child.kind() == "decorator")
        .filter_map(|decorator| {
            let expression = decorator.named_child(0)?;
            let (target, call) = if expression.kind() == "call" {
                (
                    expression.child_by_field_name("function")?,
                    Some(expression),
                )
            } else {
                (expression, None)
            };
            Some(Decorator {
                name: last_segment(file, target),
                call,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::function_names;

    fn run(text: &str, main_object: &str) -> Extraction {
        extract(&[SourceText::new("src/main.py", text)], main_object)
    }

    #[test]
    fn defaults_naming_a_module_level_constant_take_its_value() {
        // Python evaluates the default when the module loads, so Dagger registers the value.
        let extraction = run(
            r#"from typing import Annotated, Final
import os

import dagger
from dagger import Doc, function, object_type

DEFAULT_IMAGE = "docker.io/library/alpine"
_TIMEOUT: Final = 30
TAGS = ["latest", "edge"]
ALIAS = DEFAULT_IMAGE
HOME = os.environ.get("HOME")

@object_type
class Tool:
    @function
    def run(
        self,
        image: Annotated[str, Doc("Image")] = DEFAULT_IMAGE,
        timeout: int = _TIMEOUT,
        tags: list[str] = TAGS,
        alias: str = ALIAS,
        home: str = HOME,
    ) -> str:
        return image
"#,
            "Tool",
        );
        let defaults = crate::scan::test_support::first_function_defaults(&extraction);
        assert_eq!(
            defaults,
            [
                Some("\"docker.io/library/alpine\""),
                Some("30"),
                Some("[\"latest\",\"edge\"]"),
                // Not followed further than one name, nor into calls: the source text stays.
                Some("ALIAS"),
                Some("HOME"),
            ]
        );
    }

    #[test]
    fn reads_checks_in_both_decorator_orders_with_contextual_arguments() {
        let extraction = run(
            r#"
from typing import Annotated
import dagger
from dagger import DefaultPath, Doc, Ignore, check, function, object_type

@object_type
class Demo:
    """Demo module.

    Longer text."""

    @function
    @check
    async def test(self, source: Annotated[dagger.Directory, DefaultPath("."), Ignore(["node_modules", ".venv"]), Doc("The source")], coverage: bool = True) -> str:
        """Run the tests."""
        return ""

    @check
    @dagger.function
    def lint(self, source: Annotated[dagger.Directory, DefaultPath(".")]) -> dagger.Container:
        ...

    @function(name="publish_it")
    async def publish(self, token: dagger.Secret | None = None, tags: list[str] = ["latest"], version: Optional[str] = None) -> list[str]:
        ...

    def helper(self) -> None:
        ...
"#,
            "Demo",
        );
        assert!(extraction.found_main);
        assert_eq!(extraction.description.as_deref(), Some("Demo module."));
        assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
        assert_eq!(function_names(&extraction), ["test", "lint", "publish"]);
        let test = &extraction.functions[0];
        assert!(test.check);
        assert_eq!(test.returns, "String");
        assert_eq!(test.doc.as_deref(), Some("Run the tests."));
        let source = &test.args[0];
        assert_eq!(source.r#type, "Directory");
        assert_eq!(source.default_path.as_deref(), Some("."));
        assert_eq!(source.ignore, ["node_modules", ".venv"]);
        assert_eq!(source.doc.as_deref(), Some("The source"));
        assert!(source.optional);
        assert_eq!(test.args[1].default.as_deref(), Some("true"));
        assert!(extraction.functions[1].check);
        assert_eq!(extraction.functions[1].returns, "Container");
        let publish = &extraction.functions[2];
        assert_eq!(publish.cli_name, "publish-it");
        assert_eq!(publish.returns, "[String]");
        assert_eq!(publish.args[0].r#type, "Secret");
        assert!(publish.args[0].optional && publish.args[0].default.is_none());
        assert_eq!(publish.args[1].default.as_deref(), Some("[\"latest\"]"));
        assert_eq!(publish.args[2].r#type, "String");
        assert!(publish.args[2].optional);
    }

    #[test]
    fn reads_dataclass_fields_as_the_constructor() {
        let extraction = run(
            r#"
import dataclasses
from typing import Annotated
import dagger
from dagger import Doc, field, function, object_type

@object_type
class Demo:
    base_image: Annotated[str, Doc("The base image")] = "python:3.13-slim"
    packages: list[str] = field(default_factory=list)
    token: dagger.Secret | None = None
    cache: dagger.CacheVolume = dataclasses.field(init=False)
    name: str = field(default="demo")

    @function
    def version(self) -> str:
        return self.base_image
"#,
            "Demo",
        );
        let constructor = &extraction.constructor;
        let names: Vec<&str> = constructor.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["base_image", "packages", "token", "name"]);
        assert_eq!(
            constructor[0].default.as_deref(),
            Some("\"python:3.13-slim\"")
        );
        assert_eq!(constructor[0].doc.as_deref(), Some("The base image"));
        assert_eq!(constructor[3].default.as_deref(), Some("\"demo\""));
        assert!(constructor[2].optional);
    }

    #[test]
    fn reports_syntax_errors_and_missing_decorators() {
        let extraction = run(
            "@object_type\nclass Demo:\n    @function\n    def broken(self -> str:\n        pass\n",
            "Demo",
        );
        assert!(
            extraction
                .problems
                .iter()
                .any(|problem| problem.starts_with("src/main.py:")
                    && problem.ends_with("syntax error")),
            "{:?}",
            extraction.problems
        );
        let extraction = run(
            "class Demo:\n    @check\n    def lint(self) -> None:\n        pass\n",
            "Demo",
        );
        assert!(extraction.functions.is_empty());
        assert_eq!(extraction.problems.len(), 2, "{:?}", extraction.problems);
    }
}
