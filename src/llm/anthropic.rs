//! The Anthropic Messages wire format: request mapping (with prompt-cache breakpoints on the
//! stable prefix), the streamed SSE answer, and the provider that sends one through the other.

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::{self, BodyBytes, WireProvider};
use super::{
    ContentBlock, EventStream, LlmError, Message, ProviderSettings, Request, StopReason,
    StreamEvent, ToolCall, ToolChoice, Usage, sse,
};
use sse::{Event, shorten};

/// The API version every request is pinned to.
pub const API_VERSION: &str = "2023-06-01";

/// Used when a request leaves `max_output_tokens` at zero: the API requires a bound.
pub const DEFAULT_MAX_TOKENS: u32 = super::pricing::DEFAULT_MAX_OUTPUT_TOKENS;

pub struct AnthropicProvider {
    settings: ProviderSettings,
    api_key: SecretString,
}

impl AnthropicProvider {
    /// Fails with [`LlmError::Config`] when the settings carry no API key.
    pub fn new(settings: ProviderSettings) -> Result<Self, LlmError> {
        let Some(api_key) = settings.api_key.clone() else {
            return Err(LlmError::Config(
                "Anthropic needs an API key; set ANTHROPIC_API_KEY".into(),
            ));
        };
        if api_key.expose_secret().trim().is_empty() {
            return Err(LlmError::Config(
                "ANTHROPIC_API_KEY is empty; set it to an Anthropic API key".into(),
            ));
        }
        crate::redact::register_secret(api_key.expose_secret());
        Ok(Self { settings, api_key })
    }

    fn url(&self) -> String {
        format!(
            "{}/v1/messages",
            self.settings.base_url.trim_end_matches('/')
        )
    }
}

#[async_trait]
impl WireProvider for AnthropicProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn open(&self, request: &Request) -> Result<EventStream, LlmError> {
        let body = request_body(&self.settings.model, request);
        let bytes = wire::post(&self.settings, &self.url(), request, |post| {
            post.header("x-api-key", self.api_key.expose_secret())
                .header("anthropic-version", API_VERSION)
                .header("accept", "text/event-stream")
                .json(&body)
        })
        .await?;
        Ok(events_from_bytes(bytes))
    }
}

/// The JSON body of a streamed Messages request.
pub fn request_body(model: &str, request: &Request) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("model".into(), json!(model));
    let max_tokens = if request.max_output_tokens == 0 {
        DEFAULT_MAX_TOKENS
    } else {
        request.max_output_tokens
    };
    body.insert("max_tokens".into(), json!(max_tokens));
    body.insert("stream".into(), json!(true));
    if !request.system.is_empty() {
        // The system prompt never changes within a run: mark it as the end of the cached prefix.
        body.insert(
            "system".into(),
            json!([{
                "type": "text",
                "text": request.system,
                "cache_control": {"type": "ephemeral"},
            }]),
        );
    }
    let mut messages = messages(&request.messages);
    // A moving breakpoint on the newest message: the next turn reads everything up to it from
    // the cache. With the tools and the system prompt, three of the API's four breakpoints.
    if let Some(block) = messages
        .last_mut()
        .and_then(|message| message["content"].as_array_mut())
        .and_then(|content| content.last_mut())
    {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let last = request.tools.len() - 1;
        let tools: Vec<Value> = request
            .tools
            .iter()
            .enumerate()
            .map(|(index, tool)| {
                let mut spec = json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                });
                // Tools come first in the prompt: a breakpoint on the last one caches them all.
                if index == last {
                    spec["cache_control"] = json!({"type": "ephemeral"});
                }
                spec
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        let choice = match request.tool_choice {
            ToolChoice::Auto => "auto",
            ToolChoice::Required => "any",
            ToolChoice::None => "none",
        };
        body.insert("tool_choice".into(), json!({"type": choice}));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    Value::Object(body)
}

/// Neutral messages as Anthropic messages, in alternating turns
/// ([`wire::alternating_turns`]).
fn messages(messages: &[Message]) -> Vec<Value> {
    wire::alternating_turns(messages, "assistant", "content", |block| match block {
        ContentBlock::Text { text } => json!({"type": "text", "text": text}),
        ContentBlock::ToolUse(call) => json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": wire::object_arguments(call),
        }),
        ContentBlock::ToolResult(result) => json!({
            "type": "tool_result",
            "tool_use_id": result.call_id,
            "content": result.content,
            "is_error": result.is_error,
        }),
    })
}

