//! The Gemini `generateContent` wire format: request mapping (schemas through
//! [`super::schema::to_gemini`]), the `streamGenerateContent?alt=sse` answer, and the provider.
//!
//! Gemini identifies function calls by name, not id: calls get synthesised ids (`call_<n>`, in
//! stream order) unless the answer carries its own, and results are matched back by name.
//! Models that think return a `thoughtSignature` with their function calls and reject a
//! follow-up that omits it, so the provider remembers signatures by call and echoes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::wire::{self, BodyBytes, WireProvider};
use super::{
    ContentBlock, EventStream, LlmError, Message, ProviderSettings, Request, StopReason,
    StreamEvent, ToolCall, ToolChoice, Usage, error, schema, sse,
};
use sse::{Event, shorten};

/// How many thought signatures a provider keeps; older ones belong to turns long gone.
const SIGNATURE_CAPACITY: usize = 512;

/// Thought signatures of the function calls seen so far, keyed by call (name and arguments).
type Signatures = Arc<Mutex<HashMap<String, String>>>;

pub struct GeminiProvider {
    settings: ProviderSettings,
    api_key: SecretString,
    signatures: Signatures,
}

impl GeminiProvider {
    /// Fails with [`LlmError::Config`] when the settings carry no API key.
    pub fn new(settings: ProviderSettings) -> Result<Self, LlmError> {
        let api_key = settings
            .api_key
            .clone()
            .filter(|key| !key.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                LlmError::Config("Gemini needs an API key; set GEMINI_API_KEY".into())
            })?;
        crate::redact::register_secret(api_key.expose_secret());
        Ok(Self {
            settings,
            api_key,
            signatures: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn url(&self) -> String {
        let model = self
            .settings
            .model
            .strip_prefix("models/")
            .unwrap_or(&self.settings.model);
        format!(
            "{}/models/{model}:streamGenerateContent?alt=sse",
            versioned_base_url(&self.settings.base_url)
        )
    }
}

#[async_trait]
impl WireProvider for GeminiProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn open(&self, request: &Request) -> Result<EventStream, LlmError> {
        let body = {
            let signatures = self
                .signatures
                .lock()
                .map(|signatures| signatures.clone())
                .unwrap_or_default();
            request_body_with(request, &signatures)
        };
        let bytes = wire::post(&self.settings, &self.url(), request, |post| {
            // The key goes in a header, never the URL, so it cannot end up in a logged URL.
            post.header("x-goog-api-key", self.api_key.expose_secret())
                .header("accept", "text/event-stream")
                .json(&body)
        })
        .await
        .map_err(invalid_key_is_auth)?;
        Ok(decode(bytes, Some(Arc::clone(&self.signatures))))
    }
}

/// The base URL with the API version path: `GEMINI_BASE_URL=https://host` (the convention of
/// Google's SDKs and of gateways) gets `/v1beta` appended; a URL that already ends in a version
/// segment (`/v1`, `/v1beta`, `/v1alpha`…) is used as is.
pub fn versioned_base_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let last = base
        .rsplit_once("://")
        .map_or(base, |(_, rest)| rest)
        .rsplit_once('/')
        .map_or("", |(_, segment)| segment);
    let is_version = last
        .strip_prefix('v')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|first| first.is_ascii_digit());
    if is_version {
        base.to_owned()
    } else {
        format!("{base}/v1beta")
    }
}

/// Gemini answers a bad key with 400 `INVALID_ARGUMENT` ("API key not valid"), which is an
/// authentication failure whatever the status says.
fn invalid_key_is_auth(error: LlmError) -> LlmError {
    match error {
        LlmError::BadRequest { status, message } if message.contains("API key") => {
            LlmError::Auth { status, message }
        }
        other => other,
    }
}

/// The JSON body of a `generateContent` / `streamGenerateContent` request.
pub fn request_body(request: &Request) -> Value {
    request_body_with(request, &HashMap::new())
}

fn request_body_with(request: &Request, signatures: &HashMap<String, String>) -> Value {
    let mut body = Map::new();
    if !request.system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": request.system}]}),
        );
    }
    body.insert(
        "contents".into(),
        Value::Array(contents(&request.messages, signatures)),
    );
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut declaration = json!({"name": tool.name, "description": tool.description});
                let parameters = schema::to_gemini(&tool.parameters);
                // A function without parameters must leave them out: Gemini rejects an object
                // schema with no properties.
                if parameters.get("properties").is_some() {
                    declaration["parameters"] = parameters;
                }
                declaration
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
        let mode = match request.tool_choice {
            ToolChoice::Auto => "AUTO",
            ToolChoice::Required => "ANY",
            ToolChoice::None => "NONE",
        };
        body.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": {"mode": mode}}),
        );
    }
    let mut generation = Map::new();
    if request.max_output_tokens > 0 {
        generation.insert("maxOutputTokens".into(), json!(request.max_output_tokens));
    }
    if let Some(temperature) = request.temperature {
        generation.insert("temperature".into(), json!(temperature));
    }
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    Value::Object(body)
}

