//! goose end to end, in process, against the fake `gcloud`/`firebase` scripts of
//! `tests/fixtures/goose/bin` (copied per test; they log their argv to `calls.log`) and the
//! scripted provider; plus the real binary for the missing-project error and `doctor`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentci::cli::exit_for;
use agentci::cli::goose::{GooseArgs, Services, run_with};
use agentci::cli::{Cli, Command};
use agentci::config::{Environment, GlobalOptions, Settings};
use agentci::exit::Exit;
use agentci::llm::fake::{ScriptedProvider, Step, tool_call};
use agentci::llm::{ContentBlock, Provider, Request};
use clap::Parser;
use serde_json::json;

use crate::cli::agentci;

const DAGGER_MD: &str =
    "# Deployment\n\n- Project ID: `acme-prod`\n- Region: europe-west1\n- Service name: `api`\n";

/// The fake tools in their own directory, so each test has its own `calls.log`.
struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/goose/bin");
        for name in ["gcloud", "firebase"] {
            let target = dir.path().join(name);
            std::fs::copy(fixtures.join(name), &target).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        Self { dir }
    }

    fn bin(&self) -> &Path {
        self.dir.path()
    }

    fn gcloud(&self) -> PathBuf {
        self.dir.path().join("gcloud")
    }

    /// Every call, one line each (`gcloud run services describe api --project=…`).
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn set(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// Settings whose `PATH` finds the fakes first.
    fn settings(&self) -> Settings {
        Settings {
            environment: Environment::from_pairs([(
                "PATH".to_owned(),
                format!("{}:/usr/bin:/bin", self.bin().display()),
            )]),
            ..Settings::default()
        }
    }
}

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    dir
}

fn parse(arguments: &[&str]) -> (GooseArgs, GlobalOptions) {
    let mut line = vec!["agentci", "-q", "goose"];
    line.extend(arguments);
    let cli = Cli::try_parse_from(line).unwrap();
    match cli.command {
        Command::Goose(args) => (args, cli.global.options()),
        _ => panic!("not a goose command"),
    }
}

struct Run {
    result: anyhow::Result<Exit>,
    stdout: String,
    requests: Vec<Request>,
}

/// `VERB --source SOURCE FLAGS…`.
fn verb_in<'a>(verb: &'a str, source: &'a tempfile::TempDir, flags: &[&'a str]) -> Vec<&'a str> {
    let mut arguments = vec![verb, "--source", source.path().to_str().unwrap()];
    arguments.extend_from_slice(flags);
    arguments
}

async fn run(arguments: &[&str], steps: Vec<Step>, settings: Settings) -> Run {
    let (args, global) = parse(arguments);
    let provider = ScriptedProvider::new(steps);
    let log = provider.request_log();
    let provider: Arc<dyn Provider> = Arc::new(provider);
    let mut out = Vec::new();
    let result = run_with(
        &args,
        &global,
        Services {
            settings,
            provider: Some(provider),
            github: None,
        },
        &mut out,
    )
    .await;
    let requests = log.lock().unwrap().clone();
    Run {
        result,
        stdout: String::from_utf8(out).unwrap(),
        requests,
    }
}

fn tool_results(request: &Request) -> Vec<(String, String, bool)> {
    request
        .messages
        .iter()
        .flat_map(|message| message.content.iter())
        .filter_map(|block| match block {
            ContentBlock::ToolResult(result) => {
                Some((result.name.clone(), result.content.clone(), result.is_error))
            }
            _ => None,
        })
        .collect()
}

fn tool_names(request: &Request) -> Vec<String> {
    request.tools.iter().map(|tool| tool.name.clone()).collect()
}

fn troubleshoot_report() -> Step {
    tool_call(
        "submit_report",
        json!({
            "status": "degraded",
            "summary": "Revision api-00007-bad never started; api-00006-good still serves all traffic.",
            "key_log_lines": ["KeyError: 'DATABASE_URL' (settings.py line 14: the secret DATABASE_URL is not mounted in revision api-00007-bad)"],
            "root_cause": "The secret DATABASE_URL is not mounted in revision api-00007-bad, so the app raises KeyError at start-up and never listens on port 8080.",
            "recommended_actions": ["Mount the secret: gcloud run services update api --update-secrets=DATABASE_URL=database-url:latest --region=europe-west1"]
        }),
    )
}

