//! What one monty or angie verb is asked to do, as plain values: `cli` reads the flags, files and
//! stdin once and builds one of these; the verbs never see the command line.

use std::path::PathBuf;

use crate::agent::AgentOptions;
use crate::github::args::GitHubOptions;

/// One verb with its inputs.
#[derive(Debug, Clone)]
pub enum MontyRequest {
    SuggestFix(SuggestFixRequest),
    Review(ReviewRequest),
    Assist(AssistRequest),
    WriteTests(WriteTestsRequest),
    Build(BuildRequest),
    Upgrade(UpgradeRequest),
    DevelopIssue(DevelopIssueRequest),
}

#[derive(Debug, Clone)]
pub struct SuggestFixRequest {
    pub agent: AgentOptions,
    /// The failed check's output.
    pub log: String,
    pub github: GitHubOptions,
    /// At most this many suggestions.
    pub max_suggestions: usize,
    /// Check the suggestions before publishing them.
    pub verify: bool,
    /// The failing command to re-run with `verify`.
    pub verify_command: Option<String>,
    /// An extra instruction from the caller (e.g. `speck run`).
    pub assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReviewRequest {
    pub agent: AgentOptions,
    /// Review this unified diff (a file, or `-` for stdin) instead of the whole workspace.
    pub diff: Option<PathBuf>,
    /// What to pay most attention to.
    pub focus: Option<String>,
    /// Post the review on the pull request.
    pub post: bool,
    pub github: GitHubOptions,
    pub assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AssistRequest {
    pub agent: AgentOptions,
    pub assignment: String,
}

#[derive(Debug, Clone)]
pub struct WriteTestsRequest {
    pub agent: AgentOptions,
    /// What to test: a file, module, class or function.
    pub target: Option<String>,
    /// The test framework (default: the pack's first).
    pub test_framework: Option<String>,
    pub assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub agent: AgentOptions,
    /// The build command (default: the pack's).
    pub command: Option<String>,
    pub assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub agent: AgentOptions,
    /// The package to upgrade (monty only; angie upgrades Angular).
    pub target_package: Option<String>,
    pub target_version: String,
    pub assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DevelopIssueRequest {
    pub agent: AgentOptions,
    pub github: GitHubOptions,
    /// The issue to implement (default: from the GitHub Actions event).
    pub issue_number: Option<u64>,
    /// The branch the pull request targets (default: the repository's default branch).
    pub base: Option<String>,
}
