//! Finding modules in a tree: every `dagger-module.toml` (Dagger 1.0) or `dagger.json`, outside dependency and generated directories,
//! with its role (library module, example, test) and the directory its SDK sources live in.

use std::path::{Component, Path, PathBuf};

use super::dagger_json;
use super::model::{ConfigFormat, Role, ScanError};
use super::module_toml;

/// A module config found in the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// The directory holding the config file.
    pub dir: PathBuf,
    /// `dagger-module.toml` when the directory has one (it wins over `dagger.json`, as in the
    /// engine), else `dagger.json`.
    pub format: ConfigFormat,
    /// That directory relative to the scanned root, `/`-separated (`""` for the root).
    pub path: String,
    pub role: Role,
}

/// Directories that never hold a module of the library: dependencies, caches, VCS data.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".gradle",
    ".idea",
    "target",
];

/// The files of `walker`, sorted by name, outside directories named in `skipped` (the root itself
/// is always entered); unreadable entries are passed over.
pub fn files_outside<'a>(
    walker: walkdir::WalkDir,
    skipped: &'a [&str],
) -> impl Iterator<Item = walkdir::DirEntry> + 'a {
    walker
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |entry| {
            entry.depth() == 0
                || !entry.file_type().is_dir()
                || !entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| skipped.contains(&name))
        })
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
}

/// Every module under `root` (a directory with `dagger-module.toml` or `dagger.json`, one module
/// when it has both), sorted by path. Unreadable directories become errors; the
/// walk goes on. `.gitignore` rules apply inside git checkouts.
pub fn discover(root: &Path) -> (Vec<Discovered>, Vec<ScanError>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .ignore(false)
        .parents(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
            !(is_dir && entry.depth() > 0 && is_skipped_dir(entry.path()))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                errors.push(ScanError {
                    source: relative(root, error_path(&error).unwrap_or(root)),
                    message: format!("cannot read: {error}"),
                });
                continue;
            }
        };
        let format = if entry.file_name() == module_toml::FILE_NAME {
            ConfigFormat::ModuleToml
        } else if entry.file_name() == "dagger.json" {
            ConfigFormat::DaggerJson
        } else {
            continue;
        };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let Some(dir) = entry.path().parent() else {
            continue;
        };
        // The engine reads `dagger-module.toml` first: a `dagger.json` beside it is legacy.
        if format == ConfigFormat::DaggerJson && dir.join(module_toml::FILE_NAME).is_file() {
            continue;
        }
        let path = relative(root, dir);
        found.push(Discovered {
            dir: dir.to_path_buf(),
            format,
            role: classify(&path),
            path,
        });
    }
    found.sort_by(|left, right| left.path.cmp(&right.path));
    (found, errors)
}

/// The role of a module from its path relative to the scanned root: anything under a test
/// directory is a test module, anything under `examples/` an example.
pub fn classify(path: &str) -> Role {
    let segments: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let is_test = segments.iter().any(|segment| {
        matches!(
            *segment,
            "test" | "tests" | "testdata" | "test-data" | "__tests__" | "e2e" | "integration-tests"
        )
    });
    if is_test {
        return Role::Test;
    }
    if segments
        .iter()
        .any(|segment| matches!(*segment, "examples" | "example"))
    {
        return Role::Example;
    }
    Role::Module
}

/// The directory holding a module's SDK sources: `source` from `dagger.json`, relative to it.
pub fn source_dir(module_dir: &Path, file: &dagger_json::DaggerJson) -> PathBuf {
    let source = file.source_dir();
    if source == "." {
        module_dir.to_path_buf()
    } else {
        module_dir.join(source)
    }
}

/// `path` relative to `root`, `/`-separated, `""` for the root itself.
pub fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_skipped_dir(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    if SKIPPED_DIRS.contains(&name) {
        return true;
    }
    let parent = path.parent();
    // Go's generated client: `internal/dagger` (and `internal/querybuilder`, `internal/telemetry`)
    // next to a module's `dagger.gen.go`.
    if name == "internal"
        && let Some(parent) = parent
        && parent.join("dagger.gen.go").is_file()
    {
        return true;
    }
    if name == "sdk"
        && let Some(parent) = parent
    {
        return is_generated_sdk(parent);
    }
    false
}

/// A module's generated SDK sits in `<source dir>/sdk`: the parent is a module whose `source` is
/// itself, or the `source` directory of the module above it. The dagger repository's own
/// top-level `sdk/` (real modules) is neither.
fn is_generated_sdk(parent: &Path) -> bool {
    let owns_as_source = |module_dir: &Path, expected: &Path| -> bool {
        let Some(file) = read_config(module_dir) else {
            return false;
        };
        file.sdk.is_some() && normalise(&source_dir(module_dir, &file)) == normalise(expected)
    };
    if owns_as_source(parent, parent) {
        return true;
    }
    parent
        .parent()
        .is_some_and(|grandparent| owns_as_source(grandparent, parent))
}

/// The module config in `module_dir` in the `dagger.json` shape: `dagger-module.toml` first.
pub fn read_config(module_dir: &Path) -> Option<dagger_json::DaggerJson> {
    if let Ok(text) = std::fs::read_to_string(module_dir.join(module_toml::FILE_NAME)) {
        return module_toml::parse(&text)
            .ok()
            .map(|file| file.to_dagger_json());
    }
    let text = std::fs::read_to_string(module_dir.join("dagger.json")).ok()?;
    dagger_json::parse(&text).ok()
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::write;

    #[test]
    fn classifies_by_path() {
        assert_eq!(classify(""), Role::Module);
        assert_eq!(classify("acme-backend"), Role::Module);
        assert_eq!(classify("examples/go"), Role::Example);
        assert_eq!(classify("trivy/tests"), Role::Test);
        assert_eq!(classify("core/integration/testdata/checks"), Role::Test);
        assert_eq!(classify("latest-examples"), Role::Module);
    }

    #[test]
    fn skips_generated_and_dependency_dirs() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| write(root.path(), path, text);
        let module = r#"{"name":"m","sdk":{"source":"python"}}"#;
        write("m/dagger.json", module);
        write("m/sdk/dagger.json", module);
        write("m/node_modules/x/dagger.json", module);
        write(
            "t/dagger.json",
            r#"{"name":"t","sdk":{"source":"typescript"},"source":".dagger"}"#,
        );
        write("t/.dagger/sdk/dagger.json", module);
        write("sdk/python/dagger.json", module);
        write("examples/e/dagger.json", module);
        write("w/dagger.json", module);
        write(
            "w/dagger-module.toml",
            "name = \"w\"\n[runtime]\nsource = \"dang\"\n",
        );
        write(
            "d/dagger-module.toml",
            "name = \"d\"\n[runtime]\nsource = \"python\"\n",
        );
        write("d/sdk/dagger-module.toml", "name = \"x\"\n");
        let (found, errors) = discover(root.path());
        assert!(errors.is_empty());
        let paths: Vec<(&str, Role)> = found.iter().map(|d| (d.path.as_str(), d.role)).collect();
        assert_eq!(
            paths,
            [
                ("d", Role::Module),
                ("examples/e", Role::Example),
                ("m", Role::Module),
                ("sdk/python", Role::Module),
                ("t", Role::Module),
                ("w", Role::Module)
            ]
        );
        let formats: Vec<ConfigFormat> = found.iter().map(|d| d.format).collect();
        assert_eq!(formats[0], ConfigFormat::ModuleToml);
        assert_eq!(formats[2], ConfigFormat::DaggerJson);
        assert_eq!(formats[5], ConfigFormat::ModuleToml);
    }
}
