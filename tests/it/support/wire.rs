//! The answers of each provider's API as its wire frames them (from the providers' API
//! references): builders for the SSE events and NDJSON lines, and whole answers the
//! conformance suite uses for every row.

use serde_json::{Value, json};

use super::llm::Wire;

/// Anthropic Messages: named SSE events whose data repeats the name in `type`.
pub mod anthropic {
    use serde_json::{Value, json};

    /// One SSE event as the API frames it: the event name, then its JSON data.
    pub fn event(data: Value) -> String {
        let name = data["type"].as_str().unwrap_or("message").to_owned();
        format!("event: {name}\ndata: {data}\n\n")
    }

    pub fn sse(events: &[Value]) -> String {
        events.iter().map(|data| event(data.clone())).collect()
    }

    pub fn message_start(input: u64, cache_read: u64, cache_creation: u64) -> Value {
        json!({"type": "message_start", "message": {
            "id": "msg_01", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": 1,
                      "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_creation}
        }})
    }

    pub fn text_start(index: u64) -> Value {
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
    }

    pub fn text_delta(index: u64, text: &str) -> Value {
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})
    }

    pub fn tool_start(index: u64, id: &str, name: &str) -> Value {
        json!({"type": "content_block_start", "index": index,
               "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})
    }

    pub fn json_delta(index: u64, partial: &str) -> Value {
        json!({"type": "content_block_delta", "index": index,
               "delta": {"type": "input_json_delta", "partial_json": partial}})
    }

    pub fn block_stop(index: u64) -> Value {
        json!({"type": "content_block_stop", "index": index})
    }

    pub fn message_delta(stop_reason: &str, output: u64) -> Value {
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": output}})
    }

    pub fn message_stop() -> Value {
        json!({"type": "message_stop"})
    }

    pub fn ping() -> Value {
        json!({"type": "ping"})
    }

    pub fn error(kind: &str, message: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": message}})
    }

    pub fn text_answer(text: &str) -> String {
        sse(&[
            message_start(12, 0, 0),
            text_start(0),
            text_delta(0, text),
            block_stop(0),
            message_delta("end_turn", 3),
            message_stop(),
        ])
    }
}

/// OpenAI Chat Completions (and every preset speaking it): `data:` chunks, then `[DONE]`.
pub mod openai {
    use serde_json::{Value, json};

    /// An SSE body: one `data:` event per chunk, then `[DONE]`.
    pub fn sse(chunks: &[Value]) -> String {
        let mut body = String::new();
        for chunk in chunks {
            body.push_str(&format!("data: {chunk}\n\n"));
        }
        body.push_str("data: [DONE]\n\n");
        body
    }

    pub fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": "chatcmpl-9x",
            "object": "chat.completion.chunk",
            "created": 1_763_900_000,
            "model": "gpt-4.1-2025-04-14",
            "system_fingerprint": "fp_0123",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
            "usage": null
        })
    }

    pub fn text(content: &str) -> Value {
        chunk(json!({"content": content}), None)
    }

    pub fn role() -> Value {
        chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
        )
    }

    pub fn finish(reason: &str) -> Value {
        chunk(json!({}), Some(reason))
    }

    pub fn tool_start(index: u32, id: &str, name: &str) -> Value {
        chunk(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        )
    }

    pub fn tool_arguments(index: u32, fragment: &str) -> Value {
        chunk(
            json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
            None,
        )
    }

    /// A whole streamed answer that calls `name` with `arguments` (1,200 prompt and 300
    /// completion tokens).
    pub fn tool_call_stream(name: &str, arguments: &Value) -> String {
        sse(&[
            role(),
            tool_start(0, &format!("call_{name}"), name),
            tool_arguments(0, &arguments.to_string()),
            finish("tool_calls"),
            usage(1200, 300, 0),
        ])
    }

    pub fn usage(prompt: u64, completion: u64, cached: u64) -> Value {
        json!({
            "id": "chatcmpl-9x",
            "object": "chat.completion.chunk",
            "created": 1_763_900_000,
            "model": "gpt-4.1-2025-04-14",
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}
            }
        })
    }
}

/// Gemini `streamGenerateContent?alt=sse`: each event a whole `GenerateContentResponse`.
pub mod gemini {
    use serde_json::{Value, json};

    /// One SSE event carrying a whole `GenerateContentResponse`, framed as the API frames it.
    pub fn chunk(response: Value) -> String {
        format!("data: {response}\r\n\r\n")
    }

    pub fn sse(chunks: &[Value]) -> String {
        chunks.iter().map(|value| chunk(value.clone())).collect()
    }

