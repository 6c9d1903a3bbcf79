//! The project's Dagger set-up, read deterministically for `explain`, `debug` and `review`: each
//! `dagger.json` (the 0.x module format, which 1.x still loads with a warning), `dagger.toml`
//! workspace with its `dagger.lock` (1.x) and `dagger-module.toml` (a 1.x module), what each
//! installs and pins, and which of them do not parse. The model starts from these facts in either
//! format instead of finding them, or missing them, file by file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::quote_list;
use crate::scan::{dagger_json, module_toml, workspace};

/// Directories never searched: dependencies, build output, VCS data.
const SKIPPED_DIRECTORIES: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "target",
    "dist",
    "build",
    "__pycache__",
    "vendor",
    "site-packages",
];
/// The 0.x module config.
const MODULE_FILE: &str = "dagger.json";
/// How deep below the project root config files are looked for.
const MAX_DEPTH: usize = 6;
/// At most this many config files are described; the rest are counted.
const MAX_FILES: usize = 40;

/// One Dagger config file of the project.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    /// Relative to the project root, with `/`.
    pub path: String,
    pub facts: Facts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    /// A `dagger.json`.
    Module(Box<dagger_json::DaggerJson>),
    /// A `dagger-module.toml`.
    ModuleToml(Box<module_toml::ModuleToml>),
    /// A `dagger.toml`, with its `dagger.lock` when there is one (or why it does not parse).
    Workspace {
        config: Box<workspace::WorkspaceConfig>,
        lock: Lock,
    },
    /// The file does not parse: what the parser said.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lock {
    Missing,
    Entries(usize),
}

/// The Dagger set-up of a project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Setup {
    pub files: Vec<ConfigFile>,
    /// Config files found beyond [`MAX_FILES`].
    pub more: usize,
}

impl Setup {
    /// Read every Dagger config file under `root`.
    pub fn read(root: &Path) -> Setup {
        let walker = walkdir::WalkDir::new(root).max_depth(MAX_DEPTH);
        let mut paths: Vec<PathBuf> =
            crate::scan::discover::files_outside(walker, SKIPPED_DIRECTORIES)
                .filter(|entry| {
                    [MODULE_FILE, workspace::FILE_NAME, module_toml::FILE_NAME]
                        .iter()
                        .any(|name| entry.file_name() == *name)
                })
                .map(walkdir::DirEntry::into_path)
                .collect();
        // The root's files first, then by depth and path.
        paths.sort_by_key(|path| (path.components().count(), path.clone()));
        let more = paths.len().saturating_sub(MAX_FILES);
        let files = paths
            .iter()
            .take(MAX_FILES)
            .map(|path| ConfigFile {
                path: crate::scan::discover::relative(root, path),
                facts: read_facts(path),
            })
            .collect();
        Setup { files, more }
    }

    /// Which engine the files are for, in a sentence.
    fn engine(&self) -> &'static str {
        let has = |wanted: fn(&Facts) -> bool| self.files.iter().any(|file| wanted(&file.facts));
        let workspaces = has(|facts| matches!(facts, Facts::Workspace { .. }))
            || has(|facts| matches!(facts, Facts::ModuleToml(_)));
        let modules = has(|facts| matches!(facts, Facts::Module(_)));
        match (workspaces, modules) {
            (true, true) => {
                "both formats: `dagger.toml` workspaces (Dagger 1.x) and `dagger.json` files \
                 (0.x, which 1.x loads with a warning); the project may be half migrated"
            }
            (true, false) => "Dagger 1.x: `dagger.toml` workspaces",
            (false, true) => "Dagger 0.x: `dagger.json` (1.x loads it with a warning)",
            (false, false) => "none found",
        }
    }

    /// The set-up as a Markdown section for a prompt.
    pub fn render(&self) -> String {
        if self.files.is_empty() {
            return "No `dagger.json`, `dagger.toml` or `dagger-module.toml` in the project.\n"
                .to_owned();
        }
        let mut text = format!("Format: {}.\n\n", self.engine());
        for file in &self.files {
            let _ = write!(text, "- `{}`: ", file.path);
            match &file.facts {
                Facts::Module(config) => describe_module(&mut text, config),
                Facts::ModuleToml(config) => describe_module_toml(&mut text, config),
                Facts::Workspace { config, lock } => describe_workspace(&mut text, config, lock),
                Facts::Invalid(error) => {
                    let _ = write!(text, "DOES NOT PARSE: {error}");
                }
            }
            text.push('\n');
        }
        if self.more > 0 {
            let _ = writeln!(text, "- … and {} more config files, not listed", self.more);
        }
        text
    }
}

