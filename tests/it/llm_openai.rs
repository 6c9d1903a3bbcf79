//! The OpenAI Chat Completions provider (and its Mistral, DeepSeek, compatible and Azure
//! presets) against a local server speaking the real SSE wire format.

use std::sync::{Arc, Mutex};

use agentci::llm::openai::OpenAiProvider;
use agentci::llm::retry::RetryNotice;
use agentci::llm::{
    ContentBlock, LlmError, Message, Provider, ProviderKind, ProviderSettings, Request, Role,
    StopReason, StreamEvent, ToolCall, ToolChoice, ToolResult, Usage,
};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::llm::{
    bodies as sent_bodies, ok_sse as sse_response, read_file_tool, settings, simple_request,
};
use crate::support::wire::openai::*;

const KEY: &str = "sk-test-openai-0123456789abcdef";

fn openai(server: &MockServer) -> OpenAiProvider {
    OpenAiProvider::new(settings(
        ProviderKind::OpenAi,
        format!("{}/v1", server.uri()),
        Some(KEY),
    ))
    .unwrap()
}

async fn mount_once(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse_response(body))
        .mount(server)
        .await;
}

async fn events(provider: &OpenAiProvider, request: &Request) -> Vec<StreamEvent> {
    provider
        .stream(request)
        .await
        .unwrap()
        .map(|event| event.unwrap())
        .collect()
        .await
}

#[tokio::test]
async fn plain_reply_sends_the_documented_request() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        sse(&[
            role(),
            text("The lockfile is stale."),
            finish("stop"),
            usage(42, 7, 0),
        ]),
    )
    .await;

    let response = openai(&server).complete(&simple_request()).await.unwrap();
    assert_eq!(response.text, "The lockfile is stale.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert!(response.tool_calls.is_empty());

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.url.path(), "/v1/chat/completions");
    assert_eq!(
        sent.headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
    assert_eq!(
        sent.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(sent.headers.get("accept").unwrap(), "text/event-stream");
    assert_eq!(
        sent.body_json::<Value>().unwrap(),
        json!({
            "model": "gpt-4.1",
            "messages": [
                {"role": "system", "content": "You fix CI failures."},
                {"role": "user", "content": "Why did the build fail?"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_completion_tokens": 1024
        })
    );
}

#[tokio::test]
async fn streamed_reply_yields_deltas_in_order_then_usage_then_stop() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        sse(&[
            role(),
            text("Run "),
            text("`npm ci`"),
            text(" first."),
            finish("stop"),
            usage(120, 9, 100),
        ]),
    )
    .await;

    let events = events(&openai(&server), &simple_request()).await;
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta("Run ".into()),
            StreamEvent::TextDelta("`npm ci`".into()),
            StreamEvent::TextDelta(" first.".into()),
            StreamEvent::Usage(Usage {
                input_tokens: 20,
                output_tokens: 9,
                cache_read_tokens: 100,
                cache_creation_tokens: 0,
            }),
            StreamEvent::Stop(StopReason::EndTurn),
        ]
    );
}

#[tokio::test]
async fn tool_call_arguments_are_assembled_from_fragments() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        sse(&[
            role(),
            tool_start(0, "call_Ab12", "read_file"),
            tool_arguments(0, "{\"pa"),
            tool_arguments(0, "th\": \"src/"),
            tool_arguments(0, "app.py\""),
            tool_arguments(0, "}"),
            finish("tool_calls"),
            usage(300, 25, 0),
        ]),
    )
    .await;

    let request = Request {
        tools: vec![read_file_tool()],
        ..simple_request()
    };
    let response = openai(&server).complete(&request).await.unwrap();
    assert_eq!(
        response.tool_calls,
        vec![ToolCall {
            id: "call_Ab12".into(),
            name: "read_file".into(),
            arguments: json!({"path": "src/app.py"}),
        }]
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.usage.input_tokens, 300);
    assert_eq!(response.usage.output_tokens, 25);

    let body = &sent_bodies(&server).await[0];
    assert_eq!(
        body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file of the repository",
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"]
                }
            }
        }])
    );
    assert_eq!(body["tool_choice"], "auto");
}

