//! The command tree (clap derive), global options, logging set-up and dispatch.
//!
//! Each agent's arguments live next to the code that runs them (`cli/<agent>.rs`); this file only
//! holds what every command shares and routes to the right one. A command is registered here only
//! once it works.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use crate::config::GlobalOptions;
use crate::exit::Exit;
pub use exit::exit_for;

pub mod daggie;
pub mod daggie_migrate;
pub mod doctor;
pub mod exit;
pub mod goose;
mod input;
pub mod mcp;
pub mod mcp_test_server;
pub mod modules;
pub mod monty;
pub mod speck;

/// AI at the edges of CI/CD: Dagger toolchain setup, fix suggestions on pull requests, and
/// spec-driven task decomposition.
#[derive(Debug, Parser)]
#[command(
    name = "agentci",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes. Each is also settable in `agentci.toml`.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// LLM provider: anthropic, openai, gemini, ollama, mistral, deepseek or openai-compatible
    #[arg(long, global = true, env = "AGENTCI_PROVIDER", value_name = "NAME")]
    pub provider: Option<String>,
    /// Model id; defaults to the provider's `*_MODEL` variable, else the provider's default
    #[arg(long, global = true, env = "AGENTCI_MODEL", value_name = "ID")]
    pub model: Option<String>,
    /// Stop after this many model turns
    #[arg(long, global = true, value_name = "N")]
    pub max_turns: Option<u32>,
    /// Stop after this many tokens (input + output) in the run
    #[arg(long, global = true, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Stop once the run has cost this many US dollars
    #[arg(long, global = true, value_name = "X")]
    pub max_cost_usd: Option<f64>,
    /// Stop after this much wall time (e.g. `90s`, `10m`)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Write a JSONL event stream to this file (`-` for stderr)
    #[arg(long, global = true, value_name = "FILE|-")]
    pub events: Option<String>,
    /// Machine-readable result on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Configuration file [default: ./agentci.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress output, only results and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The options as plain values for the layers below `cli`.
    pub fn options(&self) -> GlobalOptions {
        GlobalOptions {
            provider: self.provider.clone(),
            model: self.model.clone(),
            max_turns: self.max_turns,
            max_tokens: self.max_tokens,
            max_cost_usd: self.max_cost_usd,
            timeout: self.timeout,
            events: self.events.clone(),
            json: self.json,
            config: self.config.clone(),
            verbose: self.verbose,
            quiet: self.quiet,
        }
    }
}

/// Options shared by the agent verbs that work on a source tree.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The workspace the agent reads and changes
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Change nothing and post nothing; print what would be written or posted
    #[arg(long)]
    pub dry_run: bool,
    /// Write the changed workspace to this directory instead of back into `--source`
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Record what the agent learns in its context file
    #[arg(long, value_enum, default_value_t = SelfImprove::Off, value_name = "MODE")]
    pub self_improve: SelfImprove,
    /// Let the agent run its language pack's checks (tests, linters, type checkers, builds);
    /// `--allow-exec=install` also allows installing packages and running project scripts
    #[arg(
        long,
        value_enum,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "checks"
    )]
    pub allow_exec: Option<ExecLevel>,
    /// Attach an MCP server: `NAME=COMMAND ARGS…` (stdio) or `NAME=URL` (streamable HTTP)
    #[arg(long, value_name = "NAME=COMMAND|URL")]
    pub mcp: Vec<String>,
    /// Apply the changes of a run stopped by a budget or an error anyway
    #[arg(long)]
    pub keep_partial: bool,
}

/// What `--allow-exec` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecLevel {
    /// Tests, linters, type checkers, builds (the bare flag).
    Checks,
    /// Also installing packages and running project scripts.
    Install,
}

impl AgentArgs {
    pub fn options(&self) -> crate::agent::AgentOptions {
        crate::agent::AgentOptions {
            source: self.source.clone(),
            dry_run: self.dry_run,
            export: self.export.clone(),
            self_improve: match self.self_improve {
                SelfImprove::Off => crate::agent::SelfImprove::Off,
                SelfImprove::Write => crate::agent::SelfImprove::Write,
                SelfImprove::Commit => crate::agent::SelfImprove::Commit,
            },
            allow_exec: self.allow_exec.is_some(),
            allow_install: self.allow_exec == Some(ExecLevel::Install),
            mcp: self.mcp.clone(),
            keep_partial: self.keep_partial,
        }
    }
}

