//! `agentci.toml` and the environment: the configuration file's schema and loading, and the
//! [`Environment`] map (`.env` in the working directory overlaid by the process environment) that
//! every other layer reads variables from instead of `std::env`.
//!
//! Reading variables through a map rather than the process environment keeps tests honest (they
//! build an [`Environment`] and never mutate the real one) and gives one place where secrets are
//! registered with the redactor as they are loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

mod environment;

pub use environment::Environment;

/// The options every command takes, resolved from the command line (flags and their
/// `AGENTCI_*` variables) into plain values. The clap definition lives in `cli`; nothing below it
/// sees clap.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub max_turns: Option<u32>,
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
    pub timeout: Option<Duration>,
    /// `--events FILE|-`.
    pub events: Option<String>,
    pub json: bool,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    pub verbose: u8,
    pub quiet: bool,
}

/// The file looked up in the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "agentci.toml";

/// The whole of `agentci.toml`. Every section is optional; unknown keys are errors so that a
/// typo does not silently fall back to a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub provider: ProviderConfig,
    pub llm: LlmConfig,
    pub budget: BudgetConfig,
    /// Prices per model id (or model-id prefix), overriding the built-in table.
    pub pricing: BTreeMap<String, ModelPrice>,
    pub exec: ExecConfig,
    /// MCP servers attached to every agent run, by name.
    pub mcp: BTreeMap<String, McpServerConfig>,
    /// Model tiers per family for speck's `suggested_model` (`claude`, `gemini`, `openai`, …).
    pub models: BTreeMap<String, ModelTiers>,
    pub daggie: DaggieConfig,
}

/// `[daggie]`: defaults for the CI set-up daggie writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaggieConfig {
    /// The generated fix job verifies each suggestion before posting it, as `--verify-fixes`.
    pub verify_fixes: bool,
}

/// `[provider]`: which provider and model to use when no flag says otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// `anthropic`, `openai`, `gemini`, `ollama`, `mistral`, `deepseek` or `openai-compatible`.
    pub name: Option<String>,
    pub model: Option<String>,
    /// Overrides the provider's `*_BASE_URL` variable and default.
    pub base_url: Option<String>,
    /// The name of the variable holding the API key, instead of the provider's usual one (keys
    /// never belong in a file that is committed).
    pub api_key_env: Option<String>,
}

/// `[llm]`: how agentci talks to the provider.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// No byte from the provider for this long (waiting for the answer or inside a stream)
    /// fails the attempt, which is then retried, e.g. `"300s"`; `AGENTCI_IDLE_TIMEOUT` wins.
    #[serde(deserialize_with = "optional_duration")]
    pub idle_timeout: Option<Duration>,
    /// The most output tokens one answer may have, instead of the model table's limit.
    pub max_output_tokens: Option<u32>,
}

/// `[budget]`: limits of one agent run; the command-line flags win.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    pub max_turns: Option<u32>,
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
    /// Wall time, e.g. `"10m"`.
    #[serde(deserialize_with = "optional_duration")]
    pub timeout: Option<Duration>,
}

/// `[pricing."<model>"]`: US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    /// Input tokens read from the prompt cache; the input price when absent.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache; the input price when absent.
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// `[exec]`: commands the `exec` tool may run beyond the language pack's own, for every agent
/// (`allow`) and per agent (`[exec.monty] allow = [...]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecConfig {
    pub allow: Vec<String>,
    pub daggie: AgentExecConfig,
    pub monty: AgentExecConfig,
    pub angie: AgentExecConfig,
    pub speck: AgentExecConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentExecConfig {
    pub allow: Vec<String>,
}

