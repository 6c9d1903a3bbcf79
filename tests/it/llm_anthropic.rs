//! The Anthropic Messages provider against a local wiremock server speaking the real SSE wire
//! format: what we send (path, headers, body) and what we make of each answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentci::llm::anthropic::{self, AnthropicProvider};
use agentci::llm::retry::RetryNotice;
use agentci::llm::{
    ContentBlock, LlmError, Message, Provider, ProviderKind, ProviderSettings, Role, StopReason,
    StreamEvent, ToolCall, ToolChoice, ToolResult, ToolSpec, Usage,
};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::llm::{ask, bodies, ok_sse, read_file_tool};
use crate::support::wire::anthropic::*;

fn settings(base_url: String) -> ProviderSettings {
    crate::support::llm::settings(ProviderKind::Anthropic, base_url, Some(KEY))
}

const KEY: &str = "sk-ant-test-key-0123456789";

fn provider(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::new(settings(server.uri())).unwrap()
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search".into(),
        description: "Search the repository".into(),
        parameters: json!({"type": "object", "properties": {"pattern": {"type": "string"}}}),
    }
}

#[test]
fn a_missing_key_is_a_configuration_error() {
    let mut settings = settings("http://127.0.0.1:9".into());
    settings.api_key = None;
    assert!(matches!(
        AnthropicProvider::new(settings),
        Err(LlmError::Config(message)) if message.contains("ANTHROPIC_API_KEY")
    ));
}

#[tokio::test]
async fn plain_reply_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ok_sse(text_answer("All green.")))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = ask("Why did it fail?");
    request.temperature = Some(0.5);
    let response = provider(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "All green.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert!(response.tool_calls.is_empty());

    let received = server.received_requests().await.unwrap();
    let sent = &received[0];
    assert_eq!(sent.url.path(), "/v1/messages");
    assert_eq!(sent.headers.get("x-api-key").unwrap(), KEY);
    assert_eq!(sent.headers.get("anthropic-version").unwrap(), "2023-06-01");
    assert_eq!(
        sent.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        sent.body_json::<Value>().unwrap(),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "stream": true,
            "system": [{"type": "text", "text": "You fix CI failures.",
                        "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Why did it fail?", "cache_control": {"type": "ephemeral"}}]}],
            "temperature": 0.5
        })
    );
}

#[tokio::test]
async fn streamed_reply_yields_text_as_it_arrives() {
    let server = MockServer::start().await;
    let body = sse(&[
        message_start(40, 0, 0),
        text_start(0),
        ping(),
        text_delta(0, "The test "),
        text_delta(0, "expects "),
        text_delta(0, "UTC."),
        block_stop(0),
        message_delta("max_tokens", 9),
        message_stop(),
    ]);
    Mock::given(method("POST"))
        .respond_with(ok_sse(body))
        .mount(&server)
        .await;
    let events: Vec<StreamEvent> = provider(&server)
        .stream(&ask("hi"))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        events,
        vec![
            StreamEvent::Usage(Usage {
                input_tokens: 40,
                output_tokens: 1,
                ..Usage::default()
            }),
            StreamEvent::TextDelta("The test ".into()),
            StreamEvent::TextDelta("expects ".into()),
            StreamEvent::TextDelta("UTC.".into()),
            StreamEvent::Usage(Usage {
                output_tokens: 9,
                ..Usage::default()
            }),
            StreamEvent::Stop(StopReason::MaxTokens),
        ]
    );
}

#[tokio::test]
async fn tool_call_arguments_are_assembled_from_fragments() {
    let server = MockServer::start().await;
    let body = sse(&[
        message_start(100, 0, 0),
        text_start(0),
        text_delta(0, "Reading it."),
        block_stop(0),
        tool_start(1, "toolu_01A", "read_file"),
        json_delta(1, ""),
        json_delta(1, "{\"pa"),
        json_delta(1, "th\": \"src/"),
        json_delta(1, "main.py\"}"),
        block_stop(1),
        message_delta("tool_use", 30),
        message_stop(),
    ]);
    Mock::given(method("POST"))
        .respond_with(ok_sse(body))
        .mount(&server)
        .await;
    let mut request = ask("fix");
    request.tools = vec![read_file_tool(), search_tool()];
    request.tool_choice = ToolChoice::Required;
    let response = provider(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "Reading it.");
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.tool_calls,
        vec![ToolCall {
            id: "toolu_01A".into(),
            name: "read_file".into(),
            arguments: json!({"path": "src/main.py"}),
        }]
    );
    let sent = &bodies(&server).await[0];
    assert_eq!(sent["tool_choice"], json!({"type": "any"}));
    assert_eq!(
        sent["tools"],
        json!([
            {"name": "read_file", "description": "Read a file of the repository",
             "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
            {"name": "search", "description": "Search the repository",
             "input_schema": {"type": "object", "properties": {"pattern": {"type": "string"}}},
             "cache_control": {"type": "ephemeral"}}
        ])
    );
}

