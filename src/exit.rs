//! Exit codes of CONTRACTS §3 and the mapping from an error chain to one of them.
//!
//! Code deep in the library returns `anyhow::Error`s; at the boundary `main` walks the cause chain
//! and picks the first cause that carries a meaning for the caller: a [`CodedError`] raised on
//! purpose, an LLM provider failure (3), a GitHub failure (5), or an exhausted budget (4).
//! Anything else is a usage or input error (2): the commands validate their inputs before they
//! touch anything, so an unexpected error still leaves the user's files unchanged.

use std::fmt;
use std::process::ExitCode;

/// The documented exit codes. `Done` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    /// The command ran and reports a negative result the caller asked about (`--check` found
    /// stale files, a `--fail-on` threshold was met).
    Negative = 1,
    /// Usage or configuration error, bad input file; nothing was changed.
    Usage = 2,
    /// LLM provider failure after retries.
    Provider = 3,
    /// A budget (turns, tokens, cost, time) ran out; partial results were kept and reported.
    Budget = 4,
    /// GitHub API failure.
    GitHub = 5,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error raised on purpose with a known exit code and a message for the user.
#[derive(Debug)]
pub struct CodedError {
    pub exit: Exit,
    pub message: String,
}

impl fmt::Display for CodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodedError {}

/// A usage, configuration or bad-input error (exit 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    CodedError {
        exit: Exit::Usage,
        message: message.into(),
    }
    .into()
}

/// A negative result the caller asked about (exit 1).
pub fn negative(message: impl Into<String>) -> anyhow::Error {
    CodedError {
        exit: Exit::Negative,
        message: message.into(),
    }
    .into()
}

/// A budget ran out (exit 4).
pub fn budget(message: impl Into<String>) -> anyhow::Error {
    CodedError {
        exit: Exit::Budget,
        message: message.into(),
    }
    .into()
}

/// The exit code for an error: the first cause in the chain that has one, else [`Exit::Usage`].
pub fn exit_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(coded) = cause.downcast_ref::<CodedError>() {
            return coded.exit;
        }
        if let Some(run) = cause.downcast_ref::<crate::agent::RunError>() {
            return match run {
                crate::agent::RunError::Budget { .. } | crate::agent::RunError::Repeated { .. } => {
                    Exit::Budget
                }
                _ => Exit::Provider,
            };
        }
        if cause.downcast_ref::<crate::llm::LlmError>().is_some() {
            return Exit::Provider;
        }
        if cause.downcast_ref::<crate::github::GitHubError>().is_some() {
            return Exit::GitHub;
        }
    }
    Exit::Usage
}

/// True when the error is a closed stdout (`agentci … | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_errors_keep_their_code_through_context() {
        let error = usage("bad flag").context("while parsing");
        assert_eq!(exit_for(&error), Exit::Usage);
        let error = budget("max turns").context("run stopped");
        assert_eq!(exit_for(&error), Exit::Budget);
        let error = negative("stale").context("check");
        assert_eq!(exit_for(&error), Exit::Negative);
    }

    #[test]
    fn provider_and_github_errors_map_to_their_codes() {
        let error = anyhow::Error::from(crate::llm::LlmError::Timeout).context("calling the model");
        assert_eq!(exit_for(&error), Exit::Provider);
        let error = anyhow::Error::from(crate::github::GitHubError::Auth("bad token".into()));
        assert_eq!(exit_for(&error), Exit::GitHub);
    }

    #[test]
    fn unknown_errors_are_usage_errors() {
        assert_eq!(exit_for(&anyhow::anyhow!("what")), Exit::Usage);
    }
}
