//! daggie with a model, driven by the in-process scripted provider: `assist` through
//! `submit_plan` (same files as `--offline`, invalid plans sent back and corrected, a prompt made
//! of the catalog and never of module sources), and `explain`, `debug` and `review` with the tool
//! allow-lists their verbs promise.

use crate::support::copy_tree;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use agentci::agents::daggie::model::ModelRun;
use agentci::agents::daggie::render::RenderOptions;
use agentci::agents::daggie::{
    AssistOptions, ModuleSource, OutputMode, PlanInput, offline_planner, run_assist,
};
use agentci::cli::daggie::{ModelContext, run_with_model};
use agentci::cli::exit_for;
use agentci::cli::{Cli, Command, GlobalOptions};
use agentci::config::Settings;
use agentci::exit::Exit;
use agentci::llm::fake::{ScriptedProvider, Step, tool_call};
use agentci::llm::{ContentBlock, Request, ToolResult};
use agentci::scan::ScanReport;
use clap::Parser as _;
use pretty_assertions::assert_eq;
use serde_json::json;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A writable copy of `examples/monorepo` under its own name (the project name comes from it).
fn example_project() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &root);
    (temp, root)
}

fn modules_dir() -> PathBuf {
    repository().join("examples/modules")
}

/// The real scanner on `examples/modules`: the catalog comes from the module sources themselves.
fn scan_examples(source: &ModuleSource) -> anyhow::Result<ScanReport> {
    assert_eq!(source, &ModuleSource::Directory(modules_dir()));
    Ok(agentci::scan::scan_directory(&modules_dir()))
}

fn options(source: &Path, mode: OutputMode) -> AssistOptions {
    AssistOptions {
        assignment: std::fs::read_to_string(
            repository().join("examples/monorepo/daggie-assignment.md"),
        )
        .unwrap(),
        source: source.to_path_buf(),
        module_urls: vec![modules_dir().display().to_string()],
        mode,
        render: RenderOptions::default(),
        force: false,
        notes: Vec::new(),
    }
}

/// The plan `--offline` makes for the example, as the JSON a model would submit.
fn offline_plan_json() -> serde_json::Value {
    let (_temp, root) = example_project();
    let report = run_assist(
        &options(&root, OutputMode::Check),
        &scan_examples,
        &offline_planner,
    )
    .unwrap();
    serde_json::to_value(&report.plan).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Everything a request carries to the model, as one text.
fn request_text(request: &Request) -> String {
    let mut text = request.system.clone();
    for message in &request.messages {
        for block in &message.content {
            match block {
                ContentBlock::Text { text: part } => text.push_str(part),
                ContentBlock::ToolUse(call) => text.push_str(&call.arguments.to_string()),
                ContentBlock::ToolResult(result) => text.push_str(&result.content),
            }
        }
    }
    text
}

fn tool_results(request: &Request) -> Vec<&ToolResult> {
    request
        .messages
        .iter()
        .flat_map(|message| &message.content)
        .filter_map(|block| match block {
            ContentBlock::ToolResult(result) => Some(result),
            _ => None,
        })
        .collect()
}

fn tool_names(request: &Request) -> Vec<String> {
    let mut names: Vec<String> = request.tools.iter().map(|tool| tool.name.clone()).collect();
    names.sort();
    names
}

/// Run the model planner on a runtime of its own, as `assist` does inside `block_in_place`.
fn assist_with_model(
    root: &Path,
    provider: ScriptedProvider,
) -> anyhow::Result<agentci::agents::daggie::AssistReport> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = ModelRun::new(Arc::new(provider));
    let planner =
        |input: &PlanInput<'_>| runtime.block_on(agentci::agents::daggie::model::plan(&run, input));
    run_assist(&options(root, OutputMode::Write), &scan_examples, &planner)
}