fn assert_only_reads(calls: &[String]) {
    for call in calls {
        for verb in [
            " deploy",
            " delete",
            " update-traffic",
            "hosting:channel:deploy",
        ] {
            assert!(!call.contains(verb), "a changing command ran: {call}");
        }
    }
}

#[tokio::test]
async fn troubleshoot_reads_json_state_refuses_delete_and_names_the_root_cause() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let source_arg = source.path().to_str().unwrap();
    let run = run(
        &[
            "troubleshoot",
            "--source",
            source_arg,
            "--issue",
            "The API returns 503 since this morning's deploy",
        ],
        vec![
            tool_call("delete_service", json!({"service": "api"})),
            tool_call("list_revisions", json!({"service": "api"})),
            troubleshoot_report(),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);

    // State came from gcloud, as JSON, scoped to DAGGER.md's project and region.
    let calls = fakes.calls();
    assert_eq!(
        calls[0],
        "gcloud run services describe api --project=acme-prod --region=europe-west1 --format=json"
    );
    assert!(calls[1].starts_with("gcloud logging read resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"api\""), "{calls:?}");
    assert!(calls[1].contains("AND (severity>=ERROR)"), "{calls:?}");
    assert!(
        calls[1].ends_with("--project=acme-prod --limit=30 --format=json"),
        "{calls:?}"
    );
    assert_eq!(
        calls[2],
        "gcloud run revisions list --service=api --project=acme-prod --region=europe-west1 --format=json"
    );
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|call| call.contains("--format=json") && call.contains("--project=acme-prod"))
    );
    assert_only_reads(&calls);

    // The model saw the evidence, was offered no changing tool, and was told delete is refused.
    let first = &run.requests[0];
    let task = first.messages[0].text();
    assert!(task.contains("KeyError: 'DATABASE_URL'"), "{task}");
    assert!(first.system.contains("acme-prod"));
    assert!(first.system.contains("`--allow-deploy`"));
    let names = tool_names(first);
    for name in [
        "describe_service",
        "list_services",
        "list_revisions",
        "service_logs",
        "iam_policy",
        "list_firebase_channels",
        "read_file",
    ] {
        assert!(names.contains(&name.to_owned()), "{names:?}");
    }
    for name in [
        "deploy_service",
        "update_traffic",
        "firebase_deploy",
        "delete_service",
    ] {
        assert!(!names.contains(&name.to_owned()), "{names:?}");
    }
    let refused = tool_results(&run.requests[1]);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, "delete_service");
    assert!(refused[0].2, "the refusal is an error result");
    assert!(
        refused[0].1.contains("no tool named `delete_service`"),
        "{refused:?}"
    );

    // The report names the root cause the logs show.
    assert!(
        run.stdout.contains("## Goose troubleshoot `api`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("**Status:** degraded"));
    assert!(run.stdout.contains("### Root cause"));
    assert!(
        run.stdout
            .contains("The secret DATABASE_URL is not mounted in revision api-00007-bad")
    );
    assert!(run.stdout.contains("### Key log lines"));
    assert!(run.stdout.contains("### Recommended actions"));
    assert!(!run.stdout.contains("Commands run"));
}

#[tokio::test]
async fn troubleshoot_with_allow_deploy_still_withholds_delete_without_allow_delete() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "troubleshoot",
            &source,
            &["--issue", "503s", "--allow-deploy"],
        ),
        vec![
            tool_call("delete_service", json!({"service": "api"})),
            troubleshoot_report(),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    let names = tool_names(&run.requests[0]);
    assert!(names.contains(&"deploy_service".to_owned()));
    assert!(!names.contains(&"delete_service".to_owned()));
    assert!(run.requests[0].system.contains("needs `--allow-delete`"));
    assert!(tool_results(&run.requests[1])[0].2);
    assert_only_reads(&fakes.calls());
}