impl ExecConfig {
    /// The extra commands allowed for one agent: the shared list, then the agent's own.
    pub fn allowed_for(&self, agent: &str) -> Vec<String> {
        let own = match agent {
            "daggie" => &self.daggie.allow,
            "monty" => &self.monty.allow,
            "angie" => &self.angie.allow,
            "speck" => &self.speck.allow,
            _ => &Vec::new(),
        };
        let mut allowed = self.allow.clone();
        for command in own {
            if !allowed.contains(command) {
                allowed.push(command.clone());
            }
        }
        allowed
    }
}

/// `[mcp.<name>]`: one MCP server, either a child process speaking stdio (`command`, `args`,
/// `env`) or a streamable-HTTP endpoint (`url`, `headers`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    pub command: Option<String>,
    pub args: Vec<String>,
    /// Variables the child process receives: `NAME` passes the variable through from agentci's
    /// environment, `NAME=value` sets it. Nothing else is inherited except `PATH` and `HOME`.
    pub env: Vec<String>,
    pub url: Option<String>,
    /// HTTP headers sent with every request; a value `env:NAME` is read from the variable NAME.
    /// Every value is treated as a secret.
    pub headers: BTreeMap<String, String>,
    /// Only these tools are offered to the model (all when absent).
    pub enabled_tools: Option<Vec<String>>,
    /// These tools are never offered to the model.
    pub disabled_tools: Vec<String>,
    /// How long the server may take to start and list its tools (default 30s).
    #[serde(deserialize_with = "optional_duration")]
    pub startup_timeout: Option<Duration>,
    /// How long one tool call may take (default 120s).
    #[serde(deserialize_with = "optional_duration")]
    pub call_timeout: Option<Duration>,
}

/// `[models.<family>]`: the model ids speck suggests per task complexity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelTiers {
    pub low: String,
    pub medium: String,
    pub high: String,
}

/// An HTTP header value is a secret as a whole and, for `Bearer`/`Basic`/`token` schemes, so is
/// the credential after the scheme (it is what would show up alone in an error message).
pub fn register_header_secret(value: &str) {
    crate::redact::register_secret(value);
    if let Some((_scheme, credential)) = value.trim().split_once(' ') {
        crate::redact::register_secret(credential);
    }
}

fn optional_duration<'de, D>(deserializer: D) -> Result<Option<Duration>, D::Error>
where
    D: Deserializer<'de>,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|text| {
        humantime::parse_duration(text.trim()).map_err(|error| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration (e.g. `90s`, `10m`): {error}"
            ))
        })
    })
    .transpose()
}

impl Config {
    /// Parse the text of an `agentci.toml`; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text)
            .map_err(|error| crate::exit::usage(format!("invalid config `{origin}`: {error}")))?;
        config.validate(origin)?;
        Ok(config)
    }

    fn validate(&self, origin: &str) -> anyhow::Result<()> {
        let invalid = |problem: String| {
            Err(crate::exit::usage(format!(
                "invalid config `{origin}`: {problem}"
            )))
        };
        if let Some(name) = &self.provider.name
            && let Err(error) = name.parse::<crate::providers::ProviderKind>()
        {
            return invalid(format!("[provider] name: {error}"));
        }
        for (name, server) in &self.mcp {
            match (&server.command, &server.url) {
                (Some(_), Some(_)) => {
                    return invalid(format!(
                        "[mcp.{name}] has both `command` and `url`; a server is either a child \
                         process or an HTTP endpoint"
                    ));
                }
                (None, None) => {
                    return invalid(format!(
                        "[mcp.{name}] needs `command` (stdio) or `url` (streamable HTTP)"
                    ));
                }
                _ => {}
            }
        }
        for (model, price) in &self.pricing {
            let values = [
                Some(price.input),
                Some(price.output),
                price.cache_read,
                price.cache_write,
            ];
            if values
                .into_iter()
                .flatten()
                .any(|value| value < 0.0 || !value.is_finite())
            {
                return invalid(format!("[pricing.\"{model}\"] prices must be non-negative"));
            }
        }
        Ok(())
    }

    /// Register every credential the config holds or points to with the redactor, before
    /// anything can log it: the provider key variable it names and MCP header values.
    pub fn register_secrets(&self, environment: &Environment) {
        if let Some(name) = &self.provider.api_key_env
            && let Some(value) = environment.get(name)
        {
            crate::redact::register_secret(value);
        }
        for server in self.mcp.values() {
            for value in server.headers.values() {
                match value.strip_prefix("env:") {
                    Some(variable) => {
                        if let Some(value) = environment.get(variable.trim()) {
                            register_header_secret(value);
                        }
                    }
                    None => register_header_secret(value),
                }
            }
        }
    }

    /// Read and parse a config file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            crate::exit::usage(format!("cannot read config `{}`: {error}", path.display()))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The budget of a run: flags win over the config file.
    pub fn budget_with(&self, global: &GlobalOptions) -> BudgetConfig {
        BudgetConfig {
            max_turns: global.max_turns.or(self.budget.max_turns),
            max_tokens: global.max_tokens.or(self.budget.max_tokens),
            max_cost_usd: global.max_cost_usd.or(self.budget.max_cost_usd),
            timeout: global.timeout.or(self.budget.timeout),
        }
    }
}

