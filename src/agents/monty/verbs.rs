//! monty's and angie's verbs on the agent runtime: `suggest-fix` and `review` (read-only tools,
//! typed submissions, one pull-request review) and the workspace verbs `assist`, `write-tests`,
//! `build` and `upgrade` (read-write tools, a report, changes applied or shown at the end).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::agent::memory::{LearningSink, RecordLearning};
use crate::agent::tools::{Access, exec_tool, workspace_tools};
use crate::agent::workspace::{ChangeKind, Concluded, Conclusion, Workspace};
use crate::agent::{
    Agent, AgentSpec, Budget, EventSink, Report, RunError, RunOutcome, Submit, Tool, load_context,
    report_submit,
};
use crate::agent::{AgentOptions, SelfImprove};
use crate::agents::step_outputs;
use crate::config::{Environment, GlobalOptions, Settings};
use crate::exit::Exit;
use crate::github::args::GitHubOptions;
use crate::github::client::{ClientSettings, EnvSource, GitHub};
use crate::github::context::GitHubContext;
use crate::github::review::{
    Finding, Footer, ReviewInput, ReviewOptions, ReviewOutcome, publish_review,
};
use crate::llm::Provider;
use crate::llm::pricing::PriceTable;

use super::failures::Layout;
use super::fix;
use super::packs::LanguagePack;
use super::request::{
    BuildRequest, MontyRequest, ReviewRequest, SuggestFixRequest, UpgradeRequest, WriteTestsRequest,
};
use super::review::{self as review_model, ReviewSubmission};
use super::suggest::{self, SuggestionSubmission};

/// How long one `exec` or verify command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a run needs from outside: configuration, and for tests an injected provider and GitHub
/// server.
pub struct Services {
    pub settings: Settings,
    /// Used instead of detecting a provider from the settings.
    pub provider: Option<Arc<dyn Provider>>,
    /// Used instead of `--github-token`/`GITHUB_API_URL`; `--dry-run` still applies.
    pub github: Option<ClientSettings>,
    /// What the command has spent: every run of one command (develop-issue's route, verb and
    /// retry) shares it, so the budget bounds the command.
    pub ledger: Arc<crate::agent::budget::Ledger>,
}

impl Services {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            provider: None,
            github: None,
            ledger: crate::agent::budget::Ledger::shared(),
        }
    }
}

/// The configuration layer's environment as the GitHub layer reads it.
pub(crate) struct SettingsEnv<'a>(pub(crate) &'a Environment);

impl EnvSource for SettingsEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(str::to_owned)
    }
}

/// Run one verb.
pub async fn run(
    pack: &'static LanguagePack,
    request: &MontyRequest,
    global: &GlobalOptions,
    services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match request {
        MontyRequest::SuggestFix(verb) => suggest_fix(pack, verb, global, &services, out).await,
        MontyRequest::Review(verb) => review(pack, verb, global, &services, out).await,
        MontyRequest::Assist(verb) => {
            let assignment = verb.assignment.clone();
            let task = |allowed: Option<&[String]>| {
                fix::assist_prompt(&verb.agent.source, &assignment, allowed)
            };
            workspace_verb(pack, "assist", &verb.agent, global, &services, &task, out).await
        }
        MontyRequest::WriteTests(verb) => write_tests(pack, verb, global, &services, out).await,
        MontyRequest::Build(verb) => build(pack, verb, global, &services, out).await,
        MontyRequest::Upgrade(verb) => upgrade(pack, verb, global, &services, out).await,
        MontyRequest::DevelopIssue(verb) => {
            super::develop::develop_issue(pack, verb, global, &services, out).await
        }
    }
}

pub(crate) fn provider(
    services: &Services,
    global: &GlobalOptions,
) -> anyhow::Result<Arc<dyn Provider>> {
    if let Some(provider) = &services.provider {
        return Ok(Arc::clone(provider));
    }
    let (settings, _reason) = crate::llm::detect::require_provider_for(global, &services.settings)?;
    Ok(crate::llm::build_provider(settings)?)
}

