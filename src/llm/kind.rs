//! The providers agentci knows, their variables and defaults, and the settings one provider
//! instance is built from.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;

use super::retry::RetryPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Anthropic,
    OpenAi,
    Gemini,
    Ollama,
    Mistral,
    DeepSeek,
    /// Any server that speaks the OpenAI Chat Completions wire format (LM Studio, vLLM, LiteLLM,
    /// Groq, OpenRouter, Ollama's `/v1`…), at `OPENAI_BASE_URL`.
    OpenAiCompatible,
}

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    AnthropicMessages,
    OpenAiChat,
    Gemini,
    OllamaChat,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 7] = [
        ProviderKind::Anthropic,
        ProviderKind::OpenAi,
        ProviderKind::Gemini,
        ProviderKind::Ollama,
        ProviderKind::Mistral,
        ProviderKind::DeepSeek,
        ProviderKind::OpenAiCompatible,
    ];

    /// The name used on the command line, in config files and in messages.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Mistral => "mistral",
            ProviderKind::DeepSeek => "deepseek",
            ProviderKind::OpenAiCompatible => "openai-compatible",
        }
    }

    pub fn wire_format(self) -> WireFormat {
        match self {
            ProviderKind::Anthropic => WireFormat::AnthropicMessages,
            ProviderKind::Gemini => WireFormat::Gemini,
            ProviderKind::Ollama => WireFormat::OllamaChat,
            ProviderKind::OpenAi
            | ProviderKind::Mistral
            | ProviderKind::DeepSeek
            | ProviderKind::OpenAiCompatible => WireFormat::OpenAiChat,
        }
    }

    /// The environment variable holding the API key, if the provider takes one.
    pub fn key_variable(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => Some("OPENAI_API_KEY"),
            ProviderKind::Gemini => Some("GEMINI_API_KEY"),
            ProviderKind::Mistral => Some("MISTRAL_API_KEY"),
            ProviderKind::DeepSeek => Some("DEEPSEEK_API_KEY"),
            ProviderKind::Ollama => None,
        }
    }

    pub fn base_url_variable(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "ANTHROPIC_BASE_URL",
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => "OPENAI_BASE_URL",
            ProviderKind::Gemini => "GEMINI_BASE_URL",
            ProviderKind::Ollama => "OLLAMA_HOST",
            ProviderKind::Mistral => "MISTRAL_BASE_URL",
            ProviderKind::DeepSeek => "DEEPSEEK_BASE_URL",
        }
    }

    pub fn model_variable(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "ANTHROPIC_MODEL",
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => "OPENAI_MODEL",
            ProviderKind::Gemini => "GEMINI_MODEL",
            ProviderKind::Ollama => "OLLAMA_MODEL",
            ProviderKind::Mistral => "MISTRAL_MODEL",
            ProviderKind::DeepSeek => "DEEPSEEK_MODEL",
        }
    }

    /// The base URL when none is configured. The OpenAI-compatible mode has none: it needs
    /// `OPENAI_BASE_URL`.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            ProviderKind::Ollama => Some("http://localhost:11434"),
            ProviderKind::Mistral => Some("https://api.mistral.ai/v1"),
            ProviderKind::DeepSeek => Some("https://api.deepseek.com"),
            ProviderKind::OpenAiCompatible => None,
        }
    }

    /// The model when none is configured (Dagger's defaults where Dagger has one).
    pub fn default_model(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "claude-sonnet-4-5",
            ProviderKind::OpenAi => "gpt-4.1",
            ProviderKind::Gemini => "gemini-2.5-flash",
            ProviderKind::Ollama => "qwen2.5-coder:14b",
            ProviderKind::Mistral => "mistral-large-latest",
            ProviderKind::DeepSeek => "deepseek-chat",
            ProviderKind::OpenAiCompatible => "llama-3.2",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let kind = match lower.as_str() {
            "anthropic" | "claude" => ProviderKind::Anthropic,
            "openai" | "gpt" => ProviderKind::OpenAi,
            "gemini" | "google" => ProviderKind::Gemini,
            "ollama" => ProviderKind::Ollama,
            "mistral" => ProviderKind::Mistral,
            "deepseek" => ProviderKind::DeepSeek,
            "openai-compatible" | "openai_compatible" | "compatible" | "other" => {
                ProviderKind::OpenAiCompatible
            }
            _ => {
                return Err(format!(
                    "unknown provider `{text}`; expected one of: {}",
                    ProviderKind::ALL.map(ProviderKind::name).join(", ")
                ));
            }
        };
        Ok(kind)
    }
}

/// Everything needed to build one provider instance.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub model: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// `OPENAI_AZURE_VERSION`: switches the OpenAI wire to Azure's deployment URLs and `api-key`.
    pub azure_api_version: Option<String>,
    pub retry: RetryPolicy,
    pub http: reqwest::Client,
    /// `[llm] max_output_tokens`: overrides the model table's output limit.
    pub max_output_tokens: Option<u32>,
}
