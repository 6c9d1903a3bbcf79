//! `suggest-fix --verify`: apply each suggestion alone to a temporary copy of the source and run
//! the failing command there; the suggestion is verified when the command then succeeds.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::suggest::Suggestion;

/// Directories not copied: version control metadata only. Dependencies (`node_modules`,
/// virtual environments) are copied because the command needs them.
const SKIPPED: &[&str] = &[".git"];

/// Split a `--verify`/failing command line into words (no shell is involved); an empty or
/// malformed line is a usage error.
pub fn split_command(text: &str) -> anyhow::Result<Vec<String>> {
    let words = crate::support::split_words(text)
        .map_err(|error| crate::exit::usage(format!("`{text}`: {error}")))?;
    if words.is_empty() {
        return Err(crate::exit::usage("the verify command is empty"));
    }
    Ok(words)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    crate::support::copy_tree(from, to, SKIPPED)
}

/// Replace lines `start..=end` of `text` with `replacement`, keeping the file's final newline.
pub fn apply(text: &str, suggestion: &Suggestion) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = (suggestion.start_line.max(1) as usize - 1).min(lines.len());
    let end = (suggestion.end_line as usize).clamp(start, lines.len());
    let mut result: Vec<&str> = lines[..start].to_vec();
    if !suggestion.replacement.is_empty() {
        result.extend(suggestion.replacement.lines());
    }
    result.extend(&lines[end..]);
    let mut joined = result.join("\n");
    if text.ends_with('\n') && !joined.is_empty() {
        joined.push('\n');
    }
    joined
}

/// Run `command` in `directory` with a scrubbed environment; `true` when it exits 0.
async fn passes(command: &[String], directory: &Path, timeout: Duration) -> anyhow::Result<bool> {
    let (program, arguments) = command
        .split_first()
        .ok_or_else(|| crate::exit::usage("the verify command is empty"))?;
    let mut child = tokio::process::Command::new(program);
    child
        .args(arguments)
        .current_dir(directory)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // Only what a build needs to find its tools; no tokens or keys reach the command.
    for name in ["PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV"] {
        if let Ok(value) = std::env::var(name) {
            child.env(name, value);
        }
    }
    let status = child
        .spawn()
        .map_err(|error| crate::exit::usage(format!("cannot run `{program}`: {error}")))?;
    match tokio::time::timeout(timeout, status.wait_with_output()).await {
        Ok(output) => Ok(output?.status.success()),
        Err(_) => {
            tracing::warn!(
                "`{}` ran longer than {timeout:?}; counted as failing",
                command.join(" ")
            );
            Ok(false)
        }
    }
}

/// Verify each suggestion on its own: copy `source`, apply it, run `command`. One entry per
/// suggestion.
pub async fn verify(
    source: &Path,
    suggestions: &[Suggestion],
    command: &[String],
    timeout: Duration,
) -> anyhow::Result<Vec<Option<bool>>> {
    let mut results = Vec::new();
    for suggestion in suggestions {
        let copy = tempfile::tempdir()?;
        let source_copy = source.to_path_buf();
        let target = copy.path().to_path_buf();
        tokio::task::spawn_blocking(move || copy_tree(&source_copy, &target)).await??;
        let file = copy.path().join(&suggestion.path);
        let text = std::fs::read_to_string(&file)?;
        std::fs::write(&file, apply(&text, suggestion))?;
        let passed = passes(command, copy.path(), timeout).await?;
        tracing::info!(
            "verify `{}` lines {}-{}: {}",
            suggestion.path,
            suggestion.start_line,
            suggestion.end_line,
            if passed { "passes" } else { "still fails" }
        );
        results.push(Some(passed));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::command_allowed;

    fn suggestion(start: u32, end: u32, replacement: &str) -> Suggestion {
        Suggestion {
            path: "check.sh".into(),
            start_line: start,
            end_line: end,
            replacement: replacement.into(),
            explanation: "x".into(),
            original: String::new(),
        }
    }

    #[test]
    fn commands_match_allowed_prefixes_word_by_word() {
        let allowed = vec!["npm run".to_owned(), "pytest".to_owned()];
        let words = |text: &str| split_command(text).unwrap();
        assert!(command_allowed(&words("npm run test"), &allowed));
        assert!(command_allowed(
            &words("pytest -x 'tests/a b.py'"),
            &allowed
        ));
        assert!(!command_allowed(&words("npm install"), &allowed));
        assert!(!command_allowed(&words("pytestx"), &allowed));
        assert_eq!(words("pytest -k \"a b\""), vec!["pytest", "-k", "a b"]);
        assert!(split_command("pytest 'open").is_err());
    }

    #[test]
    fn apply_replaces_and_deletes_lines() {
        let text = "a\nb\nc\n";
        assert_eq!(apply(text, &suggestion(2, 2, "B\nB2")), "a\nB\nB2\nc\n");
        assert_eq!(apply(text, &suggestion(1, 2, "")), "c\n");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_suggestion_that_fixes_the_command_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("check.sh"), "echo checking\nexit 1\n").unwrap();
        let command = vec!["sh".to_owned(), "check.sh".to_owned()];
        let results = verify(
            dir.path(),
            &[suggestion(2, 2, "exit 0"), suggestion(1, 1, "echo still")],
            &command,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(results, vec![Some(true), Some(false)]);
        // The source itself is untouched.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("check.sh")).unwrap(),
            "echo checking\nexit 1\n"
        );
    }
}
