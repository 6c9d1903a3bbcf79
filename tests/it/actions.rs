//! The real binary under a simulated GitHub Actions step (`GITHUB_ACTIONS=true`, `GITHUB_OUTPUT`
//! and `GITHUB_STEP_SUMMARY` pointing at temporary files): daggie, suggest-fix and speck decompose
//! write the step outputs `action.yml` maps, a job summary, annotations and masks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::agentci;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of one simulated step.
struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn output_file(&self) -> PathBuf {
        self.dir.path().join("github-output")
    }

    fn summary_file(&self) -> PathBuf {
        self.dir.path().join("step-summary.md")
    }

    fn runner_temp(&self) -> PathBuf {
        let temp = self.dir.path().join("runner-temp");
        std::fs::create_dir_all(&temp).unwrap();
        temp
    }

    /// The variables the runner sets for a step.
    fn variables(&self) -> Vec<(String, String)> {
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            (
                "GITHUB_OUTPUT".into(),
                self.output_file().display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY".into(),
                self.summary_file().display().to_string(),
            ),
            (
                "RUNNER_TEMP".into(),
                self.runner_temp().display().to_string(),
            ),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ]
    }

    /// `$GITHUB_OUTPUT` parsed the way the runner parses it (`key=value` and `key<<DELIMITER`).
    fn outputs(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.output_file()).unwrap();
        let mut outputs = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some((key, delimiter)) = line.split_once("<<") {
                let mut value = Vec::new();
                for next in lines.by_ref() {
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                outputs.insert(key.to_owned(), value.join("\n"));
            } else {
                let (key, value) = line.split_once('=').expect("key=value");
                outputs.insert(key.to_owned(), value.to_owned());
            }
        }
        outputs
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.summary_file()).unwrap()
    }
}

fn run(
    dir: &Path,
    step: &Step,
    extra: &[(&str, &str)],
    arguments: &[&str],
) -> std::process::Output {
    let mut variables: Vec<(String, String)> = step.variables();
    variables.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    let borrowed: Vec<(&str, &str)> = variables
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    agentci(dir, &borrowed).args(arguments).output().unwrap()
}

/// A streamed OpenAI chat completion that calls one tool.
fn openai_tool_call(name: &str, arguments: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_raw(
            crate::support::wire::openai::tool_call_stream(name, arguments),
            "text/event-stream",
        )
}

async fn fake_openai(calls: &[(&str, Value)]) -> MockServer {
    let server = MockServer::start().await;
    for (name, arguments) in calls {
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(openai_tool_call(name, arguments))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
    }
    server
}

const OPENAI_KEY: &str = "sk-test-not-a-real-key-0123456789";

