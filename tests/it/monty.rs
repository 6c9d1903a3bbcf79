//! monty and angie end to end, in process: a scripted model, a fake GitHub (wiremock) and a
//! temporary repository; plus the real binary for the provider-less paths.

use std::path::Path;
use std::sync::{Arc, Mutex};

use agentci::agents::monty::packs::{ANGULAR, LanguagePack, PYTHON};
use agentci::agents::monty::verbs::Services;
use agentci::cli::monty::MontyArgs;
use agentci::cli::{Cli, Command, GlobalArgs};
use agentci::config::{Environment, Settings};
use agentci::exit::Exit;
use agentci::github::client::ClientSettings;
use agentci::llm::fake::{ScriptedProvider, Step, tool_call};
use agentci::llm::{Provider, Request};
use clap::Parser;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request as Received, ResponseTemplate};

use crate::cli::agentci;
use crate::github_support::*;

const PULL: &str = "/repos/acme/shop/pulls/7";

const ITEMS: &str = "\"\"\"Items and prices.\"\"\"\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Item:\n    price: int\n\n\ndef total(items):\n    \"\"\"The sum of the items' prices.\"\"\"\n    return sum(item.cost for item in items)\n";
const AUTH: &str = "import time\n\n\ndef validate(payload):\n    return True\n";
const CART: &str = "import { Injectable } from '@angular/core';\n\n@Injectable({ providedIn: 'root' })\nexport class CartService {\n  items: number[] = [];\n\n  add(price: number): void {\n    this.items.push(price);\n  }\n\n  count(): number {\n    return this.items.length;\n  }\n\n  label(): number {\n    const text = 'items';\n    let total: number = 0;\n    total = 'none';\n    return total;\n  }\n}\n";

/// A repository with a Python backend and an Angular frontend.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (file, text) in [
        ("backend/app/items.py", ITEMS),
        ("backend/app/auth.py", AUTH),
        (
            "backend/tests/test_items.py",
            "def test_total():\n    pass\n",
        ),
        (
            "backend/tests/test_auth.py",
            "def test_validate_token():\n    pass\n",
        ),
        ("frontend/src/app/cart/cart.service.ts", CART),
        (
            "frontend/src/app/cart/cart.component.ts",
            "export class CartComponent {}\n",
        ),
    ] {
        let target = dir.path().join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    dir
}

fn parse(arguments: &[&str]) -> (&'static LanguagePack, MontyArgs, GlobalArgs) {
    let mut line = vec!["agentci"];
    line.extend(arguments);
    let cli = Cli::try_parse_from(line).unwrap();
    match cli.command {
        Command::Monty(args) => (&PYTHON, args, cli.global),
        Command::Angie(args) => (&ANGULAR, args, cli.global),
        _ => panic!("not a monty or angie command"),
    }
}

fn settings() -> Settings {
    Settings {
        environment: Environment::from_pairs([("PATH", "/usr/bin:/bin")]),
        ..Settings::default()
    }
}

struct Run {
    result: anyhow::Result<Exit>,
    stdout: String,
    requests: Vec<Request>,
}

async fn run(arguments: &[&str], steps: Vec<Step>, github: Option<&MockServer>) -> Run {
    run_with(arguments, steps, github, settings()).await
}

async fn run_with(
    arguments: &[&str],
    steps: Vec<Step>,
    github: Option<&MockServer>,
    settings: Settings,
) -> Run {
    let (pack, args, global) = parse(arguments);
    let provider = ScriptedProvider::new(steps);
    let log = provider.request_log();
    let provider: Arc<dyn Provider> = Arc::new(provider);
    let services = Services {
        settings,
        provider: Some(provider),
        github: github.map(|server| ClientSettings::for_server(server.uri())),
        ledger: agentci::agent::budget::Ledger::shared(),
    };
    let mut out = Vec::new();
    let result =
        agentci::cli::monty::run_with(pack, &args, &global.options(), Some(services), &mut out)
            .await;
    let requests = log.lock().unwrap().clone();
    Run {
        result,
        stdout: String::from_utf8(out).unwrap(),
        requests,
    }
}

fn tool_names(request: &Request) -> Vec<String> {
    let mut names: Vec<String> = request.tools.iter().map(|tool| tool.name.clone()).collect();
    names.sort();
    names
}

fn assert_read_only(requests: &[Request], submit: &str) {
    assert!(!requests.is_empty());
    for request in requests {
        let names = tool_names(request);
        for forbidden in ["edit_file", "write_file", "delete_file", "exec"] {
            assert!(!names.contains(&forbidden.to_owned()), "{names:?}");
        }
        for expected in ["read_file", "list_dir", "glob", "search", submit] {
            assert!(names.contains(&expected.to_owned()), "{names:?}");
        }
    }
}

fn items_suggestion() -> Value {
    json!({
        "path": "app/items.py",
        "start_line": 11,
        "end_line": 12,
        "replacement": "    \"\"\"The sum of the items' prices.\"\"\"\n    return sum(item.price for item in items)",
        "explanation": "`Item` has a `price` field, not `cost`."
    })
}

fn auth_suggestion() -> Value {
    json!({
        "path": "app/auth.py",
        "start_line": 5,
        "end_line": 5,
        "replacement": "    return payload[\"exp\"] > time.time()",
        "explanation": "Expired tokens were accepted."
    })
}

fn python_script() -> Vec<Step> {
    vec![
        tool_call("read_file", json!({"path": "app/items.py"})),
        tool_call(
            "submit_suggestions",
            json!({
                "summary": "`total` reads a field `Item` does not have; `validate` accepts expired tokens.",
                "suggestions": [items_suggestion(), auth_suggestion()]
            }),
        ),
    ]
}

/// The shared state of the fake GitHub: what was posted, served back on later reads.
#[derive(Default)]
struct Posted {
    review_comments: Vec<Value>,
    reviews: Vec<Value>,
    issue_comments: Vec<Value>,
}

/// A fake GitHub for PR 7 whose files and contents are given, and which remembers what it was
/// sent, so a second run sees the first run's comments.
async fn fake_github(
    files: Value,
    contents_by_path: &[(&str, &str)],
) -> (MockServer, Arc<Mutex<Posted>>) {
    let server = MockServer::start().await;
    let posted = Arc::new(Mutex::new(Posted::default()));
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/files")))
        .respond_with(ResponseTemplate::new(200).set_body_json(files))
        .mount(&server)
        .await;
    let state = Arc::clone(&posted);
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/comments")))
        .respond_with(move |_: &Received| {
            ResponseTemplate::new(200).set_body_json(json!(state.lock().unwrap().review_comments))
        })
        .mount(&server)
        .await;
    let state = Arc::clone(&posted);
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(move |_: &Received| {
            ResponseTemplate::new(200).set_body_json(json!(state.lock().unwrap().reviews))
        })
        .mount(&server)
        .await;
    let state = Arc::clone(&posted);
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/7/comments"))
        .respond_with(move |_: &Received| {
            ResponseTemplate::new(200).set_body_json(json!(state.lock().unwrap().issue_comments))
        })
        .mount(&server)
        .await;
    for (file, text) in contents_by_path {
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/shop/contents/{file}")))
            .and(query_param("ref", HEAD_SHA))
            .respond_with(ResponseTemplate::new(200).set_body_json(contents(file, text)))
            .mount(&server)
            .await;
    }
    (server, posted)
}

async fn accept_writes(server: &MockServer, posted: &Arc<Mutex<Posted>>) {
    let state = Arc::clone(posted);
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(move |request: &Received| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            let mut state = state.lock().unwrap();
            let id = 4_000 + state.reviews.len() as u64;
            let body = sent["body"].as_str().unwrap_or("").to_owned();
            state.reviews.push(review(id, &body, "COMMENTED"));
            for comment in sent["comments"].as_array().unwrap() {
                let comment_id = id * 10 + state.review_comments.len() as u64;
                state.review_comments.push(review_comment(
                    comment_id,
                    comment["path"].as_str().unwrap(),
                    comment["line"].as_u64(),
                    comment["body"].as_str().unwrap(),
                ));
            }
            ResponseTemplate::new(200).set_body_json(review(id, &body, "COMMENTED"))
        })
        .mount(server)
        .await;
    let state = Arc::clone(posted);
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/7/comments"))
        .respond_with(move |request: &Received| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            let comment = issue_comment(
                9_100,
                7,
                "github-actions[bot]",
                sent["body"].as_str().unwrap(),
            );
            state.lock().unwrap().issue_comments.push(comment.clone());
            ResponseTemplate::new(201).set_body_json(comment)
        })
        .mount(server)
        .await;
}

/// The PR changes `backend/app/items.py` around `total`; `backend/app/auth.py` is not in it.
fn python_pull_files() -> Value {
    json!([{
        "sha": "5b8e0f0d2c8a4d9e9b1f1c3a7e6d5c4b3a291807",
        "filename": "backend/app/items.py",
        "status": "modified",
        "additions": 1,
        "deletions": 0,
        "changes": 1,
        "blob_url": format!("https://github.com/acme/shop/blob/{HEAD_SHA}/backend/app/items.py"),
        "raw_url": format!("https://github.com/acme/shop/raw/{HEAD_SHA}/backend/app/items.py"),
        "contents_url": format!("https://api.github.com/repos/acme/shop/contents/backend/app/items.py?ref={HEAD_SHA}"),
        "patch": "@@ -9,3 +9,4 @@\n \n def total(items):\n+    \"\"\"The sum of the items' prices.\"\"\"\n     return sum(item.cost for item in items)"
    }])
}

fn python_github_contents() -> Vec<(&'static str, &'static str)> {
    vec![
        ("backend/app/items.py", ITEMS),
        ("backend/app/auth.py", AUTH),
    ]
}

fn log_file(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/logs")
            .join(name),
    )
    .unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

