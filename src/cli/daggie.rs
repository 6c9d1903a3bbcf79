//! `agentci daggie …`: the arguments of daggie's verbs and the code that runs them.

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::agent::workspace::{Conclusion, Workspace};
use crate::agent::{Budget, EventSink, Tool};
use crate::agents::daggie::model::{self, ModelRun, RunStats};
use crate::agents::daggie::plan::Proposal;
use crate::agents::daggie::record::Recorded;
use crate::agents::daggie::render::{self, ActionPins, ProviderEnv, RenderOptions};
use crate::agents::daggie::versions::{self, ActionVersions};
use crate::agents::daggie::{
    AssistOptions, OutputMode, PlanInput, Planner, Scanner, WORKFLOW_PATH, load_catalog,
    offline_planner, run_assist,
};
use crate::agents::review::to_markdown;
use crate::cli::GlobalOptions;
use crate::config::Settings;
use crate::exit::Exit;

/// `agentci daggie [VERB]`: without a verb, the options are `assist`'s (`agentci daggie
/// --assignment-file FILE --module-url URL …`, the invocation the docs promise).
#[derive(Debug, Args)]
pub struct DaggieArgs {
    #[command(subcommand)]
    pub verb: Option<DaggieVerb>,
    #[command(flatten)]
    pub assist: Box<AssistArgs>,
}

impl DaggieArgs {
    /// The verb to run: the one named, else `assist` with the options given.
    pub fn verb(&self) -> DaggieVerb {
        self.verb
            .clone()
            .unwrap_or_else(|| DaggieVerb::Assist((*self.assist).clone()))
    }
}

