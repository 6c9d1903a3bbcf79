//! Go SDK extraction: the struct named after the module, its exported methods across every
//! `*.go` file of the source directory, `// +check`, the argument pragmas (`+optional`,
//! `+default=`, `+defaultPath=`, `+ignore=`, `+defaultAddress=`), doc comments, and `func New`.

use tree_sitter::Node;

use super::extract::{self, ArgumentFacts, Extraction, SourceText, json_string, list_of};
use super::model::{Argument, Function};
use super::names;
use super::syntax::{Grammar, SourceFile, children, clean_doc, first_paragraph, named_children};

static GRAMMAR: Grammar = Grammar::new(
    "Go",
    || tree_sitter_go::LANGUAGE.into(),
    include_str!("queries/go.scm"),
);

/// Extract the main object `main_object` from a module's Go files (already filtered: no
/// `dagger.gen.go`, no `internal/`).
pub fn extract(files: &[SourceText], main_object: &str) -> Extraction {
    let mut package_doc = None;
    let mut constructor = None;
    // Every struct with its doc, and the exported methods of every receiver, with their file
    // and offset, so that a module spread over several files lists them in file order, then
    // source order. The main struct is picked afterwards; the others are the objects its
    // functions may return (nested checks live there).
    let mut structs: Vec<(String, Option<String>)> = Vec::new();
    let mut methods: Vec<(String, String, usize, Function)> = Vec::new();
    let mut extraction = GRAMMAR.extract(files, |_, parsed, captures| {
        if let Some(package) = captures.get("package") {
            // `main.go`'s header describes the module; another file's only as a fallback.
            let is_main = parsed.path.ends_with("main.go");
            if (package_doc.is_none() || is_main)
                && let Some(doc) = header_comment(parsed, package).doc
            {
                package_doc = Some(doc);
            }
        } else if let (Some(node), Some(name)) =
            (captures.get("struct"), captures.get("struct.name"))
        {
            structs.push((parsed.text(name).to_string(), doc_comment(parsed, node).doc));
        } else if let (Some(method), Some(receiver), Some(name)) = (
            captures.get("method"),
            captures.get("method.receiver"),
            captures.get("method.name"),
        ) {
            let name = parsed.text(name);
            if name.starts_with(|first: char| first.is_ascii_uppercase())
                && let Some(receiver) = receiver_type(parsed, receiver)
            {
                let function = read_method(parsed, method, name);
                methods.push((receiver, parsed.path.clone(), method.start_byte(), function));
            }
        } else if let (Some(function), Some(name)) =
            (captures.get("function"), captures.get("function.name"))
            && parsed.text(name) == "New"
        {
            constructor = function
                .child_by_field_name("parameters")
                .map(|parameters| parameters_of(parsed, parameters));
        }
    });
    // The SDK takes the struct whose `strcase.ToCamel` equals the module's (`TLS` for `tls`).
    let main = structs
        .iter()
        .find(|(name, _)| name == main_object)
        .or_else(|| {
            structs
                .iter()
                .find(|(name, _)| names::pascal_case(name) == main_object)
        });
    let main_name = main.map(|(name, _)| name.clone());
    let struct_doc = main.and_then(|(_, doc)| doc.clone());
    extraction.found_main = main.is_some();
    methods.sort_by(|left, right| (&left.1, left.2).cmp(&(&right.1, right.2)));
    for (receiver, _, _, function) in methods {
        if Some(&receiver) == main_name.as_ref() {
            extraction.functions.push(function);
        } else if structs.iter().any(|(name, _)| name == &receiver) {
            extraction
                .objects
                .entry(receiver)
                .or_default()
                .push(function);
        }
    }
    extraction.description = struct_doc.or(package_doc).map(|doc| first_paragraph(&doc));
    extraction.constructor = constructor.unwrap_or_default();
    extraction.problems.dedup();
    extraction
}

fn read_method(file: &SourceFile, method: Node<'_>, name: &str) -> Function {
    let comment = doc_comment(file, method);
    let check = comment
        .pragma("check")
        .is_some_and(|value| value.as_deref() != Some("false"));
    let returns = method
        .child_by_field_name("result")
        .map(|result| result_type(file, result))
        .unwrap_or_else(|| "Void".to_string());
    let args = method
        .child_by_field_name("parameters")
        .map(|parameters| parameters_of(file, parameters))
        .unwrap_or_default();
    let generate = comment
        .pragma("generate")
        .is_some_and(|value| value.as_deref() != Some("false"));
    let mut function = extract::function(name.to_string(), None, check, comment.doc, returns, args);
    function.generate = generate;
    function
}

