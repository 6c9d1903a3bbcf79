//! daggie: writes a project's toolchain-only `dagger.json` and `.github/workflows/ci.yml` from a
//! Dagger module library. This file runs `assist` end to end: project → catalog → plan →
//! validation → rendering → write, diff or staleness check.
//!
//! The planner and the scanner are passed in, so the same pipeline serves `--offline` (the
//! deterministic [`offline`] planner), the model (a planner that drives `submit_plan`), and
//! tests (hand-built catalogs).
//!
//! A command line arrives as a [`request::DaggieRequest`]; [`verbs`] runs it (choosing the
//! planner, the rendering choices, or the model verbs `explain`, `debug`, `review`) and returns a
//! [`request::DaggieResult`] for `cli` to print.

pub mod catalog;
pub mod installed;
pub mod merge;
pub mod migrate;
pub mod model;
pub mod offline;
pub mod plan;
pub mod project;
pub mod record;
pub mod render;
pub mod request;
pub mod setup;
pub mod verbs;
pub mod versions;
pub mod workspace_toml;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::scan::ScanReport;
use catalog::Catalog;
use plan::{Plan, Proposal};
use project::Project;
use render::{RenderOptions, Rendered};

/// Where generated files go, relative to `--source`.
pub const DAGGER_JSON_PATH: &str = "dagger.json";
pub const WORKFLOW_PATH: &str = ".github/workflows/ci.yml";

/// A `--module-url`, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// A local directory holding one or more modules.
    Directory(PathBuf),
    /// A git URL in one of the forms of CONTRACTS §4.1.
    Git(String),
}

impl ModuleSource {
    /// A directory that exists, else a git URL, else a usage error.
    pub fn parse(text: &str) -> anyhow::Result<ModuleSource> {
        let path = Path::new(text);
        if path.is_dir() {
            return Ok(ModuleSource::Directory(path.to_path_buf()));
        }
        if crate::scan::git::parse_source(text).is_some() {
            return Ok(ModuleSource::Git(text.to_string()));
        }
        Err(crate::exit::usage(format!(
            "module URL `{text}` is neither a directory nor a git URL \
             (`https://github.com/owner/repo.git`, `github.com/owner/repo[/path][@ref]`)"
        )))
    }
}

impl std::fmt::Display for ModuleSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleSource::Directory(path) => write!(formatter, "{}", path.display()),
            ModuleSource::Git(url) => formatter.write_str(url),
        }
    }
}

/// Lower-case words, split on anything that is not a letter or digit (so `cloud_run`,
/// `acme-backend` and `ruff.toml` give their parts).
pub(crate) fn words(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Names in backticks, joined with `separator`: `` `a`, `b` ``.
pub(crate) fn quoted<T: std::fmt::Display>(
    names: impl IntoIterator<Item = T>,
    separator: &str,
) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Names in backticks, comma-separated.
pub(crate) fn quote_list<T: std::fmt::Display>(names: impl IntoIterator<Item = T>) -> String {
    quoted(names, ", ")
}

/// Reads a module library: the scanner in production, a fixture in tests.
pub type Scanner<'a> = &'a dyn Fn(&ModuleSource) -> anyhow::Result<ScanReport>;

/// What a planner sees.
pub struct PlanInput<'a> {
    pub assignment: &'a str,
    pub project: &'a Project,
    pub catalog: &'a Catalog,
}

impl PlanInput<'_> {
    /// Everything a model needs to plan, as compact text: the assignment, the project (stacks,
    /// context files) and the catalog.
    pub fn describe(&self) -> String {
        format!(
            "# Assignment\n{}\n\n# Project\n{}\n# Module catalog\n{}",
            self.assignment.trim(),
            self.project.context_summary(),
            self.catalog.render_text()
        )
    }
}

