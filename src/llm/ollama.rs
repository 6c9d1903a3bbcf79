//! Ollama's native chat API (`POST /api/chat`, NDJSON streaming): request mapping, context-window
//! sizing from the model's own limit (`POST /api/show`), and stream parsing.

use std::collections::VecDeque;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, stream};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::chat::{
    ChatMessage, WireTool, chat_messages, parse_arguments, synthesised_id, tool_result_content,
    wire_tools,
};
use super::kind::WireFormat;
use super::wire::{self, BodyBytes, WireProvider};
use super::{
    EventStream, LlmError, ProviderSettings, Request, StopReason, StreamEvent, ToolCall,
    ToolChoice, Usage,
};

/// The smallest context window we ask for. Ollama's own default has been as low as 2,048
/// tokens, which silently truncates any agent prompt.
const MIN_CONTEXT_TOKENS: u64 = 4_096;
/// The largest we ask for when the model's limit is unknown: beyond this the KV cache alone
/// outgrows most machines.
const MAX_CONTEXT_TOKENS: u64 = 131_072;
/// Output room when the request sets no output limit.
const DEFAULT_OUTPUT_TOKENS: u64 = 4_096;
/// How long the model lookup may take.
const SHOW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// A provider speaking Ollama's native chat API.
pub struct OllamaProvider {
    settings: ProviderSettings,
    chat_url: String,
    show_url: String,
    headers: HeaderMap,
    /// The model's context length from `/api/show`, looked up once; `None` when unknown.
    context_length: OnceCell<Option<u64>>,
}

impl OllamaProvider {
    /// Build a provider for the Ollama server at `settings.base_url` (`OLLAMA_HOST`, which may
    /// omit the scheme, as the Ollama CLI allows).
    pub fn new(settings: ProviderSettings) -> Result<Self, LlmError> {
        wire::expect_wire(&settings, WireFormat::OllamaChat, "Ollama's chat API")?;
        if settings.model.trim().is_empty() {
            return Err(LlmError::Config(format!(
                "no Ollama model set; set `{}` (for example `{}`)",
                settings.kind.model_variable(),
                settings.kind.default_model()
            )));
        }
        let trimmed = settings.base_url.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(LlmError::Config(format!(
                "no Ollama address set; set `{}`",
                settings.kind.base_url_variable()
            )));
        }
        let base_url = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        let mut headers = wire::json_headers("application/x-ndjson");
        // Plain Ollama takes no key; one behind an authenticating proxy (or Ollama's cloud) does.
        if let Some(key) = wire::optional_api_key(&settings) {
            let value = wire::secret_header(&format!("Bearer {key}")).ok_or_else(|| {
                LlmError::Config(
                    "the Ollama API key contains characters not allowed in an HTTP header".into(),
                )
            })?;
            headers.insert(AUTHORIZATION, value);
        }
        Ok(Self {
            chat_url: format!("{base_url}/api/chat"),
            show_url: format!("{base_url}/api/show"),
            headers,
            context_length: OnceCell::new(),
            settings,
        })
    }

    /// The model's context length, asked of the server once. A failure only costs the warning
    /// about oversized prompts, so it is logged and remembered as unknown.
    async fn model_context_length(&self) -> Option<u64> {
        *self
            .context_length
            .get_or_init(|| async {
                match self.show().await {
                    Ok(length) => length,
                    Err(error) => {
                        tracing::debug!(
                            "could not read the context length of `{}` from `/api/show`: {error}",
                            self.settings.model
                        );
                        None
                    }
                }
            })
            .await
    }

    async fn show(&self) -> Result<Option<u64>, LlmError> {
        let response = self
            .settings
            .http
            .post(&self.show_url)
            .headers(self.headers.clone())
            // Only a warning depends on the answer: never let a stuck server hold up the chat.
            .timeout(SHOW_TIMEOUT)
            .json(&ShowRequest {
                model: &self.settings.model,
            })
            .send()
            .await
            .map_err(|error| LlmError::from_reqwest(&error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|error| LlmError::from_reqwest(&error))?;
        if !status.is_success() {
            return Err(super::error::classify_http(status, &headers, &body));
        }
        let show: ShowResponse = serde_json::from_str(&body).map_err(|error| {
            LlmError::Decode(format!(
                "`/api/show` answered with unexpected JSON: {error}"
            ))
        })?;
        Ok(show.context_length())
    }

    fn body(&self, request: &Request, num_ctx: u64) -> Result<Bytes, LlmError> {
        // Ollama has no `tool_choice`: "none" can only be honoured by not offering tools, and
        // "required" is left to the prompt.
        let tools = if request.tool_choice == ToolChoice::None {
            Vec::new()
        } else {
            wire_tools(&request.tools)
        };
        let body = ChatRequest {
            model: &self.settings.model,
            messages: wire_messages(request),
            tools,
            stream: true,
            options: Options {
                num_ctx,
                num_predict: (request.max_output_tokens > 0).then_some(request.max_output_tokens),
                temperature: request.temperature,
            },
        };
        wire::json_body(&body)
    }
}