#[derive(Debug, Clone, Subcommand)]
// Parsed once per process; boxing the large variant would only add noise to every match.
#[allow(clippy::large_enum_variant)]
pub enum DaggieVerb {
    /// Write a toolchain-only `dagger.json` and `.github/workflows/ci.yml` from a module library
    Assist(AssistArgs),
    /// Answer a question about the project's Dagger and CI set-up (reads only)
    Explain(ExplainArgs),
    /// Find and fix the cause of a failing Dagger module or configuration
    Debug(DebugArgs),
    /// Review the project's Dagger and CI set-up, or a change to it (reads only)
    Review(ReviewArgs),
    /// Convert the project's `dagger.json` toolchains to Dagger 1.0 `dagger.toml` workspaces
    Migrate(super::daggie_migrate::MigrateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The question (`-` reads it from stdin)
    #[arg(long, value_name = "TEXT")]
    pub question: String,
    /// The project to read
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// A module library whose catalog the answer may refer to (repeatable)
    #[arg(long = "module-url", value_name = "URL|DIR")]
    pub module_urls: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DebugArgs {
    /// The failing command's output, as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["error_file", "stdin"])]
    pub error_output: Option<String>,
    /// The failing command's output, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    pub error_file: Option<PathBuf>,
    /// `-` reads the error output from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    /// The workspace to fix
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Change nothing; print the diff of the fix
    #[arg(long, conflicts_with = "export")]
    pub dry_run: bool,
    /// Write the fixed workspace to this directory instead of back into `--source`
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Apply the changes of a run stopped by a budget or an error anyway
    #[arg(long)]
    pub keep_partial: bool,
    /// Let the agent run `dagger check` and `dagger functions` (and the `[exec]` commands of
    /// agentci.toml)
    #[arg(long)]
    pub allow_exec: bool,
    /// Attach an MCP server: `NAME=COMMAND ARGS…` (stdio) or `NAME=URL` (streamable HTTP)
    #[arg(long, value_name = "NAME=COMMAND|URL")]
    pub mcp: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// The project to review
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Review this unified diff (a file, `-` for stdin) rather than the whole set-up
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// What to look at most closely
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,
}

/// Commands `daggie debug --allow-exec` may run besides those of `[exec]` in agentci.toml.
/// `dagger call` is left out on purpose: it can run a deploy function; a project that wants it
/// allows it in `[exec.daggie]`.
pub const DEBUG_COMMANDS: &[&str] = &["dagger check", "dagger functions"];

/// How long one `exec` command may run.
const EXEC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Debug, Clone, Args)]
pub struct AssistArgs {
    /// What to set up, as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["assignment_file", "stdin"])]
    pub assignment: Option<String>,
    /// What to set up, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    pub assignment_file: Option<PathBuf>,
    /// `-` reads the assignment from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    /// The project to set up
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// A module library: a local directory or a git URL (repeatable; `--module-urls` is an alias)
    #[arg(
        long = "module-url",
        visible_alias = "module-urls",
        value_name = "URL|DIR"
    )]
    pub module_urls: Vec<String>,
    /// Plan without a model, from the catalog's own descriptions
    #[arg(long)]
    pub offline: bool,
    /// Write nothing; print the diff of what would be written
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,
    /// Write nothing; exit 1 when the files on disk differ from what would be generated
    #[arg(long)]
    pub check: bool,
    /// `engineVersion` for dagger.json [default: the newest among the chosen modules]
    #[arg(long, value_name = "V")]
    pub engine_version: Option<String>,
    /// The Dagger version to write for: 1.x writes `dagger.toml` workspaces, 0.x `dagger.json`;
    /// `auto` asks the `dagger` on `PATH`, then the project's config, then the library
    #[arg(long, value_name = "VERSION|auto", default_value = "auto")]
    pub dagger_version: String,
    /// `dagger/dagger-for-github` version for the workflow [default: the newest release when
    /// `GITHUB_TOKEN` is set, else the built-in one]
    #[arg(long, value_name = "V")]
    pub action_version: Option<String>,
    /// The branch whose pushes deploy
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub default_branch: String,
    /// Replace a `.github/workflows/ci.yml` that daggie did not generate, or a `dagger.json`
    /// whose hand edits conflict with the plan
    #[arg(long)]
    pub force: bool,
    /// The module libraries are private: the workflow reads them with a token from this
    /// repository secret (Dagger uses the host's git credentials)
    #[arg(long, value_name = "SECRET", num_args = 0..=1, default_missing_value = DEFAULT_MODULES_TOKEN)]
    pub private_modules: Option<String>,
    /// Action versions looked up before planning (set by the command line, not a flag).
    #[arg(skip)]
    pub looked_up: Option<ActionVersions>,
}

/// The repository secret `--private-modules` uses when it names none.
pub const DEFAULT_MODULES_TOKEN: &str = "DAGGER_MODULES_TOKEN";

/// A model run and the settings it was built from.
#[derive(Clone)]
pub struct ModelContext {
    pub run: ModelRun,
    pub settings: Settings,
}

impl ModelContext {
    /// The provider detected for this command line, with the budget, event stream, pricing and
    /// progress it asks for. Fails (exit 2) when no provider is configured.
    pub fn from_command_line(global: &GlobalOptions) -> anyhow::Result<Self> {
        let working_dir = std::env::current_dir()
            .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
        let settings = Settings::load(global, &working_dir)?;
        let (provider_settings, _reason) =
            crate::llm::detect::require_provider_for(global, &settings)?;
        let provider = crate::llm::build_provider(provider_settings)?;
        let prices = crate::llm::pricing::PriceTable::new(&settings.config.pricing);
        let model_name = provider.model().to_string();
        let run = ModelRun {
            provider,
            budget: Budget::from_config(&settings.config.budget_with(global)),
            events: EventSink::from_flag(global.events.as_deref())?,
            pricing: Arc::new(move |usage| prices.cost_usd(&model_name, usage)),
            progress: !global.quiet,
        };
        Ok(ModelContext { run, settings })
    }
}

