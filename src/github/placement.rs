//! Where one finding can land on a pull request under GitHub's rules, decided from the diff and
//! the file at the head commit alone (no network): inline when its anchored range lies inside one
//! hunk, file-level when the file is changed but the range is not, the review body otherwise.
//! The publisher (`review.rs`) and the MCP tool `review_placement` share this one decision.

use super::diff::{FileDiff, PullDiff};
use super::review::{Anchor, AnchorFailure, Finding, Placement, anchor};

/// The decision for one finding, before caps and GitHub's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The path as placed (a finding on a renamed file's old path moves to its new one).
    pub path: String,
    pub placement: Placement,
    pub anchor: Option<Anchor>,
    /// Why it lands there, in words.
    pub reason: String,
}

/// The diff's entry for `path`, following a rename from an old path; and the path to use.
pub fn diff_entry<'a>(diff: &'a PullDiff, path: &str) -> (String, Option<&'a FileDiff>) {
    if let Some(file) = diff.file(path) {
        return (path.to_owned(), Some(file));
    }
    match diff.renamed_from(path) {
        Some(renamed) => (renamed.path.clone(), Some(renamed)),
        None => (path.to_owned(), None),
    }
}

/// Anchor the finding in `text` (the file at the head commit; `None` when it does not exist
/// there) and decide where it goes given the file's entry in the diff.
pub fn decide(
    path: String,
    file: Option<&FileDiff>,
    text: Option<&str>,
    finding: &Finding,
) -> Decision {
    let anchored = match text {
        None => Err(AnchorFailure::FileMissing),
        Some(text) => {
            let lines: Vec<&str> = text.lines().collect();
            anchor(
                &lines,
                finding.start_line,
                finding.end_line,
                finding.original_text.as_deref(),
            )
        }
    };
    let (placement, anchor, reason) = match anchored {
        Err(failure) => (
            Placement::Summary,
            None,
            match failure {
                AnchorFailure::FileMissing => match file {
                    Some(_) => "the file is deleted in this pull request".to_owned(),
                    None => "the file does not exist at the head commit".to_owned(),
                },
                AnchorFailure::OutOfRange { lines } => format!(
                    "lines {}-{} are outside the file ({lines} lines)",
                    finding.start_line, finding.end_line
                ),
                AnchorFailure::NotFound => {
                    "the quoted code was not found in the file at the head commit".to_owned()
                }
                AnchorFailure::Ambiguous { candidates } => format!(
                    "the quoted code matches several places (lines {})",
                    candidates
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        ),
        Ok(anchor) => match file {
            None => (
                Placement::Summary,
                Some(anchor),
                "the file is not changed by this pull request".to_owned(),
            ),
            Some(file) => match file.hunk_of_range(anchor.start_line, anchor.end_line) {
                Some(_) => (
                    Placement::Inline,
                    Some(anchor),
                    super::review::describe_anchor(finding, &anchor),
                ),
                None => (
                    Placement::File,
                    Some(anchor),
                    if file.has_patch {
                        "the lines are not inside one hunk of the diff".to_owned()
                    } else {
                        "GitHub shows no diff for this file (binary or too large)".to_owned()
                    },
                ),
            },
        },
    };
    Decision {
        path,
        placement,
        anchor,
        reason,
    }
}