#[tokio::test]
async fn two_parallel_tool_calls_are_kept_apart() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        sse(&[
            role(),
            text("Reading both."),
            tool_start(0, "call_one", "read_file"),
            tool_arguments(0, "{\"path\":"),
            tool_start(1, "call_two", "read_file"),
            tool_arguments(1, "{\"path\": \"b.py\"}"),
            tool_arguments(0, " \"a.py\"}"),
            finish("tool_calls"),
            usage(10, 10, 0),
        ]),
    )
    .await;

    let request = Request {
        tools: vec![read_file_tool()],
        ..simple_request()
    };
    let response = openai(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "Reading both.");
    let calls: Vec<_> = response
        .tool_calls
        .iter()
        .map(|call| (call.id.as_str(), call.arguments.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("call_one", json!({"path": "a.py"})),
            ("call_two", json!({"path": "b.py"})),
        ]
    );
}

#[tokio::test]
async fn follow_up_request_carries_tool_calls_and_results_in_wire_shape() {
    let server = MockServer::start().await;
    mount_once(&server, sse(&[text("Fixed."), finish("stop")])).await;

    let request = Request {
        system: "sys".into(),
        messages: vec![
            Message::user("Fix it."),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_one".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "a.py"}),
                    }),
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_two".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "missing.py"}),
                    }),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult(ToolResult {
                        call_id: "call_one".into(),
                        name: "read_file".into(),
                        content: "1: import os".into(),
                        is_error: false,
                    }),
                    ContentBlock::ToolResult(ToolResult {
                        call_id: "call_two".into(),
                        name: "read_file".into(),
                        content: "no such file".into(),
                        is_error: true,
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text {
                    text: "Both read.".into(),
                }],
            },
        ],
        tools: vec![read_file_tool()],
        tool_choice: ToolChoice::Required,
        max_output_tokens: 0,
        temperature: Some(0.5),
        on_retry: None,
    };
    let response = openai(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "Fixed.");

    let body = &sent_bodies(&server).await[0];
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "Fix it."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_one", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"a.py\"}"}},
                {"id": "call_two", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"missing.py\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_one", "content": "1: import os"},
            {"role": "tool", "tool_call_id": "call_two", "content": "Error: no such file"},
            {"role": "assistant", "content": "Both read."}
        ])
    );
    assert_eq!(body["tool_choice"], "required");
    assert_eq!(body["temperature"], json!(0.5));
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached for requests",
                    "type": "requests", "code": "rate_limit_exceeded"}}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_once(&server, sse(&[text("ok"), finish("stop")])).await;

    let notices: Arc<Mutex<Vec<RetryNotice>>> = Arc::default();
    let seen = Arc::clone(&notices);
    let request = Request {
        on_retry: Some(Arc::new(move |notice: &RetryNotice| {
            seen.lock().unwrap().push(notice.clone());
        })),
        ..simple_request()
    };
    let response = openai(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].reason, "rate_limited");
    assert_eq!(notices[0].wait, std::time::Duration::ZERO);
}

#[tokio::test]
async fn server_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"message": "The server had an error", "type": "server_error"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_once(&server, sse(&[text("ok"), finish("stop")])).await;

    let response = openai(&server).complete(&simple_request()).await.unwrap();
    assert_eq!(response.text, "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_up_with_the_last_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .mount(&server)
        .await;

    let error = openai(&server)
        .complete(&simple_request())
        .await
        .unwrap_err();
    match error {
        LlmError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(attempts, 3);
            assert!(matches!(*last, LlmError::Overloaded { status: 503, .. }));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn unauthorized_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Incorrect API key provided: sk-test-***cdef.",
            "type": "invalid_request_error", "code": "invalid_api_key"}})))
        .expect(1)
        .mount(&server)
        .await;

    let error = openai(&server)
        .complete(&simple_request())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LlmError::Auth { status: 401, message } if message.contains("Incorrect API key")),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_chunk_is_a_decode_error() {
    let server = MockServer::start().await;
    let body = format!(
        "data: {}\n\ndata: {{\"choices\": [{{\"delta\": \n\n",
        text("Hel")
    );
    mount_once(&server, body).await;

    let mut stream = openai(&server).stream(&simple_request()).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta("Hel".into())
    );
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(error, LlmError::Decode(_)), "{error:?}");
    assert!(error.to_string().contains("not valid"), "{error}");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after an error"
    );
}

