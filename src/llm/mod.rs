//! The provider layer: neutral types every agent speaks, the [`Provider`] trait, and one module
//! per wire format. Wire structs stay private to their module; only the neutral types cross.
//!
//! `stream()` is the one method a provider must implement; `complete()` collects it. `stream()`
//! retries until the first byte; `complete()` also retries a turn whose stream failed after it
//! (see [`retry`]). Wire formats that stream SSE decode it through [`sse`]. The HTTP providers
//! implement [`wire::WireProvider`], which supplies the rest of [`Provider`] from their settings.

pub mod anthropic;
mod chat;
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
pub mod sse;
pub mod wire;

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
    /// A tool call the output limit cut off before its arguments were complete; it must not run.
    CutToolCall {
        name: String,
    },
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
    /// The tool call the output limit cut off (`stop_reason` is then [`StopReason::MaxTokens`]);
    /// nothing of such a response is executed.
    pub cut_tool_call: Option<String>,
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
    /// The retry policy of this provider; `complete()` retries failed turns with it. `None`
    /// (the default) leaves a failed stream to the caller.
    fn retry_policy(&self) -> Option<&retry::RetryPolicy> {
        None
    }
    /// The most output tokens one answer of this model may have.
    fn max_output_tokens(&self) -> u32 {
        pricing::DEFAULT_MAX_OUTPUT_TOKENS
    }
    /// Send the request and collect the whole answer, retrying a turn whose stream failed after
    /// the first byte when the provider has a retry policy.
    async fn complete(&self, request: &Request) -> Result<Response, LlmError> {
        match self.retry_policy() {
            Some(policy) => retry::complete(self, policy, request).await,
            None => collect(self.stream(request).await?).await,
        }
    }
}

/// The output limit of a provider's model: the configured override, else the model table's.
pub fn output_limit(settings: &ProviderSettings) -> u32 {
    settings
        .max_output_tokens
        .filter(|limit| *limit > 0)
        .unwrap_or_else(|| pricing::max_output_tokens(&settings.model))
}

/// Collect a stream of events into a [`Response`].
pub async fn collect(stream: EventStream) -> Result<Response, LlmError> {
    collect_with_usage(stream).await.0
}

/// [`collect`], also returning the usage the stream reported before it failed (if it did).
pub async fn collect_with_usage(mut stream: EventStream) -> (Result<Response, LlmError>, Usage) {
    let mut response = Response::default();
    let mut stopped = false;
    while let Some(event) = stream.next().await {
        match event {
            Err(error) => return (Err(error), response.usage),
            Ok(StreamEvent::TextDelta(text)) => response.text.push_str(&text),
            Ok(StreamEvent::ToolCall(call)) => response.tool_calls.push(call),
            Ok(StreamEvent::Usage(usage)) => merge_usage(&mut response.usage, &usage),
            Ok(StreamEvent::CutToolCall { name }) => response.cut_tool_call = Some(name),
            Ok(StreamEvent::Stop(reason)) => {
                response.stop_reason = reason;
                stopped = true;
            }
        }
    }
    if !stopped {
        let usage = response.usage;
        return (
            Err(LlmError::Stream(
                "the response stream ended before the model finished".into(),
            )),
            usage,
        );
    }
    if !response.tool_calls.is_empty() && response.stop_reason == StopReason::EndTurn {
        response.stop_reason = StopReason::ToolUse;
    }
    let usage = response.usage;
    (Ok(response), usage)
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

/// The HTTP client every provider shares: a connect timeout. Waiting for an answer is bounded by
/// the idle timeout of the retry policy ([`retry::RetryPolicy::idle_timeout`]).
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(concat!("agentci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| LlmError::Config(format!("failed to build the HTTP client: {error}")))
}

/// Apply `[llm]` from `agentci.toml` and `AGENTCI_IDLE_TIMEOUT` (which wins) to the settings.
pub fn apply_llm_config(
    settings: &mut ProviderSettings,
    config: &crate::config::Config,
    environment: &crate::config::Environment,
) -> anyhow::Result<()> {
    let from_environment = environment
        .get("AGENTCI_IDLE_TIMEOUT")
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            humantime::parse_duration(text).map_err(|error| {
                crate::exit::usage(format!(
                    "`AGENTCI_IDLE_TIMEOUT={text}` is not a duration such as `300s` or `5m`: {error}"
                ))
            })
        })
        .transpose()?;
    if let Some(idle) = from_environment.or(config.llm.idle_timeout) {
        if idle.is_zero() {
            return Err(crate::exit::usage(
                "the idle timeout must be longer than zero".to_owned(),
            ));
        }
        settings.retry.idle_timeout = idle;
    }
    if let Some(limit) = config.llm.max_output_tokens {
        settings.max_output_tokens = Some(limit);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Environment};

    fn settings() -> ProviderSettings {
        ProviderSettings {
            kind: ProviderKind::Anthropic,
            model: "claude-sonnet-4-5".into(),
            base_url: "http://127.0.0.1:9".into(),
            api_key: None,
            azure_api_version: None,
            retry: retry::RetryPolicy::default(),
            http: reqwest::Client::new(),
            max_output_tokens: None,
        }
    }

    #[test]
    fn the_idle_timeout_comes_from_the_environment_then_the_file() {
        let config = Config::parse(
            "[llm]\nidle_timeout = \"45s\"\nmax_output_tokens = 4000\n",
            "f",
        )
        .unwrap();
        let mut from_file = settings();
        apply_llm_config(
            &mut from_file,
            &config,
            &Environment::from_pairs([("X", "1")]),
        )
        .unwrap();
        assert_eq!(from_file.retry.idle_timeout, Duration::from_secs(45));
        assert_eq!(output_limit(&from_file), 4000);

        let mut from_variable = settings();
        let environment = Environment::from_pairs([("AGENTCI_IDLE_TIMEOUT", "3s")]);
        apply_llm_config(&mut from_variable, &config, &environment).unwrap();
        assert_eq!(from_variable.retry.idle_timeout, Duration::from_secs(3));

        let mut default = settings();
        apply_llm_config(
            &mut default,
            &Config::default(),
            &Environment::from_pairs([("X", "1")]),
        )
        .unwrap();
        assert_eq!(default.retry.idle_timeout, retry::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(output_limit(&default), 64_000);

        let bad = Environment::from_pairs([("AGENTCI_IDLE_TIMEOUT", "soon")]);
        let error = apply_llm_config(&mut settings(), &Config::default(), &bad).unwrap_err();
        assert!(
            error.to_string().contains("AGENTCI_IDLE_TIMEOUT=soon"),
            "{error}"
        );
    }
}
