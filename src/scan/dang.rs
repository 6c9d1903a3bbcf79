//! The Dang extractor: a hand-written lexer and a declaration-only parser for `.dang` module
//! sources (Dagger 1.0). It reads `type` declarations, their members (`pub`/`let`, functions with
//! argument lists, zero-argument functions with a block body, fields with and without defaults),
//! `new(...)` constructors, doc strings (`"""…"""`), directives (`@check`, `@generate`,
//! `@defaultPath(path: …)`, `@ignorePatterns(patterns: […])`) and a top-level
//! `pub description = "…"`. Function bodies and values are skipped by bracket balance; anything
//! it does not understand is skipped to the end of its form, never an error.
//!
//! Dang's rules, from its grammar (`pkg/dang/dang.peg`) and language reference: members of a
//! `type` are public unless marked `let`; `T!` is non-null and a default makes an argument
//! optional; without `new(...)` the constructor takes every field without a default (plus public
//! fields with one, as optional arguments).

use super::extract::{self, ArgumentFacts, Extraction, SourceText};
use super::model::{self, Argument, Function};
use super::names;
use super::syntax::{clean_doc, first_paragraph};

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ident,
    /// A double-quoted string, unescaped.
    Str(String),
    /// A triple-quoted string, raw.
    Doc(String),
    /// A backtick template (its value is never needed).
    Template,
    Number,
    /// One punctuation character, or a two-character operator (`::`, `??`, `==`, `=>`, `+=`…).
    Punct(&'static str),
    Newline,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

const TWO_CHAR: &[&str] = &[
    "::", "??", "==", "!=", "<=", ">=", "=>", "+=", "-=", "{{", "}}",
];
const ONE_CHAR: &[&str] = &[
    "(", ")", "{", "}", "[", "]", ":", ",", ";", "!", "=", "@", ".", "?", "&", "+", "-", "*", "/",
    "%", "<", ">", "|",
];

fn lex(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let start = index;
        match byte {
            b'\n' => {
                tokens.push(Token {
                    kind: Kind::Newline,
                    start,
                    end: start + 1,
                });
                index += 1;
            }
            b' ' | b'\t' | b'\r' => index += 1,
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'"' if text[index..].starts_with("\"\"\"") => {
                let body_start = index + 3;
                let end = text[body_start..]
                    .find("\"\"\"")
                    .map(|offset| body_start + offset)
                    .unwrap_or(text.len());
                tokens.push(Token {
                    kind: Kind::Doc(text[body_start..end].to_string()),
                    start,
                    end: (end + 3).min(text.len()),
                });
                index = (end + 3).min(text.len());
            }
            b'"' => {
                let mut value = String::new();
                index += 1;
                let mut characters = text[index..].char_indices();
                let mut consumed = text.len() - index;
                while let Some((offset, character)) = characters.next() {
                    match character {
                        '"' => {
                            consumed = offset + 1;
                            break;
                        }
                        '\n' => {
                            // An unterminated string: stop at the line end.
                            consumed = offset;
                            break;
                        }
                        '\\' => match characters.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, other)) => value.push(other),
                            None => {}
                        },
                        other => value.push(other),
                    }
                }
                index += consumed;
                tokens.push(Token {
                    kind: Kind::Str(value),
                    start,
                    end: index,
                });
            }
            b'`' => {
                // A template: ```fenced``` (multi-line, matching fence length) or `single-line`.
                let fence = bytes[index..].iter().take_while(|b| **b == b'`').count();
                let end = if fence >= 3 {
                    let marker = "`".repeat(fence);
                    text[index + fence..]
                        .find(&marker)
                        .map(|offset| index + fence + offset + fence)
                        .unwrap_or(text.len())
                } else {
                    let rest = &text[index + 1..];
                    rest.find(['`', '\n'])
                        .map(|offset| index + 1 + offset + 1)
                        .unwrap_or(text.len())
                };
                tokens.push(Token {
                    kind: Kind::Template,
                    start,
                    end,
                });
                index = end;
            }
            b'0'..=b'9' => {
                while index < bytes.len()
                    && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'.')
                {
                    // `1.5` is a float, `xs.0` is not written in Dang; a dot followed by a
                    // letter ends the number (`1.toString`).
                    if bytes[index] == b'.' && !bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
                    {
                        break;
                    }
                    index += 1;
                }
                tokens.push(Token {
                    kind: Kind::Number,
                    start,
                    end: index,
                });
            }
            byte if byte.is_ascii_alphabetic() || byte == b'_' => {
                while index < bytes.len()
                    && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_')
                {
                    index += 1;
                }
                tokens.push(Token {
                    kind: Kind::Ident,
                    start,
                    end: index,
                });
            }
            _ => {
                let rest = &text[index..];
                // Two-character operators first, so `==` is not read as `=` `=`.
                if let Some(operator) = TWO_CHAR
                    .iter()
                    .chain(ONE_CHAR)
                    .find(|operator| rest.starts_with(**operator))
                {
                    tokens.push(Token {
                        kind: Kind::Punct(operator),
                        start,
                        end: start + operator.len(),
                    });
                    index += operator.len();
                } else {
                    // Anything else (non-ASCII outside strings) is skipped a character at a time.
                    index += rest.chars().next().map(char::len_utf8).unwrap_or(1);
                }
            }
        }
    }
    tokens
}

