//! `agentci monty …` and `agentci angie …`: one argument tree for both agents (each bound to its
//! language pack), reading long inputs from flags, files or stdin, and dispatch to the verbs.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::request::{
    AssistRequest, BuildRequest, DevelopIssueRequest, MontyRequest, ReviewRequest,
    SuggestFixRequest, UpgradeRequest, WriteTestsRequest,
};
use crate::agents::monty::verbs::{self, Services};
use crate::cli::input::LongInput;
use crate::cli::{AgentArgs, GitHubArgs, GlobalOptions};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct MontyArgs {
    #[command(subcommand)]
    pub verb: MontyVerb,
}

#[derive(Debug, Subcommand)]
pub enum MontyVerb {
    /// Turn a failed check's log into one-click fix suggestions on the pull request
    SuggestFix(SuggestFixArgs),
    /// Review the code (or a diff) and print or post the findings
    Review(ReviewArgs),
    /// Do an assignment in the workspace
    Assist(AssistArgs),
    /// Write tests for a part of the code
    WriteTests(WriteTestsArgs),
    /// Make the build pass (needs `--allow-exec`)
    Build(BuildArgs),
    /// Upgrade a dependency (monty) or Angular (angie)
    Upgrade(UpgradeArgs),
    /// Implement a GitHub issue: pick the verb, run it, open a pull request that closes the issue
    DevelopIssue(DevelopIssueArgs),
}

/// A task given as text, from a file, or from stdin; optional for every verb so that
/// `speck run` can pass one to any of them.
#[derive(Debug, Clone, Default, Args)]
pub struct AssignmentArgs {
    /// The assignment, as text
    #[arg(long, value_name = "TEXT", conflicts_with = "assignment_file")]
    pub assignment: Option<String>,
    /// The assignment, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub assignment_file: Option<PathBuf>,
}

impl AssignmentArgs {
    /// The assignment, as the flags gave it.
    pub(crate) fn input(&self) -> LongInput<'_> {
        LongInput::new(
            "assignment",
            ["--assignment", "--assignment-file"],
            self.assignment.as_deref(),
            self.assignment_file.as_deref(),
        )
    }

    /// The assignment text, if any.
    pub fn read(&self) -> anyhow::Result<Option<String>> {
        self.input().read()
    }
}

#[derive(Debug, Clone, Args)]
pub struct SuggestFixArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    /// The failed check's output, as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["error_file", "stdin"])]
    pub error_output: Option<String>,
    /// The failed check's output, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    pub error_file: Option<PathBuf>,
    /// `-` reads the failed check's output from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    #[command(flatten)]
    pub github: GitHubArgs,
    /// At most this many suggestions
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_suggestions: usize,
    /// Check the suggestions on a scratch copy: `dagger check <failed check>` when `dagger` is on
    /// `PATH`, else the failing command from the log narrowed to the failing tests it names, or
    /// `--verify-command` (needs `--allow-exec`)
    #[arg(long)]
    pub verify: bool,
    /// The failing command to re-run with `--verify` (must be allowed for this agent)
    #[arg(long, value_name = "COMMAND")]
    pub verify_command: Option<String>,
    /// With `--verify`, post only the suggestions that verification confirmed
    #[arg(long, requires = "verify")]
    pub only_verified: bool,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

