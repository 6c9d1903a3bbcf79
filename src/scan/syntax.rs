//! The tree-sitter plumbing the SDK extractors share: a language's grammar and query, parsing a
//! file, running the query (0.27's streaming matches) over every file of a module, reading node
//! text, and locating syntax errors.

use std::collections::HashMap;
use std::sync::OnceLock;

use tree_sitter::{Language, Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

use super::extract::{Extraction, SourceText};

/// What differs between the SDK extractors' drivers: the tree-sitter grammar and the query shipped
/// for it (compiled once, on first use).
pub struct Grammar {
    /// The language as messages name it (`TypeScript`).
    name: &'static str,
    language: fn() -> Language,
    query: &'static str,
    compiled: OnceLock<Option<Query>>,
}

impl Grammar {
    pub const fn new(name: &'static str, language: fn() -> Language, query: &'static str) -> Self {
        Grammar {
            name,
            language,
            query,
            compiled: OnceLock::new(),
        }
    }

    fn query(&'static self) -> Option<&'static Query> {
        self.compiled
            .get_or_init(|| compile(&(self.language)(), self.query, &self.name.to_lowercase()))
            .as_ref()
    }

    /// The driver of an extractor: parse each file, note its syntax error, and hand every match
    /// of the query in it to `visit`, file by file, to fill the extraction. A query that does not
    /// compile is noted as a problem, and nothing is visited.
    pub fn extract(
        &'static self,
        files: &[SourceText],
        mut visit: impl FnMut(&mut Extraction, &SourceFile, &Captures<'_>),
    ) -> Extraction {
        let mut extraction = Extraction::default();
        let Some(query) = self.query() else {
            extraction
                .problems
                .push(format!("the {} extractor is unavailable", self.name));
            return extraction;
        };
        for file in files {
            let Some(parsed) =
                SourceFile::parse(&(self.language)(), file.path.clone(), file.text.clone())
            else {
                continue;
            };
            if let Some(error) = parsed.syntax_error() {
                extraction.problems.push(error);
            }
            for captures in parsed.matches(query) {
                visit(&mut extraction, &parsed, &captures);
            }
        }
        extraction
    }
}

/// A parsed source file and its text.
pub struct SourceFile {
    /// The path relative to the scanned root, for messages.
    pub path: String,
    pub text: String,
    pub tree: Tree,
}

impl SourceFile {
    /// Parse `text`; `None` only if tree-sitter refuses the language (a build problem).
    pub fn parse(language: &Language, path: String, text: String) -> Option<SourceFile> {
        let mut parser = Parser::new();
        parser.set_language(language).ok()?;
        let tree = parser.parse(&text, None)?;
        Some(SourceFile { path, text, tree })
    }

    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// The source text of a node (empty if the node splits a UTF-8 character, which a
    /// grammar never does).
    pub fn text(&self, node: Node<'_>) -> &str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    /// The text of a node's `field` child, empty when it has none.
    pub fn field_text(&self, node: Node<'_>, field: &str) -> &str {
        node.child_by_field_name(field)
            .map(|child| self.text(child))
            .unwrap_or_default()
    }

    /// `path:line` of a node, for messages.
    pub fn location(&self, node: Node<'_>) -> String {
        format!("{}:{}", self.path, node.start_position().row + 1)
    }

    /// Where the first syntax error is, as `path:line:column`, if the file has one.
    pub fn syntax_error(&self) -> Option<String> {
        let root = self.root();
        if !root.has_error() {
            return None;
        }
        let node = first_error(root).unwrap_or(root);
        let position = node.start_position();
        Some(format!(
            "{}:{}:{}: syntax error",
            self.path,
            position.row + 1,
            position.column + 1
        ))
    }

    /// Every match of `query` in the file, each as capture name → nodes.
    pub fn matches<'tree>(&'tree self, query: &'static Query) -> Vec<Captures<'tree>> {
        let mut cursor = QueryCursor::new();
        let names = query.capture_names();
        let mut found = Vec::new();
        let mut matches = cursor.matches(query, self.root(), self.text.as_bytes());
        while let Some(each) = matches.next() {
            let mut captures = Captures::default();
            for capture in each.captures() {
                if let Some(name) = names.get(capture.index as usize) {
                    captures.nodes.entry(name).or_default().push(capture.node);
                }
            }
            found.push(captures);
        }
        found
    }
}

/// The captures of one query match.
#[derive(Default)]
pub struct Captures<'tree> {
    nodes: HashMap<&'static str, Vec<Node<'tree>>>,
}

impl<'tree> Captures<'tree> {
    pub fn get(&self, name: &str) -> Option<Node<'tree>> {
        self.nodes
            .get(name)
            .and_then(|nodes| nodes.first().copied())
    }

    /// The class declaration, its name and its body when this match is a class (the queries
    /// capture a class as `class`, `class.name` and `class.body`).
    pub fn class(&self) -> Option<(Node<'tree>, Node<'tree>, Node<'tree>)> {
        Some((
            self.get("class")?,
            self.get("class.name")?,
            self.get("class.body")?,
        ))
    }

    /// The class declaration and its body when this match is the class called `name`.
    pub fn class_named(&self, file: &SourceFile, name: &str) -> Option<(Node<'tree>, Node<'tree>)> {
        let (class, class_name, body) = self.class()?;
        (file.text(class_name) == name).then_some((class, body))
    }
}

/// Compile a query shipped in the binary. The `.scm` files are tested, so a failure here is a
/// build defect; it is reported once, as an error, rather than crashing a scan.
pub fn compile(language: &Language, source: &str, name: &str) -> Option<Query> {
    match Query::new(language, source) {
        Ok(query) => Some(query),
        Err(error) => {
            tracing::error!("the {name} query does not compile: {error}");
            None
        }
    }
}

/// The named children of a node, collected (tree-sitter's iterator borrows a cursor).
pub fn named_children<'tree>(node: Node<'tree>) -> Vec<Node<'tree>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// All children of a node, named or not.
pub fn children<'tree>(node: Node<'tree>) -> Vec<Node<'tree>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

