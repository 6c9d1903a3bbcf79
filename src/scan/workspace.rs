//! Dagger 1.0 workspaces: the `dagger.toml` model (read leniently, written in the shape of
//! Dagger's `dagger-workspace.schema.json`), the `dagger.lock` reader, the scan report's
//! `workspace` section, and [`check_directory`], which maps a `<module>:<check>` name to the
//! directory of the workspace that installed the module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::discover;

/// The workspace config file of Dagger 1.0.
pub const FILE_NAME: &str = "dagger.toml";
/// The lockfile beside it.
pub const LOCK_FILE_NAME: &str = "dagger.lock";

/// Why a workspace file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("invalid dagger.toml: {0}")]
    Invalid(String),
    #[error("invalid dagger.lock at line {line}: {message}")]
    InvalidLock { line: usize, message: String },
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
}

/// One `dagger.toml`, field for field as Dagger's `core/workspace/config.go` has it. Keys this
/// model does not know are kept in `extra` so a rewrite loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConfig {
    #[serde(
        rename = "check-generated",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub check_generated: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignore: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub defaults_from_dotenv: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub modules: BTreeMap<String, ModuleEntry>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub env: BTreeMap<String, EnvOverlay>,
    #[serde(skip_serializing_if = "toml::Table::is_empty", default)]
    pub ports: toml::Table,
    #[serde(flatten)]
    pub extra: toml::Table,
}

/// `[modules.<name>]`: one installed module.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleEntry {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entrypoint: Option<bool>,
    /// Written by migration for modules that still read the repository through `+defaultPath`.
    #[serde(
        rename = "legacy-default-path",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub legacy_default_path: Option<bool>,
    /// Constructor arguments by API name (`goVersion = "1.22"`).
    #[serde(skip_serializing_if = "toml::Table::is_empty", default)]
    pub settings: toml::Table,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub check: Option<ModuleSkip>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub generate: Option<ModuleSkip>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub up: Option<ModuleSkip>,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl ModuleEntry {
    pub fn new(source: impl Into<String>) -> Self {
        ModuleEntry {
            source: source.into(),
            ..ModuleEntry::default()
        }
    }

    /// The `check.skip` patterns.
    pub fn check_skip(&self) -> &[String] {
        self.check
            .as_ref()
            .map(|skip| skip.skip.as_slice())
            .unwrap_or_default()
    }
}

/// `[modules.<name>.check|generate|up]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleSkip {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skip: Vec<String>,
}

/// `[env.<name>]`: an overlay selected with `--env`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvOverlay {
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub modules: BTreeMap<String, EnvModuleOverlay>,
}

/// `[env.<env>.modules.<name>]`: settings over the base, or a module only this env installs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvModuleOverlay {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "toml::Table::is_empty", default)]
    pub settings: toml::Table,
}

/// Parse the text of a `dagger.toml`.
pub fn parse(text: &str) -> Result<WorkspaceConfig, WorkspaceError> {
    toml::from_str(text).map_err(|error| WorkspaceError::Invalid(error.message().to_string()))
}

/// The config as TOML text.
pub fn to_toml_string(config: &WorkspaceConfig) -> Result<String, WorkspaceError> {
    toml::to_string(config).map_err(|error| WorkspaceError::Invalid(error.to_string()))
}

/// The config as a JSON value, the form Dagger's JSON Schema validates.
pub fn to_json(config: &WorkspaceConfig) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
}

/// One `dagger.lock`: one JSON array per line, the first `[["version","2"]]` (or `"1"`, the
/// format whose entries also carry an update policy; Dagger still reads it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub version: String,
    pub entries: Vec<LockEntry>,
}

/// `[scope, operation, inputs, result]` (v2) or `[scope, operation, inputs, result, policy]` (v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockEntry {
    pub scope: String,
    pub operation: String,
    pub inputs: serde_json::Value,
    pub result: serde_json::Value,
    /// The v1 update policy (`pin` or `float`); `None` in v2.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<String>,
}

