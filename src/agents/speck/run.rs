//! `speck run`: execute a decomposition without a CI matrix. Phases form a graph from their
//! tasks' `depends_on` (and `parallel: false`); a phase starts when the phases it depends on have
//! succeeded, in a copy of their combined result; independent phases run at the same time, up to
//! `max_parallel`. A phase's tasks run in order through [`super::entrypoints`], each seeing what
//! the previous one left. One budget covers the whole run ([`super::budget`]). With `create_pr`
//! each phase becomes a branch (on its predecessor's branch) and a pull request. Nothing is lost:
//! the summary carries every task's status, report or findings, changed files, usage and cost.
//!
//! Running a task and publishing a phase are traits: production runs the agent verbs as child
//! processes of this binary ([`super::child`]) and publishes through the GitHub layer; tests
//! inject fakes.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use super::budget::{Grant, Limits, RunBudget, Spent};
use super::entrypoints::{Invocation, Refusal, invocation};
use super::tasks::{Decomposition, Phase, Task};

/// One task to run: the task, its command, where, and what it may spend.
pub struct TaskRun<'a> {
    pub task: &'a Task,
    pub invocation: &'a Invocation,
    pub workspace: &'a Path,
    pub grant: Grant,
    /// A file the task's events may go to (the run reads usage from it).
    pub events: PathBuf,
}

/// What a task left behind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskReport {
    pub ok: bool,
    /// The task stopped because its share of the budget ran out: which one (`turns`,
    /// `tokens`, `cost`, `time`).
    pub budget_exhausted: Option<String>,
    pub report: Option<String>,
    /// A review's findings, as the verb printed them.
    pub findings: Option<Value>,
    /// Where the unfinished work was saved.
    pub patch: Option<PathBuf>,
    pub usage: Spent,
    pub error: Option<String>,
}

/// Runs one task's agent verb.
#[async_trait]
pub trait TaskRunner: Send + Sync {
    async fn run(&self, run: &TaskRun<'_>) -> TaskReport;
}

/// A finished phase to publish.
pub struct Publication<'a> {
    pub phase: &'a Phase,
    pub workspace: &'a Path,
    /// The tree the phase started from; the commit holds the difference.
    pub started_from: &'a Path,
    /// The branch to build on and target; `None` for the run's base branch.
    pub base_branch: Option<&'a str>,
    pub body: String,
}