/// Neutral messages as Gemini contents: roles `user`/`model`, in alternating turns
/// ([`wire::alternating_turns`]).
fn contents(messages: &[Message], signatures: &HashMap<String, String>) -> Vec<Value> {
    let call_names: HashMap<&str, &str> = messages
        .iter()
        .flat_map(|message| &message.content)
        .filter_map(|block| match block {
            ContentBlock::ToolUse(call) => Some((call.id.as_str(), call.name.as_str())),
            _ => None,
        })
        .collect();
    wire::alternating_turns(messages, "model", "parts", |block| match block {
        ContentBlock::Text { text } => json!({"text": text}),
        ContentBlock::ToolUse(call) => {
            let args = wire::object_arguments(call);
            let mut part = json!({"functionCall": {"name": call.name, "args": args}});
            if let Some(signature) = signatures.get(&signature_key(&call.name, &args)) {
                part["thoughtSignature"] = json!(signature);
            }
            part
        }
        ContentBlock::ToolResult(result) => {
            let name = if result.name.is_empty() {
                call_names
                    .get(result.call_id.as_str())
                    .copied()
                    .unwrap_or_default()
            } else {
                result.name.as_str()
            };
            // `output` / `error` are the keys the API reference names for a result.
            let response = if result.is_error {
                json!({"error": result.content})
            } else {
                json!({"output": result.content})
            };
            json!({"functionResponse": {"name": name, "response": response}})
        }
    })
}

fn signature_key(name: &str, args: &Value) -> String {
    format!("{name}\u{0}{args}")
}

/// Turn the bytes of a `streamGenerateContent?alt=sse` answer into neutral events, with no HTTP
/// involved (benchmarks and tests feed it bytes). Each SSE event carries a whole
/// `GenerateContentResponse`; text comes out as it arrives, each function call whole, usage and
/// `Stop` when the stream ends after a `finishReason`. A stream that ends without one ends with
/// [`LlmError::Stream`]; an undecodable chunk with [`LlmError::Decode`].
pub fn events_from_bytes(bytes: impl BodyBytes) -> EventStream {
    decode(bytes, None)
}

fn decode(bytes: impl BodyBytes, signatures: Option<Signatures>) -> EventStream {
    sse::decode(
        bytes,
        Decoder {
            calls: 0,
            usage: None,
            finish_reason: None,
            signatures,
        },
    )
}

struct Decoder {
    /// Function calls seen so far, for synthesised ids.
    calls: usize,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    signatures: Option<Signatures>,
}

impl sse::WireDecoder for Decoder {
    /// Gemini has no end marker: the stream ends after the chunk with a `finishReason`.
    fn finished(&self) -> bool {
        false
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        let Some(reason) = self.finish_reason.take() else {
            return Err(LlmError::Stream(
                "the Gemini stream ended before a `finishReason`".into(),
            ));
        };
        if let Some(usage) = self.usage.take() {
            out.push(StreamEvent::Usage(usage));
        }
        out.push(StreamEvent::Stop(finish_reason(&reason, self.calls > 0)));
        Ok(())
    }