/// Run a daggie command line: build the model run when the verb needs one, then run the verb.
pub async fn run_command(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    let verb = args.verb();
    if let DaggieVerb::Migrate(migrate_args) = &verb {
        return super::daggie_migrate::run(migrate_args, global, &mut out);
    }
    if let DaggieVerb::Assist(assist_args) = &verb {
        let mut assist_args = assist_args.clone();
        if assist_args.action_version.is_none() && !assist_args.check {
            assist_args.looked_up = Some(look_up_action_versions().await);
        }
        let args = DaggieArgs {
            verb: Some(DaggieVerb::Assist(assist_args.clone())),
            assist: Box::new(assist_args.clone()),
        };
        // `--check` re-renders the recorded plan: no model, whatever is configured.
        if assist_args.offline || assist_args.check {
            return tokio::task::block_in_place(|| run(&args, global, scan, None, &mut out));
        }
        let context = ModelContext::from_command_line(global)?;
        return run_with_model(&args, global, scan, &context, &mut out).await;
    }
    let context = ModelContext::from_command_line(global)?;
    run_with_model(args, global, scan, &context, &mut out).await
}

/// The newest action releases when a GitHub token says daggie may ask the API (in Actions, or
/// with `GITHUB_TOKEN` set), else the built-in versions.
async fn look_up_action_versions() -> ActionVersions {
    let environment = crate::github::client::ProcessEnv;
    if std::env::var_os("GITHUB_TOKEN").is_none_or(|token| token.is_empty()) {
        return ActionVersions::built_in("no `GITHUB_TOKEN` to ask the GitHub API with");
    }
    match crate::github::client::GitHub::from_env(None, &environment) {
        Ok(client) => versions::look_up(&client).await,
        Err(error) => ActionVersions::built_in(&format!("the GitHub client failed: {error}")),
    }
}

/// Run a daggie verb with a model. `assist` runs its (blocking) pipeline in `block_in_place`, so
/// this needs a multi-threaded tokio runtime.
pub async fn run_with_model(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    context: &ModelContext,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match &args.verb() {
        DaggieVerb::Assist(_) => tokio::task::block_in_place(|| {
            let handle = tokio::runtime::Handle::current();
            let planner = |input: &PlanInput<'_>| handle.block_on(model::plan(&context.run, input));
            run(args, global, scan, Some(&planner), out)
        }),
        DaggieVerb::Explain(explain_args) => {
            explain(explain_args, global, scan, context, out).await
        }
        DaggieVerb::Debug(debug_args) => debug(debug_args, global, context, out).await,
        DaggieVerb::Review(review_args) => review(review_args, global, context, out).await,
        DaggieVerb::Migrate(migrate_args) => super::daggie_migrate::run(migrate_args, global, out),
    }
}

/// Run a daggie verb. `scan` reads module libraries; `model_planner` plans with a model and is
/// only needed without `--offline`. The model verbs need [`run_with_model`].
pub fn run(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match &args.verb() {
        DaggieVerb::Assist(assist_args) => assist(assist_args, global, scan, model_planner, out),
        DaggieVerb::Migrate(migrate_args) => super::daggie_migrate::run(migrate_args, global, out),
        DaggieVerb::Explain(_) | DaggieVerb::Debug(_) | DaggieVerb::Review(_) => {
            Err(crate::exit::usage(
                "`daggie explain`, `debug` and `review` need a model; configure a provider",
            ))
        }
    }
}

/// `daggie explain`.
pub async fn explain(
    args: &ExplainArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    context: &ModelContext,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let question = if args.question == "-" {
        read_stdin("the question")?
    } else {
        args.question.clone()
    };
    if question.trim().is_empty() {
        return Err(crate::exit::usage(
            "the question is empty; pass `--question TEXT` or `--question -` for stdin",
        ));
    }
    let catalog = if args.module_urls.is_empty() {
        None
    } else {
        Some(tokio::task::block_in_place(|| {
            load_catalog(&args.module_urls, scan)
        })?)
    };
    let (answer, stats) =
        model::explain(&context.run, &args.source, &question, catalog.as_ref()).await?;
    if global.json {
        write_json(out, &serde_json::json!({"answer": answer, "run": stats}))?;
    } else {
        writeln!(out, "{}", crate::redact::redact(answer.trim_end()))?;
    }
    Ok(Exit::Done)
}

