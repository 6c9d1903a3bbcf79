//! Which exit code (CONTRACTS §3) an error chain means: the first cause that names one — a
//! `CodedError` raised on purpose, a run stopped by its budget (4), a provider failure (3), a
//! GitHub failure (5) or bad GitHub input (2) — else a usage error (2). `cli` maps the process's
//! exit with it; develop-issue names a failure's class on the issue with it.

use crate::exit::{CodedError, Exit};

/// The exit code for an error: the first cause in the chain that has one, else [`Exit::Usage`]
/// (commands validate their inputs before they touch anything, so an unexpected error still
/// leaves the user's files unchanged). An error marked [`crate::exit::AfterChanges`] never
/// claims exit 2, whose promise is "nothing was changed": it is exit 1 instead.
pub fn exit_for(error: &anyhow::Error) -> Exit {
    match classify(error) {
        Exit::Usage if crate::exit::changed_files(error) => Exit::Negative,
        exit => exit,
    }
}

fn classify(error: &anyhow::Error) -> Exit {
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