fn read_facts(path: &Path) -> Facts {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => return Facts::Invalid(format!("cannot be read: {error}")),
    };
    let name = path.file_name().and_then(|name| name.to_str());
    if name == Some(MODULE_FILE) {
        return match dagger_json::parse(&text) {
            Ok(config) => Facts::Module(Box::new(config)),
            Err(error) => Facts::Invalid(error.to_string()),
        };
    }
    if name == Some(module_toml::FILE_NAME) {
        return match module_toml::parse(&text) {
            Ok(config) => Facts::ModuleToml(Box::new(config)),
            Err(error) => Facts::Invalid(error.to_string()),
        };
    }
    let config = match workspace::parse(&text) {
        Ok(config) => config,
        Err(error) => return Facts::Invalid(error.to_string()),
    };
    let lock_path = path.with_file_name(workspace::LOCK_FILE_NAME);
    let lock = match std::fs::read_to_string(&lock_path) {
        Err(_) => Lock::Missing,
        Ok(text) => match workspace::parse_lock(&text) {
            Ok(lock) => Lock::Entries(lock.entries.len()),
            Err(error) => {
                return Facts::Invalid(format!("its `dagger.lock` does not parse: {error}"));
            }
        },
    };
    Facts::Workspace {
        config: Box::new(config),
        lock,
    }
}

fn quoted(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_owned(), |value| format!("`{value}`"))
}

fn describe_module(text: &mut String, config: &dagger_json::DaggerJson) {
    let _ = write!(
        text,
        "module `{}`, engine {}, SDK {}",
        config.name,
        quoted(config.engine_version.as_deref()),
        quoted(config.sdk_source())
    );
    if let Some(source) = &config.source {
        let _ = write!(text, ", source `{source}`");
    }
    for (kind, list) in [
        ("toolchain", &config.toolchains),
        ("dependency", &config.dependencies),
    ] {
        for dependency in list {
            let _ = write!(
                text,
                "\n  - {kind} `{}` from `{}`, pin {}",
                dependency.name,
                dependency.source,
                quoted(dependency.pin.as_deref())
            );
            for customization in &dependency.customizations {
                let _ = write!(
                    text,
                    "; customizes {}",
                    serde_json::to_string(customization).unwrap_or_default()
                );
            }
            if !dependency.ignore_checks.is_empty() {
                let _ = write!(
                    text,
                    "; skips checks {}",
                    quote_list(&dependency.ignore_checks)
                );
            }
        }
    }
}

fn describe_module_toml(text: &mut String, config: &module_toml::ModuleToml) {
    let _ = write!(
        text,
        "1.x module `{}`, engine {}, source {}, {} dependencies",
        config.name,
        quoted(config.engine_version.as_deref()),
        quoted(config.source.as_deref()),
        config.dependencies.len()
    );
}

