//! The Gemini provider against a local wiremock server speaking `streamGenerateContent?alt=sse`:
//! what we send (path, query, headers, body) and what we make of each answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentci::llm::gemini::{self, GeminiProvider};
use agentci::llm::retry::RetryNotice;
use agentci::llm::{
    ContentBlock, LlmError, Message, Provider, ProviderKind, ProviderSettings, Request, Role,
    StopReason, StreamEvent, ToolCall, ToolChoice, ToolResult, ToolSpec, Usage,
};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::llm::ok_sse;
use crate::support::wire::gemini::*;

fn settings(base_url: String) -> ProviderSettings {
    crate::support::llm::settings(ProviderKind::Gemini, base_url, Some(KEY))
}

const KEY: &str = "AIzaSy-test-key-0123456789";
const STREAM_PATH: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

fn provider(server: &MockServer) -> GeminiProvider {
    GeminiProvider::new(settings(format!("{}/v1beta", server.uri()))).unwrap()
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a file of the repository".into(),
            parameters: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "ReadFile",
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 0}
                },
                "required": ["path"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "list_files".into(),
            description: "List the repository".into(),
            parameters: json!({"type": "object", "properties": {}}),
        },
    ]
}

fn ask(text: &str) -> Request {
    Request {
        system: "You fix CI failures.".into(),
        messages: vec![Message::user(text)],
        max_output_tokens: 2048,
        ..Request::default()
    }
}

#[test]
fn a_missing_key_is_a_configuration_error() {
    let mut settings = settings("http://127.0.0.1:9".into());
    settings.api_key = None;
    assert!(matches!(
        GeminiProvider::new(settings),
        Err(LlmError::Config(message)) if message.contains("GEMINI_API_KEY")
    ));
}

#[tokio::test]
async fn plain_reply_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(STREAM_PATH))
        .and(query_param("alt", "sse"))
        .respond_with(ok_sse(text_answer("All green.")))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = ask("Why did it fail?");
    request.temperature = Some(0.25);
    let response = provider(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "All green.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);

    let received = server.received_requests().await.unwrap();
    let sent = &received[0];
    assert_eq!(sent.url.path(), STREAM_PATH);
    assert_eq!(
        sent.url.query(),
        Some("alt=sse"),
        "the key stays out of the URL"
    );
    assert_eq!(sent.headers.get("x-goog-api-key").unwrap(), KEY);
    assert_eq!(
        sent.body_json::<Value>().unwrap(),
        json!({
            "systemInstruction": {"parts": [{"text": "You fix CI failures."}]},
            "contents": [{"role": "user", "parts": [{"text": "Why did it fail?"}]}],
            "generationConfig": {"maxOutputTokens": 2048, "temperature": 0.25}
        })
    );
}

#[tokio::test]
async fn streamed_reply_yields_text_then_usage_and_stop() {
    let server = MockServer::start().await;
    let body = sse(&[
        parts(
            json!([{"text": "Thinking about it", "thought": true}]),
            None,
        ),
        parts(json!([{"text": "The test "}]), None),
        with_usage(parts(json!([{"text": "expects "}]), None), 900, 2, 600),
        with_usage(
            parts(json!([{"text": "UTC."}]), Some("MAX_TOKENS")),
            900,
            7,
            600,
        ),
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
            StreamEvent::TextDelta("The test ".into()),
            StreamEvent::TextDelta("expects ".into()),
            StreamEvent::TextDelta("UTC.".into()),
            StreamEvent::Usage(Usage {
                input_tokens: 300,
                output_tokens: 7,
                cache_read_tokens: 600,
                cache_creation_tokens: 0,
            }),
            StreamEvent::Stop(StopReason::MaxTokens),
        ]
    );
}

