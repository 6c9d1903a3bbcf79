//! Helpers the scanner's unit tests share.

use std::path::Path;

use super::extract::Extraction;
use super::model::Argument;

/// Write `text` to `root/path`, creating the directories on the way.
pub fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The names of the functions an extractor found, in its order.
pub fn function_names(extraction: &Extraction) -> Vec<&str> {
    extraction
        .functions
        .iter()
        .map(|function| function.name.as_str())
        .collect()
}

/// The defaults of the first function's arguments, in order.
pub fn first_function_defaults(extraction: &Extraction) -> Vec<Option<&str>> {
    extraction.functions[0]
        .args
        .iter()
        .map(|argument| argument.default.as_deref())
        .collect()
}

/// A required argument `name` of `type`, with no default, path or doc.
pub fn argument(name: &str, r#type: &str) -> Argument {
    Argument {
        name: name.to_string(),
        cli_name: name.replace('_', "-"),
        r#type: r#type.to_string(),
        optional: false,
        default: None,
        default_path: None,
        ignore: Vec::new(),
        doc: None,
        default_address: None,
    }
}
