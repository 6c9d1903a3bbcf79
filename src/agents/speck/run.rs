//! `speck run`: execute a decomposition without a CI matrix. Phases run concurrently (up to
//! `max_parallel`), each in its own copy of the repository; a phase's tasks run in order, each
//! agent verb receiving the workspace the previous task left. A failing task stops its phase and
//! the other phases go on. With `create_pr`, each phase that changed something becomes one branch
//! and pull request. The result is a JSON summary.
//!
//! Running a task and publishing a phase are traits: production runs the agent verbs through this
//! same binary and publishes through the GitHub layer; tests inject fakes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::tasks::{Decomposition, Phase, Task, TaskType};

/// Runs one task's agent verb on a workspace directory.
#[async_trait]
pub trait TaskRunner: Send + Sync {
    async fn run(&self, task: &Task, workspace: &Path) -> Result<(), String>;
}

/// Turns a finished phase's workspace into a branch and a pull request; returns its URL.
#[async_trait]
pub trait PhasePublisher: Send + Sync {
    async fn publish(
        &self,
        phase: &Phase,
        workspace: &Path,
        decomposition: &Decomposition,
    ) -> Result<Option<String>, String>;
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The repository each phase starts from.
    pub source: PathBuf,
    /// Only this phase, when given.
    pub phase: Option<u32>,
    pub max_parallel: usize,
    pub create_pr: bool,
    /// Where phase workspaces are made (a temporary directory by default); they are kept there
    /// after the run so that what each phase did can be inspected.
    pub work_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskOutcome {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub seconds: f64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseOutcome {
    pub phase: u32,
    pub name: String,
    pub status: Status,
    pub workspace: PathBuf,
    pub tasks: Vec<TaskOutcome>,
    pub pr_branch: Option<String>,
    pub pull_request: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub feature: String,
    pub succeeded: usize,
    pub failed: usize,
    pub phases: Vec<PhaseOutcome>,
}

/// Run the decomposition's phases. Errors only for problems before any phase starts (an unknown
/// `--phase`); everything after that is reported in the summary.
pub async fn run(
    decomposition: &Decomposition,
    options: &RunOptions,
    runner: Arc<dyn TaskRunner>,
    publisher: Arc<dyn PhasePublisher>,
) -> anyhow::Result<RunSummary> {
    let phases: Vec<Phase> = decomposition
        .execution_plan
        .phases
        .iter()
        .filter(|phase| options.phase.is_none_or(|wanted| phase.phase == wanted))
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
            options
                .phase
                .map(|phase| phase.to_string())
                .unwrap_or_default(),
            known.join(", ")
        )));
    }
    std::fs::create_dir_all(&options.work_dir)?;
    let permits = Arc::new(Semaphore::new(options.max_parallel.max(1)));
    let decomposition = Arc::new(decomposition.clone());
    let mut handles = Vec::new();
    for phase in phases {
        let permits = Arc::clone(&permits);
        let runner = Arc::clone(&runner);
        let publisher = Arc::clone(&publisher);
        let decomposition = Arc::clone(&decomposition);
        let options = options.clone();
        handles.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            run_phase(
                &phase,
                &decomposition,
                &options,
                runner.as_ref(),
                publisher.as_ref(),
            )
            .await
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(
            handle
                .await
                .map_err(|error| anyhow::anyhow!("a phase crashed: {error}"))?,
        );
    }
    outcomes.sort_by_key(|outcome| outcome.phase);
    Ok(RunSummary {
        feature: decomposition.feature.clone(),
        succeeded: outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Succeeded)
            .count(),
        failed: outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Failed)
            .count(),
        phases: outcomes,
    })
}