/// Turns a finished phase into a branch and a pull request.
#[async_trait]
pub trait PhasePublisher: Send + Sync {
    /// The pull request's URL; `None` when the phase changed nothing.
    async fn publish(&self, publication: &Publication<'_>) -> Result<Option<String>, String>;
}

/// Used without `--create-pr`: the run never publishes then, and a phase that asked would get
/// no pull request.
pub struct NoPullRequests;

#[async_trait]
impl PhasePublisher for NoPullRequests {
    async fn publish(&self, _publication: &Publication<'_>) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// What `speck run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The repository the first phases start from.
    pub source: PathBuf,
    /// Only this phase, when given (it starts from `source`).
    pub phase: Option<u32>,
    pub max_parallel: usize,
    pub create_pr: bool,
    /// Tasks whose entrypoint runs commands are started with `--allow-exec`; without it they
    /// are skipped.
    pub allow_exec: bool,
    /// Where phase workspaces are made; kept after the run.
    pub work_dir: PathBuf,
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
    /// Some tasks could not run (`needs --allow-exec`, no agent): the phase is not done.
    Incomplete,
    /// The run's budget ran out.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskOutcome {
    pub id: String,
    pub title: String,
    pub agent: Option<String>,
    pub entrypoint: Option<String>,
    pub status: Status,
    pub seconds: f64,
    pub report: Option<String>,
    pub findings: Option<Value>,
    pub files_changed: Vec<String>,
    pub patch: Option<PathBuf>,
    pub usage: Spent,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseOutcome {
    pub phase: u32,
    pub name: String,
    pub status: Status,
    /// The phases this one waited for and started from.
    pub depends_on: Vec<u32>,
    pub workspace: PathBuf,
    pub tasks: Vec<TaskOutcome>,
    pub pr_branch: Option<String>,
    /// The branch the phase's branch was built on and its pull request targets.
    pub pr_base: Option<String>,
    pub pull_request: Option<String>,
    pub usage: Spent,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub feature: String,
    pub succeeded: usize,
    pub failed: usize,
    /// Phases that did not succeed for another reason (skipped, incomplete, stopped).
    pub not_done: usize,
    /// Which budget ran out (`turns`, `tokens`, `cost`, `time`), if one did.
    pub budget_exhausted: Option<String>,
    pub usage: Spent,
    pub phases: Vec<PhaseOutcome>,
}

impl RunSummary {
    /// The command's outcome once the summary is printed: a budget error (exit 4) when the
    /// budget ran out, a negative result (exit 1) when a phase did not succeed.
    pub fn verdict(&self) -> anyhow::Result<()> {
        if let Some(which) = &self.budget_exhausted {
            return Err(crate::exit::budget(format!(
                "the run's {which} budget ran out; unfinished work was saved as patches (see `patch` in the summary)"
            )));
        }
        let not_succeeded = self.phases.len() - self.succeeded;
        if not_succeeded > 0 {
            return Err(crate::exit::negative(format!(
                "{not_succeeded} of {} phase(s) did not succeed",
                self.phases.len()
            )));
        }
        Ok(())
    }
}

/// The phases each phase depends on: those holding a task its tasks depend on; a phase marked
/// `parallel: false` with none of those waits for the phase before it.
pub fn phase_graph(decomposition: &Decomposition) -> BTreeMap<u32, BTreeSet<u32>> {
    let phase_of: BTreeMap<&str, u32> = decomposition
        .tasks
        .iter()
        .map(|task| (task.id.as_str(), task.phase))
        .collect();
    let numbers: Vec<u32> = decomposition
        .execution_plan
        .phases
        .iter()
        .map(|phase| phase.phase)
        .collect();
    let mut graph = BTreeMap::new();
    for phase in &decomposition.execution_plan.phases {
        let mut before: BTreeSet<u32> = phase
            .tasks
            .iter()
            .filter_map(|id| decomposition.tasks.iter().find(|task| &task.id == id))
            .flat_map(|task| task.depends_on.iter())
            .filter_map(|id| phase_of.get(id.as_str()).copied())
            .filter(|other| *other != phase.phase && numbers.contains(other))
            .collect();
        if before.is_empty()
            && !phase.parallel
            && let Some(previous) = numbers.iter().copied().filter(|n| *n < phase.phase).max()
        {
            before.insert(previous);
        }
        graph.insert(phase.phase, before);
    }
    graph
}

/// The phases in waves: each wave depends only on earlier ones. Phases on a cycle (a
/// hand-edited plan) come last, in one wave.
pub fn phase_levels(graph: &BTreeMap<u32, BTreeSet<u32>>) -> Vec<Vec<u32>> {
    let mut placed: BTreeSet<u32> = BTreeSet::new();
    let mut levels = Vec::new();
    while placed.len() < graph.len() {
        let level: Vec<u32> = graph
            .iter()
            .filter(|(phase, before)| !placed.contains(phase) && before.is_subset(&placed))
            .map(|(phase, _)| *phase)
            .collect();
        if level.is_empty() {
            levels.push(
                graph
                    .keys()
                    .copied()
                    .filter(|phase| !placed.contains(phase))
                    .collect(),
            );
            break;
        }
        placed.extend(level.iter().copied());
        levels.push(level);
    }
    levels
}

fn phase_tasks<'a>(phase: &Phase, decomposition: &'a Decomposition) -> Vec<&'a Task> {
    let mut tasks: Vec<&Task> = phase
        .tasks
        .iter()
        .filter_map(|id| decomposition.tasks.iter().find(|task| &task.id == id))
        .collect();
    tasks.sort_by_key(|task| (task.order, task.id.clone()));
    tasks
}

/// The selected phases, or a usage error for an unknown `--phase`.
fn selected(decomposition: &Decomposition, only: Option<u32>) -> anyhow::Result<Vec<Phase>> {
    let phases: Vec<Phase> = decomposition
        .execution_plan
        .phases
        .iter()
        .filter(|phase| only.is_none_or(|wanted| phase.phase == wanted))
        .cloned()
        .collect();
    if phases.is_empty() {
        let known: Vec<String> = decomposition
            .execution_plan
            .phases
            .iter()
            .map(|phase| phase.phase.to_string())
            .collect();
        return Err(crate::exit::usage(format!(
            "the plan has no phase {}; its phases are: {}",
            only.map(|phase| phase.to_string()).unwrap_or_default(),
            known.join(", ")
        )));
    }
    Ok(phases)
}

/// `--dry-run`: the phases in the order they would start, each task with its exact command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    pub feature: String,
    pub waves: Vec<Vec<PlannedPhase>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedPhase {
    pub phase: u32,
    pub name: String,
    pub depends_on: Vec<u32>,
    pub workspace: PathBuf,
    pub pr_branch: Option<String>,
    pub tasks: Vec<PlannedTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedTask {
    pub id: String,
    pub title: String,
    /// The command, or `None` when the task would be skipped (`skipped` says why).
    pub command: Option<String>,
    pub skipped: Option<String>,
}

/// What [`run`] would do, without doing it.
pub fn dry_run(decomposition: &Decomposition, request: &RunRequest) -> anyhow::Result<DryRun> {
    let phases = selected(decomposition, request.phase)?;
    let graph = restricted_graph(decomposition, request.phase);
    let waves = phase_levels(&graph)
        .into_iter()
        .map(|wave| {
            wave.into_iter()
                .filter_map(|number| phases.iter().find(|phase| phase.phase == number))
                .map(|phase| {
                    let workspace = request.work_dir.join(format!("phase-{}", phase.phase));
                    PlannedPhase {
                        phase: phase.phase,
                        name: phase.name.clone(),
                        depends_on: graph
                            .get(&phase.phase)
                            .map(|before| before.iter().copied().collect())
                            .unwrap_or_default(),
                        pr_branch: phase.pr_branch.clone(),
                        tasks: phase_tasks(phase, decomposition)
                            .into_iter()
                            .map(|task| {
                                let planned = invocation(task, &workspace, request.allow_exec);
                                PlannedTask {
                                    id: task.id.clone(),
                                    title: task.title.clone(),
                                    command: planned.as_ref().ok().map(Invocation::command_line),
                                    skipped: planned.err().map(|refusal| refusal.to_string()),
                                }
                            })
                            .collect(),
                        workspace,
                    }
                })
                .collect()
        })
        .collect();
    Ok(DryRun {
        feature: decomposition.feature.clone(),
        waves,
    })
}

fn restricted_graph(
    decomposition: &Decomposition,
    only: Option<u32>,
) -> BTreeMap<u32, BTreeSet<u32>> {
    let mut graph = phase_graph(decomposition);
    if let Some(only) = only {
        // A single phase starts from the source as given.
        graph.retain(|phase, _| *phase == only);
        for before in graph.values_mut() {
            before.clear();
        }
    }
    graph
}

/// Where a phase's dependents start from.
#[derive(Debug, Clone)]
struct Finished {
    outcome: PhaseOutcome,
    /// The branch dependents build on: the phase's own once published, else what it built on.
    branch: Option<String>,
}

struct Shared {
    decomposition: Decomposition,
    request: RunRequest,
    runner: Arc<dyn TaskRunner>,
    publisher: Arc<dyn PhasePublisher>,
    budget: RunBudget,
}

/// Run the decomposition's phases. Errors only for problems before any phase starts (an unknown
/// `--phase`, an unwritable work directory); everything after that is in the summary.
pub async fn run(
    decomposition: &Decomposition,
    request: &RunRequest,
    runner: Arc<dyn TaskRunner>,
    publisher: Arc<dyn PhasePublisher>,
) -> anyhow::Result<RunSummary> {
    let phases = selected(decomposition, request.phase)?;
    let graph = restricted_graph(decomposition, request.phase);
    std::fs::create_dir_all(request.work_dir.join("events")).with_context(|| {
        format!(
            "failed to create the work directory `{}`",
            request.work_dir.display()
        )
    })?;
    let shared = Arc::new(Shared {
        decomposition: decomposition.clone(),
        request: request.clone(),
        runner,
        publisher,
        budget: RunBudget::new(request.limits),
    });
    let mut finished: BTreeMap<u32, Finished> = BTreeMap::new();
    let mut started: BTreeSet<u32> = BTreeSet::new();
    let mut running = tokio::task::JoinSet::new();
    let max_parallel = request.max_parallel.max(1);
    loop {
        // Start (or skip) every phase whose predecessors are all finished, in phase order.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for phase in &phases {
                if started.contains(&phase.phase) || running.len() >= max_parallel {
                    continue;
                }
                let before = graph.get(&phase.phase).cloned().unwrap_or_default();
                if !before.iter().all(|number| finished.contains_key(number)) {
                    continue;
                }
                started.insert(phase.phase);
                progressed = true;
                let predecessors: Vec<Finished> = before
                    .iter()
                    .filter_map(|number| finished.get(number).cloned())
                    .collect();
                let blocked = predecessors
                    .iter()
                    .find(|done| done.outcome.status != Status::Succeeded);
                let reason = match (blocked, shared.budget.exhausted()) {
                    (Some(done), _) => Some((
                        Status::Skipped,
                        format!(
                            "phase {} it depends on did not succeed ({})",
                            done.outcome.phase,
                            status_name(done.outcome.status)
                        ),
                    )),
                    (None, Some(which)) => {
                        Some((Status::Stopped, format!("the run's {which} budget ran out")))
                    }
                    (None, None) => None,
                };
                if let Some((status, reason)) = reason {
                    let outcome = not_started(phase, decomposition, &before, status, reason);
                    finished.insert(
                        phase.phase,
                        Finished {
                            outcome,
                            branch: None,
                        },
                    );
                    continue;
                }
                let shared = Arc::clone(&shared);
                let phase = phase.clone();
                running.spawn(async move { run_phase(&phase, &predecessors, &shared).await });
            }
        }
        match running.join_next().await {
            Some(joined) => {
                let done = joined.map_err(|error| anyhow::anyhow!("a phase crashed: {error}"))?;
                finished.insert(done.outcome.phase, done);
            }
            None => break,
        }
    }
    let mut outcomes: Vec<PhaseOutcome> = finished.into_values().map(|done| done.outcome).collect();
    outcomes.sort_by_key(|outcome| outcome.phase);
    let count = |status: Status| outcomes.iter().filter(|o| o.status == status).count();
    Ok(RunSummary {
        feature: decomposition.feature.clone(),
        succeeded: count(Status::Succeeded),
        failed: count(Status::Failed),
        not_done: outcomes.len() - count(Status::Succeeded) - count(Status::Failed),
        budget_exhausted: shared.budget.exhausted().map(str::to_owned),
        usage: shared.budget.spent(),
        phases: outcomes,
    })
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Incomplete => "incomplete",
        Status::Stopped => "stopped",
    }
}