/// `<agent> suggest-fix --source SOURCE --error-file LOG`, with no pull request.
fn suggest_fix_local<'a>(agent: &'a str, source: &'a str, log: &'a str) -> Vec<&'a str> {
    vec![
        agent,
        "suggest-fix",
        "--source",
        source,
        "--error-file",
        log,
    ]
}

fn suggest_fix_arguments<'a>(agent: &'a str, source: &'a str, log: &'a str) -> Vec<&'a str> {
    let mut arguments = suggest_fix_local(agent, source, log);
    arguments.extend([
        "--repo",
        "acme/shop",
        "--pr-number",
        "7",
        "--commit-sha",
        HEAD_SHA,
    ]);
    arguments
}

fn reviews_sent(requests: &[Received]) -> Vec<Value> {
    requests
        .iter()
        .filter(|request| {
            request.method.as_str() == "POST" && request.url.path() == format!("{PULL}/reviews")
        })
        .map(body)
        .collect()
}

#[tokio::test]
async fn a_pytest_failure_becomes_one_review_with_a_suggestion_on_the_right_lines() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let (server, posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    accept_writes(&server, &posted).await;

    let mut arguments = vec!["--json"];
    arguments.extend(suggest_fix_arguments("monty", &source, &log));
    let outcome = run(&arguments, python_script(), Some(&server)).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);

    // The model saw the parsed failures and only read-only tools.
    assert_read_only(&outcome.requests, "submit_suggestions");
    let first = outcome.requests[0].messages[0].text();
    assert!(
        first.contains("'Item' object has no attribute 'cost'"),
        "{first}"
    );
    assert!(
        first.contains(">   12      return sum(item.cost for item in items)"),
        "{first}"
    );

    let received = server.received_requests().await.unwrap();
    let reviews = reviews_sent(&received);
    assert_eq!(reviews.len(), 1, "exactly one review");
    let review = &reviews[0];
    assert_eq!(review["commit_id"], HEAD_SHA);
    assert_eq!(review["event"], "COMMENT");
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1);
    let comment = &comments[0];
    assert_eq!(comment["path"], "backend/app/items.py");
    assert_eq!(comment["start_line"], 11);
    assert_eq!(comment["line"], 12);
    assert_eq!(comment["side"], "RIGHT");
    assert_eq!(comment["start_side"], "RIGHT");
    let text = comment["body"].as_str().unwrap();
    assert!(text.starts_with(
        "`Item` has a `price` field, not `cost`.\n\n```suggestion\n    \"\"\"The sum of the items' prices.\"\"\"\n    return sum(item.price for item in items)\n```\n\n<!-- agentci:fp:"
    ), "{text}");
    // The fix in a file the PR does not touch goes into the review body.
    let body_text = review["body"].as_str().unwrap();
    assert!(body_text.contains("backend/app/auth.py"), "{body_text}");
    assert!(
        body_text.contains("return payload[\"exp\"] > time.time()"),
        "{body_text}"
    );

    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["suggestions"][0]["placement"], "inline");
    assert_eq!(output["suggestions"][0]["path"], "app/items.py");
    assert_eq!(output["suggestions"][1]["placement"], "summary");
    assert_eq!(output["suggestions"][0]["verified"], Value::Null);
    assert_eq!(output["published"]["inline"], 1);
    assert_eq!(output["published"]["in_summary"], 1);
    assert_eq!(output["published"]["review_id"], 4000);

    // A second run on the same pull request posts nothing twice.
    let second = run(
        &suggest_fix_arguments("monty", &source, &log),
        python_script(),
        Some(&server),
    )
    .await;
    assert_eq!(second.result.unwrap(), Exit::Done);
    let received = server.received_requests().await.unwrap();
    assert_eq!(reviews_sent(&received).len(), 1, "no second review");
    let issue_posts = received
        .iter()
        .filter(|request| request.method.as_str() != "GET")
        .count();
    assert_eq!(issue_posts, 2, "one review and one summary comment in all");
    // The source was never changed.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/items.py")).unwrap(),
        ITEMS
    );
}

#[tokio::test]
async fn a_dry_run_prints_the_review_request_and_posts_nothing() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let (server, _posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    forbid_writes(&server).await;

    let mut arguments = vec!["--json"];
    arguments.extend(suggest_fix_arguments("monty", &source, &log));
    arguments.push("--dry-run");
    let outcome = run(&arguments, python_script(), Some(&server)).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    server.verify().await;

    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["published"], Value::Null);
    assert_eq!(output["suggestions"][0]["placement"], "inline");
    assert_eq!(output["suggestions"][1]["placement"], "summary");
    let planned = output["planned"].as_array().unwrap();
    let review = planned
        .iter()
        .find(|request| request["path"] == format!("{PULL}/reviews"))
        .unwrap();
    assert_eq!(review["method"], "POST");
    let comment = &review["body"]["comments"][0];
    assert_eq!(review["body"]["commit_id"], HEAD_SHA);
    assert_eq!(comment["path"], "backend/app/items.py");
    assert_eq!(
        (comment["start_line"].as_u64(), comment["line"].as_u64()),
        (Some(11), Some(12))
    );
    assert!(
        comment["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n")
    );
}

#[tokio::test]
async fn angie_suggests_a_typescript_fix() {
    let repo = repository();
    let source = repo.path().join("frontend").display().to_string();
    let log = log_file(repo.path(), "tsc.log");
    let files = json!([{
        "sha": "6c9f1a1e3d9b5eaf0c2a2d4b8f7e6d5c4b3a2918",
        "filename": "frontend/src/app/cart/cart.service.ts",
        "status": "modified",
        "additions": 4,
        "deletions": 0,
        "changes": 4,
        "patch": "@@ -14,4 +14,8 @@ export class CartService {\n \n   label(): number {\n+    const text = 'items';\n+    let total: number = 0;\n+    total = 'none';\n+    return total;\n   }\n }"
    }]);
    let (server, posted) =
        fake_github(files, &[("frontend/src/app/cart/cart.service.ts", CART)]).await;
    accept_writes(&server, &posted).await;
    let script = vec![tool_call(
        "submit_suggestions",
        json!({
            "summary": "`total` is a number but is assigned a string.",
            "suggestions": [{
                "path": "src/app/cart/cart.service.ts",
                "start_line": 18,
                "end_line": 18,
                "replacement": "    total = this.items.length;",
                "explanation": "Assign a number: `total` is declared `number` (TS2322)."
            }]
        }),
    )];
    let outcome = run(
        &suggest_fix_arguments("angie", &source, &log),
        script,
        Some(&server),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert_read_only(&outcome.requests, "submit_suggestions");
    assert!(outcome.requests[0].system.contains("You are Angie"));
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert_eq!(reviews.len(), 1);
    let comment = &reviews[0]["comments"][0];
    assert_eq!(comment["path"], "frontend/src/app/cart/cart.service.ts");
    assert_eq!(comment["line"], 18);
    assert!(comment.get("start_line").is_none());
    assert!(
        comment["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n    total = this.items.length;\n```")
    );
    assert!(
        outcome.stdout.contains("## Angie suggest-fix"),
        "{}",
        outcome.stdout
    );
}

#[tokio::test]
async fn nothing_for_this_directory_exits_0_without_asking_the_model() {
    let repo = repository();
    let source = repo.path().join("frontend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let outcome = run(&suggest_fix_local("monty", &source, &log), vec![], None).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert!(outcome.requests.is_empty());
    assert_eq!(outcome.stdout, format!("nothing for monty in {source}\n"));
}

#[tokio::test]
async fn an_invalid_suggestion_goes_back_to_the_model() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let script = vec![
        tool_call(
            "submit_suggestions",
            json!({"summary": "s", "suggestions": [{
                "path": "app/nowhere.py", "start_line": 1, "end_line": 1,
                "replacement": "x", "explanation": "y"}]}),
        ),
        tool_call(
            "submit_suggestions",
            json!({"summary": "Fixed.", "suggestions": [items_suggestion()]}),
        ),
    ];
    let outcome = run(
        &[
            "--json",
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
        ],
        script,
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let second = format!("{:?}", outcome.requests[1].messages);
    assert!(second.contains("no such file in the workspace"), "{second}");
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["published"], Value::Null);
    assert_eq!(output["suggestions"][0]["start_line"], 11);
}

#[tokio::test]
async fn verify_needs_allow_exec() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let outcome = run(
        &[
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
            "--verify",
            "--verify-command",
            "pytest",
        ],
        vec![],
        None,
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Usage);
    assert!(error.to_string().contains("--allow-exec"));
    assert!(outcome.requests.is_empty());
}

#[tokio::test]
async fn review_uses_read_only_tools_and_prints_markdown() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let script = vec![tool_call(
        "submit_review",
        json!({
            "issues": [{"path": "app/auth.py", "line": 5, "severity": "critical", "text": "Every token is accepted."}],
            "suggestions": [],
            "positives": ["Small modules."],
            "summary": "One critical bug in token validation."
        }),
    )];
    let outcome = run(
        &[
            "monty", "review", "--source", &source, "--focus", "security",
        ],
        script,
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert_read_only(&outcome.requests, "submit_review");
    assert!(
        outcome.requests[0].messages[0]
            .text()
            .contains("Focus especially on: security")
    );
    assert!(
        outcome
            .stdout
            .contains("- **critical** `app/auth.py:5`: Every token is accepted."),
        "{}",
        outcome.stdout
    );
}

