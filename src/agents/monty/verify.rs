//! `suggest-fix --verify`: apply the suggestions to a scratch copy and re-run what failed there:
//! `dagger check <failed checks>` on a copy of the repository when `dagger` is on `PATH` (the
//! same containerised environment that failed), else the failing commands recovered from the log
//! ([`super::rerun`]: narrowed to the failing tests it names) or `--verify-command`, on a copy of
//! the source. All suggestions together first; one by one
//! only when together they still fail. The user's checkout is never touched.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::rerun::Rerun;
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

/// A command's verdict and the tail of what it printed.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub passed: bool,
    pub tail: String,
}

/// Lines of a command's output kept for the model.
const OUTPUT_TAIL_LINES: usize = 60;

/// Copy `source` to a scratch directory, write `contents` over it (`None` deletes), and run
/// `command` there. The user's checkout is never touched.
pub async fn run_on_copy(
    source: &Path,
    contents: &[(String, Option<String>)],
    command: &[String],
    timeout: Duration,
) -> anyhow::Result<CommandOutcome> {
    let copy = tempfile::tempdir()?;
    let source_copy = source.to_path_buf();
    let target = copy.path().to_path_buf();
    tokio::task::spawn_blocking(move || copy_tree(&source_copy, &target)).await??;
    for (path, text) in contents {
        let file = copy.path().join(path);
        if !file.starts_with(copy.path()) || path.split('/').any(|part| part == "..") {
            continue;
        }
        match text {
            Some(text) => {
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&file, text)?;
            }
            None => {
                let _ = std::fs::remove_file(&file);
            }
        }
    }
    run_command(command, copy.path(), timeout, None).await
}

/// How suggestions are verified.
#[derive(Debug, Clone)]
pub enum Verifier {
    /// `dagger check <checks>` in a copy of the repository: at its root, or — with Dagger 1.x
    /// workspaces — in the directory of each workspace that runs the checks (`groups`, relative
    /// to the root). `source_in_root` is where the suggestions' paths start.
    Dagger {
        program: PathBuf,
        checks: Vec<String>,
        groups: Vec<(PathBuf, Vec<String>)>,
        root: PathBuf,
        source_in_root: PathBuf,
    },
    /// The failing commands (each failed check's, narrowed to its failing tests when the log
    /// named them; or `--verify-command`), in a copy of the source, each in its directory.
    Command { runs: Vec<Rerun>, source: PathBuf },
}

impl Verifier {
    /// The `dagger check` verifier for `checks` of the repository at `root`: each check runs in
    /// the workspace that installs its module ([`crate::scan::workspace::check_directory`]),
    /// else at the root.
    pub fn dagger(
        program: PathBuf,
        checks: Vec<String>,
        root: PathBuf,
        source_in_root: PathBuf,
    ) -> Self {
        let workspaces = crate::scan::workspace::find_workspaces(&root);
        let mut groups: Vec<(PathBuf, Vec<String>)> = Vec::new();
        for check in &checks {
            let directory = crate::scan::workspace::check_directory_among(&workspaces, check)
                .and_then(|directory| directory.strip_prefix(&root).ok().map(Path::to_path_buf))
                .unwrap_or_default();
            match groups.iter_mut().find(|(known, _)| *known == directory) {
                Some((_, group)) => group.push(check.clone()),
                None => groups.push((directory, vec![check.clone()])),
            }
        }
        Self::Dagger {
            program,
            checks,
            groups,
            root,
            source_in_root,
        }
    }

    /// The command as the review shows it.
    pub fn label(&self) -> String {
        match self {
            Self::Dagger { checks, .. } => format!("dagger check {}", checks.join(" ")),
            Self::Command { runs, .. } => runs
                .iter()
                .map(Rerun::label)
                .collect::<Vec<_>>()
                .join(" && "),
        }
    }
}

/// `dagger` on `path` (a `PATH` value), if there is one.
pub fn find_on_path(program: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file())
}

/// Apply `suggestions` to the files under `directory` (paths relative to it), bottom-up per file
/// so earlier line numbers stay valid.
fn apply_all(directory: &Path, suggestions: &[&Suggestion]) -> anyhow::Result<()> {
    let mut ordered: Vec<&&Suggestion> = suggestions.iter().collect();
    ordered.sort_by(|left, right| {
        (left.path.as_str(), std::cmp::Reverse(left.start_line))
            .cmp(&(right.path.as_str(), std::cmp::Reverse(right.start_line)))
    });
    for suggestion in ordered {
        let file = directory.join(&suggestion.path);
        let text = std::fs::read_to_string(&file)?;
        std::fs::write(&file, apply(&text, suggestion))?;
    }
    Ok(())
}