/// Parse the text of a `dagger.lock`.
pub fn parse_lock(text: &str) -> Result<Lock, WorkspaceError> {
    let mut lock = Lock::default();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let invalid = |message: String| WorkspaceError::InvalidLock {
            line: line_number,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|error| invalid(error.to_string()))?;
        let Some(items) = value.as_array() else {
            return Err(invalid("expected a JSON array".to_string()));
        };
        if lock.version.is_empty() {
            // The header: `[["version","2"]]`.
            let version = items
                .iter()
                .filter_map(serde_json::Value::as_array)
                .find(|pair| pair.first().and_then(serde_json::Value::as_str) == Some("version"))
                .and_then(|pair| pair.get(1))
                .and_then(serde_json::Value::as_str);
            match version {
                Some(version @ ("1" | "2")) => {
                    lock.version = version.to_string();
                    continue;
                }
                Some(version) => {
                    return Err(invalid(format!(
                        "unsupported lock version `{version}` (Dagger reads `1` and `2`)"
                    )));
                }
                None => return Err(invalid("missing the version header".to_string())),
            }
        }
        let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
        match (lock.version.as_str(), items.as_slice()) {
            ("2", [scope, operation, inputs, result]) => lock.entries.push(LockEntry {
                scope: text(scope),
                operation: text(operation),
                inputs: inputs.clone(),
                result: result.clone(),
                policy: None,
            }),
            ("1", [scope, operation, inputs, result, policy]) => lock.entries.push(LockEntry {
                scope: text(scope),
                operation: text(operation),
                inputs: inputs.clone(),
                result: result.clone(),
                policy: Some(text(policy)),
            }),
            ("1", _) => {
                return Err(invalid(
                    "expected [scope, operation, inputs, result, policy] (lock version 1)"
                        .to_string(),
                ));
            }
            _ => {
                return Err(invalid(
                    "expected [scope, operation, inputs, result]".to_string(),
                ));
            }
        }
    }
    Ok(lock)
}

/// The scan report's `workspace` section (CONTRACTS §9): what a `dagger.toml` installs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    /// The directory of the `dagger.toml`, relative to the scanned root (`""` for the root).
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub check_generated: Option<bool>,
    pub modules: Vec<InstalledModule>,
    pub environments: Vec<Environment>,
    /// The `dagger.lock` beside it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lock: Option<LockSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstalledModule {
    pub name: String,
    pub source: String,
    pub pin: Option<String>,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub check_skip: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub generate_skip: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub legacy_default_path: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub entrypoint: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub modules: Vec<EnvironmentModule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentModule {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<String>,
    pub settings: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockSummary {
    pub version: String,
    pub entries: usize,
    /// Every recorded operation with its count (`container.from`, `git.ref`).
    pub operations: BTreeMap<String, usize>,
}

fn json_table(table: &toml::Table) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(table) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

impl Workspace {
    /// The scan section for a parsed config at `path` (relative), with its lock if any.
    pub fn from_config(path: String, config: &WorkspaceConfig, lock: Option<&Lock>) -> Self {
        Workspace {
            path,
            check_generated: config.check_generated,
            modules: config
                .modules
                .iter()
                .map(|(name, entry)| InstalledModule {
                    name: name.clone(),
                    source: entry.source.clone(),
                    pin: entry.pin.clone(),
                    settings: json_table(&entry.settings),
                    check_skip: entry.check_skip().to_vec(),
                    generate_skip: entry
                        .generate
                        .as_ref()
                        .map(|skip| skip.skip.clone())
                        .unwrap_or_default(),
                    legacy_default_path: entry.legacy_default_path.unwrap_or(false),
                    entrypoint: entry.entrypoint.unwrap_or(false),
                })
                .collect(),
            environments: config
                .env
                .iter()
                .map(|(name, overlay)| Environment {
                    name: name.clone(),
                    modules: overlay
                        .modules
                        .iter()
                        .map(|(module, entry)| EnvironmentModule {
                            name: module.clone(),
                            source: entry.source.clone(),
                            pin: entry.pin.clone(),
                            settings: json_table(&entry.settings),
                        })
                        .collect(),
                })
                .collect(),
            lock: lock.map(|lock| {
                let mut operations = BTreeMap::new();
                for entry in &lock.entries {
                    *operations.entry(entry.operation.clone()).or_insert(0) += 1;
                }
                LockSummary {
                    version: lock.version.clone(),
                    entries: lock.entries.len(),
                    operations,
                }
            }),
        }
    }

    pub fn module(&self, name: &str) -> Option<&InstalledModule> {
        self.modules.iter().find(|module| module.name == name)
    }
}

fn read_text(path: &Path) -> Result<Option<String>, WorkspaceError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(WorkspaceError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        }),
    }
}

/// The `dagger.toml` in `dir` (with its `dagger.lock`), or `None` when there is none.
pub fn read_config(dir: &Path) -> Result<Option<(WorkspaceConfig, Option<Lock>)>, WorkspaceError> {
    let Some(text) = read_text(&dir.join(FILE_NAME))? else {
        return Ok(None);
    };
    let config = parse(&text)?;
    let lock = match read_text(&dir.join(LOCK_FILE_NAME))? {
        Some(text) => Some(parse_lock(&text)?),
        None => None,
    };
    Ok(Some((config, lock)))
}

