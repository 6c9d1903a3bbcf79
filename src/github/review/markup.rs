//! The text a review is made of: hidden fingerprints that recognise what earlier runs posted,
//! and fences that survive any backticks in the code they quote.

use std::sync::LazyLock;

use regex::Regex;

use crate::github::encoding::fingerprint;

use super::Finding;

static FINGERPRINT_MARKER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<!-- agentci:fp:([0-9a-f]{16}) -->").ok());

pub(super) fn fingerprint_marker(hash: &str) -> String {
    format!("<!-- agentci:fp:{hash} -->")
}

/// The fingerprints already present in `text`.
pub fn fingerprints_in(text: &str) -> Vec<String> {
    FINGERPRINT_MARKER
        .as_ref()
        .map(|pattern| {
            pattern
                .captures_iter(text)
                .filter_map(|captures| captures.get(1).map(|hash| hash.as_str().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whitespace-insensitive form of a block of lines, for fingerprints.
pub(super) fn normalise_block(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fingerprint of a finding: its path, the text it is about and its replacement, so the
/// same advice on the same code is recognised even when line numbers moved.
pub fn finding_fingerprint(path: &str, anchored_text: &str, finding: &Finding) -> String {
    let replacement = finding.replacement.as_deref().map(normalise_block);
    fingerprint(&[
        path,
        &normalise_block(anchored_text),
        replacement.as_deref().unwrap_or("\u{1}none"),
        // Without a replacement, the advice itself distinguishes findings on the same lines.
        if finding.replacement.is_none() {
            finding.body.trim()
        } else {
            ""
        },
    ])
}

/// A Markdown fence longer than any backtick run in `text` (at least three).
pub fn fence_for(text: &str) -> String {
    let mut longest = 0usize;
    let mut run = 0usize;
    for character in text.chars() {
        if character == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// A committable suggestion block replacing the commented lines with `replacement`.
pub fn suggestion_block(replacement: &str) -> String {
    let fence = fence_for(replacement);
    if replacement.is_empty() {
        return format!("{fence}suggestion\n{fence}");
    }
    let newline = if replacement.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}suggestion\n{replacement}{newline}{fence}")
}

/// A plain (non-committable) code block, for replacements that cannot be a suggestion.
pub(super) fn code_block(text: &str) -> String {
    let fence = fence_for(text);
    let newline = if text.ends_with('\n') || text.is_empty() {
        ""
    } else {
        "\n"
    };
    format!("{fence}\n{text}{newline}{fence}")
}

pub(super) fn review_marker(hash: &str) -> String {
    format!("<!-- agentci:review:{hash} -->")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backtick_runs() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```b``` c"), "````");
        assert_eq!(fence_for("`````"), "``````");
        assert_eq!(suggestion_block("x = 1"), "```suggestion\nx = 1\n```");
        assert_eq!(suggestion_block(""), "```suggestion\n```");
        assert_eq!(
            suggestion_block("doc = \"\"\"\n```py\n```\n\"\"\"\n"),
            "````suggestion\ndoc = \"\"\"\n```py\n```\n\"\"\"\n````"
        );
    }

    #[test]
    fn fingerprints_ignore_whitespace_and_line_numbers() {
        let finding = Finding {
            path: "a.py".into(),
            start_line: 3,
            end_line: 3,
            replacement: Some("y = 2".into()),
            body: "fix".into(),
            original_text: Some("y  = 1".into()),
        };
        let moved = Finding {
            start_line: 9,
            end_line: 9,
            ..finding.clone()
        };
        assert_eq!(
            finding_fingerprint("a.py", "y  = 1", &finding),
            finding_fingerprint("a.py", "y = 1", &moved)
        );
        assert_ne!(
            finding_fingerprint("a.py", "y = 1", &finding),
            finding_fingerprint("b.py", "y = 1", &finding)
        );
        let marker = fingerprint_marker("0123456789abcdef");
        assert_eq!(
            fingerprints_in(&format!("text {marker} more")),
            vec!["0123456789abcdef"]
        );
    }
}