#[tokio::test]
async fn assist_edits_the_workspace_and_a_dry_run_leaves_the_source_untouched() {
    let script = || {
        vec![
            tool_call(
                "edit_file",
                json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return payload[\"exp\"] > time.time()"}),
            ),
            tool_call(
                "submit_report",
                json!({"text": "Made `validate` check expiry."}),
            ),
        ]
    };
    let changed = AUTH.replace(
        "    return True",
        "    return payload[\"exp\"] > time.time()",
    );

    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let dry = run(
        &[
            "monty",
            "assist",
            "--source",
            &source,
            "--assignment",
            "Check token expiry",
            "--dry-run",
        ],
        script(),
        None,
    )
    .await;
    assert_eq!(dry.result.unwrap(), Exit::Done);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
    assert!(
        dry.stdout.contains("Made `validate` check expiry."),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("+    return payload[\"exp\"] > time.time()"),
        "{}",
        dry.stdout
    );
    let names = tool_names(&dry.requests[0]);
    for expected in [
        "edit_file",
        "write_file",
        "delete_file",
        "read_file",
        "submit_report",
    ] {
        assert!(names.contains(&expected.to_owned()), "{names:?}");
    }
    assert!(
        !names.contains(&"exec".to_owned()),
        "no exec without --allow-exec"
    );
    assert!(!names.contains(&"record_learning".to_owned()));

    let applied = run(
        &[
            "--json",
            "monty",
            "assist",
            "--source",
            &source,
            "--assignment",
            "Check token expiry",
        ],
        script(),
        None,
    )
    .await;
    assert_eq!(applied.result.unwrap(), Exit::Done);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        changed
    );
    let output: Value = serde_json::from_str(&applied.stdout).unwrap();
    assert_eq!(output["report"], "Made `validate` check expiry.");
    assert_eq!(
        output["changes"],
        json!([{"path": "app/auth.py", "kind": "modified"}])
    );
}

#[tokio::test]
async fn build_needs_allow_exec_and_offers_exec_with_it() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let refused = run(&["monty", "build", "--source", &source], vec![], None).await;
    assert_eq!(
        agentci::cli::exit_for(&refused.result.unwrap_err()),
        Exit::Usage
    );
    assert!(refused.requests.is_empty());

    let script = vec![tool_call(
        "submit_report",
        json!({"text": "The build passes."}),
    )];
    std::fs::write(repo.path().join("backend/ok.sh"), "exit 0\n").unwrap();
    let mut settings = settings();
    settings.config.exec.angie.allow = vec!["sh ok.sh".to_owned()];
    let outcome = run_with(
        &[
            "angie",
            "build",
            "--source",
            &source,
            "--allow-exec",
            "--command",
            "sh ok.sh",
        ],
        script,
        None,
        settings,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let names = tool_names(&outcome.requests[0]);
    assert!(names.contains(&"exec".to_owned()), "{names:?}");
    let task = outcome.requests[0].messages[0].text();
    assert!(
        task.contains("sh ok.sh") && task.contains("most 3 runs"),
        "{task}"
    );
}

#[test]
fn the_binary_exits_0_with_nothing_to_fix_and_2_without_a_provider() {
    let repo = repository();
    let log = log_file(repo.path(), "pytest.log");
    let nothing = agentci(repo.path(), &[])
        .args([
            "monty",
            "suggest-fix",
            "--source",
            "frontend",
            "--error-file",
            &log,
        ])
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(0), "{nothing:?}");
    assert_eq!(
        String::from_utf8_lossy(&nothing.stdout),
        "nothing for monty in frontend\n"
    );

    let missing = agentci(repo.path(), &[])
        .args([
            "monty",
            "suggest-fix",
            "--source",
            "backend",
            "--error-file",
            &log,
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    for variable in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_HOST"] {
        assert!(stderr.contains(variable), "{stderr}");
    }
}

#[tokio::test]
async fn a_posted_review_puts_issues_and_suggestions_on_the_lines() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let (server, posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    accept_writes(&server, &posted).await;
    let script = vec![tool_call(
        "submit_review",
        json!({
            "issues": [
                {"path": "app/items.py", "line": 12, "severity": "major", "text": "`cost` does not exist."},
                {"severity": "minor", "text": "No changelog entry."}
            ],
            "suggestions": [items_suggestion()],
            "positives": [],
            "summary": "The new docstring is fine; `total` is broken."
        }),
    )];
    let outcome = run(
        &[
            "monty",
            "review",
            "--source",
            &source,
            "--post",
            "--repo",
            "acme/shop",
            "--pr-number",
            "7",
            "--commit-sha",
            HEAD_SHA,
        ],
        script,
        Some(&server),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    // Without `--diff`, the model reviews the pull request's changes under `--source`.
    let task = outcome.requests[0].messages[0].text();
    assert!(
        task.contains("diff -- app/items.py (Modified)\n@@ -9,3 +9,4 @@"),
        "{task}"
    );
    assert!(
        task.contains("    11 +    \"\"\"The sum of the items' prices.\"\"\""),
        "{task}"
    );
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert_eq!(reviews.len(), 1);
    let comments = reviews[0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["path"], "backend/app/items.py");
    assert_eq!(comments[0]["line"], 12);
    let issue = comments[0]["body"].as_str().unwrap();
    assert!(
        issue.starts_with("**major**: `cost` does not exist."),
        "{issue}"
    );
    assert!(!issue.contains("```suggestion"));
    assert_eq!(
        (
            comments[1]["start_line"].as_u64(),
            comments[1]["line"].as_u64()
        ),
        (Some(11), Some(12))
    );
    assert!(
        comments[1]["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n")
    );
    assert!(
        outcome.stdout.contains("Posted: 2 inline"),
        "{}",
        outcome.stdout
    );
}

#[tokio::test]
async fn review_post_without_a_pull_request_is_a_usage_error() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let outcome = run(
        &["monty", "review", "--source", &source, "--post"],
        vec![],
        None,
    )
    .await;
    assert_eq!(
        agentci::cli::exit_for(&outcome.result.unwrap_err()),
        Exit::Usage
    );
    assert!(outcome.requests.is_empty());
}

#[tokio::test]
async fn in_actions_the_pull_request_comes_from_the_event_and_the_job_summary_is_written() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let summary = repo.path().join("step-summary.md");
    let event = fixture("events/pull_request.json").display().to_string();
    let settings = Settings {
        environment: Environment::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.as_str()),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SHA", "1111111111111111111111111111111111111111"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ]),
        ..Settings::default()
    };
    let (server, posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    accept_writes(&server, &posted).await;
    let outcome = run_with(
        &suggest_fix_local("monty", &source, &log),
        python_script(),
        Some(&server),
        settings,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert_eq!(reviews.len(), 1);
    // The PR's head commit from the event, not the merge commit in GITHUB_SHA.
    assert_eq!(reviews[0]["commit_id"], HEAD_SHA);
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("## Monty suggest-fix"), "{written}");
    assert!(
        written.contains("Published: 1 inline, 0 file-level, 1 in the review body"),
        "{written}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn verify_reruns_the_command_on_a_copy_for_each_suggestion() {
    let repo = repository();
    let backend = repo.path().join("backend");
    std::fs::write(
        backend.join("check.sh"),
        "grep -q 'item.price' app/items.py && ! grep -q 'exp' app/auth.py\n",
    )
    .unwrap();
    let source = backend.display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let mut settings = settings();
    settings.config.exec.monty.allow = vec!["sh check.sh".to_owned()];

    let refused = run_with(
        &[
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
            "--allow-exec",
            "--verify",
            "--verify-command",
            "sh other.sh",
        ],
        vec![],
        None,
        settings.clone(),
    )
    .await;
    assert_eq!(
        agentci::cli::exit_for(&refused.result.unwrap_err()),
        Exit::Usage
    );

    let outcome = run_with(
        &[
            "--json",
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
            "--allow-exec",
            "--verify",
            "--verify-command",
            "sh check.sh",
        ],
        python_script(),
        None,
        settings,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["suggestions"][0]["verified"], true);
    assert_eq!(output["suggestions"][1]["verified"], false);
    assert_eq!(
        std::fs::read_to_string(backend.join("app/items.py")).unwrap(),
        ITEMS
    );
}

#[tokio::test]
async fn self_improve_writes_what_the_agent_learned() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let script = vec![
        tool_call(
            "record_learning",
            json!({"scope": "agent", "text": "Tests run with `uv run pytest`, not `pytest`."}),
        ),
        tool_call("submit_report", json!({"text": "Nothing to change."})),
    ];
    let outcome = run(
        &[
            "monty",
            "write-tests",
            "--source",
            &source,
            "--target",
            "app/items.py",
            "--self-improve",
            "write",
        ],
        script,
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let names = tool_names(&outcome.requests[0]);
    assert!(names.contains(&"record_learning".to_owned()), "{names:?}");
    assert!(
        outcome.requests[0].messages[0]
            .text()
            .contains("with pytest")
    );
    let learned = std::fs::read_to_string(repo.path().join("MONTY.md")).unwrap();
    assert!(
        learned.contains("<!-- agentci:learned:start -->"),
        "{learned}"
    );
    assert!(
        learned.contains("Tests run with `uv run pytest`, not `pytest`."),
        "{learned}"
    );
}

#[tokio::test]
async fn a_failed_run_still_prints_what_it_has_and_keeps_the_changes_as_a_patch() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    // The provider fails after the first edit.
    let script = vec![tool_call(
        "edit_file",
        json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return False"}),
    )];
    let outcome = run(
        &[
            "--json",
            "monty",
            "assist",
            "--source",
            &source,
            "--assignment",
            "Reject tokens",
        ],
        script,
        None,
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Provider);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["ok"], false);
    assert_eq!(
        output["changes"],
        json!([{"path": "app/auth.py", "kind": "modified"}])
    );
    let patch = output["patch"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(patch)
            .unwrap()
            .contains("+    return False")
    );
    assert!(
        output["error"]
            .as_str()
            .unwrap()
            .contains("ran out of steps")
    );
}