/// The agent with everything every verb shares: prompt, context files, budget, events, pricing.
pub(crate) fn agent(
    pack: &LanguagePack,
    verb: &str,
    provider: Arc<dyn Provider>,
    source: &Path,
    global: &GlobalOptions,
    services: &Services,
) -> anyhow::Result<Agent> {
    let spec = AgentSpec {
        agent: pack.agent.to_owned(),
        verb: verb.to_owned(),
        system_prompt: fix::system_prompt(pack)?,
    };
    let config = &services.settings.config;
    let budget = Budget::from_config(&config.budget_with(global));
    let events = EventSink::from_flag(global.events.as_deref())?;
    let prices = PriceTable::new(&config.pricing);
    let model = provider.model().to_owned();
    Ok(Agent::new(provider, spec)
        .context(load_context(source, pack.context_file, &[]))
        .budget(budget)
        .ledger(Arc::clone(&services.ledger))
        .events(events)
        .pricing(move |usage| prices.cost_usd(&model, usage))
        .progress(!global.quiet))
}

fn require_directory(source: &Path) -> anyhow::Result<()> {
    if source.is_dir() {
        Ok(())
    } else {
        Err(crate::exit::usage(format!(
            "`--source {}` is not a directory",
            source.display()
        )))
    }
}

/// Flags that only mean something for verbs that change files.
fn refuse_workspace_flags(verb: &str, agent: &AgentOptions) -> anyhow::Result<()> {
    if agent.export.is_some() || agent.keep_partial {
        return Err(crate::exit::usage(format!(
            "`{verb}` changes no files: `--export` and `--keep-partial` do not apply"
        )));
    }
    Ok(())
}

/// The commands `exec` (and `--verify`) may run: the pack's checks, its installing and
/// code-running commands with `--allow-exec=install`, then the config's.
fn allowed_commands(pack: &LanguagePack, settings: &Settings, install: bool) -> Vec<String> {
    let installing: &[&str] = if install { pack.install_commands } else { &[] };
    let mut allowed: Vec<String> = pack
        .check_commands
        .iter()
        .chain(installing)
        .map(|command| (*command).to_owned())
        .collect();
    for command in settings.config.exec.allowed_for(pack.agent) {
        if !allowed.contains(&command) {
            allowed.push(command);
        }
    }
    allowed
}

/// The pull request to publish on, when there is one; `None` without repository or number.
async fn pull_request(
    github: &GitHubOptions,
    env: &dyn EnvSource,
    client: &GitHub,
) -> anyhow::Result<Option<(GitHubContext, String)>> {
    let mut context = github.context(env)?;
    if context.repository.is_none() {
        return Ok(None);
    }
    if context.pr_number.is_none() && context.in_actions && context.head_sha.is_some() {
        context.resolve_pr_from_head(client).await?;
    }
    if context.pr_number.is_none() {
        return Ok(None);
    }
    let head = context.resolve_head_sha(client).await?.to_owned();
    Ok(Some((context, head)))
}

pub(crate) fn github_client(
    services: &Services,
    github: &GitHubOptions,
    env: &dyn EnvSource,
    dry_run: bool,
) -> anyhow::Result<GitHub> {
    let settings = match &services.github {
        Some(settings) => settings.clone(),
        None => ClientSettings::from_env(github.github_token.as_deref(), env)?,
    };
    Ok(GitHub::new(settings.with_dry_run(dry_run))?)
}

/// What one review publishes.
struct Publication<'a> {
    summary: &'a str,
    model: &'a str,
    findings: Vec<Finding>,
    /// A line the review body carries (suggest-fix's verification count).
    body_note: Option<String>,
}