/// `daggie debug`: the fix lands in the workspace, which is applied, diffed or exported at the
/// end; a failed run leaves `--source` untouched (its changes are saved as a patch) unless
/// `--keep-partial`.
pub async fn debug(
    args: &DebugArgs,
    global: &GlobalOptions,
    context: &ModelContext,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let error_output = read_error_output(args)?;
    if error_output.trim().is_empty() {
        return Err(crate::exit::usage(
            "the error output is empty; pass `--error-output TEXT`, `--error-file FILE` or `-`",
        ));
    }
    let workspace = Workspace::open(&args.source)?;
    let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
    if args.allow_exec {
        let mut allowed: Vec<String> = DEBUG_COMMANDS.iter().map(|c| c.to_string()).collect();
        for command in context.settings.config.exec.allowed_for("daggie") {
            if !allowed.contains(&command) {
                allowed.push(command);
            }
        }
        tools.push(crate::agent::tools::exec_tool(
            &workspace,
            allowed,
            EXEC_TIMEOUT,
        ));
    }
    let servers = if args.mcp.is_empty() && context.settings.config.mcp.is_empty() {
        None
    } else {
        let specs = crate::agent::mcp::server_specs(&args.mcp, &context.settings.config)?;
        let servers = crate::agent::mcp::start_servers(&specs, &context.settings.environment).await;
        tools.extend(servers.tools());
        Some(servers)
    };
    let result = model::debug(&context.run, &workspace, &error_output, tools).await;
    if let Some(servers) = servers {
        servers.shutdown().await;
    }
    let mode = if args.dry_run {
        Conclusion::DryRun
    } else if let Some(directory) = &args.export {
        Conclusion::Export(directory.clone())
    } else if args.keep_partial && result.is_err() {
        Conclusion::KeepPartial
    } else {
        Conclusion::Apply
    };
    let concluded = workspace.conclude(result.is_ok(), &mode)?;
    let (report, stats) = match result {
        Ok(done) => done,
        Err(error) => {
            let kept = match (&concluded.patch, concluded.applied.is_empty()) {
                (Some(patch), true) => format!(
                    "; the partial changes are saved in `{}` (apply them with `git apply`, or                      rerun with `--keep-partial`)",
                    patch.display()
                ),
                (Some(patch), false) => format!(
                    "; the partial changes were applied (`--keep-partial`) and saved in `{}`",
                    patch.display()
                ),
                (None, _) => String::new(),
            };
            return Err(error.context(format!("daggie debug stopped{kept}")));
        }
    };
    write_debug_result(out, global, &report, &stats, &concluded)?;
    Ok(Exit::Done)
}

fn write_debug_result(
    out: &mut dyn Write,
    global: &GlobalOptions,
    report: &str,
    stats: &RunStats,
    concluded: &crate::agent::workspace::Concluded,
) -> anyhow::Result<()> {
    let applied: Vec<String> = concluded
        .applied
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    if global.json {
        return write_json(
            out,
            &serde_json::json!({
                "report": report,
                "run": stats,
                "applied": applied,
                "diff": concluded.diff,
                "exported": concluded.exported.as_ref().map(|path| path.display().to_string()),
                "patch": concluded.patch.as_ref().map(|path| path.display().to_string()),
            }),
        );
    }
    writeln!(out, "{}", crate::redact::redact(report.trim_end()))?;
    if !applied.is_empty() {
        writeln!(
            out,
            "
Changed: {}",
            applied.join(", ")
        )?;
    }
    if let Some(exported) = &concluded.exported {
        writeln!(
            out,
            "
The fixed workspace is in `{}`",
            exported.display()
        )?;
    }
    if let Some(diff) = concluded.diff.as_deref().filter(|diff| !diff.is_empty()) {
        write!(
            out,
            "
{}",
            crate::redact::redact(diff)
        )?;
    }
    if applied.is_empty() && concluded.exported.is_none() && concluded.diff.is_none() {
        writeln!(
            out,
            "
No file changed."
        )?;
    }
    Ok(())
}

