//! `agentci mcp serve` driven by rmcp's client: the real binary over stdio, and the same server
//! over streamable HTTP on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use agentci::server::{AgentciServer, HttpOptions, Jail, serve_http};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

type Client = RunningService<RoleClient, ClientConfig>;

fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("agentci-tests", "0"),
    )
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn stdio_client(root: &Path) -> Client {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentci"));
    command
        .args(["mcp", "serve", "--root"])
        .arg(root)
        .current_dir(root);
    let (transport, _stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    client_info().serve(transport).await.unwrap()
}

async fn call(client: &Client, name: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    client
        .peer()
        .call_tool(CallToolRequestParams::new(name).with_arguments(arguments))
        .await
        .unwrap()
}

fn structured(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

fn error_text(result: &CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    serde_json::to_string(&result.content).unwrap()
}

#[tokio::test]
async fn stdio_lists_read_only_tools_with_schemas_and_scans_a_library() {
    let client = stdio_client(&manifest_dir()).await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|tool| tool.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "daggie_plan",
            "modules_scan",
            "parse_failures",
            "review_placement",
            "speck_matrix",
            "speck_validate"
        ]
    );
    for tool in &tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{tool:?}"
        );
        let annotations = tool.annotations.as_ref().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
    }

    let result = call(
        &client,
        "modules_scan",
        json!({"source": "examples/modules"}),
    )
    .await;
    let report = structured(&result);
    let python = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == "python-service")
        .expect("python-service scanned");
    assert_eq!(python["checks"], json!(["lint", "test"]));

    // A missing path is a tool error, and the server keeps serving.
    let missing = call(&client, "modules_scan", json!({"source": "no/such/dir"})).await;
    assert!(error_text(&missing).contains("no/such/dir"));
    // Outside the root: refused.
    let outside = call(&client, "modules_scan", json!({"source": "/etc"})).await;
    assert!(error_text(&outside).contains("outside"), "{outside:?}");
    let again = call(
        &client,
        "modules_scan",
        json!({"source": "examples/modules"}),
    )
    .await;
    assert!(structured(&again)["modules"].as_array().unwrap().len() >= 3);
    // Invalid arguments: also a tool error.
    let invalid = call(&client, "speck_validate", json!({"nothing": 1})).await;
    assert!(error_text(&invalid).contains("invalid arguments"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn daggie_plan_returns_the_files_daggie_assist_writes() {
    let dir = tempfile::tempdir().unwrap();
    let examples = manifest_dir().join("examples");
    for side in ["written", "planned"] {
        for library in ["monorepo", "modules"] {
            agentci::support::copy_tree(
                &examples.join(library),
                &dir.path().join(side).join(library),
                &[],
            )
            .unwrap();
        }
    }
    let written = dir.path().join("written");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_agentci"))
        .current_dir(&written)
        .args([
            "daggie",
            "assist",
            "--offline",
            "--source",
            "monorepo",
            "--module-url",
            "modules",
            "--assignment-file",
            "monorepo/daggie-assignment.md",
            "-q",
        ])
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let planned = dir.path().join("planned");
    let client = stdio_client(&planned).await;
    let assignment =
        std::fs::read_to_string(planned.join("monorepo/daggie-assignment.md")).unwrap();
    let result = call(
        &client,
        "daggie_plan",
        json!({"project": "monorepo", "module_sources": ["modules"], "assignment": assignment}),
    )
    .await;
    let plan = structured(&result);
    let files = plan["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{plan}");
    for file in files {
        let path = file["path"].as_str().unwrap();
        let on_disk = std::fs::read_to_string(written.join("monorepo").join(path)).unwrap();
        assert_eq!(file["content"].as_str().unwrap(), on_disk, "{path}");
        // Nothing was written on the planned side.
        assert!(!planned.join("monorepo").join(path).exists(), "{path}");
    }

    // `check: true` against the written side reports nothing stale.
    client.cancel().await.unwrap();
    let client = stdio_client(&written).await;
    let result = call(
        &client,
        "daggie_plan",
        json!({"project": "monorepo", "module_sources": ["modules"],
               "assignment": assignment, "check": true}),
    )
    .await;
    assert_eq!(structured(&result)["stale"], json!([]));
    client.cancel().await.unwrap();
}

fn decomposition() -> Value {
    let task = |id: &str, order: u32, depends: Value| {
        json!({
            "id": id, "order": order, "phase": 1, "phase_name": "Foundation",
            "title": format!("Task {id}"), "description": "Do it.",
            "definition_of_done": ["done"], "estimated_complexity": "low",
            "suggested_model": "claude-haiku-4-5", "suggested_agent": null,
            "parallel": false, "depends_on": depends, "story_label": null,
            "task_type": "implementation", "files_to_modify": ["app/x.py"],
            "context_needed": []
        })
    };
    json!({
        "feature": "favorites", "spec_summary": "Favorites.", "total_tasks": 2,
        "tasks": [task("T001", 1, json!([])), task("T002", 2, json!(["T001"]))],
        "agent_registry_used": [],
        "execution_plan": {
            "total_phases": 1,
            "phases": [{"phase": 1, "name": "Foundation", "tasks": ["T001", "T002"],
                        "parallel": false, "pr_branch": null}],
            "critical_path": ["T001", "T002"], "parallelizable_groups": []
        }
    })
}

#[tokio::test]
async fn speck_tools_validate_name_cycles_and_build_the_matrix() {
    let client = stdio_client(&manifest_dir()).await;
    let valid = call(
        &client,
        "speck_validate",
        json!({"decomposition": decomposition()}),
    )
    .await;
    let verdict = structured(&valid);
    assert_eq!(verdict["valid"], json!(true), "{verdict}");

    let mut cyclic = decomposition();
    cyclic["tasks"][0]["depends_on"] = json!(["T002"]);
    let result = call(&client, "speck_validate", json!({"decomposition": cyclic})).await;
    let verdict = structured(&result);
    assert_eq!(verdict["valid"], json!(false));
    let problems = verdict["problems"].to_string();
    assert!(problems.contains("T001 → T002 → T001"), "{problems}");

    let matrix = call(
        &client,
        "speck_matrix",
        json!({"decomposition": decomposition()}),
    )
    .await;
    assert_eq!(
        structured(&matrix)["include"][0]["tasks"],
        json!(["T001", "T002"])
    );
    let refused = call(&client, "speck_matrix", json!({"decomposition": cyclic})).await;
    assert!(error_text(&refused).contains("not valid"));
    client.cancel().await.unwrap();
}

const AUTH: &str = "import os\n\n\ndef validate_token(token):\n    return True\n";

fn python_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("backend/tests")).unwrap();
    std::fs::create_dir_all(dir.path().join("backend/app")).unwrap();
    std::fs::write(dir.path().join("backend/app/auth.py"), AUTH).unwrap();
    std::fs::write(
        dir.path().join("backend/tests/test_auth.py"),
        "def test_validate_token():\n    pass\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn parse_failures_attributes_a_pytest_failure_to_its_file_and_line() {
    let project = python_project();
    let client = stdio_client(project.path()).await;
    let log =
        std::fs::read_to_string(manifest_dir().join("tests/fixtures/logs/pytest.log")).unwrap();
    let result = call(
        &client,
        "parse_failures",
        json!({"log": log, "source": "backend", "agent": "monty"}),
    )
    .await;
    let failures = structured(&result)["failures"].as_array().unwrap().clone();
    let auth = failures
        .iter()
        .find(|failure| failure["path"] == "tests/test_auth.py")
        .unwrap_or_else(|| panic!("{failures:?}"));
    assert_eq!(auth["line"], json!(21));
    assert_eq!(auth["tool"], json!("pytest"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn review_placement_follows_the_diff_over_http() {
    let project = python_project();
    let jail = Jail::new(&[project.path().to_path_buf()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let options = HttpOptions {
        address,
        token: None,
    };
    tokio::spawn(serve_http(AgentciServer::new(jail), listener, options));
    let config = StreamableHttpClientTransportConfig::with_uri(format!("http://{address}/mcp"));
    let client = client_info()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap();
    let diff = [
        "diff --git a/backend/app/auth.py b/backend/app/auth.py",
        "--- a/backend/app/auth.py",
        "+++ b/backend/app/auth.py",
        "@@ -3,3 +3,3 @@ import os",
        " ",
        "-def validate(token):",
        "+def validate_token(token):",
        "     return True",
        "",
    ]
    .join("\n");
    let result = call(
        &client,
        "review_placement",
        json!({
            "diff": diff,
            "suggestions": [
                {"path": "backend/app/auth.py", "start_line": 5, "end_line": 5,
                 "replacement": "    return bool(token)", "original_text": "    return True"},
                {"path": "backend/app/auth.py", "start_line": 1, "end_line": 1,
                 "replacement": "import sys"},
                {"path": "backend/tests/test_auth.py", "start_line": 1, "end_line": 1,
                 "replacement": "def test_it():"},
                {"path": "backend/app/missing.py", "start_line": 1, "end_line": 1}
            ]
        }),
    )
    .await;
    let placed = structured(&result);
    let placements: Vec<&str> = placed["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["placement"].as_str().unwrap())
        .collect();
    assert_eq!(
        placements,
        ["inline", "file", "summary", "summary"],
        "{placed}"
    );
    assert_eq!(placed["inline"], json!(1));
    client.cancel().await.unwrap();
}

#[test]
fn a_non_loopback_http_address_without_a_token_is_refused_at_start_up() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_agentci"))
        .args(["mcp", "serve", "--http", "0.0.0.0:0"])
        .env_remove("AGENTCI_MCP_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AGENTCI_MCP_TOKEN"), "{stderr}");
}

#[tokio::test]
async fn http_with_a_token_refuses_requests_without_it() {
    let project = python_project();
    let jail = Jail::new(&[project.path().to_path_buf()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let options = HttpOptions {
        address,
        token: Some("s3cret-mcp-token".to_owned().into()),
    };
    tokio::spawn(serve_http(AgentciServer::new(jail), listener, options));
    let url = format!("http://{address}/mcp");
    let anonymous = StreamableHttpClientTransportConfig::with_uri(url.as_str());
    assert!(
        client_info()
            .serve(StreamableHttpClientTransport::from_config(anonymous))
            .await
            .is_err()
    );
    let mut headers = std::collections::HashMap::new();
    headers.insert(
        reqwest::header::HeaderName::from_static("authorization"),
        reqwest::header::HeaderValue::from_static("Bearer s3cret-mcp-token"),
    );
    let authorized =
        StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(headers);
    let client = client_info()
        .serve(StreamableHttpClientTransport::from_config(authorized))
        .await
        .unwrap();
    assert_eq!(client.peer().list_all_tools().await.unwrap().len(), 6);
    client.cancel().await.unwrap();
}