/// The receiver's type name, without the pointer: `(m *Main)` → `Main`.
fn receiver_type(file: &SourceFile, receiver: Node<'_>) -> Option<String> {
    let declaration = named_children(receiver)
        .into_iter()
        .find(|child| child.kind() == "parameter_declaration")?;
    let mut node = declaration.child_by_field_name("type")?;
    while node.kind() == "pointer_type" {
        node = node.named_child(0)?;
    }
    (node.kind() == "type_identifier").then(|| file.text(node).to_string())
}

/// `T`, `(T, error)`, `error`: Dagger returns `T`, or `Void` when only an error comes back.
fn result_type(file: &SourceFile, result: Node<'_>) -> String {
    let types: Vec<Node<'_>> = if result.kind() == "parameter_list" {
        named_children(result)
            .into_iter()
            .filter(|child| child.kind() == "parameter_declaration")
            .filter_map(|declaration| declaration.child_by_field_name("type"))
            .collect()
    } else {
        vec![result]
    };
    let names: Vec<String> = types
        .into_iter()
        .filter(|node| file.text(*node) != "error")
        .map(|node| type_name(file, node).0)
        .collect();
    match names.len() {
        0 => "Void".to_string(),
        _ => names[0].clone(),
    }
}

/// Dagger's name for a Go type, and whether it is `dagger.Optional[T]`.
fn type_name(file: &SourceFile, node: Node<'_>) -> (String, bool) {
    match node.kind() {
        "pointer_type" | "parenthesized_type" => match node.named_child(0) {
            Some(inner) => type_name(file, inner),
            None => ("Unknown".to_string(), false),
        },
        "qualified_type" => {
            let name = node
                .child_by_field_name("name")
                .map(|name| file.text(name))
                .unwrap_or_else(|| file.text(node));
            (extract::dagger_type_name(name), false)
        }
        "type_identifier" => (extract::dagger_type_name(file.text(node)), false),
        "slice_type" | "array_type" => match node.child_by_field_name("element") {
            Some(element) => (list_of(&type_name(file, element).0), false),
            None => (list_of("Unknown"), false),
        },
        "generic_type" => {
            let base = file.field_text(node, "type").to_string();
            let argument = node
                .child_by_field_name("type_arguments")
                .and_then(|arguments| arguments.named_child(0))
                .map(|argument| {
                    if argument.kind() == "type_elem" {
                        argument.named_child(0).unwrap_or(argument)
                    } else {
                        argument
                    }
                });
            match argument {
                Some(inner) if base.ends_with("Optional") => (type_name(file, inner).0, true),
                _ => (file.text(node).to_string(), false),
            }
        }
        _ => (file.text(node).to_string(), false),
    }
}

/// The arguments of a parameter list, with the pragmas written above each one or after it on
/// the same line.
fn parameters_of(file: &SourceFile, parameters: Node<'_>) -> Vec<Argument> {
    let all = children(parameters);
    let mut pending: Vec<Node<'_>> = Vec::new();
    let mut arguments = Vec::new();
    let mut index = 0;
    while index < all.len() {
        let child = all[index];
        index += 1;
        match child.kind() {
            "comment" => pending.push(child),
            "parameter_declaration" | "variadic_parameter_declaration" => {
                let mut comments = std::mem::take(&mut pending);
                let end_row = child.end_position().row;
                while let Some(next) = all.get(index) {
                    if next.kind() == "," {
                        index += 1;
                    } else if next.kind() == "comment" && next.start_position().row == end_row {
                        comments.push(*next);
                        index += 1;
                    } else {
                        break;
                    }
                }
                arguments.extend(declaration_arguments(file, child, &comments));
            }
            _ => {}
        }
    }
    arguments
}

fn declaration_arguments(
    file: &SourceFile,
    declaration: Node<'_>,
    comments: &[Node<'_>],
) -> Vec<Argument> {
    let Some(type_node) = declaration.child_by_field_name("type") else {
        return Vec::new();
    };
    if file.text(type_node) == "context.Context" {
        return Vec::new();
    }
    let (mut type_name, optional_type) = type_name(file, type_node);
    if declaration.kind() == "variadic_parameter_declaration" {
        type_name = list_of(&type_name);
    }
    let comment = Comment::from_nodes(file, comments);
    let mut cursor = declaration.walk();
    let names: Vec<String> = declaration
        .children_by_field_name("name", &mut cursor)
        .map(|name| file.text(name).to_string())
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mut facts = ArgumentFacts {
                name,
                r#type: type_name.clone(),
                nullable: optional_type || comment.pragma("optional").is_some(),
                doc: comment.doc.clone(),
                ..ArgumentFacts::default()
            };
            if let Some(Some(value)) = comment.pragma("default") {
                facts.default = Some(match serde_json::from_str::<serde_json::Value>(&value) {
                    Ok(json) => json.to_string(),
                    Err(_) => json_string(&value),
                });
            }
            facts.default_path = comment.pragma("defaultPath").flatten().map(string_value);
            facts.default_address = comment.pragma("defaultAddress").flatten().map(string_value);
            if let Some(Some(value)) = comment.pragma("ignore") {
                facts.ignore = serde_json::from_str::<Vec<String>>(&value).unwrap_or_default();
            }
            facts.into_argument()
        })
        .collect()
}