/// Publish the findings as one review on the pull request of the context, if there is one.
async fn publish(
    pack: &LanguagePack,
    services: &Services,
    github: &GitHubOptions,
    dry_run: bool,
    publication: Publication<'_>,
) -> anyhow::Result<Option<ReviewOutcome>> {
    let Publication {
        summary,
        model,
        findings,
        body_note,
    } = publication;
    let env = SettingsEnv(&services.settings.environment);
    let context = github.context(&env)?;
    if context.repository.is_none() || (context.pr_number.is_none() && !context.in_actions) {
        return Ok(None);
    }
    let client = github_client(services, github, &env, dry_run)?;
    let Some((context, head_sha)) = pull_request(github, &env, &client).await? else {
        return Ok(None);
    };
    let input = ReviewInput {
        repository: context.require_repository()?.clone(),
        pr_number: context.require_pr_number()?,
        head_sha,
        agent: pack.agent.to_owned(),
        summary: summary.to_owned(),
        footer: Footer::new(model),
        findings,
    };
    Ok(Some(
        publish_review(
            &client,
            &input,
            &ReviewOptions {
                body_note,
                ..ReviewOptions::default()
            },
        )
        .await?,
    ))
}

/// The changes of the pull request in context under `--source`; `None` without one.
async fn pull_request_diff(
    services: &Services,
    github: &GitHubOptions,
    layout: &Layout,
) -> anyhow::Result<Option<String>> {
    let env = SettingsEnv(&services.settings.environment);
    let context = github.context(&env)?;
    let (Some(repository), Some(number)) = (context.repository.as_ref(), context.pr_number) else {
        return Ok(None);
    };
    // Only reads: a dry-run client cannot write by accident.
    let client = github_client(services, github, &env, true)?;
    let diff = crate::github::diff::pull_diff(&client, repository, number).await?;
    let text = fix::pull_diff_text(layout, &diff);
    Ok((!text.trim().is_empty()).then_some(text))
}

pub(crate) fn write_json(out: &mut dyn Write, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &crate::redact::redact_json(value))?;
    writeln!(out)?;
    Ok(())
}

fn write_planned(out: &mut dyn Write, outcome: &ReviewOutcome) -> anyhow::Result<()> {
    writeln!(
        out,
        "\nDry run: the requests that would be sent to GitHub:\n"
    )?;
    write_json(out, &serde_json::to_value(&outcome.planned)?)
}

pub async fn suggest_fix(
    pack: &'static LanguagePack,
    args: &SuggestFixRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    refuse_workspace_flags("suggest-fix", &args.agent)?;
    let source = &args.agent.source;
    let log = args.log.clone();
    let (layout, failures) = fix::failures_for(pack, source, &log)?;
    if failures.is_empty() {
        let message = fix::nothing_message(pack, source);
        let output = fix::output(&message, &[], &[], None, args.agent.dry_run);
        let env = SettingsEnv(&services.settings.environment);
        step_outputs::suggest_fix(&env, &layout, &[], &output, &message, None);
        if global.json {
            write_json(out, &serde_json::to_value(&output)?)?;
        } else {
            writeln!(out, "{message}")?;
        }
        return Ok(Exit::Done);
    }
    if args.max_suggestions == 0 {
        return Err(crate::exit::usage("`--max-suggestions` must be at least 1"));
    }
    let path_var = services.settings.environment.get("PATH").map(str::to_owned);
    let verifier = if args.verify {
        if !args.agent.allow_exec {
            return Err(crate::exit::usage(
                "`--verify` runs the failing command: pass `--allow-exec` too",
            ));
        }
        Some(verifier(
            pack,
            args,
            services,
            &layout,
            &failures,
            &log,
            path_var.as_deref(),
        )?)
    } else {
        None
    };
    let provider = provider(services, global)?;
    let model = provider.model().to_owned();

    let workspace = Workspace::open(source)?;
    let task = fix::suggest_fix_prompt(source, &failures, args.max_suggestions)?;
    let task = match args.assignment.clone() {
        Some(extra) => format!("{task}\n## Assignment\n\n{}\n", extra.trim()),
        None => task,
    };
    let checked_source = layout.source.clone();
    let max = args.max_suggestions;
    let submit = Submit::<SuggestionSubmission>::new(
        "submit_suggestions",
        "Submit the fix suggestions: a summary and at most the allowed number of line-range replacements.",
    )
    .validate(move |submission| suggest::check(submission, &checked_source, max).map(|_| ()));
    let outcome = agent(pack, "suggest-fix", provider, source, global, services)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&task, submit)
        .await?;
    let suggestions = suggest::check(&outcome.value, &layout.source, max)
        .map_err(|reasons| anyhow::anyhow!("the submission is invalid: {}", reasons.join("; ")))?;

    let verified = match &verifier {
        Some(verifier) => {
            super::verify::verify_suggestions(
                verifier,
                &suggestions,
                COMMAND_TIMEOUT,
                path_var.as_deref(),
            )
            .await?
        }
        None => Vec::new(),
    };

    let (findings, note) = fix::verified_findings(
        &layout,
        &suggestions,
        &verified,
        verifier
            .as_ref()
            .map(super::verify::Verifier::label)
            .as_deref(),
        args.only_verified,
    );
    let published = if findings.is_empty() && args.only_verified {
        None
    } else {
        publish(
            pack,
            services,
            &args.github,
            args.agent.dry_run,
            Publication {
                summary: &outcome.value.summary,
                model: &model,
                findings,
                body_note: note,
            },
        )
        .await?
    };
    let output = fix::output(
        &outcome.value.summary,
        &suggestions,
        &verified,
        published.as_ref(),
        args.agent.dry_run,
    );
    let markdown = fix::to_markdown(&output, pack);
    let env = SettingsEnv(&services.settings.environment);
    let context = args.github.context(&env).ok();
    step_outputs::suggest_fix(
        &env,
        &layout,
        &failures,
        &output,
        &markdown,
        context.as_ref(),
    );
    if global.json {
        let mut value = serde_json::to_value(&output)?;
        if let (Some(outcome), Some(object)) = (&published, value.as_object_mut())
            && !outcome.planned.is_empty()
        {
            object.insert("planned".into(), serde_json::to_value(&outcome.planned)?);
        }
        write_json(out, &value)?;
    } else {
        write!(out, "{markdown}")?;
        if let Some(outcome) = &published
            && !outcome.planned.is_empty()
        {
            write_planned(out, outcome)?;
        }
    }
    report_usage(&outcome);
    Ok(Exit::Done)
}