#[tokio::test]
async fn a_tool_call_after_text_chunks_is_parsed_and_declared_tools_are_adapted() {
    let server = MockServer::start().await;
    // Gemini streams text in pieces and sends each function call whole, in its own chunk.
    let body = sse(&[
        parts(json!([{"text": "Let me "}]), None),
        parts(json!([{"text": "read it."}]), None),
        with_usage(
            parts(
                json!([{"functionCall": {"name": "read_file", "args": {"path": "src/main.py", "limit": 20}}}]),
                Some("STOP"),
            ),
            120,
            18,
            0,
        ),
    ]);
    Mock::given(method("POST"))
        .respond_with(ok_sse(body))
        .mount(&server)
        .await;
    let mut request = ask("fix");
    request.tools = tools();
    request.tool_choice = ToolChoice::Required;
    let response = provider(&server).complete(&request).await.unwrap();
    assert_eq!(response.text, "Let me read it.");
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.tool_calls,
        vec![ToolCall {
            id: "call_0".into(),
            name: "read_file".into(),
            arguments: json!({"path": "src/main.py", "limit": 20}),
        }]
    );
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 120,
            output_tokens: 18,
            ..Usage::default()
        }
    );
    let received = server.received_requests().await.unwrap();
    let sent = received[0].body_json::<Value>().unwrap();
    assert_eq!(
        sent["tools"],
        json!([{"functionDeclarations": [
            {"name": "read_file", "description": "Read a file of the repository", "parameters": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 0, "nullable": true}
                }
            }},
            {"name": "list_files", "description": "List the repository"}
        ]}])
    );
    assert_eq!(
        sent["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
}

#[tokio::test]
async fn parallel_function_calls_and_their_responses_round_trip() {
    let server = MockServer::start().await;
    let calls = sse(&[with_usage(
        parts(
            json!([
                {"functionCall": {"name": "read_file", "args": {"path": "a.py"}}, "thoughtSignature": "c2lnbmF0dXJl"},
                {"functionCall": {"name": "list_files", "args": {}}}
            ]),
            Some("STOP"),
        ),
        50,
        12,
        0,
    )]);
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
    request.tools = tools();
    let first = provider.complete(&request).await.unwrap();
    assert_eq!(
        first.tool_calls,
        vec![
            ToolCall {
                id: "call_0".into(),
                name: "read_file".into(),
                arguments: json!({"path": "a.py"})
            },
            ToolCall {
                id: "call_1".into(),
                name: "list_files".into(),
                arguments: json!({})
            },
        ]
    );
    request.messages.push(first.to_message());
    for (id, name, content, is_error) in [
        ("call_0", "read_file", "print('hi')", false),
        ("call_1", "list_files", "permission denied", true),
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
    assert_eq!(follow_up.url.path(), STREAM_PATH);
    assert_eq!(follow_up.headers.get("x-goog-api-key").unwrap(), KEY);
    assert_eq!(
        follow_up.body_json::<Value>().unwrap()["contents"],
        json!([
            {"role": "user", "parts": [{"text": "look around"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "read_file", "args": {"path": "a.py"}}, "thoughtSignature": "c2lnbmF0dXJl"},
                {"functionCall": {"name": "list_files", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "read_file", "response": {"output": "print('hi')"}}},
                {"functionResponse": {"name": "list_files", "response": {"error": "permission denied"}}}
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
                .set_body_json(json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(text_answer("after the wait")))
        .mount(&server)
        .await;
    let response = provider(&server).complete(&ask("hi")).await.unwrap();
    assert_eq!(response.text, "after the wait");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn rate_limit_with_a_retry_delay_in_the_body_waits_as_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}
                ]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
            ]
        }})))
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
            json!({"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}),
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
    for (status, body) in [
        (
            401,
            json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
        ),
        // What the API really answers for a wrong key.
        (
            400,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let error = provider(&server).complete(&ask("hi")).await.unwrap_err();
        assert!(
            matches!(&error, LlmError::Auth { status: got, .. } if *got == status),
            "{error:?}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
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
    let mut body = sse(&[parts(json!([{"text": "par"}]), None)]);
    body.push_str("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\r\n\r\n");
    body.push_str(&text_answer("never seen"));
    let (events, error) = stream_error(body).await;
    assert_eq!(events, vec![StreamEvent::TextDelta("par".into())]);
    assert!(
        matches!(&error, LlmError::Decode(message) if message.contains("Gemini")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_stream_cut_before_the_finish_reason_is_a_stream_error() {
    let body = sse(&[
        parts(json!([{"text": "Hal"}]), None),
        with_usage(parts(json!([{"text": "f"}]), None), 5, 2, 0),
    ]);
    let (events, error) = stream_error(body).await;
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta("Hal".into()),
            StreamEvent::TextDelta("f".into())
        ]
    );
    assert!(
        matches!(&error, LlmError::Stream(message) if message.contains("finishReason")),
        "{error:?}"
    );
}

#[tokio::test]
async fn in_stream_error_chunks_are_classified() {
    let body = format!(
        "{}{}",
        sse(&[parts(json!([{"text": "Hi"}]), None)]),
        chunk(
            json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}})
        )
    );
    let (events, error) = stream_error(body).await;
    assert_eq!(events, vec![StreamEvent::TextDelta("Hi".into())]);
    assert!(
        matches!(&error, LlmError::Overloaded { status: 503, message, .. } if message.contains("overloaded")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_blocked_prompt_is_a_clear_error() {
    let body = sse(&[
        json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}}),
    ]);
    let (_, error) = stream_error(body).await;
    assert!(
        matches!(&error, LlmError::BadRequest { message, .. } if message.contains("SAFETY")),
        "{error:?}"
    );
}

#[tokio::test]
async fn safety_stops_are_reported_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_sse(sse(&[parts(json!([]), Some("SAFETY"))])))
        .mount(&server)
        .await;
    let response = provider(&server).complete(&ask("hi")).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Other("safety".into()));
}

#[tokio::test]
async fn events_from_bytes_needs_no_http() {
    let body = text_answer("offline");
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .as_bytes()
        .chunks(5)
        .map(|piece| Ok(bytes::Bytes::copy_from_slice(piece)))
        .collect();
    let response = agentci::llm::collect(gemini::events_from_bytes(futures::stream::iter(chunks)))
        .await
        .unwrap();
    assert_eq!(response.text, "offline");
    assert_eq!(response.usage.input_tokens, 10);
    assert_eq!(response.usage.output_tokens, 4);
}
