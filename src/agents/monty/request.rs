//! What one monty or angie verb is asked to do, as plain values: `cli` reads the flags, files and
//! stdin once and builds one of these; the verbs never see the command line.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::agent::AgentOptions;
use crate::github::args::GitHubOptions;

/// The verbs of monty and angie (and goose's shared ones), as the command line and
/// develop-issue's router name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    SuggestFix,
    Review,
    Assist,
    WriteTests,
    Build,
    Upgrade,
    DevelopIssue,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::SuggestFix => "suggest-fix",
            Verb::Review => "review",
            Verb::Assist => "assist",
            Verb::WriteTests => "write-tests",
            Verb::Build => "build",
            Verb::Upgrade => "upgrade",
            Verb::DevelopIssue => "develop-issue",
        }
    }
}

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

impl MontyRequest {
    pub fn verb(&self) -> Verb {
        match self {
            Self::SuggestFix(_) => Verb::SuggestFix,
            Self::Review(_) => Verb::Review,
            Self::Assist(_) => Verb::Assist,
            Self::WriteTests(_) => Verb::WriteTests,
            Self::Build(_) => Verb::Build,
            Self::Upgrade(_) => Verb::Upgrade,
            Self::DevelopIssue(_) => Verb::DevelopIssue,
        }
    }
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
    /// With `verify`, publish only the suggestions verification confirmed.
    pub only_verified: bool,
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
