//! The mapping from an error chain to the exit codes of CONTRACTS §3, as `main` uses it. The
//! mapping itself sits in `agents::exit_code`, the lowest layer that sees every error type (agent,
//! llm, github), so that an agent can name the class of a failure (develop-issue's comment) with
//! the same rules; layers below only return typed errors or raise a `CodedError` on purpose.

pub use crate::agents::exit_code::exit_for;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;
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

    #[test]
    fn an_error_after_changes_never_claims_nothing_changed() {
        let changed = ["src/app.py"];
        let error = crate::exit::after_changes(anyhow::anyhow!("disk full"), changed);
        assert_eq!(exit_for(&error), Exit::Negative);
        let error = crate::exit::after_changes(crate::exit::usage("bad"), changed);
        assert_eq!(exit_for(&error), Exit::Negative);
        // A failure with its own class keeps it.
        let error = crate::exit::after_changes(
            anyhow::Error::from(GitHubError::Transport("reset".into())),
            changed,
        );
        assert_eq!(exit_for(&error), Exit::GitHub);
        let error = crate::exit::after_changes(crate::exit::budget("turns"), changed);
        assert_eq!(exit_for(&error), Exit::Budget);
    }
}
