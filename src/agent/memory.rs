//! Self-improve: the `record_learning` tool collects short facts an agent discovered, and at the
//! end of a run they are written into a managed block of the agent's context file (or
//! `AGENTS.md`), and optionally committed. Text outside the block is never changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tool::{ToolError, TypedTool};

/// The block's first line.
pub const BLOCK_START: &str = "<!-- agentci:learned:start -->";
/// The block's last line.
pub const BLOCK_END: &str = "<!-- agentci:learned:end -->";
/// The heading inside the block.
pub const BLOCK_HEADING: &str = "## Learned Context";
/// The file shared-scope learnings go to.
pub const SHARED_FILE: &str = "AGENTS.md";
/// At most this many entries per file; the oldest go first.
pub const MAX_ENTRIES: usize = 40;
/// At most this many bytes of block per file, markers included; the oldest entries go first.
pub const MAX_BLOCK_BYTES: usize = 4096;
/// The longest learning the tool accepts, in characters: one short fact, not a paragraph.
pub const MAX_LEARNING_CHARS: usize = 300;

const BOT_NAME: &str = "agentci[bot]";
const BOT_EMAIL: &str = "agentci[bot]@users.noreply.github.com";

/// Where a learning is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LearningScope {
    /// The agent's own file (`MONTY.md`, …): knowledge only this agent needs.
    Agent,
    /// `AGENTS.md`: knowledge every agent working on this project needs.
    Shared,
}

/// One fact, already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learning {
    pub scope: LearningScope,
    pub text: String,
}

/// Where the tool puts learnings during a run; the run reads them at the end. Clones share
/// the same list.
#[derive(Debug, Clone, Default)]
pub struct LearningSink {
    learnings: Arc<Mutex<Vec<Learning>>>,
}

impl LearningSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a learning unless an equivalent one (same scope, same text ignoring case and
    /// whitespace) is already there; `false` if it was a duplicate.
    pub fn push(&self, learning: Learning) -> bool {
        let mut learnings = match self.learnings.lock() {
            Ok(learnings) => learnings,
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = dedupe_key(&learning.text);
        if learnings
            .iter()
            .any(|known| known.scope == learning.scope && dedupe_key(&known.text) == key)
        {
            return false;
        }
        learnings.push(learning);
        true
    }

    /// The learnings so far, in the order they were recorded.
    pub fn learnings(&self) -> Vec<Learning> {
        match self.learnings.lock() {
            Ok(learnings) => learnings.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.learnings().is_empty()
    }
}

/// The `record_learning` tool's parameters (CONTRACTS §7).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordLearningArguments {
    /// `agent` for knowledge only this agent needs; `shared` for knowledge every agent working
    /// on this project needs.
    pub scope: LearningScope,
    /// One short fact about this project, on one line, that would have saved you time (for
    /// example "Tests run with `uv run pytest`, not `pytest`"). No secrets, no task details.
    pub text: String,
}

/// The `record_learning` tool: validates a learning and puts it in the run's sink.
#[derive(Debug, Clone)]
pub struct RecordLearning {
    sink: LearningSink,
}

impl RecordLearning {
    pub fn new(sink: LearningSink) -> Self {
        Self { sink }
    }
}

/// Check a learning's text and return it trimmed and redacted.
pub fn validate_learning(text: &str) -> Result<String, ToolError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ToolError::InvalidArguments(
            "`text` is empty; give one short fact".into(),
        ));
    }
    if text.contains(['\n', '\r']) {
        return Err(ToolError::InvalidArguments(
            "`text` must be one line: record one fact per call".into(),
        ));
    }
    let length = text.chars().count();
    if length > MAX_LEARNING_CHARS {
        return Err(ToolError::InvalidArguments(format!(
            "`text` has {length} characters; keep a learning under {MAX_LEARNING_CHARS}"
        )));
    }
    if text.contains("<!--") || text.contains("-->") {
        return Err(ToolError::InvalidArguments(
            "`text` must not contain HTML comment markers".into(),
        ));
    }
    Ok(crate::redact::redact(text).into_owned())
}

