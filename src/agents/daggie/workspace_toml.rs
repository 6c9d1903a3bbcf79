//! daggie's Dagger 1.0 output: which config format a Dagger version reads (`--dagger-version
//! VERSION|auto`), and the `dagger.toml` workspaces equivalent to a set of toolchains, whether
//! they come from daggie's plan or from a project's `dagger.json` (`daggie migrate`).
//!
//! Toolchain customizations map onto 1.0 as follows (Dagger's `core/workspace/migrate.go` drops
//! what is function-scoped; this keeps it):
//! - a constructor `default` becomes `[modules.<name>.settings]`, typed from the module's scan;
//! - a `defaultPath` (constructor or per check) scopes the module to that directory: it is
//!   installed in a per-directory workspace (`<dir>/dagger.toml`) with `legacy-default-path =
//!   true`, and the module's checks that read another directory are skipped there (and run from
//!   the workspace of their own directory), so every check runs exactly once;
//! - `ignoreChecks`/`ignoreGenerators`/`ignoreServices` become `check`/`generate`/`up` skips;
//! - a function-scoped `default`, and any `ignore` or `defaultAddress`, have no 1.0 equivalent:
//!   they are reported, never silently dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::catalog::Catalog;
use super::plan::Plan;
use super::project::Project;
use crate::scan::dagger_json::{Customization, Dependency};
use crate::scan::model::{Module, same_name};
use crate::scan::workspace::{self, ModuleEntry, ModuleSkip, WorkspaceConfig};

/// The config format a Dagger version reads and daggie writes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetFormat {
    /// `dagger.json` toolchains: engines v0.19.8 – v0.21.x (1.0 still reads it, with a warning).
    DaggerJson,
    /// `dagger.toml` workspaces: Dagger 1.0 (beta.3 onward).
    Workspace,
}

/// The Dagger version daggie targets and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaggerVersion {
    /// `v1.0.0`, `v0.20.3`; `None` when nothing tells (the render picks the modules' newest).
    pub version: Option<String>,
    pub format: TargetFormat,
    pub reason: String,
}

/// Where `auto` looks, in order (injected so tests need no `dagger` binary).
pub struct AutoSources<'a> {
    /// The output of `dagger version`, when a `dagger` is on `PATH`.
    pub installed: Option<String>,
    pub project_root: &'a Path,
    /// The newest `engineVersion` among the library's modules.
    pub library_newest: Option<String>,
}

/// `v1.0.0` for `1.0.0`, `v1.0.0-beta.10` kept; `None` for anything that is not semver.
pub fn normalize(version: &str) -> Option<String> {
    let trimmed = version.trim().trim_start_matches('v');
    semver::Version::parse(trimmed)
        .ok()
        .map(|parsed| format!("v{parsed}"))
}

/// The format a version reads: 1.x (pre-releases included) is a workspace engine.
pub fn format_for(version: &str) -> TargetFormat {
    match semver::Version::parse(version.trim().trim_start_matches('v')) {
        Ok(parsed) if parsed.major >= 1 => TargetFormat::Workspace,
        _ => TargetFormat::DaggerJson,
    }
}