/// A parsed type in Dagger's names: `[String]`, non-null or not.
#[derive(Debug, Clone, Default, PartialEq)]
struct TypeRef {
    name: String,
    non_null: bool,
}

#[derive(Debug, Clone, Default)]
struct Directive {
    name: String,
    /// The first string argument (`@defaultPath(path: "/")` → `/`).
    text: Option<String>,
    /// String list arguments (`@ignorePatterns(patterns: [...])`).
    list: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Member {
    name: String,
    private: bool,
    doc: Option<String>,
    /// `Some` for members with an argument list.
    args: Option<Vec<Argument>>,
    r#type: Option<TypeRef>,
    has_body: bool,
    /// The default value's source text (JSON for literals).
    default: Option<String>,
    directives: Vec<Directive>,
}

#[derive(Debug, Clone, Default)]
struct TypeDecl {
    name: String,
    doc: Option<String>,
    members: Vec<Member>,
    constructor: Option<Vec<Argument>>,
}

#[derive(Debug, Default)]
struct FileFacts {
    types: Vec<TypeDecl>,
    description: Option<String>,
}

struct Parser<'text> {
    text: &'text str,
    tokens: Vec<Token>,
    position: usize,
}

impl<'text> Parser<'text> {
    fn new(text: &'text str) -> Self {
        Parser {
            text,
            tokens: lex(text),
            position: 0,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_kind(&self) -> Option<&Kind> {
        self.peek().map(|token| &token.kind)
    }

    fn is_punct(&self, punct: &str) -> bool {
        matches!(self.peek_kind(), Some(Kind::Punct(found)) if *found == punct)
    }

    fn ident(&self) -> Option<&'text str> {
        let token = self.peek()?;
        (token.kind == Kind::Ident).then(|| &self.text[token.start..token.end])
    }

    fn advance(&mut self) {
        self.position += 1;
    }

    fn eat(&mut self, punct: &str) -> bool {
        if self.is_punct(punct) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek_kind(), Some(Kind::Newline | Kind::Punct(";"))) {
            self.advance();
        }
    }

