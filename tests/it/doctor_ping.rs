//! `agentci doctor --ping` against a local fake OpenAI-compatible server: one real request through
//! the provider factory, and a provider failure mapped to exit code 3.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::agentci;

fn sse(chunks: &[serde_json::Value]) -> String {
    let mut body: String = chunks
        .iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    body.push_str("data: [DONE]\n\n");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_sends_one_minimal_request() {
    let server = MockServer::start().await;
    let body = sse(&[
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "local-model", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "pong"}, "finish_reason": null}]}),
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "local-model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "local-model", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}),
    ]);
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/v1", server.uri());
    let output = agentci(
        dir.path(),
        &[("OPENAI_BASE_URL", &base), ("OPENAI_MODEL", "local-model")],
    )
    .args(["doctor", "--ping"])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ping:       ok in "), "{stdout}");
    assert!(
        stdout.contains("\"pong\" (12 input, 1 output tokens)"),
        "{stdout}"
    );
    let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["model"], "local-model");
    assert_eq!(
        sent["messages"][0]["content"],
        "Reply with the single word: pong"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_exits_3() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/v1", server.uri());
    let output = agentci(
        dir.path(),
        &[
            ("OPENAI_BASE_URL", &base),
            ("OPENAI_MODEL", "gpt-4.1"),
            ("OPENAI_API_KEY", "sk-test-not-a-real-key-000000"),
        ],
    )
    .args(["doctor", "--ping"])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ping to openai `gpt-4.1`"), "{stderr}");
    assert!(
        stderr.contains("rejected the credentials (401): Incorrect API key provided"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk-test-not-a-real-key"), "{stderr}");
}