/// It changes no file during the run (learnings are written after it), so it can run alongside
/// read-only tools and is available to read-only verbs.
#[async_trait]
impl TypedTool for RecordLearning {
    type Arguments = RecordLearningArguments;
    const NAME: &'static str = "record_learning";
    const DESCRIPTION: &'static str = "Record one short, durable fact about this project that \
        would help a future run (a convention, a command, a pitfall). It is saved to the \
        project's context file after the run.";
    const READ_ONLY: bool = true;

    async fn run(&self, arguments: RecordLearningArguments) -> Result<String, ToolError> {
        let text = validate_learning(&arguments.text)?;
        let scope = arguments.scope;
        if self.sink.push(Learning {
            scope,
            text: text.clone(),
        }) {
            Ok(format!("Recorded ({}): {text}", scope_name(scope)))
        } else {
            Ok(format!("Already recorded: {text}"))
        }
    }
}

fn scope_name(scope: LearningScope) -> &'static str {
    match scope {
        LearningScope::Agent => "agent",
        LearningScope::Shared => "shared",
    }
}

/// Lowercase with whitespace runs collapsed: two learnings that differ only there are the same.
fn dedupe_key(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fact an entry line records, without its `- date (agent, run id): ` prefix.
fn entry_text(line: &str) -> &str {
    let body = line.trim_start_matches('-').trim_start();
    match body.find("): ") {
        Some(index) if body[..index].contains(" (") || body.starts_with('(') => &body[index + 3..],
        _ => body,
    }
}

/// Write `learnings` into the managed blocks of `<repo_root>/<agent_file_name>` (agent scope)
/// and `<repo_root>/AGENTS.md` (shared scope). Returns the files whose content changed.
pub fn write_learnings(
    repo_root: &Path,
    agent_file_name: &str,
    agent: &str,
    run_id: &str,
    date: chrono::NaiveDate,
    learnings: &[Learning],
) -> anyhow::Result<Vec<PathBuf>> {
    let plain_name = Path::new(agent_file_name)
        .file_name()
        .is_some_and(|name| name == agent_file_name && agent_file_name != "..");
    if !plain_name {
        bail!("`{agent_file_name}` is not a file name in the repository root");
    }
    let date = date.format("%Y-%m-%d").to_string();
    let agent = one_line(agent);
    let run_id = one_line(run_id);
    let mut changed = Vec::new();
    for (scope, file_name) in [
        (LearningScope::Agent, agent_file_name),
        (LearningScope::Shared, SHARED_FILE),
    ] {
        let entries: Vec<String> = learnings
            .iter()
            .filter(|learning| learning.scope == scope)
            .filter_map(|learning| validate_learning(&learning.text).ok())
            .map(|text| format!("- {date} ({agent}, run {run_id}): {text}"))
            .collect();
        if entries.is_empty() {
            continue;
        }
        let path = repo_root.join(file_name);
        // An agent whose own file is `AGENTS.md` writes both scopes to one file.
        if update_file(&path, &entries)? && !changed.contains(&path) {
            changed.push(path);
        }
    }
    Ok(changed)
}

fn one_line(text: &str) -> String {
    crate::redact::redact(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// Merge `new_entries` into the file's block; `false` when nothing new was added.
fn update_file(path: &Path, new_entries: &[String]) -> anyhow::Result<bool> {
    let content = match fs::read_to_string(path) {
        Ok(content) => content,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    let (before, existing, after) = split_block(&content)
        .with_context(|| format!("cannot update the learned block of `{}`", path.display()))?;

    let mut entries: Vec<String> = existing;
    let mut keys: Vec<String> = entries
        .iter()
        .map(|entry| dedupe_key(entry_text(entry)))
        .collect();
    let mut added = false;
    for entry in new_entries {
        let key = dedupe_key(entry_text(entry));
        if keys.contains(&key) {
            continue;
        }
        keys.push(key);
        entries.push(entry.clone());
        added = true;
    }
    if !added {
        return Ok(false);
    }
    // Oldest first in the file, so the cap drops from the front.
    while entries.len() > MAX_ENTRIES || render_block(&entries).len() > MAX_BLOCK_BYTES {
        entries.remove(0);
    }
    let block = render_block(&entries);
    let updated = match (before, after) {
        (Some(before), Some(after)) => format!("{before}{block}{after}"),
        _ if content.is_empty() => format!("{block}\n"),
        _ if content.ends_with("\n\n") => format!("{content}{block}\n"),
        _ if content.ends_with('\n') => format!("{content}\n{block}\n"),
        _ => format!("{content}\n\n{block}\n"),
    };
    crate::support::write_atomically(path, updated.as_bytes())?;
    Ok(true)
}

/// Split a file into the text before the block, the block's entry lines and the text after it.
/// `(None, [], None)` when the file has no block.
type Split<'a> = (Option<&'a str>, Vec<String>, Option<&'a str>);

fn split_block(content: &str) -> anyhow::Result<Split<'_>> {
    let Some(start) = content.find(BLOCK_START) else {
        if content.contains(BLOCK_END) {
            bail!("`{BLOCK_END}` appears without `{BLOCK_START}`; fix the markers by hand");
        }
        return Ok((None, Vec::new(), None));
    };
    let inner_start = start + BLOCK_START.len();
    let Some(end_offset) = content[inner_start..].find(BLOCK_END) else {
        bail!("`{BLOCK_START}` has no matching `{BLOCK_END}`; fix the markers by hand");
    };
    let inner = &content[inner_start..inner_start + end_offset];
    let end = inner_start + end_offset + BLOCK_END.len();
    let entries = inner
        .lines()
        .map(str::trim_end)
        .filter(|line| line.starts_with("- "))
        .map(str::to_owned)
        .collect();
    Ok((Some(&content[..start]), entries, Some(&content[end..])))
}

fn render_block(entries: &[String]) -> String {
    let mut block = format!("{BLOCK_START}\n{BLOCK_HEADING}\n");
    for entry in entries {
        block.push_str(entry);
        block.push('\n');
    }
    block.push_str(BLOCK_END);
    block
}

/// What [`commit_learnings`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// One commit on the current branch touching only these files (relative to the working
    /// tree).
    Committed { commit: String, files: Vec<PathBuf> },
    /// The files match the current commit already.
    NothingToCommit,
    /// `repo_root` is not in a git repository: the files are written but not committed.
    NoRepository,
}

impl std::fmt::Display for CommitOutcome {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Committed { commit, files } => write!(
                formatter,
                "committed {} learned-context file(s) as {}",
                files.len(),
                &commit[..commit.len().min(12)]
            ),
            Self::NothingToCommit => write!(formatter, "learned context already committed"),
            Self::NoRepository => write!(
                formatter,
                "no git repository: learned context written but not committed"
            ),
        }
    }
}

