//! The Ollama provider against a local server speaking Ollama's native NDJSON chat API.

use std::io::Write;
use std::sync::{Arc, Mutex};

use agentci::llm::ollama::OllamaProvider;
use agentci::llm::retry::RetryNotice;
use agentci::llm::{
    ContentBlock, LlmError, Message, Provider, ProviderKind, ProviderSettings, Request, Role,
    StopReason, StreamEvent, ToolCall, ToolResult, Usage,
};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::llm::{read_file_tool, simple_request};
use crate::support::wire::ollama::*;

fn settings(base_url: String) -> ProviderSettings {
    crate::support::llm::settings(ProviderKind::Ollama, base_url, None)
}

fn provider(server: &MockServer) -> OllamaProvider {
    OllamaProvider::new(settings(server.uri())).unwrap()
}

fn ndjson_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/x-ndjson")
}

fn show(context_length: u64) -> Value {
    json!({
        "modelfile": "FROM qwen2.5-coder:14b",
        "parameters": "stop \"<|im_end|>\"",
        "template": "{{ .System }}",
        "details": {"format": "gguf", "family": "qwen2", "parameter_size": "14.8B",
            "quantization_level": "Q4_K_M"},
        "model_info": {
            "general.architecture": "qwen2",
            "general.parameter_count": 14_770_033_664_u64,
            "qwen2.attention.head_count": 40,
            "qwen2.context_length": context_length,
            "qwen2.embedding_length": 5120
        },
        "capabilities": ["completion", "tools"]
    })
}

async fn mount_show(server: &MockServer, context_length: u64) {
    Mock::given(method("POST"))
        .and(path("/api/show"))
        .respond_with(ResponseTemplate::new(200).set_body_json(show(context_length)))
        .mount(server)
        .await;
}

async fn mount_chat(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ndjson_response(body))
        .mount(server)
        .await;
}

async fn chat_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/api/chat")
        .map(|request| request.body_json().unwrap())
        .collect()
}

#[tokio::test]
async fn plain_reply_sends_the_documented_request() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    mount_chat(
        &server,
        ndjson(&[text("The lockfile is stale."), done("stop", 26, 8)]),
    )
    .await;

    let response = provider(&server).complete(&simple_request()).await.unwrap();
    assert_eq!(response.text, "The lockfile is stale.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);

    let requests = server.received_requests().await.unwrap();
    let paths: Vec<_> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, ["/api/show", "/api/chat"]);
    assert_eq!(
        requests[0].body_json::<Value>().unwrap(),
        json!({"model": MODEL})
    );
    assert!(requests[1].headers.get("authorization").is_none());
    assert_eq!(
        requests[1].body_json::<Value>().unwrap(),
        json!({
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You fix CI failures."},
                {"role": "user", "content": "Why did the build fail?"}
            ],
            "stream": true,
            "options": {"num_ctx": 4096, "num_predict": 1024}
        })
    );
}

#[tokio::test]
async fn streamed_reply_yields_deltas_then_usage_then_stop() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    mount_chat(
        &server,
        ndjson(&[
            text("Run "),
            text("`npm ci`"),
            text(" first."),
            done("stop", 120, 9),
        ]),
    )
    .await;

    let events: Vec<StreamEvent> = provider(&server)
        .stream(&simple_request())
        .await
        .unwrap()
        .map(|event| event.unwrap())
        .collect()
        .await;
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta("Run ".into()),
            StreamEvent::TextDelta("`npm ci`".into()),
            StreamEvent::TextDelta(" first.".into()),
            StreamEvent::Usage(Usage {
                input_tokens: 120,
                output_tokens: 9,
                ..Usage::default()
            }),
            StreamEvent::Stop(StopReason::EndTurn),
        ]
    );
}