#[async_trait]
impl WireProvider for OllamaProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn open(&self, request: &Request) -> Result<EventStream, LlmError> {
        let model_limit = self.model_context_length().await;
        let estimate = request.estimated_input_tokens();
        if let Some(limit) = model_limit
            && estimate > limit
        {
            tracing::warn!(
                "the prompt (about {estimate} tokens) is larger than the context window of `{}` ({limit} tokens); Ollama will cut it",
                self.settings.model
            );
        }
        let num_ctx = context_size(estimate, request.max_output_tokens, model_limit);
        let body = self.body(request, num_ctx)?;
        let bytes = wire::post(&self.settings, &self.chat_url, request, |post| {
            post.headers(self.headers.clone()).body(body.clone())
        })
        .await?;
        Ok(events_from_bytes(bytes))
    }
}

/// The `num_ctx` to ask for: the prompt estimate plus output room, rounded up to a power of two
/// and kept within sane bounds and the model's own limit. Rounding matters: Ollama reloads the
/// model whenever `num_ctx` changes, so a window that grew by a few tokens each turn would
/// reload it every turn.
pub fn context_size(estimated_input: u64, max_output: u32, model_limit: Option<u64>) -> u64 {
    let output = if max_output == 0 {
        DEFAULT_OUTPUT_TOKENS
    } else {
        u64::from(max_output)
    };
    // The estimate (characters / 4) runs low on code and JSON; a quarter more covers it.
    let wanted = estimated_input.saturating_add(estimated_input / 4) + output;
    let size = wanted
        .checked_next_power_of_two()
        .unwrap_or(MAX_CONTEXT_TOKENS)
        .clamp(MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS);
    match model_limit {
        Some(limit) if limit > 0 => size.min(limit),
        _ => size,
    }
}

/// Turn the body of a streaming `/api/chat` response (one JSON object per line) into neutral
/// events. Pure (no HTTP), so that tests and benchmarks can feed it bytes directly.
pub fn events_from_bytes(bytes: impl BodyBytes) -> EventStream {
    let state = StreamState {
        source: Box::pin(bytes),
        buffer: Vec::new(),
        assembler: LineAssembler::default(),
        pending: VecDeque::new(),
        finished: false,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            match state.source.next().await {
                Some(Ok(chunk)) => {
                    let searched = state.buffer.len();
                    state.buffer.extend_from_slice(chunk.as_ref());
                    state.take_lines(searched);
                }
                Some(Err(error)) => state.fail(LlmError::Stream(format!(
                    "the response stream broke off: {}",
                    crate::redact::redact(&error.to_string())
                ))),
                None => state.end(),
            }
            if state.assembler.done {
                state.finished = true;
            }
        }
    }))
}

struct StreamState<S> {
    source: std::pin::Pin<Box<S>>,
    buffer: Vec<u8>,
    assembler: LineAssembler,
    pending: VecDeque<Result<StreamEvent, LlmError>>,
    finished: bool,
}

impl<S> StreamState<S> {
    /// Process every complete line in the buffer; keep the unfinished tail. Events parsed before
    /// a bad line are still delivered, then the error. `searched` bytes at the front are known
    /// to hold no newline, so a long line arriving in many reads is scanned once.
    fn take_lines(&mut self, searched: usize) {
        let mut events = Vec::new();
        let mut start = 0;
        let mut from = searched;
        let mut failure = None;
        while let Some(offset) = self.buffer[from..].iter().position(|&byte| byte == b'\n') {
            let line = &self.buffer[start..from + offset];
            start = from + offset + 1;
            from = start;
            if let Err(error) = self.assembler.on_line(line, &mut events) {
                failure = Some(error);
                break;
            }
            if self.assembler.done {
                break;
            }
        }
        self.buffer.drain(..start);
        self.pending.extend(events.into_iter().map(Ok));
        if let Some(error) = failure {
            self.fail(error);
        }
    }

