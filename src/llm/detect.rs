//! Provider and model detection (CONTRACTS §2): flags, then `agentci.toml`, then a `*_MODEL`
//! variable routed by the model name's prefix, then the first API key present, then Ollama.
//! Every decision carries a human reason, which `agentci doctor` prints.

use std::time::Duration;

use secrecy::SecretString;

use super::kind::{ProviderKind, ProviderSettings};
use super::retry::RetryPolicy;
use crate::config::{Config, Environment, Settings};

/// The `*_MODEL` variables consulted when neither a flag nor the config names a provider or model,
/// in this order (from the provider table).
pub fn model_variables() -> Vec<&'static str> {
    crate::providers::detection_order()
        .iter()
        .map(|row| row.model_variable)
        .collect()
}

/// The providers whose key, when present, selects them, in this order (from the provider table).
pub fn key_order() -> Vec<ProviderKind> {
    crate::providers::detection_order()
        .iter()
        .map(|row| row.kind)
        .collect()
}

/// How long connecting to a provider may take before the attempt counts as a network failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// What the command line asked for (`--provider`/`AGENTCI_PROVIDER`, `--model`/`AGENTCI_MODEL`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub provider: Option<String>,
    pub model: Option<String>,
}

impl Overrides {
    pub fn from_options(options: &crate::config::GlobalOptions) -> Self {
        Self {
            provider: options.provider.clone(),
            model: options.model.clone(),
        }
    }
}

/// The outcome of detection, before an HTTP client is built.
#[derive(Debug, Clone)]
pub struct Detection {
    pub kind: ProviderKind,
    pub model: String,
    pub base_url: String,
    /// Which flag, config entry or variable decided, in words.
    pub reason: String,
    /// The variable the API key is read from (`None` for Ollama).
    pub key_variable: Option<String>,
    pub api_key: Option<SecretString>,
    pub azure_api_version: Option<String>,
}

impl Detection {
    /// Whether the provider can be called as detected: a hosted provider needs its key.
    pub fn missing_key(&self) -> Option<&str> {
        let needs_key = self.kind.info().key_required;
        match (&self.api_key, &self.key_variable) {
            (None, Some(variable)) if needs_key => Some(variable.as_str()),
            _ => None,
        }
    }

    /// Build the settings one provider instance is created from.
    pub fn into_settings(self) -> anyhow::Result<ProviderSettings> {
        let http = super::http_client(CONNECT_TIMEOUT)?;
        Ok(ProviderSettings {
            kind: self.kind,
            model: self.model,
            base_url: self.base_url,
            api_key: self.api_key,
            azure_api_version: self.azure_api_version,
            retry: RetryPolicy::default(),
            http,
            max_output_tokens: None,
        })
    }
}

pub use crate::providers::route_model;

/// The message for "no provider": every variable that would configure one.
pub fn nothing_detected_help() -> String {
    let ranked = crate::providers::detection_order();
    let keys: Vec<&str> = ranked.iter().filter_map(|row| row.key_variable).collect();
    let models: Vec<&str> = ranked.iter().map(|row| row.model_variable).collect();
    format!(
        "no LLM provider configured: set one of {} (optionally with {}), OPENAI_BASE_URL for an \
         OpenAI-compatible server, or OLLAMA_HOST/OLLAMA_MODEL for Ollama; or pass \
         --provider/--model, or set [provider] in agentci.toml (see docs/providers.md)",
        or_list(&keys),
        or_list(&models)
    )
}

/// `A, B or C`.
fn or_list(items: &[&str]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_owned(),
        None => String::new(),
    }
}

/// Detect the provider. `Ok(None)` when nothing is configured at all; an error when what is
/// configured is contradictory or incomplete (an unknown provider name, an OpenAI-compatible
/// model without `OPENAI_BASE_URL`, Azure without a base URL).
pub fn detect(
    overrides: &Overrides,
    config: &Config,
    environment: &Environment,
) -> anyhow::Result<Option<Detection>> {
    choose(overrides, config, environment)?
        .map(|(kind, model, reason)| finish(kind, model, reason, config, environment))
        .transpose()
}

