//! `exec`: run one allow-listed command, without a shell, in this run's scratch copy of the
//! workspace (the source plus this run's changes). The copy is made at the first call and kept
//! for the whole run, so what one command installs the next one sees; the project's dependency
//! folders (`node_modules`, `.venv`, `target`, …) are linked into it rather than copied, so the
//! project's own tools work. Only the commands named as checks run against those links; before
//! any other command (an install) runs, the linked folders are copied into the scratch copy
//! once, so what it installs lands in the run's copy and never in the project's own
//! `node_modules` or `.venv`. What a command changes flows back into the overlay (and so under
//! the end-of-run rules: apply, diff, patch) only for paths the project does not ignore. The
//! output keeps a rolling tail, redacted; the environment loses every variable whose name
//! suggests a credential.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::AsyncReadExt as _;

use crate::agent::tool::{Tool, ToolError, arguments, spec};
use crate::agent::workspace::{SKIPPED_DIRECTORIES, Workspace};
use crate::llm::ToolSpec;
use crate::support::{command_allowed, split_words};

/// Bytes of each output stream kept (the newest ones).
const MAX_OUTPUT_BYTES: usize = 16_000;
const MAX_FLOW_BACK_BYTES: u64 = 1_000_000;
const SECRET_WORDS: [&str; 4] = ["KEY", "TOKEN", "SECRET", "PASSWORD"];

/// Dependency folders linked (not copied) into the scratch copy, at any depth.
pub const DEPENDENCY_DIRECTORIES: [&str; 8] = [
    "node_modules",
    ".venv",
    "venv",
    "target",
    ".tox",
    ".nox",
    "bower_components",
    ".gradle",
];

/// Outputs that never flow back when `--source` is not a git checkout (in a checkout, the
/// project's `.gitignore` and `.git/info/exclude` decide).
pub const NEVER_FLOWS_BACK: [&str; 16] = [
    "junit.xml",
    ".pytest_cache",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    "node_modules",
    "dist",
    "build",
    "coverage",
    ".coverage",
    "htmlcov",
    ".angular",
    ".venv",
    "venv",
    "target",
    ".tox",
];

pub struct ExecTool {
    workspace: Arc<Workspace>,
    allowed: Vec<String>,
    /// Allowed commands that only read the dependency folders (the agent's checks).
    checks: Vec<String>,
    timeout: Duration,
    /// This run's scratch copy, made by the first call.
    scratch: tokio::sync::Mutex<Option<Scratch>>,
}