#[test]
fn daggie_writes_changed_files_and_a_summary() {
    let step = Step::new();
    let root = repository();
    let output = run(
        &root,
        &step,
        &[],
        &[
            "daggie",
            "assist",
            "--offline",
            "--dry-run",
            "--source",
            root.join("examples/monorepo").to_str().unwrap(),
            "--module-url",
            root.join("examples/modules").to_str().unwrap(),
            "--assignment-file",
            root.join("examples/monorepo/daggie-assignment.md")
                .to_str()
                .unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let outputs = step.outputs();
    assert_eq!(outputs["changed"], "true");
    let files: Vec<&str> = outputs["files"].lines().collect();
    assert!(files.contains(&"dagger.json"), "{files:?}");
    assert!(files.contains(&".github/workflows/ci.yml"), "{files:?}");
    let summary = step.summary();
    assert!(
        summary.starts_with("## daggie assist (dry run: nothing written)"),
        "{summary}"
    );
    assert!(summary.contains("| `dagger.json` | missing |"), "{summary}");
    // Results stay on stdout, workflow commands never go there.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("::"));
}

#[test]
fn outside_actions_nothing_is_written() {
    let step = Step::new();
    let root = repository();
    let variables = [
        ("GITHUB_OUTPUT", step.output_file().display().to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            step.summary_file().display().to_string(),
        ),
    ];
    let borrowed: Vec<(&str, &str)> = variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let output = agentci(&root, &borrowed)
        .args([
            "daggie",
            "assist",
            "--offline",
            "--dry-run",
            "--source",
            "examples/monorepo",
            "--module-url",
            "examples/modules",
            "--assignment-file",
            "examples/monorepo/daggie-assignment.md",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!step.output_file().exists());
    assert!(!step.summary_file().exists());
}

const ITEMS: &str = "\"\"\"Items and prices.\"\"\"\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Item:\n    price: int\n\n\ndef total(items):\n    \"\"\"The sum of the items' prices.\"\"\"\n    return sum(item.cost for item in items)\n";
const AUTH: &str = "import time\n\n\ndef validate(payload):\n    return True\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggest_fix_writes_counts_annotations_and_a_summary() {
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
    ] {
        let target = dir.path().join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    std::fs::copy(
        repository().join("tests/fixtures/logs/pytest.log"),
        dir.path().join("pytest.log"),
    )
    .unwrap();
    // One suggestion, for the items failure; the auth failure gets none.
    let server = fake_openai(&[(
        "submit_suggestions",
        json!({
            "summary": "`total` reads a field `Item` does not have.",
            "suggestions": [{
                "path": "app/items.py",
                "start_line": 11,
                "end_line": 12,
                "replacement": "    \"\"\"The sum of the items' prices.\"\"\"\n    return sum(item.price for item in items)",
                "explanation": "`Item` has a `price` field, not `cost`."
            }]
        }),
    )])
    .await;
    let base_url = format!("{}/v1", server.uri());
    let step = Step::new();
    let root = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        let output = run(
            &root,
            &step,
            &[
                ("OPENAI_API_KEY", OPENAI_KEY),
                ("OPENAI_BASE_URL", &base_url),
                ("OPENAI_MODEL", "gpt-4o"),
            ],
            &[
                "monty",
                "suggest-fix",
                "--source",
                "backend",
                "--error-file",
                "pytest.log",
                "--dry-run",
            ],
        );
        (output, step)
    })
    .await
    .unwrap();
    let (output, step) = output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let outputs = step.outputs();
    assert_eq!(outputs["suggestions"], "1");
    let failures: usize = outputs["failures"].parse().unwrap();
    assert!(failures >= 2, "{outputs:?}");
    // A dry run outside a pull request posts nothing.
    assert_eq!(outputs["published"], "false");
    assert_eq!(outputs["review_url"], "");
    let summary = step.summary();
    assert!(summary.starts_with("## Monty suggest-fix"), "{summary}");
    assert!(summary.contains("got no suggestion"), "{summary}");
    // The auth failure became an annotation, on its repository path; the items one did not.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("::error "))
        .collect();
    assert!(
        errors
            .iter()
            .any(|line| line.contains("file=backend/tests/test_auth.py")),
        "{stderr}"
    );
    assert!(
        !errors
            .iter()
            .any(|line| line.contains("file=backend/app/items.py")),
        "{stderr}"
    );
    // The model turns are folded into one group.
    let group = stderr
        .find("::group::monty suggest-fix")
        .unwrap_or_else(|| panic!("no group: {stderr}"));
    assert!(stderr[group..].contains("\n::endgroup::\n"), "{stderr}");
    // The key the run loaded is masked in the runner's log, and appears nowhere else.
    assert!(
        stderr.contains(&format!("::add-mask::{OPENAI_KEY}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches(OPENAI_KEY).count(), 1, "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(OPENAI_KEY));
    server.verify().await;
}

fn task(id: &str, phase: u32, complexity: &str, depends: &[&str]) -> Value {
    let (phase_name, story) = match phase {
        1 => ("Foundation", Value::Null),
        _ => ("Save favourites", json!("US1")),
    };
    json!({
        "id": id,
        "title": format!("Task {id}"),
        "description": format!("Do task {id}."),
        "phase": phase,
        "phase_name": phase_name,
        "task_type": "implementation",
        "estimated_complexity": complexity,
        "depends_on": depends,
        "files_to_modify": [format!("app/{}.py", id.to_lowercase())],
        "definition_of_done": [format!("{id} is done")],
        "story_label": story,
        "context_needed": ["app/main.py"],
        "agent": "monty",
        "entrypoint": "assist",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speck_decompose_writes_tasks_phases_a_plan_file_and_a_summary() {
    let server = fake_openai(&[(
        "submit_tasks",
        json!({
            "feature": "favorites-list",
            "spec_summary": "Shoppers save products to a favourites list and read it back.",
            "tasks": [
                task("MODEL", 1, "low", &[]),
                task("SAVE", 2, "medium", &["MODEL"]),
                task("LIST", 2, "high", &["MODEL"]),
            ],
        }),
    )])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.md");
    let plan = dir.path().join("plan.md");
    std::fs::write(
        &spec,
        "## Overview\nShoppers keep a list of favourite products.\n\n## User stories\n\
         ### [US1] Save favourites (Priority: P1)\nAs a shopper, I want to save a product.\n",
    )
    .unwrap();
    std::fs::write(
        &plan,
        "## Technical context\nFastAPI (app/main.py).\n\n## Project structure\n- app/favorites.py (new)\n",
    )
    .unwrap();
    let base_url = format!("{}/v1", server.uri());
    let step = Step::new();
    let shop = repository().join("tests/fixtures/speck/shop");
    let root = dir.path().to_path_buf();
    let (output, step) = tokio::task::spawn_blocking(move || {
        let output = run(
            &root,
            &step,
            &[
                ("OPENAI_API_KEY", OPENAI_KEY),
                ("OPENAI_BASE_URL", &base_url),
                ("OPENAI_MODEL", "gpt-4o"),
            ],
            &[
                "speck",
                "decompose",
                "--spec",
                spec.to_str().unwrap(),
                "--plan",
                plan.to_str().unwrap(),
                "--model-family",
                "openai",
                "--source",
                shop.to_str().unwrap(),
            ],
        );
        (output, step)
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let outputs = step.outputs();
    assert_eq!(outputs["total_tasks"], "3");
    let phases: Value = serde_json::from_str(&outputs["phases"]).unwrap();
    let include = phases["include"].as_array().unwrap();
    assert_eq!(include.len(), 2, "{phases}");
    assert_eq!(include[1]["name"], "Save favourites");
    let plan_file = PathBuf::from(&outputs["plan_file"]);
    assert!(
        plan_file.starts_with(step.runner_temp()),
        "{}",
        plan_file.display()
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(saved, printed);
    let summary = step.summary();
    assert!(
        summary.starts_with("## speck decompose: favorites-list"),
        "{summary}"
    );
    assert!(summary.contains("3 task(s) in 2 phase(s)."), "{summary}");
    assert!(summary.contains("| 2 | Save favourites | "), "{summary}");
    server.verify().await;
}