/// Copy, apply `suggestions`, run the verifier; `true` when it passes.
async fn check_set(
    verifier: &Verifier,
    suggestions: &[&Suggestion],
    timeout: Duration,
    path_var: Option<&str>,
) -> anyhow::Result<bool> {
    let copy = tempfile::tempdir()?;
    // Where to copy from, where the suggestions' paths start, and each command with its directory.
    let (from, applied_in, runs): (PathBuf, PathBuf, Vec<(Vec<String>, PathBuf)>) = match verifier {
        Verifier::Dagger {
            program,
            groups,
            root,
            source_in_root,
            ..
        } => (
            root.clone(),
            copy.path().join(source_in_root),
            groups
                .iter()
                .map(|(directory, checks)| {
                    let mut command = vec![program.display().to_string(), "check".to_owned()];
                    command.extend(checks.iter().cloned());
                    (command, copy.path().join(directory))
                })
                .collect(),
        ),
        Verifier::Command { runs, source } => (
            source.clone(),
            copy.path().to_path_buf(),
            runs.iter()
                .map(|run| (run.words.clone(), copy.path().join(&run.directory)))
                .collect(),
        ),
    };
    let target = copy.path().to_path_buf();
    tokio::task::spawn_blocking(move || copy_tree(&from, &target)).await??;
    apply_all(&applied_in, suggestions)?;
    for (command, directory) in &runs {
        if !run_command(command, directory, timeout, path_var)
            .await?
            .passed
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Verify the suggestions: all together first, then one by one only when together they fail.
/// One entry per suggestion.
pub async fn verify_suggestions(
    verifier: &Verifier,
    suggestions: &[Suggestion],
    timeout: Duration,
    path_var: Option<&str>,
) -> anyhow::Result<Vec<Option<bool>>> {
    if suggestions.is_empty() {
        return Ok(Vec::new());
    }
    let all: Vec<&Suggestion> = suggestions.iter().collect();
    let together = check_set(verifier, &all, timeout, path_var).await?;
    tracing::info!(
        "verify `{}` with all {} suggestion(s): {}",
        verifier.label(),
        all.len(),
        if together { "passes" } else { "still fails" }
    );
    if together {
        return Ok(vec![Some(true); suggestions.len()]);
    }
    if suggestions.len() == 1 {
        return Ok(vec![Some(false)]);
    }
    let mut results = Vec::with_capacity(suggestions.len());
    for suggestion in suggestions {
        let passed = check_set(verifier, &[suggestion], timeout, path_var).await?;
        tracing::info!(
            "verify `{}` lines {}-{} alone: {}",
            suggestion.path,
            suggestion.start_line,
            suggestion.end_line,
            if passed { "passes" } else { "still fails" }
        );
        results.push(Some(passed));
    }
    Ok(results)
}

/// Run `command` in `directory` with a scrubbed environment, keeping its output's tail.
async fn run_command(
    command: &[String],
    directory: &Path,
    timeout: Duration,
    path_var: Option<&str>,
) -> anyhow::Result<CommandOutcome> {
    let (program, arguments) = command
        .split_first()
        .ok_or_else(|| crate::exit::usage("the verify command is empty"))?;
    let mut child = tokio::process::Command::new(program);
    child
        .args(arguments)
        .current_dir(directory)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Only what a build needs to find its tools; no tokens or keys reach the command.
    for name in ["PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV"] {
        if let Ok(value) = std::env::var(name) {
            child.env(name, value);
        }
    }
    if let Some(path) = path_var {
        child.env("PATH", path);
    }
    // Dagger needs to reach its engine and runner (`DOCKER_HOST`, `_EXPERIMENTAL_DAGGER_*`).
    for (name, value) in std::env::vars() {
        if name.starts_with("DAGGER_")
            || name.starts_with("_EXPERIMENTAL_DAGGER")
            || name == "DOCKER_HOST"
            || name == "XDG_RUNTIME_DIR"
        {
            child.env(name, value);
        }
    }
    let status = child
        .spawn()
        .map_err(|error| crate::exit::usage(format!("cannot run `{program}`: {error}")))?;
    match tokio::time::timeout(timeout, status.wait_with_output()).await {
        Ok(output) => {
            let output = output?;
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(OUTPUT_TAIL_LINES);
            Ok(CommandOutcome {
                passed: output.status.success(),
                tail: crate::redact::redact(&lines[start..].join("\n")).into_owned(),
            })
        }
        Err(_) => {
            tracing::warn!(
                "`{}` ran longer than {timeout:?}; counted as failing",
                command.join(" ")
            );
            Ok(CommandOutcome {
                passed: false,
                tail: format!("(timed out after {timeout:?})"),
            })
        }
    }
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
        let verifier = Verifier::Command {
            runs: vec![Rerun {
                words: command,
                directory: PathBuf::new(),
            }],
            source: dir.path().to_path_buf(),
        };
        let verify = async |suggestions: &[Suggestion]| {
            verify_suggestions(&verifier, suggestions, Duration::from_secs(30), None)
                .await
                .unwrap()
        };
        // Together they fail (`exit 2` first), so each is tried alone.
        let results = verify(&[suggestion(2, 2, "exit 0"), suggestion(1, 1, "exit 2")]).await;
        assert_eq!(results, vec![Some(true), Some(false)]);
        // Together they pass: both verified without trying each.
        let results = verify(&[suggestion(2, 2, "exit 0"), suggestion(1, 1, "echo still")]).await;
        assert_eq!(results, vec![Some(true), Some(true)]);
        // The source itself is untouched.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("check.sh")).unwrap(),
            "echo checking\nexit 1\n"
        );
    }
}
