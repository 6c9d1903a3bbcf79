//! One conformance suite for every provider row (Anthropic, OpenAI, Azure OpenAI, Gemini,
//! Ollama, Mistral, DeepSeek, the OpenAI-compatible preset), each answering in its own wire
//! format: streaming, a tool call split across chunks, 429 with Retry-After, 500, 401, a
//! malformed body, a cut stream, a stall ended by the idle timeout, an in-stream error.
//! Adding a provider row to `support::llm::ROWS` runs all of it for the new row.

use std::time::Duration;

use agentci::llm::{LlmError, StopReason, StreamEvent, collect};
use futures::StreamExt;
use futures::future::join_all;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::llm::{ROWS, Row, ask, fast_retry};
use crate::support::raw_server::{Part, RawServer, Reply};
use crate::support::wire;

/// Run `case` for every row at once; a failure names its row.
async fn for_every_row<F, Fut>(case: F)
where
    F: Fn(Row) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    join_all(ROWS.iter().map(|row| case(*row))).await;
}

/// A server that answers `first`, then `answer` as a text answer; the provider's response must
/// be that answer, reached on the second request. The server, for more checks.
async fn recovers_after(row: Row, first: Reply, answer: &str) -> RawServer {
    let server = RawServer::start(vec![first, ok(row, wire::text_answer(row.wire, answer))]).await;
    let response = row.provider(&server.origin).complete(&ask("hi")).await;
    let response = response.unwrap_or_else(|error| panic!("{}: {error:?}", row.name));
    assert_eq!(response.text, answer, "{}", row.name);
    assert_eq!(server.seen().len(), 2, "{}", row.name);
    server
}

fn ok(row: Row, body: String) -> Reply {
    Reply::body(row.content_type(), body)
}

#[tokio::test]
async fn every_provider_streams_a_text_answer() {
    for_every_row(|row| async move {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(row.path()))
            .respond_with(row.ok(wire::text_answer(row.wire, "Hello from the model.")))
            .mount(&server)
            .await;
        let provider = row.provider(&server.uri());
        let events: Vec<StreamEvent> = provider
            .stream(&ask("hi"))
            .await
            .unwrap()
            .map(|event| event.unwrap())
            .collect()
            .await;
        assert!(
            events.contains(&StreamEvent::TextDelta("Hello from the model.".into())),
            "{}: {events:?}",
            row.name
        );
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Stop(StopReason::EndTurn)),
            "{}",
            row.name
        );
        let response = provider.complete(&ask("hi")).await.unwrap();
        assert_eq!(response.text, "Hello from the model.", "{}", row.name);
        assert!(response.usage.total() > 0, "{}", row.name);
    })
    .await;
}

