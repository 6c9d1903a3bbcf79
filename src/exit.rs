//! Exit codes of CONTRACTS §3 and the mapping from an error chain to one of them.
//!
//! This module sits at the bottom of the layers: any layer may raise a [`CodedError`] on purpose.
//! The mapping of every other error type (provider, GitHub, budget) to a code lives at the top, in
//! `cli::exit`, which is the only place that knows all the layers.

use std::fmt;
use std::process::ExitCode;

/// The documented exit codes. `Done` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    /// The command ran and reports a negative result the caller asked about (`--check` found
    /// stale files, a `--fail-on` threshold was met), or it failed after it had changed the
    /// user's files ([`AfterChanges`]), so it cannot claim "nothing was changed".
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

/// Marks an error that happened after the command had changed the user's files (applied edits,
/// replaced a file, created a commit). Such an error cannot be exit 2, whose promise is that
/// nothing was changed: where it would be, it is exit 1, and the message names what changed.
#[derive(Debug)]
pub struct AfterChanges {
    pub changed: Vec<String>,
}

impl fmt::Display for AfterChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        let mut names: Vec<&str> = self
            .changed
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect();
        let more = self.changed.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        if names.is_empty() {
            names.push("files");
        }
        write!(
            f,
            "stopped after changing {}{more}; those changes were kept",
            names.join(", ")
        )
    }
}

impl std::error::Error for AfterChanges {}

/// Wrap `error` as having happened after `changed` were changed (see [`AfterChanges`]). Nothing
/// changed, nothing wrapped.
pub fn after_changes<I, S>(error: anyhow::Error, changed: I) -> anyhow::Error
where
    I: IntoIterator<Item = S>,
    S: fmt::Display,
{
    let changed: Vec<String> = changed.into_iter().map(|path| path.to_string()).collect();
    if changed.is_empty() {
        return error;
    }
    error.context(AfterChanges { changed })
}

/// True when the error happened after the user's files were changed.
pub fn changed_files(error: &anyhow::Error) -> bool {
    // Added as context, so anyhow's downcast (which looks through every context layer) finds it.
    error.downcast_ref::<AfterChanges>().is_some()
}

/// The code of the first [`CodedError`] in the chain, if any.
pub fn coded_exit(error: &anyhow::Error) -> Option<Exit> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CodedError>())
        .map(|coded| coded.exit)
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
        assert_eq!(coded_exit(&error), Some(Exit::Usage));
        let error = budget("max turns").context("run stopped");
        assert_eq!(coded_exit(&error), Some(Exit::Budget));
        let error = negative("stale").context("check");
        assert_eq!(coded_exit(&error), Some(Exit::Negative));
        assert_eq!(coded_exit(&anyhow::anyhow!("what")), None);
    }

    #[test]
    fn after_changes_names_what_changed_and_wraps_only_real_changes() {
        let error = after_changes(anyhow::anyhow!("disk full"), ["a.py", "b.py"]);
        assert!(changed_files(&error));
        assert_eq!(
            format!("{error:#}"),
            "stopped after changing a.py, b.py; those changes were kept: disk full"
        );
        assert!(changed_files(&error.context("outer")));
        let many = after_changes(anyhow::anyhow!("x"), (0..7).map(|n| format!("f{n}")));
        assert!(format!("{many}").ends_with("f4 and 2 more; those changes were kept"));
        let untouched = after_changes(anyhow::anyhow!("x"), Vec::<String>::new());
        assert!(!changed_files(&untouched));
    }
}