/// Turns the inputs into a plan: [`offline_planner`], or the model through `submit_plan`.
pub type Planner<'a> = &'a dyn Fn(&PlanInput<'_>) -> anyhow::Result<Proposal>;

/// The deterministic planner of `--offline`.
pub fn offline_planner(input: &PlanInput<'_>) -> anyhow::Result<Proposal> {
    Ok(offline::plan(
        input.assignment,
        input.project,
        input.catalog,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputMode {
    /// Write the files into `--source`.
    #[default]
    Write,
    /// Print a unified diff, write nothing.
    DryRun,
    /// Compare with the files on disk, write nothing.
    Check,
}

#[derive(Debug, Clone)]
pub struct AssistOptions {
    pub assignment: String,
    pub source: PathBuf,
    pub module_urls: Vec<String>,
    pub mode: OutputMode,
    pub render: RenderOptions,
    /// Replace a workflow file daggie did not generate, and let the plan win over hand edits
    /// of `dagger.json` that conflict with it.
    pub force: bool,
    /// Choices made before planning (action versions, provider), for the reasons.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Already as generated.
    Unchanged,
    /// Written (new or changed).
    Written,
    /// Would be created (`--dry-run`) or is missing (`--check`).
    Missing,
    /// Would change (`--dry-run`) or is stale (`--check`).
    Stale,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub status: FileStatus,
}

/// Everything `assist` decided and did.
#[derive(Debug, Clone, Serialize)]
pub struct AssistReport {
    pub project: Project,
    pub plan: Plan,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub engine_version: String,
    pub variables: Vec<String>,
    pub secrets: Vec<String>,
    pub mode: OutputMode,
    pub files: Vec<FileReport>,
    /// The unified diff with `--dry-run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    #[serde(skip)]
    pub rendered: Option<Rendered>,
}

impl AssistReport {
    /// Files that differ from what would be generated.
    pub fn stale_files(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|file| matches!(file.status, FileStatus::Missing | FileStatus::Stale))
            .map(|file| file.path.as_str())
            .collect()
    }

    /// With `--check`, an error (exit 1) naming the files that are out of date.
    pub fn ensure_current(&self) -> anyhow::Result<()> {
        let stale = self.stale_files();
        if self.mode == OutputMode::Check && !stale.is_empty() {
            return Err(crate::exit::negative(format!(
                "{} out of date; run `agentci daggie assist` without `--check` to regenerate",
                quoted(stale, " and ")
            )));
        }
        Ok(())
    }

    /// A short account of every choice and what the user must set up.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        text.push_str(&self.project.summary());
        text.push_str("\nToolchains:\n");
        for toolchain in &self.plan.toolchains {
            text.push_str(&format!(
                "- {} (module `{}`, {} customization(s))\n",
                toolchain.name,
                toolchain.module,
                toolchain.customizations.len()
            ));
        }
        text.push_str(&format!("engineVersion: {}\n", self.engine_version));
        text.push_str("\nWhy:\n");
        for reason in &self.reasons {
            text.push_str(&format!("- {reason}\n"));
        }
        if !self.warnings.is_empty() {
            text.push_str("\nWarnings:\n");
            for warning in &self.warnings {
                text.push_str(&format!("- {warning}\n"));
            }
        }
        if !self.variables.is_empty() {
            text.push_str(&format!(
                "\nSet these repository variables (Settings → Secrets and variables → Actions → \
                 Variables): {}\n",
                self.variables.join(", ")
            ));
        }
        let secrets: Vec<&str> = self
            .secrets
            .iter()
            .map(String::as_str)
            .filter(|secret| *secret != "GITHUB_TOKEN")
            .collect();
        if !secrets.is_empty() {
            text.push_str(&format!(
                "Set these repository secrets: {}\n",
                secrets.join(", ")
            ));
        }
        text.push('\n');
        for file in &self.files {
            let status = match (self.mode, file.status) {
                (_, FileStatus::Unchanged) => "unchanged",
                (_, FileStatus::Written) => "written",
                (OutputMode::Check, FileStatus::Missing) => "missing",
                (OutputMode::Check, FileStatus::Stale) => "stale",
                (_, FileStatus::Missing) => "would be created",
                (_, FileStatus::Stale) => "would change",
            };
            text.push_str(&format!("{}: {status}\n", file.path));
        }
        text
    }
}

/// Run `daggie assist`. Nothing is written unless every step before writing succeeded.
pub fn run_assist(
    options: &AssistOptions,
    scan: Scanner<'_>,
    planner: Planner<'_>,
) -> anyhow::Result<AssistReport> {
    if options.assignment.trim().is_empty() {
        return Err(crate::exit::usage(
            "the assignment is empty; pass `--assignment TEXT`, `--assignment-file FILE` or `-`",
        ));
    }
    let project = Project::detect(&options.source)?;
    let catalog = load_catalog(&options.module_urls, scan)?;
    let mut warnings = catalog.warnings.clone();
    if let Some(prefix) = &project.repository_prefix {
        warnings.push(format!(
            "`{}` is the subdirectory `{prefix}` of a git repository: Dagger resolves default \
             paths from the repository root and GitHub reads workflows only from the root's \
             `.github/workflows`",
            options.source.display()
        ));
    }

    let input = PlanInput {
        assignment: &options.assignment,
        project: &project,
        catalog: &catalog,
    };
    let proposal = planner(&input)?;
    if let Err(problems) = plan::validate(&proposal.plan, &catalog, &project) {
        return Err(crate::exit::usage(format!(
            "the plan does not fit the catalog or the project:\n- {}",
            problems.join("\n- ")
        )));
    }
    let mut proposal = proposal;
    let installed = installed::read(&project);
    let renamed = installed::adopt_names(&mut proposal.plan, &installed, &catalog, &project.root);
    proposal.reasons.extend(renamed);
    let mut render_options = options.render.clone();
    if render_options.engine_version.is_none()
        && let Some(existing) = &project.existing_engine_version
    {
        // A project already on a newer engine than the modules need stays there: lowering it
        // could break whatever else the team runs with that engine.
        let newest = render::newest_engine_version(&proposal.plan, &catalog)?;
        if render::is_newer(existing, &newest) {
            proposal.reasons.push(format!(
                "engineVersion stays at {existing}, the existing dagger.json's, which is newer \
                 than the modules' {newest}"
            ));
            render_options.engine_version = Some(existing.clone());
        }
    }
    // Dagger 1.x (`--dagger-version`): the workflow pins that version and `dagger.toml`
    // workspaces replace `dagger.json`.
    let target = workspace_toml::assist_target(
        render_options.dagger_version.as_deref(),
        &project,
        &proposal.plan,
        &catalog,
    )?;
    if let Some(target) = target
        .as_ref()
        .filter(|target| target.format == workspace_toml::TargetFormat::Workspace)
    {
        proposal.reasons.push(format!(
            "`dagger.toml` workspaces for Dagger 1.x: {}",
            target.reason
        ));
        render_options.engine_version.clone_from(&target.version);
    }
    let rendered = render::render(&proposal.plan, &catalog, &project, &render_options)?;
    warnings.extend(render::development_engines(
        &proposal.plan,
        &catalog,
        &rendered.engine_version,
    ));
    if let Some(existing) = &project.existing_engine_version
        && existing != &rendered.engine_version
    {
        warnings.push(format!(
            "engineVersion changes from {existing} to {}",
            rendered.engine_version
        ));
    }

    let previous = record::Recorded::read(&options.source);
    let writes_dagger_json = target
        .as_ref()
        .is_none_or(|target| target.format == workspace_toml::TargetFormat::DaggerJson);
    let existing = std::fs::read_to_string(options.source.join(DAGGER_JSON_PATH))
        .ok()
        .filter(|_| writes_dagger_json);
    let dagger_json = match existing {
        Some(existing) => {
            let merged = merge::merge(
                &existing,
                &rendered.dagger_json,
                previous.as_ref().map(|recorded| &recorded.plan),
            )
            .map_err(|error| {
                crate::exit::usage(format!(
                    "the existing `{DAGGER_JSON_PATH}` cannot be read: {error}"
                ))
            })?;
            if !merged.conflicts.is_empty() {
                if options.mode == OutputMode::Write && !options.force {
                    let mut patch = diffy::DiffOptions::new();
                    patch
                        .set_original_filename(format!("a/{DAGGER_JSON_PATH}"))
                        .set_modified_filename(format!("b/{DAGGER_JSON_PATH}"));
                    let diff = patch.create_patch(&existing, &merged.text).to_string();
                    return Err(crate::exit::negative(format!(
                        "`{DAGGER_JSON_PATH}` has hand edits that conflict with the plan:\n- {}\n\
                         Nothing was written. Keep them by changing the assignment, or pass \
                         `--force` to let the plan win (other hand edits are kept). The change \
                         would be:\n{diff}",
                        merged.conflicts.join("\n- ")
                    )));
                }
                warnings.extend(
                    merged
                        .conflicts
                        .iter()
                        .map(|conflict| format!("hand edit overridden by the plan: {conflict}")),
                );
            }
            merged.text
        }
        None => rendered.dagger_json.clone(),
    };
    // The file daggie writes is the plan merged into the user's hand edits.
    let rendered = render::Rendered {
        dagger_json,
        ..rendered
    };
    let (outputs, notes) = workspace_toml::assist_outputs(
        target.as_ref(),
        &proposal.plan,
        &catalog,
        &project,
        &rendered,
        previous.as_ref().map(|recorded| &recorded.plan),
    )?;
    warnings.extend(notes);
    let mut files = Vec::new();
    let mut diff = String::new();
    let mut to_write = Vec::new();
    for (path, content) in &outputs {
        let (path, content) = (path.as_str(), content.as_str());
        let full = options.source.join(path);
        let current = match std::fs::read_to_string(&full) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(error).with_context(|| format!("failed to read `{}`", full.display()));
            }
        };
        if options.mode == OutputMode::Write
            && !options.force
            && path == WORKFLOW_PATH
            && let Some(text) = &current
            && text != content
            && !text.starts_with(render::GENERATED_MARKER)
        {
            return Err(crate::exit::usage(format!(
                "`{}` exists and was not generated by daggie; look at the change with \
                 `--dry-run`, then pass `--force` to replace it",
                full.display()
            )));
        }
        let status = match &current {
            Some(text) if text == content => FileStatus::Unchanged,
            Some(_) => FileStatus::Stale,
            None => FileStatus::Missing,
        };
        if status != FileStatus::Unchanged {
            match options.mode {
                OutputMode::DryRun => {
                    let mut patch = diffy::DiffOptions::new();
                    let original = if current.is_some() {
                        format!("a/{path}")
                    } else {
                        "/dev/null".to_string()
                    };
                    patch
                        .set_original_filename(original)
                        .set_modified_filename(format!("b/{path}"));
                    let original_text = current.as_deref().unwrap_or_default();
                    diff.push_str(&patch.create_patch(original_text, content).to_string());
                }
                OutputMode::Write => to_write.push((full, content)),
                OutputMode::Check => {}
            }
        }
        let status = if options.mode == OutputMode::Write && status != FileStatus::Unchanged {
            FileStatus::Written
        } else {
            status
        };
        files.push(FileReport {
            path: path.to_string(),
            status,
        });
    }
    let staged: Vec<(&Path, &[u8])> = to_write
        .iter()
        .map(|(path, content)| (path.as_path(), content.as_bytes()))
        .collect();
    crate::support::write_files_atomically(&staged)?;

    let mut reasons = options.notes.clone();
    reasons.extend(proposal.reasons);
    Ok(AssistReport {
        project,
        plan: proposal.plan,
        reasons,
        warnings,
        engine_version: rendered.engine_version.clone(),
        variables: rendered.variables.clone(),
        secrets: rendered.secrets.clone(),
        mode: options.mode,
        files,
        diff: (options.mode == OutputMode::DryRun).then_some(diff),
        rendered: Some(rendered),
    })
}