/// The scan section for the `dagger.toml` directly in `root`, if any.
pub fn read_workspace(root: &Path) -> Result<Option<Workspace>, WorkspaceError> {
    Ok(read_config(root)?
        .map(|(config, lock)| Workspace::from_config(String::new(), &config, lock.as_ref())))
}

/// Every `dagger.toml` under `root` (the root's own first, then nested per-directory workspaces
/// by depth and path), outside dependency and VCS directories. Unreadable ones are skipped.
pub fn find_workspaces(root: &Path) -> Vec<(PathBuf, WorkspaceConfig)> {
    const SKIPPED: &[&str] = &[
        ".git",
        "node_modules",
        ".venv",
        "venv",
        "target",
        "__pycache__",
    ];
    let mut found: Vec<(PathBuf, WorkspaceConfig)> =
        discover::files_outside(walkdir::WalkDir::new(root), SKIPPED)
            .filter(|entry| entry.file_name() == FILE_NAME)
            .filter_map(|entry| {
                let dir = entry.path().parent()?.to_path_buf();
                let text = std::fs::read_to_string(entry.path()).ok()?;
                let config = parse(&text).ok()?;
                Some((dir, config))
            })
            .collect();
    found.sort_by_key(|(dir, _)| (dir.components().count(), dir.clone()));
    found
}

/// The directory of the workspace that installed the module a check belongs to. `check` is a
/// name as `dagger check` prints it, `<module>:<check>` (deeper paths keep the module first);
/// `workspace` is the repository root or any workspace directory. The nearest `dagger.toml`
/// (the root's before nested ones) installing that module wins, environment-only modules
/// included. `None` when no workspace installs it or the name has no module part.
pub fn check_directory(workspace: &Path, check: &str) -> Option<PathBuf> {
    // A name that is not `<module>:<check>` maps nowhere: no need to walk the tree.
    split_check(check)?;
    check_directory_among(&find_workspaces(workspace), check)
}

/// `<module>:<check>` → (module, check).
fn split_check(check: &str) -> Option<(&str, &str)> {
    check
        .trim()
        .split_once(':')
        .filter(|(module, rest)| !module.is_empty() && !rest.is_empty())
}

