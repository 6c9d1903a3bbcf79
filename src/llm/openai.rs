//! The OpenAI Chat Completions wire format (`POST /chat/completions`, SSE streaming), spoken by
//! OpenAI, Azure OpenAI, Mistral, DeepSeek and every OpenAI-compatible server. The differences
//! between them are data (`Quirks`, `OptionalFields`), not separate code paths.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use serde::{Deserialize, Serialize};

use super::chat::{
    ChatMessage, WireTool, chat_messages, parse_arguments, synthesised_id, tool_result_content,
    wire_tools,
};
use super::kind::WireFormat;
use super::wire::{self, BodyBytes, WireProvider};
use super::{
    EventStream, LlmError, ProviderKind, ProviderSettings, Request, StopReason, StreamEvent,
    ToolCall, ToolChoice, Usage, sse,
};

/// Where one provider's Chat Completions dialect departs from OpenAI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quirks {
    /// OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models reject
    /// the old name); everyone else still reads `max_tokens`.
    max_tokens_field: MaxTokensField,
    /// The `tool_choice` value that forces a tool call. Mistral documents `any` (it accepts
    /// `required` too, but `any` is its native spelling).
    required_tool_choice: &'static str,
    /// Whether to ask for the usage chunk with `stream_options: {include_usage: true}`. Mistral
    /// rejects the field with 422 `extra_forbidden` and sends usage in its last chunk anyway.
    stream_options: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MaxTokensField {
    MaxCompletionTokens,
    MaxTokens,
}

impl Quirks {
    fn of(kind: ProviderKind) -> Quirks {
        let standard = Quirks {
            max_tokens_field: MaxTokensField::MaxTokens,
            required_tool_choice: "required",
            stream_options: true,
        };
        match kind {
            ProviderKind::OpenAi => Quirks {
                max_tokens_field: MaxTokensField::MaxCompletionTokens,
                ..standard
            },
            ProviderKind::Mistral => Quirks {
                required_tool_choice: "any",
                stream_options: false,
                ..standard
            },
            // DeepSeek documents `stream_options.include_usage`; compatible servers mostly
            // accept it (vLLM, LM Studio, Ollama's `/v1`, LiteLLM), and `OptionalFields`
            // covers the rest.
            _ => standard,
        }
    }
}

/// A provider speaking OpenAI Chat Completions.
pub struct OpenAiProvider {
    settings: ProviderSettings,
    quirks: Quirks,
    url: String,
    headers: HeaderMap,
    /// Set once the server has rejected `stream_options`.
    stream_options_rejected: AtomicBool,
    /// Set once the server has rejected `temperature` (OpenAI's reasoning models accept only
    /// the default).
    temperature_rejected: AtomicBool,
}

/// The request fields a server may refuse without the request losing its meaning: when one is
/// named in a 400/422 answer, it is dropped, the request sent again, and the field left out
/// from then on. Cheaper and more durable than a table of which model accepts what.
#[derive(Debug, Clone, Copy)]
struct OptionalFields {
    stream_options: bool,
    temperature: bool,
}

