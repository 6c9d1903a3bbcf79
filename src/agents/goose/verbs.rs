//! goose's verbs on the agent runtime. Each resolves the context, reads the state it needs
//! itself (a failing or hanging `gcloud` stops the run here, before any model call or change),
//! then lets the model work with the GCP tools the policy allows, and returns a typed result.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::backend::{Backend, BackendError, Cli, DeployParams, Target};
use super::context::{self, GcpContext};
use super::state::ServiceState;
use super::tools::{Gcp, Policy, gcp_tools};
use super::{
    GooseRequest, GooseResult, Runtime, ServiceStatus, TroubleshootReport, Verb, Verification,
};
use crate::agent::tools::{Access, workspace_tools};
use crate::agent::{
    Agent, AgentSpec, RunOutcome, Submit, Tool, Workspace, load_context, report_submit,
};
use crate::agents::monty::review::{self as review_model, ReviewSubmission};

const SYSTEM: &str = include_str!("prompts/system.md");
const KNOWLEDGE: &str = include_str!("prompts/knowledge.md");
const TROUBLESHOOT: &str = include_str!("prompts/troubleshoot.md");
const REVIEW: &str = include_str!("prompts/review.md");
const DEPLOY: &str = include_str!("prompts/deploy.md");
const UPGRADE: &str = include_str!("prompts/upgrade.md");
const ASSIST: &str = include_str!("prompts/assist.md");

/// Error lines shown to the model before it starts troubleshooting.
const EVIDENCE_LOG_LIMIT: u32 = 30;
/// Bytes of the raw describe output put into a prompt.
const EVIDENCE_BYTES: usize = 12 * 1024;

/// Bytes of the problem text (often a whole deploy log) put into the prompt: its end, where the
/// error is.
const ISSUE_BYTES: usize = 16 * 1024;

/// The last `max` bytes of `text` (on a character boundary), with a notice when cut.
fn issue_tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[… {start} earlier bytes cut]\n{}", &text[start..])
}