#[tokio::test]
async fn upgrade_arguments_follow_the_pack() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let missing = run(
        &[
            "monty",
            "upgrade",
            "--source",
            &source,
            "--target-version",
            "2.9",
        ],
        vec![],
        None,
    )
    .await;
    assert_eq!(
        agentci::cli::exit_for(&missing.result.unwrap_err()),
        Exit::Usage
    );
    let script = vec![tool_call(
        "submit_report",
        json!({"text": "Would bump `@angular/core`."}),
    )];
    let outcome = run(
        &[
            "angie",
            "upgrade",
            "--source",
            &source,
            "--target-version",
            "19",
            "--dry-run",
        ],
        script,
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let names = tool_names(&outcome.requests[0]);
    assert!(
        !names.contains(&"edit_file".to_owned()),
        "a dry-run upgrade only reads: {names:?}"
    );
    let task = outcome.requests[0].messages[0].text();
    assert!(
        task.contains("Angular (all `@angular/*` packages) to version 19"),
        "{task}"
    );
    assert!(outcome.stdout.contains("Would bump `@angular/core`."));
}

#[tokio::test]
async fn a_fix_in_a_changed_file_outside_the_hunks_becomes_a_file_comment() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let log = log_file(repo.path(), "pytest.log");
    let (server, posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    accept_writes(&server, &posted).await;
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/comments")))
        .respond_with(|request: &Received| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(201).set_body_json(review_comment(
                6_000,
                sent["path"].as_str().unwrap(),
                None,
                sent["body"].as_str().unwrap(),
            ))
        })
        .expect(1)
        .mount(&server)
        .await;
    let script = vec![tool_call(
        "submit_suggestions",
        json!({"summary": "Import order.", "suggestions": [{
            "path": "app/items.py", "start_line": 2, "end_line": 2,
            "replacement": "from dataclasses import dataclass, field",
            "explanation": "`field` is needed for defaults."}]}),
    )];
    let outcome = run(
        &suggest_fix_arguments("monty", &source, &log),
        script,
        Some(&server),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    server.verify().await;
    let received = server.received_requests().await.unwrap();
    let file_comment = received
        .iter()
        .find(|request| {
            request.method.as_str() == "POST" && request.url.path() == format!("{PULL}/comments")
        })
        .map(body)
        .unwrap();
    assert_eq!(file_comment["path"], "backend/app/items.py");
    assert_eq!(file_comment["subject_type"], "file");
    assert_eq!(file_comment["commit_id"], HEAD_SHA);
    assert!(
        file_comment["body"]
            .as_str()
            .unwrap()
            .contains("from dataclasses import dataclass, field")
    );
    // The review carries the summary only: no inline comment for a range outside the hunks.
    let reviews = reviews_sent(&received);
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["comments"], json!([]));
}

const BASE_SHA: &str = "2222222222222222222222222222222222222222";
const BASE_TREE: &str = "4444444444444444444444444444444444444444";

async fn mount_issue_and_git_reads(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": "https://api.github.com/repos/acme/shop/issues/42",
            "html_url": "https://github.com/acme/shop/issues/42",
            "id": 2_042,
            "node_id": "I_kwDOAbCd00002042",
            "number": 42,
            "title": "Reject expired tokens",
            "user": user("octocat", 1),
            "labels": [{"id": 1, "node_id": "LA_1", "name": "monty", "color": "ededed", "default": false}],
            "state": "open",
            "locked": false,
            "comments": 0,
            "created_at": "2026-11-23T08:00:00Z",
            "updated_at": "2026-11-23T08:00:00Z",
            "author_association": "OWNER",
            "body": "`validate` accepts every token; it must reject expired ones."
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1, "name": "shop", "full_name": "acme/shop", "private": false,
            "owner": user("acme", 2), "default_branch": "main"
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/acme/shop/git/ref/heads/agentci/monty/issue-42-reject-expired-tokens",
        ))
        .respond_with(not_found())
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ref": "refs/heads/main",
            "node_id": "REF_kwDOAbCdEfA",
            "url": "https://api.github.com/repos/acme/shop/git/refs/heads/main",
            "object": {"sha": BASE_SHA, "type": "commit", "url": format!("https://api.github.com/repos/acme/shop/git/commits/{BASE_SHA}")}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/git/commits/{BASE_SHA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": BASE_SHA,
            "tree": {"sha": BASE_TREE, "url": format!("https://api.github.com/repos/acme/shop/git/trees/{BASE_TREE}")},
            "message": "Initial commit",
            "parents": []
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/git/trees/{BASE_TREE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": BASE_TREE,
            "tree": [{"path": "backend/app/auth.py", "mode": "100644", "type": "blob", "sha": "6666666666666666666666666666666666666666", "size": 60}],
            "truncated": false
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

#[tokio::test]
async fn develop_issue_routes_runs_the_verb_and_plans_a_pull_request_in_a_dry_run() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let server = MockServer::start().await;
    mount_issue_and_git_reads(&server).await;
    forbid_writes(&server).await;
    let script = vec![
        tool_call(
            "submit_route",
            json!({"verb": "assist", "params": {}, "reason": "A bug fix."}),
        ),
        tool_call(
            "edit_file",
            json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return payload[\"exp\"] > time.time()"}),
        ),
        tool_call(
            "submit_report",
            json!({"text": "`validate` now checks `exp`."}),
        ),
    ];
    let outcome = run(
        &[
            "--json",
            "monty",
            "develop-issue",
            "--source",
            &source,
            "--repo",
            "acme/shop",
            "--issue-number",
            "42",
            "--dry-run",
        ],
        script,
        Some(&server),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    server.verify().await;
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
    assert_read_only(&outcome.requests[..1], "submit_route");
    assert!(
        outcome.requests[0].messages[0]
            .text()
            .contains("## Issue #42: Reject expired tokens")
    );
    assert!(tool_names(&outcome.requests[1]).contains(&"edit_file".to_owned()));
    assert!(
        outcome.requests[1].messages[0]
            .text()
            .contains("it must reject expired ones")
    );

    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["verb"], "assist");
    assert_eq!(output["report"], "`validate` now checks `exp`.");
    let planned = output["published"]["planned"].as_array().unwrap();
    let find = |route: &str| {
        planned
            .iter()
            .find(|request| request["method"] == "POST" && request["path"] == route)
            .unwrap_or_else(|| panic!("no POST {route} in {planned:?}"))
    };
    let tree = find("/repos/acme/shop/git/trees");
    assert_eq!(tree["body"]["tree"][0]["path"], "backend/app/auth.py");
    let pull = find("/repos/acme/shop/pulls");
    assert_eq!(
        pull["body"]["head"],
        "agentci/monty/issue-42-reject-expired-tokens"
    );
    assert_eq!(pull["body"]["base"], "main");
    assert!(
        pull["body"]["body"]
            .as_str()
            .unwrap()
            .contains("Closes #42")
    );
    let comment = find("/repos/acme/shop/issues/42/comments");
    assert!(
        comment["body"]["body"]
            .as_str()
            .unwrap()
            .contains("Monty opened")
    );
}

#[test]
fn monty_help_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    for (name, arguments) in [
        ("monty_help", vec!["monty", "--help"]),
        (
            "monty_suggest_fix_help",
            vec!["monty", "suggest-fix", "--help"],
        ),
    ] {
        let output = agentci(dir.path(), &[]).args(&arguments).output().unwrap();
        assert!(output.status.success());
        insta::assert_snapshot!(name, String::from_utf8(output.stdout).unwrap());
    }
    let angie = agentci(dir.path(), &[])
        .args(["angie", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&angie.stdout).contains("develop-issue"));
}

#[tokio::test]
async fn review_shows_the_model_the_given_diff() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let diff = repo.path().join("change.diff");
    std::fs::write(
        &diff,
        "--- a/app/auth.py\n+++ b/app/auth.py\n@@ -4,2 +4,2 @@\n def validate(payload):\n-    return payload\n+    return True\n",
    )
    .unwrap();
    let script = vec![tool_call(
        "submit_review",
        json!({"issues": [], "summary": "Looks fine."}),
    )];
    let outcome = run(
        &[
            "--json",
            "angie",
            "review",
            "--source",
            &source,
            "--diff",
            diff.to_str().unwrap(),
        ],
        script,
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let task = outcome.requests[0].messages[0].text();
    assert!(task.contains("```diff\n--- a/app/auth.py"), "{task}");
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["summary"], "Looks fine.");
}