#[tokio::test]
async fn deploy_dry_run_prints_the_command_and_runs_nothing() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "deploy",
            &source,
            &[
                "--allow-deploy",
                "--dry-run",
                "--assignment",
                "Deploy europe-docker.pkg.dev/acme-prod/web/api:1.9.0 to production.",
            ],
        ),
        Vec::new(),
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    assert!(run.requests.is_empty(), "the fast path needs no model");
    assert!(
        run.stdout.contains("gcloud run deploy api --image=europe-docker.pkg.dev/acme-prod/web/api:1.9.0 --quiet --project=acme-prod --region=europe-west1 --format=json"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Dry run"));
    assert!(fakes.calls().is_empty(), "{:?}", fakes.calls());
}

#[tokio::test]
async fn deploy_runs_exactly_one_gcloud_run_deploy_with_the_right_flags() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &[
            "--json",
            "deploy",
            "--source",
            source.path().to_str().unwrap(),
            "--allow-deploy",
            "--assignment",
            "Deploy europe-docker.pkg.dev/acme-prod/web/api:1.9.0 with public access.",
        ],
        Vec::new(),
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    let calls = fakes.calls();
    assert_eq!(
        calls,
        vec![
            "gcloud run deploy api --image=europe-docker.pkg.dev/acme-prod/web/api:1.9.0 --allow-unauthenticated --quiet --project=acme-prod --region=europe-west1 --format=json"
        ]
    );
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(value["fast_path"], true);
    assert_eq!(value["executed"].as_array().unwrap().len(), 1);
    assert!(
        value["report"]
            .as_str()
            .unwrap()
            .contains("https://api-abc123-ew.a.run.app")
    );
    assert_eq!(value["context"]["project"]["value"], "acme-prod");
}

#[tokio::test]
async fn deploy_without_allow_deploy_is_refused_before_anything_runs() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "deploy",
            &source,
            &["--assignment", "Deploy gcr.io/acme-prod/api:2"],
        ),
        Vec::new(),
        fakes.settings(),
    )
    .await;
    let error = run.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(error.to_string().contains("--allow-deploy"), "{error}");
    assert!(fakes.calls().is_empty());
}

#[tokio::test]
async fn a_planned_deploy_by_the_model_is_shown_not_run_in_a_dry_run() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "deploy",
            &source,
            &[
            "--allow-deploy",
            "--dry-run",
            "--assignment",
            "Roll out the new build with 1Gi of memory",
            ],
        ),
        vec![
            tool_call("describe_service", json!({"service": "api"})),
            tool_call(
                "deploy_service",
                json!({"service": "api", "image": "europe-docker.pkg.dev/acme-prod/web/api:1.9.0", "memory": "1Gi", "env": {"APP_ENV": "production"}}),
            ),
            tool_call("submit_report", json!({"text": "Planned the rollout of 1.9.0 with 1Gi."})),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    let calls = fakes.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("gcloud run services describe api"));
    let planned = "gcloud run deploy api --image=europe-docker.pkg.dev/acme-prod/web/api:1.9.0 --memory=1Gi --update-env-vars=APP_ENV=production --quiet --project=acme-prod --region=europe-west1 --format=json";
    assert!(run.stdout.contains(planned), "{}", run.stdout);
    let result = tool_results(&run.requests[2]);
    assert!(result.iter().any(
        |(name, text, _)| name == "deploy_service" && text.contains("Dry run: nothing was run")
    ));
}

#[tokio::test]
async fn a_failing_gcloud_is_a_clear_error_before_any_model_call() {
    let fakes = Fakes::new();
    fakes.set(
        "fail",
        "ERROR: (gcloud.run.services.describe) PERMISSION_DENIED: Permission 'run.services.get' denied on resource 'namespaces/acme-prod/services/api'.\n",
    );
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in("troubleshoot", &source, &["--issue", "503s"]),
        // gcloud fails before any model call.
        vec![],
        fakes.settings(),
    )
    .await;
    let error = run.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    let message = error.to_string();
    assert!(message.contains("`gcloud run services describe api --project=acme-prod --region=europe-west1 --format=json` failed (exit 1)"), "{message}");
    assert!(message.contains("PERMISSION_DENIED"), "{message}");
    assert!(run.requests.is_empty(), "no model call after a failed read");
    assert!(run.stdout.is_empty(), "no partial output");
}

