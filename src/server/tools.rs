//! The tools `agentci mcp serve` offers: their typed inputs (JSON Schemas come from these types),
//! and each one's work on the deterministic core. Nothing here writes a file, runs a command,
//! calls a model or calls GitHub; every path goes through the server's [`Jail`].

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::agents::daggie::{self, AssistOptions, ModuleSource, OutputMode};
use crate::agents::monty::packs;
use crate::agents::speck::tasks::Decomposition;
use crate::github::diff::PullDiff;
use crate::github::placement;
use crate::github::review::{Finding, MAX_FILE_COMMENTS, MAX_INLINE_COMMENTS, Placement};
use crate::scan::{self, ScanReport};

/// A tool failure the client sees as an `isError` result; the server keeps serving.
#[derive(Debug)]
pub struct ToolFailure(pub String);

impl<E: std::fmt::Display> From<E> for ToolFailure {
    fn from(error: E) -> Self {
        ToolFailure(error.to_string())
    }
}

fn failure(message: impl Into<String>) -> ToolFailure {
    ToolFailure(message.into())
}

/// The directories tools may read, canonical; the first is where relative paths start.
#[derive(Debug, Clone)]
pub struct Jail {
    roots: Vec<PathBuf>,
}

impl Jail {
    /// Canonicalise `roots` (each must be an existing directory).
    pub fn new(roots: &[PathBuf]) -> anyhow::Result<Self> {
        let mut canonical = Vec::with_capacity(roots.len());
        for root in roots {
            let path = root.canonicalize().map_err(|error| {
                crate::exit::usage(format!("`--root {}`: {error}", root.display()))
            })?;
            if !path.is_dir() {
                return Err(crate::exit::usage(format!(
                    "`--root {}` is not a directory",
                    root.display()
                )));
            }
            canonical.push(path);
        }
        if canonical.is_empty() {
            return Err(crate::exit::usage("at least one `--root` is needed"));
        }
        Ok(Self { roots: canonical })
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Resolve `given` (relative to the first root, or absolute) to an existing path inside a
    /// root, symlinks resolved, never inside a `.git`.
    pub fn confine(&self, given: &str) -> Result<PathBuf, ToolFailure> {
        let given = given.trim();
        if given.is_empty() {
            return Err(failure("the path is empty"));
        }
        let path = Path::new(given);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.roots[0].join(path)
        };
        let resolved = joined
            .canonicalize()
            .map_err(|error| failure(format!("`{given}`: {error}")))?;
        let inside = self.roots.iter().find(|root| resolved.starts_with(root));
        let Some(root) = inside else {
            return Err(failure(format!(
                "`{given}` is outside the directories this server may read ({})",
                self.describe_roots()
            )));
        };
        let touches_git = resolved
            .strip_prefix(root)
            .map(|relative| {
                relative
                    .components()
                    .any(|component| component == Component::Normal(".git".as_ref()))
            })
            .unwrap_or(true);
        if touches_git {
            return Err(failure(format!("`{given}` is inside a `.git` directory")));
        }
        Ok(resolved)
    }