impl SuggestFixArgs {
    /// The log, from whichever input was given.
    pub fn read_log(&self) -> anyhow::Result<String> {
        LongInput::new(
            "failed check's output",
            ["--error-output", "--error-file"],
            self.error_output.as_deref(),
            self.error_file.as_deref(),
        )
        .or_dash(self.stdin.as_deref())
        .require("suggest-fix")
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    /// Review this unified diff (a file; `-` for stdin) instead of the whole workspace
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// What to pay most attention to
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,
    /// Post the review on the pull request
    #[arg(long)]
    pub post: bool,
    #[command(flatten)]
    pub github: GitHubArgs,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AssistArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
    /// `-` reads the assignment from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct WriteTestsArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    /// What to test: a file, module, class or function
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// The test framework [default: the pack's first, e.g. pytest, jasmine]
    #[arg(long, value_name = "F")]
    pub test_framework: Option<String>,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    /// The build command [default: the pack's, e.g. `python -m compileall -q .`, `npx ng build`]
    #[arg(long, value_name = "C")]
    pub command: Option<String>,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    /// The package to upgrade (monty only; angie upgrades Angular)
    #[arg(long, value_name = "NAME")]
    pub target_package: Option<String>,
    /// The version to upgrade to
    #[arg(long, value_name = "VERSION")]
    pub target_version: String,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DevelopIssueArgs {
    #[command(flatten)]
    pub agent: AgentArgs,
    #[command(flatten)]
    pub github: GitHubArgs,
    /// The issue to implement [default: from the GitHub Actions event]
    #[arg(long, visible_alias = "issue-id", value_name = "N")]
    pub issue_number: Option<u64>,
    /// The branch the pull request targets [default: the repository's default branch]
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
}

impl AssistArgs {
    pub fn read_assignment(&self) -> anyhow::Result<String> {
        self.assignment
            .input()
            .or_dash(self.stdin.as_deref())
            .require("assist")
    }
}

impl MontyArgs {
    /// The verb as a request: flags resolved, long inputs read from their files or stdin.
    pub fn request(&self) -> anyhow::Result<MontyRequest> {
        Ok(match &self.verb {
            MontyVerb::SuggestFix(args) => MontyRequest::SuggestFix(SuggestFixRequest {
                agent: args.agent.options(),
                log: args.read_log()?,
                github: args.github.options(),
                max_suggestions: args.max_suggestions,
                verify: args.verify,
                verify_command: args.verify_command.clone(),
                only_verified: args.only_verified,
                assignment: args.assignment.read()?,
            }),
            MontyVerb::Review(args) => MontyRequest::Review(ReviewRequest {
                agent: args.agent.options(),
                diff: args.diff.clone(),
                focus: args.focus.clone(),
                post: args.post,
                github: args.github.options(),
                assignment: args.assignment.read()?,
            }),
            MontyVerb::Assist(args) => MontyRequest::Assist(AssistRequest {
                agent: args.agent.options(),
                assignment: args.read_assignment()?,
            }),
            MontyVerb::WriteTests(args) => MontyRequest::WriteTests(WriteTestsRequest {
                agent: args.agent.options(),
                target: args.target.clone(),
                test_framework: args.test_framework.clone(),
                assignment: args.assignment.read()?,
            }),
            MontyVerb::Build(args) => MontyRequest::Build(BuildRequest {
                agent: args.agent.options(),
                command: args.command.clone(),
                assignment: args.assignment.read()?,
            }),
            MontyVerb::Upgrade(args) => MontyRequest::Upgrade(UpgradeRequest {
                agent: args.agent.options(),
                target_package: args.target_package.clone(),
                target_version: args.target_version.clone(),
                assignment: args.assignment.read()?,
            }),
            MontyVerb::DevelopIssue(args) => MontyRequest::DevelopIssue(DevelopIssueRequest {
                agent: args.agent.options(),
                github: args.github.options(),
                issue_number: args.issue_number,
                base: args.base.clone(),
            }),
        })
    }
}

/// Run a verb of `pack`'s agent from the command line.
pub async fn run(
    pack: &'static LanguagePack,
    args: &MontyArgs,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    run_with(pack, args, global, None, out).await
}

/// [`run`] with services injected (tests): `None` loads the settings of the working directory.
pub async fn run_with(
    pack: &'static LanguagePack,
    args: &MontyArgs,
    global: &GlobalOptions,
    services: Option<Services>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let request = args.request()?;
    let services = match services {
        Some(services) => services,
        None => Services::new(settings_here(global)?),
    };
    verbs::run(pack, &request, global, services, out).await
}

/// The settings of the working directory.
pub(crate) fn settings_here(global: &GlobalOptions) -> anyhow::Result<crate::config::Settings> {
    let working_dir = std::env::current_dir()
        .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
    crate::config::Settings::load(global, &working_dir)
}
