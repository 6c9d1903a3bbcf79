//! The layer rules of `docs/architecture.md`, checked on the source: each top-level module of
//! `src/` imports only its own layer or the layers below, the import graph has no cycle, nothing
//! below `cli/` names clap or `crate::cli`, and `exit.rs` imports nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer, highest first (the picture in `docs/architecture.md`).
const LAYERS: &[(&str, u8)] = &[
    ("cli", 6),
    ("server", 5),
    ("agents", 4),
    ("agent", 3),
    ("scan", 3),
    ("github", 3),
    ("llm", 2),
    ("config", 1),
    ("providers", 1),
    ("redact", 1),
    ("support", 1),
    ("progress", 1),
    ("exit", 0),
];

fn rust_files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without its comment lines (doc comments may name anything).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file of `src/` belongs to (`main` for `main.rs`, `lib` for `lib.rs`).
fn top_module(src: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (index, _) in text.match_indices("crate::") {
        let name: String = text[index + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

struct Source {
    /// Top-level module → the top-level modules it imports (itself left out).
    graph: BTreeMap<String, BTreeSet<String>>,
    /// Files outside `cli/` and `main.rs` with what they must not name.
    clap_outside_cli: Vec<String>,
}

fn read_source() -> Source {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut clap_outside_cli = Vec::new();
    for path in &files {
        let top = top_module(&src, path);
        let text = code(path);
        if top != "cli" && top != "main" {
            for banned in ["clap::", "use clap", "crate::cli", "agentci::cli"] {
                if text.contains(banned) {
                    clap_outside_cli.push(format!(
                        "{} names `{banned}`",
                        path.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
        if top == "main" || top == "lib" {
            continue;
        }
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(imports(&text).into_iter().filter(|name| *name != top));
    }
    Source {
        graph,
        clap_outside_cli,
    }
}

#[test]
fn every_module_imports_only_its_layer_or_below() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let source = read_source();
    let mut violations = Vec::new();
    for (module, imported) in &source.graph {
        let Some(&layer) = layers.get(module.as_str()) else {
            violations.push(format!(
                "`src/{module}` is in no layer: add it to LAYERS here and to docs/architecture.md"
            ));
            continue;
        };
        for name in imported {
            match layers.get(name.as_str()) {
                Some(&other) if other > layer => violations.push(format!(
                    "`{module}` (layer {layer}) imports `{name}` (layer {other}), a layer above it"
                )),
                Some(_) => {}
                None => {} // not a module of ours (e.g. a macro path); the graph check names ours
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_import_graph_has_no_cycle() {
    let source = read_source();
    // Depth-first search with colours: a grey node met again closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match colour.get(node) {
            Some(1) => {
                let start = path.iter().position(|step| *step == node).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            Some(_) => return None,
            None => {}
        }
        colour.insert(node, 1);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next)
                && let Some(cycle) = visit(next, graph, colour, path)
            {
                return Some(cycle);
            }
        }
        path.pop();
        colour.insert(node, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for node in source.graph.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(node, &source.graph, &mut colour, &mut path) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn nothing_below_cli_sees_the_command_line() {
    let source = read_source();
    assert!(
        source.clap_outside_cli.is_empty(),
        "{}",
        source.clap_outside_cli.join("\n")
    );
}

#[test]
fn exit_codes_sit_at_the_bottom() {
    let source = read_source();
    assert_eq!(source.graph.get("exit"), Some(&BTreeSet::new()));
}

#[test]
fn the_checks_catch_what_they_look_for() {
    // The helpers are what the checks rest on: they must see an import and skip comments.
    assert_eq!(
        imports("use crate::llm::Provider; x(crate::exit::usage(\"\"))"),
        BTreeSet::from(["exit".to_owned(), "llm".to_owned()])
    );
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("a.rs");
    std::fs::write(&file, "//! see crate::cli\nuse crate::config::Settings;\n").unwrap();
    assert_eq!(imports(&code(&file)), BTreeSet::from(["config".to_owned()]));
}