#[tokio::test]
async fn tool_calls_get_stable_ids_and_tools_are_sent() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    // Two parallel calls in one line, then a third in the next, as Ollama streams them.
    let body = ndjson(&[
        tool_calls(&[
            ("read_file", json!({"path": "a.py"})),
            ("read_file", json!({"path": "b.py"})),
        ]),
        tool_calls(&[("list_files", json!({}))]),
        done("stop", 300, 40),
    ]);
    mount_chat(&server, body).await;

    let request = Request {
        tools: vec![read_file_tool()],
        ..simple_request()
    };
    let first = provider(&server).complete(&request).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    let calls: Vec<_> = first
        .tool_calls
        .iter()
        .map(|call| (call.name.as_str(), call.arguments.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("read_file", json!({"path": "a.py"})),
            ("read_file", json!({"path": "b.py"})),
            ("list_files", json!({})),
        ]
    );
    let ids: Vec<_> = first
        .tool_calls
        .iter()
        .map(|call| call.id.clone())
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()));
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    // The same answer gets the same ids: transcripts are reproducible.
    let again = provider(&server).complete(&request).await.unwrap();
    let again_ids: Vec<_> = again
        .tool_calls
        .iter()
        .map(|call| call.id.clone())
        .collect();
    assert_eq!(ids, again_ids);

    let body = &chat_bodies(&server).await[0];
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "read_file",
            "description": "Read a file of the repository",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                "required": ["path"]}
        }}])
    );
}

#[tokio::test]
async fn follow_up_request_carries_tool_calls_and_results_in_wire_shape() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    mount_chat(&server, ndjson(&[text("Fixed."), done("stop", 1, 1)])).await;

    let request = Request {
        system: "sys".into(),
        messages: vec![
            Message::user("Fix it."),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text {
                        text: "Reading.".into(),
                    },
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_0_1".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "a.py"}),
                    }),
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_1_2".into(),
                        name: "list_files".into(),
                        arguments: json!({}),
                    }),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult(ToolResult {
                        call_id: "call_0_1".into(),
                        name: "read_file".into(),
                        content: "1: import os".into(),
                        is_error: false,
                    }),
                    ContentBlock::ToolResult(ToolResult {
                        call_id: "call_1_2".into(),
                        name: "list_files".into(),
                        content: "permission denied".into(),
                        is_error: true,
                    }),
                ],
            },
        ],
        tools: vec![read_file_tool()],
        temperature: Some(0.25),
        ..Request::default()
    };
    provider(&server).complete(&request).await.unwrap();

    let body = &chat_bodies(&server).await[0];
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "Fix it."},
            {"role": "assistant", "content": "Reading.", "tool_calls": [
                {"function": {"name": "read_file", "arguments": {"path": "a.py"}}},
                {"function": {"name": "list_files", "arguments": {}}}
            ]},
            {"role": "tool", "content": "1: import os", "tool_name": "read_file"},
            {"role": "tool", "content": "Error: permission denied", "tool_name": "list_files"}
        ])
    );
    // No output limit set: default output room, no `num_predict`.
    assert_eq!(
        body["options"],
        json!({"num_ctx": 8192, "temperature": 0.25})
    );
}

#[tokio::test]
async fn context_window_comes_from_show_once_and_oversized_prompts_warn() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/show"))
        .respond_with(ResponseTemplate::new(200).set_body_json(show(4_096)))
        .expect(1)
        .mount(&server)
        .await;
    mount_chat(&server, ndjson(&[text("ok"), done("stop", 4096, 1)])).await;

    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = Arc::clone(&log);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || CapturedLog(Arc::clone(&writer)))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // 24,000 characters ≈ 6,000 tokens, over the model's 4,096.
    let request = Request {
        system: "x".repeat(24_000),
        ..simple_request()
    };
    let provider = provider(&server);
    provider.complete(&request).await.unwrap();
    provider.complete(&simple_request()).await.unwrap();

    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("6006") && log.contains("4096"), "{log}");
    assert_eq!(
        log.matches("WARN").count(),
        1,
        "only the oversized prompt warns"
    );
    let bodies = chat_bodies(&server).await;
    assert_eq!(
        bodies[0]["options"]["num_ctx"], 4096,
        "never above the model's limit"
    );
}

struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_show_is_not_fatal() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/show"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "model not found"})))
        .expect(1)
        .mount(&server)
        .await;
    mount_chat(&server, ndjson(&[text("ok"), done("stop", 1, 1)])).await;

    let provider = provider(&server);
    assert_eq!(
        provider.complete(&simple_request()).await.unwrap().text,
        "ok"
    );
    assert_eq!(
        provider.complete(&simple_request()).await.unwrap().text,
        "ok"
    );
    assert_eq!(chat_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn host_without_scheme_is_reached_over_http() {
    let server = MockServer::start().await;
    mount_show(&server, 8_192).await;
    mount_chat(&server, ndjson(&[text("hi"), done("stop", 1, 1)])).await;

    let host = server.uri().trim_start_matches("http://").to_owned();
    let provider = OllamaProvider::new(settings(host)).unwrap();
    assert_eq!(
        provider.complete(&simple_request()).await.unwrap().text,
        "hi"
    );
}

#[tokio::test]
async fn rate_limit_then_success_is_retried() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": "too many requests"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_chat(&server, ndjson(&[text("ok"), done("stop", 1, 1)])).await;

    let notices: Arc<Mutex<Vec<RetryNotice>>> = Arc::default();
    let seen = Arc::clone(&notices);
    let request = Request {
        on_retry: Some(Arc::new(move |notice: &RetryNotice| {
            seen.lock().unwrap().push(notice.clone());
        })),
        ..simple_request()
    };
    assert_eq!(
        provider(&server).complete(&request).await.unwrap().text,
        "ok"
    );
    assert_eq!(chat_bodies(&server).await.len(), 2);
    assert_eq!(notices.lock().unwrap()[0].reason, "rate_limited");
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": "llama runner process has terminated"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_chat(&server, ndjson(&[text("ok"), done("stop", 1, 1)])).await;

    assert_eq!(
        provider(&server)
            .complete(&simple_request())
            .await
            .unwrap()
            .text,
        "ok"
    );
    assert_eq!(chat_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn unauthorized_behind_a_proxy_is_not_retried_and_the_key_is_sent() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;

    let provider = OllamaProvider::new(ProviderSettings {
        api_key: Some(secrecy::SecretString::from("ollama-proxy-key-0123")),
        ..settings(server.uri())
    })
    .unwrap();
    let error = provider.complete(&simple_request()).await.unwrap_err();
    assert!(
        matches!(error, LlmError::Auth { status: 401, .. }),
        "{error:?}"
    );
    let requests = server.received_requests().await.unwrap();
    let chat: Vec<_> = requests
        .iter()
        .filter(|request| request.url.path() == "/api/chat")
        .collect();
    assert_eq!(chat.len(), 1);
    assert_eq!(
        chat[0].headers.get("authorization").unwrap(),
        "Bearer ollama-proxy-key-0123"
    );
}

#[tokio::test]
async fn malformed_line_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    let body = format!("{}\n{{\"message\": nope}}\n", text("Hel"));
    mount_chat(&server, body).await;

    let mut stream = provider(&server).stream(&simple_request()).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta("Hel".into())
    );
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(error, LlmError::Decode(_)), "{error:?}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn stream_cut_mid_way_is_a_stream_error() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    mount_chat(&server, ndjson(&[text("Half an "), text("answer")])).await;

    let error = crate::support::llm::once(&provider(&server), &simple_request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Stream(_)), "{error:?}");
    assert!(error.to_string().contains("ended before"), "{error}");
}

#[tokio::test]
async fn error_line_mid_stream_is_reported() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    let body = ndjson(&[
        text("partial"),
        json!({"error": "an error was encountered while running the model: unexpected EOF"}),
    ]);
    mount_chat(&server, body).await;

    let error = crate::support::llm::once(&provider(&server), &simple_request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Stream(_)), "{error:?}");
    assert!(error.to_string().contains("unexpected EOF"), "{error}");
}

#[tokio::test]
async fn length_limit_is_reported_as_max_tokens() {
    let server = MockServer::start().await;
    mount_show(&server, 32_768).await;
    mount_chat(&server, ndjson(&[text("trunc"), done("length", 10, 1024)])).await;

    let response = provider(&server).complete(&simple_request()).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::MaxTokens);
}
