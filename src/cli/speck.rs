//! `agentci speck …`: the arguments of speck's verbs (`specify`, `plan`, `decompose`, `run`) and
//! the code that turns them into model steps, a checked decomposition, an issue comment, or a run
//! of the phases with pull requests.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use crate::agent::workspace::Workspace;
use crate::agent::{RunServices, load_context};
use crate::agents::speck::budget::Limits;
use crate::agents::speck::child::BinaryRunner;
use crate::agents::speck::decompose::Options;
use crate::agents::speck::publish::GitHubPublisher;
use crate::agents::speck::render::{self, matrix};
use crate::agents::speck::run::{
    NoPullRequests, PhasePublisher, RunRequest, RunSummary, TaskRunner, dry_run, run as run_phases,
};
use crate::agents::speck::tasks::{builtin_registry, parse_decomposition, parse_registry};
use crate::agents::speck::tiers::{self, TierTable};
use crate::agents::speck::validate::checked_output;
use crate::agents::speck::verbs::{self, Steps};
use crate::cli::GlobalOptions;
use crate::cli::input::{LongInput, read_file_input};
use crate::config::Settings;
use crate::exit::Exit;
use crate::github::client::GitHub;
use crate::github::context::{ContextOverrides, Repository, detect};
use crate::llm::Provider;

#[derive(Debug, Args)]
pub struct SpeckArgs {
    #[command(subcommand)]
    pub verb: SpeckVerb,
}

#[derive(Debug, Subcommand)]
pub enum SpeckVerb {
    /// Write the specification of a feature request (Markdown on stdout)
    Specify(SpecifyArgs),
    /// Write the technical plan of a specification, grounded in the repository (Markdown)
    Plan(PlanArgs),
    /// Turn a feature request into a validated JSON task decomposition
    Decompose(DecomposeArgs),
    /// Execute a decomposition's phases with agentci's agents, one pull request per phase
    Run(RunArgs),
}

/// Where the feature request comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestArgs {
    /// The feature request as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["prompt_file", "stdin", "issue_id"])]
    pub prompt: Option<String>,
    /// The feature request from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stdin", "issue_id"])]
    pub prompt_file: Option<PathBuf>,
    /// `-` reads the feature request from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    /// A GitHub issue (with its comments) as the feature request
    #[arg(long, value_name = "N")]
    pub issue_id: Option<u64>,
}

impl RequestArgs {
    /// The request given on the command line (text, file or stdin), read before any model or
    /// GitHub call; `None` when it is to come from `--issue-id` or was not given.
    fn read_local(&self) -> anyhow::Result<Option<String>> {
        LongInput::new(
            "feature request",
            ["--prompt", "--prompt-file"],
            self.prompt.as_deref(),
            self.prompt_file.as_deref(),
        )
        .or_dash(self.stdin.as_deref())
        .read()
    }

    fn is_given(&self) -> bool {
        self.prompt.is_some()
            || self.prompt_file.is_some()
            || self.stdin.is_some()
            || self.issue_id.is_some()
    }
}

const NO_REQUEST: &str = "give the feature request: `--prompt TEXT`, `--prompt-file FILE`, `-` \
                          (stdin) or `--issue-id N --repository OWNER/NAME`";

