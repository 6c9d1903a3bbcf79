//! What one daggie verb is asked to do, and what it gives back, as plain values: `cli` reads the
//! flags, files and stdin once and builds a [`DaggieRequest`]; [`super::verbs`] runs it and returns
//! a [`DaggieResult`], which `cli` prints as text or `--json`. The verbs never see the command
//! line.

use std::path::PathBuf;

use super::migrate::MigrateReport;
use super::model::RunStats;
use super::versions::ActionVersions;
use super::{AssistReport, OutputMode};
use crate::agent::workspace::Concluded;
use crate::agents::review::ReviewSubmission;

/// One verb with its inputs.
#[derive(Debug, Clone)]
// Built once per process; boxing the large variant would only add noise to every match.
#[allow(clippy::large_enum_variant)]
pub enum DaggieRequest {
    Assist(AssistRequest),
    Explain(ExplainRequest),
    Debug(DebugRequest),
    Review(ReviewRequest),
    Migrate(MigrateRequest),
}

impl DaggieRequest {
    /// Whether the verb needs a model: every verb but `migrate`, and `assist` unless it plans
    /// offline or re-renders the recorded plan (`--check`).
    pub fn needs_model(&self) -> bool {
        match self {
            DaggieRequest::Assist(assist) => !assist.offline && assist.mode != OutputMode::Check,
            DaggieRequest::Migrate(_) => false,
            DaggieRequest::Explain(_) | DaggieRequest::Debug(_) | DaggieRequest::Review(_) => true,
        }
    }
}

/// `daggie assist`: write (or diff, or check) the project's `dagger.json` and workflow.
#[derive(Debug, Clone)]
pub struct AssistRequest {
    /// What to set up.
    pub assignment: String,
    /// The project.
    pub source: PathBuf,
    /// The module libraries: directories or git URLs.
    pub module_urls: Vec<String>,
    /// Plan without a model.
    pub offline: bool,
    pub mode: OutputMode,
    /// `engineVersion` for `dagger.json` (default: the newest among the chosen modules).
    pub engine_version: Option<String>,
    /// The Dagger version to write for (`1.0.0`, `auto`).
    pub dagger_version: String,
    /// `dagger/dagger-for-github` version (default: looked up, recorded or built in).
    pub action_version: Option<String>,
    /// The branch whose pushes deploy.
    pub default_branch: String,
    /// Replace a workflow daggie did not generate; let the plan win over conflicting hand edits.
    pub force: bool,
    /// The fix job verifies suggestions (installs Dagger, `suggest-fix --verify --allow-exec`).
    pub verify_fixes: bool,
    /// The repository secret holding a token for private module libraries.
    pub private_modules: Option<String>,
    /// Action versions looked up before planning ([`super::verbs::look_up_action_versions`]).
    pub looked_up: Option<ActionVersions>,
}

/// `daggie explain`: answer a question about the project's Dagger and CI set-up.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    pub question: String,
    pub source: PathBuf,
    /// Module libraries whose catalog the answer may refer to.
    pub module_urls: Vec<String>,
}

/// `daggie debug`: find and fix the cause of a failing Dagger module or configuration.
#[derive(Debug, Clone)]
pub struct DebugRequest {
    /// The failing command's output.
    pub error_output: String,
    /// The workspace to fix.
    pub source: PathBuf,
    /// Change nothing; give the diff of the fix.
    pub dry_run: bool,
    /// Write the fixed workspace here instead of back into `source`.
    pub export: Option<PathBuf>,
    /// Apply the changes of a run stopped by a budget or an error anyway.
    pub keep_partial: bool,
    /// Let the agent run [`super::verbs::DEBUG_COMMANDS`] and the `[exec]` commands of agentci.toml.
    pub allow_exec: bool,
    /// MCP servers to attach: `NAME=COMMAND ARGS…` or `NAME=URL`.
    pub mcp: Vec<String>,
}

/// `daggie review`: review the project's Dagger and CI set-up, or a change to it.
#[derive(Debug, Clone)]
pub struct ReviewRequest {
    pub source: PathBuf,
    /// The unified diff to review rather than the whole set-up.
    pub diff: Option<String>,
    /// What to look at most closely.
    pub focus: Option<String>,
}

/// `daggie migrate`: convert `dagger.json` toolchains to Dagger 1.0 `dagger.toml` workspaces.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub source: PathBuf,
    /// Write nothing.
    pub dry_run: bool,
}

/// What a verb gives back.
#[derive(Debug, Clone)]
// One per process, like the request.
#[allow(clippy::large_enum_variant)]
pub enum DaggieResult {
    Assist(AssistReport),
    Explain(Answer),
    Debug(Fixed),
    Review(Review),
    Migrate(MigrateReport),
}

/// `explain`'s answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub answer: String,
    pub run: RunStats,
}

/// `debug`'s report, and what became of the workspace's changes.
#[derive(Debug, Clone)]
pub struct Fixed {
    pub report: String,
    pub run: RunStats,
    pub concluded: Concluded,
}

/// `review`'s submission.
#[derive(Debug, Clone)]
pub struct Review {
    pub review: ReviewSubmission,
    pub run: RunStats,
}