/// Run one goose verb.
pub async fn run(request: &GooseRequest, runtime: Runtime) -> anyhow::Result<GooseResult> {
    let source = &request.source;
    crate::agents::monty::fix::require_directory(source)?;
    let gcloud = Backend::find(Cli::Gcloud, &runtime.environment, request.command_timeout);
    let firebase = Backend::find(Cli::Firebase, &runtime.environment, request.command_timeout);
    let context = context::resolve(&request.context, source, gcloud.as_ref().ok()).await;
    tracing::info!(
        project = context.project_id().unwrap_or("-"),
        region = context.region(),
        service = context.service_name().unwrap_or("-"),
        "goose context"
    );
    let mut result = GooseResult {
        agent: "goose",
        verb: request.verb.name(),
        context: context.clone(),
        dry_run: request.policy.dry_run,
        troubleshoot: None,
        review: None,
        report: None,
        fast_path: false,
        before: None,
        after: None,
        verification: None,
        rollback: None,
        executed: Vec::new(),
        planned: Vec::new(),
        usage: None,
        cost_usd: None,
        run_id: None,
    };
    if let Verb::Review { focus } = &request.verb {
        let outcome = review(request, &runtime, &context, focus.as_deref()).await?;
        record_usage(&mut result, &outcome);
        result.review = Some(outcome.value);
        return Ok(result);
    }
    let project = context.require_project()?.to_owned();
    let gcloud = gcloud.map_err(BackendError::into_exit)?;
    let target = Target {
        project,
        region: context.region().to_owned(),
    };
    let gcp = Gcp::new(
        Some(gcloud),
        firebase.ok(),
        target.clone(),
        request.policy,
        source.clone(),
    );
    let session = Session {
        request,
        runtime: &runtime,
        context: &context,
        gcp: &gcp,
    };
    let outcome = match &request.verb {
        Verb::Review { .. } => Ok(()),
        Verb::Troubleshoot { issue } => troubleshoot(session, issue, &mut result).await,
        Verb::Deploy { assignment } => deploy(session, assignment, &mut result).await,
        Verb::Upgrade {
            target_version,
            health_path,
        } => {
            upgrade(
                session,
                target_version.as_deref(),
                health_path.as_deref(),
                &mut result,
            )
            .await
        }
        Verb::Assist { assignment } => {
            let task = fill(ASSIST, &[("assignment", assignment.trim())])?;
            model_report(session, "assist", &task, &mut result).await
        }
    };
    result.executed = gcp.executed().iter().map(ToString::to_string).collect();
    result.planned = gcp.planned().iter().map(ToString::to_string).collect();
    match outcome {
        Ok(()) => Ok(result),
        Err(error) if !result.executed.is_empty() => Err(error.context(format!(
            "goose ran these changing commands before it stopped: {}",
            result.executed.join("; ")
        ))),
        Err(error) => Err(error),
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    crate::agents::prompt::render(template, values).map_err(anyhow::Error::msg)
}

fn mutation_text(policy: Policy) -> String {
    if !policy.allow_deploy {
        return "none in this run: it is read-only (the user did not pass `--allow-deploy`). \
                `deploy_service`, `update_traffic`, `firebase_deploy` and `delete_service` are \
                not available; recommend changes, with the exact commands, in your report."
            .to_owned();
    }
    let mut text = "`deploy_service`, `update_traffic` and `firebase_deploy`".to_owned();
    if policy.allow_delete {
        text.push_str(", and `delete_service` (irreversible: only when the task asks for it)");
    } else {
        text.push_str(" (`delete_service` is not available: it needs `--allow-delete`)");
    }
    if policy.dry_run {
        text.push_str(
            ". This is a dry run: a changing call runs nothing and returns the exact command, \
             which goose shows the user.",
        );
    } else {
        text.push_str(". They change real resources.");
    }
    text
}

fn system_prompt(context: &GcpContext, policy: Policy) -> anyhow::Result<String> {
    let project = context.project_id().unwrap_or("(not set)").to_owned();
    let project_origin = context.project.as_ref().map_or_else(
        || "nowhere".to_owned(),
        |project| project.origin.to_string(),
    );
    let service = match &context.service {
        Some(service) => format!("`{}` (from {})", service.value, service.origin),
        None => "not named; find it from the task or `list_services`".to_owned(),
    };
    let base = fill(
        SYSTEM,
        &[
            ("project", &project),
            ("project_origin", &project_origin),
            ("region", context.region()),
            ("region_origin", &context.region.origin.to_string()),
            ("service", &service),
            ("mutation", &mutation_text(policy)),
        ],
    )?;
    Ok(format!("{}\n\n{}", base.trim_end(), KNOWLEDGE.trim_end()))
}

fn agent(
    runtime: &Runtime,
    verb: &str,
    source: &Path,
    context: &GcpContext,
    policy: Policy,
) -> anyhow::Result<Agent> {
    let spec = AgentSpec {
        agent: "goose".into(),
        verb: verb.into(),
        system_prompt: system_prompt(context, policy)?,
    };
    let services = runtime.services.get()?;
    let agent = Agent::new(Arc::clone(&services.provider), spec).context(load_context(
        source,
        "GOOSE.md",
        &["DAGGER.md"],
    ));
    Ok(services.equip(agent))
}

/// What a GCP verb works with: the request, the runtime, the resolved context and the tools.
#[derive(Clone, Copy)]
struct Session<'a> {
    request: &'a GooseRequest,
    runtime: &'a Runtime,
    context: &'a GcpContext,
    gcp: &'a Arc<Gcp>,
}

impl Session<'_> {
    /// The agent for `verb`, with the GCP tools and the read-only workspace tools.
    fn agent(&self, verb: &str) -> anyhow::Result<Agent> {
        let source = &self.request.source;
        Ok(agent(
            self.runtime,
            verb,
            source,
            self.context,
            self.request.policy,
        )?
        .tools(tools(self.gcp, source)?))
    }
}