/// The GitHub repository and token.
#[derive(Debug, Clone, Default, Args)]
pub struct GitHubOptions {
    /// Repository as `owner/name` [default: `GITHUB_REPOSITORY`]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// GitHub token, or `env:NAME` to read it from variable `NAME` [default: `GITHUB_TOKEN`]
    #[arg(long, value_name = "TOKEN|env:NAME")]
    pub github_token: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SpecifyArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub github: GitHubOptions,
    /// The repository the model may read
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The specification (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub spec: PathBuf,
    /// The team's stack, e.g. "Python, FastAPI, PostgreSQL"
    #[arg(long, value_name = "TEXT")]
    pub tech_stack: Option<String>,
    /// The repository the plan is grounded in
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// The decomposition JSON
    #[default]
    Json,
    /// A GitHub Actions matrix: `{"include": [one entry per phase]}`
    Matrix,
}

#[derive(Debug, Clone, Args)]
pub struct DecomposeArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub github: GitHubOptions,
    /// Reuse a specification instead of writing one (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Reuse a plan instead of writing one (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// The agents tasks may go to, as JSON or `@FILE` [default: agentci's monty, angie, daggie]
    #[arg(long, value_name = "JSON|@FILE")]
    pub agents: Option<String>,
    /// The team's stack, e.g. "Python, FastAPI"
    #[arg(long, value_name = "TEXT")]
    pub tech_stack: Option<String>,
    /// The family whose model ids `suggested_model` names: claude, gemini, openai (or one
    /// defined under `[models]` in agentci.toml)
    #[arg(long, default_value = "claude", value_name = "FAMILY")]
    pub model_family: String,
    /// Add test tasks (one tier above the task they cover)
    #[arg(long)]
    pub include_tests: bool,
    /// Add one review task per phase
    #[arg(long)]
    pub include_review: bool,
    /// Name a pull request branch per phase (`pr_branch`)
    #[arg(long)]
    pub create_pr: bool,
    /// What to print
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
    /// Comment the decomposition on the issue (updated on re-runs)
    #[arg(long)]
    pub post: bool,
    /// The repository the plan is grounded in
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The decomposition `speck decompose` printed (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// Run only this phase
    #[arg(long, value_name = "N")]
    pub phase: Option<u32>,
    /// Phases running at the same time
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub max_parallel: usize,
    /// Commit each phase to its `pr_branch` and open a pull request
    #[arg(long)]
    pub create_pr: bool,
    /// The branch phase branches start from and pull requests target
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub base: String,
    /// The issue the pull requests close
    #[arg(long, value_name = "N")]
    pub issue_id: Option<u64>,
    #[command(flatten)]
    pub github: GitHubOptions,
    /// The repository each phase starts from
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Where the phase copies are made (kept after the run) [default: a new temporary directory]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Let tasks whose verb runs commands (`build`) run them; without it they are skipped
    #[arg(long)]
    pub allow_exec: bool,
    /// Print the order of phases and tasks with each task's command, and run nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// What the verbs use from outside, injectable for tests; `None` means the production one
/// (the detected provider, a GitHub client from the environment, agentci's own binary).
#[derive(Default)]
pub struct Services {
    pub provider: Option<Arc<dyn Provider>>,
    pub github: Option<GitHub>,
    pub runner: Option<Arc<dyn TaskRunner>>,
}

/// Run a speck verb; results go to `out`, progress and logs to stderr.
pub async fn run(
    args: SpeckArgs,
    global: &GlobalOptions,
    services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let settings = Settings::load(global, Path::new("."))?;
    match args.verb {
        SpeckVerb::Specify(args) => specify(args, global, &settings, services, out).await,
        SpeckVerb::Plan(args) => plan(args, global, &settings, services, out).await,
        SpeckVerb::Decompose(args) => decompose(args, global, &settings, services, out).await,
        SpeckVerb::Run(args) => run_plan(args, global, &settings, services, out).await,
    }
}

async fn specify(
    args: SpecifyArgs,
    global: &GlobalOptions,
    settings: &Settings,
    mut services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let workspace = open_workspace(&args.source)?;
    if !args.request.is_given() {
        return Err(crate::exit::usage(NO_REQUEST));
    }
    let local = args.request.read_local()?;
    let steps = steps(global, settings, &services, &args.source, workspace)?;
    let request = read_request(local, &args.request, &args.github, settings, &mut services).await?;
    progress(global, "writing the specification");
    let spec = verbs::specify(&steps, &request).await?;
    print_prose(out, global, "spec", &spec)?;
    Ok(Exit::Done)
}

async fn plan(
    args: PlanArgs,
    global: &GlobalOptions,
    settings: &Settings,
    services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let workspace = open_workspace(&args.source)?;
    let spec = read_file_input(&args.spec, "spec")?;
    let steps = steps(global, settings, &services, &args.source, workspace)?;
    progress(global, "writing the plan");
    let plan = verbs::plan(&steps, &spec, args.tech_stack.as_deref()).await?;
    print_prose(out, global, "plan", &plan)?;
    Ok(Exit::Done)
}

async fn decompose(
    args: DecomposeArgs,
    global: &GlobalOptions,
    settings: &Settings,
    mut services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    // Every input is checked before the first model call, so a typo costs nothing.
    let workspace = open_workspace(&args.source)?;
    let registry = match &args.agents {
        Some(agents) => {
            parse_registry(&read_inline_or_file(agents, "--agents")?).map_err(crate::exit::usage)?
        }
        None => builtin_registry(),
    };
    let tiers = tiers::resolve(&args.model_family, &tier_overrides(settings))
        .map_err(crate::exit::usage)?;
    let options = Options {
        include_tests: args.include_tests,
        include_review: args.include_review,
        create_pr: args.create_pr,
        tiers: tiers.clone(),
        registry,
    };
    let given_spec = args
        .spec
        .as_ref()
        .map(|path| read_file_input(path, "spec"))
        .transpose()?;
    let given_plan = args
        .plan
        .as_ref()
        .map(|path| read_file_input(path, "plan"))
        .transpose()?;
    if given_spec.is_none() && !args.request.is_given() {
        return Err(crate::exit::usage(format!(
            "{NO_REQUEST}, or `--spec FILE`"
        )));
    }
    let post_target = if args.post {
        Some(issue_target(args.request.issue_id, &args.github, settings)?)
    } else {
        None
    };
    let local = match &given_spec {
        Some(_) => None,
        None => args.request.read_local()?,
    };
    let steps = steps(global, settings, &services, &args.source, workspace)?;

    let request = match &given_spec {
        Some(_) => {
            let RequestArgs {
                prompt,
                prompt_file,
                stdin,
                ..
            } = &args.request;
            if prompt.is_some() || prompt_file.is_some() || stdin.is_some() {
                tracing::warn!("`--spec` is given: the feature request is not used");
            }
            None
        }
        None => {
            Some(read_request(local, &args.request, &args.github, settings, &mut services).await?)
        }
    };
    let quiet = global.quiet;
    let decomposition = verbs::decompose_all(
        &steps,
        verbs::DecomposeRequest {
            request: request.as_deref(),
            spec: given_spec,
            plan: given_plan,
            tech_stack: args.tech_stack.as_deref(),
            options: &options,
        },
        &|line| {
            if !quiet {
                eprintln!("speck: {line}");
            }
        },
    )
    .await?;
    let output = checked_output(&decomposition, &options, &tiers)?;

    if let Some((repository, number)) = post_target {
        let client = github_client(&mut services, &args.github, settings)?;
        let outcome =
            verbs::post_decomposition(client, &repository, number, &decomposition).await?;
        tracing::info!(
            ?outcome,
            issue = number,
            "decomposition commented on the issue"
        );
    }
    crate::agents::step_outputs::speck_decompose(&decomposition, &output);
    let printed = match args.format {
        OutputFormat::Json => output,
        OutputFormat::Matrix => matrix(&decomposition),
    };
    writeln!(out, "{}", serde_json::to_string_pretty(&printed)?)?;
    Ok(Exit::Done)
}

async fn run_plan(
    args: RunArgs,
    global: &GlobalOptions,
    settings: &Settings,
    mut services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let text = read_file_input(&args.plan, "plan")?;
    let decomposition = parse_decomposition(&text)
        .map_err(|error| crate::exit::usage(format!("`--plan`: {error}")))?;
    if !args.source.is_dir() {
        return Err(crate::exit::usage(format!(
            "`--source {}` is not a directory",
            args.source.display()
        )));
    }
    let source = args
        .source
        .canonicalize()
        .with_context(|| format!("failed to resolve `{}`", args.source.display()))?;
    let work_dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "agentci-speck-{}-{}",
            decomposition.feature,
            std::process::id()
        )),
    };
    let budget = settings.config.budget_with(global);
    let request = RunRequest {
        source: source.clone(),
        phase: args.phase,
        max_parallel: args.max_parallel,
        create_pr: args.create_pr,
        allow_exec: args.allow_exec,
        work_dir,
        limits: Limits {
            max_turns: budget.max_turns,
            max_tokens: budget.max_tokens,
            max_cost_usd: budget.max_cost_usd,
            timeout: budget.timeout,
        },
    };
    if args.create_pr
        && decomposition
            .execution_plan
            .phases
            .iter()
            .all(|phase| phase.pr_branch.is_none())
    {
        return Err(crate::exit::usage(
            "`--create-pr`: the plan names no `pr_branch`; decompose with `--create-pr`",
        ));
    }
    if args.dry_run {
        let planned = dry_run(&decomposition, &request)?;
        if global.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&planned)?)?;
        } else {
            write!(out, "{}", render::dry_run_text(&planned))?;
        }
        return Ok(Exit::Done);
    }
    let publisher: Arc<dyn PhasePublisher> = if args.create_pr {
        let repository = repository(&args.github, settings)?;
        github_client(&mut services, &args.github, settings)?;
        Arc::new(GitHubPublisher {
            client: services
                .github
                .take()
                .ok_or_else(|| anyhow::anyhow!("no GitHub client"))?,
            repository,
            base_branch: args.base.clone(),
            issue: args.issue_id,
            feature: decomposition.feature.clone(),
        })
    } else {
        Arc::new(NoPullRequests)
    };
    let runner: Arc<dyn TaskRunner> = match services.runner.take() {
        Some(runner) => runner,
        None => Arc::new(BinaryRunner {
            binary: std::env::current_exe().context("cannot find agentci's own binary")?,
            global_args: passed_through(global),
        }),
    };
    progress(
        global,
        &format!(
            "running {} phase(s) in {}",
            args.phase
                .map_or(decomposition.execution_plan.total_phases, |_| 1),
            request.work_dir.display()
        ),
    );
    let summary: RunSummary = run_phases(&decomposition, &request, runner, publisher).await?;
    writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    summary.verdict()?;
    Ok(Exit::Done)
}