/// `daggie review`.
pub async fn review(
    args: &ReviewArgs,
    global: &GlobalOptions,
    context: &ModelContext,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let diff = match &args.diff {
        None => None,
        Some(path) if path.as_os_str() == "-" => Some(read_stdin("the diff")?),
        Some(path) => Some(read_file(path, "diff")?),
    };
    let (submission, _stats) = model::review(
        &context.run,
        &args.source,
        diff.as_deref(),
        args.focus.as_deref(),
    )
    .await?;
    if global.json {
        write_json(out, &serde_json::to_value(&submission)?)?;
    } else {
        write!(
            out,
            "{}",
            crate::redact::redact(&to_markdown(&submission, "Daggie"))
        )?;
    }
    Ok(Exit::Done)
}

fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &crate::redact::redact_json(value))?;
    writeln!(out)?;
    Ok(())
}

fn read_error_output(args: &DebugArgs) -> anyhow::Result<String> {
    read_text_input(
        args.error_output.as_deref(),
        args.error_file.as_deref(),
        args.stdin.as_deref(),
        "error output",
        ["--error-output", "--error-file"],
    )
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|error| {
        crate::exit::usage(format!(
            "cannot read the {what} `{}`: {error}",
            path.display()
        ))
    })
}

pub fn assist(
    args: &AssistArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let assignment = read_assignment(args)?;
    let planner: Planner<'_> = if args.offline || args.check {
        &offline_planner
    } else {
        model_planner.ok_or_else(|| {
            crate::exit::usage(
                "no model planner was given; configure a provider (see `agentci doctor`) or pass \
                 `--offline` to plan from the catalog alone",
            )
        })?
    };
    let mode = if args.check {
        OutputMode::Check
    } else if args.dry_run {
        OutputMode::DryRun
    } else {
        OutputMode::Write
    };
    let previous = read_recorded(&args.source);
    let mut notes = Vec::new();
    let (action_version, actions, provider, modules_token) = match (&previous, mode) {
        // `--check` re-renders what the files record, so the environment it runs in (a key, a
        // newer action release) cannot make them look stale.
        (Some(recorded), OutputMode::Check) => (
            recorded.action_version.clone(),
            recorded.actions.clone(),
            recorded.provider.clone(),
            recorded.modules_token.clone(),
        ),
        _ => {
            let (action_version, actions) = match (&args.action_version, &args.looked_up) {
                (Some(version), _) => {
                    notes.push(format!(
                        "action versions: `dagger/dagger-for-github@{version}` from \
                         `--action-version`"
                    ));
                    (version.clone(), ActionPins::default())
                }
                (None, Some(found)) => {
                    notes.push(found.note.clone());
                    (found.dagger.clone(), found.actions.clone())
                }
                (None, None) => match &previous {
                    // Keep what the files pin rather than flip-flop with the API's answers.
                    Some(recorded) => (recorded.action_version.clone(), recorded.actions.clone()),
                    None => {
                        let built_in = ActionVersions::built_in("no lookup was made");
                        (built_in.dagger, built_in.actions)
                    }
                },
            };
            let provider = workflow_provider(global)?;
            notes.push(format!(
                "the fix steps use provider `{}` ({})",
                provider.provider,
                [&provider.key, &provider.model, &provider.base_url]
                    .into_iter()
                    .flatten()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            (
                action_version,
                actions,
                provider,
                args.private_modules.clone(),
            )
        }
    };
    if let Some(secret) = &modules_token {
        notes.push(format!(
            "the module libraries are private: create the repository secret `{secret}` with a \
             token that can read them; the workflow hands it to git, which Dagger uses to fetch \
             modules"
        ));
    }
    let recorded_planner;
    let planner: Planner<'_> = match (&previous, mode) {
        (Some(recorded), OutputMode::Check) => {
            let plan = recorded.plan.clone();
            recorded_planner = move |_: &PlanInput<'_>| {
                Ok(Proposal {
                    plan: plan.clone(),
                    reasons: vec![format!(
                        "re-rendered from the plan recorded in `{WORKFLOW_PATH}` (no model call)"
                    )],
                })
            };
            &recorded_planner
        }
        _ => planner,
    };
    let action_version = render::normalize_action_version(&action_version)?;
    let options = AssistOptions {
        assignment,
        source: args.source.clone(),
        module_urls: args.module_urls.clone(),
        mode,
        render: RenderOptions {
            engine_version: args.engine_version.clone(),
            dagger_version: Some(args.dagger_version.clone()),
            action_version,
            default_branch: args.default_branch.clone(),
            actions,
            provider,
            modules_token,
        },
        force: args.force,
        notes,
    };
    let report = run_assist(&options, scan, planner)?;
    if global.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &crate::redact::redact_json(&serde_json::to_value(&report)?),
        )?;
        writeln!(out)?;
    } else {
        write!(out, "{}", crate::redact::redact(&report.summary()))?;
        if let Some(diff) = &report.diff
            && !diff.is_empty()
        {
            write!(out, "\n{diff}")?;
        }
    }
    crate::agents::step_outputs::daggie_assist(&report);
    let stale = report.stale_files();
    if options.mode == OutputMode::Check && !stale.is_empty() {
        return Err(crate::exit::negative(format!(
            "{} out of date; run `agentci daggie assist` without `--check` to regenerate",
            stale
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    Ok(Exit::Done)
}

/// The plan the project's generated workflow records, if it has one.
fn read_recorded(source: &Path) -> Option<Recorded> {
    let text = std::fs::read_to_string(source.join(WORKFLOW_PATH)).ok()?;
    Recorded::from_workflow(&text)
}

/// The provider the generated fix steps pass the variables of: `--provider`, else agentci.toml's
/// `[provider] name`, else the one detected from the environment, else Anthropic; with its model
/// and base-URL variables when a model or base URL is configured.
fn workflow_provider(global: &GlobalOptions) -> anyhow::Result<ProviderEnv> {
    let working_dir = std::env::current_dir()
        .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
    let settings = Settings::load(global, &working_dir)?;
    let named = global
        .provider
        .clone()
        .or_else(|| settings.config.provider.name.clone());
    let detected = crate::llm::detect::detect(
        &crate::llm::detect::Overrides::from_options(global),
        &settings.config,
        &settings.environment,
    )
    .ok()
    .flatten();
    let name = named
        .or_else(|| detected.as_ref().map(|found| found.kind.name().to_string()))
        .unwrap_or_else(|| ProviderEnv::default().provider);
    let kind: crate::llm::ProviderKind = name.parse().map_err(crate::exit::usage)?;
    let environment = &settings.environment;
    let model = global.model.is_some()
        || settings.config.provider.model.is_some()
        || environment.get(kind.model_variable()).is_some();
    let base_url = settings.config.provider.base_url.is_some()
        || environment.get(kind.base_url_variable()).is_some();
    let mut provider = ProviderEnv::for_provider(kind.name(), model, base_url)?;
    if let Some(key) = &settings.config.provider.api_key_env
        && provider.key.is_some()
    {
        provider.key = Some(key.clone());
    }
    Ok(provider)
}

fn read_assignment(args: &AssistArgs) -> anyhow::Result<String> {
    read_text_input(
        args.assignment.as_deref(),
        args.assignment_file.as_deref(),
        args.stdin.as_deref(),
        "assignment",
        ["--assignment", "--assignment-file"],
    )
}

/// A text given as `--<text flag> TEXT`, `--<file flag> FILE` or a bare `-`, where `-` (also as
/// the flag's value) reads stdin.
fn read_text_input(
    text: Option<&str>,
    file: Option<&Path>,
    stdin: Option<&str>,
    what: &str,
    [text_flag, file_flag]: [&str; 2],
) -> anyhow::Result<String> {
    let from_stdin = || read_stdin(&format!("the {what}"));
    if let Some(text) = text {
        return if text == "-" {
            from_stdin()
        } else {
            Ok(text.to_string())
        };
    }
    if let Some(path) = file {
        if path.as_os_str() == "-" {
            return from_stdin();
        }
        let file_what = file_flag.trim_start_matches('-').replace('-', " ");
        return read_file(path, &file_what);
    }
    match stdin {
        Some("-") => from_stdin(),
        Some(other) => Err(crate::exit::usage(format!(
            "unexpected argument `{other}`; pass the {what} with `{text_flag} TEXT`, \
             `{file_flag} FILE` or `-` for stdin"
        ))),
        None => Err(crate::exit::usage(format!(
            "no {what}; pass `{text_flag} TEXT`, `{file_flag} FILE` or `-` for stdin"
        ))),
    }
}

fn read_stdin(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| crate::exit::usage(format!("cannot read {what} from stdin: {error}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        verb: DaggieVerb,
    }

    fn parse(args: &[&str]) -> Result<AssistArgs, clap::Error> {
        let mut full = vec!["daggie", "assist"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).map(|cli| match cli.verb {
            DaggieVerb::Assist(args) => args,
            other => panic!("not assist: {other:?}"),
        })
    }

    #[test]
    fn parses_the_documented_flags() {
        let args = parse(&[
            "--assignment-file",
            "daggie-assignment.md",
            "--source",
            "examples/monorepo",
            "--module-url",
            "https://github.com/acme/dagger-modules.git",
            "--module-url",
            "./local-modules",
            "--offline",
            "--dry-run",
            "--engine-version",
            "v0.20.3",
            "--action-version",
            "v8.4.1",
        ])
        .unwrap();
        assert_eq!(args.module_urls.len(), 2);
        assert!(args.offline && args.dry_run && !args.check);
        assert_eq!(args.source, PathBuf::from("examples/monorepo"));
        assert_eq!(args.default_branch, "main");
        assert_eq!(args.action_version.as_deref(), Some("v8.4.1"));
        let stdin = parse(&["-", "--module-url", "modules"]).unwrap();
        assert_eq!(stdin.stdin.as_deref(), Some("-"));
    }

    #[test]
    fn conflicting_flags_are_refused() {
        assert!(parse(&["--dry-run", "--check", "--assignment", "x"]).is_err());
        assert!(parse(&["--assignment", "x", "--assignment-file", "f"]).is_err());
        assert!(parse(&["--assignment-file", "f", "-"]).is_err());
    }

    #[test]
    fn an_empty_or_odd_assignment_source_is_a_usage_error() {
        let args = parse(&["--module-url", "modules"]).unwrap();
        let error = read_assignment(&args).unwrap_err();
        assert_eq!(crate::cli::exit_for(&error), Exit::Usage);
        let args = parse(&["assignment.md", "--module-url", "modules"]).unwrap();
        let error = read_assignment(&args).unwrap_err();
        assert!(format!("{error}").contains("unexpected argument `assignment.md`"));
        let args = parse(&["--assignment", "Set up CI", "--module-url", "modules"]).unwrap();
        assert_eq!(read_assignment(&args).unwrap(), "Set up CI");
    }
}