    fn end(&mut self) {
        let tail = std::mem::take(&mut self.buffer);
        if !tail.iter().all(u8::is_ascii_whitespace) {
            // A last line without its newline is fine if it is whole JSON; if not, the
            // connection was cut in the middle of it.
            if serde_json::from_slice::<serde::de::IgnoredAny>(&tail).is_err() {
                return self.fail(LlmError::Stream(
                    "the response stream ended in the middle of a line".into(),
                ));
            }
            let mut events = Vec::new();
            let outcome = self.assembler.on_line(&tail, &mut events);
            self.pending.extend(events.into_iter().map(Ok));
            if let Err(error) = outcome {
                return self.fail(error);
            }
        }
        if !self.assembler.done {
            return self.fail(LlmError::Stream(
                "the response stream ended before the model finished (no `\"done\": true`)".into(),
            ));
        }
        self.finished = true;
    }

    fn fail(&mut self, error: LlmError) {
        self.pending.push_back(Err(error));
        self.finished = true;
    }
}

#[derive(Default)]
struct LineAssembler {
    tool_calls: usize,
    done: bool,
}

impl LineAssembler {
    fn on_line(&mut self, line: &[u8], events: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let chunk: ChatChunk = serde_json::from_slice(line).map_err(|error| {
            let text = String::from_utf8_lossy(line);
            LlmError::Decode(format!(
                "a stream line is not valid Ollama chat JSON ({error}): {}",
                crate::redact::redact(&text.chars().take(200).collect::<String>())
            ))
        })?;
        if let Some(error) = chunk.error {
            let message = match error {
                serde_json::Value::String(text) => text,
                other => super::error::error_message(&other.to_string()),
            };
            return Err(LlmError::Stream(format!(
                "Ollama reported an error mid-stream: {}",
                crate::redact::redact(&message)
            )));
        }
        if let Some(message) = chunk.message {
            if let Some(text) = message.content.filter(|text| !text.is_empty()) {
                events.push(StreamEvent::TextDelta(text));
            }
            for call in message.tool_calls.into_iter().flatten() {
                events.push(StreamEvent::ToolCall(self.tool_call(call)?));
            }
        }
        if chunk.done {
            events.push(StreamEvent::Usage(Usage {
                input_tokens: chunk.prompt_eval_count.unwrap_or(0),
                output_tokens: chunk.eval_count.unwrap_or(0),
                ..Usage::default()
            }));
            let reason = match chunk.done_reason.as_deref() {
                _ if self.tool_calls > 0 => StopReason::ToolUse,
                Some("stop") | None => StopReason::EndTurn,
                Some("length") => StopReason::MaxTokens,
                Some(other) => StopReason::Other(other.to_owned()),
            };
            events.push(StreamEvent::Stop(reason));
            self.done = true;
        }
        Ok(())
    }

    /// Ollama sends each tool call whole, usually without an id (which the neutral types need
    /// to pair results with calls), so one is made up from its position and content.
    fn tool_call(&mut self, call: WireToolCallIn) -> Result<ToolCall, LlmError> {
        let position = self.tool_calls;
        self.tool_calls += 1;
        let name = call.function.name;
        if name.is_empty() {
            return Err(LlmError::Decode(
                "the model sent a tool call without a name".into(),
            ));
        }
        let arguments = match call.function.arguments {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            object @ serde_json::Value::Object(_) => object,
            serde_json::Value::String(text) => parse_arguments(&name, &text)?,
            other => {
                return Err(LlmError::Decode(format!(
                    "the arguments the model sent for tool `{name}` are not an object: {}",
                    crate::redact::redact(&other.to_string())
                )));
            }
        };
        let id = match call.id.filter(|id| !id.is_empty()) {
            Some(id) => id,
            None => synthesised_id(position, &name, &arguments.to_string()),
        };
        Ok(ToolCall {
            id,
            name,
            arguments,
        })
    }
}

/// The conversation in Ollama's shape: tool results as `role: tool` messages named by tool
/// (Ollama has no call ids).
fn wire_messages(request: &Request) -> Vec<WireMessage<'_>> {
    chat_messages(
        request,
        |content, calls| AssistantMessage {
            content,
            tool_calls: calls
                .into_iter()
                .map(|call| WireToolCallOut {
                    function: WireFunctionCallOut {
                        name: &call.name,
                        arguments: &call.arguments,
                    },
                })
                .collect(),
        },
        |result| ToolMessage {
            content: tool_result_content(result),
            tool_name: &result.name,
        },
    )
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    stream: bool,
    options: Options,
}

#[derive(Serialize)]
struct Options {
    num_ctx: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_predict: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

type WireMessage<'a> = ChatMessage<'a, AssistantMessage<'a>, ToolMessage<'a>>;

#[derive(Serialize)]
struct AssistantMessage<'a> {
    content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCallOut<'a>>,
}

