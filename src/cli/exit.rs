//! The mapping from an error chain to the exit codes of CONTRACTS §3. It lives at the top because
//! it is the one place that knows every layer's error type; lower layers only return typed errors
//! (or raise a [`CodedError`] on purpose) and never decide the process's exit code.

use crate::exit::{CodedError, Exit};

/// The exit code for an error: the first cause in the chain that has one, else [`Exit::Usage`]
/// (commands validate their inputs before they touch anything, so an unexpected error still
/// leaves the user's files unchanged).
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
        if let Some(github) = cause.downcast_ref::<crate::github::GitHubError>() {
            return if github.is_usage() {
                Exit::Usage
            } else {
                Exit::GitHub
            };
        }
    }
    Exit::Usage
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::GitHubError;

    #[test]
    fn provider_and_github_errors_map_to_their_codes() {
        let error = anyhow::Error::from(crate::llm::LlmError::Timeout).context("calling the model");
        assert_eq!(exit_for(&error), Exit::Provider);
        let error = anyhow::Error::from(GitHubError::Auth("bad token".into()));
        assert_eq!(exit_for(&error), Exit::GitHub);
    }

    #[test]
    fn bad_github_input_is_a_usage_error() {
        let error =
            anyhow::Error::from(GitHubError::Usage("`--repo x` is not a repository".into()));
        assert_eq!(exit_for(&error), Exit::Usage);
    }

    #[test]
    fn coded_and_unknown_errors() {
        let error = crate::exit::budget("max turns").context("run stopped");
        assert_eq!(exit_for(&error), Exit::Budget);
        assert_eq!(exit_for(&anyhow::anyhow!("what")), Exit::Usage);
    }
}