/// The provider, model and the reason for them that the flags, the config file and the
/// environment choose, in that order of precedence.
fn choose(
    overrides: &Overrides,
    config: &Config,
    environment: &Environment,
) -> anyhow::Result<Option<(ProviderKind, String, String)>> {
    let flag_provider = command_line_value(
        overrides.provider.as_deref(),
        environment,
        "AGENTCI_PROVIDER",
        "--provider",
    );
    let flag_model = command_line_value(
        overrides.model.as_deref(),
        environment,
        "AGENTCI_MODEL",
        "--model",
    );
    let config_provider = config
        .provider
        .name
        .as_deref()
        .map(|name| (name, "[provider] name in the config file".to_owned()));
    let config_model = config
        .provider
        .model
        .as_deref()
        .map(|model| (model, "[provider] model in the config file".to_owned()));

    let provider_from_flag = flag_provider.is_some();
    let model_from_config = flag_model.is_none() && config_model.is_some();
    let provider = flag_provider.or(config_provider);
    let model = flag_model.or(config_model);

    if let Some((name, provider_source)) = provider {
        let kind = name
            .parse::<ProviderKind>()
            .map_err(|error| crate::exit::usage(format!("{provider_source}: {error}")))?;
        // A provider chosen on the command line does not inherit a model the config file chose
        // for another provider (`--provider anthropic` with `model = "gpt-4.1"` in the file).
        let model = model.filter(|(model, _)| {
            !(provider_from_flag && model_from_config)
                || (config
                    .provider
                    .name
                    .as_deref()
                    .is_none_or(|name| name.parse::<ProviderKind>().ok() == Some(kind))
                    && route_model(model).is_none_or(|routed| routed == kind))
        });
        let (model, reason) = match model {
            Some((model, model_source)) => (
                model.to_owned(),
                format!("{provider_source} chose {kind}; {model_source} chose the model"),
            ),
            None => match environment.get(kind.model_variable()) {
                Some(model) => (
                    model.to_owned(),
                    format!(
                        "{provider_source} chose {kind}; the model is {}",
                        kind.model_variable()
                    ),
                ),
                None => (
                    kind.default_model().to_owned(),
                    format!("{provider_source} chose {kind}; the model is its default"),
                ),
            },
        };
        return Ok(Some((kind, model, reason)));
    }
    if let Some((model, model_source)) = model {
        let (kind, reason) = routed(model, &model_source, environment)?;
        return Ok(Some((kind, model.to_owned(), reason)));
    }
    for variable in model_variables() {
        if let Some(model) = environment.get(variable) {
            let (kind, reason) = routed(model, variable, environment)?;
            return Ok(Some((kind, model.to_owned(), reason)));
        }
    }
    for kind in key_order() {
        if let Some(variable) = kind.key_variable()
            && environment.is_set(variable)
        {
            let reason = format!(
                "{variable} is set (the first key present, in the order {})",
                key_order_names()
            );
            return Ok(Some((kind, kind.default_model().to_owned(), reason)));
        }
    }
    if environment.is_set("OPENAI_BASE_URL") {
        let kind = ProviderKind::OpenAiCompatible;
        let reason =
            "OPENAI_BASE_URL is set without a key or model: an OpenAI-compatible server".to_owned();
        return Ok(Some((kind, kind.default_model().to_owned(), reason)));
    }
    for variable in ["OLLAMA_HOST", "OLLAMA_MODEL"] {
        if environment.is_set(variable) {
            let kind = ProviderKind::Ollama;
            let model = environment
                .get("OLLAMA_MODEL")
                .unwrap_or(kind.default_model())
                .to_owned();
            let reason = format!("{variable} is set and no other provider is configured");
            return Ok(Some((kind, model, reason)));
        }
    }
    Ok(None)
}

/// Detect, build the provider settings, and fail with exit 2 when no usable provider is
/// configured. Agent commands call this; `doctor` calls [`detect`] so it can report instead.
pub fn require_provider(
    overrides: &Overrides,
    config: &Config,
    environment: &Environment,
) -> anyhow::Result<(ProviderSettings, String)> {
    let Some(detection) = detect(overrides, config, environment)? else {
        return Err(crate::exit::usage(nothing_detected_help()));
    };
    if let Some(variable) = detection.missing_key() {
        return Err(crate::exit::usage(format!(
            "provider {} was chosen ({}) but {variable} is not set",
            detection.kind, detection.reason
        )));
    }
    let reason = detection.reason.clone();
    tracing::info!(
        provider = %detection.kind,
        model = %detection.model,
        base_url = %detection.base_url,
        reason = %reason,
        "provider detected"
    );
    let mut settings = detection.into_settings()?;
    super::apply_llm_config(&mut settings, config, environment)?;
    Ok((settings, reason))
}

/// [`require_provider`] for a command line and its loaded settings.
pub fn require_provider_for(
    options: &crate::config::GlobalOptions,
    settings: &Settings,
) -> anyhow::Result<(ProviderSettings, String)> {
    require_provider(
        &Overrides::from_options(options),
        &settings.config,
        &settings.environment,
    )
}

