//! A pull request's diff as GitHub sees it: the changed files (all pages) and, per file, the
//! hunks of its `patch` with the new-side (RIGHT) lines a review comment can anchor to.
//!
//! GitHub accepts a review comment on RIGHT line `n` only when `n` lies inside one of the file's
//! hunks (context or added lines), and a multi-line comment only when `start_line` and `line`
//! lie inside the *same* hunk. Everything the publisher decides rests on [`FileDiff::hunk_of`].

use serde::{Deserialize, Serialize};

use super::GitHubError;
use super::client::GitHub;
use super::context::Repository;

/// A file's status in the pull request, as the files API names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Removed,
    Modified,
    Renamed,
    Copied,
    Changed,
    Unchanged,
    #[serde(other)]
    Unknown,
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    /// New-side numbers of the added (`+`) lines.
    pub added: Vec<u32>,
    /// The hunk's text, header included, for showing to a model.
    pub text: String,
}

impl Hunk {
    /// The first and last RIGHT-side line of the hunk; `None` for a hunk that only deletes.
    pub fn right_range(&self) -> Option<(u32, u32)> {
        (self.new_lines > 0).then(|| (self.new_start, self.new_start + self.new_lines - 1))
    }

    pub fn contains_right(&self, line: u32) -> bool {
        self.right_range()
            .is_some_and(|(first, last)| first <= line && line <= last)
    }
}

/// One changed file of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    /// The old path of a renamed or copied file.
    pub previous_path: Option<String>,
    pub status: FileStatus,
    pub additions: u32,
    pub deletions: u32,
    /// False when GitHub sent no patch: binary files, and diffs too large to show.
    pub has_patch: bool,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The index of the hunk holding RIGHT line `line`.
    pub fn hunk_of(&self, line: u32) -> Option<usize> {
        self.hunks.iter().position(|hunk| hunk.contains_right(line))
    }

    /// The hunk holding the whole range `start..=end`, if one does.
    pub fn hunk_of_range(&self, start: u32, end: u32) -> Option<usize> {
        let index = self.hunk_of(start)?;
        self.hunks[index].contains_right(end).then_some(index)
    }

    /// True when the file exists at the head commit (review comments can only anchor there).
    pub fn exists_at_head(&self) -> bool {
        self.status != FileStatus::Removed
    }

    /// The hunks with the new-side line number in front of every context and added line, the
    /// form that lets a model cite lines it can actually comment on.
    pub fn numbered_hunks(&self) -> String {
        let mut output = String::new();
        for hunk in &self.hunks {
            let mut lines = hunk.text.lines();
            if let Some(header) = lines.next() {
                output.push_str(header);
                output.push('\n');
            }
            let mut new_line = hunk.new_start;
            for line in lines {
                if line.starts_with('-') || line.starts_with('\\') {
                    output.push_str(&format!("{:>6} {line}\n", ""));
                } else {
                    output.push_str(&format!("{new_line:>6} {line}\n"));
                    new_line += 1;
                }
            }
        }
        output
    }
}

/// The changed files of one pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullDiff {
    pub files: Vec<FileDiff>,
}

impl PullDiff {
    /// The file at `path` (its new path).
    pub fn file(&self, path: &str) -> Option<&FileDiff> {
        self.files.iter().find(|file| file.path == path)
    }

    /// The file whose *old* path was `path` (a finding made against the pre-rename name).
    pub fn renamed_from(&self, path: &str) -> Option<&FileDiff> {
        self.files
            .iter()
            .find(|file| file.previous_path.as_deref() == Some(path))
    }
}

/// What the files API returns per file (only the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct DiffEntry {
    pub filename: String,
    pub status: FileStatus,
    #[serde(default)]
    pub additions: u32,
    #[serde(default)]
    pub deletions: u32,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