#[test]
fn the_model_path_writes_the_same_files_as_offline_for_the_example() {
    let (_offline_temp, offline_root) = example_project();
    run_assist(
        &options(&offline_root, OutputMode::Write),
        &scan_examples,
        &offline_planner,
    )
    .unwrap();

    let (_temp, root) = example_project();
    let provider = ScriptedProvider::new(vec![tool_call("submit_plan", offline_plan_json())]);
    let log = provider.request_log();
    let report = assist_with_model(&root, provider).unwrap();

    for path in ["dagger.json", ".github/workflows/ci.yml"] {
        assert_eq!(
            read(&root.join(path)),
            read(&offline_root.join(path)),
            "{path}"
        );
    }
    assert!(
        report.reasons[0].starts_with("planned by the model `fake-model` in 1 turn(s)"),
        "{:?}",
        report.reasons
    );
    let requests = log.lock().unwrap().clone();
    let tools = tool_names(&requests[0]);
    assert!(tools.contains(&"submit_plan".to_string()), "{tools:?}");
    for writer in ["edit_file", "write_file", "delete_file", "exec"] {
        assert!(!tools.contains(&writer.to_string()), "{tools:?}");
    }
    // The submit tool's parameters are the plan's schema.
    let submit = requests[0]
        .tools
        .iter()
        .find(|tool| tool.name == "submit_plan")
        .unwrap();
    let schema = submit.parameters.to_string();
    for field in ["toolchains", "customizations", "default_path", "fix_agents"] {
        assert!(schema.contains(field), "{field} not in {schema}");
    }
}

#[test]
fn an_invalid_plan_goes_back_with_precise_reasons_and_the_corrected_one_is_used() {
    let (_temp, root) = example_project();
    let valid = offline_plan_json();
    let mut invalid = valid.clone();
    // An unknown function, a default path on a Boolean, and a deploy missing a required argument.
    let python = invalid["toolchains"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|toolchain| toolchain["module"] == "python-service")
        .unwrap();
    python["customizations"][0]["function"] = json!(["tests"]);
    python["customizations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"function": ["test"], "argument": "coverage", "default_path": "/backend"}));
    let deploy = invalid["deploy"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|step| step["function"] == "cloud-run")
        .unwrap();
    deploy["args"].as_object_mut().unwrap().remove("project");

    let provider = ScriptedProvider::new(vec![
        tool_call("submit_plan", invalid),
        tool_call("submit_plan", valid),
    ]);
    let log = provider.request_log();
    let report = assist_with_model(&root, provider).unwrap();
    assert!(
        report.reasons[0].contains("in 2 turn(s)"),
        "{:?}",
        report.reasons
    );

    let requests = log.lock().unwrap().clone();
    assert!(requests.len() >= 2);
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 1, "{results:?}");
    let result = results[0];
    assert!(result.is_error);
    assert_eq!(result.name, "submit_plan");
    for expected in [
        "toolchain `python-service`: module `python-service` has no function `tests` (functions: \
         `test`, `lint`, `build`)",
        "toolchain `python-service`: `test` argument `coverage` is a Boolean; a default path \
         only applies to a Directory or File argument (use `default`)",
        "required argument `project` (String) is not provided",
    ] {
        assert!(
            result.content.contains(expected),
            "{expected}\nnot in\n{}",
            result.content
        );
    }
    let dagger_json = read(&root.join("dagger.json"));
    assert!(dagger_json.contains("\"defaultPath\": \"/backend\""));
    assert!(!dagger_json.contains("\"tests\""), "{dagger_json}");
}

#[test]
fn a_plan_that_stays_invalid_fails_without_writing() {
    let (_temp, root) = example_project();
    let mut invalid = offline_plan_json();
    invalid["toolchains"][0]["module"] = json!("no-such-module");
    let provider = ScriptedProvider::with_responder(move |_| {
        match tool_call("submit_plan", invalid.clone()) {
            Step::Respond(response) => Ok(response),
            Step::Fail(error) => Err(error),
        }
    });
    let error = assist_with_model(&root, provider).unwrap_err();
    assert!(
        matches!(exit_for(&error), Exit::Provider | Exit::Budget),
        "{error:#}"
    );
    assert!(!root.join("dagger.json").exists());
    assert!(!root.join(".github/workflows/ci.yml").exists());
}

/// Lines of `examples/modules` sources that only the raw files contain.
const SOURCE_ONLY_LINES: &[&str] = &[
    "MIN_COVERAGE_PERCENT = 80",
    ".with_mounted_cache(\"/root/.cache/pip\", dag.cache_volume(\"python-service-pip\"))",
    "from dagger import DefaultPath, Doc, Ignore, check, dag, function, object_type",
];