/// The scratch copy and the overlay entries already written into it.
struct Scratch {
    directory: tempfile::TempDir,
    synced: BTreeMap<String, Option<String>>,
    /// Dependency folders still linked to the project's own (relative paths).
    linked: Vec<PathBuf>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExecArguments {
    /// One command, e.g. `python -m pytest -q tests/test_auth.py`. No pipes, redirections or `&&`.
    command: String,
}

impl ExecTool {
    /// `exec` for `allowed` commands, of which `checks` only read the dependency folders.
    pub fn new(
        workspace: Arc<Workspace>,
        allowed: Vec<String>,
        checks: Vec<String>,
        timeout: Duration,
    ) -> Self {
        Self {
            workspace,
            allowed,
            checks,
            timeout,
            scratch: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl Tool for ExecTool {
    fn spec(&self) -> ToolSpec {
        let description = format!(
            "Run one command in this run's copy of the workspace; the copy persists between calls, so what one command installs the next one sees, and the project's dependency folders (node_modules, .venv, target) are available. Files it changes become changes of the run unless the project ignores them. Allowed: {}.",
            self.allowed
                .iter()
                .map(|entry| format!("`{entry}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        spec::<ExecArguments>("exec", &description)
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: ExecArguments = arguments(value)?;
        let words = split(&args.command)?;
        if !command_allowed(&words, &self.allowed) {
            return Err(ToolError::Denied(format!(
                "`{}` is not on this agent's allow-list ({})",
                args.command,
                self.allowed.join(", ")
            )));
        }
        let mut guard = self.scratch.lock().await;
        let workspace = Arc::clone(&self.workspace);
        let previous = guard.take();
        let installs = !command_allowed(&words, &self.checks);
        let scratch = blocking(move || {
            let mut scratch = prepare(&workspace, previous)?;
            if installs {
                own_dependencies(workspace.root(), &mut scratch)?;
            }
            Ok(scratch)
        })
        .await
        .map_err(|error| ToolError::Failed(format!("cannot copy the workspace: {error:#}")))?;
        let directory = scratch.directory.path().to_path_buf();
        *guard = Some(scratch);
        let ran = run(&words, &directory, self.workspace.root(), self.timeout).await;
        let workspace = Arc::clone(&self.workspace);
        let copy = directory.clone();
        let changed = blocking(move || Ok(flow_back(&workspace, &copy)))
            .await
            .unwrap_or_default();
        if let Some(scratch) = guard.as_mut() {
            scratch.synced = self.workspace.overlay_entries();
        }
        let (code, stdout, stderr) = match ran {
            Ok(output) => output,
            Err(Failure::Timeout) => {
                return Err(ToolError::Failed(format!(
                    "`{}` did not finish within {}s and was stopped",
                    args.command,
                    self.timeout.as_secs()
                )));
            }
            Err(Failure::Spawn(error)) => {
                return Err(ToolError::Failed(format!(
                    "cannot run `{}`: {error}",
                    words[0]
                )));
            }
        };
        let mut text = format!(
            "exit code: {}\n",
            code.map_or_else(|| "killed by a signal".to_owned(), |code| code.to_string())
        );
        for (name, tail) in [("stdout", stdout), ("stderr", stderr)] {
            if !tail.is_empty() {
                text.push_str(&format!("--- {name}\n{}\n", tail.render()));
            }
        }
        if !changed.is_empty() {
            text.push_str(&format!(
                "files changed by the command: {}\n",
                changed.join(", ")
            ));
        }
        Ok(crate::redact::redact(&text).into_owned())
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| anyhow::anyhow!("a file task failed: {error}"))?
}

/// Split a command line for `exec`: an empty line or shell syntax is refused.
fn split(command: &str) -> Result<Vec<String>, ToolError> {
    let words = split_words(command).map_err(|error| match error {
        crate::support::SplitError::ShellOperator(_) => ToolError::Denied(error.to_string()),
        other => ToolError::InvalidArguments(other.to_string()),
    })?;
    if words.is_empty() {
        return Err(ToolError::InvalidArguments("the command is empty".into()));
    }
    Ok(words)
}

enum Failure {
    Timeout,
    Spawn(std::io::Error),
}

/// The newest bytes of an output stream, and how many older ones were dropped.
#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    dropped: usize,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let over = self.bytes.len().saturating_sub(MAX_OUTPUT_BYTES);
        if over > 0 {
            self.bytes.drain(..over);
            self.dropped += over;
        }
    }
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    fn render(&self) -> String {
        let bytes: Vec<u8> = self.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        if self.dropped == 0 {
            text.trim_end().to_owned()
        } else {
            format!(
                "[… {} earlier bytes not shown]\n{}",
                self.dropped,
                text.trim_end()
            )
        }
    }
}

async fn drain(reader: Option<impl tokio::io::AsyncRead + Unpin>) -> Tail {
    let mut tail = Tail::default();
    let Some(mut reader) = reader else {
        return tail;
    };
    let mut buffer = vec![0_u8; 8192];
    while let Ok(read) = reader.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        tail.push(&buffer[..read]);
    }
    tail
}

/// Run the command in `directory` (the scratch copy of `root`), keeping a rolling tail of each
/// output stream.
async fn run(
    words: &[String],
    directory: &Path,
    root: &Path,
    timeout: Duration,
) -> Result<(Option<i32>, Tail, Tail), Failure> {
    let mut command = tokio::process::Command::new(&words[0]);
    command
        .args(&words[1..])
        .current_dir(directory)
        .env_clear()
        .envs(
            std::env::vars()
                .filter(|(name, _)| {
                    let upper = name.to_ascii_uppercase();
                    !SECRET_WORDS.iter().any(|word| upper.contains(word))
                })
                .map(|(name, value)| {
                    let value = into_copy(&name, &value, root, directory);
                    (name, value)
                }),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(Failure::Spawn)?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = tokio::time::timeout(timeout, async {
        let (status, stdout, stderr) = tokio::join!(child.wait(), drain(stdout), drain(stderr));
        (status, stdout, stderr)
    })
    .await;
    match finished {
        Err(_) => {
            let _ = child.kill().await;
            Err(Failure::Timeout)
        }
        Ok((status, stdout, stderr)) => {
            let code = status.map_err(Failure::Spawn)?.code();
            Ok((code, stdout, stderr))
        }
    }
}

/// The scratch copy, up to date with the overlay: made on the first call (the source without
/// `.git` and caches, dependency folders linked), then only the overlay entries written since.
fn prepare(workspace: &Workspace, previous: Option<Scratch>) -> anyhow::Result<Scratch> {
    let mut scratch = match previous {
        Some(scratch) => scratch,
        None => {
            let directory = tempfile::Builder::new().prefix("agentci-exec-").tempdir()?;
            let mut skipped: Vec<&str> = SKIPPED_DIRECTORIES.to_vec();
            skipped.extend(DEPENDENCY_DIRECTORIES);
            crate::support::copy_tree(workspace.root(), directory.path(), &skipped)?;
            let linked = link_dependencies(workspace.root(), directory.path())?;
            Scratch {
                directory,
                synced: BTreeMap::new(),
                linked,
            }
        }
    };
    for (path, entry) in workspace.overlay_entries() {
        if scratch.synced.get(&path) == Some(&entry) {
            continue;
        }
        let destination = scratch.directory.path().join(&path);
        match &entry {
            Some(content) => {
                if let Some(parent) = destination.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                // A link left where the file goes would be written through.
                let _ = std::fs::remove_file(&destination);
                std::fs::write(&destination, content)?;
            }
            None => {
                let _ = std::fs::remove_file(&destination);
            }
        }
        scratch.synced.insert(path, entry);
    }
    Ok(scratch)
}

/// An activated virtualenv of the project (`VIRTUAL_ENV`, its `bin` on `PATH`) points into the
/// scratch copy instead, so that `python -m pip` and tools that honour `VIRTUAL_ENV` install into
/// the run's copy. Other variables, and paths outside the project, are left alone.
fn into_copy(name: &str, value: &str, root: &Path, copy: &Path) -> String {
    let map = |entry: &str| match Path::new(entry).strip_prefix(root) {
        Ok(relative) if !root.as_os_str().is_empty() => copy.join(relative).display().to_string(),
        _ => entry.to_owned(),
    };
    match name {
        "VIRTUAL_ENV" => map(value),
        "PATH" => std::env::join_paths(
            std::env::split_paths(value).map(|entry| map(&entry.display().to_string())),
        )
        .map(|joined| joined.to_string_lossy().into_owned())
        .unwrap_or_else(|_| value.to_owned()),
        _ => value.to_owned(),
    }
}

/// Replace the links to the project's dependency folders with copies of them, once, before a
/// command that may install: it then writes into the run's copy, never into the project.
fn own_dependencies(source: &Path, scratch: &mut Scratch) -> anyhow::Result<()> {
    for relative in std::mem::take(&mut scratch.linked) {
        let link = scratch.directory.path().join(&relative);
        if link
            .symlink_metadata()
            .is_ok_and(|metadata| metadata.file_type().is_symlink())
        {
            std::fs::remove_file(&link)?;
            let original = source.join(&relative);
            crate::support::copy_tree(&original, &link, &[])?;
            retarget_scripts(&original, &link)?;
        }
    }
    Ok(())
}

/// A virtualenv's scripts larger than this are not scripts a venv writes; left alone.
const MAX_SCRIPT_BYTES: u64 = 1024 * 1024;

/// A copied virtualenv's console scripts (`pip`, `pytest`, `poetry`, …) name their interpreter
/// by absolute path in their first line, and that path is the project's: run from the copy, they
/// would still start the project's interpreter and install into the project's venv. Point them
/// at the copy's interpreter instead (also in the `'''exec'` form pip writes for long paths).
fn retarget_scripts(original: &Path, copy: &Path) -> anyhow::Result<()> {
    if !copy.join("pyvenv.cfg").is_file() {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(copy.join("bin")) else {
        return Ok(());
    };
    let mut prefixes = vec![format!("{}/", original.display())];
    if let Ok(canonical) = original.canonicalize() {
        let canonical = format!("{}/", canonical.display());
        if !prefixes.contains(&canonical) {
            prefixes.push(canonical);
        }
    }
    let replacement = format!("{}/", copy.display());
    for entry in entries.flatten() {
        let path = entry.path();
        // Links (`python` → the base interpreter) are kept as they are.
        let is_script = path
            .symlink_metadata()
            .is_ok_and(|metadata| metadata.is_file() && metadata.len() <= MAX_SCRIPT_BYTES);
        if !is_script {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        if !bytes.starts_with(b"#!") {
            continue;
        }
        // The interpreter stands in the first line, or in the first three for the long form.
        let head_length = bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(2)
            .map_or(bytes.len(), |(index, _)| index + 1);
        let Ok(head) = std::str::from_utf8(&bytes[..head_length]) else {
            continue;
        };
        let retargeted = prefixes.iter().fold(head.to_owned(), |text, prefix| {
            text.replace(prefix, &replacement)
        });
        if retargeted != head {
            let mut content = retargeted.into_bytes();
            content.extend_from_slice(&bytes[head_length..]);
            // Written in place, so the script keeps its mode.
            std::fs::write(&path, content)?;
        }
    }
    Ok(())
}

/// Link every dependency folder of the source (at any depth, outside `.git`) into the copy;
/// the relative paths linked.
fn link_dependencies(source: &Path, copy: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut walker = walkdir::WalkDir::new(source)
        .follow_links(false)
        .into_iter();
    while let Some(entry) = walker.next() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_dir() || entry.depth() == 0 {
            continue;
        }
        let name = entry.file_name();
        if SKIPPED_DIRECTORIES
            .iter()
            .any(|skipped| name == *skipped && !DEPENDENCY_DIRECTORIES.contains(skipped))
        {
            walker.skip_current_dir();
        } else if DEPENDENCY_DIRECTORIES
            .iter()
            .any(|dependency| name == *dependency)
        {
            if let Ok(relative) = entry.path().strip_prefix(source) {
                found.push(relative.to_path_buf());
            }
            walker.skip_current_dir();
        }
    }
    for relative in &found {
        let link = copy.join(relative);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent)?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(source.join(relative), &link)?;
        #[cfg(not(unix))]
        crate::support::copy_tree(&source.join(relative), &link, &[])?;
    }
    Ok(found)
}

/// Which outputs stay in the scratch copy: what the project ignores (in a git checkout) or the
/// fixed [`NEVER_FLOWS_BACK`] list (elsewhere).
struct Ignored {
    git: Option<ignore::gitignore::Gitignore>,
}

impl Ignored {
    fn for_source(root: &Path) -> Self {
        let checkout = root
            .ancestors()
            .any(|directory| directory.join(".git").exists());
        if !checkout {
            return Self { git: None };
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        let exclude = root.join(".git/info/exclude");
        if exclude.is_file() {
            let _ = builder.add(exclude);
        }
        Self {
            git: builder.build().ok(),
        }
    }

    fn is_ignored(&self, relative: &str, is_dir: bool) -> bool {
        let never = relative.split('/').any(|part| {
            SKIPPED_DIRECTORIES.contains(&part) || DEPENDENCY_DIRECTORIES.contains(&part)
        });
        if never {
            return true;
        }
        match &self.git {
            None => relative
                .split('/')
                .any(|part| NEVER_FLOWS_BACK.contains(&part)),
            Some(exclude) => exclude
                .matched_path_or_any_parents(relative, is_dir)
                .is_ignore(),
        }
    }
}

/// Record in the overlay every text file the command created, changed or deleted, unless the
/// project ignores it; the paths recorded, sorted.
fn flow_back(workspace: &Workspace, copy: &Path) -> Vec<String> {
    let ignored = Ignored::for_source(workspace.root());
    let checkout = ignored.git.is_some();
    let mut changed = Vec::new();
    let mut present = BTreeSet::new();
    // `.gitignore` files of the copy (the project's, and any the command changed) decide in a
    // checkout; elsewhere only the fixed list does.
    let walker = ignore::WalkBuilder::new(copy)
        .hidden(false)
        .git_ignore(checkout)
        .git_exclude(false)
        .git_global(false)
        .ignore(false)
        .parents(false)
        .require_git(false)
        .follow_links(false)
        .build();
    for entry in walker.flatten() {
        let Ok(relative) = entry.path().strip_prefix(copy) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if relative.is_empty() || !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        if ignored.is_ignored(&relative, false)
            || entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX) > MAX_FLOW_BACK_BYTES
        {
            continue;
        }
        present.insert(relative.clone());
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if bytes.contains(&0) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if workspace.read_text(&relative).ok().as_deref() != Some(text.as_str()) {
            match workspace.record(&relative, Some(text)) {
                Ok(recorded) => changed.push(recorded),
                Err(error) => tracing::warn!("`exec` output `{relative}` not kept: {error}"),
            }
        }
    }
    for file in workspace.files() {
        if !present.contains(&file)
            && !ignored.is_ignored(&file, false)
            && copy.join(&file).symlink_metadata().is_err()
            && workspace.record(&file, None).is_ok()
        {
            changed.push(file);
        }
    }
    changed.sort();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activated_virtualenv_of_the_project_points_into_the_copy() {
        let (root, copy) = (Path::new("/work/app"), Path::new("/tmp/agentci-exec-1"));
        assert_eq!(
            into_copy("VIRTUAL_ENV", "/work/app/.venv", root, copy),
            "/tmp/agentci-exec-1/.venv"
        );
        assert_eq!(
            into_copy(
                "PATH",
                "/work/app/.venv/bin:/usr/bin:/work/other/bin",
                root,
                copy
            ),
            "/tmp/agentci-exec-1/.venv/bin:/usr/bin:/work/other/bin"
        );
        assert_eq!(
            into_copy("VIRTUAL_ENV", "/opt/venv", root, copy),
            "/opt/venv"
        );
        assert_eq!(into_copy("HOME", "/work/app", root, copy), "/work/app");
    }

    #[test]
    fn commands_split_like_a_shell_without_its_operators() {
        assert_eq!(
            split("python -m pytest -k 'a b' \"c\\\"d\"").unwrap(),
            ["python", "-m", "pytest", "-k", "a b", "c\"d"]
        );
        assert!(matches!(split("pytest | tee x"), Err(ToolError::Denied(_))));
        assert!(matches!(
            split("pytest && rm -rf /"),
            Err(ToolError::Denied(_))
        ));
        assert!(matches!(split("echo $(whoami)"), Err(ToolError::Denied(_))));
        assert!(matches!(
            split("echo 'open"),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn the_rolling_tail_keeps_the_newest_bytes() {
        let mut tail = Tail::default();
        tail.push(&vec![b'a'; MAX_OUTPUT_BYTES]);
        tail.push(b"end");
        let shown = tail.render();
        assert!(
            shown.starts_with("[… 3 earlier bytes not shown]"),
            "{shown}"
        );
        assert!(shown.ends_with("aend"));
    }
}