impl DiffEntry {
    pub fn into_file_diff(self) -> Result<FileDiff, GitHubError> {
        let hunks = match &self.patch {
            Some(patch) => parse_patch(patch).map_err(|message| {
                GitHubError::Context(format!(
                    "the patch GitHub returned for `{}` is malformed: {message}",
                    self.filename
                ))
            })?,
            None => Vec::new(),
        };
        Ok(FileDiff {
            path: self.filename,
            previous_path: self.previous_filename,
            status: self.status,
            additions: self.additions,
            deletions: self.deletions,
            has_patch: self.patch.is_some(),
            hunks,
        })
    }
}

/// List a pull request's files (every page) and parse their patches.
pub async fn pull_diff(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> Result<PullDiff, GitHubError> {
    let route = format!("{}/pulls/{number}/files", repository.route());
    let entries: Vec<DiffEntry> = client.get_all(&route).await?;
    let files = entries
        .into_iter()
        .map(DiffEntry::into_file_diff)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PullDiff { files })
}

/// Parse a headerless unified diff (GitHub's `patch` field) into hunks.
pub fn parse_patch(patch: &str) -> Result<Vec<Hunk>, String> {
    let mut hunks: Vec<Hunk> = Vec::new();
    // Lines still expected on each side of the current hunk.
    let mut old_left = 0u32;
    let mut new_left = 0u32;
    let mut new_line = 0u32;
    for line in patch.lines() {
        if line.starts_with("@@") {
            if old_left > 0 || new_left > 0 {
                return Err(format!(
                    "a hunk ended early ({old_left} old and {new_left} new lines missing)"
                ));
            }
            let (old_start, old_lines, new_start, new_lines) = parse_header(line)?;
            hunks.push(Hunk {
                old_start,
                old_lines,
                new_start,
                new_lines,
                added: Vec::new(),
                text: format!("{line}\n"),
            });
            old_left = old_lines;
            new_left = new_lines;
            new_line = new_start;
            continue;
        }
        let Some(hunk) = hunks.last_mut() else {
            if line.starts_with("diff ")
                || line.starts_with("index ")
                || line.starts_with("--- ")
                || line.starts_with("+++ ")
            {
                continue;
            }
            return Err(format!("text before the first hunk header: `{line}`"));
        };
        if line.is_empty() && old_left == 0 && new_left == 0 {
            // A trailing blank line after the last hunk is not part of it.
            continue;
        }
        hunk.text.push_str(line);
        hunk.text.push('\n');
        match line.as_bytes().first() {
            Some(b'+') => {
                new_left = new_left
                    .checked_sub(1)
                    .ok_or("more added lines than the header counts")?;
                hunk.added.push(new_line);
                new_line += 1;
            }
            Some(b'-') => {
                old_left = old_left
                    .checked_sub(1)
                    .ok_or("more removed lines than the header counts")?;
            }
            Some(b'\\') => {}
            // A context line; GitHub sometimes strips the single space of an empty one.
            Some(b' ') | None => {
                old_left = old_left
                    .checked_sub(1)
                    .ok_or("more context lines than the header counts")?;
                new_left = new_left
                    .checked_sub(1)
                    .ok_or("more context lines than the header counts")?;
                new_line += 1;
            }
            Some(_) => return Err(format!("unexpected diff line `{line}`")),
        }
    }
    if old_left > 0 || new_left > 0 {
        return Err(format!(
            "the last hunk ended early ({old_left} old and {new_left} new lines missing)"
        ));
    }
    Ok(hunks)
}

