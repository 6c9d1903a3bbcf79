//! Long inputs of the command line — an assignment, an error output, a feature request, a spec,
//! a diff — given as text, as a file, or on stdin. Every command reads them the same way:
//! `--<flag> TEXT`, `--<flag>-file FILE` and a bare `-` argument, where `-` (also as either
//! flag's value) reads stdin. Every failure to read one, and an empty one, is a usage error
//! (exit 2).

use std::io::Read as _;
use std::path::Path;

/// One long input as the command line gave it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LongInput<'a> {
    /// What the input is, for messages: `error output`, `assignment`.
    pub what: &'a str,
    /// Its text and file flags, for messages: `--error-output`, `--error-file`.
    pub flags: [&'a str; 2],
    pub text: Option<&'a str>,
    pub file: Option<&'a Path>,
    /// Whether the command takes a bare `-` for this input.
    pub takes_dash: bool,
    /// The bare argument as given; only `-` is accepted.
    pub dash: Option<&'a str>,
}

impl<'a> LongInput<'a> {
    /// An input with no bare argument.
    pub fn new(
        what: &'a str,
        flags: [&'a str; 2],
        text: Option<&'a str>,
        file: Option<&'a Path>,
    ) -> Self {
        Self {
            what,
            flags,
            text,
            file,
            takes_dash: false,
            dash: None,
        }
    }

    /// The same input, also read from stdin when the bare argument is `-`.
    pub fn or_dash(self, dash: Option<&'a str>) -> Self {
        Self {
            takes_dash: true,
            dash,
            ..self
        }
    }

    /// The input, `None` when none was given.
    pub fn read(&self) -> anyhow::Result<Option<String>> {
        if let Some(other) = self.dash.filter(|dash| *dash != "-") {
            return Err(crate::exit::usage(format!(
                "unexpected argument `{other}`; pass the {} with {}",
                self.what,
                self.spellings()
            )));
        }
        let text = match (self.text, self.file) {
            (Some("-"), _) => read_stdin(self.what)?,
            (Some(text), _) => text.to_owned(),
            (None, Some(file)) => read_file_or_stdin(file, self.what)?,
            (None, None) if self.dash.is_some() => read_stdin(self.what)?,
            (None, None) => return Ok(None),
        };
        nonempty(text, self.what).map(Some)
    }

    /// The input; its absence is a usage error that says how `verb` takes it.
    pub fn require(&self, verb: &str) -> anyhow::Result<String> {
        self.read()?.ok_or_else(|| {
            crate::exit::usage(format!(
                "{verb} needs the {}: {}",
                self.what,
                self.spellings()
            ))
        })
    }

    fn spellings(&self) -> String {
        let [text, file] = self.flags;
        if self.takes_dash {
            format!("`{text} TEXT`, `{file} FILE` or `-` for stdin")
        } else {
            format!("`{text} TEXT` or `{file} FILE` (`-` for stdin)")
        }
    }
}

/// The `what` file at `file` (`-` for stdin), which must not be empty.
pub(crate) fn read_file_input(file: &Path, what: &str) -> anyhow::Result<String> {
    nonempty(read_file_or_stdin(file, what)?, what)
}

/// All of stdin, as the `what` of the command.
pub(crate) fn read_stdin(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| {
            crate::exit::usage(format!("cannot read the {what} from stdin: {error}"))
        })?;
    Ok(text)
}

/// The `what` file at `file`, or stdin for `-`. Bytes that are not UTF-8 are replaced, as a log
/// may hold some.
pub(crate) fn read_file_or_stdin(file: &Path, what: &str) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        return read_stdin(what);
    }
    std::fs::read(file)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|error| {
            crate::exit::usage(format!(
                "cannot read the {what} file `{}`: {error}",
                file.display()
            ))
        })
}

fn nonempty(text: String, what: &str) -> anyhow::Result<String> {
    if text.trim().is_empty() {
        return Err(crate::exit::usage(format!("the {what} is empty")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, coded_exit};

    const FLAGS: [&str; 2] = ["--assignment", "--assignment-file"];

    fn usage_message(result: anyhow::Result<impl std::fmt::Debug>) -> String {
        let error = result.expect_err("a usage error");
        assert_eq!(coded_exit(&error), Some(Exit::Usage), "{error:#}");
        format!("{error:#}")
    }

    #[test]
    fn text_wins_and_nothing_given_is_none() {
        let input = LongInput::new("assignment", FLAGS, Some("add a check"), None);
        assert_eq!(input.read().unwrap().as_deref(), Some("add a check"));
        let none = LongInput::new("assignment", FLAGS, None, None);
        assert_eq!(none.read().unwrap(), None);
        assert_eq!(none.or_dash(None).read().unwrap(), None);
    }

    #[test]
    fn a_file_is_read_and_a_missing_or_empty_one_is_a_usage_error() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("task.md");
        std::fs::write(&file, "set up CI\n").unwrap();
        let input = LongInput::new("assignment", FLAGS, None, Some(&file));
        assert_eq!(input.read().unwrap().as_deref(), Some("set up CI\n"));

        std::fs::write(&file, " \n").unwrap();
        assert!(usage_message(input.read()).contains("the assignment is empty"));
        let missing = directory.path().join("absent.md");
        let message =
            usage_message(LongInput::new("assignment", FLAGS, None, Some(&missing)).read());
        assert!(
            message.contains("cannot read the assignment file"),
            "{message}"
        );
        assert!(usage_message(read_file_input(&file, "spec")).contains("the spec is empty"));
    }

    #[test]
    fn a_stray_bare_argument_names_the_ways_to_give_the_input() {
        let input = LongInput::new("assignment", FLAGS, None, None).or_dash(Some("task.md"));
        let message = usage_message(input.read());
        assert!(
            message.contains("unexpected argument `task.md`; pass the assignment with `--assignment TEXT`, `--assignment-file FILE` or `-` for stdin"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_required_input_says_how_the_verb_takes_it() {
        let message = usage_message(
            LongInput::new(
                "error output",
                ["--error-output", "--error-file"],
                None,
                None,
            )
            .or_dash(None)
            .require("debug"),
        );
        assert_eq!(
            message,
            "debug needs the error output: `--error-output TEXT`, `--error-file FILE` or `-` for stdin"
        );
        let message = usage_message(
            LongInput::new("problem", ["--issue", "--issue-file"], None, None)
                .require("troubleshoot"),
        );
        assert_eq!(
            message,
            "troubleshoot needs the problem: `--issue TEXT` or `--issue-file FILE` (`-` for stdin)"
        );
    }

    #[test]
    fn empty_text_is_a_usage_error() {
        let input = LongInput::new("assignment", FLAGS, Some("  "), None);
        assert!(usage_message(input.read()).contains("the assignment is empty"));
    }
}