/// [`check_directory`] among workspaces already found ([`find_workspaces`]), for a caller that
/// maps several checks.
pub fn check_directory_among(
    workspaces: &[(PathBuf, WorkspaceConfig)],
    check: &str,
) -> Option<PathBuf> {
    let (module, rest) = split_check(check)?;
    let installing: Vec<&(PathBuf, WorkspaceConfig)> = workspaces
        .iter()
        .filter(|(_, config)| {
            config.modules.contains_key(module)
                || config
                    .env
                    .values()
                    .any(|overlay| overlay.modules.contains_key(module))
        })
        .collect();
    // A module may be installed in several workspaces, each skipping the checks that belong to
    // another: the check runs where it is not skipped.
    let runs_there = |config: &WorkspaceConfig| {
        config
            .modules
            .get(module)
            .and_then(|entry| entry.check.as_ref())
            .is_none_or(|check| {
                !check
                    .skip
                    .iter()
                    .any(|skipped| super::model::same_name(skipped, rest))
            })
    };
    installing
        .iter()
        .find(|(_, config)| runs_there(config))
        .or(installing.first())
        .map(|(dir, _)| dir.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::write;

    const DAGGER_TOML: &str = r#"
check-generated = true

[modules.golang]
source = "github.com/dagger/go@5683fb4f7e2e909a453eba727fb982077d5d11b5"
legacy-default-path = true

[modules.golang.settings]
generate = "docs/current_docs/reference"
test = "e2e/**"

[modules.golang.check]
skip = ["lint-*"]

[modules.dev]
source = ".dagger/modules/dev"

[env.dev.modules.editor]
source = "github.com/vito/editor"

[env.ci.modules.golang.settings]
test = "./..."

[modules.dagger-go-sdk]
source = "github.com/dagger/go-sdk"

[modules.dagger-go-sdk.as-sdk]
name = "go"

[[modules.dagger-go-sdk.as-sdk.modules]]
path = "modules/alpine"
"#;

    #[test]
    fn reads_modules_settings_skips_and_environments() {
        let config = parse(DAGGER_TOML).unwrap();
        let workspace = Workspace::from_config(String::new(), &config, None);
        assert_eq!(workspace.check_generated, Some(true));
        let names: Vec<&str> = workspace.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["dagger-go-sdk", "dev", "golang"]);
        let golang = workspace.module("golang").unwrap();
        assert!(golang.legacy_default_path);
        assert_eq!(golang.check_skip, ["lint-*"]);
        assert_eq!(golang.settings["test"], "e2e/**");
        assert_eq!(workspace.environments.len(), 2);
        assert_eq!(workspace.environments[1].name, "dev");
        assert_eq!(
            workspace.environments[1].modules[0].source.as_deref(),
            Some("github.com/vito/editor")
        );
        // Unknown keys (`as-sdk`) survive a rewrite.
        let again = parse(&to_toml_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn reads_the_v2_lock() {
        let lock = parse_lock(
            "[[\"version\",\"2\"]]\n[\"\",\"container.from\",[\"docker.io/library/busybox:latest\",\"linux/amd64\"],\"sha256:dc2d\"]\n[\"\",\"git.ref\",[\"https://github.com/dagger/go-sdk\",\"HEAD\"],{\"ref\":\"refs/heads/main\",\"sha\":\"9b6c\"}]\n",
        )
        .unwrap();
        assert_eq!(lock.version, "2");
        assert_eq!(lock.entries.len(), 2);
        assert_eq!(lock.entries[1].operation, "git.ref");
        assert_eq!(lock.entries[1].result["sha"], "9b6c");
        assert!(parse_lock("[\"\",\"git.ref\"]\n").is_err());
    }

    #[test]
    fn reads_the_v1_lock_whose_entries_carry_a_policy() {
        // Version 1 entries have a fifth element, the update policy (`pin` or `float`); Dagger
        // still reads them (and migrates them), so a v1 lock must not make the workspace
        // unreadable.
        let lock = parse_lock(
            "[[\"version\",\"1\"]]\n[\"\",\"git.head\",[\"https://example.com/acme/tools\"],\"0a1b\",\"float\"]\n[\"\",\"git.ref\",[\"https://example.com/acme/go\",\"main\"],\"2c3d\",\"pin\"]\n",
        )
        .unwrap();
        assert_eq!(lock.version, "1");
        assert_eq!(lock.entries.len(), 2);
        assert_eq!(lock.entries[0].operation, "git.head");
        assert_eq!(lock.entries[0].result, "0a1b");
        assert_eq!(lock.entries[0].policy.as_deref(), Some("float"));
        assert_eq!(lock.entries[1].policy.as_deref(), Some("pin"));
        // The arity follows the version: four elements in v1, five in v2, are both wrong.
        assert!(parse_lock("[[\"version\",\"1\"]]\n[\"\",\"git.ref\",[],\"2c3d\"]\n").is_err());
        assert!(
            parse_lock("[[\"version\",\"2\"]]\n[\"\",\"git.ref\",[],\"2c3d\",\"pin\"]\n").is_err()
        );
        // A version Dagger does not know is refused, with the version in the message.
        let error = parse_lock("[[\"version\",\"9\"]]\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("`9`"), "{error}");
    }

    #[test]
    fn a_v1_lock_beside_the_dagger_toml_keeps_the_workspace_readable() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join(FILE_NAME),
            "[modules.tools]\nsource = \"github.com/acme/tools\"\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join(LOCK_FILE_NAME),
            "[[\"version\",\"1\"]]\n[\"\",\"git.head\",[\"https://github.com/acme/tools\"],\"0a1b\",\"float\"]\n",
        )
        .unwrap();
        let workspace = read_workspace(root.path()).unwrap().unwrap();
        assert_eq!(workspace.modules[0].name, "tools");
        let lock = workspace.lock.unwrap();
        assert_eq!(lock.version, "1");
        assert_eq!(lock.operations["git.head"], 1);
    }

    #[test]
    fn maps_checks_to_the_workspace_that_installed_their_module() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| write(root.path(), path, text);
        write("dagger.toml", "[modules.docs]\nsource = \"./docs-ci\"\n");
        write(
            "backend/dagger.toml",
            "[modules.backend]\nsource = \"github.com/acme/m/backend@v1\"\n",
        );
        write(
            "frontend/dagger.toml",
            "[modules.frontend]\nsource = \"github.com/acme/m/frontend@v1\"\n",
        );
        write(
            "node_modules/x/dagger.toml",
            "[modules.stray]\nsource = \"x\"\n",
        );
        assert_eq!(
            check_directory(root.path(), "backend:test"),
            Some(root.path().join("backend"))
        );
        assert_eq!(
            check_directory(root.path(), "frontend:lint:eslint"),
            Some(root.path().join("frontend"))
        );
        assert_eq!(
            check_directory(root.path(), "docs:build"),
            Some(root.path().to_path_buf())
        );
        assert_eq!(check_directory(root.path(), "stray:x"), None);
        assert_eq!(check_directory(root.path(), "unknown:test"), None);
        assert_eq!(check_directory(root.path(), "test"), None);
    }
}
