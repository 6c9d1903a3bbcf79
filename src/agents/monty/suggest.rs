//! suggest-fix's deterministic half: what the model is shown (failures with the code around
//! them), what it may submit (typed suggestions), how a submission is checked against the files
//! before anything is published, and the JSON result of CONTRACTS §4.3.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::failures::Failure;
pub use crate::agents::review::SubmittedSuggestion;

/// Lines of code shown on each side of a failure's line.
const WINDOW: usize = 12;
/// At most this many windows go into the prompt; the model can read more itself.
const MAX_WINDOWS: usize = 12;

/// The `submit_suggestions` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestionSubmission {
    /// What failed and why, in two or three sentences.
    pub summary: String,
    pub suggestions: Vec<SubmittedSuggestion>,
}

/// A suggestion that passed the checks, with the text it replaces (for re-anchoring on the PR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub replacement: String,
    pub explanation: String,
    #[serde(skip)]
    pub original: String,
}

/// Check a submission against the files under `source`: the file exists inside the workspace, the
/// range is within it, and the replacement changes something. Returns the accepted suggestions or
/// every reason to send back to the model.
pub fn check(
    submission: &SuggestionSubmission,
    source: &Path,
    max: usize,
) -> Result<Vec<Suggestion>, Vec<String>> {
    let mut errors = Vec::new();
    let mut accepted: Vec<Suggestion> = Vec::new();
    if submission.suggestions.len() > max {
        errors.push(format!(
            "submit at most {max} suggestions, the most important first (got {})",
            submission.suggestions.len()
        ));
    }
    for (at, suggestion) in submission.suggestions.iter().enumerate() {
        let label = format!("suggestion {} (`{}`)", at + 1, suggestion.path);
        let Some(file) = inside(source, &suggestion.path) else {
            errors.push(format!("{label}: no such file in the workspace"));
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&file) else {
            errors.push(format!("{label}: the file is not readable text"));
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let (start, end) = (suggestion.start_line as usize, suggestion.end_line as usize);
        if start == 0 || end < start || end > lines.len() {
            errors.push(format!(
                "{label}: lines {start}-{end} are not within the file's {} lines",
                lines.len()
            ));
            continue;
        }
        let original = lines[start - 1..end].join("\n");
        if original.trim_end() == suggestion.replacement.trim_end() {
            errors.push(format!(
                "{label}: the replacement is identical to lines {start}-{end}"
            ));
            continue;
        }
        if suggestion.explanation.trim().is_empty() {
            errors.push(format!("{label}: `explanation` must say what was wrong"));
            continue;
        }
        let overlaps = accepted.iter().any(|other| {
            other.path == suggestion.path
                && other.start_line <= suggestion.end_line
                && suggestion.start_line <= other.end_line
        });
        if overlaps {
            errors.push(format!(
                "{label}: overlaps another suggestion on the same lines; merge them"
            ));
            continue;
        }
        accepted.push(Suggestion {
            path: normalise(&suggestion.path),
            start_line: suggestion.start_line,
            end_line: suggestion.end_line,
            replacement: suggestion.replacement.trim_end_matches('\n').to_owned(),
            explanation: suggestion.explanation.trim().to_owned(),
            original,
        });
    }
    if errors.is_empty() {
        Ok(accepted)
    } else {
        Err(errors)
    }
}

fn normalise(path: &str) -> String {
    path.trim().trim_start_matches("./").replace('\\', "/")
}

/// The file a workspace-relative path names, if it exists and stays inside `source`.
fn inside(source: &Path, relative: &str) -> Option<PathBuf> {
    let relative = normalise(relative);
    let candidate = Path::new(&relative);
    if candidate.is_absolute()
        || candidate
            .components()
            .any(|part| matches!(part, std::path::Component::ParentDir))
    {
        return None;
    }
    let root = source.canonicalize().ok()?;
    let real = root.join(candidate).canonicalize().ok()?;
    (real.starts_with(&root) && real.is_file()).then_some(real)
}

/// The failures as the model sees them: each with its message, detail and a numbered window of the
/// code around it.
pub fn describe(failures: &[Failure], source: &Path) -> String {
    let mut text = String::new();
    let mut windows = 0;
    for (at, failure) in failures.iter().enumerate() {
        let place = match (&failure.path, failure.line) {
            (Some(path), Some(line)) => format!("`{path}` line {line}"),
            (Some(path), None) => format!("`{path}`"),
            _ => "no file named in the log".to_owned(),
        };
        let _ = writeln!(text, "### {}. {} — {place}", at + 1, failure.tool);
        if let Some(check) = &failure.check {
            let _ = writeln!(text, "check: `{check}`");
        }
        let code = failure
            .code
            .as_deref()
            .map(|code| format!("[{code}] "))
            .unwrap_or_default();
        let _ = writeln!(text, "{code}{}", failure.message);
        for line in &failure.detail {
            let _ = writeln!(text, "    {line}");
        }
        if let (Some(path), Some(line)) = (&failure.path, failure.line)
            && windows < MAX_WINDOWS
            && let Some(file) = inside(source, path)
            && let Ok(content) = std::fs::read_to_string(file)
        {
            windows += 1;
            let lines: Vec<&str> = content.lines().collect();
            let line = line as usize;
            let first = line.saturating_sub(WINDOW).max(1);
            let last = (line + WINDOW).min(lines.len());
            let _ = writeln!(text, "\n```");
            for number in first..=last {
                let marker = if number == line { ">" } else { " " };
                let _ = writeln!(
                    text,
                    "{marker}{number:>5}  {}",
                    lines.get(number - 1).copied().unwrap_or_default()
                );
            }
            let _ = writeln!(text, "```");
        }
        text.push('\n');
    }
    crate::redact::redact(&text).into_owned()
}

/// Where a suggestion ended up on the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    Inline,
    File,
    Summary,
}

