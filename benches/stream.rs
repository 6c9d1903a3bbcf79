//! Our own overhead on a provider's response stream: turning 2,000 wire events (text deltas and
//! tool-call argument fragments) into neutral events and whole tool calls, with no HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use agentci::llm::{EventStream, Response, collect, ollama, openai};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::stream;
use serde_json::json;

const EVENTS: usize = 2_000;
/// Network reads rarely line up with event boundaries; 1 KiB pieces make the parsers buffer
/// partial events as they do in production.
const READ_SIZE: usize = 1_024;

/// A Chat Completions SSE body of exactly `EVENTS` events: text deltas, then two parallel tool
/// calls whose arguments arrive in small fragments, then finish, usage and `[DONE]`.
fn openai_body() -> String {
    let mut events = Vec::with_capacity(EVENTS);
    let wrap = |delta: serde_json::Value, finish: Option<&str>| {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4.1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let text_events = EVENTS / 2;
    for index in 0..text_events {
        events.push(wrap(json!({"content": format!("word{index} ")}), None));
    }
    for (call, name) in [(0, "read_file"), (1, "search")] {
        events.push(wrap(
            json!({"tool_calls": [{"index": call, "id": format!("call_{call}"), "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        ));
    }
    events.push(wrap(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\": \""}}]}),
        None,
    ));
    events.push(wrap(
        json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"query\": \""}}]}),
        None,
    ));
    // Everything left but the closing fragments, finish, usage and `[DONE]`.
    let fragments = EVENTS - events.len() - 5;
    for index in 0..fragments {
        let call = index % 2;
        events.push(wrap(
            json!({"tool_calls": [{"index": call, "function": {"arguments": format!("part{index}/")}}]}),
            None,
        ));
    }
    for call in 0..2 {
        events.push(wrap(
            json!({"tool_calls": [{"index": call, "function": {"arguments": "\"}"}}]}),
            None,
        ));
    }
    events.push(wrap(json!({}), Some("tool_calls")));
    events.push(
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
            "choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 1500,
            "total_tokens": 2400, "prompt_tokens_details": {"cached_tokens": 512}}})
        .to_string(),
    );
    events.push("[DONE]".into());
    assert_eq!(events.len(), EVENTS);
    events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect()
}

/// An Ollama NDJSON body of exactly `EVENTS` lines: text deltas, two lines of tool calls (Ollama
/// sends them whole), then `done`.
fn ollama_body() -> String {
    let mut lines = Vec::with_capacity(EVENTS);
    for index in 0..EVENTS - 3 {
        lines.push(
            json!({"model": "qwen2.5-coder:14b", "created_at": "2026-11-23T22:00:00Z",
            "message": {"role": "assistant", "content": format!("word{index} ")}, "done": false}),
        );
    }
    for (name, arguments) in [
        ("read_file", json!({"path": "src/app.py"})),
        ("search", json!({"query": "def main"})),
    ] {
        lines.push(
            json!({"model": "qwen2.5-coder:14b", "created_at": "2026-11-23T22:00:00Z",
            "message": {"role": "assistant", "content": "",
                "tool_calls": [{"function": {"name": name, "arguments": arguments}}]},
            "done": false}),
        );
    }
    lines.push(
        json!({"model": "qwen2.5-coder:14b", "created_at": "2026-11-23T22:00:01Z",
        "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
        "prompt_eval_count": 900, "eval_count": 1500}),
    );
    assert_eq!(lines.len(), EVENTS);
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The byte source every parser is fed: the reads, already in memory.
type Reads = stream::Iter<std::vec::IntoIter<Result<Bytes, Infallible>>>;

fn reads(body: &str) -> Vec<Bytes> {
    body.as_bytes()
        .chunks(READ_SIZE)
        .map(Bytes::copy_from_slice)
        .collect()
}

fn run(parse: fn(Reads) -> EventStream, reads: &[Bytes]) -> Response {
    let source = stream::iter(reads.iter().cloned().map(Ok).collect::<Vec<_>>());
    futures::executor::block_on(collect(parse(source))).expect("the benchmark stream parses")
}

fn stream_parsing(criterion: &mut Criterion) {
    let openai_reads = reads(&openai_body());
    let ollama_reads = reads(&ollama_body());

    // Check once, outside the measurement, that the work measured is the work we mean.
    let response = run(openai::events_from_bytes, &openai_reads);
    assert_eq!(response.tool_calls.len(), 2);
    assert!(
        response.tool_calls[0].arguments["path"]
            .as_str()
            .is_some_and(|path| path.ends_with('/'))
    );
    assert_eq!(response.usage.cache_read_tokens, 512);
    let response = run(ollama::events_from_bytes, &ollama_reads);
    assert_eq!(response.tool_calls.len(), 2);
    assert_eq!(response.usage.output_tokens, 1500);

    let mut group = criterion.benchmark_group("provider_stream_2000_events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("openai_sse", |bench| {
        bench.iter(|| run(openai::events_from_bytes, &openai_reads))
    });
    group.bench_function("ollama_ndjson", |bench| {
        bench.iter(|| run(ollama::events_from_bytes, &ollama_reads))
    });
    group.finish();
}

criterion_group!(benches, stream_parsing);
criterion_main!(benches);