    /// Skip a balanced group starting at an opening bracket; stops after its closer (or at the
    /// end of the file when it is never closed).
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            if let Kind::Punct(punct) = token.kind {
                match punct {
                    "(" | "[" | "{" | "{{" => depth += 1,
                    ")" | "]" | "}" | "}}" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            self.advance();
                            return;
                        }
                    }
                    _ => {}
                }
            }
            self.advance();
        }
    }

    /// Skip an expression up to the end of its form: a newline, `;` or `,` at depth 0, or the
    /// closer of the enclosing group (not consumed). A line that starts with `.`, `??` or a
    /// binary operator, or a line ending in one, continues the expression.
    fn skip_expression(&mut self, stop_at_comma: bool) -> (usize, usize) {
        let start = self
            .peek()
            .map(|token| token.start)
            .unwrap_or(self.text.len());
        let mut end = start;
        while let Some(token) = self.peek().cloned() {
            match &token.kind {
                Kind::Punct(")" | "]" | "}" | "}}") => break,
                Kind::Punct(";") => break,
                Kind::Punct(",") if stop_at_comma => break,
                Kind::Punct("(" | "[" | "{" | "{{") => {
                    self.skip_group();
                    end = self
                        .tokens
                        .get(self.position.saturating_sub(1))
                        .map(|token| token.end)
                        .unwrap_or(end);
                }
                Kind::Newline => {
                    let previous_continues = self
                        .tokens
                        .get(self.position.wrapping_sub(1))
                        .is_some_and(|previous| continues_expression(&previous.kind));
                    let mut lookahead = self.position;
                    while matches!(
                        self.tokens.get(lookahead).map(|token| &token.kind),
                        Some(Kind::Newline)
                    ) {
                        lookahead += 1;
                    }
                    let next_continues = self.tokens.get(lookahead).is_some_and(|next| {
                        matches!(
                            next.kind,
                            Kind::Punct("." | "??" | "+" | "*" | "/" | "%" | "==" | "!=" | "|")
                        ) || (next.kind == Kind::Ident
                            && matches!(
                                &self.text[next.start..next.end],
                                "and" | "or" | "rescue" | "else"
                            ))
                    });
                    if previous_continues || next_continues {
                        self.position = lookahead;
                        continue;
                    }
                    break;
                }
                _ => {
                    end = token.end;
                    self.advance();
                }
            }
        }
        (start, end)
    }

    /// `[T]`, `Name`, `Name.Inner`, `Name[A, B]`, `{{…}}`, `a` (type variable), each with `!`.
    fn parse_type(&mut self) -> Option<TypeRef> {
        let name = if self.eat("[") {
            let inner = self.parse_type()?;
            if !self.eat("]") {
                return None;
            }
            extract::list_of(&inner.name)
        } else if self.is_punct("{{") {
            self.skip_group();
            "Object".to_string()
        } else {
            let mut name = self.ident()?.to_string();
            self.advance();
            while self.is_punct(".") {
                self.advance();
                let part = self.ident()?;
                name = part.to_string();
                self.advance();
            }
            if self.is_punct("[") {
                self.skip_group();
            }
            extract::dagger_type_name(&name)
        };
        let non_null = self.eat("!");
        Some(TypeRef { name, non_null })
    }

    /// Zero or more `@name` / `@name(args)` directives.
    fn parse_directives(&mut self) -> Vec<Directive> {
        let mut directives = Vec::new();
        loop {
            // Directives may follow on the next lines (`pub dir: Directory!\n  @defaultPath(…)`):
            // as in Dang's grammar, a following `@` belongs to the declaration before it.
            let mut lookahead = self.position;
            while matches!(
                self.tokens.get(lookahead).map(|token| &token.kind),
                Some(Kind::Newline)
            ) {
                lookahead += 1;
            }
            if !matches!(
                self.tokens.get(lookahead).map(|token| &token.kind),
                Some(Kind::Punct("@"))
            ) {
                break;
            }
            self.position = lookahead + 1;
            let Some(name) = self.ident() else {
                break;
            };
            let mut directive = Directive {
                name: name.to_string(),
                ..Directive::default()
            };
            self.advance();
            if self.is_punct("(") {
                let open = self.position;
                self.skip_group();
                for token in &self.tokens[open..self.position] {
                    if let Kind::Str(value) = &token.kind {
                        if directive.text.is_none() {
                            directive.text = Some(value.clone());
                        }
                        directive.list.push(value.clone());
                    }
                }
            }
            directives.push(directive);
        }
        directives
    }

    fn skip_spaces_in_group(&mut self) {
        while matches!(self.peek_kind(), Some(Kind::Newline | Kind::Punct(","))) {
            self.advance();
        }
    }

    /// `( [doc] [&]name: Type [directives] [= default] , … )`, the cursor on `(`.
    fn parse_arguments(&mut self) -> Vec<Argument> {
        let mut arguments = Vec::new();
        if !self.eat("(") {
            return arguments;
        }
        loop {
            self.skip_spaces_in_group();
            let mut doc = None;
            if let Some(Kind::Doc(text)) = self.peek_kind() {
                doc = clean_doc(text);
                self.advance();
                self.skip_spaces_in_group();
            }
            if self.is_punct(")") || self.peek().is_none() {
                self.eat(")");
                break;
            }
            let block_parameter = self.eat("&");
            let Some(name) = self.ident() else {
                // Not an argument list this parser understands: skip the rest of it.
                self.skip_to_closer(")");
                break;
            };
            let name = name.to_string();
            self.advance();
            if block_parameter && self.is_punct("(") {
                self.skip_group();
            }
            let mut facts = ArgumentFacts {
                name,
                doc,
                ..ArgumentFacts::default()
            };
            if self.eat(":") {
                match self.parse_type() {
                    Some(found) => {
                        facts.r#type = found.name;
                        facts.nullable = !found.non_null;
                    }
                    None => {
                        self.skip_to_closer(")");
                        break;
                    }
                }
            }
            for directive in self.parse_directives() {
                apply_argument_directive(&mut facts, &directive);
            }
            if self.eat("=") {
                let (start, end) = self.skip_expression(true);
                facts.default = Some(literal_default(&self.text[start..end]));
            }
            if !block_parameter {
                arguments.push(facts.into_argument());
            }
            if !matches!(
                self.peek_kind(),
                Some(Kind::Punct("," | ")") | Kind::Newline)
            ) {
                self.skip_to_closer(")");
                break;
            }
        }
        arguments
    }

    /// Skip to just after the closer of the group the cursor is inside.
    fn skip_to_closer(&mut self, closer: &str) {
        while let Some(token) = self.peek() {
            match token.kind {
                Kind::Punct("(" | "[" | "{" | "{{") => self.skip_group(),
                Kind::Punct(found) if found == closer => {
                    self.advance();
                    return;
                }
                Kind::Punct(")" | "]" | "}" | "}}") => return,
                _ => self.advance(),
            }
        }
    }

    /// A sequence of declarations until `}` (inside a type) or the end of the file.
    fn parse_scope(&mut self, facts: &mut FileFacts, owner: Option<&mut TypeDecl>) {
        let mut owner = owner;
        let mut doc: Option<String> = None;
        loop {
            self.skip_newlines();
            let Some(token) = self.peek().cloned() else {
                return;
            };
            match &token.kind {
                Kind::Punct("}") if owner.is_some() => {
                    self.advance();
                    return;
                }
                Kind::Doc(text) => {
                    doc = clean_doc(text);
                    self.advance();
                    continue;
                }
                _ => {}
            }
            let prefix = self.parse_directives();
            if !prefix.is_empty() {
                // Directives on their own lines before the declaration (`@check` ⏎ `go: …`).
                self.skip_newlines();
            }
            let word = self.ident().unwrap_or_default();
            match word {
                "type" => {
                    self.advance();
                    let Some(name) = self.ident() else {
                        self.skip_form();
                        doc = None;
                        continue;
                    };
                    let mut declared = TypeDecl {
                        name: name.to_string(),
                        doc: doc.take(),
                        ..TypeDecl::default()
                    };
                    self.advance();
                    // `implements A & B`, directives: skip to the body.
                    while let Some(kind) = self.peek_kind() {
                        if matches!(kind, Kind::Punct("{")) {
                            break;
                        }
                        if matches!(kind, Kind::Newline) && self.next_significant_is("{") {
                            self.skip_newlines();
                            break;
                        }
                        self.advance();
                    }
                    if self.eat("{") {
                        self.parse_scope(facts, Some(&mut declared));
                    }
                    facts.types.push(declared);
                }
                "interface" | "enum" | "union" | "scalar" | "directive" | "import" => {
                    self.skip_form();
                }
                "new" if owner.is_some() => {
                    self.advance();
                    let arguments = if self.is_punct("(") {
                        self.parse_arguments()
                    } else {
                        Vec::new()
                    };
                    if let Some(owner) = owner.as_deref_mut() {
                        owner.constructor = Some(arguments);
                    }
                    self.skip_form();
                }
                _ => {
                    let member = self.parse_member(doc.take(), prefix);
                    match (member, owner.as_deref_mut()) {
                        (Some(member), Some(owner)) => owner.members.push(member),
                        (Some(member), None) => {
                            if member.name == "description"
                                && !member.private
                                && let Some(default) = &member.default
                                && let Ok(text) = serde_json::from_str::<String>(default)
                            {
                                facts.description = Some(text);
                            }
                        }
                        (None, _) => {}
                    }
                }
            }
            doc = None;
        }
    }

    fn next_significant_is(&self, punct: &str) -> bool {
        self.tokens[self.position..]
            .iter()
            .find(|token| token.kind != Kind::Newline)
            .is_some_and(|token| token.kind == Kind::Punct(leak(punct)))
    }

    /// Skip one form: its expression, and a trailing block if any.
    fn skip_form(&mut self) {
        let before = self.position;
        self.skip_expression(false);
        if self.position == before {
            // A stray closer or separator: step over it so the scan always advances.
            if !matches!(self.peek_kind(), Some(Kind::Punct("}")) | None) {
                self.advance();
            } else if self.is_punct("}") {
                // Only the enclosing scope consumes `}`; at top level, drop it.
                self.advance();
            }
        }
    }

    /// `[pub|let] name …`: a field or function; `None` when the form is no declaration.
    fn parse_member(&mut self, doc: Option<String>, prefix: Vec<Directive>) -> Option<Member> {
        let start = self.position;
        let mut private = false;
        match self.ident() {
            Some("pub") => self.advance(),
            Some("let") => {
                private = true;
                self.advance();
            }
            _ => {}
        }
        let Some(name) = self.ident() else {
            self.position = start;
            self.skip_form();
            return None;
        };
        let name = name.to_string();
        self.advance();
        let mut member = Member {
            name,
            private,
            doc,
            directives: prefix,
            ..Member::default()
        };
        if self.is_punct("(") {
            member.args = Some(self.parse_arguments());
        }
        if self.eat(":") {
            member.r#type = self.parse_type();
            if member.r#type.is_none() {
                self.skip_form();
                return None;
            }
        } else if member.args.is_none() && !self.is_punct("=") {
            // `name { … }` is a call with a block, `name.x` an expression: no declaration.
            self.position = start;
            self.skip_form();
            return None;
        }
        member.directives.extend(self.parse_directives());
        if self.eat("=") {
            let (value_start, value_end) = self.skip_expression(false);
            member.default = Some(literal_default(&self.text[value_start..value_end]));
        } else if self.is_punct("{") {
            member.has_body = true;
            self.skip_group();
        } else if member.args.is_some() && member.r#type.is_none() {
            // `name(args)` with no type: a call statement.
            self.skip_form();
            return None;
        }
        Some(member)
    }
}

