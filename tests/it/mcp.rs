//! MCP servers as tools, against real servers: the binary's hidden `mcp-test-server` over stdio,
//! and the same tool set served over streamable HTTP on 127.0.0.1 inside the test.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentci::agent::mcp::{McpServerSpec, McpTransport, start_servers};
use agentci::agent::{Tool, ToolError};
use agentci::cli::mcp_test_server::TestServer;
use agentci::config::Environment;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

fn stdio_spec(name: &str) -> McpServerSpec {
    McpServerSpec {
        name: name.to_owned(),
        transport: McpTransport::Stdio {
            command: env!("CARGO_BIN_EXE_agentci").to_owned(),
            args: vec!["mcp-test-server".to_owned()],
            env: vec![],
        },
        enabled_tools: None,
        disabled_tools: vec![],
        startup_timeout: Duration::from_secs(30),
        call_timeout: Duration::from_secs(30),
    }
}

fn tool(tools: &[Arc<dyn Tool>], name: &str) -> Arc<dyn Tool> {
    tools
        .iter()
        .find(|tool| tool.spec().name == name)
        .cloned()
        .unwrap_or_else(|| panic!("no tool {name}"))
}

#[tokio::test]
async fn stdio_server_tools_are_prefixed_and_round_trip() {
    let servers = start_servers(&[stdio_spec("local")], &Environment::default()).await;
    assert!(servers.failures().is_empty(), "{:?}", servers.failures());
    let mut names = servers.tool_names();
    names.sort();
    assert_eq!(
        names,
        [
            "local__add",
            "local__echo",
            "local__exit",
            "local__fail",
            "local__reveal",
            "local__sleep"
        ]
    );
    let tools = servers.tools();
    let add = tool(&tools, "local__add");
    let spec = add.spec();
    assert_eq!(spec.description, "Add two integers");
    assert_eq!(spec.parameters["type"], "object");
    assert!(
        spec.parameters["properties"]["a"].is_object(),
        "{}",
        spec.parameters
    );

    assert_eq!(add.call(json!({"a": 40, "b": 2})).await.unwrap(), "42");
    let echo = tool(&tools, "local__echo");
    assert_eq!(
        echo.call(json!({"text": "hello over stdio"}))
            .await
            .unwrap(),
        "hello over stdio"
    );
    let failed = tool(&tools, "local__fail")
        .call(json!({"message": "the widget broke"}))
        .await;
    assert_eq!(
        failed,
        Err(ToolError::Failed("the widget broke".to_owned()))
    );
    let bad = add.call(json!({"a": "forty"})).await;
    assert!(matches!(bad, Err(ToolError::Failed(_))), "{bad:?}");
    let not_object = add.call(json!([1, 2])).await;
    assert!(matches!(not_object, Err(ToolError::InvalidArguments(_))));

    let revealed = tool(&tools, "local__reveal").call(json!({})).await.unwrap();
    assert!(revealed.starts_with("the token is "), "{revealed}");
    assert!(revealed.contains("[REDACTED]"), "{revealed}");
    assert!(!revealed.contains("ghp_"), "{revealed}");
    servers.shutdown().await;
}

#[tokio::test]
async fn enabled_and_disabled_lists_filter_tools() {
    let mut spec = stdio_spec("picky");
    spec.enabled_tools = Some(vec!["echo".into(), "add".into(), "exit".into()]);
    spec.disabled_tools = vec!["exit".into()];
    let servers = start_servers(&[spec], &Environment::default()).await;
    let mut names = servers.tool_names();
    names.sort();
    assert_eq!(names, ["picky__add", "picky__echo"]);
    servers.shutdown().await;
}

#[tokio::test]
async fn crashed_server_gives_error_results_and_the_others_keep_working() {
    let servers = start_servers(
        &[stdio_spec("fragile"), stdio_spec("steady")],
        &Environment::default(),
    )
    .await;
    let tools = servers.tools();
    let crashed = tool(&tools, "fragile__exit").call(json!({"code": 3})).await;
    match crashed {
        Err(ToolError::Failed(message)) => {
            assert!(
                message.contains("`fragile` stopped during the call"),
                "{message}"
            )
        }
        other => panic!("expected an error result, got {other:?}"),
    }
    let after = tool(&tools, "fragile__echo")
        .call(json!({"text": "anyone?"}))
        .await;
    match after {
        Err(ToolError::Failed(message)) => {
            assert!(
                message.contains("`fragile` is no longer running"),
                "{message}"
            )
        }
        other => panic!("expected an error result, got {other:?}"),
    }
    assert_eq!(
        tool(&tools, "steady__echo")
            .call(json!({"text": "still here"}))
            .await
            .unwrap(),
        "still here"
    );
    servers.shutdown().await;
}