#[tokio::test]
async fn a_budget_stop_exits_4_and_keeps_the_changes_as_a_patch() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let script = vec![tool_call(
        "edit_file",
        json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return False"}),
    )];
    let outcome = run(
        &[
            "--max-turns",
            "1",
            "monty",
            "assist",
            "--source",
            &source,
            "--assignment",
            "Reject tokens",
        ],
        script,
        None,
    )
    .await;
    assert_eq!(
        agentci::cli::exit_for(&outcome.result.unwrap_err()),
        Exit::Budget
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
    assert!(
        outcome
            .stdout
            .contains("The run stopped: the turns budget ran out"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("modified app/auth.py"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("saved as a patch"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn the_binary_reads_the_log_from_stdin() {
    let repo = repository();
    let log = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs/tsc.log"),
    )
    .unwrap();
    let output = agentci(repo.path(), &[])
        .args(["--json", "monty", "suggest-fix", "--source", "backend", "-"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["summary"], "nothing for monty in backend");
    assert_eq!(result["suggestions"], json!([]));
    assert_eq!(result["published"], Value::Null);
}

#[tokio::test]
async fn develop_issue_without_a_change_retries_once_then_comments_and_exits_1() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let server = MockServer::start().await;
    mount_issue_and_git_reads(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9002, "body": "ok", "html_url": "https://github.com/acme/shop/issues/42#issuecomment-9002",
            "user": user("agentci[bot]", 41898282), "created_at": "2026-11-23T12:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let script = vec![
        tool_call(
            "submit_route",
            json!({"verb": "assist", "params": {}, "reason": "A bug fix."}),
        ),
        tool_call(
            "submit_report",
            json!({"text": "Looked at `auth.py`; nothing to change."}),
        ),
        tool_call(
            "submit_report",
            json!({"text": "`validate` already rejects expired tokens upstream."}),
        ),
    ];
    let outcome = run(
        &[
            "monty",
            "develop-issue",
            "--source",
            &source,
            "--repo",
            "acme/shop",
            "--issue-id",
            "42",
        ],
        script,
        Some(&server),
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Negative, "{error:#}");
    assert!(
        format!("{error:#}").contains("changed no file in two attempts"),
        "{error:#}"
    );
    server.verify().await;
    assert_eq!(outcome.requests.len(), 3, "route, first attempt, one retry");
    assert!(
        outcome.requests[2].messages[0]
            .text()
            .contains("A first attempt at this issue finished without changing any file.")
    );
    let requests = server.received_requests().await.unwrap();
    let comment = requests
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .unwrap();
    let comment: Value = comment.body_json().unwrap();
    let body = comment["body"].as_str().unwrap();
    assert!(
        body.contains("ran `assist` for this issue twice and changed no file"),
        "{body}"
    );
    assert!(
        body.contains("already rejects expired tokens upstream"),
        "{body}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
}

const PLANTED_TOKEN: &str = "ghp_plantedTokenForDevelopIssue0123456789";

/// A real clone of a local bare remote, with the example backend committed on `main`.
fn cloned_repository() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote.git");
    git2::Repository::init_bare(&remote).unwrap();
    let work = dir.path().join("shop");
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("main");
    let repo = git2::Repository::init_opts(&work, &options).unwrap();
    for (file, text) in [
        ("backend/app/auth.py", AUTH),
        ("backend/app/items.py", ITEMS),
    ] {
        let target = work.join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = git2::Signature::now("Dev", "dev@example.com").unwrap();
    repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        "Initial commit",
        &tree,
        &[],
    )
    .unwrap();
    let mut origin = repo
        .remote("origin", &format!("file://{}", remote.display()))
        .unwrap();
    origin
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    (dir, work, remote)
}

#[tokio::test]
async fn develop_issue_pushes_a_branch_to_the_local_remote_and_opens_a_pull_request() {
    let (_dir, work, remote) = cloned_repository();
    let source = work.join("backend").display().to_string();
    let server = MockServer::start().await;
    mount_issue_and_git_reads(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "number": 7, "state": "open", "title": "Reject expired tokens", "body": "",
            "html_url": "https://github.com/acme/shop/pull/7", "draft": false,
            "head": {"ref": "agentci/monty/issue-42-reject-expired-tokens", "sha": "1111111111111111111111111111111111111111", "label": "acme:agentci/monty/issue-42-reject-expired-tokens"},
            "base": {"ref": "main", "sha": BASE_SHA, "label": "acme:main"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9001, "body": "ok", "html_url": "https://github.com/acme/shop/issues/42#issuecomment-9001",
            "user": user("agentci[bot]", 41898282), "created_at": "2026-11-23T12:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let script = vec![
        tool_call(
            "submit_route",
            json!({"verb": "write-tests", "params": {"target": "app/auth.py", "test_framework": "pytest"}, "reason": "The issue asks for tests."}),
        ),
        tool_call(
            "write_file",
            json!({"path": "tests/test_auth.py", "content": "from app.auth import validate\n\n\ndef test_expired():\n    assert validate({\"exp\": 0}) is False\n"}),
        ),
        tool_call(
            "record_learning",
            json!({"scope": "agent", "text": "Tests run with `uv run pytest`, not `pytest`."}),
        ),
        tool_call(
            "submit_report",
            json!({"text": "Added `tests/test_auth.py`."}),
        ),
    ];
    let outcome = run(
        &[
            "monty",
            "develop-issue",
            "--source",
            &source,
            "--repository",
            "acme/shop",
            "--issue-id",
            "42",
            "--github-token",
            PLANTED_TOKEN,
            "--self-improve",
            "commit",
        ],
        script,
        Some(&server),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let task = outcome.requests[1].messages[0].text();
    assert!(
        task.contains("app/auth.py") && task.contains("pytest"),
        "{task}"
    );
    let bare = git2::Repository::open_bare(&remote).unwrap();
    let branch = bare
        .find_reference("refs/heads/agentci/monty/issue-42-reject-expired-tokens")
        .unwrap();
    let tree = branch.peel_to_commit().unwrap().tree().unwrap();
    let test_file = tree
        .get_path(std::path::Path::new("backend/tests/test_auth.py"))
        .unwrap();
    let blob = bare.find_blob(test_file.id()).unwrap();
    assert!(String::from_utf8_lossy(blob.content()).contains("def test_expired"));
    assert!(
        tree.get_path(std::path::Path::new("backend/app/auth.py"))
            .is_ok()
    );
    let requests = server.received_requests().await.unwrap();
    let pull = requests
        .iter()
        .find(|request| {
            request.method.as_str() == "POST" && request.url.path() == "/repos/acme/shop/pulls"
        })
        .unwrap();
    let pull: Value = pull.body_json().unwrap();
    assert_eq!(pull["head"], "agentci/monty/issue-42-reject-expired-tokens");
    assert_eq!(pull["base"], "main");
    assert!(pull["body"].as_str().unwrap().contains("Closes #42"));
    let comment = requests
        .iter()
        .find(|request| {
            request.method.as_str() == "POST"
                && request.url.path() == "/repos/acme/shop/issues/42/comments"
        })
        .unwrap();
    let comment: Value = comment.body_json().unwrap();
    assert!(
        comment["body"]
            .as_str()
            .unwrap()
            .contains("https://github.com/acme/shop/pull/7"),
        "{comment}"
    );
    for entry in walkdir::WalkDir::new(work.join(".git"))
        .into_iter()
        .flatten()
        .filter(|entry| entry.file_type().is_file())
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PLANTED_TOKEN),
            "the token is in {}",
            entry.path().display()
        );
    }
    // The learnings are in the pull request's commit, not on the local HEAD.
    let learned = tree.get_path(std::path::Path::new("MONTY.md")).unwrap();
    let learned = bare.find_blob(learned.id()).unwrap();
    assert!(
        String::from_utf8_lossy(learned.content()).contains("uv run pytest"),
        "the learnings are not in the branch's commit"
    );
    let local = git2::Repository::open(&work).unwrap();
    let head = local.head().unwrap().peel_to_commit().unwrap();
    assert!(
        !head.message().unwrap_or_default().contains("learn"),
        "the learnings were committed on the local HEAD: {:?}",
        head.message()
    );
}

// ---- `dagger check` logs as Dagger prints them (tests/fixtures/logs/dagger/README.md) ----

const DAGGER_JSON: &str = r#"{
  "name": "shop",
  "engineVersion": "v0.19.11",
  "toolchains": [
    {"name": "backend", "source": "toolchains/python", "customizations": [{"argument": "source", "defaultPath": "./backend"}]},
    {"name": "frontend", "source": "toolchains/angular", "customizations": [{"argument": "source", "defaultPath": "./frontend"}]}
  ]
}"#;

/// The two-directory repository with a `dagger.json` whose toolchains point at them.
fn dagger_repository() -> tempfile::TempDir {
    let repo = repository();
    std::fs::write(repo.path().join("dagger.json"), DAGGER_JSON).unwrap();
    repo
}

fn dagger_log(dir: &Path, name: &str) -> String {
    log_file(dir, &format!("dagger/{name}"))
}

fn submit_one(path: &str, line: u32, replacement: &str) -> Vec<Step> {
    vec![tool_call(
        "submit_suggestions",
        json!({
            "summary": "One fix.",
            "suggestions": [{
                "path": path,
                "start_line": line,
                "end_line": line,
                "replacement": replacement,
                "explanation": "Fixes the failure."
            }]
        }),
    )]
}

#[tokio::test]
async fn dagger_check_logs_in_every_mode_name_the_check_file_and_line() {
    for name in ["plain.log", "plain-color.log", "report.log"] {
        let repo = dagger_repository();
        std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
        let log = dagger_log(repo.path(), name);

        let backend = repo.path().join("backend").display().to_string();
        let outcome = run(
            &suggest_fix_local("monty", &backend, &log),
            submit_one(
                "app/auth.py",
                5,
                "    return payload[\"exp\"] > time.time()",
            ),
            None,
        )
        .await;
        assert_eq!(outcome.result.unwrap(), Exit::Done, "{name}");
        let task = outcome.requests[0].messages[0].text();
        for expected in [
            "check: `backend:test`",
            "`tests/test_auth.py` line 21",
            "`app/auth.py` line 5",
            "check: `backend:lint`",
            "`app/items.py` line 1",
            "[F401]",
        ] {
            assert!(
                task.contains(expected),
                "{name}: `{expected}` missing in\n{task}"
            );
        }
        assert!(!task.contains("frontend:"), "{name}: {task}");
        assert!(!task.contains("not recognised"), "{name}: {task}");

        let frontend = repo.path().join("frontend").display().to_string();
        let outcome = run(
            &suggest_fix_local("angie", &frontend, &log),
            submit_one("src/app/cart/cart.service.ts", 18, "    total = 0;"),
            None,
        )
        .await;
        assert_eq!(outcome.result.unwrap(), Exit::Done, "{name}");
        let task = outcome.requests[0].messages[0].text();
        for expected in [
            "check: `frontend:lint`",
            "`src/app/cart/cart.component.ts` line 1",
            "check: `frontend:typecheck`",
            "`src/app/cart/cart.service.ts` line 18",
            "TS2322",
        ] {
            assert!(
                task.contains(expected),
                "{name}: `{expected}` missing in\n{task}"
            );
        }
        assert!(!task.contains("backend:"), "{name}: {task}");
    }
}

#[tokio::test]
async fn a_failed_check_in_an_unknown_format_reaches_the_model_with_its_tail() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    let log = dagger_log(repo.path(), "unknown-format.log");
    let backend = repo.path().join("backend").display().to_string();
    let outcome = run(
        &suggest_fix_local("monty", &backend, &log),
        submit_one("app/auth.py", 5, "    return False"),
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let task = outcome.requests[0].messages[0].text();
    assert!(task.contains("check: `backend:security`"), "{task}");
    assert!(task.contains("not recognised"), "{task}");
    assert!(task.contains("B105:hardcoded_password_string"), "{task}");
    assert!(task.contains("command: bandit -r app"), "{task}");
}

#[tokio::test]
async fn a_log_whose_failures_are_all_in_another_directory_exits_0_without_the_model() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    let log = dagger_log(repo.path(), "other-directory.log");
    let backend = repo.path().join("backend").display().to_string();
    let outcome = run(&suggest_fix_local("monty", &backend, &log), vec![], None).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert!(outcome.requests.is_empty());
    assert_eq!(outcome.stdout, format!("nothing for monty in {backend}\n"));
}

#[tokio::test]
async fn a_path_outside_the_source_is_never_annotated_on_a_file_inside_it() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    std::fs::write(
        repo.path().join("backend/app/main.py"),
        "import sys\n\n\nimport os\n",
    )
    .unwrap();
    std::fs::create_dir_all(repo.path().join("scripts")).unwrap();
    std::fs::write(repo.path().join("scripts/main.py"), "\n\nimport os\n").unwrap();
    let log = dagger_log(repo.path(), "outside-source.log");
    let backend = repo.path().join("backend").display().to_string();
    let outcome = run(
        &suggest_fix_local("monty", &backend, &log),
        submit_one("app/auth.py", 5, "    return False"),
        None,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let task = outcome.requests[0].messages[0].text();
    assert!(!task.contains("`app/main.py`"), "{task}");
    assert!(task.contains("reported at scripts/main.py:3"), "{task}");
    assert!(task.contains("no file named in the log"), "{task}");
}

/// develop-issue on issue 42 with a fake GitHub that accepts exactly one issue comment; returns
/// the run and the comment's body.
async fn develop_issue_failing(extra: &[&str], script: Vec<Step>) -> (Run, String) {
    develop_issue_failing_as("monty", extra, script, settings()).await
}

async fn develop_issue_failing_as(
    agent: &str,
    extra: &[&str],
    script: Vec<Step>,
    settings: Settings,
) -> (Run, String) {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let server = MockServer::start().await;
    mount_issue_and_git_reads(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9003, "body": "ok", "html_url": "https://github.com/acme/shop/issues/42#issuecomment-9003",
            "user": user("agentci[bot]", 41898282), "created_at": "2026-11-23T12:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut arguments: Vec<&str> = extra.to_vec();
    arguments.extend([
        agent,
        "develop-issue",
        "--source",
        &source,
        "--repo",
        "acme/shop",
        "--issue-id",
        "42",
    ]);
    let outcome = if agent == "goose" {
        run_goose(&arguments, script, &server).await
    } else {
        run_with(&arguments, script, Some(&server), settings).await
    };
    server.verify().await;
    let requests = server.received_requests().await.unwrap();
    let writes: Vec<&Received> = requests
        .iter()
        .filter(|request| request.method.as_str() != "GET")
        .collect();
    assert_eq!(writes.len(), 1, "exactly one write: the issue comment");
    let comment: Value = writes[0].body_json().unwrap();
    let body = comment["body"].as_str().unwrap().to_owned();
    (outcome, body)
}

#[tokio::test]
async fn develop_issue_explains_a_provider_failure_on_the_issue() {
    let script = vec![Step::Fail(agentci::llm::LlmError::Timeout)];
    let (outcome, body) = develop_issue_failing(&[], script).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Provider, "{error:#}");
    assert!(body.contains("LLM provider error"), "{body}");
    assert!(body.contains("exit 3"), "{body}");
}

#[tokio::test]
async fn develop_issue_explains_a_budget_stop_and_names_the_patch() {
    let script = vec![
        tool_call(
            "submit_route",
            json!({"verb": "assist", "params": {}, "reason": "A bug fix."}),
        ),
        tool_call(
            "edit_file",
            json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return False"}),
        ),
    ];
    // One budget for the whole command: the route takes the first turn, the edit the second.
    let (outcome, body) = develop_issue_failing(&["--max-turns", "2"], script).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Budget, "{error:#}");
    assert!(body.contains("budget exhausted"), "{body}");
    assert!(body.contains("turns budget ran out"), "{body}");
    assert!(body.contains(".patch`"), "{body}");
}