    fn event(&mut self, event: &Event, out: &mut Vec<StreamEvent>) -> Result<(), LlmError> {
        let chunk: WireResponse = serde_json::from_str(&event.data).map_err(|error| {
            LlmError::Decode(format!(
                "undecodable Gemini stream chunk: {error}: {}",
                crate::redact::redact(&shorten(&event.data))
            ))
        })?;
        if let Some(status) = chunk.error {
            let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::BAD_GATEWAY);
            return Err(invalid_key_is_auth(error::classify_http(
                code,
                &HeaderMap::new(),
                &event.data,
            )));
        }
        if let Some(usage) = chunk.usage_metadata {
            let cached = usage.cached_content_token_count;
            self.usage = Some(Usage {
                input_tokens: usage.prompt_token_count.saturating_sub(cached),
                output_tokens: usage.candidates_token_count + usage.thoughts_token_count,
                cache_read_tokens: cached,
                cache_creation_tokens: 0,
            });
        }
        let Some(candidate) = chunk.candidates.into_iter().next() else {
            if let Some(reason) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
                return Err(LlmError::BadRequest {
                    status: 400,
                    message: format!("Gemini blocked the prompt ({reason})"),
                });
            }
            return Ok(());
        };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                let arguments = match call.args {
                    Some(args @ Value::Object(_)) => args,
                    None | Some(Value::Null) => json!({}),
                    Some(other) => {
                        return Err(LlmError::Decode(format!(
                            "the arguments of the `{}` function call are not a JSON object: {}",
                            call.name,
                            shorten(&other.to_string())
                        )));
                    }
                };
                if let (Some(signature), Some(store)) = (&part.thought_signature, &self.signatures)
                    && let Ok(mut store) = store.lock()
                {
                    if store.len() >= SIGNATURE_CAPACITY {
                        store.clear();
                    }
                    store.insert(signature_key(&call.name, &arguments), signature.clone());
                }
                let id = call
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{}", self.calls));
                self.calls += 1;
                out.push(StreamEvent::ToolCall(ToolCall {
                    id,
                    name: call.name,
                    arguments,
                }));
            } else if let Some(text) = part.text
                && !part.thought
                && !text.is_empty()
            {
                out.push(StreamEvent::TextDelta(text));
            }
        }
        if let Some(reason) = candidate.finish_reason {
            self.finish_reason = Some(reason);
        }
        Ok(())
    }
}

fn finish_reason(reason: &str, called: bool) -> StopReason {
    match reason {
        "STOP" if called => StopReason::ToolUse,
        "STOP" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        other => StopReason::Other(other.to_ascii_lowercase()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    usage_metadata: Option<WireUsage>,
    prompt_feedback: Option<WirePromptFeedback>,
    error: Option<WireStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    content: Option<WireContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    text: Option<String>,
    /// Thought summaries are not part of the answer.
    #[serde(default)]
    thought: bool,
    thought_signature: Option<String>,
    function_call: Option<WireFunctionCall>,
}

#[derive(Deserialize)]
struct WireFunctionCall {
    id: Option<String>,
    name: String,
    args: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireStatus {
    #[serde(default)]
    code: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_is_appended_only_when_absent() {
        assert_eq!(versioned_base_url("https://host"), "https://host/v1beta");
        assert_eq!(versioned_base_url("https://host/"), "https://host/v1beta");
        assert_eq!(
            versioned_base_url("https://gateway.example/google"),
            "https://gateway.example/google/v1beta"
        );
        assert_eq!(
            versioned_base_url("https://host/v1beta"),
            "https://host/v1beta"
        );
        assert_eq!(versioned_base_url("https://host/v1/"), "https://host/v1");
        assert_eq!(
            versioned_base_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/v1beta"
        );
        assert_eq!(
            versioned_base_url("https://generativelanguage.googleapis.com/v1alpha"),
            "https://generativelanguage.googleapis.com/v1alpha"
        );
    }
    use crate::llm::{Role, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;

    #[test]
    fn parameterless_tools_omit_parameters_and_results_find_their_name() {
        let request = Request {
            messages: vec![
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolCall {
                        id: "call_0".into(),
                        name: "list_files".into(),
                        arguments: Value::Null,
                    })],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult(ToolResult {
                        call_id: "call_0".into(),
                        name: String::new(),
                        content: "denied".into(),
                        is_error: true,
                    })],
                },
            ],
            tools: vec![ToolSpec {
                name: "list_files".into(),
                description: "list".into(),
                parameters: json!({"type": "object", "properties": {}}),
            }],
            ..Request::default()
        };
        let mut signatures = HashMap::new();
        signatures.insert(signature_key("list_files", &json!({})), "sig".to_owned());
        let body = request_body_with(&request, &signatures);
        assert_eq!(
            body,
            json!({
                "contents": [
                    {"role": "model", "parts": [
                        {"functionCall": {"name": "list_files", "args": {}}, "thoughtSignature": "sig"}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"name": "list_files", "response": {"error": "denied"}}}
                    ]}
                ],
                "tools": [{"functionDeclarations": [{"name": "list_files", "description": "list"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}}
            })
        );
    }

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason("STOP", false), StopReason::EndTurn);
        assert_eq!(finish_reason("STOP", true), StopReason::ToolUse);
        assert_eq!(finish_reason("MAX_TOKENS", false), StopReason::MaxTokens);
        assert_eq!(
            finish_reason("SAFETY", false),
            StopReason::Other("safety".into())
        );
    }

    #[test]
    fn a_bad_key_is_an_auth_error() {
        let error = invalid_key_is_auth(LlmError::BadRequest {
            status: 400,
            message: "API key not valid. Please pass a valid API key.".into(),
        });
        assert!(matches!(error, LlmError::Auth { status: 400, .. }));
    }
}