/// The configuration a command runs with: the environment, the config file (if any) and where
/// it came from.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub environment: Environment,
    pub config: Config,
    /// The config file that was read; `None` when there is none.
    pub config_path: Option<PathBuf>,
}

impl Settings {
    /// Load for a command line: `--config FILE` (which must exist) or `./agentci.toml` if present,
    /// and the environment of `working_dir`.
    pub fn load(global: &GlobalOptions, working_dir: &Path) -> anyhow::Result<Self> {
        let environment = Environment::load(working_dir)?;
        Self::load_with(global.config.as_deref(), working_dir, environment)
    }

    /// As [`Settings::load`], with an environment built by the caller.
    pub fn load_with(
        explicit: Option<&Path>,
        working_dir: &Path,
        environment: Environment,
    ) -> anyhow::Result<Self> {
        let config_path = match explicit {
            Some(path) => {
                let path = working_dir.join(path);
                if !path.is_file() {
                    return Err(crate::exit::usage(format!(
                        "config file `{}` does not exist",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => {
                let path = working_dir.join(DEFAULT_CONFIG_FILE);
                path.is_file().then_some(path)
            }
        };
        let config = match &config_path {
            Some(path) => Config::read(path)?,
            None => Config::default(),
        };
        config.register_secrets(&environment);
        tracing::trace!("configuration: {config:?}");
        tracing::debug!(
            config = ?config_path.as_ref().map(|path| path.display().to_string()),
            dotenv = ?environment.dotenv_path().map(|path| path.display().to_string()),
            "configuration loaded"
        );
        Ok(Self {
            environment,
            config,
            config_path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let config = Config::parse(
            r#"
            [provider]
            name = "anthropic"
            model = "claude-sonnet-4-5"
            base_url = "http://127.0.0.1:9/"
            api_key_env = "MY_KEY"

            [budget]
            max_turns = 12
            max_tokens = 200000
            max_cost_usd = 1.5
            timeout = "10m"

            [pricing."my-model"]
            input = 1.0
            output = 2.0
            cache_read = 0.1

            [exec]
            allow = ["make test"]
            [exec.monty]
            allow = ["tox -e lint", "make test"]

            [mcp.files]
            command = "npx"
            args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
            env = ["NODE_OPTIONS", "DEBUG=1"]
            disabled_tools = ["write_file"]
            startup_timeout = "5s"

            [mcp.remote]
            url = "https://mcp.example.com/mcp"
            headers = { Authorization = "env:REMOTE_TOKEN" }
            enabled_tools = ["search"]
            call_timeout = "30s"

            [models.claude]
            low = "claude-haiku-4-5"
            medium = "claude-sonnet-4-5"
            high = "claude-opus-4-5"
            "#,
            "test",
        )
        .unwrap();
        assert_eq!(config.provider.name.as_deref(), Some("anthropic"));
        assert_eq!(config.budget.max_turns, Some(12));
        assert_eq!(config.budget.timeout, Some(Duration::from_secs(600)));
        assert_eq!(config.pricing["my-model"].cache_read, Some(0.1));
        assert_eq!(config.pricing["my-model"].cache_write, None);
        assert_eq!(
            config.exec.allowed_for("monty"),
            vec!["make test".to_owned(), "tox -e lint".to_owned()]
        );
        assert_eq!(
            config.exec.allowed_for("angie"),
            vec!["make test".to_owned()]
        );
        assert_eq!(config.mcp["files"].args.len(), 3);
        assert_eq!(
            config.mcp["files"].startup_timeout,
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            config.mcp["remote"].enabled_tools,
            Some(vec!["search".to_owned()])
        );
        assert_eq!(config.models["claude"].high, "claude-opus-4-5");
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = Config::parse("[budget]\nmax_turn = 3\n", "agentci.toml").unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("max_turn"), "{message}");
        assert!(message.contains("agentci.toml"), "{message}");
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );

        let error = Config::parse("[providers]\nname = \"x\"\n", "f").unwrap_err();
        assert!(format!("{error:#}").contains("providers"));
        let error = Config::parse("[mcp.a]\ncommand = \"x\"\ntimeout = \"1s\"\n", "f").unwrap_err();
        assert!(format!("{error:#}").contains("timeout"));
    }

    #[test]
    fn invalid_values_are_rejected() {
        for (text, needle) in [
            ("[provider]\nname = \"acme\"\n", "acme"),
            ("[budget]\ntimeout = \"soon\"\n", "soon"),
            ("[mcp.a]\nargs = []\n", "[mcp.a]"),
            ("[mcp.a]\ncommand = \"x\"\nurl = \"http://h\"\n", "both"),
            ("[pricing.m]\ninput = -1.0\noutput = 1.0\n", "non-negative"),
            ("[models.claude]\nlow = \"a\"\n", "medium"),
        ] {
            let error = Config::parse(text, "f").unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains(needle), "{text}: {message}");
        }
    }

    #[test]
    fn flags_win_over_config_budget() {
        let config = Config::parse("[budget]\nmax_turns = 5\nmax_tokens = 10\n", "f").unwrap();
        let global = GlobalOptions {
            max_turns: Some(9),
            ..GlobalOptions::default()
        };
        let budget = config.budget_with(&global);
        assert_eq!(budget.max_turns, Some(9));
        assert_eq!(budget.max_tokens, Some(10));
    }

    #[test]
    fn dotenv_is_read_and_missing_explicit_config_is_a_usage_error() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join(".env"),
            "AGENTCI_TEST_ONLY_DOTENV_VARIABLE=from-dotenv\n",
        )
        .unwrap();
        let environment = Environment::load(directory.path()).unwrap();
        assert_eq!(
            environment.get("AGENTCI_TEST_ONLY_DOTENV_VARIABLE"),
            Some("from-dotenv")
        );
        assert!(std::env::var_os("AGENTCI_TEST_ONLY_DOTENV_VARIABLE").is_none());

        let error = Settings::load_with(
            Some(Path::new("missing.toml")),
            directory.path(),
            Environment::default(),
        )
        .unwrap_err();
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
        assert!(format!("{error:#}").contains("missing.toml"));

        let settings = Settings::load_with(None, directory.path(), Environment::default()).unwrap();
        assert!(settings.config_path.is_none());
        std::fs::write(
            directory.path().join(DEFAULT_CONFIG_FILE),
            "[provider]\nname = \"ollama\"\n",
        )
        .unwrap();
        let settings = Settings::load_with(None, directory.path(), Environment::default()).unwrap();
        assert_eq!(settings.config.provider.name.as_deref(), Some("ollama"));
    }
}
