//! `agentci goose …`: goose's arguments (clap only), turned into a typed
//! [`GooseRequest`](crate::agents::goose::GooseRequest), and the result rendered as Markdown or,
//! with `--json`, as JSON.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::agent::LazyServices;
use crate::agents::goose::{
    self, ContextFlags, GooseRequest, GooseResult, Policy, Runtime, Verb, backend,
};
use crate::cli::input::LongInput;
use crate::cli::monty::{AssignmentArgs, settings_here};
use crate::config::{GlobalOptions, Settings};
use crate::exit::Exit;
use crate::llm::Provider;

#[derive(Debug, Args)]
pub struct GooseArgs {
    #[command(subcommand)]
    pub verb: GooseVerb,
}

#[derive(Debug, Subcommand)]
pub enum GooseVerb {
    /// Answer a question or do a task about the project's GCP services
    Assist(TaskArgs),
    /// Review the deployment configuration in `--source` (Dockerfile, service.yaml, firebase.json…)
    Review(ReviewArgs),
    /// Explain what is wrong with a service: state, error logs, revisions, IAM
    Troubleshoot(TroubleshootArgs),
    /// Deploy to Cloud Run or Firebase Hosting (an image in the assignment deploys directly)
    Deploy(TaskArgs),
    /// Upgrade a service: state before, the change, a health check after, rollback instructions
    Upgrade(UpgradeArgs),
    /// Turn a failed deploy's log (Docker build, hadolint, gcloud, firebase) into fix suggestions
    SuggestFix(crate::cli::monty::SuggestFixArgs),
    /// Implement a GitHub issue about the deployment (Dockerfile, Cloud Run, firebase.json): pick
    /// the verb, run it, open a pull request that closes the issue
    DevelopIssue(crate::cli::monty::DevelopIssueArgs),
}

/// What every goose verb takes.
#[derive(Debug, Clone, Args)]
pub struct GooseCommon {
    /// The workspace: deployment configuration, `GOOSE.md`/`DAGGER.md`
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// The GCP project [default: `Project ID:` in GOOSE.md/DAGGER.md, else `gcloud config`]
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,
    /// The region [default: `Region:` in GOOSE.md/DAGGER.md, else `gcloud config`, else us-central1]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The Cloud Run service [default: `Service name:` in GOOSE.md/DAGGER.md]
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Offer the changing tools (deploy_service, update_traffic, firebase_deploy)
    #[arg(long)]
    pub allow_deploy: bool,
    /// Also offer delete_service (needs `--allow-deploy`)
    #[arg(long, requires = "allow_deploy")]
    pub allow_delete: bool,
    /// Run only the read-only calls; print the exact commands a changing call would run
    #[arg(long)]
    pub dry_run: bool,
    /// How long one gcloud or firebase call may take
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = parse_duration)]
    pub gcloud_timeout: Duration,
}

/// A verb that takes an assignment (`assist`, `deploy`).
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    #[command(flatten)]
    pub common: GooseCommon,
    #[command(flatten)]
    pub assignment: AssignmentArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub common: GooseCommon,
    /// What to pay most attention to
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TroubleshootArgs {
    #[command(flatten)]
    pub common: GooseCommon,
    /// The problem, as text
    #[arg(long, value_name = "TEXT", conflicts_with = "issue_file")]
    pub issue: Option<String>,
    /// The problem, from a file (`-` for stdin), e.g. a failed deploy job's log
    #[arg(long, value_name = "FILE")]
    pub issue_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub common: GooseCommon,
    /// The version or image tag to upgrade to [default: the newest the model finds]
    #[arg(long, value_name = "VERSION")]
    pub target_version: Option<String>,
    /// After the change, GET this path on the service's URL as a health check (e.g. `/health`)
    #[arg(long, value_name = "PATH")]
    pub health_path: Option<String>,
}

/// What a run needs from outside; tests inject a provider.
pub struct Services {
    pub settings: Settings,
    pub provider: Option<Arc<dyn Provider>>,
    /// Used instead of `--github-token`/`GITHUB_API_URL` (tests).
    pub github: Option<crate::github::client::ClientSettings>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("`{text}` is not a duration: {error}"))
}

impl TaskArgs {
    fn require(&self, verb: &str) -> anyhow::Result<String> {
        self.assignment.input().require(verb)
    }
}

impl GooseVerb {
    /// The flags every GCP verb takes; `None` for the shared (monty's) verbs.
    fn common(&self) -> Option<&GooseCommon> {
        match self {
            Self::Assist(verb) | Self::Deploy(verb) => Some(&verb.common),
            Self::Review(verb) => Some(&verb.common),
            Self::Troubleshoot(verb) => Some(&verb.common),
            Self::Upgrade(verb) => Some(&verb.common),
            Self::SuggestFix(_) | Self::DevelopIssue(_) => None,
        }
    }
}