/// A goose command line through `cli::goose`, with the scripted provider and the fake GitHub.
async fn run_goose(arguments: &[&str], steps: Vec<Step>, github: &MockServer) -> Run {
    let mut line = vec!["agentci"];
    line.extend(arguments);
    let cli = Cli::try_parse_from(line).unwrap();
    let Command::Goose(args) = cli.command else {
        panic!("not a goose command")
    };
    let provider = ScriptedProvider::new(steps);
    let log = provider.request_log();
    let services = agentci::cli::goose::Services {
        settings: settings(),
        provider: Some(Arc::new(provider)),
        github: Some(ClientSettings::for_server(github.uri())),
    };
    let mut out = Vec::new();
    let result =
        agentci::cli::goose::run_with(&args, &cli.global.options(), services, &mut out).await;
    let requests = log.lock().unwrap().clone();
    Run {
        result,
        stdout: String::from_utf8(out).unwrap(),
        requests,
    }
}

#[tokio::test]
async fn goose_develop_issue_runs_the_shared_verb_with_goose_s_knowledge() {
    let script = vec![tool_call(
        "submit_route",
        json!({"verb": "build", "params": {"command": "docker build ."}, "reason": "The image does not build."}),
    )];
    let (outcome, body) = develop_issue_failing_as("goose", &[], script, settings()).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Usage, "{error:#}");
    assert!(body.contains("Goose"), "{body}");
    assert!(body.contains("--allow-exec"), "{body}");
    assert!(body.contains("<!-- agentci:develop:goose -->"), "{body}");
    let system = outcome.requests[0].system.clone();
    assert!(system.to_lowercase().contains("cloud run"), "{system}");
}

#[tokio::test]
async fn develop_issue_max_cost_stops_the_whole_command_at_the_limit() {
    // Every scripted turn costs $0.10 (100 input tokens at $1,000 per million): the route's turn
    // and the verb's first turn together pass $0.15, so the verb stops before its second turn —
    // a budget per run would have let the verb spend $0.15 of its own.
    let mut settings = settings();
    settings.config.pricing.insert(
        "fake-model".to_owned(),
        agentci::config::ModelPrice {
            input: 1000.0,
            output: 0.0,
            cache_read: None,
            cache_write: None,
        },
    );
    let script = vec![
        tool_call(
            "submit_route",
            json!({"verb": "assist", "params": {}, "reason": "A bug fix."}),
        ),
        tool_call(
            "edit_file",
            json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return False"}),
        ),
    ];
    let (outcome, body) =
        develop_issue_failing_as("monty", &["--max-cost-usd", "0.15"], script, settings).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Budget, "{error:#}");
    assert_eq!(outcome.requests.len(), 2, "the route and one verb turn");
    assert!(body.contains("cost budget ran out"), "{body}");
    assert!(body.contains(".patch`"), "{body}");
}

#[tokio::test]
async fn develop_issue_explains_a_refused_exec_and_names_the_flag() {
    let script = vec![tool_call(
        "submit_route",
        json!({"verb": "build", "params": {"command": "pytest"}, "reason": "The build is red."}),
    )];
    let (outcome, body) = develop_issue_failing(&[], script).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Usage, "{error:#}");
    assert!(body.contains("refused"), "{body}");
    assert!(body.contains("--allow-exec"), "{body}");
}

#[tokio::test]
async fn build_reruns_the_build_and_exits_1_while_it_fails_whatever_the_model_says() {
    let repo = repository();
    let backend = repo.path().join("backend");
    std::fs::write(
        backend.join("build.sh"),
        "echo 'SyntaxError in app/items.py' >&2\nexit 1\n",
    )
    .unwrap();
    let source = backend.display().to_string();
    let mut settings = settings();
    settings.config.exec.monty.allow = vec!["sh build.sh".to_owned()];
    let claim = || tool_call("submit_report", json!({"text": "The build passes."}));
    let outcome = run_with(
        &[
            "monty",
            "build",
            "--source",
            &source,
            "--allow-exec",
            "--command",
            "sh build.sh",
        ],
        // Exactly the configured three attempts, each claiming success.
        vec![claim(), claim(), claim()],
        None,
        settings,
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Negative, "{error:#}");
    assert!(format!("{error:#}").contains("still fails"), "{error:#}");
    assert_eq!(
        outcome.requests.len(),
        3,
        "at most the prompt's three attempts"
    );
    let last = outcome.requests[2].messages[0].text();
    assert!(last.contains("SyntaxError in app/items.py"), "{last}");
}