    fn describe_roots(&self) -> String {
        self.roots
            .iter()
            .map(|root| format!("`{}`", root.display()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A module library: a directory inside the jail, else a git URL.
    fn module_source(&self, given: &str) -> Result<ModuleSource, ToolFailure> {
        if scan::source::is_git(given) && !Path::new(given).exists() {
            return Ok(ModuleSource::Git(given.to_owned()));
        }
        let path = self.confine(given)?;
        if !path.is_dir() {
            return Err(failure(format!("`{given}` is not a directory")));
        }
        Ok(ModuleSource::Directory(path))
    }

    fn scan(&self, source: &ModuleSource) -> anyhow::Result<ScanReport> {
        match source {
            ModuleSource::Directory(path) => Ok(scan::scan_directory(path)),
            ModuleSource::Git(url) => scan::source::scan_source(url, false),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// modules_scan

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModulesScanInput {
    /// A directory under the server's roots, or a git URL (`https://github.com/o/r[.git]`,
    /// `github.com/o/r[/subpath][@ref]`, `url#ref[:subpath]`)
    pub source: String,
    /// A git ref (branch, tag or commit) to scan instead of the newest release tags
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
}

pub fn modules_scan(jail: &Jail, input: ModulesScanInput) -> Result<Value, ToolFailure> {
    let source = match (&input.git_ref, jail.module_source(&input.source)?) {
        (Some(git_ref), ModuleSource::Git(url)) if !url.contains('#') => {
            ModuleSource::Git(format!("{url}#{}", git_ref.trim()))
        }
        (Some(_), ModuleSource::Git(url)) => {
            return Err(failure(format!(
                "`{url}` already names a ref; drop `ref` or the `#…` part"
            )));
        }
        (Some(_), ModuleSource::Directory(_)) => {
            return Err(failure("`ref` applies to git URLs, not to directories"));
        }
        (None, source) => source,
    };
    let report = jail
        .scan(&source)
        .map_err(|error| failure(format!("cannot scan `{}`: {error:#}", input.source)))?;
    if report.modules.is_empty()
        && let Some(error) = report.errors.first()
        && matches!(source, ModuleSource::Git(_))
    {
        return Err(failure(format!(
            "cannot scan `{}`: {}",
            input.source, error.message
        )));
    }
    Ok(serde_json::to_value(&report)?)
}

// ---------------------------------------------------------------------------------------------
// daggie_plan

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaggiePlanInput {
    /// The project directory (the monorepo root), under the server's roots
    pub project: String,
    /// Module libraries: directories under the server's roots, or git URLs
    pub module_sources: Vec<String>,
    /// What the CI set-up must do, in words (the daggie assignment)
    pub assignment: String,
    /// Compare with the files on disk instead of returning them as new: reports which are stale
    #[serde(default)]
    pub check: bool,
    /// The provider whose key the fix jobs pass (`anthropic` by default)
    #[serde(default)]
    pub provider: Option<String>,
}

pub fn daggie_plan(jail: &Jail, input: DaggiePlanInput) -> Result<Value, ToolFailure> {
    let project = jail.confine(&input.project)?;
    if !project.is_dir() {
        return Err(failure(format!("`{}` is not a directory", input.project)));
    }
    if input.module_sources.is_empty() {
        return Err(failure(
            "`module_sources` needs at least one module library",
        ));
    }
    let mut module_urls = Vec::with_capacity(input.module_sources.len());
    for given in &input.module_sources {
        module_urls.push(match jail.module_source(given)? {
            ModuleSource::Directory(path) => path.display().to_string(),
            ModuleSource::Git(url) => url,
        });
    }
    let mut render = daggie::render::RenderOptions::default();
    if let Some(provider) = &input.provider {
        render.provider = daggie::render::ProviderEnv::for_provider(provider, false, false)
            .map_err(|error| failure(format!("{error:#}")))?;
    }
    let options = AssistOptions {
        assignment: input.assignment.clone(),
        source: project,
        module_urls,
        mode: if input.check {
            OutputMode::Check
        } else {
            OutputMode::DryRun
        },
        render,
        force: false,
        notes: Vec::new(),
    };
    let scanner = |source: &ModuleSource| jail.scan(source);
    let report = daggie::run_assist(&options, &scanner, &daggie::offline_planner)
        .map_err(|error| failure(format!("{error:#}")))?;
    let mut files = Vec::new();
    if let Some(rendered) = &report.rendered {
        files.push(json!({"path": "dagger.json", "content": rendered.dagger_json}));
        files.push(json!({"path": daggie::WORKFLOW_PATH, "content": rendered.workflow}));
    }
    let stale: Vec<&str> = report.stale_files();
    Ok(json!({
        "plan": report.plan,
        "reasons": report.reasons,
        "warnings": report.warnings,
        "engine_version": report.engine_version,
        "variables": report.variables,
        "secrets": report.secrets,
        "files": files,
        "status": report.files,
        "stale": if input.check { json!(stale) } else { Value::Null },
        "diff": report.diff,
    }))
}

// ---------------------------------------------------------------------------------------------
// speck_validate and speck_matrix

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeckValidateInput {
    /// A decomposition as `agentci speck decompose` prints it (CONTRACTS §4.2)
    pub decomposition: Value,
    /// The model family whose tier ids `suggested_model` must use: claude (default), gemini,
    /// openai
    #[serde(default)]
    pub model_family: Option<String>,
}

pub fn speck_validate(input: SpeckValidateInput) -> Result<Value, ToolFailure> {
    let problems = decomposition_problems(&input.decomposition, input.model_family.as_deref())?;
    Ok(json!({ "valid": problems.is_empty(), "problems": problems }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeckMatrixInput {
    /// A decomposition as `agentci speck decompose` prints it (CONTRACTS §4.2)
    pub decomposition: Value,
}

pub fn speck_matrix(input: SpeckMatrixInput) -> Result<Value, ToolFailure> {
    let problems = decomposition_problems(&input.decomposition, None)?;
    if !problems.is_empty() {
        return Err(failure(format!(
            "the decomposition is not valid: {}",
            problems.join("; ")
        )));
    }
    let decomposition: Decomposition = serde_json::from_value(input.decomposition)
        .map_err(|error| failure(format!("the decomposition does not parse: {error}")))?;
    Ok(crate::agents::speck::render::matrix(&decomposition))
}

/// Every problem of a decomposition: its dependency cycles by task id, then the strict checks
/// `speck decompose` runs on its own output. The flags it was made with are read off its content
/// (test tasks mean `--include-tests`, and so on).
fn decomposition_problems(
    decomposition: &Value,
    family: Option<&str>,
) -> Result<Vec<String>, ToolFailure> {
    if !decomposition.is_object() {
        return Err(failure("`decomposition` must be a JSON object"));
    }
    let tasks = decomposition
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_type = |kind: &str| {
        tasks
            .iter()
            .any(|task| task.get("task_type").and_then(Value::as_str) == Some(kind))
    };
    let create_pr = decomposition
        .pointer("/execution_plan/phases")
        .and_then(Value::as_array)
        .is_some_and(|phases| {
            phases.iter().any(|phase| {
                phase
                    .get("pr_branch")
                    .is_some_and(|branch| !branch.is_null())
            })
        });
    let family = family.unwrap_or("claude");
    let tiers = crate::agents::speck::tiers::resolve(family, &BTreeMap::new()).map_err(failure)?;
    let expectations = crate::agents::speck::validate::Expectations {
        models: [tiers.low, tiers.medium, tiers.high],
        include_tests: has_type("test"),
        include_review: has_type("review"),
        create_pr,
    };
    let mut problems = dependency_cycles(&tasks);
    problems.extend(crate::agents::speck::validate::validate(
        decomposition,
        &expectations,
    ));
    Ok(problems)
}

/// A cycle of `depends_on`, named by its tasks (`T003 → T005 → T003`), found by the same search
/// `speck decompose` runs on the model's submission.
fn dependency_cycles(tasks: &[Value]) -> Vec<String> {
    let ids: Vec<&str> = tasks
        .iter()
        .map(|task| task.get("id").and_then(Value::as_str).unwrap_or_default())
        .collect();
    let depends: Vec<Vec<usize>> = tasks
        .iter()
        .map(|task| {
            task.get("depends_on")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|id| ids.iter().position(|known| *known == id))
                .collect()
        })
        .collect();
    crate::agents::speck::decompose::find_cycle(&depends)
        .map(|cycle| {
            let named: Vec<&str> = cycle.iter().map(|index| ids[*index]).collect();
            format!(
                "dependency cycle: {} (a task cannot depend on itself, directly or through others)",
                named.join(" → ")
            )
        })
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// parse_failures

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FixAgent {
    Monty,
    Angie,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseFailuresInput {
    /// The CI log (e.g. what `dagger check` printed)
    pub log: String,
    /// The directory the failures must belong to (suggest-fix's `--source`), under the roots
    pub source: String,
    /// Whose parsers read the log: monty (Python) or angie (Angular/TypeScript)
    pub agent: FixAgent,
}

pub fn parse_failures(jail: &Jail, input: ParseFailuresInput) -> Result<Value, ToolFailure> {
    let source = jail.confine(&input.source)?;
    let pack = match input.agent {
        FixAgent::Monty => &packs::PYTHON,
        FixAgent::Angie => &packs::ANGULAR,
    };
    let (layout, failures) = crate::agents::monty::fix::failures_for(pack, &source, &input.log)
        .map_err(|error| failure(format!("{error:#}")))?;
    Ok(json!({
        "agent": pack.agent,
        "source": layout.source,
        "repository_root": layout.root,
        "failures": failures,
    }))
}

// ---------------------------------------------------------------------------------------------
// review_placement

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedSuggestion {
    /// Repository-relative path of the file
    pub path: String,
    /// 1-based first line on the new (head) side
    pub start_line: u32,
    /// 1-based last line, inclusive
    pub end_line: u32,
    /// The replacement text for those lines (omit for a comment without a suggestion)
    #[serde(default)]
    pub replacement: Option<String>,
    /// The lines as you read them, to re-anchor the suggestion when the numbers are off
    #[serde(default)]
    pub original_text: Option<String>,
    /// The explanation shown with the suggestion
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPlacementInput {
    /// The pull request's unified diff (`git diff base...head`)
    pub diff: String,
    pub suggestions: Vec<ProposedSuggestion>,
    /// The checkout at the head commit, to read files from (default: the first root)
    #[serde(default)]
    pub source: Option<String>,
}

pub fn review_placement(jail: &Jail, input: ReviewPlacementInput) -> Result<Value, ToolFailure> {
    let diff = PullDiff::from_unified(&input.diff)
        .map_err(|message| failure(format!("the diff does not parse: {message}")))?;
    let source = match &input.source {
        Some(source) => jail.confine(source)?,
        None => jail.roots()[0].clone(),
    };
    let mut inline = 0usize;
    let mut file_level = 0usize;
    let mut placed = Vec::with_capacity(input.suggestions.len());
    for (index, suggestion) in input.suggestions.iter().enumerate() {
        let finding = Finding {
            path: suggestion.path.clone(),
            start_line: suggestion.start_line,
            end_line: suggestion.end_line,
            replacement: suggestion.replacement.clone(),
            body: suggestion.text.clone().unwrap_or_default(),
            original_text: suggestion.original_text.clone(),
        };
        let path = suggestion.path.trim().trim_start_matches("./").to_owned();
        let (path, file) = placement::diff_entry(&diff, &path);
        let text = if file.is_some_and(|file| !file.exists_at_head()) {
            None
        } else {
            read_in(jail, &source, &path)
        };
        let mut decision = placement::decide(path, file, text.as_deref(), &finding);
        // The publisher's caps, in input order.
        match decision.placement {
            Placement::Inline if inline >= MAX_INLINE_COMMENTS => {
                decision.placement = Placement::Summary;
                decision.reason =
                    format!("more than {MAX_INLINE_COMMENTS} inline comments in one review");
            }
            Placement::Inline => inline += 1,
            Placement::File if file_level >= MAX_FILE_COMMENTS => {
                decision.placement = Placement::Summary;
                decision.reason =
                    format!("more than {MAX_FILE_COMMENTS} file-level comments in one run");
            }
            Placement::File => file_level += 1,
            Placement::Summary => {}
        }
        placed.push(json!({
            "index": index,
            "path": decision.path,
            "placement": decision.placement,
            "anchor": decision.anchor,
            "reason": decision.reason,
        }));
    }
    let count = |which: &str| {
        placed
            .iter()
            .filter(|entry| entry["placement"] == which)
            .count()
    };
    Ok(json!({
        "placements": placed,
        "inline": count("inline"),
        "file_level": count("file"),
        "in_summary": count("summary"),
    }))
}

/// The text of `path` under `source`, when it is a readable file inside the jail.
fn read_in(jail: &Jail, source: &Path, path: &str) -> Option<String> {
    let candidate = source.join(path);
    let resolved = jail.confine(&candidate.display().to_string()).ok()?;
    std::fs::read(resolved)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_named_by_their_tasks() {
        let tasks = vec![
            json!({"id": "T001", "depends_on": []}),
            json!({"id": "T003", "depends_on": ["T005"]}),
            json!({"id": "T005", "depends_on": ["T003"]}),
        ];
        let problems = dependency_cycles(&tasks);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("T003 → T005 → T003"), "{problems:?}");
    }

    #[test]
    fn the_jail_refuses_paths_outside_its_roots_and_inside_git() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(".git")).unwrap();
        std::fs::write(root.path().join(".git/config"), "").unwrap();
        std::fs::write(root.path().join("file.txt"), "x").unwrap();
        let jail = Jail::new(&[root.path().to_path_buf()]).unwrap();
        assert!(jail.confine("file.txt").is_ok());
        assert!(jail.confine(".git/config").is_err());
        assert!(jail.confine("../").is_err());
        assert!(jail.confine("/").is_err());
        assert!(jail.confine("missing").is_err());
    }
}