fn task_outcome(task: &Task, status: Status, error: Option<String>) -> TaskOutcome {
    TaskOutcome {
        id: task.id.clone(),
        title: task.title.clone(),
        agent: task
            .suggested_agent
            .as_ref()
            .map(|agent| agent.name.clone()),
        entrypoint: task
            .suggested_agent
            .as_ref()
            .map(|agent| agent.entrypoint.clone()),
        status,
        seconds: 0.0,
        report: None,
        findings: None,
        files_changed: Vec::new(),
        patch: None,
        usage: Spent::default(),
        error,
    }
}

fn not_started(
    phase: &Phase,
    decomposition: &Decomposition,
    before: &BTreeSet<u32>,
    status: Status,
    reason: String,
) -> PhaseOutcome {
    PhaseOutcome {
        phase: phase.phase,
        name: phase.name.clone(),
        status,
        depends_on: before.iter().copied().collect(),
        workspace: PathBuf::new(),
        tasks: phase_tasks(phase, decomposition)
            .into_iter()
            .map(|task| task_outcome(task, status, Some(reason.clone())))
            .collect(),
        pr_branch: phase.pr_branch.clone(),
        pr_base: None,
        pull_request: None,
        usage: Spent::default(),
        error: Some(reason),
    }
}

async fn run_phase(phase: &Phase, predecessors: &[Finished], shared: &Shared) -> Finished {
    shared.budget.phase_started();
    let finished = phase_body(phase, predecessors, shared).await;
    shared.budget.phase_finished();
    finished
}