#[tokio::test]
async fn build_passes_when_the_build_command_passes_after_the_change() {
    let repo = repository();
    let backend = repo.path().join("backend");
    std::fs::write(backend.join("build.sh"), "grep -q fixed app/items.py\n").unwrap();
    let source = backend.display().to_string();
    let mut settings = settings();
    settings.config.exec.monty.allow = vec!["sh build.sh".to_owned()];
    let script = vec![
        tool_call(
            "edit_file",
            json!({"path": "app/items.py", "old_string": "item.cost", "new_string": "item.price  # fixed"}),
        ),
        tool_call("submit_report", json!({"text": "Fixed."})),
    ];
    let outcome = run_with(
        &[
            "monty",
            "build",
            "--source",
            &source,
            "--allow-exec",
            "--command",
            "sh build.sh",
        ],
        script,
        None,
        settings,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    assert_eq!(outcome.requests.len(), 2);
}

/// A fake `dagger` on `PATH`: records where and how it ran, and passes only when the backend's
/// `total` reads `item.price`.
#[cfg(unix)]
fn fake_dagger(dir: &Path) -> (String, std::path::PathBuf) {
    fake_dagger_reading(dir, "backend/app/items.py")
}

/// A fake `dagger` that passes when `items` (relative to where it runs) reads `item.price`.
#[cfg(unix)]
fn fake_dagger_reading(dir: &Path, items: &str) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("dagger-calls");
    let script = bin.join("dagger");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$PWD $*\" >> '{}'\ngrep -q 'item.price' {items}\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (format!("{}:/usr/bin:/bin", bin.display()), calls)
}

/// `suggest-fix --json --allow-exec --verify` (plus `extra`) on the backend of `repo`, with
/// `path_var` as `PATH` and a fake GitHub that accepts the review.
#[cfg(unix)]
async fn verify_backend(
    repo: &Path,
    path_var: &str,
    extra: &[&str],
    script: Vec<Step>,
) -> (Run, MockServer) {
    verify_backend_with_log(repo, "plain.log", path_var, extra, script).await
}

/// [`verify_backend`] with the log `tests/fixtures/logs/dagger/<name>`.
#[cfg(unix)]
async fn verify_backend_with_log(
    repo: &Path,
    name: &str,
    path_var: &str,
    extra: &[&str],
    script: Vec<Step>,
) -> (Run, MockServer) {
    std::fs::create_dir_all(repo.join("dagger")).unwrap();
    let log = dagger_log(repo, name);
    let source = repo.join("backend").display().to_string();
    let mut settings = settings();
    settings.environment = Environment::from_pairs([("PATH", path_var)]);
    let (server, posted) = fake_github(python_pull_files(), &python_github_contents()).await;
    accept_writes(&server, &posted).await;
    let mut arguments = vec!["--json"];
    arguments.extend(suggest_fix_arguments("monty", &source, &log));
    arguments.extend(["--allow-exec", "--verify"]);
    arguments.extend(extra);
    let outcome = run_with(&arguments, script, Some(&server), settings).await;
    (outcome, server)
}

#[cfg(unix)]
#[tokio::test]
async fn verify_runs_dagger_check_on_a_scratch_checkout_and_marks_what_passes() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_dagger(tools.path());
    let (outcome, server) = verify_backend(repo.path(), &path_var, &[], python_script()).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);

    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    // Together they pass: both verified.
    assert_eq!(output["suggestions"][0]["verified"], true);
    assert_eq!(output["suggestions"][1]["verified"], true);
    let calls = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "together first, and no more when together passes: {calls}"
    );
    assert!(
        lines[0].ends_with(" check backend:test backend:lint"),
        "{calls}"
    );
    let scratch = lines[0].split(' ').next().unwrap();
    assert_ne!(
        std::path::Path::new(scratch).canonicalize().ok(),
        repo.path().canonicalize().ok(),
        "dagger ran in the user's checkout"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/items.py")).unwrap(),
        ITEMS
    );
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert_eq!(reviews.len(), 1);
    let body = reviews[0]["body"].as_str().unwrap();
    assert!(body.contains("Verified 2 of 2"), "{body}");
    let comments = reviews[0]["comments"].as_array().unwrap();
    assert!(!comments.is_empty());
    for comment in comments {
        assert!(
            comment["body"]
                .as_str()
                .unwrap()
                .contains("✅ Verified: `dagger check"),
            "{comment}"
        );
    }
}

/// Dagger 1.x: the failed checks run where the workspace that installs their module is —
/// `backend/dagger.toml` here — not at the repository root (whose `dagger.toml` installs the
/// module too, but skips those checks).
#[cfg(unix)]
#[tokio::test]
async fn verify_runs_dagger_check_in_the_workspace_of_the_checks() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    std::fs::write(
        repo.path().join("dagger.toml"),
        "[modules.backend]\nsource = \"./dagger\"\n\n[modules.backend.check]\nskip = [\"test\", \"lint\"]\n",
    )
    .unwrap();
    std::fs::write(
        repo.path().join("backend/dagger.toml"),
        "[modules.backend]\nsource = \"../dagger\"\n",
    )
    .unwrap();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_dagger_reading(tools.path(), "app/items.py");
    let (outcome, _server) = verify_backend(repo.path(), &path_var, &[], python_script()).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(
        output["suggestions"][0]["verified"], true,
        "{}",
        outcome.stdout
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 1, "{calls}");
    let (directory, command) = lines[0].split_once(' ').unwrap();
    assert!(directory.ends_with("/backend"), "{calls}");
    assert_eq!(command, "check backend:test backend:lint");
}

#[cfg(unix)]
#[tokio::test]
async fn only_verified_posts_nothing_when_dagger_check_still_fails() {
    let repo = dagger_repository();
    std::fs::create_dir_all(repo.path().join("dagger")).unwrap();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_dagger(tools.path());
    // Only the auth suggestion: `dagger check` keeps failing.
    let script = vec![tool_call(
        "submit_suggestions",
        json!({"summary": "Expired tokens.", "suggestions": [auth_suggestion()]}),
    )];
    let (outcome, server) =
        verify_backend(repo.path(), &path_var, &["--only-verified"], script).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["suggestions"][0]["verified"], false);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert!(reviews.is_empty(), "{reviews:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn verify_without_dagger_reruns_the_command_recovered_from_the_log() {
    let repo = dagger_repository();
    let backend = repo.path().join("backend");
    std::fs::write(
        backend.join("check.sh"),
        "grep -q 'item.price' app/items.py\n",
    )
    .unwrap();
    let log = repo.path().join("recovered.log");
    std::fs::write(
        &log,
        "1   : backend:test\n2   : ┆ backend: Backend!\n3   : ┆ ┆ withExec sh check.sh\n3   : ┆ ┆ [0.4s] | app/items.py:12: in total\n3   : ┆ ┆ [0.4s] | E   AttributeError: 'Item' object has no attribute 'cost'\n3   : ┆ ┆ [0.4s] | FAILED tests/test_items.py::test_total - AttributeError\n1   : backend:test ERROR [0.6s]\n1   : ! exit code: 1\n",
    )
    .unwrap();
    let log = log.display().to_string();
    let source = backend.display().to_string();
    let mut settings = settings();
    settings.config.exec.monty.allow = vec!["sh check.sh".to_owned()];
    let script = vec![tool_call(
        "submit_suggestions",
        json!({"summary": "`cost` is `price`.", "suggestions": [items_suggestion()]}),
    )];
    let outcome = run_with(
        &[
            "--json",
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
            "--allow-exec",
            "--verify",
        ],
        script,
        None,
        settings,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["suggestions"][0]["verified"], true);
    assert_eq!(
        std::fs::read_to_string(backend.join("app/items.py")).unwrap(),
        ITEMS
    );
}

#[tokio::test]
async fn allow_exec_gives_checks_and_installing_needs_its_own_level() {
    let repo = repository();
    let source = repo.path().join("backend").display().to_string();
    let exec_description = |outcome: &Run| {
        outcome.requests[0]
            .tools
            .iter()
            .find(|tool| tool.name == "exec")
            .map(|tool| tool.description.clone())
            .unwrap()
    };
    let report = || vec![tool_call("submit_report", json!({"text": "ok"}))];
    let checks = run(
        &["monty", "build", "--source", &source, "--allow-exec"],
        report(),
        None,
    )
    .await;
    assert_eq!(*checks.result.as_ref().unwrap(), Exit::Done);
    let description = exec_description(&checks);
    assert!(description.contains("`python -m pytest`"), "{description}");
    for installing in ["`pip install`", "`uv run`", "`uv sync`", "`python -m pip`"] {
        assert!(!description.contains(installing), "{description}");
    }
    let install = run(
        &[
            "monty",
            "build",
            "--source",
            &source,
            "--allow-exec=install",
        ],
        report(),
        None,
    )
    .await;
    assert_eq!(*install.result.as_ref().unwrap(), Exit::Done);
    let description = exec_description(&install);
    assert!(description.contains("`pip install`") && description.contains("`uv run`"));

    // develop-issue is steered by untrusted issue text: only agentci.toml may allow installs.
    let refused = run(
        &[
            "monty",
            "develop-issue",
            "--source",
            &source,
            "--repo",
            "acme/shop",
            "--issue-id",
            "42",
            "--allow-exec=install",
        ],
        vec![],
        None,
    )
    .await;
    let error = refused.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Usage);
    assert!(error.to_string().contains("[exec] allow"), "{error}");
    assert!(refused.requests.is_empty());
}

/// Fake programs on a `PATH` of their own (holding only them and `grep`, so no `dagger`): each
/// records where it ran and its arguments, one per line, and passes when its shell condition
/// holds there. Returns the `PATH` and the record's file.
#[cfg(unix)]
fn fake_tools(dir: &Path, tools: &[(&str, &str)]) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let grep = ["/usr/bin/grep", "/bin/grep"]
        .into_iter()
        .find(|candidate| Path::new(candidate).is_file())
        .expect("these tests need `grep` in /usr/bin or /bin");
    std::os::unix::fs::symlink(grep, bin.join("grep")).unwrap();
    let calls = dir.join("calls");
    for (name, condition) in tools {
        let script = bin.join(name);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ printf '%s\\n' \"$PWD\" {name}; for word in \"$@\"; do printf '%s\\n' \"$word\"; done; printf -- '---\\n'; }} >> '{}'\n{condition}\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (bin.display().to_string(), calls)
}