/// Turn the bytes of a Messages SSE answer into neutral events, with no HTTP involved (the
/// provider feeds it the response body; benchmarks and tests feed it bytes). Text deltas come
/// out as they arrive; each tool call comes out whole when its block stops; usage after
/// `message_start` and `message_delta`; `Stop` at `message_stop`. A stream that ends before
/// `message_stop` ends with [`LlmError::Stream`]; an undecodable event with [`LlmError::Decode`].
/// A tool call whose arguments the output limit (`max_tokens`) cut off comes out as
/// [`StreamEvent::CutToolCall`].
pub fn events_from_bytes(bytes: impl BodyBytes) -> EventStream {
    sse::decode(
        bytes,
        Decoder {
            blocks: BTreeMap::new(),
            stop_reason: None,
            cut: None,
            finished: false,
        },
    )
}

/// A content block being streamed.
enum Block {
    Text,
    ToolUse {
        id: String,
        name: String,
        json: String,
        initial: Value,
    },
    Other,
}

struct Decoder {
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<StopReason>,
    /// A tool call whose arguments did not parse: cut off by the output limit when the message
    /// stops with `max_tokens`, else a decode error.
    cut: Option<(String, LlmError)>,
    finished: bool,
}

impl sse::WireDecoder for Decoder {
    fn finished(&self) -> bool {
        self.finished
    }

    fn end(&mut self, _out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        Err(LlmError::Stream(
            "the Anthropic stream ended before `message_stop`".into(),
        ))
    }

    fn event(&mut self, event: &Event, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        let data: WireEvent = serde_json::from_str(&event.data).map_err(|error| {
            LlmError::Decode(format!(
                "undecodable Anthropic `{}` event: {error}: {}",
                event.event,
                crate::redact::redact(&shorten(&event.data))
            ))
        })?;
        match data {
            WireEvent::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    out.push(StreamEvent::Usage(usage.neutral()));
                }
            }
            WireEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    WireBlock::Text { text } => {
                        if !text.is_empty() {
                            out.push(StreamEvent::TextDelta(text));
                        }
                        Block::Text
                    }
                    WireBlock::ToolUse { id, name, input } => Block::ToolUse {
                        id,
                        name,
                        json: String::new(),
                        initial: input,
                    },
                    WireBlock::Other => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            WireEvent::ContentBlockDelta { index, delta } => match delta {
                WireDelta::TextDelta { text } => {
                    if !text.is_empty() {
                        out.push(StreamEvent::TextDelta(text));
                    }
                }
                WireDelta::InputJsonDelta { partial_json } => match self.blocks.get_mut(&index) {
                    Some(Block::ToolUse { json, .. }) => json.push_str(&partial_json),
                    _ => {
                        return Err(LlmError::Decode(format!(
                            "`input_json_delta` for content block {index}, which is not a tool call"
                        )));
                    }
                },
                WireDelta::Other => {}
            },
            WireEvent::ContentBlockStop { index } => {
                if let Some(Block::ToolUse {
                    id,
                    name,
                    json,
                    initial,
                }) = self.blocks.remove(&index)
                {
                    match tool_arguments(&name, &json, initial) {
                        Ok(arguments) => out.push(StreamEvent::ToolCall(ToolCall {
                            id,
                            name,
                            arguments,
                        })),
                        Err(error) if self.cut.is_none() => self.cut = Some((name, error)),
                        Err(error) => return Err(error),
                    }
                }
            }
            WireEvent::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(stop_reason(&reason));
                }
                if let Some(usage) = usage {
                    out.push(StreamEvent::Usage(usage.neutral()));
                }
            }
            WireEvent::MessageStop => {
                let reason = self.stop_reason.take().unwrap_or_default();
                // A tool block the limit cut off may also never have been stopped.
                let unfinished = self.blocks.values().find_map(|block| match block {
                    Block::ToolUse { name, .. } => Some(name.clone()),
                    _ => None,
                });
                match (self.cut.take(), unfinished) {
                    (Some((name, _)), _) | (None, Some(name))
                        if reason == StopReason::MaxTokens =>
                    {
                        out.push(StreamEvent::CutToolCall { name });
                    }
                    (Some((_, error)), _) => return Err(error),
                    _ => {}
                }
                out.push(StreamEvent::Stop(reason));
                self.finished = true;
            }
            WireEvent::Ping | WireEvent::Other => {}
            WireEvent::Error { error } => return Err(stream_error(error)),
        }
        Ok(())
    }
}