#[tokio::test]
async fn servers_that_cannot_start_are_reported_not_fatal() {
    let mut missing = stdio_spec("missing");
    missing.transport = McpTransport::Stdio {
        command: "/nonexistent/agentci-mcp-server".into(),
        args: vec![],
        env: vec![],
    };
    let mut silent = stdio_spec("silent");
    // A process that runs but never speaks MCP: the startup timeout ends the wait.
    silent.transport = McpTransport::Stdio {
        command: "sleep".into(),
        args: vec!["30".into()],
        env: vec![],
    };
    silent.startup_timeout = Duration::from_millis(500);
    let mut unreachable = stdio_spec("unreachable");
    unreachable.transport = McpTransport::Http {
        url: "http://127.0.0.1:9/mcp".into(),
        headers: BTreeMap::new(),
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let environment = Environment::from_pairs([("PATH", path)]);
    let servers = start_servers(
        &[missing, silent, unreachable, stdio_spec("fine")],
        &environment,
    )
    .await;
    let failed: Vec<&str> = servers
        .failures()
        .iter()
        .map(|failure| failure.server.as_str())
        .collect();
    assert_eq!(failed, ["missing", "silent", "unreachable"]);
    assert!(servers.failures()[0].message.contains("cannot start"));
    assert!(servers.failures()[1].message.contains("within"));
    assert_eq!(servers.server_names(), ["fine"]);
    assert!(servers.tool_names().contains(&"fine__echo".to_owned()));
    servers.shutdown().await;
}

#[tokio::test]
async fn slow_calls_time_out_into_error_results() {
    let mut spec = stdio_spec("slow");
    spec.call_timeout = Duration::from_millis(300);
    let servers = start_servers(&[spec], &Environment::default()).await;
    let tools = servers.tools();
    let result = tool(&tools, "slow__sleep")
        .call(json!({"millis": 20_000}))
        .await;
    match result {
        Err(ToolError::Failed(message)) => assert!(message.contains("did not answer"), "{message}"),
        other => panic!("expected a timeout error, got {other:?}"),
    }
    servers.shutdown().await;
}

#[tokio::test]
async fn stdio_children_get_only_allow_listed_variables() {
    // The test server cannot print its environment, so a shell checks it first and only then
    // becomes the server: a wrong environment shows up as a server that failed to start.
    let mut spec = stdio_spec("scoped");
    let binary = env!("CARGO_BIN_EXE_agentci");
    spec.transport = McpTransport::Stdio {
        command: "sh".into(),
        args: vec![
            "-c".into(),
            format!(
                "[ \"$ALLOWED\" = yes ] && [ \"$FIXED\" = 1 ] && [ -z \"$NOT_ALLOWED\" ] \
                 && exec '{binary}' mcp-test-server"
            ),
        ],
        env: vec!["ALLOWED".into(), "FIXED=1".into()],
    };
    spec.startup_timeout = Duration::from_secs(30);
    let path = std::env::var("PATH").unwrap_or_default();
    let environment = Environment::from_pairs([
        ("PATH", path.as_str()),
        ("ALLOWED", "yes"),
        ("NOT_ALLOWED", "leak"),
    ]);
    let servers = start_servers(&[spec.clone()], &environment).await;
    assert!(servers.failures().is_empty(), "{:?}", servers.failures());
    servers.shutdown().await;

    // The same script fails when a variable it must not see is passed through.
    if let McpTransport::Stdio { env, .. } = &mut spec.transport {
        env.push("NOT_ALLOWED".into());
    }
    let servers = start_servers(&[spec], &environment).await;
    assert_eq!(servers.failures().len(), 1);
}

/// Serve [`TestServer`] over streamable HTTP on 127.0.0.1, recording each request's
/// `Authorization` header.
async fn http_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let service: StreamableHttpService<TestServer, LocalSessionManager> =
        StreamableHttpService::new(
            || Ok(TestServer::new()),
            Default::default(),
            StreamableHttpServerConfig::default(),
        );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let recorded = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let handler = hyper::service::service_fn(move |request: hyper::Request<_>| {
                    let authorization = request
                        .headers()
                        .get("authorization")
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned);
                    recorded.lock().unwrap().push(authorization);
                    let tower = hyper_util::service::TowerToHyperService::new(service.clone());
                    hyper::service::Service::call(&tower, request)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
                    .await;
            });
        }
    });
    (format!("http://{address}/mcp"), seen)
}

#[tokio::test]
async fn http_server_tools_round_trip_with_configured_headers() {
    let (url, seen) = http_server().await;
    let mut headers = BTreeMap::new();
    headers.insert(
        "Authorization".to_owned(),
        "env:REMOTE_MCP_TOKEN".to_owned(),
    );
    let spec = McpServerSpec {
        name: "remote".into(),
        transport: McpTransport::Http { url, headers },
        enabled_tools: Some(vec!["echo".into(), "add".into()]),
        disabled_tools: vec![],
        startup_timeout: Duration::from_secs(30),
        call_timeout: Duration::from_secs(30),
    };
    let environment =
        Environment::from_pairs([("REMOTE_MCP_TOKEN", "Bearer remote-mcp-secret-9d2f")]);
    let servers = start_servers(&[spec], &environment).await;
    assert!(servers.failures().is_empty(), "{:?}", servers.failures());
    let mut names = servers.tool_names();
    names.sort();
    assert_eq!(names, ["remote__add", "remote__echo"]);
    let tools = servers.tools();
    assert_eq!(
        tool(&tools, "remote__echo")
            .call(json!({"text": "over http"}))
            .await
            .unwrap(),
        "over http"
    );
    assert_eq!(
        tool(&tools, "remote__add")
            .call(json!({"a": -5, "b": 7}))
            .await
            .unwrap(),
        "2"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        seen.iter()
            .all(|header| header.as_deref() == Some("Bearer remote-mcp-secret-9d2f")),
        "{seen:?}"
    );
    assert!(
        !agentci::redact::redact("Bearer remote-mcp-secret-9d2f").contains("remote-mcp-secret")
    );
    servers.shutdown().await;
}

#[tokio::test]
async fn flag_specs_start_real_servers() {
    let flag = format!("flagged={} mcp-test-server", env!("CARGO_BIN_EXE_agentci"));
    let specs =
        agentci::agent::mcp::server_specs(&[flag], &agentci::config::Config::default()).unwrap();
    let servers = start_servers(&specs, &Environment::default()).await;
    assert!(servers.tool_names().contains(&"flagged__echo".to_owned()));
    servers.shutdown().await;
}