/// A pragma value that is a JSON string is decoded; anything else is taken as written.
fn string_value(value: String) -> String {
    serde_json::from_str::<String>(&value).unwrap_or(value)
}

/// A doc comment split into prose and pragmas.
#[derive(Default)]
struct Comment {
    doc: Option<String>,
    pragmas: Vec<(String, Option<String>)>,
}

impl Comment {
    fn from_nodes(file: &SourceFile, nodes: &[Node<'_>]) -> Comment {
        let mut lines = Vec::new();
        for node in nodes {
            let text = file.text(*node);
            if let Some(body) = text.strip_prefix("//") {
                lines.push(body.strip_prefix(' ').unwrap_or(body).to_string());
            } else if let Some(body) = text.strip_prefix("/*").and_then(|t| t.strip_suffix("*/")) {
                lines.extend(body.lines().map(|line| line.trim().to_string()));
            }
        }
        let mut comment = Comment::default();
        let mut prose = Vec::new();
        let mut index = 0;
        while index < lines.len() {
            let line = lines[index].trim();
            index += 1;
            let Some(pragma) = line.strip_prefix('+') else {
                // Go directives (`//go:generate`, `//nolint`) are not prose.
                if !lines[index - 1].starts_with("go:") && !line.starts_with("nolint") {
                    prose.push(lines[index - 1].clone());
                }
                continue;
            };
            let pragma = pragma.trim_start();
            match pragma.split_once('=') {
                None => {
                    let name = pragma.split_whitespace().next().unwrap_or("").to_string();
                    comment.pragmas.push((name, None));
                }
                Some((name, value)) => {
                    let mut value = value.trim().to_string();
                    // A JSON value may continue on the following comment lines.
                    if value.starts_with(['[', '{'])
                        && serde_json::from_str::<serde_json::Value>(&value).is_err()
                    {
                        let mut joined = value.clone();
                        let mut lookahead = index;
                        while lookahead < lines.len() {
                            joined.push('\n');
                            joined.push_str(lines[lookahead].trim());
                            lookahead += 1;
                            if serde_json::from_str::<serde_json::Value>(&joined).is_ok() {
                                value = joined.clone();
                                index = lookahead;
                                break;
                            }
                        }
                    }
                    comment.pragmas.push((name.trim().to_string(), Some(value)));
                }
            }
        }
        comment.doc = clean_doc(&prose.join("\n"));
        comment
    }

    /// `Some(None)` for `+name`, `Some(Some(value))` for `+name=value`, `None` when absent.
    fn pragma(&self, name: &str) -> Option<Option<String>> {
        self.pragmas
            .iter()
            .find(|(each, _)| each == name)
            .map(|(_, value)| value.clone())
    }
}

/// The comments at the top of a file, before `package`: Dagger's template separates the module
/// description from the package clause by a blank line, so adjacency is not required. Build
/// constraints are not prose.
fn header_comment(file: &SourceFile, package: Node<'_>) -> Comment {
    let mut comments = Vec::new();
    let mut current = package.prev_sibling();
    while let Some(previous) = current {
        if previous.kind() != "comment" {
            break;
        }
        let text = file.text(previous);
        if !text.starts_with("//go:build") && !text.starts_with("// +build") {
            comments.push(previous);
        }
        current = previous.prev_sibling();
    }
    comments.reverse();
    Comment::from_nodes(file, &comments)
}

/// The comment lines directly above a declaration (no blank line in between).
fn doc_comment(file: &SourceFile, node: Node<'_>) -> Comment {
    let mut comments = Vec::new();
    let mut row = node.start_position().row;
    let mut current = node.prev_sibling();
    while let Some(previous) = current {
        if previous.kind() != "comment" || previous.end_position().row + 1 < row {
            break;
        }
        row = previous.start_position().row;
        comments.push(previous);
        current = previous.prev_sibling();
    }
    comments.reverse();
    Comment::from_nodes(file, &comments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::function_names;

    fn run(files: &[(&str, &str)], main_object: &str) -> Extraction {
        let files: Vec<SourceText> = files
            .iter()
            .map(|(path, text)| SourceText::new(*path, *text))
            .collect();
        extract(&files, main_object)
    }

    #[test]
    fn finds_the_main_struct_the_way_the_go_sdk_compares_names() {
        // The SDK compares `strcase.ToCamel` of both names, which lower-cases a run of capitals:
        // struct `TLS` is module `tls`'s main object (`Tls`), `MkDocs` is not module `mkdocs`'s.
        let files = [(
            "main.go",
            "package main\n\n// TLS material.\ntype TLS struct{}\n\ntype Helper struct{}\n\nfunc (m *TLS) Cert() *dagger.File { return nil }\n\nfunc (h *Helper) Run() error { return nil }\n",
        )];
        let extraction = run(&files, "Tls");
        assert!(extraction.found_main);
        assert_eq!(function_names(&extraction), ["Cert"]);
        assert_eq!(extraction.description.as_deref(), Some("TLS material."));
        assert_eq!(extraction.objects.keys().collect::<Vec<_>>(), ["Helper"]);
        let files = [(
            "main.go",
            "package main\n\ntype MkDocs struct{}\n\nfunc (m *MkDocs) Build() error { return nil }\n",
        )];
        assert!(!run(&files, "Mkdocs").found_main);
    }

    #[test]
    fn reads_methods_pragmas_and_the_constructor_across_files() {
        let extraction = run(
            &[
                (
                    "main.go",
                    r#"// A Go module.

package main

import (
	"context"
	"dagger/demo/internal/dagger"
)

// Demo builds things.
//
// More text.
type Demo struct {
	// +private
	Base *dagger.Container
}

func New(
	// The base image
	// +optional
	// +default="alpine:3.20"
	image string,
) *Demo {
	return &Demo{}
}

// Run the tests
// +check
func (m *Demo) Test(ctx context.Context,
	// +defaultPath="/"
	// +ignore=[
	//   "node_modules",
	//   ".git"
	// ]
	source *dagger.Directory,
	race bool, // +optional
	// +default=3
	count int,
) error {
	return nil
}

func (m *Demo) helper() {}
"#,
                ),
                (
                    "lint.go",
                    r#"package main

// +check
func (m Demo) Lint(token *dagger.Secret) (*dagger.Container, error) { return nil, nil }

// +defaultAddress="alpine:3"
func (m *Demo) Names(base *dagger.Container, items []string) []string { return nil }
"#,
                ),
            ],
            "Demo",
        );
        assert!(extraction.found_main);
        assert!(extraction.problems.is_empty(), "{:?}", extraction.problems);
        assert_eq!(
            extraction.description.as_deref(),
            Some("Demo builds things.")
        );
        assert_eq!(function_names(&extraction), ["Lint", "Names", "Test"]);
        let test = &extraction.functions[2];
        assert!(test.check);
        assert_eq!(test.cli_name, "test");
        assert_eq!(test.doc.as_deref(), Some("Run the tests"));
        assert_eq!(test.returns, "Void");
        assert_eq!(test.args.len(), 3);
        assert_eq!(test.args[0].default_path.as_deref(), Some("/"));
        assert_eq!(test.args[0].ignore, ["node_modules", ".git"]);
        assert_eq!(test.args[0].r#type, "Directory");
        assert!(test.args[1].optional);
        assert_eq!(test.args[1].r#type, "Boolean");
        assert_eq!(test.args[2].default.as_deref(), Some("3"));
        let lint = &extraction.functions[0];
        assert!(lint.check);
        assert_eq!(lint.returns, "Container");
        assert!(lint.args[0].is_required());
        assert_eq!(extraction.functions[1].returns, "[String]");
        assert_eq!(extraction.constructor.len(), 1);
        assert_eq!(
            extraction.constructor[0].default.as_deref(),
            Some("\"alpine:3.20\"")
        );
        assert_eq!(
            extraction.constructor[0].doc.as_deref(),
            Some("The base image")
        );
    }

    #[test]
    fn reports_a_syntax_error_and_keeps_going() {
        let extraction = run(
            &[(
                "main.go",
                "package main\n\ntype Demo struct{}\n\nfunc (m *Demo) Broken( {\n",
            )],
            "Demo",
        );
        assert!(extraction.found_main);
        assert!(extraction.problems[0].starts_with("main.go:"));
    }
}