async fn run_phase(
    phase: &Phase,
    decomposition: &Decomposition,
    options: &RunOptions,
    runner: &dyn TaskRunner,
    publisher: &dyn PhasePublisher,
) -> PhaseOutcome {
    let workspace = options.work_dir.join(format!("phase-{}", phase.phase));
    let mut outcome = PhaseOutcome {
        phase: phase.phase,
        name: phase.name.clone(),
        status: Status::Succeeded,
        workspace: workspace.clone(),
        tasks: Vec::new(),
        pr_branch: phase.pr_branch.clone(),
        pull_request: None,
        error: None,
    };
    let source = options.source.clone();
    let target = workspace.clone();
    let copied = tokio::task::spawn_blocking(move || copy_tree(&source, &target)).await;
    if let Err(error) = copied
        .map_err(|error| error.to_string())
        .and_then(|result| result.map_err(|error| format!("{error:#}")))
    {
        outcome.status = Status::Failed;
        outcome.error = Some(format!(
            "could not copy the repository for this phase: {error}"
        ));
        return outcome;
    }
    let mut tasks: Vec<&Task> = phase
        .tasks
        .iter()
        .filter_map(|id| decomposition.tasks.iter().find(|task| &task.id == id))
        .collect();
    tasks.sort_by_key(|task| (task.order, task.id.clone()));
    let mut failed = false;
    for task in tasks {
        if failed {
            outcome.tasks.push(TaskOutcome {
                id: task.id.clone(),
                title: task.title.clone(),
                status: Status::Skipped,
                seconds: 0.0,
                error: Some("an earlier task of this phase failed".into()),
            });
            continue;
        }
        if task.suggested_agent.is_none() {
            outcome.tasks.push(TaskOutcome {
                id: task.id.clone(),
                title: task.title.clone(),
                status: Status::Skipped,
                seconds: 0.0,
                error: Some("no agent is suggested for this task".into()),
            });
            continue;
        }
        let started = Instant::now();
        let result = runner.run(task, &workspace).await;
        let seconds = started.elapsed().as_secs_f64();
        let status = if result.is_ok() {
            Status::Succeeded
        } else {
            Status::Failed
        };
        failed = result.is_err();
        outcome.tasks.push(TaskOutcome {
            id: task.id.clone(),
            title: task.title.clone(),
            status,
            seconds: (seconds * 1000.0).round() / 1000.0,
            error: result
                .err()
                .map(|error| crate::redact::redact(&error).into_owned()),
        });
    }
    if failed {
        outcome.status = Status::Failed;
        outcome.error = Some("a task failed; the phase stopped there".into());
        return outcome;
    }
    let implementation_ran = outcome
        .tasks
        .iter()
        .any(|task| task.status == Status::Succeeded);
    if options.create_pr && phase.pr_branch.is_some() && implementation_ran {
        match publisher.publish(phase, &workspace, decomposition).await {
            Ok(url) => outcome.pull_request = url,
            Err(error) => {
                outcome.status = Status::Failed;
                outcome.error = Some(
                    crate::redact::redact(&format!("could not open the pull request: {error}"))
                        .into_owned(),
                );
            }
        }
    }
    outcome
}

/// Dependency and build directories a phase copy leaves out (tasks recreate them); whoever
/// compares a phase copy with its source must leave them out too.
pub const COPY_SKIPPED: [&str; 5] = ["node_modules", "target", ".venv", "__pycache__", "dist"];

/// Copy a repository (its `.git` included, so the phase can branch and commit) into `target`,
/// skipping dependency and build directories that tasks recreate themselves.
pub fn copy_tree(source: &Path, target: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if target.exists() {
        std::fs::remove_dir_all(target)
            .with_context(|| format!("failed to clear `{}`", target.display()))?;
    }
    crate::support::copy_tree(source, target, &COPY_SKIPPED)
}

/// The arguments that run a task through this binary: `<agent> <entrypoint> --source DIR …`.
/// Every workspace verb takes the task as its assignment; review takes it as its focus.
pub fn task_arguments(task: &Task, workspace: &Path) -> Option<Vec<String>> {
    let agent = task.suggested_agent.as_ref()?;
    let mut assignment = format!("{}\n\n{}", task.title, task.description);
    if !task.definition_of_done.is_empty() {
        assignment.push_str("\n\nDefinition of done:\n");
        for item in &task.definition_of_done {
            assignment.push_str(&format!("- {item}\n"));
        }
    }
    if !task.files_to_modify.is_empty() {
        assignment.push_str(&format!("\nFiles: {}\n", task.files_to_modify.join(", ")));
    }
    let mut arguments = vec![
        agent.name.clone(),
        agent.entrypoint.clone(),
        "--source".to_owned(),
        workspace.display().to_string(),
    ];
    match task.task_type {
        TaskType::Review => arguments.extend(["--focus".to_owned(), assignment]),
        TaskType::Implementation | TaskType::Test => {
            arguments.extend(["--assignment".to_owned(), assignment])
        }
    }
    Some(arguments)
}

/// Runs tasks through this same binary (`agentci <agent> <entrypoint> …`), so each task gets the
/// full agent with its own budgets, tools and context files. The child inherits the environment
/// (provider keys, GitHub context) and the global flags given here.
pub struct BinaryRunner {
    pub binary: PathBuf,
    pub global_args: Vec<String>,
}

#[async_trait]
impl TaskRunner for BinaryRunner {
    async fn run(&self, task: &Task, workspace: &Path) -> Result<(), String> {
        let agent = task
            .suggested_agent
            .as_ref()
            .ok_or("no agent is suggested for this task")?;
        if agent.source != "agentci" {
            return Err(format!(
                "agent `{}` comes from `{}`, which speck run cannot start; run it from the CI matrix instead",
                agent.name, agent.source
            ));
        }
        let arguments =
            task_arguments(task, workspace).ok_or("no agent is suggested for this task")?;
        let output = tokio::process::Command::new(&self.binary)
            .args(&self.global_args)
            .args(&arguments)
            .arg("--quiet")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|error| format!("could not start `{}`: {error}", self.binary.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "`agentci {} {}` exited with {}: {}",
            agent.name,
            agent.entrypoint,
            output
                .status
                .code()
                .map_or_else(|| "a signal".to_owned(), |code| format!("code {code}")),
            tail.join("\n")
        ))
    }
}