/// How `--verify` checks the suggestions: `dagger check <the failed checks>` on a copy of the
/// repository when `dagger` is on `PATH`; else `--verify-command` or the failing command the log
/// shows, on a copy of the source, when it is allowed for this agent.
fn verifier(
    pack: &LanguagePack,
    args: &SuggestFixRequest,
    services: &Services,
    layout: &Layout,
    failures: &[super::failures::Failure],
    log: &str,
    path_var: Option<&str>,
) -> anyhow::Result<super::verify::Verifier> {
    let mut checks: Vec<String> = Vec::new();
    for check in failures.iter().filter_map(|failure| failure.check.clone()) {
        if !checks.contains(&check) {
            checks.push(check);
        }
    }
    if args.verify_command.is_none()
        && !checks.is_empty()
        && let Some(program) = path_var.and_then(|path| super::verify::find_on_path("dagger", path))
    {
        return Ok(super::verify::Verifier::Dagger {
            program,
            checks,
            root: layout.root.clone(),
            source_in_root: layout.source_in_root(),
        });
    }
    let words = match &args.verify_command {
        Some(text) => super::verify::split_command(text)?,
        None => super::verify::recovered_command(log, &checks).ok_or_else(|| {
            crate::exit::usage(
                "`--verify` found neither `dagger` on `PATH` nor the failing command in the log: pass `--verify-command`",
            )
        })?,
    };
    if !crate::support::command_allowed(
        &words,
        &allowed_commands(pack, &services.settings, args.agent.allow_install),
    ) {
        return Err(crate::exit::usage(format!(
            "`{}` is not allowed for {}: allowed are the pack's commands and `[exec] allow` in agentci.toml",
            words.join(" "),
            pack.agent
        )));
    }
    Ok(super::verify::Verifier::Command {
        words,
        source: layout.source.clone(),
    })
}

fn report_usage<T>(outcome: &RunOutcome<T>) {
    tracing::info!(
        turns = outcome.turns,
        input_tokens = outcome.usage.input_tokens,
        output_tokens = outcome.usage.output_tokens,
        cost_usd = outcome.cost_usd,
        run = %outcome.run_id,
        "run finished"
    );
}