async fn phase_body(phase: &Phase, predecessors: &[Finished], shared: &Shared) -> Finished {
    let request = &shared.request;
    let workspace = request.work_dir.join(format!("phase-{}", phase.phase));
    // Dependents start from the first predecessor's tree with the others' changes on top; its
    // branch is the one this phase's branch is built on.
    let started_from = predecessors.first().map_or_else(
        || request.source.clone(),
        |done| done.outcome.workspace.clone(),
    );
    let base_branch = predecessors.first().and_then(|done| done.branch.clone());
    let mut outcome = PhaseOutcome {
        phase: phase.phase,
        name: phase.name.clone(),
        status: Status::Succeeded,
        depends_on: predecessors.iter().map(|done| done.outcome.phase).collect(),
        workspace: workspace.clone(),
        tasks: Vec::new(),
        pr_branch: phase.pr_branch.clone(),
        pr_base: None,
        pull_request: None,
        usage: Spent::default(),
        error: None,
    };
    let others: Vec<PathBuf> = predecessors
        .iter()
        .skip(1)
        .map(|done| done.outcome.workspace.clone())
        .collect();
    let (source, from, target) = (
        request.source.clone(),
        started_from.clone(),
        workspace.clone(),
    );
    let prepared =
        tokio::task::spawn_blocking(move || prepare(&source, &from, &others, &target)).await;
    if let Err(error) = prepared
        .map_err(|error| error.to_string())
        .and_then(|result| result.map_err(|error| format!("{error:#}")))
    {
        outcome.status = Status::Failed;
        outcome.error = Some(format!("could not prepare the phase's workspace: {error}"));
        return Finished {
            outcome,
            branch: None,
        };
    }

    let mut stop: Option<(Status, String)> = None;
    let mut incomplete = false;
    for task in phase_tasks(phase, &shared.decomposition) {
        if let Some((status, reason)) = &stop {
            outcome
                .tasks
                .push(task_outcome(task, *status, Some(reason.clone())));
            continue;
        }
        let command = match invocation(task, &workspace, request.allow_exec) {
            Ok(command) => command,
            Err(refusal) => {
                incomplete = true;
                let reason = match refusal {
                    Refusal::NeedsExec => "skipped: needs --allow-exec".to_owned(),
                    other => format!("skipped: {other}"),
                };
                outcome
                    .tasks
                    .push(task_outcome(task, Status::Skipped, Some(reason)));
                continue;
            }
        };
        let grant = match shared.budget.grant() {
            Ok(grant) => grant,
            Err(which) => {
                let reason = format!("the run's {which} budget ran out");
                outcome
                    .tasks
                    .push(task_outcome(task, Status::Stopped, Some(reason.clone())));
                stop = Some((Status::Stopped, reason));
                continue;
            }
        };
        let before = snapshot(&workspace);
        let started = Instant::now();
        let report = shared
            .runner
            .run(&TaskRun {
                task,
                invocation: &command,
                workspace: &workspace,
                grant,
                events: request
                    .work_dir
                    .join("events")
                    .join(format!("{}.jsonl", task.id)),
            })
            .await;
        shared.budget.settle(&grant, &report.usage);
        let seconds = started.elapsed().as_secs_f64();
        let after = snapshot(&workspace);
        let status = if report.ok {
            Status::Succeeded
        } else if let Some(which) = &report.budget_exhausted {
            shared.budget.mark_exhausted(which);
            Status::Stopped
        } else {
            Status::Failed
        };
        outcome.usage.add(&report.usage);
        let mut done = task_outcome(task, status, None);
        done.seconds = (seconds * 1000.0).round() / 1000.0;
        done.report = report.report;
        done.findings = report.findings;
        done.files_changed = changed(&before, &after);
        done.patch = report.patch;
        done.usage = report.usage;
        done.error = report
            .error
            .map(|error| crate::redact::redact(&error).into_owned());
        outcome.tasks.push(done);
        match status {
            Status::Failed => {
                stop = Some((
                    Status::Skipped,
                    "an earlier task of this phase failed".into(),
                ))
            }
            Status::Stopped => {
                stop = Some((Status::Stopped, "the run's budget ran out".into()));
            }
            _ => {}
        }
    }
    match stop {
        Some((Status::Stopped, reason)) => {
            outcome.status = Status::Stopped;
            outcome.error = Some(reason);
        }
        Some(_) => {
            outcome.status = Status::Failed;
            outcome.error = Some("a task failed; the phase stopped there".into());
        }
        None if incomplete => {
            outcome.status = Status::Incomplete;
            outcome.error = Some("some tasks could not run; see their errors".into());
        }
        None => {}
    }
    if outcome.status != Status::Succeeded {
        return Finished {
            outcome,
            branch: None,
        };
    }
    let mut branch = base_branch.clone();
    if request.create_pr && phase.pr_branch.is_some() {
        outcome.pr_base = base_branch.clone();
        let publication = Publication {
            phase,
            workspace: &workspace,
            started_from: &started_from,
            base_branch: base_branch.as_deref(),
            body: super::publish::pull_body(
                phase,
                &shared.decomposition,
                &outcome,
                &predecessors
                    .iter()
                    .map(|done| done.outcome.clone())
                    .collect::<Vec<_>>(),
            ),
        };
        match shared.publisher.publish(&publication).await {
            Ok(url) => {
                if url.is_some() {
                    branch = phase.pr_branch.clone();
                }
                outcome.pull_request = url;
            }
            Err(error) => {
                outcome.status = Status::Failed;
                outcome.error = Some(
                    crate::redact::redact(&format!("could not open the pull request: {error}"))
                        .into_owned(),
                );
            }
        }
    }
    Finished { outcome, branch }
}