/// The first error or missing node, depth first. Iterative: generated sources can nest deeper
/// than a worker thread's stack would allow a recursion to go.
fn first_error(root: Node<'_>) -> Option<Node<'_>> {
    let mut node = root;
    loop {
        if node.is_error() || node.is_missing() {
            return Some(node);
        }
        node = children(node)
            .into_iter()
            .find(|child| child.has_error() || child.is_missing())?;
    }
}

/// Strip the quotes of a string literal and resolve the common escapes. Languages differ in
/// the details (raw strings, template literals); this covers what module sources use for
/// defaults and paths.
pub fn unquote(literal: &str) -> String {
    let mut body = literal.trim();
    // Python prefixes: r"", b"", f"" (and upper-case); a raw string keeps its backslashes.
    let mut raw = false;
    while let Some(first) = body.chars().next() {
        if "rRbBuUfF".contains(first) && body.len() > 1 {
            raw |= first == 'r' || first == 'R';
            body = &body[1..];
        } else {
            break;
        }
    }
    for quote in ["\"\"\"", "'''", "\"", "'", "`"] {
        if body.len() >= 2 * quote.len() && body.starts_with(quote) && body.ends_with(quote) {
            body = &body[quote.len()..body.len() - quote.len()];
            break;
        }
    }
    if raw {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(character) = chars.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Tidy a doc comment or docstring: drop the common indentation and blank edges, like Python's
/// `inspect.cleandoc`.
pub fn clean_doc(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut cleaned: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                line.trim().to_string()
            } else {
                line.get(indent..)
                    .unwrap_or(line.trim())
                    .trim_end()
                    .to_string()
            }
        })
        .collect();
    while cleaned.first().is_some_and(|line| line.is_empty()) {
        cleaned.remove(0);
    }
    while cleaned.last().is_some_and(|line| line.is_empty()) {
        cleaned.pop();
    }
    if cleaned.is_empty() {
        None
    } else {
        Some(cleaned.join("\n"))
    }
}

/// The first paragraph of a doc, on one line.
pub fn first_paragraph(doc: &str) -> String {
    doc.split("\n\n")
        .next()
        .unwrap_or(doc)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text of a JSDoc / Javadoc block (`/** … */`) without the comment markers; `None` for other
/// comments.
pub fn block_doc(comment: &str) -> Option<String> {
    let body = comment.strip_prefix("/**")?.strip_suffix("*/")?;
    let lines: Vec<String> = body
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let trimmed = trimmed.strip_prefix('*').unwrap_or(trimmed);
            trimmed
                .strip_prefix(' ')
                .unwrap_or(trimmed)
                .trim_end()
                .to_string()
        })
        .collect();
    clean_doc(&lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_literals() {
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
        assert_eq!(unquote("'x'"), "x");
        assert_eq!(unquote("r'\\d'"), "\\d");
        assert_eq!(unquote("\"\"\"doc\"\"\""), "doc");
        assert_eq!(unquote("`t`"), "t");
    }

    #[test]
    fn cleans_docs() {
        assert_eq!(
            clean_doc("Run tests.\n\n        More here.\n    ").as_deref(),
            Some("Run tests.\n\nMore here.")
        );
        assert_eq!(
            block_doc("/**\n * Lint it.\n *\n * @param x the x\n */").as_deref(),
            Some("Lint it.\n\n@param x the x")
        );
        assert_eq!(first_paragraph("a\nb\n\nc"), "a b");
    }
}