pub async fn review(
    pack: &'static LanguagePack,
    args: &ReviewRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    refuse_workspace_flags("review", &args.agent)?;
    let source = &args.agent.source;
    require_directory(source)?;
    let diff = match &args.diff {
        Some(file) if file.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            Some(text)
        }
        Some(file) => Some(std::fs::read_to_string(file).map_err(|error| {
            crate::exit::usage(format!(
                "cannot read the diff `{}`: {error}",
                file.display()
            ))
        })?),
        None => None,
    };
    let assignment = args.assignment.clone();
    if args.post {
        let env = SettingsEnv(&services.settings.environment);
        let context = args.github.context(&env)?;
        if context.repository.is_none() || (context.pr_number.is_none() && !context.in_actions) {
            return Err(crate::exit::usage(
                "`--post` needs a pull request: pass `--repo` and `--pr-number` or run on a pull request event",
            ));
        }
    }
    let provider = provider(services, global)?;
    let model = provider.model().to_owned();
    let layout = Layout::discover(source).map_err(|error| {
        crate::exit::usage(format!("cannot read `{}`: {error}", source.display()))
    })?;

    // Without `--diff`, a pull request in context is what gets reviewed.
    let diff = match diff {
        Some(diff) => Some(diff),
        None => pull_request_diff(services, &args.github, &layout).await?,
    };
    let workspace = Workspace::open(source)?;
    let mut task = fix::review_prompt(pack, source, args.focus.as_deref(), diff.as_deref())?;
    if let Some(extra) = assignment {
        task = format!("{task}\n\n## Assignment\n\n{}\n", extra.trim());
    }
    let submit = Submit::<ReviewSubmission>::new(
        "submit_review",
        "Submit the review: issues, suggestions with replacement code, positives and a summary.",
    )
    .validate(review_model::check);
    let outcome = agent(pack, "review", provider, source, global, services)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&task, submit)
        .await?;
    let review = outcome.value.clone();

    let published = if args.post {
        let findings = fix::review_findings(&layout, &review);
        let summary = fix::review_summary(&review);
        let published = publish(
            pack,
            services,
            &args.github,
            args.agent.dry_run,
            Publication {
                summary: &summary,
                model: &model,
                findings,
                body_note: None,
            },
        )
        .await?;
        if published.is_none() {
            return Err(crate::exit::usage(
                "`--post` needs a pull request: pass `--repo` and `--pr-number` or run on a pull request event",
            ));
        }
        published
    } else {
        None
    };

    if global.json {
        let mut value = serde_json::to_value(&review)?;
        if let (Some(outcome), Some(object)) = (&published, value.as_object_mut()) {
            if outcome.planned.is_empty() {
                object.insert(
                    "published".into(),
                    serde_json::to_value(outcome.published())?,
                );
            } else {
                object.insert("planned".into(), serde_json::to_value(&outcome.planned)?);
            }
        }
        write_json(out, &value)?;
    } else {
        write!(
            out,
            "{}",
            review_model::to_markdown(&review, pack.display_name)
        )?;
        if let Some(outcome) = &published {
            if outcome.planned.is_empty() {
                let counts = outcome.published();
                writeln!(
                    out,
                    "\nPosted: {} inline, {} file-level, {} in the review body.",
                    counts.inline, counts.file_level, counts.in_summary
                )?;
            } else {
                write_planned(out, outcome)?;
            }
        }
    }
    report_usage(&outcome);
    Ok(Exit::Done)
}

async fn write_tests(
    pack: &'static LanguagePack,
    args: &WriteTestsRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let framework = match &args.test_framework {
        Some(framework) if pack.test_frameworks.contains(&framework.as_str()) => framework.clone(),
        Some(framework) => {
            return Err(crate::exit::usage(format!(
                "{} writes tests with {}; `{framework}` is not one of them",
                pack.agent,
                pack.test_frameworks.join(", ")
            )));
        }
        None => pack
            .test_frameworks
            .first()
            .copied()
            .unwrap_or("the project's framework")
            .to_owned(),
    };
    let assignment = args.assignment.clone();
    let task = |allowed: Option<&[String]>| {
        fix::write_tests_prompt(
            pack,
            &args.agent.source,
            args.target.as_deref(),
            &framework,
            assignment.as_deref(),
            allowed,
        )
    };
    workspace_verb(
        pack,
        "write-tests",
        &args.agent,
        global,
        services,
        &task,
        out,
    )
    .await
}