#[derive(Serialize)]
struct ToolMessage<'a> {
    content: std::borrow::Cow<'a, str>,
    tool_name: &'a str,
}

#[derive(Serialize)]
struct WireToolCallOut<'a> {
    function: WireFunctionCallOut<'a>,
}

#[derive(Serialize)]
struct WireFunctionCallOut<'a> {
    name: &'a str,
    arguments: &'a serde_json::Value,
}

#[derive(Deserialize)]
struct ChatChunk {
    #[serde(default)]
    message: Option<ChunkMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCallIn>>,
}

#[derive(Deserialize)]
struct WireToolCallIn {
    #[serde(default)]
    id: Option<String>,
    function: WireFunctionIn,
}

#[derive(Deserialize)]
struct WireFunctionIn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

#[derive(Serialize)]
struct ShowRequest<'a> {
    model: &'a str,
}

#[derive(Deserialize)]
struct ShowResponse {
    #[serde(default)]
    model_info: serde_json::Map<String, serde_json::Value>,
}

impl ShowResponse {
    /// `model_info` keys its facts by architecture (`llama.context_length`,
    /// `qwen2.context_length`…); `general.architecture` says which one applies.
    fn context_length(&self) -> Option<u64> {
        let architecture = self
            .model_info
            .get("general.architecture")
            .and_then(serde_json::Value::as_str);
        if let Some(length) = architecture
            .and_then(|name| self.model_info.get(&format!("{name}.context_length")))
            .and_then(serde_json::Value::as_u64)
        {
            return Some(length);
        }
        self.model_info
            .iter()
            .filter(|(key, _)| key.ends_with(".context_length"))
            .find_map(|(_, value)| value.as_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_size_rounds_up_and_stays_in_bounds() {
        assert_eq!(context_size(0, 0, None), MIN_CONTEXT_TOKENS.max(4_096));
        // 3,000 × 1.25 + 1,000 = 4,750 → 8,192.
        assert_eq!(context_size(3_000, 1_000, None), 8_192);
        assert_eq!(context_size(10_000_000, 1_000, None), MAX_CONTEXT_TOKENS);
        assert_eq!(context_size(3_000, 1_000, Some(6_000)), 6_000);
        assert_eq!(context_size(3_000, 1_000, Some(0)), 8_192);
    }

    #[test]
    fn show_prefers_the_architecture_key() {
        let show: ShowResponse = serde_json::from_value(serde_json::json!({
            "model_info": {
                "general.architecture": "qwen2",
                "clip.context_length": 512,
                "qwen2.context_length": 32768
            }
        }))
        .unwrap();
        assert_eq!(show.context_length(), Some(32_768));
        let bare: ShowResponse =
            serde_json::from_value(serde_json::json!({"model_info": {"x.context_length": 8192}}))
                .unwrap();
        assert_eq!(bare.context_length(), Some(8_192));
        let none: ShowResponse = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(none.context_length(), None);
    }

    #[test]
    fn lines_split_across_small_reads_are_reassembled() {
        let body = concat!(
            "{\"message\":{\"role\":\"assistant\",\"content\":\"Hello, \"},\"done\":false}\r\n",
            "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":",
            "{\"name\":\"read_file\",\"arguments\":{\"path\":\"a.py\"}}}]},\"done\":false}\n",
            "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,",
            "\"done_reason\":\"stop\",\"prompt_eval_count\":3,\"eval_count\":4}"
        );
        let reads: Vec<Result<&[u8], std::io::Error>> = body.as_bytes().chunks(5).map(Ok).collect();
        let response = futures::executor::block_on(super::super::collect(events_from_bytes(
            stream::iter(reads),
        )))
        .unwrap();
        assert_eq!(response.text, "Hello, ");
        assert_eq!(response.tool_calls.len(), 1);
        assert_eq!(
            response.tool_calls[0].arguments,
            serde_json::json!({"path": "a.py"})
        );
        assert_eq!(response.usage.output_tokens, 4);
        assert_eq!(response.stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn a_line_cut_short_is_a_stream_error() {
        let body = "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n{\"message\":{\"ro";
        let events: Vec<_> = futures::executor::block_on(
            events_from_bytes(stream::iter([Ok::<_, std::io::Error>(body.as_bytes())])).collect(),
        );
        assert_eq!(
            events[0].as_ref().unwrap(),
            &StreamEvent::TextDelta("Hi".into())
        );
        assert!(matches!(events[1], Err(LlmError::Stream(_))), "{events:?}");
        assert_eq!(events.len(), 2);
    }
}