#[tokio::test]
async fn invalid_tool_arguments_name_the_tool() {
    let server = MockServer::start().await;
    mount_once(
        &server,
        sse(&[
            tool_start(0, "call_x", "write_file"),
            tool_arguments(0, "{\"path\": \"a.py\", \"content\": "),
            finish("tool_calls"),
        ]),
    )
    .await;

    let error = openai(&server)
        .complete(&simple_request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Decode(_)), "{error:?}");
    assert!(error.to_string().contains("`write_file`"), "{error}");
}

#[tokio::test]
async fn stream_cut_mid_way_is_a_stream_error() {
    let server = MockServer::start().await;
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: {{\"choices\":[{{\"delta\":{{\"con",
        role(),
        text("Half an ans")
    );
    mount_once(&server, body).await;

    let error = crate::support::llm::once(&openai(&server), &simple_request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Stream(_)), "{error:?}");
    assert!(error.to_string().contains("ended before"), "{error}");
}

#[tokio::test]
async fn error_chunk_mid_stream_is_reported() {
    let server = MockServer::start().await;
    let body = format!(
        "data: {}\n\ndata: {}\n\n",
        text("partial"),
        json!({"error": {"message": "The server had an error while processing your request."}})
    );
    mount_once(&server, body).await;

    let error = crate::support::llm::once(&openai(&server), &simple_request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Overloaded { .. }), "{error:?}");
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.to_string().contains("while processing"), "{error}");
}