fn tools(gcp: &Arc<Gcp>, source: &Path) -> anyhow::Result<Vec<Arc<dyn Tool>>> {
    let workspace = Workspace::open(source)?;
    let mut tools = gcp_tools(gcp);
    tools.extend(workspace_tools(&workspace, Access::ReadOnly));
    Ok(tools)
}

fn record_usage<T>(result: &mut GooseResult, outcome: &RunOutcome<T>) {
    result.usage = Some(outcome.usage);
    result.cost_usd = Some(outcome.cost_usd);
    result.run_id = Some(outcome.run_id.clone());
}

/// Read `describe` for a service; a failure is goose's documented exit 2.
async fn describe(gcp: &Gcp, service: &str) -> anyhow::Result<(Value, ServiceState)> {
    let invocation = gcp.target.describe_service(service);
    let text = gcp
        .read(&invocation)
        .await
        .map_err(BackendError::into_exit)?;
    let value: Value = serde_json::from_str(&text).map_err(|error| {
        BackendError::NotJson {
            command: invocation.to_string(),
            error: error.to_string(),
        }
        .into_exit()
    })?;
    let state = ServiceState::from_describe(&value);
    Ok((value, state))
}

/// Cloud Logging entries as one line each: time, severity, revision, message.
pub fn log_lines(value: &Value) -> Vec<String> {
    let Some(entries) = value.as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| {
            let message = entry["textPayload"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| {
                    entry
                        .pointer("/jsonPayload/message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .or_else(|| {
                    entry
                        .pointer("/protoPayload/status/message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .or_else(|| entry.get("jsonPayload").map(Value::to_string))
                .unwrap_or_default();
            format!(
                "{} {} {}: {}",
                entry["timestamp"].as_str().unwrap_or("-"),
                entry["severity"].as_str().unwrap_or("DEFAULT"),
                entry
                    .pointer("/resource/labels/revision_name")
                    .and_then(Value::as_str)
                    .unwrap_or("-"),
                message.trim()
            )
        })
        .collect()
}

async fn troubleshoot(
    session: Session<'_>,
    issue: &str,
    result: &mut GooseResult,
) -> anyhow::Result<()> {
    let Session { context, gcp, .. } = session;
    let evidence = match context.service_name() {
        Some(service) => {
            let (value, state) = describe(gcp, service).await?;
            let logs = gcp
                .read(&gcp.target.service_logs(
                    service,
                    Some("severity>=ERROR"),
                    EVIDENCE_LOG_LIMIT,
                ))
                .await
                .map_err(BackendError::into_exit)?;
            let lines = match serde_json::from_str::<Value>(&logs) {
                Ok(value) => log_lines(&value),
                Err(_) => vec![logs.trim().to_owned()],
            };
            let lines = if lines.is_empty() {
                "(no entries with severity ERROR or above)".to_owned()
            } else {
                lines.join("\n")
            };
            let raw = super::backend::cut(&serde_json::to_string_pretty(&value)?, EVIDENCE_BYTES);
            result.before = Some(state.clone());
            format!(
                "### State of `{service}`\n\n{}\n### `gcloud run services describe {service}` (JSON)\n\n```json\n{raw}\n```\n\n### Recent errors (`severity>=ERROR`, newest first)\n\n```\n{lines}\n```\n",
                state.to_markdown()
            )
        }
        None => {
            let services = gcp
                .read(&gcp.target.list_services())
                .await
                .map_err(BackendError::into_exit)?;
            format!(
                "No service was named. The services in the region (`gcloud run services list`):\n\n```json\n{}\n```\n",
                super::backend::cut(services.trim(), EVIDENCE_BYTES)
            )
        }
    };
    let evidence = crate::redact::redact(&evidence).into_owned();
    let issue = crate::redact::redact(&issue_tail(issue.trim(), ISSUE_BYTES)).into_owned();
    let task = fill(TROUBLESHOOT, &[("issue", &issue), ("evidence", &evidence)])?;
    let submit = Submit::<TroubleshootReport>::new(
        "submit_report",
        "Submit the troubleshooting report: status, summary, key log lines, root cause and recommended actions.",
    )
    .validate(|report: &TroubleshootReport| {
        let mut reasons = Vec::new();
        if report.summary.trim().is_empty() {
            reasons.push("`summary` must not be empty".to_owned());
        }
        if report.root_cause.trim().is_empty() {
            reasons.push("`root_cause` must not be empty".to_owned());
        }
        if report.recommended_actions.is_empty() {
            reasons.push("give at least one recommended action".to_owned());
        }
        if reasons.is_empty() { Ok(()) } else { Err(reasons) }
    });
    let outcome = session.agent("troubleshoot")?.run(&task, submit).await?;
    record_usage(result, &outcome);
    result.troubleshoot = Some(outcome.value);
    Ok(())
}

async fn model_report(
    session: Session<'_>,
    verb: &str,
    task: &str,
    result: &mut GooseResult,
) -> anyhow::Result<()> {
    let outcome = session.agent(verb)?.run(task, report_submit()).await?;
    record_usage(result, &outcome);
    result.report = Some(outcome.value.text);
    Ok(())
}

/// The first container image reference in `text` (the seed's registries: `gcr.io`,
/// `*.gcr.io`, `*.pkg.dev`, `docker.io`, `ghcr.io`).
pub fn find_image(text: &str) -> Option<String> {
    let pattern = regex::Regex::new(
        r"((?:[\w-]+\.gcr\.io|gcr\.io|docker\.io|[\w-]+\.pkg\.dev|ghcr\.io)/[a-zA-Z0-9_./:@-]+)",
    )
    .ok()?;
    pattern
        .captures(text)
        .map(|found| found[1].trim_end_matches(['.', ':']).to_owned())
}

/// The assignment asks for public access.
pub fn wants_public(text: &str) -> bool {
    regex::Regex::new(r"(?i)allow[_ -]unauthenticated|public[_ ]access|publicly accessible")
        .is_ok_and(|pattern| pattern.is_match(text))
}

async fn deploy(
    session: Session<'_>,
    assignment: &str,
    result: &mut GooseResult,
) -> anyhow::Result<()> {
    if let (Some(image), Some(service)) = (find_image(assignment), session.context.service_name()) {
        if !session.request.policy.allow_deploy {
            return Err(crate::exit::usage(format!(
                "deploying `{image}` to `{service}` changes GCP resources: pass `--allow-deploy` (with `--dry-run` to see the command first)"
            )));
        }
        result.fast_path = true;
        let params = DeployParams {
            service: service.to_owned(),
            image: image.clone(),
            env: None,
            port: None,
            cpu: None,
            memory: None,
            min_instances: None,
            max_instances: None,
            allow_unauthenticated: wants_public(assignment).then_some(true),
        };
        params.check().map_err(crate::exit::usage)?;
        let invocation = session.gcp.target.deploy_service(&params);
        let output = session.gcp.mutate(invocation.clone()).await.map_err(|error| {
            crate::exit::usage(format!(
                "{error}. Nothing else was run; check the service with `gcloud run services describe {service}` before retrying"
            ))
        })?;
        let target = &session.gcp.target;
        let report = if session.request.policy.dry_run {
            format!(
                "Dry run: nothing was deployed. goose would deploy `{image}` to `{service}` with the command below.\n"
            )
        } else {
            let url = serde_json::from_str::<Value>(&output)
                .ok()
                .and_then(|value| {
                    value
                        .pointer("/status/url")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let mut text = format!(
                "Deployed `{image}` to the Cloud Run service `{service}` in `{}` (`{}`).\n",
                target.project, target.region
            );
            if let Some(url) = url {
                text.push_str(&format!("\nURL: {url}\n"));
            }
            text
        };
        result.report = Some(report);
        return Ok(());
    }
    let service_line = match session.context.service_name() {
        Some(service) => format!("The service: `{service}`."),
        None => "No service was named: take it from the task, or say it is missing.".to_owned(),
    };
    let task = fill(
        DEPLOY,
        &[
            ("assignment", assignment.trim()),
            ("service_line", &service_line),
        ],
    )?;
    model_report(session, "deploy", &task, result).await
}

async fn upgrade(
    session: Session<'_>,
    target_version: Option<&str>,
    health_path: Option<&str>,
    result: &mut GooseResult,
) -> anyhow::Result<()> {
    let Some(service) = session.context.service_name() else {
        return Err(crate::exit::usage(
            "upgrade needs a service: pass `--service NAME` or add a `Service name: NAME` line to `GOOSE.md` or `DAGGER.md`",
        ));
    };
    let (_, before) = describe(session.gcp, service).await?;
    result.before = Some(before.clone());
    result.rollback = before
        .rollback(&session.gcp.target)
        .map(|command| command.to_string());
    let target_text = match target_version {
        Some(version) => format!("Upgrade to `{version}` (an image tag or a version of the app)."),
        None => "Upgrade to the newest available version; find it from the image repository named in the state, the workspace, or the revisions.".to_owned(),
    };
    let mode = if !session.request.policy.allow_deploy {
        "Changing tools are not available in this run: write the plan with the exact commands instead."
    } else if session.request.policy.dry_run {
        "This is a dry run: a changing call only returns the command; stop after 2 or 3 calls."
    } else {
        "Make one change at a time."
    };
    let task = fill(
        UPGRADE,
        &[
            ("service", service),
            ("target", &target_text),
            ("before", &before.to_markdown()),
            ("mode", mode),
        ],
    )?;
    model_report(session, "upgrade", &task, result).await?;
    if session.gcp.executed().is_empty() {
        return Ok(());
    }
    let (_, after) = describe(session.gcp, service).await?;
    let mut details = Vec::new();
    let mut passed = after.healthy();
    details.push(match after.ready {
        Some(true) => format!(
            "`{service}` is ready; latest ready revision `{}`",
            after.latest_ready_revision.as_deref().unwrap_or("-")
        ),
        Some(false) => format!(
            "`{service}` is not ready: {}",
            after.ready_message.as_deref().unwrap_or("no message")
        ),
        None => format!("`{service}` reports no Ready condition"),
    });
    if after.latest_created_revision != after.latest_ready_revision {
        details.push(format!(
            "the newest revision `{}` is not the ready one `{}`",
            after.latest_created_revision.as_deref().unwrap_or("-"),
            after.latest_ready_revision.as_deref().unwrap_or("-")
        ));
    }
    if let (Some(path), Some(url)) = (health_path, after.url.as_deref()) {
        let (ok, line) = http_health(url, path, session.request.command_timeout).await;
        passed &= ok;
        details.push(line);
    }
    result.after = Some(after);
    result.verification = Some(Verification { passed, details });
    Ok(())
}

/// GET `url` + `path`: healthy on a 2xx answer.
async fn http_health(url: &str, path: &str, timeout: std::time::Duration) -> (bool, String) {
    let address = format!(
        "{}/{}",
        url.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let client = match reqwest::Client::builder()
        .timeout(timeout.min(std::time::Duration::from_secs(30)))
        .build()
    {
        Ok(client) => client,
        Err(error) => return (false, format!("health check not run: {error}")),
    };
    match client.get(&address).send().await {
        Ok(response) if response.status().is_success() => (
            true,
            format!("GET {address} answered {}", response.status()),
        ),
        Ok(response) => (
            false,
            format!("GET {address} answered {}", response.status()),
        ),
        Err(error) => (false, format!("GET {address} failed: {error}")),
    }
}

async fn review(
    request: &GooseRequest,
    runtime: &Runtime,
    context: &GcpContext,
    focus: Option<&str>,
) -> anyhow::Result<RunOutcome<ReviewSubmission>> {
    let source = &request.source;
    let files = deployment_files(source);
    let files = if files.is_empty() {
        "(none found by name; look around with `glob` and `list_dir`)".to_owned()
    } else {
        files
            .iter()
            .map(|file| format!("- `{file}`"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let focus = focus
        .map(|focus| format!("Pay most attention to: {}", focus.trim()))
        .unwrap_or_default();
    let task = fill(
        REVIEW,
        &[
            ("source", &source.display().to_string()),
            ("files", &files),
            ("focus", &focus),
        ],
    )?;
    let workspace = Workspace::open(source)?;
    let submit = Submit::<ReviewSubmission>::new(
        "submit_review",
        "Submit the review: issues, suggestions with replacement code, positives and a summary.",
    )
    .validate(review_model::check);
    // A review reads files only: no GCP tools, and nothing can change.
    let policy = Policy::default();
    Ok(agent(runtime, "review", source, context, policy)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&task, submit)
        .await?)
}

/// Deployment configuration files under `source` (relative paths, sorted), skipping
/// dependency and VCS directories.
pub fn deployment_files(source: &Path) -> Vec<String> {
    const NAMES: [&str; 9] = [
        "service.yaml",
        "service.yml",
        "app.yaml",
        "firebase.json",
        ".firebaserc",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        "GOOSE.md",
        "DAGGER.md",
    ];
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(source)
        .hidden(false)
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            !matches!(
                name.as_ref(),
                ".git" | "node_modules" | "target" | ".venv" | "dist"
            )
        })
        .max_depth(Some(6))
        .build();
    for entry in walker.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = entry.path().strip_prefix(source).unwrap_or(entry.path());
        let relative = relative.to_string_lossy().replace('\\', "/");
        let in_workflows = relative.starts_with(".github/workflows/");
        if NAMES.contains(&name.as_str())
            || name.starts_with("Dockerfile")
            || name.ends_with(".dockerfile")
            || (in_workflows && (name.ends_with(".yml") || name.ends_with(".yaml")))
        {
            found.push(relative);
        }
    }
    found.sort();
    found
}

/// `troubleshoot` status as a word.
pub fn status_word(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Healthy => "healthy",
        ServiceStatus::Degraded => "degraded",
        ServiceStatus::Down => "down",
        ServiceStatus::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_issues_keep_their_end() {
        let text = format!("{}ERROR: the end", "x".repeat(100));
        let tail = issue_tail(&text, 20);
        assert!(tail.ends_with("ERROR: the end"), "{tail}");
        assert!(tail.starts_with("[… 94 earlier bytes cut]"), "{tail}");
        assert_eq!(issue_tail("short", 20), "short");
    }

    #[test]
    fn finds_images_like_the_seed() {
        assert_eq!(
            find_image("Deploy europe-docker.pkg.dev/acme/web/api:1.4.2 to prod.").as_deref(),
            Some("europe-docker.pkg.dev/acme/web/api:1.4.2")
        );
        assert_eq!(
            find_image("ship gcr.io/acme/api@sha256:abc").as_deref(),
            Some("gcr.io/acme/api@sha256:abc")
        );
        assert_eq!(find_image("deploy the latest build"), None);
        assert!(wants_public("with public access"));
        assert!(!wants_public("internal only"));
    }

    #[test]
    fn log_lines_read_text_and_json_payloads() {
        let value = serde_json::json!([
            {"timestamp": "t1", "severity": "ERROR", "resource": {"labels": {"revision_name": "api-2"}}, "textPayload": "boom"},
            {"timestamp": "t2", "severity": "CRITICAL", "jsonPayload": {"message": "bad"}}
        ]);
        assert_eq!(
            log_lines(&value),
            vec!["t1 ERROR api-2: boom", "t2 CRITICAL -: bad"]
        );
    }
}
