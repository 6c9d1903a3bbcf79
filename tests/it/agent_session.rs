//! The runtime as a whole: the loop with the real workspace tools, `exec`, and an MCP server's
//! tools, on a scripted provider. An edit session ends in applied changes; a run stopped by a
//! budget leaves the source untouched and saves a patch; secrets from a file, from `exec` output
//! and from an MCP result never reach the provider or the events file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentci::agent::mcp::{McpServerSpec, McpTransport, start_servers};
use agentci::agent::{
    Access, Agent, AgentSpec, Budget, Conclusion, EventSink, RunError, Workspace, exec_tool,
    report_submit, workspace_tools,
};
use agentci::config::Environment;
use agentci::llm::Provider;
use agentci::llm::fake::{ScriptedProvider, text, tool_call, tool_calls};
use serde_json::json;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/auth.py"),
        "def valid(payload):\n    return True\n",
    )
    .unwrap();
    dir
}

fn spec() -> AgentSpec {
    AgentSpec {
        agent: "monty".into(),
        verb: "assist".into(),
        system_prompt: "You fix code.".into(),
    }
}

#[tokio::test]
async fn an_edit_session_ends_in_applied_changes() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_calls(&[
            ("read_file", json!({"path": "app/auth.py"})),
            ("list_dir", json!({})),
        ]),
        tool_call(
            "edit_file",
            json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return payload.get(\"exp\", 0) > 0"}),
        ),
        tool_call(
            "write_file",
            json!({"path": "tests/test_auth.py", "content": "from app.auth import valid\n\ndef test_expired():\n    assert not valid({})\n"}),
        ),
        text("Checked `exp` and added a test."),
    ]));
    let outcome = Agent::new(Arc::clone(&provider) as Arc<dyn Provider>, spec())
        .tools(workspace_tools(&workspace, Access::ReadWrite))
        .run("Reject payloads without an expiry.", report_submit())
        .await
        .unwrap();
    assert_eq!(outcome.value.text, "Checked `exp` and added a test.");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/auth.py")).unwrap(),
        "def valid(payload):\n    return True\n",
        "nothing applied before the end"
    );
    let concluded = workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert_eq!(concluded.applied.len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/auth.py")).unwrap(),
        "def valid(payload):\n    return payload.get(\"exp\", 0) > 0\n"
    );
    assert!(dir.path().join("tests/test_auth.py").is_file());
    let second = &provider.requests()[1];
    assert!(
        format!("{:?}", second.messages).contains("     2\\t    return True"),
        "read_file results reached the model"
    );
}

#[tokio::test]
async fn a_budget_stop_leaves_the_source_untouched_and_saves_a_patch() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let provider = Arc::new(
        ScriptedProvider::new(vec![
            tool_call(
                "write_file",
                json!({"path": "app/new.py", "content": "X = 1\n"}),
            ),
            tool_call("read_file", json!({"path": "app/new.py"})),
            tool_call("read_file", json!({"path": "app/auth.py"})),
        ])
        .allowing_unused_steps(),
    );
    let error = Agent::new(provider as Arc<dyn Provider>, spec())
        .tools(workspace_tools(&workspace, Access::ReadWrite))
        .budget(Budget {
            max_turns: 2,
            ..Budget::default()
        })
        .run("Add a constant.", report_submit())
        .await
        .err()
        .unwrap();
    assert!(matches!(error, RunError::Budget { .. }));
    let exit = agentci::cli::exit_for(&anyhow::Error::from(error));
    assert_eq!(exit, agentci::exit::Exit::Budget);
    let concluded = workspace.conclude(false, &Conclusion::Apply).unwrap();
    let patch = std::fs::read_to_string(concluded.patch.unwrap()).unwrap();
    assert!(
        patch.contains("+++ b/app/new.py\n@@ -0,0 +1 @@\n+X = 1\n"),
        "{patch}"
    );
    assert!(!dir.path().join("app/new.py").exists());
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_files_exec_and_mcp_never_reach_the_provider_or_events() {
    let dir = project();
    std::fs::write(
        dir.path().join("settings.py"),
        "TOKEN = 'ghs_abcdefghijklmnopqrstuvwxyz0123456789'\n",
    )
    .unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let servers = start_servers(
        &[McpServerSpec {
            name: "local".into(),
            transport: McpTransport::Stdio {
                command: env!("CARGO_BIN_EXE_agentci").into(),
                args: vec!["mcp-test-server".into()],
                env: vec![],
            },
            enabled_tools: None,
            disabled_tools: vec![],
            startup_timeout: Duration::from_secs(30),
            call_timeout: Duration::from_secs(30),
        }],
        &Environment::from_pairs(Vec::<(String, String)>::new()),
    )
    .await;
    assert_eq!(servers.failures().len(), 0);
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_calls(&[
            ("read_file", json!({"path": "settings.py"})),
            ("exec", json!({"command": "cat settings.py"})),
            ("local__reveal", json!({})),
            ("local__add", json!({"a": 2, "b": 3})),
        ]),
        text("done"),
    ]));
    let events = Buffer::default();
    Agent::new(Arc::clone(&provider) as Arc<dyn Provider>, spec())
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .tool(exec_tool(
            &workspace,
            vec!["cat".into()],
            vec!["cat".into()],
            Duration::from_secs(10),
        ))
        .tools(servers.tools())
        .events(EventSink::to_writer(Box::new(events.clone())))
        .run("Look around.", report_submit())
        .await
        .unwrap();
    servers.shutdown().await;
    let sent = format!("{:?}", provider.requests());
    assert!(sent.contains("exit code: 0"), "exec ran");
    assert!(
        sent.contains("the token is [REDACTED]"),
        "the MCP tool ran through the loop"
    );
    assert!(
        sent.contains("name: \"local__add\", content: \"5\""),
        "an MCP result reached the model"
    );
    let logged = String::from_utf8(events.0.lock().unwrap().clone()).unwrap();
    for secret in [
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    ] {
        assert!(!sent.contains(secret), "the provider saw {secret}");
        assert!(!logged.contains(secret), "the events have {secret}");
    }
}