/// Parse the accumulated `partial_json` of a tool block; a call with no arguments streams no
/// fragments at all and means `{}`.
fn tool_arguments(name: &str, json: &str, initial: Value) -> Result<Value, LlmError> {
    if json.trim().is_empty() {
        return Ok(if initial.is_object() {
            initial
        } else {
            json!({})
        });
    }
    match serde_json::from_str::<Value>(json) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => Err(LlmError::Decode(format!(
            "the arguments of the `{name}` tool call are not a JSON object: {}",
            shorten(&other.to_string())
        ))),
        Err(error) => Err(LlmError::Decode(format!(
            "the arguments of the `{name}` tool call are not valid JSON: {error}"
        ))),
    }
}

fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "end_turn" | "stop_sequence" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        other => StopReason::Other(other.to_owned()),
    }
}

fn stream_error(error: WireError) -> LlmError {
    let message = crate::redact::redact(&error.message).into_owned();
    match error.kind.as_str() {
        "overloaded_error" => LlmError::Overloaded {
            status: 529,
            message,
            retry_after: None,
        },
        "rate_limit_error" => LlmError::RateLimited {
            message,
            retry_after: None,
        },
        "invalid_request_error" => LlmError::BadRequest {
            status: 400,
            message,
        },
        "authentication_error" => LlmError::Auth {
            status: 401,
            message,
        },
        "permission_error" => LlmError::Auth {
            status: 403,
            message,
        },
        "request_too_large" => LlmError::ContextTooLong(message),
        kind => LlmError::Stream(format!("Anthropic reported `{kind}`: {message}")),
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: WireMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: WireBlock,
    },
    ContentBlockDelta {
        index: u64,
        delta: WireDelta,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        delta: WireMessageDelta,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: WireError,
    },
    /// Event types added after this was written are ignored, as the API reference asks.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireMessage {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server tools and block types added later carry nothing we use.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireMessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl WireUsage {
    fn neutral(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: self.cache_read_input_tokens.unwrap_or(0),
            cache_creation_tokens: self.cache_creation_input_tokens.unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Role, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;

    #[test]
    fn results_of_one_turn_share_one_user_message_before_any_text() {
        let request = Request {
            system: "be brief".into(),
            messages: vec![
                Message::user("fix it"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Text {
                            text: String::new(),
                        },
                        ContentBlock::ToolUse(ToolCall {
                            id: "toolu_1".into(),
                            name: "read_file".into(),
                            arguments: Value::Null,
                        }),
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text {
                        text: "note".into(),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult(ToolResult {
                        call_id: "toolu_1".into(),
                        name: "read_file".into(),
                        content: "text".into(),
                        is_error: false,
                    })],
                },
            ],
            tools: vec![ToolSpec {
                name: "read_file".into(),
                description: "read".into(),
                parameters: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::None,
            ..Request::default()
        };
        let body = request_body("claude-x", &request);
        assert_eq!(body["max_tokens"], json!(DEFAULT_MAX_TOKENS));
        assert_eq!(body["tool_choice"], json!({"type": "none"}));
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "fix it"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "text", "is_error": false},
                    {"type": "text", "text": "note", "cache_control": {"type": "ephemeral"}}
                ]}
            ])
        );
        assert!(body.get("temperature").is_none());
    }

    #[test]
    fn stop_reasons_map() {
        assert_eq!(stop_reason("end_turn"), StopReason::EndTurn);
        assert_eq!(stop_reason("tool_use"), StopReason::ToolUse);
        assert_eq!(stop_reason("max_tokens"), StopReason::MaxTokens);
        assert_eq!(stop_reason("refusal"), StopReason::Other("refusal".into()));
    }

    #[test]
    fn tool_arguments_must_be_an_object() {
        assert_eq!(tool_arguments("t", " ", Value::Null).ok(), Some(json!({})));
        assert!(matches!(
            tool_arguments("t", "[1]", Value::Null),
            Err(LlmError::Decode(_))
        ));
        assert!(matches!(
            tool_arguments("t", "{\"a\":", Value::Null),
            Err(LlmError::Decode(_))
        ));
    }
}
