//! `agentci speck …` in process: a scripted provider plays the model through specify → plan →
//! decompose, a wiremock server plays GitHub, and every output goes through the strict validator.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use agentci::agents::speck::run::{TaskReport, TaskRun, TaskRunner};
use agentci::agents::speck::tiers;
use agentci::agents::speck::validate::{Expectations, validate};
use agentci::cli::exit_for;
use agentci::cli::speck::{Services, run};
use agentci::cli::{Cli, Command};
use agentci::exit::Exit;
use agentci::llm::fake::{ScriptedProvider, Step, tool_call};
use agentci::llm::{ContentBlock, Provider, Request};
use async_trait::async_trait;
use clap::Parser;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::github_support::{body, client, fixture_json, issue_comment, not_found, requests};

const SPEC: &str = "## Overview\nShoppers keep a list of favourite products.\n\n## User stories\n\
### [US1] Save favourites (Priority: P1)\nAs a shopper, I want to save a product, so that I find it again.\n\
- **Given** a product **When** I save it **Then** it is in my list\n";
const PLAN: &str = "## Technical context\nFastAPI (app/main.py), dataclasses (app/models.py).\n\n\
## Project structure\n- app/favorites.py (new)\n";
const REQUEST: &str = "Add a favorites list endpoint";

fn source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speck/shop")
}

fn task(id: &str, phase: u32, kind: &str, complexity: &str, depends: &[&str]) -> Value {
    let (phase_name, story) = match phase {
        1 => ("Foundation", Value::Null),
        _ => ("Save favourites", json!("US1")),
    };
    let (file, entrypoint) = match kind {
        "test" => (
            format!("tests/test_{}.py", id.to_lowercase()),
            "write-tests",
        ),
        "review" => (String::new(), "review"),
        _ => (format!("app/{}.py", id.to_lowercase()), "assist"),
    };
    json!({
        "id": id,
        "title": format!("Task {id}"),
        "description": format!("Do task {id} in {file}."),
        "phase": phase,
        "phase_name": phase_name,
        "task_type": kind,
        "estimated_complexity": complexity,
        "depends_on": depends,
        "files_to_modify": if file.is_empty() { json!([]) } else { json!([file]) },
        "definition_of_done": [format!("{id} is done")],
        "story_label": story,
        "context_needed": ["app/main.py"],
        "agent": "monty",
        "entrypoint": entrypoint,
    })
}

/// Foundation (one model table), then one story with two endpoints.
fn submission(tests: bool, review: bool) -> Value {
    let mut tasks = vec![
        task("MODEL", 1, "implementation", "low", &[]),
        task("SAVE", 2, "implementation", "medium", &["MODEL"]),
        task("LIST", 2, "implementation", "high", &["MODEL"]),
    ];
    if tests {
        tasks.push(task("TMODEL", 1, "test", "low", &["MODEL"]));
        tasks.push(task("TSAVE", 2, "test", "medium", &["SAVE", "LIST"]));
    }
    if review {
        tasks.push(task("R1", 1, "review", "medium", &[]));
        tasks.push(task("R2", 2, "review", "medium", &[]));
    }
    json!({
        "feature": "favorites-list",
        "spec_summary": "Shoppers save products to a favourites list and read it back.",
        "tasks": tasks,
    })
}

fn report(text: &str) -> Step {
    tool_call("submit_report", json!({ "text": text }))
}

fn provider(steps: Vec<Step>) -> Arc<ScriptedProvider> {
    Arc::new(ScriptedProvider::new(steps))
}

struct Outcome {
    result: anyhow::Result<Exit>,
    stdout: String,
}

async fn speck(arguments: &[&str], services: Services) -> Outcome {
    let mut argv = vec!["agentci", "-q", "speck"];
    argv.extend_from_slice(arguments);
    let cli = Cli::try_parse_from(argv).unwrap();
    let Command::Speck(args) = cli.command else {
        panic!("not a speck command")
    };
    let mut stdout = Vec::new();
    let result = run(args, &cli.global.options(), services, &mut stdout).await;
    Outcome {
        result,
        stdout: String::from_utf8(stdout).unwrap(),
    }
}

fn with_provider(provider: &Arc<ScriptedProvider>) -> Services {
    Services {
        provider: Some(Arc::clone(provider) as Arc<dyn Provider>),
        ..Services::default()
    }
}