#[test]
fn the_planner_prompt_holds_the_catalog_and_never_module_sources() {
    let (_temp, root) = example_project();
    let provider = ScriptedProvider::new(vec![
        tool_call("read_file", json!({"path": "backend/pyproject.toml"})),
        tool_call("submit_plan", offline_plan_json()),
    ]);
    let log = provider.request_log();
    assist_with_model(&root, provider).unwrap();
    let requests = log.lock().unwrap().clone();
    assert!(requests.len() >= 2);
    let first = request_text(&requests[0]);
    for expected in [
        "## python-service",
        "- check test(source: Directory = path .",
        "## gcp-deploy",
        "- fn cloud-run(",
        "Set up CI for this monorepo",
        "- backend/: python fastapi (pyproject.toml)",
        // The context file travels in the system prompt.
        "# CI notes for daggie",
    ] {
        assert!(first.contains(expected), "{expected}\nnot in\n{first}");
    }
    assert!(requests[0].system.contains("You are Daggie"));
    for request in requests.iter() {
        let sent = request_text(request);
        for line in SOURCE_ONLY_LINES {
            assert!(!sent.contains(line), "`{line}` was sent to the model");
        }
    }
}

/// The size of what the planner model receives for the example against the raw module sources
/// the catalog stands for; the figures are recorded in `docs/performance.md`.
#[test]
fn the_planner_prompt_is_a_fraction_of_the_module_sources() {
    let (_temp, root) = example_project();
    let provider = ScriptedProvider::new(vec![tool_call("submit_plan", offline_plan_json())]);
    let log = provider.request_log();
    assist_with_model(&root, provider).unwrap();
    let requests = log.lock().unwrap().clone();
    let first = &requests[0];
    let tools: usize = first
        .tools
        .iter()
        .map(|tool| tool.name.len() + tool.description.len() + tool.parameters.to_string().len())
        .sum();
    let prompt_bytes = request_text(first).len() + tools;
    let sources: u64 = walkdir::WalkDir::new(modules_dir())
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.metadata().unwrap().len())
        .sum();
    let task_bytes = request_text(&Request {
        messages: first.messages.clone(),
        ..Request::default()
    })
    .len();
    eprintln!(
        "daggie prompt size: request {prompt_bytes} bytes (~{} tokens; task {task_bytes} bytes, \
         system {} bytes, tools {tools} bytes) for module sources of {sources} bytes (~{} tokens)",
        first.estimated_input_tokens(),
        first.system.len(),
        sources.div_ceil(4)
    );
    assert!(
        (task_bytes as u64) * 2 < sources,
        "the task ({task_bytes} bytes) is not far smaller than the sources ({sources} bytes)"
    );
}

fn parse_daggie(args: &[&str]) -> (agentci::cli::daggie::DaggieArgs, GlobalOptions) {
    let mut full = vec!["agentci", "daggie"];
    full.extend_from_slice(args);
    let cli = Cli::try_parse_from(full).unwrap();
    match cli.command {
        Command::Daggie(daggie) => (daggie, cli.global.options()),
        _ => unreachable!(),
    }
}

async fn run_verb(
    args: &[&str],
    provider: ScriptedProvider,
) -> (anyhow::Result<Exit>, String, Arc<Mutex<Vec<Request>>>) {
    let log = provider.request_log();
    let (daggie, global) = parse_daggie(args);
    let context = ModelContext {
        run: ModelRun::new(Arc::new(provider)),
        settings: Settings::default(),
    };
    let mut out = Vec::new();
    let result = run_with_model(&daggie, &global, &scan_examples, &context, &mut out).await;
    (result, String::from_utf8(out).unwrap(), log)
}

const READ_ONLY_TOOLS: &[&str] = &["glob", "list_dir", "read_file", "search"];
const WRITE_TOOLS: &[&str] = &["delete_file", "edit_file", "exec", "write_file"];