/// The global flags a task's child process needs to use the same provider, model and config.
/// The budget flags are the task's grant ([`crate::agents::speck::child`]); `--events` is the
/// task's own file.
fn passed_through(global: &GlobalOptions) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut pass = |flag: &str, value: Option<String>| {
        if let Some(value) = value {
            arguments.push(flag.to_owned());
            arguments.push(value);
        }
    };
    pass("--provider", global.provider.clone());
    pass("--model", global.model.clone());
    pass(
        "--config",
        global.config.as_ref().map(|path| {
            path.canonicalize()
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string()
        }),
    );
    arguments
}

fn steps(
    global: &GlobalOptions,
    settings: &Settings,
    services: &Services,
    source: &Path,
    workspace: Arc<Workspace>,
) -> anyhow::Result<Steps> {
    let run = RunServices::resolve(global, settings, services.provider.clone())?;
    let mut steps = Steps::with_services(run, workspace);
    steps.context = load_context(source, "SPECK.md", &[]);
    Ok(steps)
}

fn open_workspace(source: &Path) -> anyhow::Result<Arc<Workspace>> {
    if !source.is_dir() {
        return Err(crate::exit::usage(format!(
            "`--source {}` is not a directory",
            source.display()
        )));
    }
    Workspace::open(source)
}