/// The phase's workspace: a copy of `from` with the changes each of `others` made (relative to
/// `source`) on top. Two predecessors that changed one file differently are a conflict.
fn prepare(source: &Path, from: &Path, others: &[PathBuf], target: &Path) -> anyhow::Result<()> {
    copy_tree(from, target)?;
    for other in others {
        for change in super::publish::phase_changes(source, other)? {
            let path = target.join(&change.path);
            let original = std::fs::read(source.join(&change.path)).ok();
            let current = std::fs::read(&path).ok();
            if current != original && current != change.content {
                anyhow::bail!(
                    "`{}` was changed differently by two phases this one depends on",
                    change.path
                );
            }
            match &change.content {
                Some(content) => {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&path, content)?;
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
    Ok(())
}

/// Each regular file under `root` (not `.git`, not the skipped directories) with a hash of its
/// content.
fn snapshot(root: &Path) -> BTreeMap<String, u64> {
    let mut files = BTreeMap::new();
    for (key, path) in tree_files(root).flatten() {
        let Ok(content) = std::fs::read(&path) else {
            continue;
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        content.hash(&mut hasher);
        files.insert(key, hasher.finish());
    }
    files
}

/// The regular files of a phase's tree, `.git` and [`COPY_SKIPPED`] left out, each with its
/// `/`-separated path relative to `root`. Symlinks are not followed.
pub(super) fn tree_files(
    root: &Path,
) -> impl Iterator<Item = anyhow::Result<(String, PathBuf)>> + '_ {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || !(entry.file_name() == ".git"
                    || COPY_SKIPPED.iter().any(|name| entry.file_name() == *name))
        })
        .filter_map(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    return Some(Err(anyhow::Error::new(error)
                        .context(format!("failed to read `{}`", root.display()))));
                }
            };
            if !entry.file_type().is_file() {
                return None;
            }
            let relative = entry.path().strip_prefix(root).ok()?;
            let key = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            Some(Ok((key, entry.into_path())))
        })
}

fn changed(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<String> {
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    paths
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .cloned()
        .collect()
}

/// Dependency and build directories a phase copy leaves out (tasks recreate them); whoever
/// compares a phase copy with its source must leave them out too.
pub const COPY_SKIPPED: [&str; 5] = ["node_modules", "target", ".venv", "__pycache__", "dist"];

/// Copy a repository (its `.git` included, so the phase can branch and commit) into `target`,
/// skipping dependency and build directories that tasks recreate themselves.
pub fn copy_tree(source: &Path, target: &Path) -> anyhow::Result<()> {
    if target.exists() {
        std::fs::remove_dir_all(target)
            .with_context(|| format!("failed to clear `{}`", target.display()))?;
    }
    crate::support::copy_tree(source, target, &COPY_SKIPPED)
}