/// The `--json` result (CONTRACTS §4.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    pub summary: String,
    pub suggestions: Vec<OutputSuggestion>,
    pub published: Option<Published>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputSuggestion {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub replacement: String,
    pub explanation: String,
    pub placement: Placement,
    pub verified: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub review_id: Option<u64>,
    pub inline: usize,
    pub file_level: usize,
    pub in_summary: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("app/auth.py"),
            "import time\n\ndef validate(payload):\n    return True\n",
        )
        .unwrap();
        dir
    }

    fn submitted(path: &str, start: u32, end: u32, replacement: &str) -> SubmittedSuggestion {
        SubmittedSuggestion {
            path: path.into(),
            start_line: start,
            end_line: end,
            replacement: replacement.into(),
            explanation: "expired tokens passed".into(),
        }
    }

    /// `check` on a submission of `suggestions` in [`workspace`].
    fn check_submitted(
        suggestions: Vec<SubmittedSuggestion>,
        max: usize,
    ) -> Result<Vec<Suggestion>, Vec<String>> {
        let dir = workspace();
        let submission = SuggestionSubmission {
            summary: "s".into(),
            suggestions,
        };
        check(&submission, dir.path(), max)
    }

    #[test]
    fn a_valid_suggestion_keeps_the_original_lines() {
        let accepted = check_submitted(
            vec![submitted(
                "./app/auth.py",
                4,
                4,
                "    return payload[\"exp\"] > time.time()\n",
            )],
            5,
        )
        .unwrap();
        assert_eq!(accepted[0].path, "app/auth.py");
        assert_eq!(accepted[0].original, "    return True");
        assert_eq!(
            accepted[0].replacement,
            "    return payload[\"exp\"] > time.time()"
        );
    }

    #[test]
    fn invalid_suggestions_say_why() {
        let errors = check_submitted(
            vec![
                submitted("app/missing.py", 1, 1, "x"),
                submitted("app/auth.py", 3, 9, "x"),
                submitted("app/auth.py", 4, 4, "    return True"),
                submitted("../outside.py", 1, 1, "x"),
                submitted("app/auth.py", 0, 1, "x"),
            ],
            5,
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "suggestion 1 (`app/missing.py`): no such file in the workspace".to_owned(),
                "suggestion 2 (`app/auth.py`): lines 3-9 are not within the file's 4 lines"
                    .to_owned(),
                "suggestion 3 (`app/auth.py`): the replacement is identical to lines 4-4"
                    .to_owned(),
                "suggestion 4 (`../outside.py`): no such file in the workspace".to_owned(),
                "suggestion 5 (`app/auth.py`): lines 0-1 are not within the file's 4 lines"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn too_many_and_overlapping_suggestions_are_refused() {
        let errors = check_submitted(
            vec![
                submitted("app/auth.py", 3, 4, "a"),
                submitted("app/auth.py", 4, 4, "b"),
            ],
            1,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("submit at most 1 suggestions"));
        assert!(errors[1].contains("overlaps another suggestion"));
    }

    #[test]
    fn failures_are_described_with_numbered_windows() {
        let dir = workspace();
        let failure = Failure {
            tool: "pytest",
            check: Some("shop-backend:test".into()),
            path: Some("app/auth.py".into()),
            line: Some(4),
            column: None,
            code: None,
            message: "AssertionError: assert 200 == 401".into(),
            detail: vec!["test: test_validate_token".into()],
        };
        let text = describe(&[failure], dir.path());
        assert!(text.contains("### 1. pytest — `app/auth.py` line 4\ncheck: `shop-backend:test`\nAssertionError: assert 200 == 401\n    test: test_validate_token\n"), "{text}");
        assert!(text.contains(">    4      return True\n"), "{text}");
        assert!(text.contains("     1  import time\n"), "{text}");
    }
}