#[tokio::test]
async fn every_provider_assembles_a_tool_call_split_across_chunks() {
    for_every_row(|row| async move {
        // The body arrives in 7-byte pieces, so events and JSON fragments straddle reads.
        let body = wire::tool_call_answer(row.wire);
        let pieces: Vec<Part> = body
            .as_bytes()
            .chunks(7)
            .map(|piece| Part::Send(String::from_utf8_lossy(piece).into_owned()))
            .collect();
        // Splitting UTF-8 is avoided: the fixtures are ASCII.
        assert!(body.is_ascii());
        let server = RawServer::start(vec![Reply::ok(row.content_type(), pieces)]).await;
        let response = row.provider(&server.origin).complete(&ask("read it")).await;
        let response = response.unwrap_or_else(|error| panic!("{}: {error:?}", row.name));
        assert_eq!(response.tool_calls.len(), 1, "{}", row.name);
        assert_eq!(response.tool_calls[0].name, "read_file", "{}", row.name);
        assert_eq!(
            response.tool_calls[0].arguments,
            json!({"path": "src/app.py"}),
            "{}",
            row.name
        );
        assert_eq!(response.stop_reason, StopReason::ToolUse, "{}", row.name);
        assert_eq!(
            server.seen()[0].path.split('?').next(),
            Some(row.path().as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn every_provider_waits_as_a_429_retry_after_asks() {
    for_every_row(|row| async move {
        let limited = Reply::error(
            429,
            wire::error_body(row.wire, 429, "Rate limit reached").to_string(),
            &[("retry-after", "1")],
        );
        let server = recovers_after(row, limited, "after the wait").await;
        let seen = server.seen();
        let waited = seen[1].at.duration_since(seen[0].at);
        assert!(
            waited >= Duration::from_millis(950),
            "{}: waited only {waited:?}",
            row.name
        );
    })
    .await;
}

#[tokio::test]
async fn every_provider_retries_a_500() {
    for_every_row(|row| async move {
        let failed = Reply::error(
            500,
            wire::error_body(row.wire, 500, "Internal error").to_string(),
            &[],
        );
        recovers_after(row, failed, "recovered").await;
    })
    .await;
}

#[tokio::test]
async fn every_provider_reports_a_401_without_retrying() {
    for_every_row(|row| async move {
        let server = RawServer::start(vec![Reply::error(
            401,
            wire::error_body(row.wire, 401, "invalid x-api-key").to_string(),
            &[],
        )])
        .await;
        let error = row
            .provider(&server.origin)
            .complete(&ask("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, LlmError::Auth { status: 401, .. }),
            "{}: {error:?}",
            row.name
        );
        assert_eq!(server.seen().len(), 1, "{}", row.name);
    })
    .await;
}

#[tokio::test]
async fn every_provider_reports_a_malformed_body_without_retrying() {
    for_every_row(|row| async move {
        let server = RawServer::start(vec![ok(row, wire::malformed(row.wire))]).await;
        let error = row
            .provider(&server.origin)
            .complete(&ask("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, LlmError::Decode(_)),
            "{}: {error:?}",
            row.name
        );
        assert_eq!(server.seen().len(), 1, "{}", row.name);
    })
    .await;
}

#[tokio::test]
async fn every_provider_never_accepts_a_cut_stream_and_retries_it() {
    for_every_row(|row| async move {
        let server = RawServer::start(vec![
            ok(row, wire::unfinished(row.wire, "Hel")),
            ok(row, wire::unfinished(row.wire, "Hel")),
            ok(row, wire::text_answer(row.wire, "Hello, whole.")),
        ])
        .await;
        let provider = row.provider(&server.origin);
        // Read as a stream, the cut is an error after the text that came.
        let events: Vec<_> = provider.stream(&ask("hi")).await.unwrap().collect().await;
        assert!(
            matches!(events.last(), Some(Err(LlmError::Stream(_)))),
            "{}: {events:?}",
            row.name
        );
        assert!(
            collect(provider.stream(&ask("hi")).await.unwrap())
                .await
                .is_err(),
            "{}",
            row.name
        );
        // As a whole turn, it is retried.
        let cut = ok(row, wire::unfinished(row.wire, "Hel"));
        recovers_after(row, cut, "Hello, whole.").await;
    })
    .await;
}

#[tokio::test]
async fn every_provider_ends_a_stall_by_the_idle_timeout_and_succeeds_on_the_retry() {
    for_every_row(|row| async move {
        for first in [
            // Stalls mid-way: some bytes, then nothing.
            Reply::ok(
                row.content_type(),
                vec![Part::Send(wire::unfinished(row.wire, "Hel")), Part::Hang],
            ),
            // Never starts: not even a status line.
            Reply::never_starts(),
        ] {
            // A spare answer: on a loaded machine the retry itself may miss a 300 ms deadline.
            let answer = || ok(row, wire::text_answer(row.wire, "Hello."));
            let server = RawServer::start(vec![first, answer(), answer()]).await;
            let mut settings = row.settings(&server.origin);
            settings.retry = fast_retry(3).with_idle_timeout(Duration::from_millis(300));
            let provider = agentci::llm::build_provider(settings).unwrap();
            let started = std::time::Instant::now();
            let response =
                tokio::time::timeout(Duration::from_secs(10), provider.complete(&ask("hi")))
                    .await
                    .unwrap_or_else(|_| panic!("{}: the stall was not ended", row.name));
            let response = response.unwrap_or_else(|error| panic!("{}: {error:?}", row.name));
            assert_eq!(response.text, "Hello.", "{}", row.name);
            assert!(
                server.unused() < 2,
                "{}: the stalled attempt was not retried",
                row.name
            );
            assert!(
                started.elapsed() >= Duration::from_millis(300),
                "{}",
                row.name
            );
        }
    })
    .await;
}

#[tokio::test]
async fn every_provider_retries_an_in_stream_provider_error() {
    for_every_row(|row| async move {
        let overloaded = ok(row, wire::overloaded_mid_stream(row.wire));
        recovers_after(row, overloaded, "Hello again.").await;
    })
    .await;
}

#[tokio::test]
async fn retries_before_and_after_the_first_byte_share_one_budget() {
    // No retry storm: a 500, then two cut streams, is three attempts of a three-attempt policy.
    for_every_row(|row| async move {
        let server = RawServer::start(vec![
            Reply::error(500, wire::error_body(row.wire, 500, "boom").to_string(), &[]),
            ok(row, wire::unfinished(row.wire, "Hel")),
            ok(row, wire::unfinished(row.wire, "Hel")),
            ok(row, wire::text_answer(row.wire, "never asked for")),
        ])
        .await;
        let error = row
            .provider(&server.origin)
            .complete(&ask("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, LlmError::RetriesExhausted { attempts: 3, last, .. } if matches!(**last, LlmError::Stream(_))),
            "{}: {error:?}",
            row.name
        );
        assert_eq!(server.seen().len(), 3, "{}", row.name);
        assert_eq!(server.unused(), 1, "{}", row.name);
    })
    .await;
}