impl OpenAiProvider {
    /// Build a provider for one of the Chat Completions kinds (OpenAI, Azure OpenAI when
    /// `azure_api_version` is set, Mistral, DeepSeek, OpenAI-compatible).
    pub fn new(settings: ProviderSettings) -> Result<Self, LlmError> {
        wire::expect_wire(
            &settings,
            WireFormat::OpenAiChat,
            "the OpenAI Chat Completions format",
        )?;
        if settings.model.trim().is_empty() {
            return Err(LlmError::Config(format!(
                "no model set for provider `{}`; set `{}`",
                settings.kind,
                settings.kind.model_variable()
            )));
        }
        let base_url = settings.base_url.trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "the base URL `{base_url}` of provider `{}` must start with `http://` or `https://`; check `{}`",
                settings.kind,
                settings.kind.base_url_variable()
            )));
        }
        let url = match &settings.azure_api_version {
            Some(version) => format!(
                "{base_url}/openai/deployments/{}/chat/completions?api-version={}",
                settings.model, version
            ),
            None => format!("{base_url}/chat/completions"),
        };
        let mut headers = wire::json_headers("text/event-stream");
        if let Some(key) = wire::optional_api_key(&settings) {
            let (name, value) = match settings.azure_api_version {
                Some(_) => (HeaderName::from_static("api-key"), key.to_owned()),
                None => (AUTHORIZATION, format!("Bearer {key}")),
            };
            let value = wire::secret_header(&value).ok_or_else(|| {
                LlmError::Config(format!(
                    "the API key for provider `{}` contains characters not allowed in an HTTP header",
                    settings.kind
                ))
            })?;
            headers.insert(name, value);
        }
        Ok(Self {
            quirks: Quirks::of(settings.kind),
            url,
            headers,
            stream_options_rejected: AtomicBool::new(false),
            temperature_rejected: AtomicBool::new(false),
            settings,
        })
    }

    fn body(&self, request: &Request, optional: OptionalFields) -> Result<Bytes, LlmError> {
        let max_tokens = (request.max_output_tokens > 0).then_some(request.max_output_tokens);
        let (tools, tool_choice) = if request.tools.is_empty() {
            // OpenAI rejects `tool_choice` without `tools`.
            (Vec::new(), None)
        } else {
            let tools = wire_tools(&request.tools);
            let choice = match request.tool_choice {
                ToolChoice::Auto => "auto",
                ToolChoice::Required => self.quirks.required_tool_choice,
                ToolChoice::None => "none",
            };
            (tools, Some(choice))
        };
        let body = ChatRequest {
            model: &self.settings.model,
            messages: wire_messages(request),
            tools,
            tool_choice,
            stream: true,
            stream_options: optional.stream_options.then_some(StreamOptions {
                include_usage: true,
            }),
            max_tokens: max_tokens
                .filter(|_| self.quirks.max_tokens_field == MaxTokensField::MaxTokens),
            max_completion_tokens: max_tokens
                .filter(|_| self.quirks.max_tokens_field == MaxTokensField::MaxCompletionTokens),
            temperature: request.temperature.filter(|_| optional.temperature),
        };
        wire::json_body(&body)
    }

    async fn send(
        &self,
        request: &Request,
        optional: OptionalFields,
    ) -> Result<EventStream, LlmError> {
        let body = self.body(request, optional)?;
        let bytes = wire::post(&self.settings, &self.url, request, |post| {
            post.headers(self.headers.clone()).body(body.clone())
        })
        .await?;
        Ok(events_from_bytes(bytes))
    }
}

#[async_trait]
impl WireProvider for OpenAiProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn open(&self, request: &Request) -> Result<EventStream, LlmError> {
        let mut optional = OptionalFields {
            stream_options: self.quirks.stream_options
                && !self.stream_options_rejected.load(Ordering::Relaxed),
            temperature: request.temperature.is_some()
                && !self.temperature_rejected.load(Ordering::Relaxed),
        };
        // Each pass drops one more field, so this ends after at most three requests.
        loop {
            match self.send(request, optional).await {
                Err(LlmError::BadRequest { status, message }) => {
                    let field = if optional.stream_options && message.contains("stream_options") {
                        optional.stream_options = false;
                        self.stream_options_rejected.store(true, Ordering::Relaxed);
                        "stream_options"
                    } else if optional.temperature && message.contains("temperature") {
                        optional.temperature = false;
                        self.temperature_rejected.store(true, Ordering::Relaxed);
                        "temperature"
                    } else {
                        return Err(LlmError::BadRequest { status, message });
                    };
                    tracing::info!(
                        "`{}` rejected `{field}` for model `{}` ({message}); sending the request again without it",
                        self.settings.kind,
                        self.settings.model
                    );
                }
                other => return other,
            }
        }
    }
}

/// Turn the body of a streaming Chat Completions response into neutral events: text deltas as
/// they come, each tool call whole once its fragments are complete, usage, then the stop reason.
/// Pure (no HTTP), so that tests and benchmarks can feed it bytes directly.
pub fn events_from_bytes(bytes: impl BodyBytes) -> EventStream {
    sse::decode(bytes, ChunkAssembler::default())
}

impl sse::WireDecoder for ChunkAssembler {
    fn event(&mut self, event: &sse::Event, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        out.extend(self.on_event(&event.event, &event.data)?);
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        out.extend(self.on_end()?);
        Ok(())
    }
}

