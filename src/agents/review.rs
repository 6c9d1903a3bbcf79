//! The structured result of a `review` verb (`submit_review`), shared by monty/angie, daggie and
//! goose: the submission, its checks and its text rendering.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Major,
    Minor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIssue {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
    pub severity: Severity,
    pub text: String,
}

// One replacement of lines, as `submit_review` and monty's `submit_suggestions` take it. (A
// doc comment here would change the tools' JSON schemas.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedSuggestion {
    /// Relative to the workspace root, as `read_file` takes it.
    pub path: String,
    /// First line replaced, 1-based.
    pub start_line: u32,
    /// Last line replaced, inclusive.
    pub end_line: u32,
    /// The complete new text of those lines; empty to delete them.
    pub replacement: String,
    /// What was wrong and why this fixes it, in one or two sentences.
    pub explanation: String,
}

/// The `submit_review` parameters, which are also the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSubmission {
    /// Problems that must be fixed.
    pub issues: Vec<ReviewIssue>,
    /// Concrete improvements with replacement code.
    #[serde(default)]
    pub suggestions: Vec<SubmittedSuggestion>,
    /// What is done well.
    #[serde(default)]
    pub positives: Vec<String>,
    pub summary: String,
}

/// Semantic checks the schema cannot express.
pub fn check(review: &ReviewSubmission) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if review.summary.trim().is_empty() {
        errors.push("`summary` must not be empty".to_owned());
    }
    for (at, issue) in review.issues.iter().enumerate() {
        if issue.text.trim().is_empty() {
            errors.push(format!("issue {}: `text` must not be empty", at + 1));
        }
        if issue.line.is_some() && issue.path.is_none() {
            errors.push(format!("issue {}: a `line` needs a `path`", at + 1));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The review as a human reads it on a terminal or in a comment body.
pub fn to_markdown(review: &ReviewSubmission, agent: &str) -> String {
    let mut text = format!("## {agent} review\n\n{}\n", review.summary.trim());
    let mut issues: Vec<&ReviewIssue> = review.issues.iter().collect();
    issues.sort_by_key(|issue| issue.severity);
    if !issues.is_empty() {
        text.push_str("\n### Must fix\n\n");
        for issue in issues {
            let place = match (&issue.path, issue.line) {
                (Some(path), Some(line)) => format!(" `{path}:{line}`"),
                (Some(path), None) => format!(" `{path}`"),
                _ => String::new(),
            };
            let severity = format!("{:?}", issue.severity).to_lowercase();
            let _ = writeln!(text, "- **{severity}**{place}: {}", issue.text.trim());
        }
    }
    if !review.suggestions.is_empty() {
        text.push_str("\n### Suggestions\n\n");
        for suggestion in &review.suggestions {
            let _ = writeln!(
                text,
                "- `{}:{}-{}`: {}",
                suggestion.path,
                suggestion.start_line,
                suggestion.end_line,
                suggestion.explanation.trim()
            );
        }
    }
    if !review.positives.is_empty() {
        text.push_str("\n### Done well\n\n");
        for positive in &review.positives {
            let _ = writeln!(text, "- {}", positive.trim());
        }
    }
    crate::redact::redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_issues_by_severity() {
        let review = ReviewSubmission {
            issues: vec![
                ReviewIssue {
                    path: Some("a.py".into()),
                    line: Some(3),
                    severity: Severity::Minor,
                    text: "naming".into(),
                },
                ReviewIssue {
                    path: Some("b.py".into()),
                    line: None,
                    severity: Severity::Critical,
                    text: "SQL injection".into(),
                },
            ],
            suggestions: vec![],
            positives: vec!["clear tests".into()],
            summary: "Solid, one serious bug.".into(),
        };
        assert_eq!(check(&review), Ok(()));
        let text = to_markdown(&review, "Monty");
        let critical = text.find("**critical** `b.py`: SQL injection").unwrap();
        let minor = text.find("**minor** `a.py:3`: naming").unwrap();
        assert!(critical < minor);
        assert!(text.contains("### Done well\n\n- clear tests"));
    }

    #[test]
    fn a_line_without_a_path_is_refused() {
        let review = ReviewSubmission {
            issues: vec![ReviewIssue {
                path: None,
                line: Some(3),
                severity: Severity::Major,
                text: "x".into(),
            }],
            suggestions: vec![],
            positives: vec![],
            summary: " ".into(),
        };
        assert_eq!(check(&review).unwrap_err().len(), 2);
    }
}
