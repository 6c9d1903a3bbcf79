//! The LLM providers agentci knows, as data: one row per provider with its wire format, the
//! variables that configure it, its defaults and the model-name prefixes that route to it.
//!
//! Detection (`llm::detect`), `doctor`, config validation and error messages all read this table,
//! so adding a provider that speaks an existing wire format is one row here (and one entry in the
//! provider conformance suite). It sits below `config` and `llm` because both need it.

use std::fmt;
use std::str::FromStr;

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

/// The wire format a provider speaks; each has one module under `llm/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    AnthropicMessages,
    OpenAiChat,
    Gemini,
    OllamaChat,
}

/// One provider's row.
#[derive(Debug, Clone, Copy)]
pub struct ProviderInfo {
    pub kind: ProviderKind,
    /// The name used on the command line, in config files and in messages.
    pub name: &'static str,
    /// Other spellings accepted by `--provider` and `[provider] name`.
    pub aliases: &'static [&'static str],
    pub wire: WireFormat,
    /// The variable holding the API key; `None` when the provider takes none.
    pub key_variable: Option<&'static str>,
    /// Whether the provider refuses requests without a key (an OpenAI-compatible server or
    /// Ollama usually runs without one).
    pub key_required: bool,
    pub base_url_variable: &'static str,
    pub model_variable: &'static str,
    /// `None` when the provider has no public endpoint and needs its base-URL variable.
    pub default_base_url: Option<&'static str>,
    /// The model when none is configured (Dagger's defaults where Dagger has one).
    pub default_model: &'static str,
    /// Lower-case model-id prefixes that route a `*_MODEL` value to this provider.
    pub model_prefixes: &'static [&'static str],
    /// Where the provider stands when detection looks for a `*_MODEL` variable or a key
    /// (CONTRACTS §2: OpenAI, Anthropic, Gemini, Mistral, DeepSeek); `None` when its variables
    /// alone never select it.
    pub detection_rank: Option<u8>,
}

/// Every provider, in the order messages list them.
pub const PROVIDERS: [ProviderInfo; 7] = [
    ProviderInfo {
        kind: ProviderKind::Anthropic,
        name: "anthropic",
        aliases: &["claude"],
        wire: WireFormat::AnthropicMessages,
        key_variable: Some("ANTHROPIC_API_KEY"),
        key_required: true,
        base_url_variable: "ANTHROPIC_BASE_URL",
        model_variable: "ANTHROPIC_MODEL",
        default_base_url: Some("https://api.anthropic.com"),
        default_model: "claude-sonnet-4-5",
        model_prefixes: &["claude-"],
        detection_rank: Some(1),
    },
    ProviderInfo {
        kind: ProviderKind::OpenAi,
        name: "openai",
        aliases: &["gpt"],
        wire: WireFormat::OpenAiChat,
        key_variable: Some("OPENAI_API_KEY"),
        key_required: true,
        base_url_variable: "OPENAI_BASE_URL",
        model_variable: "OPENAI_MODEL",
        default_base_url: Some("https://api.openai.com/v1"),
        default_model: "gpt-4.1",
        model_prefixes: &["gpt-", "o1", "o3", "o4"],
        detection_rank: Some(0),
    },
    ProviderInfo {
        kind: ProviderKind::Gemini,
        name: "gemini",
        aliases: &["google"],
        wire: WireFormat::Gemini,
        key_variable: Some("GEMINI_API_KEY"),
        key_required: true,
        base_url_variable: "GEMINI_BASE_URL",
        model_variable: "GEMINI_MODEL",
        default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        default_model: "gemini-2.5-flash",
        model_prefixes: &["gemini-"],
        detection_rank: Some(2),
    },
    ProviderInfo {
        kind: ProviderKind::Ollama,
        name: "ollama",
        aliases: &[],
        wire: WireFormat::OllamaChat,
        key_variable: None,
        key_required: false,
        base_url_variable: "OLLAMA_HOST",
        model_variable: "OLLAMA_MODEL",
        default_base_url: Some("http://localhost:11434"),
        default_model: "qwen2.5-coder:14b",
        model_prefixes: &[],
        detection_rank: None,
    },
    ProviderInfo {
        kind: ProviderKind::Mistral,
        name: "mistral",
        aliases: &[],
        wire: WireFormat::OpenAiChat,
        key_variable: Some("MISTRAL_API_KEY"),
        key_required: true,
        base_url_variable: "MISTRAL_BASE_URL",
        model_variable: "MISTRAL_MODEL",
        default_base_url: Some("https://api.mistral.ai/v1"),
        default_model: "mistral-large-latest",
        model_prefixes: &["mistral-", "codestral-"],
        detection_rank: Some(3),
    },
    ProviderInfo {
        kind: ProviderKind::DeepSeek,
        name: "deepseek",
        aliases: &[],
        wire: WireFormat::OpenAiChat,
        key_variable: Some("DEEPSEEK_API_KEY"),
        key_required: true,
        base_url_variable: "DEEPSEEK_BASE_URL",
        model_variable: "DEEPSEEK_MODEL",
        default_base_url: Some("https://api.deepseek.com"),
        default_model: "deepseek-chat",
        model_prefixes: &["deepseek-"],
        detection_rank: Some(4),
    },
    ProviderInfo {
        kind: ProviderKind::OpenAiCompatible,
        name: "openai-compatible",
        aliases: &["openai_compatible", "compatible", "other"],
        wire: WireFormat::OpenAiChat,
        key_variable: Some("OPENAI_API_KEY"),
        key_required: false,
        base_url_variable: "OPENAI_BASE_URL",
        model_variable: "OPENAI_MODEL",
        default_base_url: None,
        default_model: "llama-3.2",
        model_prefixes: &[],
        detection_rank: None,
    },
];

