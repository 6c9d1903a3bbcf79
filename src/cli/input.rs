//! Long inputs of the command line — an assignment, an error output, a spec, a diff — given as
//! text, as a file, or on stdin (`-`). Every failure to read one is a usage error (exit 2).

use std::io::Read as _;
use std::path::Path;

/// A long input given as text, from a file (`-` for stdin), or from stdin; `None` when none was
/// given, and an error when it is empty.
pub(crate) fn read_text(
    text: Option<&str>,
    file: Option<&Path>,
    stdin: bool,
    what: &str,
) -> anyhow::Result<Option<String>> {
    let text = if let Some(text) = text {
        Some(text.to_owned())
    } else if let Some(file) = file {
        Some(read_file_or_stdin(file, what)?)
    } else if stdin {
        Some(read_stdin(what)?)
    } else {
        None
    };
    match text {
        Some(text) if text.trim().is_empty() => {
            Err(crate::exit::usage(format!("the {what} is empty")))
        }
        other => Ok(other),
    }
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