async fn build(
    pack: &'static LanguagePack,
    args: &BuildRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if !args.agent.allow_exec {
        return Err(crate::exit::usage(
            "`build` runs the build command: pass `--allow-exec`",
        ));
    }
    let command = args
        .command
        .clone()
        .unwrap_or_else(|| pack.default_build_command.to_owned());
    let words = super::verify::split_command(&command)?;
    if !crate::support::command_allowed(
        &words,
        &allowed_commands(pack, &services.settings, args.agent.allow_install),
    ) {
        return Err(crate::exit::usage(format!(
            "`{command}` is not allowed for {}: allowed are the pack's commands and `[exec] allow` in agentci.toml",
            pack.agent
        )));
    }
    let assignment = args.assignment.clone();
    // The model's word is not the verdict: after each run the build command itself runs on the
    // source with the run's changes, and only its exit status counts. A run whose changes are
    // applied may be followed by another, told what still fails, up to the attempts the prompt
    // promises; a dry run or an export gets one.
    let applies = !args.agent.dry_run && args.agent.export.is_none();
    let mut failure: Option<String> = None;
    for attempt in 1..=fix::BUILD_ATTEMPTS {
        let task = |_allowed: Option<&[String]>| {
            let task = fix::build_prompt(&args.agent.source, &command, assignment.as_deref())?;
            Ok(match &failure {
                Some(output) => format!(
                    "{task}\n\n## The build still fails\n\nAfter the previous attempt `{command}` still failed:\n\n```\n{output}\n```\n"
                ),
                None => task,
            })
        };
        let run = workspace_run(pack, "build", &args.agent, global, services, &task).await?;
        print_workspace_result(out, global, &run)?;
        match (run.result, run.concluded) {
            (Err(error), _) => return Err(error.into()),
            (Ok(_), Err(error)) => return Err(error),
            (Ok(_), Ok(_)) => {}
        }
        let outcome =
            super::verify::run_on_copy(&args.agent.source, &run.contents, &words, COMMAND_TIMEOUT)
                .await?;
        if outcome.passed {
            tracing::info!("`{command}` passes after attempt {attempt}");
            return Ok(Exit::Done);
        }
        tracing::warn!("`{command}` still fails after attempt {attempt}");
        failure = Some(outcome.tail);
        if !applies {
            break;
        }
    }
    Err(crate::exit::negative(format!(
        "`{command}` still fails after the agent's last change, whatever the report says"
    )))
}

async fn upgrade(
    pack: &'static LanguagePack,
    args: &UpgradeRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let target = fix::upgrade_target(pack, args.target_package.as_deref(), &args.target_version)?;
    let assignment = args.assignment.clone();
    let task = |_allowed: Option<&[String]>| {
        fix::upgrade_prompt(
            &args.agent.source,
            &target,
            args.agent.dry_run,
            assignment.as_deref(),
        )
    };
    workspace_verb(pack, "upgrade", &args.agent, global, services, &task, out).await
}

fn change_kind(kind: &ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Modified => "modified",
        ChangeKind::Deleted => "deleted",
    }
}

/// The workspace verbs: read-write tools (+ `exec`, MCP, `record_learning`), a report, and the
/// changes applied, shown or exported at the end. The report is printed even when the run fails.
async fn workspace_verb(
    pack: &'static LanguagePack,
    verb: &str,
    args: &AgentOptions,
    global: &GlobalOptions,
    services: &Services,
    task: &dyn Fn(Option<&[String]>) -> anyhow::Result<String>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let run = workspace_run(pack, verb, args, global, services, task).await?;
    print_workspace_result(out, global, &run)?;
    match (run.result, run.concluded) {
        (Err(error), _) => Err(error.into()),
        (Ok(_), Err(error)) => Err(error),
        (Ok(_), Ok(_)) => Ok(Exit::Done),
    }
}