/// The providers detection considers by their variables, in CONTRACTS §2 order.
pub fn detection_order() -> Vec<&'static ProviderInfo> {
    let mut ranked: Vec<&ProviderInfo> = PROVIDERS
        .iter()
        .filter(|row| row.detection_rank.is_some())
        .collect();
    ranked.sort_by_key(|row| row.detection_rank);
    ranked
}

/// Every provider name, comma-separated, for messages.
pub fn names() -> String {
    PROVIDERS
        .iter()
        .map(|row| row.name)
        .collect::<Vec<_>>()
        .join(", ")
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

    /// This provider's row of [`PROVIDERS`].
    pub fn info(self) -> &'static ProviderInfo {
        // The table lists the kinds in declaration order (tested below).
        &PROVIDERS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn wire_format(self) -> WireFormat {
        self.info().wire
    }

    pub fn key_variable(self) -> Option<&'static str> {
        self.info().key_variable
    }

    pub fn base_url_variable(self) -> &'static str {
        self.info().base_url_variable
    }

    pub fn model_variable(self) -> &'static str {
        self.info().model_variable
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        self.info().default_base_url
    }

    pub fn default_model(self) -> &'static str {
        self.info().default_model
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
        PROVIDERS
            .iter()
            .find(|row| row.name == lower || row.aliases.contains(&lower.as_str()))
            .map(|row| row.kind)
            .ok_or_else(|| format!("unknown provider `{text}`; expected one of: {}", names()))
    }
}

/// The provider a model id belongs to, by its prefix; `None` for anything else (served by an
/// OpenAI-compatible server).
pub fn route_model(model: &str) -> Option<ProviderKind> {
    let model = model.trim().to_ascii_lowercase();
    detection_order()
        .into_iter()
        .find(|row| {
            row.model_prefixes
                .iter()
                .any(|prefix| model.starts_with(prefix))
        })
        .map(|row| row.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_row() {
        for kind in ProviderKind::ALL {
            assert_eq!(
                PROVIDERS.iter().filter(|row| row.kind == kind).count(),
                1,
                "{kind:?}"
            );
            assert_eq!(kind.info().kind, kind);
        }
    }

    #[test]
    fn names_and_aliases_parse_back() {
        for row in &PROVIDERS {
            assert_eq!(row.name.parse::<ProviderKind>(), Ok(row.kind));
            for alias in row.aliases {
                assert_eq!(alias.parse::<ProviderKind>(), Ok(row.kind));
            }
        }
        let error = "nope".parse::<ProviderKind>().unwrap_err();
        assert!(error.contains("anthropic, openai, gemini"), "{error}");
    }

    #[test]
    fn detection_follows_the_contract_order() {
        let order: Vec<&str> = detection_order().iter().map(|row| row.name).collect();
        assert_eq!(
            order,
            ["openai", "anthropic", "gemini", "mistral", "deepseek"]
        );
    }
}