/// Every text the model was sent in a request's messages (user text and tool results).
fn sent_text(request: &Request) -> String {
    request
        .messages
        .iter()
        .flat_map(|message| message.content.iter())
        .map(|block| match block {
            ContentBlock::Text { text } => text.clone(),
            ContentBlock::ToolResult(result) => result.content.clone(),
            ContentBlock::ToolUse(call) => call.arguments.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tool_names(request: &Request) -> Vec<String> {
    request.tools.iter().map(|tool| tool.name.clone()).collect()
}

/// The error tool results of the last message of a request.
fn error_results(request: &Request) -> Vec<String> {
    request
        .messages
        .last()
        .unwrap()
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::ToolResult(result) if result.is_error => Some(result.content.clone()),
            _ => None,
        })
        .collect()
}

fn expectations(family: &str, tests: bool, review: bool, create_pr: bool) -> Expectations {
    let table = tiers::builtin(family).unwrap();
    Expectations {
        models: [table.low, table.medium, table.high],
        include_tests: tests,
        include_review: review,
        create_pr,
    }
}

async fn decompose(flags: &[&str], submission: Value) -> (Value, Vec<Request>) {
    let model = provider(vec![
        report(SPEC),
        report(PLAN),
        tool_call("submit_tasks", submission),
    ]);
    let source = source();
    let mut arguments = vec![
        "decompose",
        "--prompt",
        REQUEST,
        "--tech-stack",
        "Python, FastAPI",
        "--source",
        source.to_str().unwrap(),
    ];
    arguments.extend_from_slice(flags);
    let outcome = speck(&arguments, with_provider(&model)).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    (
        serde_json::from_str(&outcome.stdout).unwrap(),
        model.requests(),
    )
}

fn assert_three_steps(requests: &[Request]) {
    assert_eq!(requests.len(), 3, "specify, plan, decompose: one call each");
    let [specify, plan, decompose] = [&requests[0], &requests[1], &requests[2]];
    assert!(sent_text(specify).contains(REQUEST));
    assert!(tool_names(specify).contains(&"submit_report".to_owned()));
    assert!(sent_text(plan).contains("Shoppers keep a list of favourite products"));
    assert!(sent_text(plan).contains("Python, FastAPI"));
    assert!(tool_names(plan).contains(&"submit_report".to_owned()));
    assert!(sent_text(decompose).contains("Shoppers keep a list of favourite products"));
    assert!(sent_text(decompose).contains("app/favorites.py (new)"));
    assert!(tool_names(decompose).contains(&"submit_tasks".to_owned()));
    for request in requests {
        let names = tool_names(request);
        assert!(names.contains(&"read_file".to_owned()), "{names:?}");
        for write in ["write_file", "edit_file", "delete_file", "exec"] {
            assert!(!names.contains(&write.to_owned()), "{write} offered");
        }
    }
}

#[tokio::test]
async fn decompose_runs_three_steps_and_prints_a_valid_decomposition() {
    let (output, requests) = decompose(&[], submission(false, false)).await;
    assert_three_steps(&requests);
    assert!(sent_text(&requests[2]).contains("No `test` tasks"));
    assert!(sent_text(&requests[2]).contains("`monty` (agentci)"));
    let problems = validate(&output, &expectations("claude", false, false, false));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(output["total_tasks"], 3);
    assert_eq!(output["tasks"][0]["suggested_model"], "claude-haiku-4-5");
    assert_eq!(
        output["execution_plan"]["phases"][0]["pr_branch"],
        Value::Null
    );
    insta::assert_json_snapshot!("speck_decompose_plain", output);
}

#[tokio::test]
async fn decompose_with_tests_and_reviews() {
    let (output, requests) = decompose(
        &["--include-tests", "--include-review"],
        submission(true, true),
    )
    .await;
    assert_three_steps(&requests);
    assert!(sent_text(&requests[2]).contains("Tests are wanted"));
    assert!(sent_text(&requests[2]).contains("exactly one `review` task per phase"));
    let problems = validate(&output, &expectations("claude", true, true, false));
    assert!(problems.is_empty(), "{problems:?}");
    let tasks = output["tasks"].as_array().unwrap();
    let kinds: Vec<&str> = tasks
        .iter()
        .filter(|task| task["phase"] == 2)
        .map(|task| task["task_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["implementation", "implementation", "test", "review"]
    );
    // The test of SAVE (medium) and LIST (high) runs one tier above the hardest: high.
    let test = tasks
        .iter()
        .find(|task| task["phase"] == 2 && task["task_type"] == "test")
        .unwrap();
    assert_eq!(test["suggested_model"], "claude-opus-4-6");
}

#[tokio::test]
async fn decompose_with_pull_request_branches() {
    let (output, _) = decompose(&["--create-pr"], submission(false, false)).await;
    let problems = validate(&output, &expectations("claude", false, false, true));
    assert!(problems.is_empty(), "{problems:?}");
    let branches: Vec<&str> = output["execution_plan"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| phase["pr_branch"].as_str().unwrap())
        .collect();
    assert_eq!(
        branches,
        [
            "speck/favorites-list/phase-1-foundation",
            "speck/favorites-list/phase-2-save-favourites"
        ]
    );
}

#[tokio::test]
async fn decompose_with_the_gemini_family() {
    let (output, _) = decompose(&["--model-family", "gemini"], submission(false, false)).await;
    let problems = validate(&output, &expectations("gemini", false, false, false));
    assert!(problems.is_empty(), "{problems:?}");
    let models: Vec<&str> = output["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["suggested_model"].as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        [
            "gemini-3.1-flash-lite-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-pro-preview"
        ]
    );
}

#[tokio::test]
async fn decompose_prints_a_matrix() {
    let model = provider(vec![
        report(SPEC),
        report(PLAN),
        tool_call("submit_tasks", submission(false, false)),
    ]);
    let source = source();
    let outcome = speck(
        &[
            "decompose",
            "--prompt",
            REQUEST,
            "--create-pr",
            "--format",
            "matrix",
            "--source",
            source.to_str().unwrap(),
        ],
        with_provider(&model),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let matrix: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(
        matrix,
        json!({"include": [
            {"phase": 1, "name": "Foundation", "pr_branch": "speck/favorites-list/phase-1-foundation",
             "parallel": true, "depends_on": [], "level": 1, "tasks": ["T001"]},
            {"phase": 2, "name": "Save favourites", "pr_branch": "speck/favorites-list/phase-2-save-favourites",
             "parallel": false, "depends_on": [1], "level": 2, "tasks": ["T002", "T003"]}
        ]})
    );
}

/// A wrong submission goes back to the model with the reasons; the corrected one is printed.
async fn rejected_then_corrected(flags: &[&str], wrong: Value, reason: &str) {
    let model = provider(vec![
        report(SPEC),
        report(PLAN),
        tool_call("submit_tasks", wrong),
        tool_call("submit_tasks", submission(false, false)),
    ]);
    let source = source();
    let mut arguments = vec!["decompose", "--prompt", REQUEST, "--source"];
    arguments.push(source.to_str().unwrap());
    arguments.extend_from_slice(flags);
    let outcome = speck(&arguments, with_provider(&model)).await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let requests = model.requests();
    assert_eq!(requests.len(), 4);
    let errors = error_results(&requests[3]);
    assert!(
        errors.iter().any(|error| error.contains(reason)),
        "{errors:?} lacks {reason:?}"
    );
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert!(validate(&output, &expectations("claude", false, false, false)).is_empty());
}

#[tokio::test]
async fn a_dependency_cycle_is_sent_back() {
    let mut wrong = submission(false, false);
    wrong["tasks"][0]["depends_on"] = json!(["SAVE"]);
    wrong["tasks"][0]["phase"] = json!(2);
    wrong["tasks"][1]["depends_on"] = json!(["MODEL"]);
    rejected_then_corrected(&[], wrong, "the dependencies form a cycle").await;
}

#[tokio::test]
async fn an_unknown_dependency_is_sent_back() {
    let mut wrong = submission(false, false);
    wrong["tasks"][1]["depends_on"] = json!(["SCHEMA"]);
    rejected_then_corrected(
        &[],
        wrong,
        "task `SAVE` depends on `SCHEMA`, which is not a task id",
    )
    .await;
}

#[tokio::test]
async fn a_test_task_without_include_tests_is_sent_back() {
    let mut wrong = submission(false, false);
    wrong["tasks"]
        .as_array_mut()
        .unwrap()
        .push(task("TSAVE", 2, "test", "low", &["SAVE"]));
    rejected_then_corrected(
        &[],
        wrong,
        "task `TSAVE` is a test task, but test tasks were not requested",
    )
    .await;
}

#[tokio::test]
async fn specify_sends_back_more_than_three_open_questions() {
    let open = "[NEEDS CLARIFICATION: a?] [NEEDS CLARIFICATION: b?] \
                [NEEDS CLARIFICATION: c?] [NEEDS CLARIFICATION: d?]";
    let model = provider(vec![
        report(&format!("{SPEC}\n{open}")),
        report(&format!("{SPEC}\n[NEEDS CLARIFICATION: a?]")),
    ]);
    let source = source();
    let outcome = speck(
        &[
            "specify",
            "--prompt",
            REQUEST,
            "--source",
            source.to_str().unwrap(),
        ],
        with_provider(&model),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let errors = error_results(&requests[1]);
    assert!(
        errors
            .iter()
            .any(|error| error.contains("has 4 `[NEEDS CLARIFICATION: …]` markers")),
        "{errors:?}"
    );
    assert!(outcome.stdout.starts_with("## Overview"));
    assert!(outcome.stdout.contains("[NEEDS CLARIFICATION: a?]"));
    assert!(!outcome.stdout.contains("d?"));
}

#[tokio::test]
async fn a_specification_in_plain_text_is_asked_for_through_the_tool() {
    let open = "[NEEDS CLARIFICATION: a?] [NEEDS CLARIFICATION: b?] \
                [NEEDS CLARIFICATION: c?] [NEEDS CLARIFICATION: d?]";
    let model = provider(vec![
        agentci::llm::fake::text(format!("{SPEC}\n{open}")),
        report(SPEC),
    ]);
    let source = source();
    let outcome = speck(
        &[
            "specify",
            "--prompt",
            REQUEST,
            "--source",
            source.to_str().unwrap(),
        ],
        with_provider(&model),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let nudge = requests[1].messages.last().unwrap().text();
    assert!(nudge.contains("`submit_report`"), "{nudge}");
    assert_eq!(outcome.stdout, format!("{}\n", SPEC.trim_end()));
}

#[tokio::test]
async fn plan_reads_the_spec_file_and_prints_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.md");
    std::fs::write(&spec, SPEC).unwrap();
    let model = provider(vec![report(PLAN)]);
    let source = source();
    let outcome = speck(
        &[
            "plan",
            "--spec",
            spec.to_str().unwrap(),
            "--tech-stack",
            "Python, FastAPI",
            "--source",
            source.to_str().unwrap(),
        ],
        with_provider(&model),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert_eq!(outcome.stdout, format!("{}\n", PLAN.trim_end()));
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert!(sent_text(&requests[0]).contains("[US1] Save favourites"));
    assert!(sent_text(&requests[0]).contains("The team's tech stack: Python, FastAPI."));
}

#[tokio::test]
async fn given_spec_and_plan_skip_their_steps() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.md");
    let plan = dir.path().join("plan.md");
    std::fs::write(&spec, SPEC).unwrap();
    std::fs::write(&plan, PLAN).unwrap();
    let model = provider(vec![tool_call("submit_tasks", submission(false, false))]);
    let source = source();
    let outcome = speck(
        &[
            "decompose",
            "--spec",
            spec.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
        ],
        with_provider(&model),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    assert!(sent_text(&requests[0]).contains("app/favorites.py (new)"));
}

#[tokio::test]
async fn bad_inputs_fail_before_any_model_call() {
    let source = source();
    let source = source.to_str().unwrap();
    for (arguments, message) in [
        (
            vec![
                "decompose",
                "--prompt",
                REQUEST,
                "--source",
                source,
                "--model-family",
                "llama",
            ],
            "unknown model family `llama`",
        ),
        (
            vec![
                "decompose",
                "--prompt",
                REQUEST,
                "--source",
                source,
                "--agents",
                "[{\"name\": \"x\"}]",
            ],
            "`--agents` is not a valid agent registry",
        ),
        (
            vec!["decompose", "--source", source],
            "give the feature request",
        ),
        (
            vec![
                "decompose",
                "--prompt",
                REQUEST,
                "--source",
                "/nonexistent/speck",
            ],
            "is not a directory",
        ),
        (
            vec![
                "decompose",
                "--prompt",
                REQUEST,
                "--source",
                source,
                "--post",
            ],
            "`--post` needs",
        ),
    ] {
        let model = provider(vec![]);
        let outcome = speck(&arguments, with_provider(&model)).await;
        let error = outcome.result.unwrap_err();
        assert_eq!(exit_for(&error), Exit::Usage, "{arguments:?}: {error:#}");
        assert!(format!("{error:#}").contains(message), "{error:#}");
        assert!(model.requests().is_empty());
        assert!(outcome.stdout.is_empty());
    }
}

#[tokio::test]
async fn a_custom_registry_from_a_file_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("agents.json");
    std::fs::write(
        &registry,
        json!([{"name": "monty", "source": "github.com/acme/agents/monty@v1",
                "specialization": "Python backends", "capabilities": ["assist", "write_tests", "review"]}])
        .to_string(),
    )
    .unwrap();
    let argument = format!("@{}", registry.display());
    let (output, requests) = decompose(&["--agents", &argument], submission(false, false)).await;
    assert!(sent_text(&requests[2]).contains("`monty` (github.com/acme/agents/monty@v1)"));
    assert_eq!(
        output["tasks"][0]["suggested_agent"]["source"],
        "github.com/acme/agents/monty@v1"
    );
    assert_eq!(output["agent_registry_used"][0]["tasks_assigned"], 3);
}

/// What the article's workflow asks of the JSON, through `jq` when it is installed and through
/// serde_json always; both must agree.
#[tokio::test]
async fn the_article_jq_expressions_work_on_the_output() {
    let (output, _) = decompose(
        &["--include-tests", "--include-review", "--create-pr"],
        submission(true, true),
    )
    .await;
    let text = serde_json::to_string(&output).unwrap();

    let total = output["total_tasks"].clone();
    assert_eq!(total, json!(7));
    let phases = output["execution_plan"]["total_phases"].clone();
    assert_eq!(phases, json!(2));
    let mut phase_two: Vec<Value> = output["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|task| task["phase"] == 2)
        .cloned()
        .collect();
    phase_two.sort_by_key(|task| task["order"].as_u64().unwrap());
    let phase_two = Value::Array(phase_two);
    let orders: Vec<u64> = phase_two
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["order"].as_u64().unwrap())
        .collect();
    assert!(orders.windows(2).all(|pair| pair[0] <= pair[1]));
    let sources: Vec<Value> = phase_two
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["suggested_agent"]["source"].clone())
        .collect();
    let entrypoints: Vec<Value> = phase_two
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["suggested_agent"]["entrypoint"].clone())
        .collect();
    assert!(sources.iter().all(|source| source == "agentci"));
    assert_eq!(
        entrypoints,
        [
            json!("assist"),
            json!("assist"),
            json!("write-tests"),
            json!("review")
        ]
    );

    {
        assert_eq!(jq(&text, ".total_tasks"), total);
        assert_eq!(jq(&text, ".execution_plan.total_phases"), phases);
        let selected = jq(
            &text,
            "[.tasks[] | select(.phase == (\"2\" | tonumber))] | sort_by(.order)",
        );
        assert_eq!(selected, phase_two);
        assert_eq!(
            jq(
                &selected.to_string(),
                "[.[] | .suggested_agent.source // empty]"
            ),
            Value::Array(sources)
        );
        assert_eq!(
            jq(
                &selected.to_string(),
                "[.[] | .suggested_agent.entrypoint // \"assist\" | gsub(\"_\"; \"-\")]"
            ),
            Value::Array(entrypoints)
        );
        assert_eq!(jq(&text, ".execution_plan.phases | length"), json!(2));
    }
}

/// `jq -c EXPR` on `input`. jq is required (`.ci/run` installs it): the workflows users run
/// consume speck's output with it.
fn jq(input: &str, expression: &str) -> Value {
    use std::io::Write as _;
    let mut child = std::process::Command::new("jq")
        .arg("-c")
        .arg(expression)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("jq is required for this test (apt-get install jq)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "jq {expression} failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn issue(number: u64, title: &str, text: &str) -> Value {
    let mut issue = fixture_json("events/issues.json")["issue"].clone();
    issue["number"] = json!(number);
    issue["title"] = json!(title);
    issue["body"] = json!(text);
    issue
}

#[tokio::test]
async fn an_issue_is_read_and_the_decomposition_is_posted_on_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue(
            42,
            "Favorites list",
            "Shoppers want to keep products for later.",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([issue_comment(
                7,
                42,
                "octocat",
                "Only for signed-in shoppers, please."
            )])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(issue_comment(
            8,
            42,
            "github-actions[bot]",
            "posted",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let model = provider(vec![
        report(SPEC),
        report(PLAN),
        tool_call("submit_tasks", submission(false, false)),
    ]);
    let source = source();
    let outcome = speck(
        &[
            "decompose",
            "--issue-id",
            "42",
            "--repository",
            "acme/shop",
            "--post",
            "--source",
            source.to_str().unwrap(),
        ],
        Services {
            provider: Some(Arc::clone(&model) as Arc<dyn Provider>),
            github: Some(client(&server)),
            ..Services::default()
        },
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let first = sent_text(&model.requests()[0]);
    assert!(first.contains("Issue #42: Favorites list"));
    assert!(first.contains("Shoppers want to keep products for later."));
    assert!(first.contains("@octocat:\nOnly for signed-in shoppers, please."));
    let posted = requests(&server, "POST").await;
    assert_eq!(posted.len(), 1);
    let comment = body(&posted[0])["body"].as_str().unwrap().to_owned();
    assert!(comment.starts_with("<!-- agentci:speck -->"));
    assert!(comment.contains("**3 tasks** in **2 phases**"));
    let output: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(output["feature"], "favorites-list");
    server.verify().await;
}

/// Stands in for the agent verbs: phase 1 writes the model; phase 2 reads it and drops the pinned
/// requirements. Each task reports what it did.
struct EditingRunner {
    ran: Mutex<Vec<String>>,
}

#[async_trait]
impl TaskRunner for EditingRunner {
    async fn run(&self, run: &TaskRun<'_>) -> TaskReport {
        self.ran.lock().unwrap().push(run.task.id.clone());
        let workspace = run.workspace;
        let result = match run.task.phase {
            1 => std::fs::write(workspace.join("app/models.py"), "FAVORITES: dict = {}\n")
                .and_then(|()| {
                    std::fs::write(workspace.join("app/favorites.py"), "def save(): ...\n")
                }),
            _ => std::fs::read_to_string(workspace.join("app/favorites.py")).and_then(|_| {
                match std::fs::remove_file(workspace.join("requirements.txt")) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                    _ => Ok(()),
                }
            }),
        };
        TaskReport {
            ok: result.is_ok(),
            report: Some(format!("{} done", run.task.id)),
            error: result.err().map(|error| error.to_string()),
            ..TaskReport::default()
        }
    }
}

/// A stateful fake of GitHub's Git Data API and pulls: refs, commits with parents, trees, blobs.
#[derive(Default)]
struct GitState {
    refs: std::collections::BTreeMap<String, String>,
    commits: std::collections::BTreeMap<String, Vec<String>>,
    next: u32,
    pulls: Vec<Value>,
}

#[derive(Clone, Default)]
struct FakeGit(Arc<Mutex<GitState>>);

impl wiremock::Respond for FakeGit {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let route = request
            .url
            .path()
            .trim_start_matches("/repos/acme/shop/")
            .to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let new_sha = |state: &mut GitState| {
            state.next += 1;
            format!("{:040x}", state.next)
        };
        let method = request.method.to_string();
        match (method.as_str(), route.as_str()) {
            ("GET", route) if route.starts_with("git/ref/heads/") => {
                let branch = route.trim_start_matches("git/ref/heads/");
                match state.refs.get(branch) {
                    Some(sha) => ResponseTemplate::new(200).set_body_json(json!({
                        "ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"}
                    })),
                    None => not_found(),
                }
            }
            ("GET", route) if route.starts_with("git/commits/") => {
                let sha = route.trim_start_matches("git/commits/");
                ResponseTemplate::new(200).set_body_json(json!({
                    "sha": sha, "tree": {"sha": format!("tree-of-{sha}")}, "parents": []
                }))
            }
            ("GET", route) if route.starts_with("git/trees/") => ResponseTemplate::new(200)
                .set_body_json(json!({"sha": "t", "truncated": false, "tree": []})),
            ("POST", "git/blobs") | ("POST", "git/trees") => {
                let sha = new_sha(&mut state);
                ResponseTemplate::new(201).set_body_json(json!({"sha": sha, "tree": []}))
            }
            ("POST", "git/commits") => {
                let sha = new_sha(&mut state);
                let parents = body["parents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|parent| parent.as_str().unwrap().to_owned())
                    .collect();
                state.commits.insert(sha.clone(), parents);
                ResponseTemplate::new(201).set_body_json(json!({"sha": sha}))
            }
            ("POST", "git/refs") => {
                let branch = body["ref"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("refs/heads/")
                    .to_owned();
                let sha = body["sha"].as_str().unwrap().to_owned();
                state.refs.insert(branch.clone(), sha.clone());
                ResponseTemplate::new(201).set_body_json(
                    json!({"ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"}}),
                )
            }
            ("PATCH", route) if route.starts_with("git/refs/heads/") => {
                let branch = route.trim_start_matches("git/refs/heads/").to_owned();
                let sha = body["sha"].as_str().unwrap().to_owned();
                state.refs.insert(branch.clone(), sha.clone());
                ResponseTemplate::new(200).set_body_json(
                    json!({"ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"}}),
                )
            }
            ("GET", "pulls") => ResponseTemplate::new(200).set_body_json(json!([])),
            ("POST", "pulls") => {
                let number = 101 + state.pulls.len() as u64;
                state.pulls.push(body.clone());
                let mut pull = fixture_json("events/pull_request.json")["pull_request"].clone();
                pull["number"] = json!(number);
                pull["html_url"] = json!(format!("https://github.com/acme/shop/pull/{number}"));
                pull["head"]["ref"] = body["head"].clone();
                ResponseTemplate::new(201).set_body_json(pull)
            }
            _ => ResponseTemplate::new(500).set_body_string(format!("unexpected {method} {route}")),
        }
    }
}

const BASE_SHA: &str = "1111111111111111111111111111111111111111";
const PHASE_ONE: &str = "speck/favorites-list/phase-1-foundation";
const PHASE_TWO: &str = "speck/favorites-list/phase-2-save-favourites";

#[tokio::test]
async fn with_create_pr_phase_two_is_built_on_phase_one_s_branch() {
    let (output, _) = decompose(&["--create-pr"], submission(false, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, output.to_string()).unwrap();
    let repository = dir.path().join("repository");
    agentci::agents::speck::run::copy_tree(&source(), &repository).unwrap();
    let work = dir.path().join("work");

    let server = MockServer::start().await;
    let git = FakeGit::default();
    git.0
        .lock()
        .unwrap()
        .refs
        .insert("main".into(), BASE_SHA.into());
    Mock::given(wiremock::matchers::path_regex("^/repos/acme/shop/"))
        .respond_with(git.clone())
        .mount(&server)
        .await;
    let runner = Arc::new(EditingRunner {
        ran: Mutex::new(Vec::new()),
    });
    let outcome = speck(
        &[
            "run",
            "--plan",
            plan.to_str().unwrap(),
            "--create-pr",
            "--repository",
            "acme/shop",
            "--issue-id",
            "42",
            "--source",
            repository.to_str().unwrap(),
            "--work-dir",
            work.to_str().unwrap(),
        ],
        Services {
            github: Some(client(&server)),
            runner: Some(Arc::clone(&runner) as Arc<dyn TaskRunner>),
            ..Services::default()
        },
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done, "{}", outcome.stdout);
    let summary: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(summary["succeeded"], 2);
    assert_eq!(summary["phases"][1]["depends_on"], json!([1]));
    assert_eq!(summary["phases"][1]["pr_base"], PHASE_ONE);
    assert_eq!(
        summary["phases"][1]["tasks"][0]["files_changed"],
        json!(["requirements.txt"])
    );
    // Phase 1 ran before phase 2, whose tasks read what phase 1 wrote.
    let ran = runner.ran.lock().unwrap().clone();
    assert_eq!(ran, ["T001", "T002", "T003"]);
    assert!(repository.join("requirements.txt").is_file());

    let state = git.0.lock().unwrap();
    let one = state.refs.get(PHASE_ONE).unwrap().clone();
    let two = state.refs.get(PHASE_TWO).unwrap().clone();
    assert_eq!(state.commits[&one], [BASE_SHA]);
    assert_eq!(
        state.commits[&two],
        [one],
        "phase 2's branch contains phase 1's commit"
    );
    assert_eq!(state.pulls.len(), 2);
    let first = state
        .pulls
        .iter()
        .find(|pull| pull["head"] == PHASE_ONE)
        .unwrap();
    let second = state
        .pulls
        .iter()
        .find(|pull| pull["head"] == PHASE_TWO)
        .unwrap();
    assert_eq!(first["base"], "main");
    assert_eq!(
        second["base"], PHASE_ONE,
        "phase 2's PR targets phase 1's branch"
    );
    let body = second["body"].as_str().unwrap();
    assert!(
        body.contains(
            "**Merge after:**\n- phase 1 Foundation (https://github.com/acme/shop/pull/101)"
        ),
        "{body}"
    );
    assert!(
        body.contains("### T002 Task SAVE (monty `assist`)"),
        "{body}"
    );
    assert!(body.contains("T002 done"), "{body}");
    assert!(body.ends_with("Closes #42"), "{body}");
}

/// A task whose verb runs commands is skipped without `--allow-exec`: its phase is incomplete,
/// the phase depending on it is skipped with the reason, and the run exits 1.
#[tokio::test]
async fn a_build_task_needs_allow_exec_and_its_dependents_wait() {
    let mut submitted = submission(false, false);
    submitted["tasks"][0]["entrypoint"] = json!("build");
    let (output, _) = decompose(&[], submitted).await;
    assert_eq!(output["tasks"][0]["suggested_agent"]["entrypoint"], "build");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, output.to_string()).unwrap();
    let work = dir.path().join("work");
    let source = source();
    let arguments = |extra: &[&'static str]| {
        let mut arguments = vec![
            "run".to_owned(),
            "--plan".to_owned(),
            plan.display().to_string(),
            "--source".to_owned(),
            source.display().to_string(),
            "--work-dir".to_owned(),
            work.display().to_string(),
        ];
        arguments.extend(extra.iter().map(|text| (*text).to_owned()));
        arguments
    };
    let runner = Arc::new(EditingRunner {
        ran: Mutex::new(Vec::new()),
    });
    let without: Vec<String> = arguments(&[]);
    let without: Vec<&str> = without.iter().map(String::as_str).collect();
    let outcome = speck(
        &without,
        Services {
            runner: Some(Arc::clone(&runner) as Arc<dyn TaskRunner>),
            ..Services::default()
        },
    )
    .await;
    assert_eq!(exit_for(&outcome.result.unwrap_err()), Exit::Negative);
    let summary: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(summary["phases"][0]["status"], "incomplete");
    assert_eq!(
        summary["phases"][0]["tasks"][0]["error"],
        "skipped: needs --allow-exec"
    );
    assert_eq!(summary["phases"][1]["status"], "skipped");
    assert_eq!(
        summary["phases"][1]["error"],
        "phase 1 it depends on did not succeed (incomplete)"
    );
    assert!(runner.ran.lock().unwrap().is_empty());

    // The dry run shows the same order and the exact commands, and runs nothing.
    let dry: Vec<String> = arguments(&["--dry-run", "--allow-exec"]);
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    let outcome = speck(
        &dry,
        Services {
            runner: Some(Arc::clone(&runner) as Arc<dyn TaskRunner>),
            ..Services::default()
        },
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert!(
        runner.ran.lock().unwrap().is_empty(),
        "a dry run runs nothing"
    );
    let text = outcome.stdout;
    let wave_two = text.find("wave 2").unwrap();
    assert!(
        text.find("phase 1 Foundation (starts from the source")
            .unwrap()
            < wave_two,
        "{text}"
    );
    assert!(
        text.find("phase 2 Save favourites (starts from phase 1")
            .unwrap()
            > wave_two,
        "{text}"
    );
    let phase_one = work.join("phase-1").display().to_string();
    assert!(
        text.contains(&format!(
            "$ agentci monty build --source {phase_one} --assignment 'Task MODEL"
        )),
        "{text}"
    );
    assert!(text.contains("--allow-exec\n"), "{text}");

    // With it, the build task runs and so does the phase after it.
    let with: Vec<String> = arguments(&["--allow-exec"]);
    let with: Vec<&str> = with.iter().map(String::as_str).collect();
    let outcome = speck(
        &with,
        Services {
            runner: Some(Arc::clone(&runner) as Arc<dyn TaskRunner>),
            ..Services::default()
        },
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    assert_eq!(runner.ran.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn run_rejects_a_file_that_is_not_a_decomposition() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, "{\"feature\": \"x\"}").unwrap();
    let source = source();
    let outcome = speck(
        &[
            "run",
            "--plan",
            plan.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
        ],
        Services::default(),
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error:#}").contains("not a speck decomposition"));
}

/// A task that fails makes `speck run` print the summary and exit 1.
struct FailingRunner;

#[async_trait]
impl TaskRunner for FailingRunner {
    async fn run(&self, run: &TaskRun<'_>) -> TaskReport {
        if run.task.phase == 2 {
            TaskReport {
                error: Some("pytest failed".into()),
                ..TaskReport::default()
            }
        } else {
            TaskReport {
                ok: true,
                ..TaskReport::default()
            }
        }
    }
}

#[tokio::test]
async fn a_failed_phase_exits_one_after_printing_the_summary() {
    let (output, _) = decompose(&[], submission(false, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, output.to_string()).unwrap();
    let work = dir.path().join("work");
    let source = source();
    let outcome = speck(
        &[
            "run",
            "--plan",
            plan.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
            "--work-dir",
            work.to_str().unwrap(),
        ],
        Services {
            runner: Some(Arc::new(FailingRunner)),
            ..Services::default()
        },
    )
    .await;
    let error = outcome.result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Negative);
    let summary: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(summary["succeeded"], 1);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["phases"][1]["tasks"][0]["error"], "pytest failed");
}

/// One streamed OpenAI chat completion that calls `name` with `arguments`.
fn openai_tool_call(name: &str, arguments: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_raw(
            crate::support::wire::openai::tool_call_stream(name, arguments),
            "text/event-stream",
        )
}

/// The real binary against a fake OpenAI server: provider detection, three streamed model calls,
/// JSON alone on stdout (progress on stderr), ready for `jq`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_decomposes_with_a_detected_provider() {
    let server = MockServer::start().await;
    for (name, arguments) in [
        ("submit_report", json!({ "text": SPEC })),
        ("submit_report", json!({ "text": PLAN })),
        ("submit_tasks", submission(false, false)),
    ] {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(openai_tool_call(name, &arguments))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let base_url = format!("{}/v1", server.uri());
    let source = source();
    let output = tokio::task::spawn_blocking(move || {
        crate::cli::agentci(
            dir.path(),
            &[
                ("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789"),
                ("OPENAI_BASE_URL", &base_url),
                ("OPENAI_MODEL", "gpt-4o"),
            ],
        )
        .args([
            "speck",
            "decompose",
            "--prompt",
            REQUEST,
            "--model-family",
            "openai",
        ])
        .arg("--source")
        .arg(&source)
        .output()
        .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("speck: 3/3 decomposing into tasks"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk-test-not-a-real-key"));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let problems = validate(&printed, &expectations("openai", false, false, false));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(printed["tasks"][2]["suggested_model"], "o3");
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 3);
    let last: Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(last["model"], "gpt-4o");
    assert!(last.to_string().contains("app/favorites.py (new)"));
    server.verify().await;
}

#[tokio::test]
async fn events_and_the_context_file_cover_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let repository = dir.path().join("shop");
    agentci::agents::speck::run::copy_tree(&source(), &repository).unwrap();
    std::fs::write(
        repository.join("SPECK.md"),
        "Stories are numbered by the product team.\n",
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    let model = provider(vec![
        report(SPEC),
        report(PLAN),
        tool_call("submit_tasks", submission(false, false)),
    ]);
    let cli = Cli::try_parse_from([
        "agentci",
        "-q",
        "--events",
        events.to_str().unwrap(),
        "speck",
        "decompose",
        "--prompt",
        REQUEST,
        "--source",
        repository.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Speck(args) = cli.command else {
        panic!("not a speck command")
    };
    let mut stdout = Vec::new();
    let result = run(
        args,
        &cli.global.options(),
        with_provider(&model),
        &mut stdout,
    )
    .await;
    assert_eq!(result.unwrap(), Exit::Done);
    for request in model.requests() {
        assert!(
            request
                .system
                .contains("Stories are numbered by the product team.")
        );
        assert!(request.system.starts_with("You are Speck"));
    }
    let started: Vec<(String, String)> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["type"] == "run.started")
        .map(|event| {
            (
                event["agent"].as_str().unwrap().to_owned(),
                event["verb"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ["specify", "plan", "decompose"]
        .iter()
        .map(|verb| ("speck".to_owned(), (*verb).to_owned()))
        .collect();
    assert_eq!(started, expected);
}

#[tokio::test]
async fn the_turn_budget_covers_the_whole_command() {
    // Two turns for three steps: the budget stops the command before the last one.
    let model = Arc::new(
        ScriptedProvider::new(vec![
            report(SPEC),
            report(PLAN),
            tool_call("submit_tasks", submission(false, false)),
        ])
        .allowing_unused_steps(),
    );
    let source = source();
    let cli = Cli::try_parse_from([
        "agentci",
        "-q",
        "--max-turns",
        "2",
        "speck",
        "decompose",
        "--prompt",
        REQUEST,
        "--source",
        source.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Speck(args) = cli.command else {
        panic!("not a speck command")
    };
    let mut stdout = Vec::new();
    let error = run(
        args,
        &cli.global.options(),
        with_provider(&model),
        &mut stdout,
    )
    .await
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Budget, "{error:#}");
    assert_eq!(
        model.requests().len(),
        2,
        "the decompose step never started"
    );
    assert!(stdout.is_empty());
}

/// `speck run` with the real binary: each task is a child `agentci <agent> <entrypoint>` that
/// inherits the provider environment (here a fake OpenAI server). The review task goes to
/// daggie's `review`; the implementation task has no agent in this registry and is skipped, so
/// the phase is incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_a_phase_through_a_child_agent() {
    use agentci::agents::speck::decompose::{Options, build};
    use agentci::agents::speck::tasks::{RegistryAgent, Submission};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(openai_tool_call(
            "submit_review",
            &json!({"issues": [], "positives": ["checks run in CI"], "summary": "The set-up is sound."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut submitted = submission(false, true);
    let tasks = submitted["tasks"].as_array_mut().unwrap();
    tasks.retain(|task| task["phase"] == 1);
    for task in tasks.iter_mut() {
        task["agent"] = json!("daggie");
    }
    let submitted: Submission = serde_json::from_value(submitted).unwrap();
    let decomposition = build(
        &submitted,
        &Options {
            include_tests: false,
            include_review: true,
            create_pr: false,
            tiers: tiers::builtin("openai").unwrap(),
            registry: vec![RegistryAgent {
                name: "daggie".into(),
                source: "agentci".into(),
                specialization: "Dagger and CI".into(),
                capabilities: vec!["review".into()],
            }],
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, serde_json::to_string(&decomposition).unwrap()).unwrap();
    let work = dir.path().join("work");
    let base_url = format!("{}/v1", server.uri());
    let source = source();
    let home = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        crate::cli::agentci(
            &home,
            &[
                ("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789"),
                ("OPENAI_BASE_URL", &base_url),
                ("OPENAI_MODEL", "gpt-4o"),
            ],
        )
        .args(["speck", "run", "--max-parallel", "1"])
        .arg("--plan")
        .arg(&plan)
        .arg("--source")
        .arg(&source)
        .arg("--work-dir")
        .arg(&work)
        .output()
        .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The implementation task had no agent: the phase is not done, and the run says so.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["phases"][0]["status"], "incomplete");
    assert_eq!(
        summary["phases"][0]["tasks"][1]["report"],
        "The set-up is sound."
    );
    assert_eq!(
        summary["phases"][0]["tasks"][1]["findings"]["positives"],
        json!(["checks run in CI"])
    );
    assert_eq!(summary["usage"]["input_tokens"], 1200);
    let statuses: Vec<(&str, &str)> = summary["phases"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| {
            (
                task["id"].as_str().unwrap(),
                task["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("T001", "skipped"), ("T002", "succeeded")]);
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(
        sent.to_string().contains("Task R1"),
        "the review focus is the task"
    );
    server.verify().await;
}

/// Plays the model for many concurrent child agents: each request is answered from the script of
/// the task its first user message names, at the turn its assistant messages count.
struct ScriptedModel {
    scripts: Vec<(&'static str, Vec<(&'static str, Value)>)>,
}

impl wiremock::Respond for ScriptedModel {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        let first = messages
            .iter()
            .find(|message| message["role"] == "user")
            .map(|message| message["content"].to_string())
            .unwrap_or_default();
        let turn = messages
            .iter()
            .filter(|message| message["role"] == "assistant")
            .count();
        for (marker, steps) in &self.scripts {
            if first.contains(marker)
                && let Some((name, arguments)) = steps.get(turn)
            {
                return openai_tool_call(name, arguments);
            }
        }
        ResponseTemplate::new(400).set_body_string("no script for this request")
    }
}

fn e2e_task(
    id: &str,
    phase: u32,
    kind: &str,
    entrypoint: &str,
    depends: &[&str],
    file: &str,
) -> Value {
    let phase_name = ["Foundation", "Save favourites", "Upgrade"][phase as usize - 1];
    json!({
        "id": id,
        "title": format!("Task {id}"),
        "description": format!("Do task {id}."),
        "phase": phase,
        "phase_name": phase_name,
        "task_type": kind,
        "estimated_complexity": "low",
        "depends_on": depends,
        "files_to_modify": if file.is_empty() { json!([]) } else { json!([file]) },
        "definition_of_done": [format!("{id} is done")],
        "agent": "monty",
        "entrypoint": entrypoint,
    })
}

/// Every kind of task over three phases (phase 2 depends on phase 1; phase 3 on none).
fn every_kind() -> String {
    use agentci::agents::speck::decompose::{Options, build};
    use agentci::agents::speck::tasks::{Submission, builtin_registry};
    let mut upgrade = e2e_task(
        "UP",
        3,
        "implementation",
        "upgrade",
        &[],
        "requirements.txt",
    );
    upgrade["target_package"] = json!("fastapi");
    upgrade["target_version"] = json!("0.115.0");
    let submitted: Submission = serde_json::from_value(json!({
        "feature": "favorites-list",
        "spec_summary": "Shoppers save favourites.",
        "tasks": [
            e2e_task("MODEL", 1, "implementation", "assist", &[], "app/favorites.py"),
            e2e_task("TMODEL", 1, "test", "write-tests", &["MODEL"], "tests/test_favorites.py"),
            e2e_task("R1", 1, "review", "review", &[], ""),
            e2e_task("SAVE", 2, "implementation", "assist", &["MODEL"], "app/save.py"),
            e2e_task("BUILD", 2, "implementation", "build", &["SAVE"], ""),
            e2e_task("R2", 2, "review", "review", &[], ""),
            upgrade,
            e2e_task("R3", 3, "review", "review", &[], ""),
        ],
    }))
    .unwrap();
    let decomposition = build(
        &submitted,
        &Options {
            include_tests: true,
            include_review: true,
            create_pr: false,
            tiers: tiers::builtin("openai").unwrap(),
            registry: builtin_registry(),
        },
    )
    .unwrap();
    serde_json::to_string(&decomposition).unwrap()
}

fn every_kind_model() -> ScriptedModel {
    let write =
        |path: &str, content: &str| ("write_file", json!({"path": path, "content": content}));
    let done = |text: &str| ("submit_report", json!({"text": text}));
    let review = |summary: &str| {
        (
            "submit_review",
            json!({"issues": [{"path": "app/favorites.py", "line": 1, "severity": "minor", "text": "FAVORITES is a module global"}],
                   "positives": [], "summary": summary}),
        )
    };
    ScriptedModel {
        scripts: vec![
            (
                "Task MODEL",
                vec![
                    write("app/favorites.py", "FAVORITES_V1 = {}\n"),
                    done("MODEL report"),
                ],
            ),
            (
                "Task TMODEL",
                vec![
                    write("tests/test_favorites.py", "def test_it(): pass\n"),
                    done("TMODEL report"),
                ],
            ),
            ("Task R1", vec![review("R1 summary")]),
            (
                "Task SAVE",
                vec![
                    ("read_file", json!({"path": "app/favorites.py"})),
                    done("SAVE report"),
                ],
            ),
            ("Task BUILD", vec![done("BUILD report")]),
            ("Task R2", vec![review("R2 summary")]),
            ("Task UP", vec![done("UP report")]),
            ("Task R3", vec![review("R3 summary")]),
        ],
    }
}

fn openai_env(base_url: &str) -> [(&'static str, String); 3] {
    [
        (
            "OPENAI_API_KEY",
            "sk-test-not-a-real-key-0123456789".to_owned(),
        ),
        ("OPENAI_BASE_URL", base_url.to_owned()),
        ("OPENAI_MODEL", "gpt-4o".to_owned()),
    ]
}

async fn run_binary(
    dir: &std::path::Path,
    server: &MockServer,
    plan: &str,
    global: &[&str],
    flags: &[&str],
) -> std::process::Output {
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, plan).unwrap();
    let work = dir.join("work");
    let source = source();
    let env = openai_env(&format!("{}/v1", server.uri()));
    // The build task re-runs the pack's build command (`python -m compileall`) to verify it:
    // a `python` that passes stands in for the interpreter, whatever the machine has.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("python"), "#!/bin/sh\nexit 0\n").unwrap();
    let mut permissions = std::fs::metadata(bin.join("python")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(bin.join("python"), permissions).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut env = env.to_vec();
    env.push(("PATH", path));
    let home = dir.to_path_buf();
    let global: Vec<String> = global.iter().map(|text| (*text).to_owned()).collect();
    let flags: Vec<String> = flags.iter().map(|text| (*text).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let variables: Vec<(&str, &str)> = env
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        crate::cli::agentci(&home, &variables)
            .args(&global)
            .args(["speck", "run"])
            .args(&flags)
            .arg("--plan")
            .arg(&plan_file)
            .arg("--source")
            .arg(&source)
            .arg("--work-dir")
            .arg(&work)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The acceptance run: assist, write-tests, review, build and upgrade tasks over three phases run
/// as child agents against the fake provider; phase 2 reads what phase 1 wrote; the summary keeps
/// every report, the reviews' findings and the usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_kind_runs_end_to_end_against_the_fake_provider() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(every_kind_model())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_binary(dir.path(), &server, &every_kind(), &[], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {stderr}"));
    // Without `--allow-exec` the build task is skipped and phase 2 is not done.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(summary["phases"][1]["status"], "incomplete");

    let dir = tempfile::tempdir().unwrap();
    let before = server.received_requests().await.unwrap().len();
    let output = run_binary(dir.path(), &server, &every_kind(), &[], &["--allow-exec"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{stderr}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["succeeded"], 3);
    let tasks: Vec<&Value> = summary["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|phase| phase["tasks"].as_array().unwrap())
        .collect();
    let mut verbs: Vec<&str> = tasks
        .iter()
        .map(|task| task["entrypoint"].as_str().unwrap())
        .collect();
    verbs.sort();
    verbs.dedup();
    assert_eq!(
        verbs,
        ["assist", "build", "review", "upgrade", "write-tests"]
    );
    for task in &tasks {
        assert_eq!(task["status"], "succeeded", "{task}");
        let title = task["title"].as_str().unwrap().trim_start_matches("Task ");
        let report = task["report"].as_str().unwrap();
        if title.starts_with('R') {
            assert_eq!(report, format!("{title} summary"));
            assert_eq!(
                task["findings"]["issues"][0]["text"],
                "FAVORITES is a module global"
            );
        } else {
            assert_eq!(report, format!("{title} report"));
        }
        assert_eq!(task["usage"]["input_tokens"].as_u64().unwrap() % 1200, 0);
    }
    let model = tasks
        .iter()
        .find(|task| task["title"] == "Task MODEL")
        .unwrap();
    assert_eq!(model["files_changed"], json!(["app/favorites.py"]));
    // 11 model calls of 1200 + 300 tokens each.
    assert_eq!(summary["usage"]["input_tokens"], 11 * 1200);
    assert_eq!(summary["usage"]["output_tokens"], 11 * 300);
    assert_eq!(summary["usage"]["turns"], 11);
    assert_eq!(summary["phases"][1]["depends_on"], json!([1]));
    assert_eq!(summary["phases"][2]["depends_on"], json!([]));

    // Phase 2's first task read the file phase 1 wrote.
    let requests = server.received_requests().await.unwrap();
    let save_turn_two = requests[before..]
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        .find(|body| {
            let messages = body["messages"].as_array().unwrap();
            messages
                .iter()
                .any(|m| m["role"] == "user" && m["content"].to_string().contains("Task SAVE"))
                && messages.iter().any(|m| m["role"] == "tool")
        })
        .expect("SAVE's second turn");
    assert!(
        save_turn_two.to_string().contains("FAVORITES_V1"),
        "{save_turn_two}"
    );
    assert_eq!(requests.len() - before, 11);
}

/// `--max-tokens` covers the whole run: the first task stops on it with its work saved as a
/// patch, no other task starts, and the run exits 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_budget_covers_the_whole_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(every_kind_model())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_binary(
        dir.path(),
        &server,
        &every_kind(),
        &["--max-tokens", "1000"],
        &["--max-parallel", "1"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["budget_exhausted"], "tokens");
    let calls = server.received_requests().await.unwrap().len();
    assert!(calls <= 2, "{calls} model calls");
    let first = &summary["phases"][0]["tasks"][0];
    assert_eq!(first["status"], "stopped");
    let patch = first["patch"].as_str().expect("a saved patch");
    let text = std::fs::read_to_string(patch).unwrap();
    assert!(text.contains("FAVORITES_V1"), "{text}");
    for phase in summary["phases"].as_array().unwrap() {
        assert_ne!(phase["status"], "succeeded");
    }
}

/// `examples/workflows/speck.yml` runs one job per dependency level; its `jq` program turns the
/// dry run into each level's matrix, every entry starting from the branch of its predecessor.
#[tokio::test]
async fn the_workflow_matrices_follow_the_phase_dependencies() {
    let workflow = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workflows/speck.yml"),
    )
    .unwrap();
    let start = workflow.find("--argjson level \"$level\" '").unwrap() + 26;
    let program = &workflow[start..start + workflow[start..].find("')\"").unwrap()];
    assert!(workflow.contains("--issue-id \"$ISSUE_NUMBER\""));
    assert!(workflow.contains("needs: [decompose, level-1]"));

    let (output, _) = decompose(&["--create-pr"], submission(false, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, output.to_string()).unwrap();
    let source = source();
    let outcome = speck(
        &[
            "run",
            "--json",
            "--dry-run",
            "--plan",
            plan.to_str().unwrap(),
            "--source",
            source.to_str().unwrap(),
        ],
        Services::default(),
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Exit::Done);
    let level = |number: &str| {
        let mut child = std::process::Command::new("jq")
            .args(["-c", "--argjson", "level", number, program])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("jq is needed for this test");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), outcome.stdout.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    assert_eq!(
        level("1"),
        json!({"include": [{"phase": 1, "name": "Foundation", "pr_branch": PHASE_ONE, "base": "", "merge": ""}]})
    );
    assert_eq!(
        level("2"),
        json!({"include": [{"phase": 2, "name": "Save favourites", "pr_branch": PHASE_TWO, "base": PHASE_ONE, "merge": ""}]})
    );
    assert_eq!(level("3"), json!({"include": []}));
}