/// `@@ -a[,b] +c[,d] @@ optional section heading`
fn parse_header(line: &str) -> Result<(u32, u32, u32, u32), String> {
    let bad = || format!("bad hunk header `{line}`");
    let inner = line
        .strip_prefix("@@ ")
        .and_then(|rest| rest.split(" @@").next())
        .ok_or_else(bad)?;
    let mut parts = inner.split_whitespace();
    let old = parts
        .next()
        .and_then(|part| part.strip_prefix('-'))
        .ok_or_else(bad)?;
    let new = parts
        .next()
        .and_then(|part| part.strip_prefix('+'))
        .ok_or_else(bad)?;
    let range = |text: &str| -> Result<(u32, u32), String> {
        match text.split_once(',') {
            Some((start, count)) => Ok((
                start.parse().map_err(|_| bad())?,
                count.parse().map_err(|_| bad())?,
            )),
            None => Ok((text.parse().map_err(|_| bad())?, 1)),
        }
    };
    let (old_start, old_lines) = range(old)?;
    let (new_start, new_lines) = range(new)?;
    Ok((old_start, old_lines, new_start, new_lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_HUNKS: &str = "@@ -1,4 +1,5 @@\n import os\n+import sys\n \n def main():\n     pass\n@@ -20,3 +21,4 @@ def helper():\n     a = 1\n-    b = 2\n+    b = 3\n+    c = 4\n     return a\n";

    #[test]
    fn hunks_give_right_ranges_and_added_lines() {
        let hunks = parse_patch(TWO_HUNKS).unwrap();
        assert_eq!(hunks.len(), 2);
        assert_eq!(hunks[0].right_range(), Some((1, 5)));
        assert_eq!(hunks[0].added, vec![2]);
        assert_eq!(hunks[1].right_range(), Some((21, 24)));
        assert_eq!(hunks[1].added, vec![22, 23]);
        assert!(
            hunks[1]
                .text
                .starts_with("@@ -20,3 +21,4 @@ def helper():\n")
        );
    }

    #[test]
    fn ranges_must_sit_in_one_hunk() {
        let file = DiffEntry {
            filename: "app.py".into(),
            status: FileStatus::Modified,
            additions: 3,
            deletions: 1,
            patch: Some(TWO_HUNKS.into()),
            previous_filename: None,
        }
        .into_file_diff()
        .unwrap();
        assert_eq!(file.hunk_of_range(2, 4), Some(0));
        assert_eq!(file.hunk_of_range(22, 24), Some(1));
        assert_eq!(file.hunk_of_range(4, 22), None);
        assert_eq!(file.hunk_of(10), None);
        assert_eq!(file.hunk_of(25), None);
    }

    #[test]
    fn single_line_counts_deletion_only_hunks_and_no_newline_markers() {
        let hunks = parse_patch(
            "@@ -3 +3 @@\n-old\n+new\n\\ No newline at end of file\n@@ -10,2 +10,0 @@\n-x\n-y\n",
        )
        .unwrap();
        assert_eq!(hunks[0].right_range(), Some((3, 3)));
        assert_eq!(hunks[1].right_range(), None);
        assert!(!hunks[1].contains_right(10));
    }

    #[test]
    fn new_file_patch_covers_every_line() {
        let hunks = parse_patch("@@ -0,0 +1,3 @@\n+a\n+b\n+c").unwrap();
        assert_eq!(hunks[0].right_range(), Some((1, 3)));
        assert_eq!(hunks[0].added, vec![1, 2, 3]);
    }

    #[test]
    fn empty_context_lines_without_their_space_still_count() {
        let hunks = parse_patch("@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n").unwrap();
        assert_eq!(hunks[0].added, vec![3]);
    }

    #[test]
    fn malformed_patches_are_errors() {
        assert!(parse_patch("@@ -1,2 +1,2 @@\n a\n").is_err());
        assert!(parse_patch("@@ nonsense @@\n").is_err());
        assert!(parse_patch("+orphan\n").is_err());
        assert!(parse_patch("@@ -1 +1 @@\n a\n b\n").is_err());
    }

    #[test]
    fn numbered_hunks_number_the_right_side() {
        let file = DiffEntry {
            filename: "app.py".into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 1,
            patch: Some("@@ -7,2 +7,2 @@\n-old\n+new\n keep\n".into()),
            previous_filename: None,
        }
        .into_file_diff()
        .unwrap();
        assert_eq!(
            file.numbered_hunks(),
            "@@ -7,2 +7,2 @@\n       -old\n     7 +new\n     8  keep\n"
        );
    }
}

impl PullDiff {
    /// Parse a multi-file unified diff (`git diff` output, or `diff -u` with `---`/`+++` headers)
    /// into the same model as a pull request's file list, so placement can be decided offline.
    pub fn from_unified(text: &str) -> Result<PullDiff, String> {
        let mut files: Vec<FileDiff> = Vec::new();
        // The file being read: its header fields and the text of its hunks.
        let mut current: Option<(UnifiedHeader, String)> = None;
        let finish = |current: Option<(UnifiedHeader, String)>,
                      files: &mut Vec<FileDiff>|
         -> Result<(), String> {
            if let Some((header, patch)) = current {
                files.push(header.into_file_diff(&patch)?);
            }
            Ok(())
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("diff --git ") {
                finish(current.take(), &mut files)?;
                let (old, new) = split_git_paths(rest);
                current = Some((
                    UnifiedHeader {
                        old_path: old,
                        new_path: new,
                        ..UnifiedHeader::default()
                    },
                    String::new(),
                ));
                continue;
            }
            let in_hunks = current.as_ref().is_some_and(|(_, patch)| !patch.is_empty());
            if let Some(path) = line.strip_prefix("--- ")
                && !in_hunks_expecting_line(current.as_ref(), line)
            {
                if in_hunks {
                    finish(current.take(), &mut files)?;
                }
                let header = current.get_or_insert_with(Default::default);
                header.0.old_path = header_path(path, "a/");
                continue;
            }
            if let Some(path) = line.strip_prefix("+++ ")
                && !in_hunks_expecting_line(current.as_ref(), line)
            {
                let header = current.get_or_insert_with(Default::default);
                header.0.new_path = header_path(path, "b/");
                continue;
            }
            let Some((header, patch)) = current.as_mut() else {
                continue;
            };
            if line.starts_with("@@")
                || (!patch.is_empty()
                    && (line.starts_with(' ')
                        || line.starts_with('+')
                        || line.starts_with('-')
                        || line.starts_with('\\')
                        || line.is_empty()))
            {
                patch.push_str(line);
                patch.push('\n');
            } else if let Some(from) = line.strip_prefix("rename from ") {
                header.old_path = Some(from.to_owned());
                header.renamed = true;
            } else if let Some(to) = line.strip_prefix("rename to ") {
                header.new_path = Some(to.to_owned());
                header.renamed = true;
            } else if line.starts_with("new file mode") {
                header.added = true;
            } else if line.starts_with("deleted file mode") {
                header.removed = true;
            } else if line.starts_with("Binary files") {
                header.binary = true;
            }
        }
        finish(current, &mut files)?;
        Ok(PullDiff { files })
    }
}

/// True when `line` (starting `--- ` or `+++ `) is a removed or added line of the current hunk
/// rather than a file header: the hunk still expects lines on that side.
fn in_hunks_expecting_line(current: Option<&(UnifiedHeader, String)>, line: &str) -> bool {
    let Some((_, patch)) = current else {
        return false;
    };
    if patch.is_empty() {
        return false;
    }
    // Count what the last hunk still expects.
    let Ok(hunks) = parse_patch_prefix(patch) else {
        return false;
    };
    let (old_left, new_left) = hunks;
    (line.starts_with('-') && old_left > 0) || (line.starts_with('+') && new_left > 0)
}

/// Lines still expected on each side of the last hunk of `patch`.
fn parse_patch_prefix(patch: &str) -> Result<(u32, u32), String> {
    let mut old_left = 0u32;
    let mut new_left = 0u32;
    for line in patch.lines() {
        if line.starts_with("@@") {
            let (_, old_lines, _, new_lines) = parse_header(line)?;
            old_left = old_lines;
            new_left = new_lines;
        } else if line.starts_with('-') {
            old_left = old_left.saturating_sub(1);
        } else if line.starts_with('+') {
            new_left = new_left.saturating_sub(1);
        } else if !line.starts_with('\\') {
            old_left = old_left.saturating_sub(1);
            new_left = new_left.saturating_sub(1);
        }
    }
    Ok((old_left, new_left))
}

#[derive(Debug, Default)]
struct UnifiedHeader {
    old_path: Option<String>,
    new_path: Option<String>,
    added: bool,
    removed: bool,
    renamed: bool,
    binary: bool,
}

impl UnifiedHeader {
    fn into_file_diff(self, patch: &str) -> Result<FileDiff, String> {
        let removed = self.removed || self.new_path.is_none();
        let added = self.added || self.old_path.is_none();
        let path = match (&self.new_path, &self.old_path) {
            (Some(path), _) | (None, Some(path)) => path.clone(),
            (None, None) => return Err("a file header names no path".to_owned()),
        };
        let hunks = parse_patch(patch).map_err(|message| format!("`{path}`: {message}"))?;
        let status = if removed {
            FileStatus::Removed
        } else if added {
            FileStatus::Added
        } else if self.renamed || self.old_path != self.new_path {
            FileStatus::Renamed
        } else {
            FileStatus::Modified
        };
        let count = |prefix: char| {
            hunks
                .iter()
                .flat_map(|hunk| hunk.text.lines().skip(1))
                .filter(|line| line.starts_with(prefix))
                .count() as u32
        };
        Ok(FileDiff {
            previous_path: (status == FileStatus::Renamed)
                .then(|| self.old_path.clone())
                .flatten(),
            path,
            status,
            additions: count('+'),
            deletions: count('-'),
            has_patch: !self.binary && !hunks.is_empty(),
            hunks,
        })
    }
}

/// `a/x b/y` of a `diff --git` line (paths without spaces; quoted paths keep their quotes off).
fn split_git_paths(rest: &str) -> (Option<String>, Option<String>) {
    match rest.split_once(" b/") {
        Some((old, new)) => (
            Some(old.trim_start_matches("a/").trim_matches('"').to_owned()),
            Some(new.trim_matches('"').to_owned()),
        ),
        None => (None, None),
    }
}

/// The path of a `---`/`+++` header: `None` for `/dev/null`, the git prefix and any tab-separated
/// timestamp removed.
fn header_path(text: &str, prefix: &str) -> Option<String> {
    let path = text.split('\t').next().unwrap_or(text).trim();
    if path == "/dev/null" {
        return None;
    }
    Some(path.strip_prefix(prefix).unwrap_or(path).to_owned())
}

#[cfg(test)]
mod unified_tests {
    use super::*;

    const DIFF: &str = "\
diff --git a/app/main.py b/app/main.py
index 1111111..2222222 100644
--- a/app/main.py
+++ b/app/main.py
@@ -1,4 +1,5 @@
 import os
--- not a header: a removed line that looks like one
+import sys
+++ not a header either
 
 def main():
diff --git a/app/new.py b/app/new.py
new file mode 100644
--- /dev/null
+++ b/app/new.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
";

    #[test]
    fn a_git_diff_becomes_files_with_hunks() {
        let diff = PullDiff::from_unified(DIFF).unwrap();
        let paths: Vec<&str> = diff.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(paths, ["app/main.py", "app/new.py", "old.txt"]);
        let main = diff.file("app/main.py").unwrap();
        assert_eq!(main.status, FileStatus::Modified);
        assert_eq!(main.hunks.len(), 1);
        assert_eq!(main.hunk_of_range(1, 5), Some(0));
        assert_eq!(main.hunk_of(6), None);
        assert_eq!((main.additions, main.deletions), (2, 1));
        assert_eq!(diff.file("app/new.py").unwrap().status, FileStatus::Added);
        assert!(!diff.file("old.txt").unwrap().exists_at_head());
    }

    #[test]
    fn a_broken_hunk_is_an_error() {
        let broken = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n";
        assert!(PullDiff::from_unified(broken).is_err());
    }
}
