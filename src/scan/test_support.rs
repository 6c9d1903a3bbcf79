//! Helpers the scanner's unit tests share.

use std::path::Path;

use super::extract::Extraction;

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
