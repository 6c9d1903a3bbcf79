//! The files to scan, laid out in the cache from the object database: each module's subtree at
//! the commit of its version, built in a temporary directory and renamed into place.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::cache::{cache_error, fnv1a, git_cache_error};
use super::tags::newest_tag_with_module;
use super::{Checkout, GitError};

pub(super) fn is_safe_relative(path: &str) -> bool {
    Path::new(path)
        .components()
        .all(|component| matches!(component, Component::Normal(name) if name != ".git"))
}

/// Lay out the files to scan and return their directory.
///
/// Each module in a monorepo has its own version, so no single commit shows what a user would
/// install. We check nothing out; instead we write blobs straight from the object database into a
/// directory built from the default branch's tree, and then replace each module's subtree with
/// the tree at the commit `version_for` picks for it (outer modules first, so a nested module's
/// own tag wins inside its parent). The layout is keyed by the set of commits used, so an
/// unchanged repository reuses it and a new tag produces a new one; a run never sees a
/// half-written layout because it is built in a temporary directory and renamed into place.
pub(super) fn lay_out(
    repository: &Repository,
    entry: &Path,
    checkout: &mut Checkout,
) -> Result<PathBuf, GitError> {
    let subpath = checkout.subpath.as_deref().unwrap_or("");
    let base_commit = match &checkout.requested {
        Some(requested) => requested.commit,
        None => Oid::from_str(&checkout.default_commit)
            .map_err(|error| git_cache_error(entry, &error))?,
    };
    let object_error = |error: git2::Error| git_cache_error(repository.path(), &error);
    let base_tree = repository
        .find_commit(base_commit)
        .and_then(|commit| commit.tree())
        .map_err(object_error)?;

    // Module directory -> the commit to take it from; the scanned directory itself starts from
    // the base commit unless it is a module with its own version.
    let mut sources: BTreeMap<String, Oid> = BTreeMap::new();
    sources.insert(subpath.to_owned(), base_commit);
    if checkout.requested.is_none() {
        for module_dir in module_directories(&base_tree, subpath)? {
            let chosen = newest_tag_with_module(repository, &checkout.tags, &module_dir);
            let commit = chosen.as_ref().map_or(base_commit, |tag| tag.commit);
            checkout.module_tags.insert(module_dir.clone(), chosen);
            sources.insert(module_dir, commit);
        }
    }
    let key_text = format!("{sources:?}");
    // Outermost first, so that a nested module's subtree is written over its parent's.
    let mut plan: Vec<(String, Oid)> = sources.into_iter().collect();
    plan.sort_by_key(|(directory, _)| {
        let depth = if directory.is_empty() {
            0
        } else {
            directory.matches('/').count() + 1
        };
        (depth, directory.clone())
    });
    let views = entry.join("views");
    let view = views.join(format!("{:016x}", fnv1a(key_text.as_bytes())));
    if view.is_dir() {
        // Mark it as used, so pruning by age spares it.
        if let Err(error) =
            fs::File::open(&view).and_then(|dir| dir.set_modified(SystemTime::now()))
        {
            tracing::debug!("could not touch `{}`: {error}", view.display());
        }
        return Ok(view);
    }
    prune_old_views(&views);
    fs::create_dir_all(&views).map_err(|error| cache_error(&views, error))?;
    let staging = tempfile::Builder::new()
        .prefix("building-")
        .tempdir_in(&views)
        .map_err(|error| cache_error(&views, error))?;
    for (directory, commit) in &plan {
        let tree = repository
            .find_commit(*commit)
            .and_then(|commit| commit.tree())
            .map_err(object_error)?;
        let subtree = if directory.is_empty() {
            tree
        } else {
            match tree.get_path(Path::new(directory)) {
                Ok(entry) if entry.kind() == Some(ObjectType::Tree) => {
                    repository.find_tree(entry.id()).map_err(object_error)?
                }
                _ if directory == subpath => {
                    return Err(GitError::InvalidSubpath(directory.clone()));
                }
                _ => continue,
            }
        };
        let target = staging.path().join(directory);
        if target.exists() {
            fs::remove_dir_all(&target).map_err(|error| cache_error(&target, error))?;
        }
        write_tree(repository, &subtree, &target)?;
    }
    let built = staging.keep();
    if let Err(error) = fs::rename(&built, &view) {
        // Another run built the same layout meanwhile; theirs is as good as ours.
        let _ = fs::remove_dir_all(&built);
        if !view.is_dir() {
            return Err(cache_error(&view, error));
        }
    }
    Ok(view)
}

