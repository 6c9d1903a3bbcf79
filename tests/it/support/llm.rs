//! Provider settings, requests and tools the llm tests share, and the table of provider rows the
//! conformance suite runs for.

use std::sync::Arc;
use std::time::Duration;

use agentci::llm::retry::RetryPolicy;
use agentci::llm::{Message, Provider, ProviderKind, ProviderSettings, Request, ToolSpec};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

/// A retry policy with short waits, so that retry tests take milliseconds.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        total_budget: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(10),
    }
}

/// Settings for `kind` at `base_url`, with its default model, `key`, and [`fast_retry`].
pub fn settings(kind: ProviderKind, base_url: String, key: Option<&str>) -> ProviderSettings {
    ProviderSettings {
        kind,
        model: kind.default_model().to_owned(),
        base_url,
        api_key: key.map(|key| SecretString::from(key.to_owned())),
        azure_api_version: None,
        retry: fast_retry(3),
        http: agentci::llm::http_client(Duration::from_secs(5)).unwrap(),
        max_output_tokens: None,
    }
}

/// A request with a system prompt and one user message.
pub fn ask(text: &str) -> Request {
    Request {
        system: "You fix CI failures.".into(),
        messages: vec![Message::user(text)],
        max_output_tokens: 1024,
        ..Request::default()
    }
}

pub fn read_file_tool() -> ToolSpec {
    ToolSpec {
        name: "read_file".into(),
        description: "Read a file of the repository".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
    }
}

/// A 200 answer with an SSE body.
pub fn ok_sse(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

/// The JSON bodies of every request the server received, in order.
pub async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| request.body_json::<Value>().unwrap())
        .collect()
}

/// The wire format a row speaks, for building its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Anthropic,
    OpenAi,
    Gemini,
    Ollama,
}

/// One provider as the conformance suite sees it: how to build it against a server, where it
/// posts, and the wire its answers are written in.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub name: &'static str,
    pub kind: ProviderKind,
    pub wire: Wire,
    pub azure: bool,
}

/// Every provider row: each kind, plus Azure OpenAI.
pub const ROWS: [Row; 8] = [
    Row {
        name: "anthropic",
        kind: ProviderKind::Anthropic,
        wire: Wire::Anthropic,
        azure: false,
    },
    Row {
        name: "openai",
        kind: ProviderKind::OpenAi,
        wire: Wire::OpenAi,
        azure: false,
    },
    Row {
        name: "azure",
        kind: ProviderKind::OpenAi,
        wire: Wire::OpenAi,
        azure: true,
    },
    Row {
        name: "gemini",
        kind: ProviderKind::Gemini,
        wire: Wire::Gemini,
        azure: false,
    },
    Row {
        name: "ollama",
        kind: ProviderKind::Ollama,
        wire: Wire::Ollama,
        azure: false,
    },
    Row {
        name: "mistral",
        kind: ProviderKind::Mistral,
        wire: Wire::OpenAi,
        azure: false,
    },
    Row {
        name: "deepseek",
        kind: ProviderKind::DeepSeek,
        wire: Wire::OpenAi,
        azure: false,
    },
    Row {
        name: "openai-compatible",
        kind: ProviderKind::OpenAiCompatible,
        wire: Wire::OpenAi,
        azure: false,
    },
];

pub const AZURE_API_VERSION: &str = "2024-10-21";

impl Row {
    /// The settings of this row against a server at `origin` (`http://127.0.0.1:port`).
    pub fn settings(&self, origin: &str) -> ProviderSettings {
        let base_url = match (self.wire, self.azure) {
            (Wire::Anthropic | Wire::Ollama, _) | (Wire::OpenAi, true) => origin.to_owned(),
            (Wire::OpenAi, false) => format!("{origin}/v1"),
            // Without a version path: the provider appends `/v1beta`.
            (Wire::Gemini, false) => origin.to_owned(),
            (Wire::Gemini, true) => unreachable!("no Azure Gemini"),
        };
        let key = (self.kind != ProviderKind::Ollama).then_some("sk-test-key-0123456789abcdef");
        let mut settings = settings(self.kind, base_url, key);
        if self.azure {
            settings.model = "ci-deployment".into();
            settings.azure_api_version = Some(AZURE_API_VERSION.into());
        }
        settings
    }

    pub fn provider(&self, origin: &str) -> Arc<dyn Provider> {
        agentci::llm::build_provider(self.settings(origin)).unwrap()
    }

    /// The path requests go to (without the query).
    pub fn path(&self) -> String {
        match (self.wire, self.azure) {
            (Wire::Anthropic, _) => "/v1/messages".into(),
            (Wire::OpenAi, false) => "/v1/chat/completions".into(),
            (Wire::OpenAi, true) => "/openai/deployments/ci-deployment/chat/completions".into(),
            (Wire::Gemini, _) => format!(
                "/v1beta/models/{}:streamGenerateContent",
                self.kind.default_model()
            ),
            (Wire::Ollama, _) => "/api/chat".into(),
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self.wire {
            Wire::Ollama => "application/x-ndjson",
            _ => "text/event-stream",
        }
    }

    /// A 200 answer carrying `body` with this wire's content type.
    pub fn ok(&self, body: String) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body, self.content_type())
    }
}

/// A request with a system prompt and a question about a failed build.
pub fn simple_request() -> Request {
    Request {
        system: "You fix CI failures.".into(),
        messages: vec![Message::user("Why did the build fail?")],
        max_output_tokens: 1024,
        ..Request::default()
    }
}

/// One attempt of a turn, without the turn-level retry of `complete()`: what the provider makes
/// of a single answer.
pub async fn once(
    provider: &dyn Provider,
    request: &Request,
) -> Result<agentci::llm::Response, agentci::llm::LlmError> {
    agentci::llm::collect(provider.stream(request).await?).await
}

/// The events of a stream up to its error, checking that nothing follows the error.
pub async fn events_until_error(
    mut stream: agentci::llm::EventStream,
) -> (Vec<agentci::llm::StreamEvent>, agentci::llm::LlmError) {
    use futures::StreamExt;
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (events, error);
            }
        }
    }
    panic!("the stream ended without an error: {events:?}");
}
