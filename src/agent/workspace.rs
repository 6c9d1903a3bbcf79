//! One workspace per run: an overlay on `--source`. Reads fall through to the source unless the
//! run changed the path; writes and deletions are recorded in memory. At the end the changes are
//! applied atomically, shown as a diff, exported, or — for a run that failed — saved as a patch
//! outside the source, so a failed run never leaves the user's tree half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use super::tool::ToolError;

pub struct Workspace {
    root: PathBuf,
    /// Path → new content (`None`: deleted). Paths are normalised, relative, `/`-separated.
    overlay: Mutex<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conclusion {
    Apply,
    DryRun,
    Export(PathBuf),
    KeepPartial,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concluded {
    pub applied: Vec<PathBuf>,
    pub diff: Option<String>,
    pub patch: Option<PathBuf>,
    pub exported: Option<PathBuf>,
}

/// Directories never listed, searched or copied: version control and dependency/build output.
pub const SKIPPED_DIRECTORIES: [&str; 8] = [
    ".git",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".venv",
    "target",
];

impl Workspace {
    /// A workspace over `source`, which must be a directory (else a usage error, exit 2).
    pub fn open(source: &Path) -> anyhow::Result<Arc<Workspace>> {
        let root = source
            .canonicalize()
            .ok()
            .filter(|root| root.is_dir())
            .ok_or_else(|| {
                crate::exit::usage(format!(
                    "`--source {}` is not a directory",
                    source.display()
                ))
            })?;
        Ok(Arc::new(Workspace {
            root,
            overlay: Mutex::new(BTreeMap::new()),
        }))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Check a model-given path against the jail and return it normalised (relative,
    /// `/`-separated). The path is resolved component by component on the real file system,
    /// symlinks included, and refused when it is absolute, leaves the root (by `..` or through a
    /// symlink), or touches any `.git` — a directory or a gitfile, at any depth, a nested
    /// repository's included — or a bare git directory. Every directory of the returned path is
    /// a real directory (symlinked directories are replaced by where they lead). A final
    /// component that is a symlink is kept only when the link's own target passes the same
    /// checks: reading follows it, writing replaces the link by a file.
    pub fn resolve(&self, path: &str, write: bool) -> Result<String, ToolError> {
        let cleaned = path.trim().replace('\\', "/");
        if cleaned.starts_with('/')
            || Path::new(&cleaned).is_absolute()
            || cleaned.len() > 1 && cleaned.as_bytes()[1] == b':'
        {
            return Err(ToolError::Denied(format!(
                "`{path}` is absolute; paths are relative to the workspace root"
            )));
        }
        let parts = self.walk(path, &cleaned, false)?;
        let relative = parts.join("/");
        if write && relative.is_empty() {
            return Err(ToolError::InvalidArguments(
                "a file path is required".into(),
            ));
        }
        // A final symlink: its own target must pass the jail too (this walk fails otherwise).
        let final_is_link = self
            .root
            .join(&relative)
            .symlink_metadata()
            .is_ok_and(|metadata| metadata.file_type().is_symlink());
        if final_is_link && !matches!(self.overlay().get(&relative), Some(None)) {
            self.walk(path, &relative, true)
                .map_err(|error| match error {
                    ToolError::Denied(reason) => ToolError::Denied(format!(
                        "`{path}` is a symbolic link the tools may not follow: {reason}"
                    )),
                    other => other,
                })?;
        }
        Ok(relative)
    }

    /// Resolve `cleaned` from the root, one component at a time; symlinked directories (and,
    /// with `follow_final`, a symlink at the end) are replaced by their targets.
    fn walk(
        &self,
        path: &str,
        cleaned: &str,
        follow_final: bool,
    ) -> Result<Vec<String>, ToolError> {
        const MAX_LINKS: usize = 40;
        let leaves = |links: usize| {
            ToolError::Denied(if links == 0 {
                format!("`{path}` leaves the workspace")
            } else {
                format!("`{path}` points outside the workspace")
            })
        };
        let mut pending: std::collections::VecDeque<String> =
            cleaned.split('/').map(str::to_owned).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    resolved.pop().ok_or_else(|| leaves(links))?;
                    continue;
                }
                _ => {}
            }
            if part.eq_ignore_ascii_case(".git") {
                return Err(ToolError::Denied(format!(
                    "`{path}` is inside a `.git`, which agents may not read or change"
                )));
            }
            let mut candidate = self.root.clone();
            candidate.extend(&resolved);
            candidate.push(&part);
            let Ok(metadata) = candidate.symlink_metadata() else {
                resolved.push(part);
                continue;
            };
            let last = pending.iter().all(|rest| rest.is_empty() || rest == ".");
            if metadata.file_type().is_symlink() && (follow_final || !last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ToolError::Denied(format!(
                        "`{path}` goes through too many symbolic links"
                    )));
                }
                let target = std::fs::read_link(&candidate)
                    .map_err(|error| ToolError::Failed(format!("cannot read `{path}`: {error}")))?;
                let target = target.to_str().ok_or_else(|| {
                    ToolError::Denied(format!("`{path}` links to a path that is not UTF-8"))
                })?;
                let target = target.replace('\\', "/");
                let mut next: Vec<String> = if Path::new(&target).is_absolute() {
                    // Absolute: only a target under the root, which restarts the walk there.
                    let inside = Path::new(&target)
                        .strip_prefix(&self.root)
                        .map_err(|_| leaves(links))?;
                    resolved.clear();
                    inside
                        .to_str()
                        .ok_or_else(|| leaves(links))?
                        .split('/')
                        .map(str::to_owned)
                        .collect()
                } else {
                    target.split('/').map(str::to_owned).collect()
                };
                next.extend(pending.drain(..));
                pending = next.into();
                continue;
            }
            if metadata.is_dir() && is_git_directory(&candidate) {
                return Err(ToolError::Denied(format!(
                    "`{path}` is inside a git directory, which agents may not read or change"
                )));
            }
            resolved.push(part);
        }
        Ok(resolved)
    }

    fn overlay(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<String>>> {
        self.overlay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current text of a file, through the overlay.
    pub fn read_text(&self, path: &str) -> Result<String, ToolError> {
        let relative = self.resolve(path, false)?;
        if let Some(entry) = self.overlay().get(&relative) {
            return entry
                .clone()
                .ok_or_else(|| ToolError::Failed(format!("`{relative}` was deleted in this run")));
        }
        let file = self.root.join(&relative);
        if file.is_dir() {
            return Err(ToolError::InvalidArguments(format!(
                "`{relative}` is a directory; use `list_dir`"
            )));
        }
        let bytes = std::fs::read(&file)
            .map_err(|_| ToolError::Failed(format!("`{relative}` does not exist")))?;
        if bytes.contains(&0) {
            return Err(ToolError::Failed(format!("`{relative}` is a binary file")));
        }
        String::from_utf8(bytes)
            .map_err(|_| ToolError::Failed(format!("`{relative}` is not UTF-8 text")))
    }

    /// Lines `first..first + limit` (1-based) of a text file through the overlay, read by
    /// streaming: a file on disk is never loaded whole, each line is cut at `max_line` bytes
    /// (with a marker saying how long it was), and reading stops after `max_bytes` bytes of the
    /// file. Also counts the file's lines (up to that point).
    pub fn read_lines(
        &self,
        path: &str,
        first: usize,
        limit: usize,
        max_line: usize,
        max_bytes: u64,
    ) -> Result<Lines, ToolError> {
        let relative = self.resolve(path, false)?;
        let entry = self.overlay().get(&relative).cloned();
        let mut window = Lines {
            path: relative.clone(),
            ..Lines::default()
        };
        let mut keep = |number: usize, line: &[u8], length: usize| {
            if number >= first && number < first.saturating_add(limit) {
                let mut text = String::from_utf8_lossy(line).into_owned();
                if length > line.len() {
                    text.push_str(&format!("[… line cut: {length} bytes]"));
                }
                window.lines.push((number, text));
            }
        };
        match entry {
            Some(None) => {
                return Err(ToolError::Failed(format!(
                    "`{relative}` was deleted in this run"
                )));
            }
            Some(Some(content)) => {
                let mut number = 0;
                for line in content.lines() {
                    number += 1;
                    let cut = floor_char_boundary(line, max_line);
                    keep(number, &line.as_bytes()[..cut], line.len());
                }
                window.total = number;
            }
            None => {
                let file = self.root.join(&relative);
                if file.is_dir() {
                    return Err(ToolError::InvalidArguments(format!(
                        "`{relative}` is a directory; use `list_dir`"
                    )));
                }
                let opened = std::fs::File::open(&file)
                    .map_err(|_| ToolError::Failed(format!("`{relative}` does not exist")))?;
                let mut reader = std::io::BufReader::with_capacity(64 * 1024, opened);
                let head = std::io::BufRead::fill_buf(&mut reader).map_err(|error| {
                    ToolError::Failed(format!("cannot read `{relative}`: {error}"))
                })?;
                if head.contains(&0) {
                    return Err(ToolError::Failed(format!("`{relative}` is a binary file")));
                }
                let mut number = 0;
                let mut read: u64 = 0;
                loop {
                    if read >= max_bytes {
                        window.stopped_at = Some(read);
                        break;
                    }
                    match next_line(&mut reader, max_line) {
                        Ok(Some((line, length))) => {
                            number += 1;
                            read += length as u64 + 1;
                            keep(number, &line, length);
                        }
                        Ok(None) => break,
                        Err(error) => {
                            return Err(ToolError::Failed(format!(
                                "cannot read `{relative}`: {error}"
                            )));
                        }
                    }
                }
                window.total = number;
            }
        }
        Ok(window)
    }

    /// Does the file exist in the current view?
    pub fn exists(&self, relative: &str) -> bool {
        match self.overlay().get(relative) {
            Some(entry) => entry.is_some(),
            None => self.root.join(relative).is_file(),
        }
    }

    pub fn write_text(&self, path: &str, content: &str) -> Result<(), ToolError> {
        let relative = self.resolve(path, true)?;
        if self.root.join(&relative).is_dir() {
            return Err(ToolError::InvalidArguments(format!(
                "`{relative}` is a directory"
            )));
        }
        self.overlay().insert(relative, Some(content.to_owned()));
        Ok(())
    }

    pub fn delete(&self, path: &str) -> Result<(), ToolError> {
        let relative = self.resolve(path, true)?;
        if !self.exists(&relative) {
            return Err(ToolError::Failed(format!("`{relative}` does not exist")));
        }
        self.overlay().insert(relative, None);
        Ok(())
    }

    /// Every file in the current view (source files minus deletions plus additions), sorted,
    /// honouring `.gitignore` and skipping [`SKIPPED_DIRECTORIES`].
    pub fn files(&self) -> Vec<String> {
        let mut files: BTreeSet<String> = BTreeSet::new();
        let walker = ignore::WalkBuilder::new(&self.root)
            .hidden(false)
            .require_git(false)
            .filter_entry(|entry| {
                !SKIPPED_DIRECTORIES
                    .iter()
                    .any(|name| entry.file_name() == *name)
            })
            .build();
        for entry in walker.flatten() {
            if entry.file_type().is_some_and(|kind| kind.is_file())
                && let Ok(relative) = entry.path().strip_prefix(&self.root)
            {
                files.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
        for (path, entry) in self.overlay().iter() {
            match entry {
                Some(_) => files.insert(path.clone()),
                None => files.remove(path),
            };
        }
        files.into_iter().collect()
    }

    pub fn changes(&self) -> Vec<Change> {
        self.overlay()
            .iter()
            .filter_map(|(path, entry)| {
                let on_disk = std::fs::read(self.root.join(path)).ok();
                let kind = match (entry, on_disk) {
                    (Some(_), None) => ChangeKind::Added,
                    (Some(new), Some(old)) if new.as_bytes() != old.as_slice() => {
                        ChangeKind::Modified
                    }
                    (None, Some(_)) => ChangeKind::Deleted,
                    _ => return None,
                };
                Some(Change {
                    path: path.clone(),
                    kind,
                })
            })
            .collect()
    }

    pub fn has_changes(&self) -> bool {
        !self.changes().is_empty()
    }

    /// A unified diff of every change, `git apply`-able from the source root.
    pub fn diff(&self) -> String {
        let overlay = self.overlay().clone();
        let mut text = String::new();
        for change in self.changes() {
            let old = std::fs::read_to_string(self.root.join(&change.path)).unwrap_or_default();
            let new = overlay
                .get(&change.path)
                .cloned()
                .flatten()
                .unwrap_or_default();
            let (from, to) = match change.kind {
                ChangeKind::Added => ("/dev/null".to_owned(), format!("b/{}", change.path)),
                ChangeKind::Deleted => (format!("a/{}", change.path), "/dev/null".to_owned()),
                ChangeKind::Modified => {
                    (format!("a/{}", change.path), format!("b/{}", change.path))
                }
            };
            let patch = diffy::create_patch(&old, &new).to_string();
            // diffy names the sides `original`/`modified`; replace its two header lines. It also
            // writes an empty context line without its leading space, which `git apply` rejects.
            let hunks: String = patch
                .lines()
                .skip(2)
                .map(|line| {
                    if line.is_empty() {
                        " \n".to_owned()
                    } else {
                        format!("{line}\n")
                    }
                })
                .collect();
            text.push_str(&format!(
                "diff --git a/{0} b/{0}\n--- {from}\n+++ {to}\n{hunks}",
                change.path
            ));
        }
        text
    }

    /// Write every change into the source: each file through a temporary file in its own
    /// directory and a rename, so no file is ever half-written.
    pub fn apply(&self) -> anyhow::Result<Vec<PathBuf>> {
        self.apply_into(&self.root)
    }

    /// Every new content is staged beside its destination before any file is replaced, so a
    /// failure while writing leaves the target untouched; a failure after the first rename or
    /// deletion is marked [`crate::exit::AfterChanges`] with what was already changed.
    fn apply_into(&self, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let overlay = self.overlay().clone();
        let changes = self.changes();
        if target == self.root {
            // The tree may have changed since each path was checked: check them again.
            for change in &changes {
                self.resolve(&change.path, true)
                    .map_err(|error| anyhow::anyhow!("not applying `{}`: {error}", change.path))?;
            }
        }
        let mut writes: Vec<(PathBuf, String)> = Vec::new();
        let mut deletions: Vec<PathBuf> = Vec::new();
        for change in &changes {
            let destination = target.join(&change.path);
            match overlay.get(&change.path).cloned().flatten() {
                Some(content) => writes.push((destination, content)),
                None => deletions.push(destination),
            }
        }
        let files: Vec<(&Path, &[u8])> = writes
            .iter()
            .map(|(path, content)| (path.as_path(), content.as_bytes()))
            .collect();
        crate::support::write_files_atomically(&files)?;
        let mut applied: Vec<PathBuf> = writes.into_iter().map(|(path, _)| path).collect();
        for destination in deletions {
            if destination.exists() {
                std::fs::remove_file(&destination)
                    .with_context(|| format!("failed to delete `{}`", destination.display()))
                    .map_err(|error| {
                        crate::exit::after_changes(error, applied.iter().map(|path| path.display()))
                    })?;
            }
            applied.push(destination);
        }
        Ok(applied)
    }

    /// A copy of the source (without `.git`) with the changes applied, in `dir`.
    pub fn export(&self, dir: &Path) -> anyhow::Result<()> {
        crate::support::copy_tree(&self.root, dir, &[".git"])?;
        self.apply_into(dir)?;
        Ok(())
    }

    /// The pending changes as a patch file outside the source tree.
    pub fn save_patch(&self) -> anyhow::Result<PathBuf> {
        let directory = std::env::temp_dir().join("agentci").join("patches");
        std::fs::create_dir_all(&directory)
            .with_context(|| format!("failed to create `{}`", directory.display()))?;
        let name = format!(
            "{}-{:06x}.patch",
            chrono::Utc::now().format("%Y%m%dT%H%M%S"),
            fastrand::u32(..0x1000000)
        );
        let path = directory.join(name);
        std::fs::write(&path, self.diff())
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        Ok(path)
    }

    /// The end of a run. A run that succeeded applies, prints or exports its changes; one that
    /// failed never touches the source: its changes go to a patch file (and, with
    /// `KeepPartial`, are applied as well, because the user asked for them).
    pub fn conclude(&self, succeeded: bool, mode: &Conclusion) -> anyhow::Result<Concluded> {
        let mut concluded = Concluded::default();
        if !self.has_changes() {
            return Ok(concluded);
        }
        if !succeeded {
            concluded.patch = Some(self.save_patch()?);
            if *mode == Conclusion::KeepPartial {
                concluded.applied = self.apply()?;
            }
            return Ok(concluded);
        }
        match mode {
            Conclusion::Apply | Conclusion::KeepPartial => concluded.applied = self.apply()?,
            Conclusion::DryRun => concluded.diff = Some(self.diff()),
            Conclusion::Export(dir) => {
                self.export(dir)?;
                concluded.exported = Some(dir.clone());
            }
        }
        Ok(concluded)
    }

    /// Record a file as it now is in another tree (after `exec` ran in a copy). The path goes
    /// through the same jail as a tool's: a command cannot write into `.git` or out of the root.
    pub(crate) fn record(&self, path: &str, content: Option<String>) -> Result<String, ToolError> {
        let relative = self.resolve(path, true)?;
        self.overlay().insert(relative.clone(), content);
        Ok(relative)
    }

    /// Every path this run wrote or deleted, as the overlay holds it (unchanged ones included).
    pub(crate) fn overlay_entries(&self) -> BTreeMap<String, Option<String>> {
        self.overlay().clone()
    }
}

/// A window of a file's lines, as [`Workspace::read_lines`] read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// The path, normalised.
    pub path: String,
    /// (1-based line number, text) for each line of the window.
    pub lines: Vec<(usize, String)>,
    /// Lines in the file (or up to where reading stopped).
    pub total: usize,
    /// Reading stopped after this many bytes; the file is longer.
    pub stopped_at: Option<u64>,
}

/// The next line (without its `\n` or `\r\n`), at most `cap` bytes of it kept, and its full
/// length; `None` at the end. A line of any length is read in bounded memory.
fn next_line(
    reader: &mut impl std::io::BufRead,
    cap: usize,
) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let mut kept = Vec::new();
    let mut length = 0;
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match buffer.iter().position(|&byte| byte == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        length += chunk.len();
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if kept.last() == Some(&b'\r') && length == kept.len() {
        kept.pop();
        length -= 1;
    }
    Ok(Some((kept, length)))
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A bare repository or a git directory under another name: `HEAD`, `objects/` and `refs/`.
fn is_git_directory(directory: &Path) -> bool {
    directory.join("HEAD").is_file()
        && directory.join("objects").is_dir()
        && directory.join("refs").is_dir()
}