/// `&'static str` for the punctuation tables (only ever called with table entries).
fn leak(punct: &str) -> &'static str {
    TWO_CHAR
        .iter()
        .chain(ONE_CHAR)
        .find(|entry| **entry == punct)
        .copied()
        .unwrap_or("")
}

fn continues_expression(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::Punct(
            "." | "??"
                | "+"
                | "-"
                | "*"
                | "/"
                | "%"
                | "=="
                | "!="
                | "<"
                | ">"
                | "<="
                | ">="
                | "="
                | "=>"
                | "|"
                | "::"
        )
    )
}

fn apply_argument_directive(facts: &mut ArgumentFacts, directive: &Directive) {
    match directive.name.as_str() {
        "defaultPath" => facts.default_path = directive.text.clone(),
        "ignorePatterns" | "ignore" => facts.ignore = directive.list.clone(),
        "defaultAddress" => facts.default_address = directive.text.clone(),
        _ => {}
    }
}

/// A default value as [`Argument::default`] keeps it: JSON for string, number, boolean, null
/// and list-of-literal defaults, the source text otherwise.
fn literal_default(source: &str) -> String {
    let source = source.trim();
    if let Some(inner) = source
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        && !inner.contains('"')
    {
        return extract::json_string(inner);
    }
    if serde_json::from_str::<serde_json::Value>(source).is_ok() {
        return source.to_string();
    }
    source.to_string()
}

