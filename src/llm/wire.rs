//! What the HTTP wire formats share: a provider built from [`ProviderSettings`] (so that each
//! wire module only builds its request and decodes its answer), the POST that retries until the
//! first byte and bounds the answer by the idle timeout, the headers and bodies they send, and
//! the turn-taking Anthropic and Gemini both want.

use std::fmt::Display;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::kind::WireFormat;
use super::retry::{self, BodyError};
use super::{
    ContentBlock, EventStream, LlmError, Message, Provider, ProviderKind, ProviderSettings,
    Request, Role, ToolCall,
};

/// A provider that speaks one wire format over HTTP. Its kind, model, retry policy and output
/// limit come from its settings; it only sends a request and decodes the answer.
#[async_trait]
pub trait WireProvider: Send + Sync {
    /// The settings the provider was built from.
    fn settings(&self) -> &ProviderSettings;
    /// Send the request and stream the answer ([`Provider::stream`]).
    async fn open(&self, request: &Request) -> Result<EventStream, LlmError>;
}

#[async_trait]
impl<W: WireProvider> Provider for W {
    fn kind(&self) -> ProviderKind {
        self.settings().kind
    }

    fn model(&self) -> &str {
        &self.settings().model
    }

    fn retry_policy(&self) -> Option<&retry::RetryPolicy> {
        Some(&self.settings().retry)
    }

    fn max_output_tokens(&self) -> u32 {
        super::output_limit(self.settings())
    }

    async fn stream(&self, request: &Request) -> Result<EventStream, LlmError> {
        self.open(request).await
    }
}

/// The bytes of an answer body as the wire decoders take them: chunks, or a transport error
/// (which they name when the stream breaks). Benchmarks and tests feed them bytes directly.
pub trait BodyBytes: Stream<Item = Result<Self::Chunk, Self::Error>> + Send + 'static {
    type Chunk: AsRef<[u8]> + Send + 'static;
    type Error: Display + Send + 'static;
}

impl<S, B, E> BodyBytes for S
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: Display + Send + 'static,
{
    type Chunk = B;
    type Error = E;
}

/// POST to `url` (the request rebuilt by `build` for every attempt) with the settings' retry
/// policy until the answer starts, and return its body: bytes that fail with
/// [`BodyError::Idle`] when none come within the idle timeout.
pub(super) async fn post(
    settings: &ProviderSettings,
    url: &str,
    request: &Request,
    build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Result<impl Stream<Item = Result<Bytes, BodyError<reqwest::Error>>> + Send + 'static, LlmError>
{
    tracing::debug!(model = %settings.model, "POST {url}");
    let response = retry::send(&settings.retry, request.on_retry.as_ref(), || {
        build(settings.http.post(url))
    })
    .await?;
    Ok(retry::idle_guard(
        response.bytes_stream(),
        settings.retry.idle_timeout,
    ))
}

/// Fails with [`LlmError::Config`] when the settings are for a provider that does not speak
/// `wire` (`speaking` names it in the message).
pub(super) fn expect_wire(
    settings: &ProviderSettings,
    wire: WireFormat,
    speaking: &str,
) -> Result<(), LlmError> {
    if settings.kind.wire_format() == wire {
        return Ok(());
    }
    Err(LlmError::Config(format!(
        "provider `{}` does not speak {speaking}",
        settings.kind
    )))
}

/// The headers of a JSON request whose answer streams as `accept`.
pub(super) fn json_headers(accept: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    headers
}

/// The API key of the settings, trimmed and registered for redaction; `None` when there is none
/// or it is blank (local servers run without one, and an empty variable means the same).
pub(super) fn optional_api_key(settings: &ProviderSettings) -> Option<&str> {
    let key = settings.api_key.as_ref()?.expose_secret().trim();
    if key.is_empty() {
        return None;
    }
    crate::redact::register_secret(key);
    Some(key)
}

/// A header value that carries a secret, marked sensitive so that it never shows in debug
/// output; `None` when the text holds characters a header may not.
pub(super) fn secret_header(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// A request body encoded as JSON.
pub(super) fn json_body(body: &impl serde::Serialize) -> Result<Bytes, LlmError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|error| LlmError::Config(format!("could not encode the request: {error}")))
}

/// The conversation in turns of alternating roles, as Anthropic and Gemini want it: consecutive
/// messages of one role merged (all results of one turn in one message), the tool results of a
/// turn before its other parts, empty text (which both reject) left out, and turns left with no
/// parts dropped. Each turn is `{"role": "user" | assistant_role, parts_key: [parts]}`, and
/// `part` writes one block in the wire's shape.
pub(super) fn alternating_turns(
    messages: &[Message],
    assistant_role: &str,
    parts_key: &str,
    mut part: impl FnMut(&ContentBlock) -> Value,
) -> Vec<Value> {
    let mut turns: Vec<(Role, Vec<Value>, Vec<Value>)> = Vec::new();
    for message in messages {
        if turns
            .last()
            .is_none_or(|(role, _, _)| *role != message.role)
        {
            turns.push((message.role, Vec::new(), Vec::new()));
        }
        let Some((_, results, parts)) = turns.last_mut() else {
            continue;
        };
        for block in &message.content {
            match block {
                ContentBlock::Text { text } if text.is_empty() => {}
                ContentBlock::ToolResult(_) => results.push(part(block)),
                _ => parts.push(part(block)),
            }
        }
    }
    turns
        .into_iter()
        .filter(|(_, results, parts)| !results.is_empty() || !parts.is_empty())
        .map(|(role, mut results, parts)| {
            results.extend(parts);
            let role = match role {
                Role::User => "user",
                Role::Assistant => assistant_role,
            };
            json!({"role": role, parts_key: results})
        })
        .collect()
}

/// The arguments of a call as the JSON object both wires require (`{}` for anything else).
pub(super) fn object_arguments(call: &ToolCall) -> Value {
    if call.arguments.is_object() {
        call.arguments.clone()
    } else {
        Value::Object(serde_json::Map::new())
    }
}