#[tokio::test]
async fn mistral_preset_speaks_its_dialect() {
    let server = MockServer::start().await;
    // Mistral sends each tool call whole, with usage on the finishing chunk and no
    // `stream_options`.
    let finishing = json!({
        "id": "b1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-large-latest",
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 80, "total_tokens": 95, "completion_tokens": 15}
    });
    let call = |id: &str, path: &str| {
        json!({
            "id": "b1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-large-latest",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"id": id, "index": 0,
                "function": {"name": "read_file", "arguments": format!("{{\"path\": \"{path}\"}}")}}]},
                "finish_reason": null}]
        })
    };
    mount_once(
        &server,
        sse(&[
            call("A1b2C3d4e", "a.py"),
            call("F5g6H7i8j", "b.py"),
            finishing,
        ]),
    )
    .await;

    let provider = OpenAiProvider::new(settings(
        ProviderKind::Mistral,
        format!("{}/v1", server.uri()),
        Some("mistral-key-0123456789"),
    ))
    .unwrap();
    let request = Request {
        tools: vec![read_file_tool()],
        tool_choice: ToolChoice::Required,
        ..simple_request()
    };
    let response = provider.complete(&request).await.unwrap();
    let ids: Vec<_> = response
        .tool_calls
        .iter()
        .map(|call| call.id.as_str())
        .collect();
    assert_eq!(ids, ["A1b2C3d4e", "F5g6H7i8j"]);
    assert_eq!(response.tool_calls[1].arguments, json!({"path": "b.py"}));
    assert_eq!(response.usage.input_tokens, 80);
    assert_eq!(response.usage.output_tokens, 15);

    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("authorization").unwrap(),
        "Bearer mistral-key-0123456789"
    );
    let body: Value = sent.body_json().unwrap();
    assert_eq!(body["model"], "mistral-large-latest");
    assert_eq!(body["tool_choice"], "any");
    assert_eq!(body["max_tokens"], 1024);
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn deepseek_preset_reads_its_cache_counters() {
    let server = MockServer::start().await;
    let usage = json!({
        "id": "d1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-chat",
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 500, "completion_tokens": 12, "total_tokens": 512,
            "prompt_cache_hit_tokens": 448, "prompt_cache_miss_tokens": 52}
    });
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(sse_response(sse(&[text("done"), usage])))
        .mount(&server)
        .await;

    let provider = OpenAiProvider::new(settings(
        ProviderKind::DeepSeek,
        server.uri(),
        Some("deepseek-key-0123456789"),
    ))
    .unwrap();
    let response = provider.complete(&simple_request()).await.unwrap();
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 52,
            output_tokens: 12,
            cache_read_tokens: 448,
            cache_creation_tokens: 0,
        }
    );
    let body = &sent_bodies(&server).await[0];
    assert_eq!(body["model"], "deepseek-chat");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn compatible_server_without_key_sends_no_auth_and_drops_rejected_stream_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(json!({"object": "error",
            "message": {"detail": [{"type": "extra_forbidden",
                "loc": ["body", "stream_options", "include_usage"],
                "msg": "Extra inputs are not permitted"}]}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // This server streams without `[DONE]`, as some do.
    let body = format!(
        "data: {}\n\ndata: {}\n\n",
        text("local answer"),
        finish("stop")
    );
    mount_once(&server, body).await;

    let provider = OpenAiProvider::new(settings(
        ProviderKind::OpenAiCompatible,
        format!("{}/v1/", server.uri()),
        None,
    ))
    .unwrap();
    assert_eq!(
        provider.complete(&simple_request()).await.unwrap().text,
        "local answer"
    );
    assert_eq!(
        provider.complete(&simple_request()).await.unwrap().text,
        "local answer"
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.url.path(), "/v1/chat/completions");
        assert!(request.headers.get("authorization").is_none());
        assert!(request.headers.get("api-key").is_none());
    }
    let bodies: Vec<Value> = requests.iter().map(|r| r.body_json().unwrap()).collect();
    assert_eq!(bodies[0]["stream_options"], json!({"include_usage": true}));
    assert!(bodies[1].get("stream_options").is_none());
    assert!(
        bodies[2].get("stream_options").is_none(),
        "the rejection is remembered"
    );
    assert_eq!(bodies[1]["model"], "llama-3.2");
    assert_eq!(bodies[1]["max_tokens"], 1024);
}

#[tokio::test]
async fn azure_uses_deployment_urls_and_the_api_key_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o-prod/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .respond_with(sse_response(sse(&[
            text("from azure"),
            finish("stop"),
            usage(5, 2, 0),
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let provider = OpenAiProvider::new(ProviderSettings {
        model: "gpt-4o-prod".into(),
        azure_api_version: Some("2024-10-21".into()),
        ..settings(
            ProviderKind::OpenAi,
            server.uri(),
            Some("azure-key-0123456789"),
        )
    })
    .unwrap();
    let response = provider.complete(&simple_request()).await.unwrap();
    assert_eq!(response.text, "from azure");

    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(sent.headers.get("api-key").unwrap(), "azure-key-0123456789");
    assert!(sent.headers.get("authorization").is_none());
}

#[test]
fn bad_settings_are_config_errors() {
    let wrong_kind = OpenAiProvider::new(settings(
        ProviderKind::Anthropic,
        "https://api.anthropic.com".into(),
        None,
    ));
    assert!(matches!(wrong_kind, Err(LlmError::Config(_))));
    let no_scheme = OpenAiProvider::new(settings(
        ProviderKind::OpenAiCompatible,
        "localhost:1234/v1".into(),
        None,
    ));
    let message = no_scheme.err().unwrap().to_string();
    assert!(message.contains("`OPENAI_BASE_URL`"), "{message}");
}

#[tokio::test]
async fn reasoning_model_rejecting_temperature_gets_the_request_again_without_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
            "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_once(&server, sse(&[text("reasoned"), finish("stop")])).await;

    let provider = OpenAiProvider::new(ProviderSettings {
        model: "o3-mini".into(),
        ..settings(
            ProviderKind::OpenAi,
            format!("{}/v1", server.uri()),
            Some(KEY),
        )
    })
    .unwrap();
    let request = Request {
        temperature: Some(0.2),
        ..simple_request()
    };
    assert_eq!(provider.complete(&request).await.unwrap().text, "reasoned");
    assert_eq!(provider.complete(&request).await.unwrap().text, "reasoned");

    let bodies = sent_bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[0]["temperature"], json!(0.2));
    assert!(bodies[1].get("temperature").is_none());
    assert!(
        bodies[2].get("temperature").is_none(),
        "the rejection is remembered"
    );
    assert_eq!(
        bodies[1]["stream_options"],
        json!({"include_usage": true}),
        "only the rejected field is dropped"
    );
}

#[tokio::test]
async fn other_bad_requests_are_returned_as_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Invalid schema for function 'read_file'.", "type": "invalid_request_error"}})))
        .expect(1)
        .mount(&server)
        .await;

    let request = Request {
        temperature: Some(0.2),
        ..simple_request()
    };
    let error = openai(&server).complete(&request).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::BadRequest { status: 400, message } if message.contains("Invalid schema")),
        "{error:?}"
    );
}