fn describe_workspace(text: &mut String, config: &workspace::WorkspaceConfig, lock: &Lock) {
    text.push_str("1.x workspace");
    match lock {
        Lock::Missing => text.push_str(
            ", no `dagger.lock` beside it (the first `dagger check` there writes one, to commit)",
        ),
        Lock::Entries(count) => {
            let _ = write!(text, ", `dagger.lock` with {count} entries");
        }
    }
    for (name, module) in &config.modules {
        let _ = write!(
            text,
            "\n  - module `{name}` from `{}`, pin {}",
            module.source,
            quoted(module.pin.as_deref())
        );
        if !module.settings.is_empty() {
            let _ = write!(text, "; settings {}", quote_list(module.settings.keys()));
        }
        if !module.check_skip().is_empty() {
            let _ = write!(text, "; skips checks {}", quote_list(module.check_skip()));
        }
        if module.legacy_default_path == Some(true) {
            text.push_str("; legacy-default-path");
        }
    }
    if !config.env.is_empty() {
        let _ = write!(text, "\n  - environments {}", quote_list(config.env.keys()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    #[test]
    fn a_0x_project_lists_its_toolchains_pins_customizations_and_skips() {
        let dir = project(&[
            (
                "dagger.json",
                r#"{"name": "shop", "engineVersion": "v0.19.2", "toolchains": [
                    {"name": "python", "source": "github.com/acme/lib/python@v1.2.0",
                     "pin": "0123abc", "ignoreChecks": ["lint"],
                     "customizations": [{"argument": "source", "defaultPath": "/backend"}]}]}"#,
            ),
            ("node_modules/x/dagger.json", "{broken"),
        ]);
        let text = Setup::read(dir.path()).render();
        assert!(text.starts_with("Format: Dagger 0.x"), "{text}");
        assert!(
            text.contains("- `dagger.json`: module `shop`, engine `v0.19.2`, SDK none"),
            "{text}"
        );
        assert!(
            text.contains(
                "toolchain `python` from `github.com/acme/lib/python@v1.2.0`, pin `0123abc`"
            ),
            "{text}"
        );
        assert!(text.contains("\"defaultPath\":\"/backend\""), "{text}");
        assert!(text.contains("skips checks `lint`"), "{text}");
        assert!(!text.contains("node_modules"), "{text}");
    }

    #[test]
    fn a_1x_project_lists_its_workspaces_locks_and_what_does_not_parse() {
        let dir = project(&[
            (
                "dagger.toml",
                "[modules.go]\nsource = \"github.com/acme/lib/go\"\npin = \"abc\"\n\
                 settings = { goVersion = \"1.23\" }\ncheck = { skip = [\"lint\"] }\n",
            ),
            ("dagger.lock", "[[\"version\",\"2\"]]\n"),
            ("backend/dagger.toml", "[modules.python\nsource = 1\n"),
            (
                "ci/dagger-module.toml",
                "name = \"ci\"\nengineVersion = \"v1.0.0\"\nsource = \".\"\n",
            ),
        ]);
        let setup = Setup::read(dir.path());
        let paths: Vec<&str> = setup.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dagger.toml",
                "backend/dagger.toml",
                "ci/dagger-module.toml"
            ]
        );
        let text = setup.render();
        assert!(text.starts_with("Format: Dagger 1.x"), "{text}");
        assert!(
            text.contains("- `dagger.toml`: 1.x workspace, `dagger.lock` with 0 entries"),
            "{text}"
        );
        assert!(
            text.contains(
                "module `go` from `github.com/acme/lib/go`, pin `abc`; settings `goVersion`; skips checks `lint`"
            ),
            "{text}"
        );
        assert!(
            text.contains("- `backend/dagger.toml`: DOES NOT PARSE: "),
            "{text}"
        );
        assert!(
            text.contains("- `ci/dagger-module.toml`: 1.x module `ci`, engine `v1.0.0`"),
            "{text}"
        );
    }

    #[test]
    fn both_formats_and_none() {
        let dir = project(&[("dagger.json", r#"{"name": "old"}"#), ("dagger.toml", "")]);
        let text = Setup::read(dir.path()).render();
        assert!(text.starts_with("Format: both formats"), "{text}");
        assert!(
            text.contains(
                "no `dagger.lock` beside it (the first `dagger check` there writes one, to commit)"
            ),
            "{text}"
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            Setup::read(empty.path()).render(),
            "No `dagger.json`, `dagger.toml` or `dagger-module.toml` in the project.\n"
        );
    }
}