/// Layouts nobody has used for a day belong to superseded tags; a run uses its layout for
/// minutes, so removing those cannot pull files from under a running scan.
fn prune_old_views(views: &Path) {
    const KEEP: Duration = Duration::from_secs(24 * 60 * 60);
    let Ok(entries) = fs::read_dir(views) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age > KEEP);
        if old && let Err(error) = fs::remove_dir_all(entry.path()) {
            tracing::debug!("could not prune `{}`: {error}", entry.path().display());
        }
    }
}

/// Directories under `subpath` that hold a `dagger.json`, relative to the repository root.
fn module_directories(tree: &git2::Tree<'_>, subpath: &str) -> Result<Vec<String>, GitError> {
    let mut directories = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        if entry.kind() == Some(ObjectType::Blob) && entry.name().ok() == Some("dagger.json") {
            let directory = parent.trim_end_matches('/').to_owned();
            let inside = subpath.is_empty()
                || directory == subpath
                || directory.starts_with(&format!("{subpath}/"));
            if inside {
                directories.push(directory);
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(|error| git_cache_error(Path::new(subpath), &error))?;
    Ok(directories)
}

/// Write a tree's files under `target`: regular files, executables and symlinks; submodules are
/// skipped (their content is not in this repository).
fn write_tree(
    repository: &Repository,
    tree: &git2::Tree<'_>,
    target: &Path,
) -> Result<(), GitError> {
    fs::create_dir_all(target).map_err(|error| cache_error(target, error))?;
    let mut failure: Option<GitError> = None;
    let walked = tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let relative = Path::new(parent).join(name);
        // Tree entries come from a remote we do not control: never write outside `target` or
        // into a `.git` directory.
        if !is_safe_relative(&relative.to_string_lossy()) {
            return TreeWalkResult::Skip;
        }
        let path = target.join(&relative);
        let result = match entry.kind() {
            Some(ObjectType::Tree) => {
                fs::create_dir_all(&path).map_err(|error| cache_error(&path, error))
            }
            Some(ObjectType::Blob) => write_blob(repository, entry.id(), entry.filemode(), &path),
            _ => Ok(()),
        };
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(error) => {
                failure = Some(error);
                TreeWalkResult::Abort
            }
        }
    });
    match (failure, walked) {
        (Some(error), _) => Err(error),
        (None, Err(error)) => Err(git_cache_error(target, &error)),
        (None, Ok(())) => Ok(()),
    }
}

fn write_blob(repository: &Repository, id: Oid, mode: i32, path: &Path) -> Result<(), GitError> {
    let blob = repository
        .find_blob(id)
        .map_err(|error| git_cache_error(path, &error))?;
    const SYMLINK: i32 = 0o120000;
    const EXECUTABLE: i32 = 0o100755;
    if mode == SYMLINK {
        #[cfg(unix)]
        {
            let target = String::from_utf8_lossy(blob.content()).into_owned();
            // A link pointing outside the layout could make the scanner read the user's files.
            if Path::new(&target).is_absolute() || target.split('/').any(|part| part == "..") {
                return Ok(());
            }
            return std::os::unix::fs::symlink(&target, path)
                .map_err(|error| cache_error(path, error));
        }
        #[cfg(not(unix))]
        return Ok(());
    }
    fs::write(path, blob.content()).map_err(|error| cache_error(path, error))?;
    #[cfg(unix)]
    if mode == EXECUTABLE {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .map_err(|error| cache_error(path, error))?;
    }
    Ok(())
}