/// Commit exactly `files` (paths under `repo_root`, as [`write_learnings`] returns them) on the
/// current branch with the message `chore(<agent>): update context files with learned
/// discoveries`. Other staged or unstaged changes in the repository are left as they were.
pub fn commit_learnings(
    repo_root: &Path,
    agent: &str,
    files: &[PathBuf],
) -> anyhow::Result<CommitOutcome> {
    let repository = match git2::Repository::discover(repo_root) {
        Ok(repository) => repository,
        Err(error) if error.code() == git2::ErrorCode::NotFound => {
            return Ok(CommitOutcome::NoRepository);
        }
        Err(error) => {
            return Err(error).with_context(|| {
                format!("failed to open the repository at `{}`", repo_root.display())
            });
        }
    };
    let Some(workdir) = repository.workdir() else {
        return Ok(CommitOutcome::NoRepository);
    };
    if files.is_empty() {
        return Ok(CommitOutcome::NothingToCommit);
    }
    let workdir = workdir
        .canonicalize()
        .with_context(|| format!("failed to resolve `{}`", workdir.display()))?;
    let mut relative_paths = Vec::new();
    for file in files {
        let absolute = if file.is_absolute() {
            file.clone()
        } else {
            repo_root.join(file)
        };
        let absolute = absolute
            .canonicalize()
            .with_context(|| format!("failed to resolve `{}`", absolute.display()))?;
        let relative = absolute
            .strip_prefix(&workdir)
            .with_context(|| {
                format!(
                    "`{}` is outside the repository `{}`",
                    absolute.display(),
                    workdir.display()
                )
            })?
            .to_owned();
        relative_paths.push(relative);
    }

    let parent = match repository.head() {
        Ok(head) => Some(head.peel_to_commit().context("HEAD is not a commit")?),
        Err(error) if error.code() == git2::ErrorCode::UnbornBranch => None,
        Err(error) => return Err(error).context("failed to read HEAD"),
    };
    // A private index built from HEAD's tree, so that only these files change in the commit
    // whatever else the user has staged.
    let mut index = git2::Index::new().context("failed to create an index")?;
    if let Some(parent) = &parent {
        index
            .read_tree(&parent.tree().context("failed to read HEAD's tree")?)
            .context("failed to load HEAD's tree")?;
    }
    for relative in &relative_paths {
        let content = fs::read(workdir.join(relative))
            .with_context(|| format!("failed to read `{}`", relative.display()))?;
        let blob = repository
            .blob(&content)
            .with_context(|| format!("failed to store `{}`", relative.display()))?;
        let mode = index
            .get_path(relative, 0)
            .map(|entry| entry.mode)
            .unwrap_or(0o100644);
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode,
            uid: 0,
            gid: 0,
            file_size: u32::try_from(content.len()).unwrap_or(u32::MAX),
            id: blob,
            flags: 0,
            flags_extended: 0,
            path: relative.to_string_lossy().replace('\\', "/").into_bytes(),
        };
        index
            .add(&entry)
            .with_context(|| format!("failed to stage `{}`", relative.display()))?;
    }
    let tree_id = index
        .write_tree_to(&repository)
        .context("failed to write the tree")?;
    if parent
        .as_ref()
        .is_some_and(|parent| parent.tree_id() == tree_id)
    {
        return Ok(CommitOutcome::NothingToCommit);
    }
    let tree = repository
        .find_tree(tree_id)
        .context("failed to read the tree")?;
    let signature =
        git2::Signature::now(BOT_NAME, BOT_EMAIL).context("failed to build the signature")?;
    let message = format!(
        "chore({}): update context files with learned discoveries",
        one_line(agent)
    );
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let commit = repository
        .commit(
            Some("HEAD"),
            &signature,
            &signature,
            &message,
            &tree,
            &parents,
        )
        .context("failed to commit the learned context")?;
    // Stage the same content in the real index so `git status` does not show these files as
    // changed; the user's other staged changes stay staged.
    let mut real_index = repository.index().context("failed to open the index")?;
    for relative in &relative_paths {
        real_index
            .add_path(relative)
            .with_context(|| format!("failed to update the index for `{}`", relative.display()))?;
    }
    real_index.write().context("failed to write the index")?;
    Ok(CommitOutcome::Committed {
        commit: commit.to_string(),
        files: relative_paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learnings_are_validated() {
        assert!(validate_learning("  ").is_err());
        assert!(validate_learning("one\ntwo").is_err());
        assert!(validate_learning(&"x".repeat(MAX_LEARNING_CHARS + 1)).is_err());
        assert!(validate_learning("ends the block -->").is_err());
        assert_eq!(
            validate_learning("  Use `uv run pytest`  ").unwrap(),
            "Use `uv run pytest`"
        );
        let redacted =
            validate_learning("token is ghp_abcdefghijklmnopqrstuvwxyz0123456789").unwrap();
        assert_eq!(redacted, format!("token is {}", crate::redact::MASK));
    }

    #[test]
    fn entry_text_strips_the_prefix() {
        assert_eq!(
            entry_text("- 2026-11-23 (monty, run r1): Pydantic v2 (not v1): validators"),
            "Pydantic v2 (not v1): validators"
        );
        assert_eq!(entry_text("- a hand-written note"), "a hand-written note");
    }

    #[test]
    fn the_sink_dedupes_per_scope() {
        let sink = LearningSink::new();
        let learning = |scope, text: &str| Learning {
            scope,
            text: text.into(),
        };
        assert!(sink.push(learning(LearningScope::Agent, "Use uv")));
        assert!(!sink.push(learning(LearningScope::Agent, "use   UV")));
        assert!(sink.push(learning(LearningScope::Shared, "Use uv")));
        assert_eq!(sink.learnings().len(), 2);
    }
}