fn key_order_names() -> String {
    key_order()
        .iter()
        .filter_map(|kind| kind.key_variable())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value from the command line (`flag`) or its variable, with where it came from.
fn command_line_value<'a>(
    given: Option<&'a str>,
    environment: &'a Environment,
    variable: &str,
    flag: &str,
) -> Option<(&'a str, String)> {
    given
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| (value, flag_source(environment, variable, flag, value)))
        .or_else(|| {
            environment
                .get(variable)
                .map(|value| (value, variable.to_owned()))
        })
}

/// clap fills `--provider` from `AGENTCI_PROVIDER` too; name the variable when that is where the
/// value came from.
fn flag_source(environment: &Environment, variable: &str, flag: &str, value: &str) -> String {
    if environment.get(variable) == Some(value) {
        variable.to_owned()
    } else {
        format!("`{flag}`")
    }
}

fn routed(
    model: &str,
    source: &str,
    environment: &Environment,
) -> anyhow::Result<(ProviderKind, String)> {
    match route_model(model) {
        Some(kind) => Ok((
            kind,
            format!("{source} is `{model}`, a {kind} model by its prefix"),
        )),
        None if environment.is_set("OPENAI_BASE_URL") => Ok((
            ProviderKind::OpenAiCompatible,
            format!(
                "{source} is `{model}`, which no provider prefix claims: the OpenAI-compatible \
                 server at OPENAI_BASE_URL"
            ),
        )),
        None => Err(crate::exit::usage(format!(
            "{source} is `{model}`, which no provider prefix claims (claude-, gpt-, o1/o3/o4, \
             gemini-, mistral-, codestral-, deepseek-); set OPENAI_BASE_URL to the \
             OpenAI-compatible server that serves it, or pass --provider (e.g. `--provider ollama`)"
        ))),
    }
}

fn finish(
    kind: ProviderKind,
    model: String,
    reason: String,
    config: &Config,
    environment: &Environment,
) -> anyhow::Result<Detection> {
    let base_variable = kind.base_url_variable();
    // `[provider]` settings belong to the provider the file names; a flag choosing another
    // provider must not send its requests to that provider's gateway or with its key.
    let provider_config = config
        .provider
        .name
        .as_deref()
        .is_none_or(|name| name.parse::<ProviderKind>().ok() == Some(kind))
        .then_some(&config.provider);
    let configured = provider_config
        .and_then(|provider| provider.base_url.as_deref())
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| (url.to_owned(), "[provider] base_url"))
        .or_else(|| {
            environment
                .get(base_variable)
                .map(|url| (url.to_owned(), base_variable))
        });
    let base_url = match configured {
        Some((url, _)) if kind == ProviderKind::Ollama => ollama_url(&url),
        Some((url, _)) => url,
        None => match kind.default_base_url() {
            Some(url) => url.to_owned(),
            None => {
                return Err(crate::exit::usage(format!(
                    "{reason}, but OPENAI_BASE_URL is not set: the OpenAI-compatible provider \
                     needs the server's URL (e.g. http://localhost:1234/v1 for LM Studio)"
                )));
            }
        },
    };
    let base_url = base_url.trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(crate::exit::usage(format!(
            "the base URL `{base_url}` for {kind} must start with http:// or https://"
        )));
    }
    let key_variable = provider_config
        .and_then(|provider| provider.api_key_env.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty() && kind != ProviderKind::Ollama)
        .map(str::to_owned)
        .or_else(|| kind.key_variable().map(str::to_owned));
    let api_key = key_variable
        .as_deref()
        .and_then(|variable| environment.secret(variable));
    let azure_api_version = match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
            environment.get("OPENAI_AZURE_VERSION").map(str::to_owned)
        }
        _ => None,
    };
    if azure_api_version.is_some()
        && provider_config.is_none_or(|provider| provider.base_url.is_none())
        && !environment.is_set("OPENAI_BASE_URL")
    {
        return Err(crate::exit::usage(
            "OPENAI_AZURE_VERSION is set but OPENAI_BASE_URL is not: Azure OpenAI needs the \
             resource endpoint (https://<resource>.openai.azure.com)",
        ));
    }
    Ok(Detection {
        kind,
        model,
        base_url,
        reason,
        key_variable,
        api_key,
        azure_api_version,
    })
}