#[tokio::test]
async fn parallel_tool_calls_and_their_results_round_trip() {
    let server = MockServer::start().await;
    let calls = sse(&[
        message_start(200, 150, 50),
        tool_start(0, "toolu_A", "read_file"),
        json_delta(0, "{\"path\":"),
        tool_start(1, "toolu_B", "search"),
        json_delta(0, "\"a.py\"}"),
        json_delta(1, "{\"pattern\": \"TODO\"}"),
        block_stop(0),
        block_stop(1),
        tool_start(2, "toolu_C", "list_files"),
        block_stop(2),
        message_delta("tool_use", 61),
        message_stop(),
    ]);
    Mock::given(method("POST"))
        .respond_with(ok_sse(calls))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(text_answer("Done.")))
        .mount(&server)
        .await;

    let provider = provider(&server);
    let mut request = ask("look around");
    request.tools = vec![read_file_tool(), search_tool()];
    let first = provider.complete(&request).await.unwrap();
    assert_eq!(
        first.tool_calls,
        vec![
            ToolCall {
                id: "toolu_A".into(),
                name: "read_file".into(),
                arguments: json!({"path": "a.py"})
            },
            ToolCall {
                id: "toolu_B".into(),
                name: "search".into(),
                arguments: json!({"pattern": "TODO"})
            },
            ToolCall {
                id: "toolu_C".into(),
                name: "list_files".into(),
                arguments: json!({})
            },
        ]
    );
    assert_eq!(
        first.usage,
        Usage {
            input_tokens: 200,
            output_tokens: 61,
            cache_read_tokens: 150,
            cache_creation_tokens: 50,
        }
    );

    request.messages.push(first.to_message());
    // The agent appends one message per result; they must reach the API as one user turn.
    for (id, name, content, is_error) in [
        ("toolu_A", "read_file", "print('hi')", false),
        ("toolu_B", "search", "no match", false),
        ("toolu_C", "list_files", "permission denied", true),
    ] {
        request.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult(ToolResult {
                call_id: id.into(),
                name: name.into(),
                content: content.into(),
                is_error,
            })],
        });
    }
    let second = provider.complete(&request).await.unwrap();
    assert_eq!(second.text, "Done.");

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    let follow_up = &received[1];
    assert_eq!(follow_up.url.path(), "/v1/messages");
    assert_eq!(follow_up.headers.get("x-api-key").unwrap(), KEY);
    assert_eq!(
        follow_up.headers.get("anthropic-version").unwrap(),
        "2023-06-01"
    );
    assert_eq!(
        follow_up.body_json::<Value>().unwrap()["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "look around"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_A", "name": "read_file", "input": {"path": "a.py"}},
                {"type": "tool_use", "id": "toolu_B", "name": "search", "input": {"pattern": "TODO"}},
                {"type": "tool_use", "id": "toolu_C", "name": "list_files", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_A", "content": "print('hi')", "is_error": false},
                {"type": "tool_result", "tool_use_id": "toolu_B", "content": "no match", "is_error": false},
                {"type": "tool_result", "tool_use_id": "toolu_C", "content": "permission denied", "is_error": true,
                 "cache_control": {"type": "ephemeral"}}
            ]}
        ])
    );
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(text_answer("after the wait")))
        .mount(&server)
        .await;
    let notices: Arc<Mutex<Vec<RetryNotice>>> = Arc::default();
    let seen = Arc::clone(&notices);
    let mut request = ask("hi");
    request.on_retry = Some(Arc::new(move |notice: &RetryNotice| {
        seen.lock().unwrap().push(notice.clone());
    }));
    let response = provider(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "after the wait");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].reason, "rate_limited");
    assert_eq!(notices[0].wait, Duration::from_secs(1));
}

#[tokio::test]
async fn server_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"type": "error", "error": {"type": "api_error", "message": "internal"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(text_answer("recovered")))
        .mount(&server)
        .await;
    let response = provider(&server).complete(&ask("hi")).await.unwrap();
    assert_eq!(response.text, "recovered");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn bad_credentials_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"}
        })))
        .mount(&server)
        .await;
    let error = provider(&server).complete(&ask("hi")).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::Auth { status: 401, message } if message == "invalid x-api-key"),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