fn assert_read_only(request: &Request, submit: &str) {
    let names = tool_names(request);
    for tool in READ_ONLY_TOOLS.iter().chain([&submit]) {
        assert!(names.contains(&tool.to_string()), "{tool} not in {names:?}");
    }
    for tool in WRITE_TOOLS {
        assert!(!names.contains(&tool.to_string()), "{tool} in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_reads_only_and_sees_the_catalog() {
    let (_temp, root) = example_project();
    // A Dagger 1.x workspace: its facts reach the model in the task.
    std::fs::write(
        root.join("dagger.toml"),
        "[modules.python-service]\nsource = \"github.com/acme/lib/python-service\"\n\
         check = { skip = [\"lint\"] }\n",
    )
    .unwrap();
    let source = root.display().to_string();
    let modules = modules_dir().display().to_string();
    let provider = ScriptedProvider::new(vec![
        tool_call("read_file", json!({"path": "DAGGER.md"})),
        tool_call(
            "submit_report",
            json!({"text": "The scan check uses `/backend` because `DAGGER.md:3` says so."}),
        ),
    ]);
    let (result, out, log) = run_verb(
        &[
            "explain",
            "--question",
            "Why does the scan check use /backend?",
            "--source",
            &source,
            "--module-url",
            &modules,
        ],
        provider,
    )
    .await;
    assert_eq!(result.unwrap(), Exit::Done);
    assert_eq!(
        out,
        "The scan check uses `/backend` because `DAGGER.md:3` says so.\n"
    );
    let requests = log.lock().unwrap().clone();
    assert_read_only(&requests[0], "submit_report");
    let task = request_text(&requests[0]);
    assert!(task.contains("Why does the scan check use /backend?"));
    assert!(task.contains("## python-service"), "{task}");
    assert!(
        task.contains("Format: Dagger 1.x: `dagger.toml` workspaces."),
        "{task}"
    );
    assert!(
        task.contains(
            "module `python-service` from `github.com/acme/lib/python-service`, pin none; skips checks `lint`"
        ),
        "{task}"
    );
    // The file the model read came back through the read-only tool.
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(!results[0].is_error && results[0].content.contains("CI notes for daggie"));
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_may_change_the_workspace_and_dry_run_prints_the_diff() {
    let (_temp, root) = example_project();
    std::fs::write(
        root.join("dagger.json"),
        "{\n  \"name\": \"monorepo\",\n  \"engineVersion\": \"v0.20.3\"\n}\n",
    )
    .unwrap();
    let source = root.display().to_string();
    let provider = ScriptedProvider::new(vec![
        tool_call(
            "edit_file",
            json!({"path": "dagger.json", "old_string": "v0.20.3", "new_string": "v0.20.4"}),
        ),
        tool_call(
            "submit_report",
            json!({"text": "Cause: engine too old. Change: `engineVersion` v0.20.4."}),
        ),
    ]);
    let (result, out, log) = run_verb(
        &[
            "debug",
            "--error-output",
            "Error: module requires engine v0.20.4",
            "--source",
            &source,
            "--dry-run",
        ],
        provider,
    )
    .await;
    assert_eq!(result.unwrap(), Exit::Done);
    assert!(out.starts_with("Cause: engine too old."), "{out}");
    assert!(out.contains("+  \"engineVersion\": \"v0.20.4\""), "{out}");
    // A dry run leaves the source as it was.
    assert!(read(&root.join("dagger.json")).contains("v0.20.3"));
    let requests = log.lock().unwrap().clone();
    let names = tool_names(&requests[0]);
    for tool in
        READ_ONLY_TOOLS
            .iter()
            .chain(&["edit_file", "write_file", "delete_file", "submit_report"])
    {
        assert!(names.contains(&tool.to_string()), "{tool} not in {names:?}");
    }
    // `exec` only with `--allow-exec`.
    assert!(!names.contains(&"exec".to_string()), "{names:?}");
    let task = request_text(&requests[0]);
    assert!(task.contains("Error: module requires engine v0.20.4"));
    assert!(
        task.contains("- `dagger.json`: module `monorepo`, engine `v0.20.3`"),
        "{task}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_applies_the_fix_without_dry_run() {
    let (_temp, root) = example_project();
    std::fs::write(root.join("dagger.json"), "{\"name\": \"monorepo\"}\n").unwrap();
    let source = root.display().to_string();
    // No error output: refused before any model call, so the script stays unused.
    let provider = ScriptedProvider::new(vec![]);
    let (result, out, log) = run_verb(&["debug", "--source", &source], provider).await;
    // No error output at all: a usage error before any model call, nothing changed.
    let error = result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(
        format!("{error}").contains("debug needs the error output"),
        "{error}"
    );
    assert!(out.is_empty());
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(
        read(&root.join("dagger.json")),
        "{\"name\": \"monorepo\"}\n"
    );

    let error_file = root.join("dagger-check.log");
    std::fs::write(&error_file, "Error: engineVersion missing\n").unwrap();
    let error_path = error_file.display().to_string();
    let provider = ScriptedProvider::new(vec![
        tool_call(
            "write_file",
            json!({"path": "dagger.json", "content": "{\"name\": \"monorepo\", \"engineVersion\": \"v0.20.3\"}\n"}),
        ),
        tool_call("submit_report", json!({"text": "Added `engineVersion`."})),
    ]);
    let (result, out, _log) = run_verb(
        &["debug", "--error-file", &error_path, "--source", &source],
        provider,
    )
    .await;
    assert_eq!(result.unwrap(), Exit::Done);
    assert!(out.contains("Added `engineVersion`."), "{out}");
    assert!(out.contains("Changed:"), "{out}");
    assert_eq!(
        read(&root.join("dagger.json")),
        "{\"name\": \"monorepo\", \"engineVersion\": \"v0.20.3\"}\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn review_reads_only_and_prints_markdown_or_json() {
    let (_temp, root) = example_project();
    let source = root.display().to_string();
    let diff = root.join("change.diff");
    std::fs::write(
        &diff,
        "--- a/dagger.json\n+++ b/dagger.json\n@@ -1 +1 @@\n-{}\n+{\"name\": \"x\"}\n",
    )
    .unwrap();
    let diff_path = diff.display().to_string();
    let submission = json!({
        "issues": [{"path": "dagger.json", "line": 1, "severity": "major",
                    "text": "The toolchain is pinned to a branch."}],
        "positives": ["Checks cover both stacks."],
        "summary": "One pin to fix."
    });
    let provider = ScriptedProvider::new(vec![
        tool_call("submit_review", json!({"issues": [], "summary": " "})),
        tool_call("submit_review", submission.clone()),
    ]);
    let (result, out, log) = run_verb(
        &[
            "review", "--source", &source, "--diff", &diff_path, "--focus", "pins",
        ],
        provider,
    )
    .await;
    assert_eq!(result.unwrap(), Exit::Done);
    assert!(
        out.contains("**major** `dagger.json:1`: The toolchain is pinned to a branch."),
        "{out}"
    );
    let requests = log.lock().unwrap().clone();
    assert_read_only(&requests[0], "submit_review");
    let task = request_text(&requests[0]);
    assert!(task.contains("Focus on: pins"), "{task}");
    assert!(task.contains("+{\"name\": \"x\"}"), "{task}");
    // The empty summary went back to the model.
    assert!(request_text(&requests[1]).contains("`summary` must not be empty"));

    let provider = ScriptedProvider::new(vec![tool_call("submit_review", submission.clone())]);
    let (result, out, _log) = run_verb(&["--json", "review", "--source", &source], provider).await;
    assert_eq!(result.unwrap(), Exit::Done);
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["summary"], "One pin to fix.");
    assert_eq!(printed["issues"][0]["severity"], "major");
}

#[test]
fn model_verbs_without_a_provider_exit_2_and_change_nothing() {
    let (_temp, root) = example_project();
    let modules = modules_dir().display().to_string();
    let before = read(&root.join("DAGGER.md"));
    for args in [
        vec!["daggie", "explain", "--question", "Why?", "--source", "."],
        vec!["daggie", "review", "--source", "."],
        vec!["daggie", "debug", "--error-output", "boom", "--source", "."],
        vec![
            "daggie",
            "assist",
            "--assignment-file",
            "daggie-assignment.md",
            "--module-url",
            &modules,
        ],
    ] {
        let output = crate::cli::agentci(&root, &[])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("ANTHROPIC_API_KEY"), "{args:?}: {stderr}");
    }
    assert!(!root.join("dagger.json").exists());
    assert_eq!(read(&root.join("DAGGER.md")), before);
}

/// The command line's path: `run_with_model` plans inside `block_in_place` on the caller's
/// runtime and prints the summary.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_plans_with_the_model_on_the_running_runtime() {
    let (_temp, root) = example_project();
    let source = root.display().to_string();
    let modules = modules_dir().display().to_string();
    let assignment = root.join("daggie-assignment.md").display().to_string();
    let cli = Cli::try_parse_from([
        "agentci",
        "daggie",
        "assist",
        "--assignment-file",
        &assignment,
        "--source",
        &source,
        "--module-url",
        &modules,
        "--dry-run",
    ])
    .unwrap();
    let Command::Daggie(args) = cli.command else {
        unreachable!()
    };
    let provider = ScriptedProvider::new(vec![tool_call("submit_plan", offline_plan_json())]);
    let log = provider.request_log();
    let context = ModelContext {
        run: ModelRun::new(Arc::new(provider)),
        settings: Settings::default(),
    };
    let mut out = Vec::new();
    let exit = run_with_model(
        &args,
        &cli.global.options(),
        &scan_examples,
        &context,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(exit, Exit::Done);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("planned by the model `fake-model` in 1 turn(s)"),
        "{out}"
    );
    assert!(out.contains("+++ b/dagger.json"), "{out}");
    assert!(!root.join("dagger.json").exists());
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[test]
fn daggie_help_lists_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::cli::agentci(dir.path(), &[])
        .args(["daggie", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!("daggie_help", String::from_utf8(output.stdout).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_debug_run_leaves_the_source_alone_and_saves_a_patch() {
    let (_temp, root) = example_project();
    let original = "{\"name\": \"monorepo\"}\n";
    std::fs::write(root.join("dagger.json"), original).unwrap();
    let source = root.display().to_string();
    let edit = || {
        tool_call(
            "write_file",
            json!({"path": "dagger.json", "content": "{\"name\": \"half-done\"}\n"}),
        )
    };
    // The provider fails after the first edit: the run stops without a report.
    let provider = ScriptedProvider::new(vec![edit()]);
    let (result, out, log) = run_verb(
        &[
            "debug",
            "--error-output",
            "boom",
            "--source",
            &source,
            "--allow-exec",
        ],
        provider,
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(exit_for(&error), Exit::Provider, "{error:#}");
    let message = format!("{error:#}");
    assert!(
        message.contains("daggie debug stopped; the partial changes are saved in"),
        "{message}"
    );
    assert!(out.is_empty());
    assert_eq!(read(&root.join("dagger.json")), original);
    let patch = saved_patch(&message);
    assert!(read(&patch).contains("half-done"));
    std::fs::remove_file(patch).unwrap();
    // `--allow-exec` adds the `exec` tool.
    let names = tool_names(&log.lock().unwrap()[0]);
    assert!(names.contains(&"exec".to_string()), "{names:?}");

    // With `--keep-partial` the same failure applies what was done.
    let provider = ScriptedProvider::new(vec![edit()]);
    let (result, _out, _log) = run_verb(
        &[
            "debug",
            "--error-output",
            "boom",
            "--source",
            &source,
            "--keep-partial",
        ],
        provider,
    )
    .await;
    let error = result.unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("the partial changes were applied"),
        "{message}"
    );
    // The failure keeps its own class, and names the file it changed.
    assert_eq!(exit_for(&error), Exit::Provider, "{message}");
    assert!(
        message.starts_with("stopped after changing ") && message.contains("dagger.json"),
        "{message}"
    );
    assert_eq!(
        read(&root.join("dagger.json")),
        "{\"name\": \"half-done\"}\n"
    );
}

/// The patch file a failed run names in its error.
fn saved_patch(message: &str) -> PathBuf {
    let start = message.find("saved in `").unwrap() + "saved in `".len();
    let length = message[start..].find('`').unwrap();
    PathBuf::from(&message[start..start + length])
}