/// `OLLAMA_HOST` is often written as Ollama itself accepts it: `host`, `host:port` or
/// `0.0.0.0:11434`, without a scheme.
fn ollama_url(host: &str) -> String {
    let host = host.trim();
    if host.contains("://") {
        return host.to_owned();
    }
    let (authority, path) = match host.split_once('/') {
        Some((authority, path)) => (authority, format!("/{path}")),
        None => (host, String::new()),
    };
    // A bind-all address is how the server is told to listen; a client reaches it locally.
    let authority = authority
        .strip_prefix("0.0.0.0")
        .map(|rest| format!("localhost{rest}"))
        .unwrap_or_else(|| authority.to_owned());
    let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| {
        !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit())
    });
    let authority = if has_port {
        authority
    } else {
        format!("{authority}:11434")
    };
    format!("http://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_in(pairs: &[(&str, &str)]) -> anyhow::Result<Option<Detection>> {
        detect(
            &Overrides::default(),
            &Config::default(),
            &Environment::from_pairs(pairs.iter().copied()),
        )
    }

    /// The provider these variables select; one must be selected.
    fn detected(pairs: &[(&str, &str)]) -> Detection {
        detect_in(pairs).unwrap().expect("a provider is selected")
    }

    /// The provider the flags, file and environment select; one must be selected.
    fn detected_with(
        overrides: &Overrides,
        config: &Config,
        environment: &Environment,
    ) -> Detection {
        detect(overrides, config, environment)
            .unwrap()
            .expect("a provider is selected")
    }

    #[test]
    fn prefixes_route_to_their_provider() {
        for (model, kind) in [
            ("claude-opus-4-5", Some(ProviderKind::Anthropic)),
            ("gpt-4.1", Some(ProviderKind::OpenAi)),
            ("o3-mini", Some(ProviderKind::OpenAi)),
            ("o4-mini", Some(ProviderKind::OpenAi)),
            ("o1", Some(ProviderKind::OpenAi)),
            ("gemini-2.5-pro", Some(ProviderKind::Gemini)),
            ("mistral-large-latest", Some(ProviderKind::Mistral)),
            ("codestral-latest", Some(ProviderKind::Mistral)),
            ("deepseek-chat", Some(ProviderKind::DeepSeek)),
            ("llama-3.2", None),
            ("qwen2.5-coder:14b", None),
        ] {
            assert_eq!(route_model(model), kind, "{model}");
        }
    }

    #[test]
    fn first_key_in_order_wins() {
        let detection = detected(&[
            ("GEMINI_API_KEY", "gemini-test-value-1"),
            ("ANTHROPIC_API_KEY", "anthropic-test-value-1"),
        ]);
        assert_eq!(detection.kind, ProviderKind::Anthropic);
        assert_eq!(detection.model, "claude-sonnet-4-5");
        assert_eq!(detection.base_url, "https://api.anthropic.com");
        assert!(detection.reason.contains("ANTHROPIC_API_KEY"));
        assert!(detection.api_key.is_some());
    }

    #[test]
    fn model_variable_beats_keys_and_routes_by_prefix() {
        let detection = detected(&[
            ("OPENAI_API_KEY", "openai-test-value-1"),
            ("ANTHROPIC_API_KEY", "anthropic-test-value-1"),
            ("GEMINI_MODEL", "claude-haiku-4-5"),
        ]);
        assert_eq!(detection.kind, ProviderKind::Anthropic);
        assert_eq!(detection.model, "claude-haiku-4-5");
        assert!(detection.reason.contains("GEMINI_MODEL"));
    }

    #[test]
    fn unknown_model_goes_to_the_compatible_server_or_fails_clearly() {
        let detection = detected(&[
            ("OPENAI_MODEL", "qwen2.5-coder"),
            ("OPENAI_BASE_URL", "http://localhost:1234/v1/"),
        ]);
        assert_eq!(detection.kind, ProviderKind::OpenAiCompatible);
        assert_eq!(detection.base_url, "http://localhost:1234/v1");
        assert!(detection.missing_key().is_none());

        let error = detect_in(&[("OPENAI_MODEL", "qwen2.5-coder")]).unwrap_err();
        assert!(format!("{error:#}").contains("OPENAI_BASE_URL"));
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
    }

    #[test]
    fn flags_beat_config_and_config_beats_environment() {
        let environment = Environment::from_pairs([("OPENAI_API_KEY", "openai-test-value-1")]);
        let config = Config::parse(
            "[provider]\nname = \"deepseek\"\nbase_url = \"http://127.0.0.1:9/\"\n",
            "f",
        )
        .unwrap();
        let detection = detected_with(&Overrides::default(), &config, &environment);
        assert_eq!(detection.kind, ProviderKind::DeepSeek);
        assert_eq!(detection.base_url, "http://127.0.0.1:9");
        assert_eq!(detection.missing_key(), Some("DEEPSEEK_API_KEY"));

        let overrides = Overrides {
            provider: Some("gemini".into()),
            model: Some("gemini-2.5-pro".into()),
        };
        let detection = detected_with(&overrides, &config, &environment);
        assert_eq!(detection.kind, ProviderKind::Gemini);
        assert_eq!(detection.model, "gemini-2.5-pro");
        assert!(
            detection.reason.contains("--provider"),
            "{}",
            detection.reason
        );

        let overrides = Overrides {
            provider: None,
            model: Some("claude-opus-4-5".into()),
        };
        let detection = detected_with(&overrides, &Config::default(), &environment);
        assert_eq!(detection.kind, ProviderKind::Anthropic);
    }

    #[test]
    fn provider_flag_does_not_inherit_another_providers_config_model() {
        let environment = Environment::from_pairs([("ANTHROPIC_MODEL", "claude-opus-4-5")]);
        let config = Config::parse(
            "[provider]\nname = \"openai\"\nmodel = \"gpt-4.1-mini\"\n\
             base_url = \"http://gateway:4000/v1\"\n",
            "f",
        )
        .unwrap();
        let overrides = Overrides {
            provider: Some("anthropic".into()),
            model: None,
        };
        let detection = detected_with(&overrides, &config, &environment);
        assert_eq!(detection.model, "claude-opus-4-5");
        assert_eq!(detection.base_url, "https://api.anthropic.com");
        let overrides = Overrides {
            provider: Some("openai".into()),
            model: None,
        };
        let detection = detected_with(&overrides, &config, &environment);
        assert_eq!(detection.model, "gpt-4.1-mini");
        assert_eq!(detection.base_url, "http://gateway:4000/v1");
    }

    #[test]
    fn ollama_host_without_scheme() {
        assert_eq!(ollama_url("localhost:11434"), "http://localhost:11434");
        assert_eq!(ollama_url("0.0.0.0:8080"), "http://localhost:8080");
        assert_eq!(ollama_url("gpu-box"), "http://gpu-box:11434");
        assert_eq!(
            ollama_url("https://ollama.example/"),
            "https://ollama.example/"
        );
        let detection = detected(&[
            ("OLLAMA_HOST", "gpu-box:11434/"),
            ("OLLAMA_MODEL", "llama3.1"),
        ]);
        assert_eq!(detection.kind, ProviderKind::Ollama);
        assert_eq!(detection.base_url, "http://gpu-box:11434");
        assert_eq!(detection.model, "llama3.1");
        assert!(detection.key_variable.is_none());
    }

    #[test]
    fn azure_needs_a_base_url_and_is_carried() {
        let error = detect_in(&[
            ("OPENAI_API_KEY", "azure-test-value-1"),
            ("OPENAI_AZURE_VERSION", "2024-10-21"),
        ])
        .unwrap_err();
        assert!(format!("{error:#}").contains("OPENAI_BASE_URL"));
        let detection = detected(&[
            ("OPENAI_API_KEY", "azure-test-value-1"),
            ("OPENAI_AZURE_VERSION", "2024-10-21"),
            ("OPENAI_BASE_URL", "https://acme.openai.azure.com/"),
            ("OPENAI_MODEL", "gpt-4o"),
        ]);
        assert_eq!(detection.azure_api_version.as_deref(), Some("2024-10-21"));
        assert_eq!(detection.base_url, "https://acme.openai.azure.com");
    }

    #[test]
    fn nothing_configured_is_none_and_required_is_exit_2() {
        assert!(detect_in(&[("HOME", "/root")]).unwrap().is_none());
        let error = require_provider(
            &Overrides::default(),
            &Config::default(),
            &Environment::default(),
        )
        .unwrap_err();
        let message = format!("{error:#}");
        for variable in [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "OLLAMA_HOST",
            "GEMINI_API_KEY",
        ] {
            assert!(message.contains(variable), "{message}");
        }
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
    }

    #[test]
    fn api_key_env_in_config_picks_the_variable() {
        let config = Config::parse(
            "[provider]\nname = \"openai\"\napi_key_env = \"MY_GATEWAY_KEY\"\n",
            "f",
        )
        .unwrap();
        let environment = Environment::from_pairs([("MY_GATEWAY_KEY", "gateway-test-value-1")]);
        let (settings, _) = require_provider(&Overrides::default(), &config, &environment).unwrap();
        assert!(settings.api_key.is_some());
        assert_eq!(settings.kind, ProviderKind::OpenAi);
    }
}