/// The feature request: the one read from the command line (`local`), or an issue with its
/// comments.
async fn read_request(
    local: Option<String>,
    request: &RequestArgs,
    github: &GitHubOptions,
    settings: &Settings,
    services: &mut Services,
) -> anyhow::Result<String> {
    if let Some(text) = local {
        return Ok(text);
    }
    let Some(number) = request.issue_id else {
        return Err(crate::exit::usage(NO_REQUEST));
    };
    let repository = repository(github, settings)?;
    let client = github_client(services, github, settings)?;
    let text = verbs::request_from_issue(client, &repository, number).await?;
    if text.trim().is_empty() {
        return Err(crate::exit::usage(format!("issue #{number} is empty")));
    }
    Ok(text)
}

/// The issue a `--post` comment goes to: `--issue-id`, else the issue of the GitHub Actions
/// event (an `issues` event, such as the label that starts the article's workflow).
fn issue_target(
    issue_id: Option<u64>,
    github: &GitHubOptions,
    settings: &Settings,
) -> anyhow::Result<(Repository, u64)> {
    let context = detect(
        &settings.environment,
        &ContextOverrides {
            repository: github.repository.clone(),
            issue_number: issue_id,
            ..ContextOverrides::default()
        },
    )?;
    let repository = context.repository.ok_or_else(|| {
        crate::exit::usage(
            "`--post` needs the repository: `--repository OWNER/NAME` or `GITHUB_REPOSITORY`",
        )
    })?;
    let number = context.issue_number.ok_or_else(|| {
        crate::exit::usage("`--post` needs the issue: `--issue-id N`, or run on an issue event")
    })?;
    Ok((repository, number))
}

fn repository(github: &GitHubOptions, settings: &Settings) -> anyhow::Result<Repository> {
    let text = github
        .repository
        .clone()
        .or_else(|| {
            settings
                .environment
                .get("GITHUB_REPOSITORY")
                .map(str::to_owned)
        })
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| {
            crate::exit::usage(
                "the repository is needed: `--repository OWNER/NAME` or `GITHUB_REPOSITORY`",
            )
        })?;
    Repository::parse(&text).map_err(|error| crate::exit::usage(error.to_string()))
}

/// The GitHub client, made once per command: the injected one, else one from the environment.
fn github_client<'a>(
    services: &'a mut Services,
    github: &GitHubOptions,
    settings: &Settings,
) -> anyhow::Result<&'a GitHub> {
    if services.github.is_none() {
        services.github = Some(GitHub::from_env(
            github.github_token.as_deref(),
            &settings.environment,
        )?);
    }
    services
        .github
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no GitHub client"))
}

fn tier_overrides(settings: &Settings) -> BTreeMap<String, TierTable> {
    settings
        .config
        .models
        .iter()
        .map(|(family, tiers)| {
            (
                family.clone(),
                TierTable {
                    low: tiers.low.clone(),
                    medium: tiers.medium.clone(),
                    high: tiers.high.clone(),
                },
            )
        })
        .collect()
}

/// `--agents`: inline JSON, or `@FILE`.
fn read_inline_or_file(value: &str, flag: &str) -> anyhow::Result<String> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| crate::exit::usage(format!("`{flag} @{path}`: {error}"))),
        None => Ok(value.to_owned()),
    }
}

fn print_prose(
    out: &mut dyn Write,
    global: &GlobalOptions,
    key: &str,
    text: &str,
) -> anyhow::Result<()> {
    if global.json {
        let value = serde_json::json!({ key: text });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

fn progress(global: &GlobalOptions, line: &str) {
    if !global.quiet {
        crate::progress::status(&format!("speck: {line}"));
    }
}
