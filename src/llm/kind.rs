//! The providers agentci knows, their variables and defaults, and the settings one provider
//! instance is built from.

use secrecy::SecretString;

use super::retry::RetryPolicy;
pub use crate::providers::{ProviderKind, WireFormat};

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