/// The version in `dagger version` output (`dagger v0.20.3 (image://…) linux/amd64`).
pub fn parse_dagger_version_output(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .filter(|word| {
            word.strip_prefix('v')
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .find_map(normalize)
}

/// `dagger version` from `PATH`, if a `dagger` runs.
pub fn installed_dagger_version() -> Option<String> {
    let output = std::process::Command::new("dagger")
        .arg("version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Resolve `--dagger-version`: an explicit version, or `auto` (the installed `dagger`, else the
/// project's config — a `dagger.toml` means 1.0 —, else the library's newest `engineVersion`,
/// else `dagger.json`, which both engines read).
pub fn resolve(flag: &str, auto: &AutoSources<'_>) -> anyhow::Result<DaggerVersion> {
    let flag = flag.trim();
    if !flag.eq_ignore_ascii_case("auto") {
        let version = normalize(flag).ok_or_else(|| {
            crate::exit::usage(format!(
                "`--dagger-version {flag}` is neither a version (`1.0.0`, `v0.20.3`) nor `auto`"
            ))
        })?;
        return Ok(DaggerVersion {
            format: format_for(&version),
            reason: format!("`--dagger-version {flag}`"),
            version: Some(version),
        });
    }
    if let Some(version) = auto
        .installed
        .as_deref()
        .and_then(parse_dagger_version_output)
    {
        return Ok(DaggerVersion {
            format: format_for(&version),
            reason: format!("the `dagger` on `PATH` is {version}"),
            version: Some(version),
        });
    }
    if auto.project_root.join(workspace::FILE_NAME).is_file() {
        return Ok(DaggerVersion {
            version: auto
                .library_newest
                .as_deref()
                .filter(|version| format_for(version) == TargetFormat::Workspace)
                .and_then(normalize),
            format: TargetFormat::Workspace,
            reason: "the project already has a `dagger.toml` (Dagger 1.0)".to_string(),
        });
    }
    if auto.project_root.join("dagger.json").is_file() {
        return Ok(DaggerVersion {
            version: None,
            format: TargetFormat::DaggerJson,
            reason: "the project already has a `dagger.json`".to_string(),
        });
    }
    if let Some(version) = auto.library_newest.as_deref().and_then(normalize) {
        return Ok(DaggerVersion {
            format: format_for(&version),
            reason: format!("the library's newest `engineVersion` is {version}"),
            version: Some(version),
        });
    }
    Ok(DaggerVersion {
        version: None,
        format: TargetFormat::DaggerJson,
        reason: "no Dagger version is known; `dagger.json` is read by every engine".to_string(),
    })
}

/// One file to write, relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputFile {
    pub path: String,
    pub content: String,
}

/// The workspaces equivalent to a set of toolchains.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conversion {
    /// Workspace directory (`""` for the root, else `backend`) → its config.
    #[serde(skip)]
    pub workspaces: BTreeMap<String, WorkspaceConfig>,
    /// Per workspace directory, why modules are there (written as comments).
    #[serde(skip)]
    pub comments: BTreeMap<String, Vec<String>>,
    /// What has no 1.0 equivalent and needs a hand.
    pub unexpressible: Vec<String>,
    /// Per workspace directory, the `dagger.toml` on disk the config was merged into: it is
    /// written in that file's layout, comments included.
    #[serde(skip)]
    pub on_disk: BTreeMap<String, String>,
}

impl Conversion {
    /// The workspace directories, root first: where `dagger check` runs.
    pub fn directories(&self) -> Vec<String> {
        self.workspaces.keys().cloned().collect()
    }

    /// Merge each workspace into the `dagger.toml` already under `root`, keeping what a person
    /// wrote there ([`super::merge::merge_workspace`]); a file that cannot be read is replaced,
    /// and the returned notes say so.
    pub fn keep_hand_edits(&mut self, root: &Path, previous: Option<&Plan>) -> Vec<String> {
        let mut notes = Vec::new();
        for (directory, config) in &mut self.workspaces {
            let path = workspace_file(directory);
            let Ok(text) = std::fs::read_to_string(root.join(&path)) else {
                continue;
            };
            match workspace::parse(&text) {
                Ok(existing) => {
                    *config = super::merge::merge_workspace(&existing, config, previous);
                    self.on_disk.insert(directory.clone(), text);
                }
                Err(error) => notes.push(format!(
                    "`{path}` cannot be read ({error}); it is replaced, not merged"
                )),
            }
        }
        notes
    }

    /// Every `dagger.toml` as text, root first.
    pub fn files(&self) -> anyhow::Result<Vec<OutputFile>> {
        let mut files = Vec::new();
        for (directory, config) in &self.workspaces {
            let generated =
                workspace::to_toml_string(config).context("cannot write `dagger.toml`")?;
            if let Some(on_disk) = self.on_disk.get(directory)
                && let Ok(content) = crate::support::toml_layout::keep_format(on_disk, &generated)
            {
                files.push(OutputFile {
                    path: workspace_file(directory),
                    content,
                });
                continue;
            }
            let mut content = String::new();
            content.push_str(&format!(
                "# Generated by `agentci daggie`. Dagger 1.0 workspace; run `dagger update` to \
                 refresh `{}`\n# and commit it with this file.\n",
                workspace::LOCK_FILE_NAME
            ));
            for comment in self.comments.get(directory).into_iter().flatten() {
                content.push_str(&format!("# {comment}\n"));
            }
            content.push('\n');
            content.push_str(&generated);
            files.push(OutputFile {
                path: workspace_file(directory),
                content,
            });
        }
        Ok(files)
    }
}

/// `dagger.toml` or `backend/dagger.toml`.
pub fn workspace_file(directory: &str) -> String {
    if directory.is_empty() {
        workspace::FILE_NAME.to_string()
    } else {
        format!("{directory}/{}", workspace::FILE_NAME)
    }
}

/// `/backend`, `./backend/`, `backend` → `backend`; `/` and `.` → `""`.
fn scope_directory(path: &str) -> String {
    path.trim()
        .trim_start_matches("./")
        .trim_matches('/')
        .trim_start_matches('.')
        .trim_matches('/')
        .to_string()
}

/// A setting value typed the way the module's argument is (`Boolean`, `Int`, `Float`, lists as
/// JSON), a string otherwise.
fn setting_value(text: &str, argument_type: Option<&str>) -> toml::Value {
    let parsed = || serde_json::from_str::<serde_json::Value>(text).ok();
    match argument_type {
        Some("Boolean") => match text.trim() {
            "true" => return toml::Value::Boolean(true),
            "false" => return toml::Value::Boolean(false),
            _ => {}
        },
        Some("Int") => {
            if let Ok(number) = text.trim().parse::<i64>() {
                return toml::Value::Integer(number);
            }
        }
        Some("Float") => {
            if let Ok(number) = text.trim().parse::<f64>() {
                return toml::Value::Float(number);
            }
        }
        Some(kind) if kind.starts_with('[') => {
            if let Some(serde_json::Value::Array(items)) = parsed() {
                let values: Vec<toml::Value> = items
                    .iter()
                    .map(|item| match item {
                        serde_json::Value::String(text) => toml::Value::String(text.clone()),
                        other => toml::Value::String(other.to_string()),
                    })
                    .collect();
                return toml::Value::Array(values);
            }
        }
        _ => {}
    }
    // A JSON-encoded string default (`"\"3.12\""`) is written as the string itself.
    if let Some(serde_json::Value::String(inner)) = parsed()
        && text.trim_start().starts_with('"')
    {
        return toml::Value::String(inner);
    }
    toml::Value::String(text.to_string())
}

fn describe(customization: &Customization) -> String {
    if customization.function.is_empty() {
        format!("constructor argument `{}`", customization.argument)
    } else {
        format!(
            "`{}` argument `{}`",
            customization.function.join("."),
            customization.argument
        )
    }
}

/// Convert toolchains to workspaces. `modules` gives each toolchain's scanned module by
/// toolchain name, when known: its checks (to skip the right ones per directory), whether it
/// still uses `+defaultPath`, and its constructor argument types (to type settings).
pub fn convert(toolchains: &[Dependency], modules: &BTreeMap<String, &Module>) -> Conversion {
    let mut conversion = Conversion::default();
    for toolchain in toolchains {
        let module = modules.get(&toolchain.name).copied();
        let mut settings = toml::Table::new();
        // Function cli name (or chain) → the directory its customizations scope it to.
        let mut function_scope: BTreeMap<String, String> = BTreeMap::new();
        let mut module_scope: Option<String> = None;
        let mut function_defaults: BTreeMap<String, Vec<(&Customization, String)>> =
            BTreeMap::new();
        for customization in &toolchain.customizations {
            if !customization.ignore.is_empty() {
                conversion.unexpressible.push(format!(
                    "{}: `ignore` patterns on {} have no workspace equivalent; the module must \
                     filter its input itself (a `Workspace` argument with `exclude`)",
                    toolchain.name,
                    describe(customization)
                ));
            }
            if customization.default_address.is_some() {
                conversion.unexpressible.push(format!(
                    "{}: `defaultAddress` on {} has no workspace equivalent",
                    toolchain.name,
                    describe(customization)
                ));
            }
            if let Some(path) = &customization.default_path {
                let directory = scope_directory(path);
                if customization.function.is_empty() {
                    module_scope = Some(directory);
                } else {
                    function_scope.insert(customization.function.join("."), directory);
                }
            }
            if let Some(default) = &customization.default {
                if customization.function.is_empty() {
                    let argument_type = module
                        .and_then(|module| {
                            module.customization_target(&[], &customization.argument)
                        })
                        .map(|argument| argument.r#type.as_str());
                    settings.insert(
                        customization.argument.clone(),
                        setting_value(default, argument_type),
                    );
                } else {
                    function_defaults
                        .entry(customization.argument.clone())
                        .or_default()
                        .push((customization, default.clone()));
                }
            }
        }
        // A function-scoped default becomes a setting only when the constructor takes the same
        // argument and every function agrees on the value.
        for (argument, defaults) in function_defaults {
            let constructor_argument =
                module.and_then(|module| module.customization_target(&[], &argument));
            let values: BTreeSet<&str> = defaults.iter().map(|(_, value)| value.as_str()).collect();
            match constructor_argument {
                Some(target) if values.len() == 1 && !settings.contains_key(&argument) => {
                    let value = defaults[0].1.as_str();
                    settings.insert(
                        target.name.clone(),
                        setting_value(value, Some(target.r#type.as_str())),
                    );
                }
                _ => {
                    for (customization, value) in defaults {
                        conversion.unexpressible.push(format!(
                            "{}: default `{value}` for {} is function-scoped; workspace settings \
                             set constructor arguments only",
                            toolchain.name,
                            describe(customization)
                        ));
                    }
                }
            }
        }
        // Checks: from the scan when known, else the customized functions.
        let checks: Vec<String> = match module {
            Some(module) => module.checks.clone(),
            None => function_scope.keys().cloned().collect(),
        };
        let uses_default_path = match module {
            Some(module) => {
                module
                    .constructor
                    .iter()
                    .chain(
                        module
                            .functions
                            .iter()
                            .flat_map(|function| function.args.iter()),
                    )
                    .any(|argument| argument.default_path.is_some())
                    || !function_scope.is_empty()
                    || module_scope.is_some()
            }
            None => !function_scope.is_empty() || module_scope.is_some(),
        };
        let default_directory = module_scope.clone().unwrap_or_default();
        // Directory → the checks that run there.
        let mut placement: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for check in &checks {
            let directory = function_scope
                .iter()
                .find(|(function, _)| same_name(function, check))
                .map(|(_, directory)| directory.clone())
                .unwrap_or_else(|| default_directory.clone());
            placement
                .entry(directory)
                .or_default()
                .insert(check.clone());
        }
        for (function, directory) in &function_scope {
            if !checks.iter().any(|check| same_name(function, check)) {
                // A customized function that is no check (a deploy helper): it still reads
                // that directory when called from that workspace.
                placement.entry(directory.clone()).or_default();
            }
        }
        if placement.is_empty() {
            placement.insert(default_directory.clone(), BTreeSet::new());
        }
        let directories: Vec<String> = placement.keys().cloned().collect();
        for (directory, here) in &placement {
            let mut entry = ModuleEntry::new(rebase_local(&toolchain.source, directory));
            entry.pin = toolchain.pin.clone();
            if uses_default_path {
                entry.legacy_default_path = Some(true);
            }
            entry.settings = settings.clone();
            let mut skip: Vec<String> = toolchain.ignore_checks.clone();
            if directories.len() > 1 {
                skip.extend(
                    checks
                        .iter()
                        .filter(|check| !here.contains(*check))
                        .cloned(),
                );
            }
            skip.sort();
            skip.dedup();
            if !skip.is_empty() {
                entry.check = Some(ModuleSkip { skip });
            }
            if !toolchain.ignore_generators.is_empty() {
                entry.generate = Some(ModuleSkip {
                    skip: toolchain.ignore_generators.clone(),
                });
            }
            if !toolchain.ignore_services.is_empty() {
                entry.up = Some(ModuleSkip {
                    skip: toolchain.ignore_services.clone(),
                });
            }
            let shown = if directory.is_empty() {
                "the repository root".to_string()
            } else {
                format!("/{directory}")
            };
            let comment = if here.is_empty() {
                format!("{}: reads {shown}", toolchain.name)
            } else {
                format!(
                    "{}: {} read{} {shown}",
                    toolchain.name,
                    here.iter().cloned().collect::<Vec<_>>().join(", "),
                    if here.len() == 1 { "s" } else { "" }
                )
            };
            conversion
                .comments
                .entry(directory.clone())
                .or_default()
                .push(comment);
            conversion
                .workspaces
                .entry(directory.clone())
                .or_default()
                .modules
                .insert(toolchain.name.clone(), entry);
        }
    }
    for config in conversion.workspaces.values_mut() {
        config.check_generated = Some(true);
    }
    conversion
}

/// A local module path (relative to the project root) as seen from a nested workspace: Dagger
/// resolves a local `source` from the directory of its `dagger.toml`. Git refs and absolute
/// paths are kept.
fn rebase_local(source: &str, directory: &str) -> String {
    let first = source.split('/').next().unwrap_or_default();
    let is_git = source.contains("://")
        || (!source.starts_with('.') && !source.starts_with('/') && first.contains('.'));
    if is_git || source.starts_with('/') || directory.is_empty() {
        return source.to_string();
    }
    let depth = directory.split('/').filter(|part| !part.is_empty()).count();
    let relative = source.trim_start_matches("./");
    format!("{}{relative}", "../".repeat(depth))
}

/// The toolchains of a daggie plan, as `render` would write them into `dagger.json`.
pub fn plan_toolchains(
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
) -> anyhow::Result<(Vec<Dependency>, BTreeMap<String, Module>)> {
    let mut toolchains = Vec::new();
    let mut modules = BTreeMap::new();
    for toolchain in &plan.toolchains {
        let (dependency, library) =
            super::render::toolchain_dependency(toolchain, catalog, project)?;
        modules.insert(toolchain.name.clone(), library.module.clone());
        // Ignored checks become the workspace's `check.skip`, as `dagger.json` has them.
        toolchains.push(dependency.with_ignore_checks(toolchain.ignore_checks.iter().cloned()));
    }
    Ok((toolchains, modules))
}

/// The 1.x files for a plan: every `dagger.toml`, and the workflow adjusted to run
/// `dagger check` in each workspace.
pub fn render_workspaces(
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
    workflow: &str,
) -> anyhow::Result<(Vec<OutputFile>, String, Conversion)> {
    let (conversion, workflow) = workspaces(plan, catalog, project, workflow)?;
    let files = conversion.files()?;
    Ok((files, workflow, conversion))
}

/// The workspaces for a plan, and the workflow adjusted to run `dagger check` in each.
fn workspaces(
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
    workflow: &str,
) -> anyhow::Result<(Conversion, String)> {
    let (toolchains, modules) = plan_toolchains(plan, catalog, project)?;
    let borrowed: BTreeMap<String, &Module> = modules
        .iter()
        .map(|(name, module)| (name.clone(), module))
        .collect();
    let conversion = convert(&toolchains, &borrowed);
    let workflow = workflow_for_workspaces(workflow, &conversion.directories()).replace(
        "# the engineVersion in dagger.json",
        "# the Dagger version the dagger.toml files are written for",
    );
    Ok((conversion, workflow))
}

/// The workflow's `dagger check` line, run once per workspace directory when there are nested
/// workspaces (each `dagger check` loads the nearest `dagger.toml`).
pub fn workflow_for_workspaces(workflow: &str, directories: &[String]) -> String {
    let nested: Vec<&String> = directories
        .iter()
        .filter(|directory| !directory.is_empty())
        .collect();
    if nested.is_empty() {
        return workflow.to_string();
    }
    let mut out = String::new();
    for line in workflow.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let check_command = ["dagger --progress=report check", "dagger check"]
            .into_iter()
            .find(|command| trimmed.starts_with(&format!("{command} 2>&1 | tee ")));
        if let Some(command) = check_command {
            let indent = &line[..line.len() - trimmed.len()];
            let log = trimmed
                .trim_end()
                .rsplit(' ')
                .next()
                .unwrap_or(super::render::CHECK_LOG);
            out.push_str(&format!(
                "{indent}# One `dagger check` per workspace: each loads the nearest dagger.toml.\n"
            ));
            out.push_str(&format!("{indent}status=0\n"));
            out.push_str(&format!("{indent}: > {log}\n"));
            for directory in directories {
                let shown = if directory.is_empty() { "." } else { directory };
                out.push_str(&format!(
                    "{indent}(cd {shown} && {command}) 2>&1 | tee -a {log} || status=1\n"
                ));
            }
            out.push_str(&format!("{indent}exit \"$status\"\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The files `assist` writes (path, content) and the notes for the user.
pub type AssistOutputs = (Vec<(String, String)>, Vec<String>);

/// `--dagger-version` for `assist`: `None` keeps the `dagger.json` output without probing; a
/// version or `auto` is resolved against the project and the plan's modules. A 1.x target
/// without a known version is refused: the workflow must pin one.
pub fn assist_target(
    flag: Option<&str>,
    project: &Project,
    plan: &Plan,
    catalog: &Catalog,
) -> anyhow::Result<Option<DaggerVersion>> {
    let Some(flag) = flag else {
        return Ok(None);
    };
    let installed = if flag.trim().eq_ignore_ascii_case("auto") {
        installed_dagger_version()
    } else {
        None
    };
    let target = resolve(
        flag,
        &AutoSources {
            installed,
            project_root: &project.root,
            library_newest: super::render::newest_engine_version(plan, catalog).ok(),
        },
    )?;
    if target.format == TargetFormat::Workspace && target.version.is_none() {
        return Err(crate::exit::usage(format!(
            "{} but no Dagger 1.x version is known to pin in the workflow; pass              `--dagger-version 1.x.y`",
            target.reason
        )));
    }
    Ok(Some(target))
}

/// The files `assist` writes for its target: `dagger.json` and the workflow as rendered, or, for
/// 1.x, every `dagger.toml` and the workflow running `dagger check` in each workspace. The
/// second value holds what the user must know (unexpressible customizations, the lockfile).
pub fn assist_outputs(
    target: Option<&DaggerVersion>,
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
    rendered: &super::render::Rendered,
    previous: Option<&Plan>,
) -> anyhow::Result<AssistOutputs> {
    if target.is_none_or(|target| target.format == TargetFormat::DaggerJson) {
        return Ok((
            vec![
                (
                    super::DAGGER_JSON_PATH.to_string(),
                    rendered.dagger_json.clone(),
                ),
                (super::WORKFLOW_PATH.to_string(), rendered.workflow.clone()),
            ],
            Vec::new(),
        ));
    }
    let (mut conversion, workflow) = workspaces(plan, catalog, project, &rendered.workflow)?;
    let mut notes = conversion.keep_hand_edits(&project.root, previous);
    let mut outputs: Vec<(String, String)> = conversion
        .files()?
        .into_iter()
        .map(|file| (file.path, file.content))
        .collect();
    outputs.push((super::WORKFLOW_PATH.to_string(), workflow));
    notes.append(&mut conversion.unexpressible);
    notes.push(format!(
        "Dagger {} reads `dagger.toml`: the first `dagger check` in each workspace writes its `dagger.lock`; commit it, and refresh it with `dagger update`",
        rendered.engine_version
    ));
    if project.root.join(super::DAGGER_JSON_PATH).is_file() {
        notes.push(
            "the project's `dagger.json` still lists toolchains; `agentci daggie migrate` \
             converts them, or remove them now that `dagger.toml` installs the modules"
                .to_string(),
        );
    }
    Ok((outputs, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::model::{Argument, Function};

    fn argument(name: &str, kind: &str, default_path: Option<&str>) -> Argument {
        Argument {
            name: name.into(),
            cli_name: name.into(),
            r#type: kind.into(),
            optional: default_path.is_some(),
            default: None,
            default_path: default_path.map(str::to_string),
            ignore: Vec::new(),
            doc: None,
            default_address: None,
        }
    }

    fn module(name: &str, checks: &[&str]) -> Module {
        Module {
            name: name.into(),
            functions: checks
                .iter()
                .map(|check| Function {
                    name: (*check).into(),
                    cli_name: (*check).into(),
                    check: true,
                    generate: false,
                    doc: None,
                    returns: "String".into(),
                    args: vec![argument("source", "Directory", Some("/"))],
                })
                .collect(),
            constructor: vec![argument("pythonVersion", "String", None), {
                let mut coverage = argument("coverage", "Boolean", None);
                coverage.optional = true;
                coverage
            }],
            checks: checks.iter().map(|check| check.to_string()).collect(),
            ..Module::default()
        }
    }

    #[test]
    fn resolves_versions_explicitly_and_automatically() {
        // Resolve with no `dagger` on `PATH`.
        let without_dagger = |version: &str, root: &Path, library_newest: Option<&str>| {
            resolve(
                version,
                &AutoSources {
                    installed: None,
                    project_root: root,
                    library_newest: library_newest.map(Into::into),
                },
            )
        };
        let root = tempfile::tempdir().unwrap();
        let explicit = without_dagger("1.0.0", root.path(), None).unwrap();
        assert_eq!(explicit.version.as_deref(), Some("v1.0.0"));
        assert_eq!(explicit.format, TargetFormat::Workspace);
        assert_eq!(format_for("v1.0.0-beta.10"), TargetFormat::Workspace);
        assert_eq!(format_for("v0.21.8"), TargetFormat::DaggerJson);
        assert!(without_dagger("latest", root.path(), None).is_err());
        let installed = resolve(
            "auto",
            &AutoSources {
                installed: Some(
                    "dagger v1.0.0-beta.10 (image://registry.dagger.io/engine:v1.0.0-beta.10) linux/amd64\n"
                        .into(),
                ),
                project_root: root.path(),
                library_newest: Some("v0.20.3".into()),
            },
        )
        .unwrap();
        assert_eq!(installed.version.as_deref(), Some("v1.0.0-beta.10"));
        let library = without_dagger("auto", root.path(), Some("v0.20.3")).unwrap();
        assert_eq!(library.format, TargetFormat::DaggerJson);
        std::fs::write(root.path().join("dagger.toml"), "").unwrap();
        let existing = without_dagger("auto", root.path(), Some("v0.20.3")).unwrap();
        assert_eq!(existing.format, TargetFormat::Workspace);
        assert_eq!(existing.version, None);
        let empty = tempfile::tempdir().unwrap();
        let unknown = without_dagger("auto", empty.path(), None).unwrap();
        assert_eq!(unknown.format, TargetFormat::DaggerJson);
    }

    #[test]
    fn scopes_per_check_paths_to_per_directory_workspaces() {
        let backend = module("corp-backend", &["lint", "test"]);
        let mixed = module("corp-deploy", &["scan", "smoke"]);
        let toolchains = vec![
            Dependency::new(
                "corp-backend",
                "github.com/corp/m/corp-backend@corp-backend/v1.0.0",
            )
            .with_pin("303ec6a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6")
            .with_customization(
                Customization::new("source")
                    .on(["test"])
                    .with_default_path("/backend"),
            )
            .with_customization(
                Customization::new("source")
                    .on(["lint"])
                    .with_default_path("/backend"),
            )
            .with_customization(Customization::new("pythonVersion").with_default("3.12"))
            .with_customization(
                Customization::new("coverage")
                    .on(["test"])
                    .with_default("true"),
            )
            .with_ignore_checks(["slow-*"]),
            Dependency::new(
                "corp-deploy",
                "github.com/corp/m/corp-deploy@corp-deploy/v1.0.0",
            )
            .with_customization(
                Customization::new("source")
                    .on(["scan"])
                    .with_default_path("/backend"),
            )
            .with_customization(
                Customization::new("region")
                    .on(["deploy"])
                    .with_default("eu"),
            ),
        ];
        let modules: BTreeMap<String, &Module> = [
            ("corp-backend".to_string(), &backend),
            ("corp-deploy".to_string(), &mixed),
        ]
        .into_iter()
        .collect();
        let conversion = convert(&toolchains, &modules);
        assert_eq!(conversion.directories(), ["", "backend"]);
        let backend_workspace = &conversion.workspaces["backend"];
        let entry = &backend_workspace.modules["corp-backend"];
        assert_eq!(entry.legacy_default_path, Some(true));
        assert_eq!(
            entry.pin.as_deref(),
            Some("303ec6a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6")
        );
        assert_eq!(
            entry.settings["pythonVersion"],
            toml::Value::String("3.12".into())
        );
        assert_eq!(entry.settings["coverage"], toml::Value::Boolean(true));
        assert_eq!(entry.check_skip(), ["slow-*"]);
        // `scan` reads /backend, `smoke` the root: each runs in exactly one workspace.
        assert_eq!(
            backend_workspace.modules["corp-deploy"].check_skip(),
            ["smoke"]
        );
        assert_eq!(
            conversion.workspaces[""].modules["corp-deploy"].check_skip(),
            ["scan"]
        );
        assert_eq!(conversion.unexpressible.len(), 1);
        assert!(conversion.unexpressible[0].contains("`deploy` argument `region`"));
        let files = conversion.files().unwrap();
        assert_eq!(files[1].path, "backend/dagger.toml");
        assert!(
            files[1]
                .content
                .contains("# corp-backend: lint, test read /backend")
        );
    }

    #[test]
    fn local_sources_are_rebased_for_nested_workspaces() {
        assert_eq!(rebase_local("modules/lint", "backend"), "../modules/lint");
        assert_eq!(
            rebase_local("./modules/lint", "apps/web"),
            "../../modules/lint"
        );
        assert_eq!(
            rebase_local("../shared/lint", "backend"),
            "../../shared/lint"
        );
        assert_eq!(rebase_local("modules/lint", ""), "modules/lint");
        assert_eq!(
            rebase_local("github.com/acme/m/lint@v1", "backend"),
            "github.com/acme/m/lint@v1"
        );
        assert_eq!(rebase_local("/opt/lint", "backend"), "/opt/lint");
    }

    #[test]
    fn runs_dagger_check_once_per_workspace() {
        let workflow = "      - name: Run the checks\n        run: |\n          set -o pipefail\n          dagger check 2>&1 | tee dagger-check.log\n\n";
        let adjusted =
            workflow_for_workspaces(workflow, &["backend".to_string(), "frontend".to_string()]);
        assert!(adjusted.contains(
            "          (cd backend && dagger check) 2>&1 | tee -a dagger-check.log || status=1\n"
        ));
        assert!(adjusted.contains("          (cd frontend && dagger check)"));
        assert!(adjusted.contains("          exit \"$status\"\n"));
        let report = workflow.replace("dagger check", "dagger --progress=report check");
        let adjusted =
            workflow_for_workspaces(&report, &["backend".to_string(), "frontend".to_string()]);
        assert!(adjusted.contains("(cd backend && dagger --progress=report check) 2>&1"));
        assert_eq!(
            workflow_for_workspaces(workflow, &[String::new()]),
            workflow
        );
    }
}