const SHARED_VERBS: &str =
    "`goose suggest-fix` and `develop-issue` run on the shared agent verbs, not as a GCP request";

/// The typed request for a parsed command line.
pub fn request(args: &GooseArgs) -> anyhow::Result<GooseRequest> {
    let verb = match &args.verb {
        GooseVerb::Assist(task) => Verb::Assist {
            assignment: task.require("assist")?,
        },
        GooseVerb::Deploy(task) => Verb::Deploy {
            assignment: task.require("deploy")?,
        },
        GooseVerb::Review(verb) => Verb::Review {
            focus: verb.focus.clone(),
        },
        GooseVerb::Troubleshoot(verb) => Verb::Troubleshoot {
            issue: LongInput::new(
                "problem",
                ["--issue", "--issue-file"],
                verb.issue.as_deref(),
                verb.issue_file.as_deref(),
            )
            .require("troubleshoot")?,
        },
        GooseVerb::Upgrade(verb) => Verb::Upgrade {
            target_version: verb.target_version.clone(),
            health_path: verb.health_path.clone(),
        },
        GooseVerb::SuggestFix(_) | GooseVerb::DevelopIssue(_) => {
            return Err(crate::exit::usage(SHARED_VERBS));
        }
    };
    let common = args
        .verb
        .common()
        .ok_or_else(|| crate::exit::usage(SHARED_VERBS))?;
    Ok(GooseRequest {
        verb,
        source: common.source.clone(),
        context: ContextFlags {
            project: common.project.clone(),
            region: common.region.clone(),
            service: common.service.clone(),
        },
        policy: Policy {
            allow_deploy: common.allow_deploy,
            allow_delete: common.allow_delete,
            dry_run: common.dry_run,
        },
        command_timeout: common.gcloud_timeout,
    })
}

/// Run a goose verb from the command line.
pub async fn run(
    args: &GooseArgs,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    run_with(
        args,
        global,
        Services {
            settings: settings_here(global)?,
            provider: None,
            github: None,
        },
        out,
    )
    .await
}

/// As [`run`], with the settings and (for tests) the provider given.
pub async fn run_with(
    args: &GooseArgs,
    global: &GlobalOptions,
    services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    // suggest-fix and develop-issue are the shared (monty's) verbs with goose's knowledge: its
    // context file, prompt and deploy-log parsers.
    let shared = match &args.verb {
        GooseVerb::SuggestFix(verb) => Some(crate::cli::monty::MontyVerb::SuggestFix(verb.clone())),
        GooseVerb::DevelopIssue(verb) => {
            Some(crate::cli::monty::MontyVerb::DevelopIssue(verb.clone()))
        }
        _ => None,
    };
    if let Some(verb) = shared {
        let request = crate::cli::monty::MontyArgs { verb }.request()?;
        let services = crate::agents::monty::verbs::Services {
            settings: services.settings,
            provider: services.provider,
            github: services.github,
            ledger: crate::agent::budget::Ledger::shared(),
        };
        return crate::agents::monty::verbs::run(
            &goose::pack::GOOSE,
            &request,
            global,
            services,
            out,
        )
        .await;
    }
    let request = request(args)?;
    let settings = services.settings;
    let injected = services.provider;
    let environment = settings.environment.clone();
    let runtime = Runtime {
        environment,
        services: LazyServices::new(global.clone(), settings, injected),
    };
    let result = goose::run(&request, runtime).await?;
    if global.json {
        crate::agents::monty::verbs::write_json(out, &serde_json::to_value(&result)?)?;
    } else {
        write!(out, "{}", crate::redact::redact(&to_markdown(&result)))?;
    }
    if result
        .verification
        .as_ref()
        .is_some_and(|check| !check.passed)
    {
        return Ok(Exit::Negative);
    }
    Ok(Exit::Done)
}