/// Assembles Chat Completions chunks into neutral events.
#[derive(Default)]
struct ChunkAssembler {
    /// Tool calls not yet emitted, in the order they started.
    calls: Vec<PartialCall>,
    /// Wire `index` → position in `calls` of the call currently receiving that index's fragments.
    by_index: HashMap<u64, usize>,
    finish_reason: Option<String>,
    emitted_tool_calls: bool,
    done: bool,
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl ChunkAssembler {
    fn on_event(&mut self, name: &str, data: &str) -> Result<Vec<StreamEvent>, LlmError> {
        let data = data.trim();
        if name == "error" {
            return Err(stream_error(data));
        }
        if data.is_empty() {
            return Ok(Vec::new());
        }
        if data == "[DONE]" {
            return self.on_done();
        }
        let chunk: ChatChunk = serde_json::from_str(data).map_err(|error| {
            LlmError::Decode(format!(
                "a stream chunk is not valid Chat Completions JSON ({error}): {}",
                crate::redact::redact(&data.chars().take(200).collect::<String>())
            ))
        })?;
        if chunk.error.is_some() {
            return Err(stream_error(data));
        }
        let mut events = Vec::new();
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                for text in [delta.content, delta.refusal].into_iter().flatten() {
                    if !text.is_empty() {
                        events.push(StreamEvent::TextDelta(text));
                    }
                }
                for (position, fragment) in delta.tool_calls.into_iter().flatten().enumerate() {
                    self.add_fragment(position, fragment);
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|reason| !reason.is_empty()) {
                self.finish_reason = Some(reason);
                self.flush_calls(&mut events)?;
            }
        }
        let usage = chunk.usage.or(chunk.x_groq.and_then(|extra| extra.usage));
        if let Some(usage) = usage {
            events.push(StreamEvent::Usage(usage.into_neutral()));
        }
        Ok(events)
    }

