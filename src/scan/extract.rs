//! What every SDK extractor returns, and the pieces they share: building arguments with Dagger's
//! optional-ness rules, JSON-encoding literal defaults, and Dagger's names for built-in types.

use tree_sitter::Node;

use super::model::{Argument, Function};
use super::names;
use super::syntax::SourceFile;

/// One source file of a module, read from disk.
#[derive(Debug, Clone)]
pub struct SourceText {
    /// The path relative to the scanned root, for messages.
    pub path: String,
    pub text: String,
}

impl SourceText {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> SourceText {
        SourceText {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// What an extractor learned about a module's main object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// Whether the main object's declaration was found at all.
    pub found_main: bool,
    /// The main object's doc (or the module's), first paragraph.
    pub description: Option<String>,
    /// The main object's functions, in source order.
    pub functions: Vec<Function>,
    /// The constructor's arguments (what a toolchain customization with no `function` targets).
    pub constructor: Vec<Argument>,
    /// The module's other object types with their functions, by name: what the main object's
    /// functions may return, and where nested checks live.
    pub objects: super::modtree::Objects,
    pub problems: Vec<String>,
}

impl Extraction {
    /// Read another object type of the module, `name`, with `read` (which fills a fresh
    /// extraction as for the main object) and keep its functions: where nested checks live.
    pub fn add_object(&mut self, name: String, read: impl FnOnce(&str, &mut Extraction)) {
        let mut object = Extraction::default();
        read(&name, &mut object);
        self.objects
            .entry(name)
            .or_default()
            .extend(object.functions);
    }

    /// Mark the main object's class as found, `false` if it already was: a second class of the
    /// same name is noted as a problem, and passed over.
    pub fn claim_main(&mut self, file: &SourceFile, class: Node<'_>, main_object: &str) -> bool {
        if self.found_main {
            self.problems.push(format!(
                "{}: a second class `{main_object}`; the first one is reported",
                file.location(class)
            ));
            return false;
        }
        self.found_main = true;
        true
    }
}

/// The facts an SDK states about one argument, before Dagger's rules are applied.
#[derive(Debug, Clone, Default)]
pub struct ArgumentFacts {
    pub name: String,
    /// A `Name("…")` / `@argument({name})` override of the API name.
    pub api_name: Option<String>,
    pub r#type: String,
    /// Nullable or explicitly optional (`X | None`, `?`, `+optional`, `Optional<T>`).
    pub nullable: bool,
    pub default: Option<String>,
    pub default_path: Option<String>,
    pub ignore: Vec<String>,
    pub doc: Option<String>,
    pub default_address: Option<String>,
}

impl ArgumentFacts {
    /// The argument as the engine sees it: a default, a default path or a default address makes
    /// it optional, and so does being an engine-injected `Workspace`.
    pub fn into_argument(self) -> Argument {
        // The engine always injects `Workspace` arguments (v0.20+), so callers never pass one.
        let optional = self.nullable
            || self.r#type == "Workspace"
            || self.default.is_some()
            || self.default_path.is_some()
            || self.default_address.is_some();
        let cli_name = names::cli_name(self.api_name.as_deref().unwrap_or(&self.name));
        Argument {
            name: self.name,
            cli_name,
            r#type: self.r#type,
            optional,
            default: self.default,
            default_path: self.default_path,
            ignore: self.ignore,
            doc: self.doc,
            default_address: self.default_address,
        }
    }
}

/// Build a function record; `api_name` is an SDK-level rename (`@function(name=…)`).
pub fn function(
    name: String,
    api_name: Option<&str>,
    check: bool,
    doc: Option<String>,
    returns: String,
    args: Vec<Argument>,
) -> Function {
    let cli_name = names::cli_name(api_name.unwrap_or(&name));
    Function {
        name,
        cli_name,
        check,
        generate: false,
        doc,
        returns,
        args,
    }
}

/// A string as a JSON literal (`3.12` → `"3.12"` with quotes), the form `Argument::default`
/// uses for literals.
pub fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `[T]`, Dagger's list notation.
pub fn list_of(inner: &str) -> String {
    format!("[{inner}]")
}

/// A union type from its members' Dagger types and nullability: a `None`/`null` member makes the
/// union nullable and drops out, and a single member left is the type.
pub fn union_of(members: impl IntoIterator<Item = (String, bool)>) -> (String, bool) {
    let mut nullable = false;
    let mut names = Vec::new();
    for (name, member_nullable) in members {
        if name == "Void" && member_nullable {
            nullable = true;
        } else {
            nullable |= member_nullable;
            names.push(name);
        }
    }
    match names.len() {
        0 => ("Void".to_string(), true),
        1 => (names.remove(0), nullable),
        _ => (names.join(" | "), nullable),
    }
}

/// Dagger's name for a built-in scalar or core type spelled the way the SDKs spell it; other
/// names (the module's own objects, enums) are returned unchanged.
pub fn dagger_type_name(name: &str) -> String {
    let name = name.rsplit('.').next().unwrap_or(name);
    match name {
        "str" | "string" | "String" => "String",
        "int" | "Int" | "Integer" | "long" | "Long" | "int8" | "int16" | "int32" | "int64"
        | "uint" | "uint8" | "uint16" | "uint32" | "uint64" | "short" | "Short" | "byte"
        | "Byte" => "Int",
        "float" | "Float" | "float32" | "float64" | "double" | "Double" => "Float",
        "bool" | "boolean" | "Boolean" => "Boolean",
        "None" | "NoneType" | "void" | "Void" | "undefined" | "null" => "Void",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_default_paths_make_arguments_optional() {
        let argument = ArgumentFacts {
            name: "source".into(),
            r#type: "Directory".into(),
            default_path: Some(".".into()),
            ..ArgumentFacts::default()
        }
        .into_argument();
        assert!(argument.optional);
        assert!(!argument.is_required());
        let argument = ArgumentFacts {
            name: "service_name".into(),
            r#type: "String".into(),
            ..ArgumentFacts::default()
        }
        .into_argument();
        assert_eq!(argument.cli_name, "service-name");
        assert!(argument.is_required());
        let workspace = ArgumentFacts {
            name: "ws".into(),
            r#type: "Workspace".into(),
            ..ArgumentFacts::default()
        }
        .into_argument();
        assert!(!workspace.is_required());
    }

    #[test]
    fn names_builtin_types_the_dagger_way() {
        assert_eq!(dagger_type_name("str"), "String");
        assert_eq!(dagger_type_name("dagger.Directory"), "Directory");
        assert_eq!(dagger_type_name("float64"), "Float");
        assert_eq!(dagger_type_name("AcmeBackend"), "AcmeBackend");
        assert_eq!(json_string("3.12"), "\"3.12\"");
    }
}