/// Scan every `--module-url` into one catalog of library modules. An unreadable source, a
/// library with no modules, or one with no checks is a usage error.
pub fn load_catalog(module_urls: &[String], scan: Scanner<'_>) -> anyhow::Result<Catalog> {
    if module_urls.is_empty() {
        return Err(crate::exit::usage(
            "no module library given; pass `--module-url URL|DIR` (repeatable)",
        ));
    }
    let mut catalog = Catalog::default();
    for url in module_urls {
        let source = ModuleSource::parse(url)?;
        let report = scan(&source).map_err(|error| {
            crate::exit::usage(format!("cannot read the module library `{url}`: {error:#}"))
        })?;
        for error in &report.errors {
            catalog
                .warnings
                .push(format!("{}: {}", error.source, error.message));
        }
        let root = match &source {
            ModuleSource::Directory(path) => Some(path.as_path()),
            ModuleSource::Git(_) => None,
        };
        catalog.add(url, root, report.modules);
    }
    if catalog.modules.is_empty() {
        return Err(crate::exit::usage(format!(
            "no library module (a `dagger.json` outside examples and tests) found in {}",
            quote_list(module_urls)
        )));
    }
    if !catalog.has_checks() {
        // Checks on objects a function returns (`checks:lint`) run under `dagger check`, but
        // their directory comes from that function, which a plan cannot customize.
        let nested: Vec<&String> = catalog
            .modules
            .iter()
            .flat_map(|library| &library.module.checks)
            .take(3)
            .collect();
        if !nested.is_empty() {
            return Err(crate::exit::usage(format!(
                "the module library {} has no checks daggie can route: its checks ({}) sit on \
                 objects that a function returns; `dagger check` runs them, but daggie places \
                 only the checks of a module's main object in the project's directories",
                quote_list(module_urls),
                quote_list(nested)
            )));
        }
        return Err(crate::exit::usage(format!(
            "the module library {} has no checks: no module marks a function as a check \
             (`@check`, `+check`, `@check()`) that runs without required arguments, so there is \
             nothing for `dagger check` to run",
            quote_list(module_urls)
        )));
    }
    Ok(catalog)
}