/// A finished workspace run: the model's result, what happened to the changes, and the changed
/// files' final contents (`None` for deletions), read before the overlay was concluded.
pub(crate) struct WorkspaceRun {
    pub result: Result<RunOutcome<Report>, RunError>,
    pub concluded: anyhow::Result<Concluded>,
    pub changes: Vec<Value>,
    pub contents: Vec<(String, Option<String>)>,
    pub learned: Option<anyhow::Result<String>>,
    /// The context files the learnings were written to (absolute), when they were.
    pub learned_files: Vec<PathBuf>,
}

pub(crate) async fn workspace_run(
    pack: &'static LanguagePack,
    verb: &str,
    args: &AgentOptions,
    global: &GlobalOptions,
    services: &Services,
    task: &dyn Fn(Option<&[String]>) -> anyhow::Result<String>,
) -> anyhow::Result<WorkspaceRun> {
    let source = &args.source;
    require_directory(source)?;
    if args.dry_run && args.export.is_some() {
        return Err(crate::exit::usage(
            "`--dry-run` and `--export` do not go together: a dry run writes nothing",
        ));
    }
    let provider = provider(services, global)?;
    let allowed = args
        .allow_exec
        .then(|| allowed_commands(pack, &services.settings, args.allow_install));
    let task = task(allowed.as_deref())?;
    let workspace = Workspace::open(source)?;
    // An upgrade dry run reports what it would do without editing at all.
    let access = if verb == "upgrade" && args.dry_run {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let mut tools: Vec<Arc<dyn Tool>> = workspace_tools(&workspace, access);
    if let Some(allowed) = &allowed {
        tools.push(exec_tool(&workspace, allowed.clone(), COMMAND_TIMEOUT));
    }
    let specs = crate::agent::mcp::server_specs(&args.mcp, &services.settings.config)?;
    let servers = if specs.is_empty() {
        None
    } else {
        let servers =
            crate::agent::mcp::start_servers(&specs, &services.settings.environment).await;
        for failure in servers.failures() {
            tracing::warn!("MCP server failed to start: {failure:?}");
        }
        tools.extend(servers.tools());
        Some(servers)
    };
    let learnings = (args.self_improve != SelfImprove::Off).then(LearningSink::new);
    if let Some(sink) = &learnings {
        tools.push(Arc::new(RecordLearning::new(sink.clone())));
    }

    let result = agent(pack, verb, provider, source, global, services)?
        .tools(tools)
        .run(&task, report_submit())
        .await;
    if let Some(servers) = servers {
        servers.shutdown().await;
    }

    let mode = if args.dry_run {
        Conclusion::DryRun
    } else if let Some(dir) = &args.export {
        Conclusion::Export(dir.clone())
    } else if args.keep_partial {
        Conclusion::KeepPartial
    } else {
        Conclusion::Apply
    };
    // Read before concluding: applying the changes empties the overlay.
    let pending = workspace.changes();
    let changes: Vec<Value> = pending
        .iter()
        .map(|change| json!({"path": change.path, "kind": change_kind(&change.kind)}))
        .collect();
    let mut contents = Vec::with_capacity(pending.len());
    for change in &pending {
        let text = match change.kind {
            ChangeKind::Deleted => None,
            _ => Some(workspace.read_text(&change.path)?),
        };
        contents.push((change.path.clone(), text));
    }
    let concluded = workspace.conclude(result.is_ok(), &mode);

    let mut learned_files = Vec::new();
    let learned = match (&result, &learnings) {
        (Ok(outcome), Some(sink)) if !args.dry_run && !sink.is_empty() => Some(
            save_learnings(pack, source, &outcome.run_id, sink, args.self_improve).map(
                |(text, files)| {
                    learned_files = files;
                    text
                },
            ),
        ),
        _ => None,
    };
    Ok(WorkspaceRun {
        result,
        concluded,
        changes,
        contents,
        learned,
        learned_files,
    })
}

fn save_learnings(
    pack: &LanguagePack,
    source: &Path,
    run_id: &str,
    sink: &LearningSink,
    mode: SelfImprove,
) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let root = Layout::discover(source)?.root;
    let files = crate::agent::memory::write_learnings(
        &root,
        pack.context_file,
        pack.agent,
        run_id,
        chrono::Local::now().date_naive(),
        &sink.learnings(),
    )?;
    if mode == SelfImprove::Commit {
        let outcome = crate::agent::memory::commit_learnings(&root, pack.agent, &files)?;
        return Ok((outcome.to_string(), Vec::new()));
    }
    let text = format!("learned context written to {} file(s)", files.len());
    let files = files
        .into_iter()
        .map(|file| {
            if file.is_absolute() {
                file
            } else {
                root.join(file)
            }
        })
        .collect();
    Ok((text, files))
}