fn parse_file(text: &str) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut parser = Parser::new(text);
    parser.parse_scope(&mut facts, None);
    facts
}

/// Extract the main object of a Dang module: the `type` named like the module (compared without
/// case, `-` or `_`: `markdown-lint` is `MarkdownLint`, `ci` is `CI`).
pub fn extract(sources: &[SourceText], main_object: &str) -> Extraction {
    let mut extraction = Extraction::default();
    let mut description = None;
    let mut main: Option<TypeDecl> = None;
    for source in sources {
        let facts = parse_file(&source.text);
        if description.is_none() {
            description = facts.description;
        }
        for declared in facts.types {
            if main.is_none() && model::same_name(&declared.name, main_object) {
                main = Some(declared);
            } else {
                // Another type: where nested checks live.
                extraction
                    .objects
                    .entry(declared.name.clone())
                    .or_default()
                    .extend(functions_of(&declared));
            }
        }
    }
    let Some(main) = main else {
        extraction.description = description.as_deref().map(first_paragraph);
        return extraction;
    };
    extraction.found_main = true;
    extraction.description = main
        .doc
        .as_deref()
        .or(description.as_deref())
        .map(first_paragraph);
    extraction.functions = functions_of(&main);
    extraction.constructor = match main.constructor {
        Some(arguments) => arguments,
        None => implicit_constructor(&main.members),
    };
    extraction
}

