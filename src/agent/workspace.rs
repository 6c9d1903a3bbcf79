//! One workspace per run: an overlay on `--source`. Reads fall through to the source unless the
//! run changed the path; writes and deletions are recorded in memory. At the end the changes are
//! applied atomically, shown as a diff, exported, or — for a run that failed — saved as a patch
//! outside the source, so a failed run never leaves the user's tree half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
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

    /// Normalise a model-given path and check it stays inside the workspace: no absolute paths,
    /// no `..` out of the root, no symlink whose target is outside, no writes under `.git`.
    pub fn resolve(&self, path: &str, write: bool) -> Result<String, ToolError> {
        let cleaned = path.trim().replace('\\', "/");
        if cleaned.starts_with('/')
            || Path::new(&cleaned).is_absolute()
            || cleaned.contains(':') && cleaned.len() > 1 && cleaned.as_bytes()[1] == b':'
        {
            return Err(ToolError::Denied(format!(
                "`{path}` is absolute; paths are relative to the workspace root"
            )));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in cleaned.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(ToolError::Denied(format!("`{path}` leaves the workspace")));
                    }
                }
                other => parts.push(other),
            }
        }
        let relative = parts.join("/");
        if write && parts.first() == Some(&".git") {
            return Err(ToolError::Denied(format!(
                "`{path}` is inside `.git`, which agents may not change"
            )));
        }
        if write && relative.is_empty() {
            return Err(ToolError::InvalidArguments(
                "a file path is required".into(),
            ));
        }
        // The deepest part of the path that exists must resolve inside the root: a symlink
        // anywhere along it could otherwise point out of the tree.
        let mut probe = self.root.join(&relative);
        loop {
            if probe.symlink_metadata().is_ok() {
                let real = probe.canonicalize().map_err(|_| {
                    ToolError::Denied(format!("`{path}` points outside the workspace"))
                })?;
                if !real.starts_with(&self.root) {
                    return Err(ToolError::Denied(format!(
                        "`{path}` points outside the workspace"
                    )));
                }
                break;
            }
            if !probe.pop() || !probe.starts_with(&self.root) {
                break;
            }
        }
        Ok(relative)
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

    fn apply_into(&self, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let overlay = self.overlay().clone();
        let mut applied = Vec::new();
        for change in self.changes() {
            let destination = target.join(&change.path);
            match overlay.get(&change.path).cloned().flatten() {
                Some(content) => write_atomically(&destination, &content)?,
                None => {
                    if destination.exists() {
                        std::fs::remove_file(&destination).with_context(|| {
                            format!("failed to delete `{}`", destination.display())
                        })?;
                    }
                }
            }
            applied.push(destination);
        }
        Ok(applied)
    }

    /// A copy of the source (without `.git`) with the changes applied, in `dir`.
    pub fn export(&self, dir: &Path) -> anyhow::Result<()> {
        copy_tree(&self.root, dir, &[".git"])?;
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

    /// Record a file as it now is in another tree (after `exec` ran in a copy).
    pub(crate) fn record(&self, relative: &str, content: Option<String>) {
        self.overlay().insert(relative.to_owned(), content);
    }
}

fn write_atomically(destination: &Path, content: &str) -> anyhow::Result<()> {
    let parent = destination
        .parent()
        .context("a file has no parent directory")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    let mut temporary = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("failed to write in `{}`", parent.display()))?;
    std::io::Write::write_all(&mut temporary, content.as_bytes())?;
    if let Ok(metadata) = std::fs::metadata(destination) {
        let _ = std::fs::set_permissions(temporary.path(), metadata.permissions());
    }
    temporary
        .persist(destination)
        .with_context(|| format!("failed to replace `{}`", destination.display()))?;
    Ok(())
}

/// Copy a tree, skipping directories named in `skip` and symlinks that leave it.
pub(crate) fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> anyhow::Result<()> {
    let walker = walkdir::WalkDir::new(from)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !skip.iter().any(|name| entry.file_name() == *name)
        });
    for entry in walker {
        let entry = entry?;
        let relative = entry.path().strip_prefix(from)?;
        if relative
            .components()
            .any(|part| matches!(part, Component::ParentDir))
        {
            continue;
        }
        let destination = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination)?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &destination)
                .with_context(|| format!("failed to copy `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}