async fn stream_error(body: String) -> (Vec<StreamEvent>, LlmError) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(body))
        .mount(&server)
        .await;
    crate::support::llm::events_until_error(provider(&server).stream(&ask("hi")).await.unwrap())
        .await
}

#[tokio::test]
async fn malformed_json_in_the_stream_is_a_decode_error() {
    let mut body = sse(&[message_start(5, 0, 0), text_start(0), text_delta(0, "par")]);
    body.push_str("event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\n\n");
    body.push_str(&sse(&[block_stop(0), message_stop()]));
    let (events, error) = stream_error(body).await;
    assert_eq!(events.last(), Some(&StreamEvent::TextDelta("par".into())));
    assert!(
        matches!(&error, LlmError::Decode(message) if message.contains("content_block_delta")),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_tool_arguments_are_a_decode_error() {
    let body = sse(&[
        message_start(5, 0, 0),
        tool_start(0, "toolu_X", "read_file"),
        json_delta(0, "{\"path\": "),
        block_stop(0),
        message_delta("tool_use", 4),
        message_stop(),
    ]);
    let (_, error) = stream_error(body).await;
    assert!(
        matches!(&error, LlmError::Decode(message) if message.contains("read_file")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_is_a_stream_error() {
    let body = sse(&[message_start(5, 0, 0), text_start(0), text_delta(0, "Hal")]);
    let (events, error) = stream_error(body).await;
    assert_eq!(events.last(), Some(&StreamEvent::TextDelta("Hal".into())));
    assert!(
        matches!(&error, LlmError::Stream(message) if message.contains("message_stop")),
        "{error:?}"
    );
    // `complete()` never returns half an answer: it retries the turn, then reports the cut.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(sse(&[message_start(5, 0, 0), text_start(0)])))
        .mount(&server)
        .await;
    let error = provider(&server).complete(&ask("hi")).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::RetriesExhausted { attempts: 3, last, .. } if matches!(**last, LlmError::Stream(_))),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_a_stream_error() {
    // wiremock always sends whole bodies: a raw socket promises more bytes than it sends.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let partial = sse(&[message_start(5, 0, 0), text_start(0), text_delta(0, "Hel")]);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 65536];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n",
            partial.len() + 1000
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(partial.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
    });
    let provider = AnthropicProvider::new(settings(format!("http://{address}"))).unwrap();
    let mut stream = provider.stream(&ask("hi")).await.unwrap();
    let mut texts = String::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(StreamEvent::TextDelta(text))) => texts.push_str(&text),
            Some(Ok(_)) => {}
            Some(Err(error)) => break error,
            None => panic!("the stream ended without an error"),
        }
    };
    assert_eq!(texts, "Hel");
    assert!(matches!(error, LlmError::Stream(_)), "{error:?}");
}

#[tokio::test]
async fn in_stream_error_events_are_classified() {
    for (kind, check) in [
        (
            "overloaded_error",
            (|error: &LlmError| matches!(error, LlmError::Overloaded { message, .. } if message == "Overloaded"))
                as fn(&LlmError) -> bool,
        ),
        ("rate_limit_error", |error: &LlmError| {
            matches!(error, LlmError::RateLimited { .. })
        }),
        (
            "api_error",
            |error: &LlmError| matches!(error, LlmError::Stream(message) if message.contains("api_error") && message.contains("Overloaded")),
        ),
    ] {
        let body = sse(&[
            message_start(5, 0, 0),
            text_start(0),
            text_delta(0, "Hi"),
            json!({"type": "error", "error": {"type": kind, "message": "Overloaded"}}),
        ]);
        let (events, error) = stream_error(body).await;
        assert_eq!(events.last(), Some(&StreamEvent::TextDelta("Hi".into())));
        assert!(check(&error), "{kind}: {error:?}");
    }
}

#[tokio::test]
async fn events_from_bytes_needs_no_http() {
    let body = text_answer("offline");
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .as_bytes()
        .chunks(7)
        .map(|chunk| Ok(bytes::Bytes::copy_from_slice(chunk)))
        .collect();
    let response =
        agentci::llm::collect(anthropic::events_from_bytes(futures::stream::iter(chunks)))
            .await
            .unwrap();
    assert_eq!(response.text, "offline");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3,
            ..Usage::default()
        }
    );
}