/// The result as Markdown (terminal, job summary, pull-request comment).
pub fn to_markdown(result: &GooseResult) -> String {
    let mut text = String::new();
    let context = &result.context;
    let service = context
        .service_name()
        .map(|service| format!(" `{service}`"))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "## Goose {}{service}\n\nProject `{}`, region `{}`{}\n",
        result.verb,
        context.project_id().unwrap_or("-"),
        context.region(),
        if result.dry_run { " (dry run)" } else { "" }
    );
    if let Some(report) = &result.troubleshoot {
        let _ = writeln!(
            text,
            "**Status:** {}\n\n{}\n\n### Root cause\n\n{}\n",
            goose::verbs::status_word(report.status),
            report.summary.trim(),
            report.root_cause.trim()
        );
        if !report.key_log_lines.is_empty() {
            let _ = writeln!(
                text,
                "### Key log lines\n\n```\n{}\n```\n",
                report.key_log_lines.join("\n")
            );
        }
        let _ = writeln!(text, "### Recommended actions\n");
        for action in &report.recommended_actions {
            let _ = writeln!(text, "- {}", action.trim());
        }
        text.push('\n');
    }
    if let Some(review) = &result.review {
        text.push_str(&crate::agents::monty::review::to_markdown(review, "Goose"));
        text.push('\n');
    }
    if let Some(before) = &result.before
        && result.verb == "upgrade"
    {
        let _ = writeln!(text, "### Before\n\n{}", before.to_markdown());
    }
    if let Some(report) = &result.report {
        let _ = writeln!(text, "{}\n", report.trim_end());
    }
    if let Some(after) = &result.after {
        let _ = writeln!(text, "### After\n\n{}", after.to_markdown());
    }
    if let Some(check) = &result.verification {
        let _ = writeln!(
            text,
            "### Verification: {}\n",
            if check.passed { "passed" } else { "FAILED" }
        );
        for detail in &check.details {
            let _ = writeln!(text, "- {detail}");
        }
        text.push('\n');
    }
    if let Some(rollback) = &result.rollback {
        let _ = writeln!(
            text,
            "### Rollback\n\nTo put the traffic back where it was:\n\n```\n{rollback}\n```\n"
        );
    }
    if !result.planned.is_empty() {
        let _ = writeln!(text, "### Dry run: the commands goose would run\n\n```");
        for command in &result.planned {
            let _ = writeln!(text, "{command}");
        }
        let _ = writeln!(text, "```\n");
    }
    if !result.executed.is_empty() {
        let _ = writeln!(text, "### Commands run\n\n```");
        for command in &result.executed {
            let _ = writeln!(text, "{command}");
        }
        let _ = writeln!(text, "```\n");
    }
    let mut text = text.trim_end().to_owned();
    text.push('\n');
    text
}

/// What `doctor` shows about goose: the tools found and the context resolved from the working
/// directory (`None` when neither a gcloud nor a context file is there, so doctor stays quiet).
pub async fn doctor_report(
    settings: &Settings,
    working_dir: &std::path::Path,
) -> Option<serde_json::Value> {
    let environment = &settings.environment;
    let timeout = Duration::from_secs(10);
    let gcloud = backend::Backend::find(backend::Cli::Gcloud, environment, timeout);
    let firebase = backend::Backend::find(backend::Cli::Firebase, environment, timeout);
    let has_file = goose::context::CONTEXT_FILES
        .iter()
        .any(|name| working_dir.join(name).is_file());
    if gcloud.is_err() && !has_file {
        return None;
    }
    let context =
        goose::context::resolve(&ContextFlags::default(), working_dir, gcloud.as_ref().ok()).await;
    let located = |found: &Result<backend::Backend, backend::BackendError>| match found {
        Ok(backend) => serde_json::json!(backend.program.display().to_string()),
        Err(_) => serde_json::Value::Null,
    };
    Some(serde_json::json!({
        "gcloud": located(&gcloud),
        "firebase": located(&firebase),
        "context": context,
        "lines": goose::context::describe(&context)
            .into_iter()
            .map(|(name, line)| format!("{name}: {line}"))
            .collect::<Vec<_>>(),
        "problem": context.project.is_none().then(|| goose::context::missing_project_message(&context)),
    }))
}

/// [`doctor_report`] as text lines.
pub fn doctor_lines(report: &serde_json::Value) -> Vec<String> {
    let mut lines = vec!["goose:".to_owned()];
    let tool = |name: &str| {
        report[name]
            .as_str()
            .map_or_else(|| "not found".to_owned(), str::to_owned)
    };
    lines.push(format!("  {:<18} {}", "gcloud", tool("gcloud")));
    lines.push(format!("  {:<18} {}", "firebase", tool("firebase")));
    if let Some(entries) = report["lines"].as_array() {
        for entry in entries.iter().filter_map(serde_json::Value::as_str) {
            if let Some((name, value)) = entry.split_once(": ") {
                lines.push(format!("  {name:<18} {value}"));
            }
        }
    }
    if let Some(problem) = report["problem"].as_str() {
        lines.push(format!("  {:<18} {problem}", "problem"));
    }
    lines
}