/// The GitHub options agents share, ready to `#[command(flatten)]`.
#[derive(Debug, Clone, Default, Args)]
pub struct GitHubArgs {
    /// GitHub token, or `env:NAME` to read it from variable `NAME` [default: `GITHUB_TOKEN`]
    #[arg(long, value_name = "TOKEN|env:NAME")]
    pub github_token: Option<String>,
    /// Repository as `owner/name` [default: `GITHUB_REPOSITORY`]
    #[arg(long = "repo", visible_alias = "repository", value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// Pull request number [default: from the GitHub Actions event]
    #[arg(long, value_name = "N")]
    pub pr_number: Option<u64>,
    /// Head commit the comments anchor to [default: the pull request's head]
    #[arg(long, value_name = "SHA")]
    pub commit_sha: Option<String>,
}

impl GitHubArgs {
    pub fn options(&self) -> crate::github::args::GitHubOptions {
        crate::github::args::GitHubOptions {
            github_token: self.github_token.clone(),
            repository: self.repository.clone(),
            pr_number: self.pr_number,
            commit_sha: self.commit_sha.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SelfImprove {
    /// Learn nothing
    #[default]
    Off,
    /// Write learnings into the context files
    Write,
    /// Write learnings and commit the context files
    Commit,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a project's Dagger toolchain set-up and CI workflow from a module library
    Daggie(daggie::DaggieArgs),
    /// What agentci detected: provider, model, GitHub context, config
    Doctor(doctor::DoctorArgs),
    /// agentci's deterministic tools as an MCP server for coding agents
    Mcp(mcp::McpArgs),
    /// Serve a small MCP tool set over stdio (for agentci's own tests)
    #[command(hide = true)]
    McpTestServer,
    /// The module scanner on its own
    Modules(modules::ModulesArgs),
    /// Python agent: fix suggestions on pull requests, review, assist, tests, build, upgrade
    Monty(monty::MontyArgs),
    /// Angular/TypeScript agent: the same verbs as monty
    Angie(monty::MontyArgs),
    /// GCP operations agent: troubleshoot, review, deploy and upgrade Cloud Run and Firebase
    Goose(goose::GooseArgs),
    /// Spec-driven development: specify, plan and decompose a feature into tasks, and run them
    Speck(speck::SpeckArgs),
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parse the process arguments (clap exits with code 2 on a usage error, as CONTRACTS §3 wants).
pub fn parse() -> Cli {
    Cli::parse()
}

/// Logs go to stderr, never stdout, so that `| jq` always works. Every line passes through the
/// redactor (see [`crate::redact::RedactingWriter`]).
pub fn init_logging(global: &GlobalArgs) {
    let default_level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AGENTCI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::redact::RedactingWriter::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
    crate::progress::init(global.quiet);
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = cli.global.options();
    match cli.command {
        Command::Daggie(args) => daggie::run_command(&args, &global, &scan_module_source).await,
        Command::Doctor(args) => doctor::run(&global, &args).await,
        Command::Mcp(args) => mcp::run(&args).await,
        Command::McpTestServer => mcp_test_server::run().await,
        Command::Modules(args) => modules::run(args, &global).await,
        Command::Monty(args) => {
            let pack = &crate::agents::monty::packs::PYTHON;
            monty::run(pack, &args, &global, &mut std::io::stdout().lock()).await
        }
        Command::Angie(args) => {
            let pack = &crate::agents::monty::packs::ANGULAR;
            monty::run(pack, &args, &global, &mut std::io::stdout().lock()).await
        }
        Command::Goose(args) => goose::run(&args, &global, &mut std::io::stdout().lock()).await,
        Command::Speck(args) => {
            speck::run(
                args,
                &global,
                speck::Services::default(),
                &mut std::io::stdout().lock(),
            )
            .await
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "agentci", &mut std::io::stdout());
            Ok(Exit::Done)
        }
    }
}

/// Scan one module library for daggie: a local directory, or a git URL fetched and resolved to
/// the versions a project would install.
fn scan_module_source(
    source: &crate::agents::daggie::ModuleSource,
) -> anyhow::Result<crate::scan::ScanReport> {
    match source {
        crate::agents::daggie::ModuleSource::Directory(path) => {
            Ok(crate::scan::scan_directory(path))
        }
        crate::agents::daggie::ModuleSource::Git(url) => {
            let _phase = crate::progress::phase(&format!("fetching the module library `{url}`"));
            // `.env`'s GITHUB_TOKEN reaches private libraries too (the environment wins).
            let token = std::env::current_dir()
                .ok()
                .and_then(|dir| crate::config::Environment::load(&dir).ok())
                .and_then(|environment| environment.secret("GITHUB_TOKEN"));
            crate::scan::source::scan_source_with(url, false, token)
        }
    }
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("`{text}` is not a duration: {error}"))
}