/// The functions of a type: its public members with arguments or a body.
fn functions_of(declared: &TypeDecl) -> Vec<Function> {
    let has_directive = |member: &Member, name: &str| {
        member
            .directives
            .iter()
            .any(|directive| directive.name == name)
    };
    let mut functions = Vec::new();
    for member in &declared.members {
        let is_function = member.args.is_some() || member.has_body;
        if !is_function || member.private {
            continue;
        }
        let returns = member
            .r#type
            .as_ref()
            .map(|found| found.name.clone())
            .unwrap_or_else(|| "Void".to_string());
        let mut function: Function = extract::function(
            member.name.clone(),
            None,
            has_directive(member, "check"),
            member.doc.clone(),
            returns,
            member.args.clone().unwrap_or_default(),
        );
        function.generate = has_directive(member, "generate");
        functions.push(function);
    }
    functions
}

/// The constructor Dang derives when a type has no `new`: one argument per field without a
/// default (public or not), plus public fields with a default (optional).
fn implicit_constructor(members: &[Member]) -> Vec<Argument> {
    members
        .iter()
        .filter(|member| member.args.is_none() && !member.has_body)
        .filter(|member| member.default.is_none() || !member.private)
        .filter_map(|member| {
            let found = member.r#type.as_ref()?;
            let mut facts = ArgumentFacts {
                name: member.name.clone(),
                r#type: found.name.clone(),
                nullable: !found.non_null,
                default: member.default.clone(),
                doc: member.doc.clone(),
                ..ArgumentFacts::default()
            };
            for directive in &member.directives {
                apply_argument_directive(&mut facts, directive);
            }
            Some(facts.into_argument())
        })
        .collect()
}

