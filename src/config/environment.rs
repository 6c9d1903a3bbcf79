//! The [`Environment`] map: `.env` in the working directory overlaid by the process environment,
//! read (never changed) once, with credentials registered with the redactor as they are loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// Variables whose values are credentials: registered with the redactor as soon as they are read.
const SECRET_VARIABLES: [&str; 7] = [
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "DEEPSEEK_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
];

/// Environment variables as agentci sees them: `.env` in the working directory, overlaid by the
/// process environment (the process environment wins, as in Dagger).
#[derive(Clone, Default)]
pub struct Environment {
    variables: BTreeMap<String, String>,
    /// The `.env` file that contributed variables, if one was read.
    dotenv: Option<PathBuf>,
}

/// Names only: an environment holds credentials, and a `{:?}` in a log line must not print them.
impl std::fmt::Debug for Environment {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Environment")
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("dotenv", &self.dotenv)
            .finish()
    }
}

impl Environment {
    /// An environment holding exactly these variables (tests, embedding).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let environment = Self {
            variables: pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
            dotenv: None,
        };
        environment.register_secrets();
        environment
    }

    /// `.env` in `working_dir` (if present) overlaid by the process environment. The process
    /// environment is only read, never changed.
    pub fn load(working_dir: &Path) -> anyhow::Result<Self> {
        let mut variables = BTreeMap::new();
        let dotenv_path = working_dir.join(".env");
        let mut dotenv = None;
        if dotenv_path.is_file() {
            let entries = dotenvy::from_path_iter(&dotenv_path).map_err(|error| {
                crate::exit::usage(format!("cannot read `{}`: {error}", dotenv_path.display()))
            })?;
            for entry in entries {
                let (name, value) = entry.map_err(|error| {
                    crate::exit::usage(format!("cannot parse `{}`: {error}", dotenv_path.display()))
                })?;
                variables.insert(name, value);
            }
            dotenv = Some(dotenv_path);
        }
        for (name, value) in std::env::vars_os() {
            if let (Ok(name), Ok(value)) = (name.into_string(), value.into_string()) {
                variables.insert(name, value);
            }
        }
        let environment = Self { variables, dotenv };
        environment.register_secrets();
        Ok(environment)
    }

    fn register_secrets(&self) {
        for name in SECRET_VARIABLES {
            if let Some(value) = self.variables.get(name) {
                crate::redact::register_secret(value);
            }
        }
    }

    /// The value of a variable, trimmed; `None` when unset or blank (CI systems often export
    /// empty variables for secrets a fork cannot see, which must count as "not set").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// True when the variable is set to a non-blank value.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A credential: registered with the redactor and wrapped so it cannot be printed.
    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).map(|value| {
            crate::redact::register_secret(value);
            SecretString::from(value.to_owned())
        })
    }

    /// The `.env` file that was read, if any.
    pub fn dotenv_path(&self) -> Option<&Path> {
        self.dotenv.as_deref()
    }

    /// Set a variable (for building test environments step by step).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        if SECRET_VARIABLES.contains(&name.as_str()) {
            crate::redact::register_secret(&value);
        }
        self.variables.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_ignores_blank_values_and_registers_keys() {
        let environment = Environment::from_pairs([
            ("OPENAI_API_KEY", "planted-openai-value-123"),
            ("ANTHROPIC_API_KEY", "  "),
        ]);
        assert!(environment.is_set("OPENAI_API_KEY"));
        assert!(!environment.is_set("ANTHROPIC_API_KEY"));
        assert_eq!(
            crate::redact::redact("x planted-openai-value-123"),
            format!("x {}", crate::redact::MASK)
        );
    }
}