    fn add_fragment(&mut self, position: usize, fragment: ToolCallDelta) {
        let index = fragment.index.unwrap_or(position as u64);
        let id = fragment.id.filter(|id| !id.is_empty());
        // Some servers (Mistral among them) send each parallel call whole with `index: 0`; a new
        // id at an index that already has one starts a new call.
        let slot = match self.by_index.get(&index) {
            Some(&slot)
                if id.as_ref().is_none_or(|id| {
                    self.calls[slot].id.is_empty() || self.calls[slot].id == *id
                }) =>
            {
                slot
            }
            _ => {
                self.calls.push(PartialCall::default());
                let slot = self.calls.len() - 1;
                self.by_index.insert(index, slot);
                slot
            }
        };
        let call = &mut self.calls[slot];
        if let Some(id) = id
            && call.id.is_empty()
        {
            call.id = id;
        }
        if let Some(function) = fragment.function {
            if let Some(name) = function.name
                && call.name.is_empty()
            {
                call.name = name;
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
    }

    fn flush_calls(&mut self, events: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        self.by_index.clear();
        let cut_by_limit = self.finish_reason.as_deref() == Some("length");
        for (position, call) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            if call.name.is_empty() {
                return Err(LlmError::Decode(format!(
                    "the model streamed a tool call without a name (arguments: {})",
                    crate::redact::redact(&call.arguments)
                )));
            }
            let arguments = match parse_arguments(&call.name, &call.arguments) {
                Ok(arguments) => arguments,
                // The output limit cut the arguments off: the call must not run.
                Err(_) if cut_by_limit => {
                    events.push(StreamEvent::CutToolCall { name: call.name });
                    continue;
                }
                Err(error) => return Err(error),
            };
            let id = if call.id.is_empty() {
                synthesised_id(position, &call.name, &call.arguments)
            } else {
                call.id
            };
            self.emitted_tool_calls = true;
            events.push(StreamEvent::ToolCall(ToolCall {
                id,
                name: call.name,
                arguments,
            }));
        }
        Ok(())
    }

    fn on_done(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        let mut events = Vec::new();
        self.flush_calls(&mut events)?;
        events.push(StreamEvent::Stop(self.stop_reason()));
        self.done = true;
        Ok(events)
    }

    fn on_end(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        // Some compatible servers end the stream after the finish chunk without `[DONE]`.
        if self.finish_reason.is_some() {
            return self.on_done();
        }
        Err(LlmError::Stream(
            "the response stream ended before the model finished (no `finish_reason` and no `[DONE]`)"
                .into(),
        ))
    }

    fn stop_reason(&self) -> StopReason {
        match self.finish_reason.as_deref() {
            Some("tool_calls" | "function_call") => StopReason::ToolUse,
            Some("length") => StopReason::MaxTokens,
            Some("stop") | None if self.emitted_tool_calls => StopReason::ToolUse,
            Some("stop") | None => StopReason::EndTurn,
            Some(other) => StopReason::Other(other.to_owned()),
        }
    }
}

/// An error the server sent inside the stream (a `data: {"error": …}` chunk or an `error`
/// event), classified like the HTTP error it stands for so that transient ones are retried.
fn stream_error(data: &str) -> LlmError {
    let value: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    let error = value.get("error").unwrap_or(&value);
    let field = |name: &str| {
        error
            .get(name)
            .map(|value| match value {
                serde_json::Value::String(text) => text.to_ascii_lowercase(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let (kind, code) = (field("type"), field("code"));
    let status = if kind.contains("rate_limit") || code.contains("rate_limit") || code == "429" {
        429
    } else if kind.contains("authentication") || code == "invalid_api_key" || code == "401" {
        401
    } else if kind.contains("invalid_request") || code.starts_with('4') && code.len() == 3 {
        400
    } else {
        // `server_error`, overload and unknown kinds: the server failed mid-answer.
        503
    };
    let status =
        reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body = if value.get("error").is_some() {
        data.to_owned()
    } else {
        serde_json::json!({ "error": value }).to_string()
    };
    match super::error::classify_http(status, &HeaderMap::new(), &body) {
        LlmError::Overloaded {
            message,
            retry_after,
            ..
        } => LlmError::Overloaded {
            status: 503,
            message: format!("the provider reported an error mid-stream: {message}"),
            retry_after,
        },
        other => other,
    }
}

/// The conversation in Chat Completions shape: tool results as `role: tool` messages, named by
/// call id.
fn wire_messages(request: &Request) -> Vec<WireMessage<'_>> {
    chat_messages(
        request,
        |text, calls| AssistantMessage {
            content: if text.is_empty() && !calls.is_empty() {
                None
            } else {
                Some(text)
            },
            tool_calls: calls
                .into_iter()
                .map(|call| WireToolCall {
                    id: &call.id,
                    kind: "function",
                    function: WireFunctionCall {
                        name: &call.name,
                        arguments: call.arguments.to_string(),
                    },
                })
                .collect(),
        },
        |result| ToolMessage {
            tool_call_id: &result.call_id,
            content: tool_result_content(result),
        },
    )
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

type WireMessage<'a> = ChatMessage<'a, AssistantMessage<'a>, ToolMessage<'a>>;

#[derive(Serialize)]
struct AssistantMessage<'a> {
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
}

#[derive(Serialize)]
struct ToolMessage<'a> {
    tool_call_id: &'a str,
    content: Cow<'a, str>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: String,
}

#[derive(Deserialize)]
struct ChatChunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    /// Groq reports usage here instead of in `usage`.
    #[serde(default)]
    x_groq: Option<GroqExtra>,
}

#[derive(Deserialize)]
struct GroqExtra {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
    /// DeepSeek's name for cached prompt tokens.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl WireUsage {
    /// `prompt_tokens` includes the cached tokens; the neutral [`Usage`] counts them apart (as
    /// Anthropic does), so that `total()` does not count them twice and pricing can tell them
    /// apart.
    fn into_neutral(self) -> Usage {
        let prompt = self.prompt_tokens.unwrap_or(0);
        let cached = self
            .prompt_tokens_details
            .and_then(|details| details.cached_tokens)
            .or(self.prompt_cache_hit_tokens)
            .unwrap_or(0)
            .min(prompt);
        Usage {
            input_tokens: prompt - cached,
            output_tokens: self.completion_tokens.unwrap_or(0),
            cache_read_tokens: cached,
            cache_creation_tokens: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{StreamExt, stream};

    fn run(body: &str) -> Vec<Result<StreamEvent, LlmError>> {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
            .as_bytes()
            .chunks(7)
            .map(|chunk| Ok(chunk.to_vec()))
            .collect();
        futures::executor::block_on(events_from_bytes(stream::iter(chunks)).collect())
    }

    #[test]
    fn same_index_with_new_id_starts_a_new_call() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"aaaaaaaaa\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"bbbbbbbbb\",\"function\":{\"name\":\"b\",\"arguments\":\"{\\\"x\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
        );
        let events = run(body);
        let names: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                Ok(StreamEvent::ToolCall(call)) => Some(call.name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            events.last().unwrap().as_ref().unwrap(),
            &StreamEvent::Stop(StopReason::ToolUse)
        );
    }

    #[test]
    fn groq_usage_and_missing_ids_are_handled() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"list_files\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"x_groq\":{\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}}\n\n",
            "data: [DONE]\n\n",
        );
        let events: Vec<StreamEvent> = run(body).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            events,
            vec![
                StreamEvent::ToolCall(ToolCall {
                    id: synthesised_id(0, "list_files", ""),
                    name: "list_files".into(),
                    arguments: serde_json::json!({}),
                }),
                StreamEvent::Usage(Usage {
                    input_tokens: 9,
                    output_tokens: 3,
                    ..Usage::default()
                }),
                StreamEvent::Stop(StopReason::ToolUse),
            ]
        );
    }

    #[test]
    fn quirks_differ_where_the_wires_do() {
        assert_eq!(
            Quirks::of(ProviderKind::OpenAi).max_tokens_field,
            MaxTokensField::MaxCompletionTokens
        );
        let mistral = Quirks::of(ProviderKind::Mistral);
        assert_eq!(mistral.required_tool_choice, "any");
        assert!(!mistral.stream_options);
        assert!(Quirks::of(ProviderKind::DeepSeek).stream_options);
    }
}