/// The cli name Dagger gives a Dang function (`scanSource` → `scan-source`).
pub fn cli_name(name: &str) -> String {
    names::cli_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Vec<SourceText> {
        vec![SourceText::new("main.dang", text)]
    }

    const SECURITY: &str = r#"pub description = "A toolchain for supply chain security"

type Security {
  let source: Directory!

  new(
    ws: Workspace!,
    """
    Paths to exclude from the source tree before scanning.
    """
    ignore: [String!]! = [],
  ) {
    self.source = ws.directory("/", exclude: ignore)
    self
  }

  let trivyBase = container
    .from("aquasec/trivy:0.69.3")
    .withMountedCache(
      path: "/root/.cache",
      cache: cacheVolume("trivy-cache"),
    )
    .withWorkdir("/home/trivy")

  """
  Scan the source repository for security vulnerabilities
  """
  pub scanSource: Void @check {
    trivyBase.withExec(["trivy", "fs", "{not a brace}"]).sync # } in a comment
    null
  }

  """
  Build the engine container, and scan it
  """
  pub scanEngineContainer(target: Container): Void {
    let t = target ?? engineDev.container
    null
  }

  """
  Regenerate the lockfile.
  """
  regenerate(
    """
    The output path
    """
    path: String! = "out.txt",
    count: Int! = 3,
    dir: Directory! @defaultPath(path: "/") @ignorePatterns(patterns: ["*", "!src"]),
  ): Changeset! @generate {
    `template with } brace`
  }

  let helper(x: String!): String! { x }
}
"#;

    #[test]
    fn reads_functions_checks_generators_and_constructor() {
        let extraction = extract(&source(SECURITY), "Security");
        assert!(extraction.found_main);
        assert_eq!(
            extraction.description.as_deref(),
            Some("A toolchain for supply chain security")
        );
        let names: Vec<(&str, &str, bool, bool)> = extraction
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.returns.as_str(), f.check, f.generate))
            .collect();
        assert_eq!(
            names,
            [
                ("scanSource", "Void", true, false),
                ("scanEngineContainer", "Void", false, false),
                ("regenerate", "Changeset", false, true),
            ]
        );
        assert_eq!(extraction.functions[0].cli_name, "scan-source");
        assert_eq!(
            extraction.functions[0].doc.as_deref(),
            Some("Scan the source repository for security vulnerabilities")
        );
        let target = &extraction.functions[1].args[0];
        assert_eq!(
            (target.r#type.as_str(), target.optional),
            ("Container", true)
        );
        let args = &extraction.functions[2].args;
        assert_eq!(args[0].default.as_deref(), Some("\"out.txt\""));
        assert_eq!(args[0].doc.as_deref(), Some("The output path"));
        assert_eq!(args[1].default.as_deref(), Some("3"));
        assert_eq!(args[2].default_path.as_deref(), Some("/"));
        assert_eq!(args[2].ignore, ["*", "!src"]);
        let constructor: Vec<(&str, &str, bool)> = extraction
            .constructor
            .iter()
            .map(|a| (a.name.as_str(), a.r#type.as_str(), a.is_required()))
            .collect();
        assert_eq!(
            constructor,
            [("ws", "Workspace", false), ("ignore", "[String]", false)]
        );
        assert_eq!(extraction.constructor[1].default.as_deref(), Some("[]"));
    }

    #[test]
    fn derives_the_implicit_constructor_and_matches_names_loosely() {
        let text = r#""""
A Dagger module for markdownlint.
"""
type MarkdownLint {
  """
  The version of markdownlint to use.
  """
  pub version: String! = "latest"
  pub workspaceDir: Directory!
    @defaultPath(path: "/")
    @ignorePatterns(patterns: [
      "*",
      "!sdk",
    ])
  let ws: Workspace!
  let cache = "x"
  token: Secret

  pub lint(ws: Workspace!): Void @check {
    null
  }
}
"#;
        let extraction = extract(&source(text), "MarkdownLint");
        assert_eq!(
            extraction.description.as_deref(),
            Some("A Dagger module for markdownlint.")
        );
        let constructor: Vec<(&str, bool)> = extraction
            .constructor
            .iter()
            .map(|a| (a.name.as_str(), a.optional))
            .collect();
        assert_eq!(
            constructor,
            [
                ("version", true),
                ("workspaceDir", true),
                ("ws", true),
                ("token", true)
            ]
        );
        assert_eq!(extraction.constructor[1].default_path.as_deref(), Some("/"));
        assert_eq!(extraction.constructor[1].ignore, ["*", "!sdk"]);
        assert_eq!(extraction.functions.len(), 1);
        assert_eq!(extraction.functions[0].args[0].r#type, "Workspace");
        assert!(extract(&source("type CI { pub x: Int! { 1 } }"), "Ci").found_main);
    }

    #[test]
    fn reads_directives_written_on_the_lines_before_a_member() {
        // Dang accepts directives before a declaration as well as after its type; the doc
        // string before them still belongs to the member.
        let text = r#"type Suite {
  let dev: Container!

  """
  Run the Go tests.
  """
  @check
  @cache(policy: FunctionCachePolicy.Never)
  go(args: [String!]! = ["./..."]): Container! {
    dev
  }

  @generate
  golden: Changeset! {
    dev.changes
  }

  plain: Void {
    null
  }
}
"#;
        let extraction = extract(&source(text), "Suite");
        let functions: Vec<(&str, bool, bool, Option<&str>)> = extraction
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.check, f.generate, f.doc.as_deref()))
            .collect();
        assert_eq!(
            functions,
            [
                ("go", true, false, Some("Run the Go tests.")),
                ("golden", false, true, None),
                ("plain", false, false, None),
            ]
        );
        assert_eq!(
            extraction.functions[0].args[0].default.as_deref(),
            Some("[\"./...\"]")
        );
    }

    #[test]
    fn survives_what_it_does_not_understand() {
        let text = "type Odd {\n  pub a(: Void {\n  }\n  pub b: Void @check { null }\n}\n}}}\n\"unterminated\n";
        let extraction = extract(&source(text), "Odd");
        assert!(extraction.found_main);
        assert!(extract(&source(""), "Missing").functions.is_empty());
        assert!(!extract(&source("enum Color { RED }"), "Color").found_main);
    }
}