    pub fn parts(parts: Value, finish: Option<&str>) -> Value {
        let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        if let Some(reason) = finish {
            candidate["finishReason"] = json!(reason);
        }
        json!({"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "r1"})
    }

    pub fn with_usage(mut response: Value, prompt: u64, output: u64, cached: u64) -> Value {
        let mut usage = json!({
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output
        });
        if cached > 0 {
            usage["cachedContentTokenCount"] = json!(cached);
        }
        response["usageMetadata"] = usage;
        response
    }

    pub fn text_answer(text: &str) -> String {
        sse(&[with_usage(
            parts(json!([{"text": text}]), Some("STOP")),
            10,
            4,
            0,
        )])
    }
}

/// Ollama's native `/api/chat`: one JSON object per line, the last with `done: true`.
pub mod ollama {
    use serde_json::{Value, json};

    pub const MODEL: &str = "qwen2.5-coder:14b";

    /// One NDJSON line per object.
    pub fn ndjson(lines: &[Value]) -> String {
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    pub fn text(content: &str) -> Value {
        json!({"model": MODEL, "created_at": "2026-11-23T22:00:00.000Z",
            "message": {"role": "assistant", "content": content}, "done": false})
    }

    pub fn tool_calls(calls: &[(&str, Value)]) -> Value {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(name, arguments)| json!({"function": {"name": name, "arguments": arguments}}))
            .collect();
        json!({"model": MODEL, "created_at": "2026-11-23T22:00:00.000Z",
            "message": {"role": "assistant", "content": "", "tool_calls": calls}, "done": false})
    }

    pub fn done(reason: &str, prompt: u64, output: u64) -> Value {
        json!({"model": MODEL, "created_at": "2026-11-23T22:00:01.000Z",
            "message": {"role": "assistant", "content": ""},
            "done_reason": reason, "done": true, "total_duration": 4_883_583_458_u64,
            "load_duration": 1_334_875, "prompt_eval_count": prompt, "prompt_eval_duration": 342_546_000,
            "eval_count": output, "eval_duration": 4_535_599_000_u64})
    }
}

/// A whole text answer, end marker included.
pub fn text_answer(wire: Wire, text: &str) -> String {
    match wire {
        Wire::Anthropic => anthropic::text_answer(text),
        Wire::OpenAi => openai::sse(&[
            openai::role(),
            openai::text(text),
            openai::finish("stop"),
            openai::usage(12, 3, 0),
        ]),
        Wire::Gemini => gemini::text_answer(text),
        Wire::Ollama => ollama::ndjson(&[ollama::text(text), ollama::done("stop", 12, 3)]),
    }
}

/// The first part of a text answer: `text` streamed, but no end marker (no `message_stop`,
/// no `finish_reason`/`[DONE]`, no `finishReason`, no `done: true`).
pub fn unfinished(wire: Wire, text: &str) -> String {
    match wire {
        Wire::Anthropic => anthropic::sse(&[
            anthropic::message_start(12, 0, 0),
            anthropic::text_start(0),
            anthropic::text_delta(0, text),
        ]),
        Wire::OpenAi => {
            let body = openai::sse(&[openai::role(), openai::text(text)]);
            body.trim_end_matches("data: [DONE]\n\n").to_owned()
        }
        Wire::Gemini => gemini::sse(&[gemini::parts(json!([{"text": text}]), None)]),
        Wire::Ollama => ollama::ndjson(&[ollama::text(text)]),
    }
}

/// An answer calling `read_file` with `{"path": "src/app.py"}`, the arguments split over
/// several chunks where the wire streams them in fragments.
pub fn tool_call_answer(wire: Wire) -> String {
    match wire {
        Wire::Anthropic => anthropic::sse(&[
            anthropic::message_start(20, 0, 0),
            anthropic::tool_start(0, "toolu_01", "read_file"),
            anthropic::json_delta(0, ""),
            anthropic::json_delta(0, "{\"pa"),
            anthropic::json_delta(0, "th\": \"src/"),
            anthropic::json_delta(0, "app.py\"}"),
            anthropic::block_stop(0),
            anthropic::message_delta("tool_use", 9),
            anthropic::message_stop(),
        ]),
        Wire::OpenAi => openai::sse(&[
            openai::role(),
            openai::tool_start(0, "call_01", "read_file"),
            openai::tool_arguments(0, "{\"pa"),
            openai::tool_arguments(0, "th\": \"src/"),
            openai::tool_arguments(0, "app.py\"}"),
            openai::finish("tool_calls"),
            openai::usage(20, 9, 0),
        ]),
        Wire::Gemini => gemini::sse(&[gemini::with_usage(
            gemini::parts(
                json!([{"functionCall": {"name": "read_file", "args": {"path": "src/app.py"}}}]),
                Some("STOP"),
            ),
            20,
            9,
            0,
        )]),
        Wire::Ollama => ollama::ndjson(&[
            ollama::tool_calls(&[("read_file", json!({"path": "src/app.py"}))]),
            ollama::done("stop", 20, 9),
        ]),
    }
}

/// A stream that starts well and then carries the provider's own in-stream error for an
/// overloaded server.
pub fn overloaded_mid_stream(wire: Wire) -> String {
    let start = unfinished(wire, "Hel");
    let error = match wire {
        Wire::Anthropic => anthropic::event(anthropic::error("overloaded_error", "Overloaded")),
        Wire::OpenAi => format!(
            "data: {}\n\n",
            json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": null, "code": null}})
        ),
        Wire::Gemini => gemini::chunk(
            json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}),
        ),
        Wire::Ollama => format!("{}\n", json!({"error": "server busy, please try again"})),
    };
    start + &error
}

/// A body whose first event is not valid JSON.
pub fn malformed(wire: Wire) -> String {
    match wire {
        Wire::Ollama => "{\"model\": \"qwen2.5-coder:14b\", \"message\": {\n".into(),
        Wire::Anthropic => "event: message_start\ndata: {\"type\": \"message_start\", \n\n".into(),
        Wire::OpenAi | Wire::Gemini => "data: {\"choices\": [\n\n".into(),
    }
}

/// The body of an error answer with `status`, in the provider's error shape.
pub fn error_body(wire: Wire, status: u16, message: &str) -> Value {
    match wire {
        Wire::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Wire::OpenAi => {
            let (kind, code) = match status {
                401 => ("invalid_request_error", json!("invalid_api_key")),
                429 => ("requests", json!("rate_limit_exceeded")),
                _ => ("server_error", Value::Null),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Wire::Gemini => {
            let state = match status {
                401 => "UNAUTHENTICATED",
                429 => "RESOURCE_EXHAUSTED",
                _ => "INTERNAL",
            };
            json!({"error": {"code": status, "message": message, "status": state}})
        }
        Wire::Ollama => json!({"error": message}),
    }
}
