//! The provider layer: neutral types every agent speaks, the [`Provider`] trait, and one module
//! per wire format. Wire structs stay private to their module; only the neutral types cross.
//!
//! `stream()` is the one method a provider must implement; `complete()` collects it. Retries
//! happen inside `stream()` and only before the first streamed byte (see [`retry`]).

pub mod anthropic;
pub mod detect;
pub mod error;
pub mod fake;
pub mod gemini;
pub mod kind;
pub mod ollama;
pub mod openai;
pub mod pricing;
pub mod retry;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use error::LlmError;
pub use kind::{ProviderKind, ProviderSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of the conversation. The system prompt is not a message: it lives on [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    /// The concatenated text blocks of this message.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text { text: String },
    ToolUse(ToolCall),
    ToolResult(ToolResult),
}

/// A tool call the model made. `arguments` is always a JSON object once assembled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// The answer to one tool call. `name` repeats the tool's name because some wire formats
/// (Gemini's `functionResponse`) identify results by name rather than id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    pub name: String,
    pub content: String,
    pub is_error: bool,
}

/// A tool the model may call: a name, what it does, and its parameters as a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call tools.
    None,
}

/// Called before each retry wait, so the agent can put a `retry` event in its stream.
pub type RetryHook = Arc<dyn Fn(&retry::RetryNotice) + Send + Sync>;

/// One request to a model.
#[derive(Clone, Default)]
pub struct Request {
    /// The system prompt. Providers that support prompt caching mark it (with the tools) as the
    /// stable prefix.
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    /// Upper bound on output tokens for this call.
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
    pub on_retry: Option<RetryHook>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("system", &self.system)
            .field("messages", &self.messages)
            .field("tools", &self.tools)
            .field("tool_choice", &self.tool_choice)
            .field("max_output_tokens", &self.max_output_tokens)
            .field("temperature", &self.temperature)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A rough size of the prompt in tokens (characters / 4), for budgets and context sizing
    /// before the provider reports real usage.
    pub fn estimated_input_tokens(&self) -> u64 {
        let mut chars = self.system.len();
        for message in &self.messages {
            for block in &message.content {
                chars += match block {
                    ContentBlock::Text { text } => text.len(),
                    ContentBlock::ToolUse(call) => {
                        call.name.len() + call.arguments.to_string().len()
                    }
                    ContentBlock::ToolResult(result) => result.content.len(),
                };
            }
        }
        for tool in &self.tools {
            chars += tool.name.len() + tool.description.len() + tool.parameters.to_string().len();
        }
        (chars as u64).div_ceil(4)
    }
}

/// Token usage as the provider reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the provider's prompt cache.
    pub cache_creation_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens
    }

    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    #[default]
    EndTurn,
    ToolUse,
    MaxTokens,
    Other(String),
}

/// What a provider's stream yields. Providers assemble tool calls themselves (from fragments
/// where their wire format splits them) and emit each one whole.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    TextDelta(String),
    ToolCall(ToolCall),
    /// Usage so far; later events supersede earlier ones field by field where non-zero.
    Usage(Usage),
    Stop(StopReason),
}

pub type EventStream = BoxStream<'static, Result<StreamEvent, LlmError>>;

/// A whole response, collected from a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub stop_reason: StopReason,
}

impl Response {
    /// The assistant message to append to the conversation.
    pub fn to_message(&self) -> Message {
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(ContentBlock::Text {
                text: self.text.clone(),
            });
        }
        content.extend(self.tool_calls.iter().cloned().map(ContentBlock::ToolUse));
        Message {
            role: Role::Assistant,
            content,
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Which provider this is (for messages, events and pricing).
    fn kind(&self) -> ProviderKind;
    /// The model id requests go to.
    fn model(&self) -> &str;
    /// Send the request and stream the answer.
    async fn stream(&self, request: &Request) -> Result<EventStream, LlmError>;
    /// Send the request and collect the whole answer.
    async fn complete(&self, request: &Request) -> Result<Response, LlmError> {
        let stream = self.stream(request).await?;
        collect(stream).await
    }
}

/// Collect a stream of events into a [`Response`].
pub async fn collect(mut stream: EventStream) -> Result<Response, LlmError> {
    let mut response = Response::default();
    let mut stopped = false;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::TextDelta(text) => response.text.push_str(&text),
            StreamEvent::ToolCall(call) => response.tool_calls.push(call),
            StreamEvent::Usage(usage) => merge_usage(&mut response.usage, &usage),
            StreamEvent::Stop(reason) => {
                response.stop_reason = reason;
                stopped = true;
            }
        }
    }
    if !stopped {
        return Err(LlmError::Stream(
            "the response stream ended before the model finished".into(),
        ));
    }
    if !response.tool_calls.is_empty() && response.stop_reason == StopReason::EndTurn {
        response.stop_reason = StopReason::ToolUse;
    }
    Ok(response)
}

/// Later usage reports supersede earlier ones field by field (Anthropic reports input tokens at
/// the start and output tokens at the end; others report everything once at the end).
pub fn merge_usage(into: &mut Usage, update: &Usage) {
    if update.input_tokens > 0 {
        into.input_tokens = update.input_tokens;
    }
    if update.output_tokens > 0 {
        into.output_tokens = update.output_tokens;
    }
    if update.cache_read_tokens > 0 {
        into.cache_read_tokens = update.cache_read_tokens;
    }
    if update.cache_creation_tokens > 0 {
        into.cache_creation_tokens = update.cache_creation_tokens;
    }
}

/// The HTTP client every provider shares: connect timeout, and a per-request read timeout large
/// enough for slow local models. Streams are bounded by the agent's wall-time budget instead.
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(concat!("agentci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| LlmError::Config(format!("failed to build the HTTP client: {error}")))
}

/// Build the provider the settings describe, speaking its wire format.
pub fn build_provider(settings: ProviderSettings) -> Result<Arc<dyn Provider>, LlmError> {
    Ok(match settings.kind.wire_format() {
        kind::WireFormat::AnthropicMessages => {
            Arc::new(anthropic::AnthropicProvider::new(settings)?)
        }
        kind::WireFormat::OpenAiChat => Arc::new(openai::OpenAiProvider::new(settings)?),
        kind::WireFormat::Gemini => Arc::new(gemini::GeminiProvider::new(settings)?),
        kind::WireFormat::OllamaChat => Arc::new(ollama::OllamaProvider::new(settings)?),
    })
}