#[tokio::test]
async fn a_hanging_gcloud_is_stopped_at_the_timeout() {
    let fakes = Fakes::new();
    fakes.set("hang", "");
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let started = Instant::now();
    let run = run(
        &verb_in(
            "deploy",
            &source,
            &[
                "--allow-deploy",
                "--gcloud-timeout",
                "1s",
                "--assignment",
                "Deploy gcr.io/acme-prod/api:2",
            ],
        ),
        Vec::new(),
        fakes.settings(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let error = run.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(
        error
            .to_string()
            .contains("`gcloud run deploy api --image=gcr.io/acme-prod/api:2"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("did not finish within 1s and was stopped"),
        "{error}"
    );
    assert!(
        error.to_string().contains("Nothing else was run"),
        "{error}"
    );
    // The call was attempted once (and killed); nothing counts as run.
    assert_eq!(fakes.calls().len(), 1);
    assert!(run.stdout.is_empty());
}

#[tokio::test]
async fn a_missing_gcloud_names_the_variable() {
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let settings = Settings {
        environment: Environment::from_pairs([("PATH", "/nonexistent")]),
        ..Settings::default()
    };
    let run = run(
        &verb_in("troubleshoot", &source, &["--issue", "503s"]),
        Vec::new(),
        settings,
    )
    .await;
    let error = run.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(error.to_string().contains("`GOOSE_GCLOUD`"), "{error}");
}

// ---- context resolution: each source ------------------------------------------------------

/// The project and region the first gcloud resource call was scoped to.
fn scope(calls: &[String]) -> String {
    let call = calls
        .iter()
        .find(|call| call.contains("run services describe"))
        .unwrap();
    call.split(' ')
        .filter(|word| word.starts_with("--project=") || word.starts_with("--region="))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn upgrade_dry(fakes: &Fakes, source: &Path, extra: &[&str]) -> Run {
    let mut arguments = vec!["upgrade", "--source", source.to_str().unwrap()];
    arguments.extend(extra);
    run(
        &arguments,
        vec![tool_call(
            "submit_report",
            json!({"text": "Plan: deploy 1.9.0."}),
        )],
        fakes.settings(),
    )
    .await
}

#[tokio::test]
async fn context_flags_win_over_files() {
    let fakes = Fakes::new();
    fakes.set("project", "from-gcloud");
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = upgrade_dry(
        &fakes,
        source.path(),
        &[
            "--project",
            "flag-project",
            "--region",
            "asia-east1",
            "--service",
            "api",
        ],
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    let calls = fakes.calls();
    assert_eq!(scope(&calls), "--project=flag-project --region=asia-east1");
    assert!(
        !calls.iter().any(|call| call.contains("config get-value")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn context_from_goose_md_before_dagger_md() {
    let fakes = Fakes::new();
    let source = workspace(&[
        ("GOOSE.md", "Project ID: `goose-project`\n"),
        ("DAGGER.md", DAGGER_MD),
    ]);
    let run = upgrade_dry(&fakes, source.path(), &[]).await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    // The project from GOOSE.md; region and service from DAGGER.md.
    assert_eq!(
        scope(&fakes.calls()),
        "--project=goose-project --region=europe-west1"
    );
    assert!(run.requests[0].system.contains("GOOSE.md"));
}

#[tokio::test]
async fn context_from_gcloud_config_then_the_default_region() {
    let fakes = Fakes::new();
    fakes.set("project", "config-project");
    let source = workspace(&[]);
    let run = upgrade_dry(&fakes, source.path(), &["--service", "api"]).await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    let calls = fakes.calls();
    assert_eq!(calls[0], "gcloud config get-value project --format=json");
    assert_eq!(
        calls[1],
        "gcloud config get-value compute/region --format=json"
    );
    assert_eq!(
        scope(&calls),
        "--project=config-project --region=us-central1"
    );
    assert!(
        run.requests[0]
            .system
            .contains("`gcloud config get-value project`")
    );

    let fakes = Fakes::new();
    fakes.set("project", "config-project");
    fakes.set("region", "europe-north1");
    let run = upgrade_dry(&fakes, source.path(), &["--service", "api"]).await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    assert_eq!(
        scope(&fakes.calls()),
        "--project=config-project --region=europe-north1"
    );
}

#[tokio::test]
async fn a_missing_project_is_a_usage_error_naming_the_three_ways() {
    let fakes = Fakes::new();
    let source = workspace(&[]);
    let run = run(
        &verb_in("troubleshoot", &source, &["--issue", "503s"]),
        Vec::new(),
        fakes.settings(),
    )
    .await;
    let error = run.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    let message = error.to_string();
    for way in [
        "`--project ID`",
        "`GOOSE.md` or `DAGGER.md`",
        "`gcloud config set project ID`",
    ] {
        assert!(message.contains(way), "{message}");
    }
    // Only the config was read.
    assert!(
        fakes
            .calls()
            .iter()
            .all(|call| call.starts_with("gcloud config get-value"))
    );
}

#[test]
fn the_binary_exits_2_on_a_missing_project() {
    let dir = tempfile::tempdir().unwrap();
    let output = agentci(dir.path(), &[("PATH", "/nonexistent")])
        .args(["goose", "troubleshoot", "--issue", "503s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`--project ID`"), "{stderr}");
    assert!(
        stderr.contains("`gcloud config set project ID`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn doctor_shows_what_goose_resolved_and_why() {
    let fakes = Fakes::new();
    fakes.set("region", "europe-north1");
    let dir = workspace(&[("DAGGER.md", "Project ID: `acme-prod`\nService name: api\n")]);
    let gcloud = fakes.gcloud();
    let output = agentci(
        dir.path(),
        &[
            ("PATH", "/usr/bin:/bin"),
            ("GOOSE_GCLOUD", gcloud.to_str().unwrap()),
        ],
    )
    .arg("doctor")
    .output()
    .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("goose:"), "{stdout}");
    assert!(stdout.contains("acme-prod (from `"), "{stdout}");
    assert!(stdout.contains("DAGGER.md`)"), "{stdout}");
    assert!(
        stdout.contains("europe-north1 (from `gcloud config get-value compute/region`)"),
        "{stdout}"
    );
    assert!(stdout.contains("api (from `"), "{stdout}");

    // Nothing GCP-related around: doctor says nothing about goose.
    let empty = tempfile::tempdir().unwrap();
    let output = agentci(empty.path(), &[]).arg("doctor").output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("goose:"));
}

// ---- upgrade, review, assist --------------------------------------------------------------

#[tokio::test]
async fn upgrade_reports_before_change_verification_and_rollback() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "upgrade",
            &source,
            &["--allow-deploy", "--target-version", "1.9.1"],
        ),
        vec![
            tool_call("list_revisions", json!({"service": "api"})),
            tool_call(
                "deploy_service",
                json!({"service": "api", "image": "europe-docker.pkg.dev/acme-prod/web/api:1.9.1"}),
            ),
            tool_call(
                "submit_report",
                json!({"text": "Deployed 1.9.1 over the broken 1.9.0 revision."}),
            ),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    let calls = fakes.calls();
    let deploys: Vec<&String> = calls
        .iter()
        .filter(|call| call.contains(" run deploy "))
        .collect();
    assert_eq!(deploys.len(), 1, "{calls:?}");
    assert!(
        calls
            .last()
            .unwrap()
            .starts_with("gcloud run services describe api"),
        "verified after: {calls:?}"
    );
    let out = &run.stdout;
    assert!(out.contains("### Before"), "{out}");
    assert!(out.contains("not ready"), "{out}");
    assert!(out.contains("### After"));
    assert!(out.contains("### Verification: passed"));
    assert!(out.contains("latest ready revision `api-00008-new`"));
    assert!(out.contains("gcloud run services update-traffic api --to-revisions=api-00006-good=100 --quiet --project=acme-prod --region=europe-west1 --format=json"));
    assert!(out.contains("### Commands run"));
}

#[tokio::test]
async fn upgrade_verification_failure_exits_1() {
    let fakes = Fakes::new();
    // A deploy that leaves the service not ready: describe keeps the broken state.
    let broken = std::fs::read_to_string(fakes.gcloud()).unwrap();
    assert!(broken.contains("HealthCheckContainerError"));
    fakes.set("deploy.json", "{\"metadata\": {\"name\": \"api\"}, \"status\": {\"conditions\": [{\"type\": \"Ready\", \"status\": \"False\", \"message\": \"still failing\"}], \"latestCreatedRevisionName\": \"api-00008-new\", \"latestReadyRevisionName\": \"api-00006-good\"}}");
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in("upgrade", &source, &["--allow-deploy"]),
        vec![
            tool_call(
                "deploy_service",
                json!({"service": "api", "image": "europe-docker.pkg.dev/acme-prod/web/api:1.9.1"}),
            ),
            tool_call("submit_report", json!({"text": "Deployed 1.9.1."})),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Negative);
    assert!(
        run.stdout.contains("### Verification: FAILED"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("still failing"));
}

#[tokio::test]
async fn review_reads_the_deployment_files_and_prints_typed_findings() {
    let source = workspace(&[
        (
            "Dockerfile",
            "FROM python:latest\nENV DATABASE_PASSWORD=hunter2hunter2\nCMD python app.py\n",
        ),
        ("firebase.json", "{\"hosting\": {\"public\": \"dist\"}}\n"),
        ("src/app.py", "print('hi')\n"),
    ]);
    // No gcloud needed for a review.
    let settings = Settings {
        environment: Environment::from_pairs([("PATH", "/nonexistent")]),
        ..Settings::default()
    };
    let run = run(
        &["review", "--source", source.path().to_str().unwrap(), "--focus", "secrets"],
        vec![
            tool_call("read_file", json!({"path": "Dockerfile"})),
            tool_call(
                "submit_review",
                json!({
                    "issues": [{"path": "Dockerfile", "line": 2, "severity": "critical", "text": "A password is baked into the image with ENV; use Secret Manager."}],
                    "positives": ["firebase.json serves the build output"],
                    "summary": "One secret in the image."
                }),
            ),
        ],
        settings,
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    let task = run.requests[0].messages[0].text();
    assert!(
        task.contains("- `Dockerfile`") && task.contains("- `firebase.json`"),
        "{task}"
    );
    assert!(!task.contains("src/app.py"));
    assert!(task.contains("secrets"));
    let names = tool_names(&run.requests[0]);
    assert!(
        !names.iter().any(|name| name.contains("service")),
        "{names:?}"
    );
    assert!(run.stdout.contains("Goose review"), "{}", run.stdout);
    assert!(run.stdout.contains("`Dockerfile:2`"));
}

#[tokio::test]
async fn assist_answers_with_the_read_only_tools() {
    let fakes = Fakes::new();
    let source = workspace(&[("DAGGER.md", DAGGER_MD)]);
    let run = run(
        &verb_in(
            "assist",
            &source,
            &["--assignment", "Which preview channels are live?"],
        ),
        vec![
            tool_call("list_firebase_channels", json!({})),
            tool_call(
                "submit_report",
                json!({"text": "One preview channel: pr-42, expiring 2026-12-09."}),
            ),
        ],
        fakes.settings(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done);
    assert_eq!(
        fakes.calls(),
        vec!["firebase hosting:channel:list --project=acme-prod --json"]
    );
    let results = tool_results(&run.requests[1]);
    assert!(results[0].1.contains("pr-42"), "{results:?}");
    assert!(run.stdout.contains("One preview channel: pr-42"));
}

#[tokio::test]
async fn suggest_fix_turns_a_failed_docker_build_into_a_suggestion() {
    let source = workspace(&[
        (".git/HEAD", "ref: refs/heads/main\n"),
        (
            "Dockerfile",
            "FROM node:22-slim\nWORKDIR /app\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
        ),
    ]);
    let log = source.path().join("deploy.log");
    std::fs::write(
        &log,
        "#7 [3/5] RUN npm ci\n#7 ERROR: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 254\nDockerfile:3\n--------------------\n   3 | >>> RUN npm ci\nERROR: failed to solve: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 254\n",
    )
    .unwrap();
    let settings = Settings {
        environment: Environment::from_pairs([("PATH", "/nonexistent")]),
        ..Settings::default()
    };
    let run = run(
        &verb_in(
            "suggest-fix",
            &source,
            &["--error-file", log.to_str().unwrap()],
        ),
        vec![tool_call(
            "submit_suggestions",
            json!({
                "summary": "npm ci runs before package files are copied.",
                "suggestions": [{"path": "Dockerfile", "start_line": 3, "end_line": 3,
                    "replacement": "COPY package.json package-lock.json ./\nRUN npm ci",
                    "explanation": "Copy the lock file first so npm ci has something to install."}]
            }),
        )],
        settings,
    )
    .await;
    assert_eq!(run.result.unwrap(), Exit::Done, "{}", run.stdout);
    let task = run.requests[0].messages[0].text();
    assert!(task.contains("Dockerfile"), "{task}");
    assert!(
        task.contains("failed to solve") || task.contains("did not complete successfully"),
        "{task}"
    );
    assert!(run.requests[0].system.contains("Goose"));
    assert!(
        run.requests[0]
            .system
            .contains("Cloud Run and Firebase knowledge")
    );
    assert!(
        run.stdout
            .contains("COPY package.json package-lock.json ./"),
        "{}",
        run.stdout
    );
}