pub(crate) fn print_workspace_result(
    out: &mut dyn Write,
    global: &GlobalOptions,
    run: &WorkspaceRun,
) -> anyhow::Result<()> {
    let (result, concluded, changes, learned) = (
        &run.result,
        &run.concluded,
        &run.changes,
        run.learned.as_ref(),
    );
    let report = result
        .as_ref()
        .ok()
        .map(|outcome| outcome.value.text.clone());
    let (diff, patch, exported, applied): (
        Option<String>,
        Option<PathBuf>,
        Option<PathBuf>,
        Vec<PathBuf>,
    ) = match concluded {
        Ok(concluded) => (
            concluded.diff.clone(),
            concluded.patch.clone(),
            concluded.exported.clone(),
            concluded.applied.clone(),
        ),
        Err(_) => (None, None, None, Vec::new()),
    };
    let conclude_error = concluded.as_ref().err().map(|error| format!("{error:#}"));
    let run_error = result.as_ref().err().map(ToString::to_string);
    let learned = learned.map(|learned| match learned {
        Ok(text) => text.clone(),
        Err(error) => format!("self-improve failed: {error:#}"),
    });
    if global.json {
        let (usage, cost, turns, run_id) = match result {
            Ok(outcome) => (
                serde_json::to_value(outcome.usage)?,
                json!(outcome.cost_usd),
                json!(outcome.turns),
                json!(outcome.run_id),
            ),
            Err(RunError::Budget {
                usage,
                cost_usd,
                turns,
                ..
            }) => (
                serde_json::to_value(usage)?,
                json!(cost_usd),
                json!(turns),
                Value::Null,
            ),
            Err(_) => (Value::Null, Value::Null, Value::Null, Value::Null),
        };
        let value = json!({
            "ok": result.is_ok(),
            "report": report,
            "error": run_error,
            "changes": changes,
            "applied": applied,
            "diff": diff,
            "patch": patch,
            "exported": exported,
            "conclude_error": conclude_error,
            "learned": learned,
            "usage": usage,
            "cost_usd": cost,
            "turns": turns,
            "run_id": run_id,
        });
        return write_json(out, &value);
    }
    let mut text = String::new();
    match (&report, &run_error) {
        (Some(report), _) => {
            text.push_str(report.trim_end());
            text.push('\n');
        }
        (None, Some(error)) => text.push_str(&format!("The run stopped: {error}\n")),
        (None, None) => {}
    }
    if !changes.is_empty() {
        text.push_str("\nChanges:\n");
        for change in changes {
            text.push_str(&format!(
                "  {} {}\n",
                change["kind"].as_str().unwrap_or_default(),
                change["path"].as_str().unwrap_or_default()
            ));
        }
    }
    if let Some(exported) = &exported {
        text.push_str(&format!("\nExported to {}\n", exported.display()));
    }
    if let Some(patch) = &patch {
        text.push_str(&format!(
            "\nThe changes were saved as a patch: {}\n",
            patch.display()
        ));
    }
    if let Some(error) = &conclude_error {
        text.push_str(&format!("\nThe changes could not be written: {error}\n"));
    }
    if let Some(learned) = &learned {
        text.push_str(&format!("\n{learned}\n"));
    }
    if let Some(diff) = &diff
        && !diff.is_empty()
    {
        text.push_str(&format!("\n{diff}"));
        if !diff.ends_with('\n') {
            text.push('\n');
        }
    }
    write!(out, "{}", crate::redact::redact(&text))?;
    Ok(())
}