/// The recorded calls: each as its directory, then the program and its arguments.
#[cfg(unix)]
fn recorded(calls: &Path) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(calls).unwrap_or_default();
    text.split("---\n")
        .filter(|call| !call.is_empty())
        .map(|call| {
            let mut lines = call.lines().map(str::to_owned);
            let directory = lines.next().unwrap();
            (directory, lines.collect())
        })
        .collect()
}

/// What the fake `python` checks: the suggestion to `app/auth.py` is applied.
const AUTH_FIXED: &str = "grep -q time.time app/auth.py";

/// `--json <agent> suggest-fix --source SOURCE --error-file LOG --allow-exec --verify` with only
/// the fake tools on `PATH` and no pull request: the run's JSON output, once it succeeded.
#[cfg(unix)]
async fn verify_locally(
    agent: &str,
    source: &Path,
    log: &str,
    path_var: &str,
    script: Vec<Step>,
) -> Value {
    let mut settings = settings();
    settings.environment = Environment::from_pairs([("PATH", path_var)]);
    let source = source.display().to_string();
    let mut arguments = vec!["--json"];
    arguments.extend(suggest_fix_local(agent, &source, log));
    arguments.extend(["--allow-exec", "--verify"]);
    let outcome = run_with(&arguments, script, None, settings).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    serde_json::from_str(&outcome.stdout).unwrap()
}

/// The two tests `report-tests.log` says failed, as pytest ids relative to `backend`.
const FAILING_IDS: [&str; 2] = [
    "tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]",
    "tests/test_auth.py::test_validate_token",
];

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

/// A report-mode log whose failed check shows no `withExec` but names its failing tests: with no
/// `dagger` on `PATH`, `--verify` used to stop with a usage error (exit 2); it now re-runs exactly
/// those tests with the pack's `python -m pytest`, on a scratch copy.
#[cfg(unix)]
#[tokio::test]
async fn verify_without_dagger_reruns_exactly_the_failing_tests_a_report_log_names() {
    let repo = dagger_repository();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(tools.path(), &[("python", AUTH_FIXED)]);
    let (outcome, server) = verify_backend_with_log(
        repo.path(),
        "report-tests.log",
        &path_var,
        &[],
        python_script(),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(
        output["suggestions"][0]["verified"], true,
        "{}",
        outcome.stdout
    );
    assert_eq!(output["suggestions"][1]["verified"], true);

    let calls = recorded(&calls);
    assert_eq!(calls.len(), 1, "together first, and only once: {calls:?}");
    let (directory, words) = &calls[0];
    let mut expected = strings(&["python", "-m", "pytest"]);
    expected.extend(strings(&FAILING_IDS));
    assert_eq!(words, &expected);
    assert_ne!(
        Path::new(directory).canonicalize().ok(),
        repo.path().join("backend").canonicalize().ok(),
        "pytest ran in the user's checkout"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("backend/app/auth.py")).unwrap(),
        AUTH
    );
    let reviews = reviews_sent(&server.received_requests().await.unwrap());
    assert_eq!(reviews.len(), 1);
    let body = reviews[0]["body"].as_str().unwrap();
    assert!(body.contains("Verified 2 of 2"), "{body}");
    assert!(
        body.contains("`python -m pytest 'tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]' tests/test_auth.py::test_validate_token`"),
        "{body}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn verify_marks_nothing_when_the_failing_tests_still_fail() {
    let repo = dagger_repository();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(tools.path(), &[("python", AUTH_FIXED)]);
    // Only the items suggestion: the auth tests keep failing.
    let script = vec![tool_call(
        "submit_suggestions",
        json!({"summary": "`cost` is `price`.", "suggestions": [items_suggestion()]}),
    )];
    let (outcome, server) = verify_backend_with_log(
        repo.path(),
        "report-tests.log",
        &path_var,
        &["--only-verified"],
        script,
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["suggestions"][0]["verified"], false);
    assert_eq!(recorded(&calls).len(), 1);
    assert!(reviews_sent(&server.received_requests().await.unwrap()).is_empty());
}

/// A `withExec pytest …` is narrowed to the failing tests, its options kept; the other failed
/// check's command (`ruff`) is re-run too, and both must pass.
#[cfg(unix)]
#[tokio::test]
async fn verify_narrows_the_check_s_pytest_command_to_the_failing_tests() {
    let repo = dagger_repository();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(tools.path(), &[("pytest", AUTH_FIXED), ("ruff", "true")]);
    let (outcome, _server) =
        verify_backend_with_log(repo.path(), "report.log", &path_var, &[], python_script()).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(
        output["suggestions"][0]["verified"], true,
        "{}",
        outcome.stdout
    );
    let calls: Vec<Vec<String>> = recorded(&calls)
        .into_iter()
        .map(|(_, words)| words)
        .collect();
    assert_eq!(
        calls,
        vec![
            strings(&[
                "pytest",
                "-q",
                "--tb=short",
                "tests/test_auth.py::test_validate_token"
            ]),
            strings(&["ruff", "check", "--output-format=concise", "."]),
        ]
    );
}

/// With `--source` at the repository root, the tests run in the check's directory (`backend`)
/// inside the scratch copy, since that is what their ids are relative to.
#[cfg(unix)]
#[tokio::test]
async fn verify_runs_the_failing_tests_in_the_check_s_directory() {
    let repo = dagger_repository();
    let full = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs/dagger/report-tests.log"),
    )
    .unwrap();
    // Only the backend's check: the frontend's `npx eslint` is not monty's to run.
    let backend_only: String = full
        .split_inclusive('\n')
        .take_while(|line| !line.starts_with("✘ frontend:"))
        .collect();
    let log = repo.path().join("backend-tests.log");
    std::fs::write(&log, backend_only).unwrap();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(tools.path(), &[("python", AUTH_FIXED)]);
    let log = log.display().to_string();
    let submission = submit_one(
        "backend/app/auth.py",
        5,
        "    return payload[\"exp\"] > time.time()",
    );
    let output = verify_locally("monty", repo.path(), &log, &path_var, submission).await;
    assert_eq!(output["suggestions"][0]["verified"], true, "{output:#}");
    let calls = recorded(&calls);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (directory, words) = &calls[0];
    assert!(directory.ends_with("/backend"), "{directory}");
    assert!(
        !Path::new(directory).starts_with(repo.path()),
        "pytest ran in the user's checkout: {directory}"
    );
    assert_eq!(words[3..], strings(&FAILING_IDS));
}

/// A plain pytest log from the user's own workflow (no Dagger at all): its failing tests are
/// re-run with the pack's runner.
#[cfg(unix)]
#[tokio::test]
async fn verify_reruns_the_failing_tests_of_a_plain_pytest_log() {
    let repo = repository();
    let log = log_file(repo.path(), "pytest.log");
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(
        tools.path(),
        &[(
            "python",
            "grep -q time.time app/auth.py && grep -q item.price app/items.py",
        )],
    );
    let source = repo.path().join("backend");
    let output = verify_locally("monty", &source, &log, &path_var, python_script()).await;
    assert_eq!(output["suggestions"][0]["verified"], true, "{output:#}");
    assert_eq!(output["suggestions"][1]["verified"], true);
    let calls = recorded(&calls);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].1,
        strings(&[
            "python",
            "-m",
            "pytest",
            "tests/test_auth.py::test_validate_token",
            "tests/test_items.py::test_item_price_total"
        ])
    );
}

/// Test ids that would leave the source are refused; with no command in the log either, it is
/// still the usage error, before any model call.
#[cfg(unix)]
#[tokio::test]
async fn verify_refuses_test_ids_outside_the_source() {
    let repo = repository();
    std::fs::create_dir_all(repo.path().join("secrets")).unwrap();
    std::fs::write(repo.path().join("secrets/test_keys.py"), "x = 1\n").unwrap();
    let log = repo.path().join("escape.log");
    std::fs::write(
        &log,
        "FAILED ../secrets/test_keys.py::test_leak - AssertionError\nFAILED tests/test_auth.py::test_validate_token - AssertionError\n",
    )
    .unwrap();
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(tools.path(), &[("python", "true")]);
    let mut settings = settings();
    settings.environment = Environment::from_pairs([("PATH", path_var.as_str())]);
    let source = repo.path().join("backend").display().to_string();
    let log = log.display().to_string();
    let outcome = run_with(
        &[
            "monty",
            "suggest-fix",
            "--source",
            &source,
            "--error-file",
            &log,
            "--allow-exec",
            "--verify",
        ],
        vec![],
        None,
        settings,
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(agentci::cli::exit_for(&error), Exit::Usage);
    assert!(error.to_string().contains("--verify-command"), "{error}");
    assert!(outcome.requests.is_empty());
    assert!(recorded(&calls).is_empty());
}

/// angie: a plain vitest log (no Dagger) re-runs only the failing spec file, with `vitest run`.
#[cfg(unix)]
#[tokio::test]
async fn angie_verify_reruns_only_the_failing_spec_files() {
    let repo = repository();
    std::fs::write(
        repo.path()
            .join("frontend/src/app/cart/cart.service.spec.ts"),
        "it('sums prices', () => {});\n",
    )
    .unwrap();
    let log = log_file(repo.path(), "vitest.log");
    let tools = tempfile::tempdir().unwrap();
    let (path_var, calls) = fake_tools(
        tools.path(),
        &[("npx", "grep -q 'total = 0;' src/app/cart/cart.service.ts")],
    );
    let source = repo.path().join("frontend");
    let submission = submit_one("src/app/cart/cart.service.ts", 18, "    total = 0;");
    let output = verify_locally("angie", &source, &log, &path_var, submission).await;
    assert_eq!(output["suggestions"][0]["verified"], true, "{output:#}");
    let calls = recorded(&calls);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].1,
        strings(&["npx", "vitest", "run", "src/app/cart/cart.service.spec.ts"])
    );
}
