//! Versions: release tags (`[<path>/]vX.Y.Z`), the default branch, and the ref a user asked for,
//! resolved like Dagger resolves them.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::cache::git_cache_error;
use super::{GitError, GitSource};

/// A tag that names a release: `[<path>/]vX.Y.Z` without pre-release.
#[derive(Debug, Clone)]
pub(super) struct ReleaseTag {
    pub(super) name: String,
    /// The directory the tag is for (`""` for root-module tags).
    pub(super) prefix: String,
    pub(super) version: semver::Version,
    pub(super) commit: Oid,
}

/// The user's requested ref, resolved once.
#[derive(Debug, Clone)]
pub(super) struct ResolvedRef {
    /// What goes after `@` in `ref`: the full tag, branch name or commit.
    pub(super) name: String,
    pub(super) version: String,
    pub(super) commit: Oid,
}

pub(super) fn newest_tag<'a>(tags: &'a [ReleaseTag], module_path: &str) -> Option<&'a ReleaseTag> {
    tags.iter()
        .filter(|tag| tag.prefix == module_path)
        .max_by(|left, right| left.version.cmp(&right.version))
}

pub(super) fn default_branch(
    repository: &Repository,
    source: &GitSource,
) -> Result<(String, Oid), GitError> {
    let head = repository
        .find_reference("refs/remotes/origin/HEAD")
        .map_err(|_| GitError::Fetch {
            url: source.clone_url.clone(),
            message: "the repository has no default branch (is it empty?)".into(),
        })?;
    let name = head
        .symbolic_target()
        .ok()
        .flatten()
        .and_then(|target| target.strip_prefix("refs/remotes/origin/"))
        .unwrap_or("main")
        .to_owned();
    let commit = head
        .resolve()
        .and_then(|reference| reference.peel_to_commit())
        .map_err(|error| GitError::Fetch {
            url: source.clone_url.clone(),
            message: format!(
                "the default branch `{name}` has no commit: {}",
                error.message()
            ),
        })?;
    Ok((name, commit.id()))
}

/// Every tag of the form `[<path>/]vX.Y.Z` without a pre-release, peeled to its commit.
pub(super) fn release_tags(repository: &Repository) -> Result<Vec<ReleaseTag>, GitError> {
    let references = repository
        .references_glob("refs/tags/*")
        .map_err(|error| git_cache_error(repository.path(), &error))?;
    let mut tags = Vec::new();
    for reference in references.flatten() {
        let Some(name) = reference
            .name()
            .ok()
            .and_then(|n| n.strip_prefix("refs/tags/"))
        else {
            continue;
        };
        let (prefix, version_text) = match name.rsplit_once('/') {
            Some((prefix, version)) => (prefix, version),
            None => ("", name),
        };
        let Some(version) = version_text
            .strip_prefix('v')
            .and_then(|text| semver::Version::parse(text).ok())
            .filter(|version| version.pre.is_empty())
        else {
            continue;
        };
        // Annotated tags point at a tag object; the pin is the commit behind it.
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        tags.push(ReleaseTag {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            version,
            commit: commit.id(),
        });
    }
    tags.sort_by(|left, right| {
        left.prefix
            .cmp(&right.prefix)
            .then_with(|| right.version.cmp(&left.version))
    });
    Ok(tags)
}

/// Resolve the user's ref like Dagger does: a semver version looks for `<subpath>/<version>`,
/// then `<version>`; anything else is a tag, a branch or a commit.
pub(super) fn resolve_requested(
    repository: &Repository,
    source: &GitSource,
    tags: &[ReleaseTag],
    reference: &str,
) -> Result<ResolvedRef, GitError> {
    let subpath = source.subpath.as_deref().unwrap_or("");
    let looks_semver = reference.starts_with('v')
        && reference[1..]
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    let mut candidates = Vec::new();
    if looks_semver && !subpath.is_empty() {
        candidates.push(format!("refs/tags/{subpath}/{reference}"));
    }
    candidates.push(format!("refs/tags/{reference}"));
    candidates.push(format!("refs/remotes/origin/{reference}"));
    for candidate in &candidates {
        if let Ok(found) = repository.find_reference(candidate)
            && let Ok(commit) = found.peel_to_commit()
        {
            let name = candidate
                .strip_prefix("refs/tags/")
                .or_else(|| candidate.strip_prefix("refs/remotes/origin/"))
                .unwrap_or(candidate)
                .to_owned();
            let version = tags
                .iter()
                .find(|tag| tag.name == name)
                .map(|tag| format!("v{}", tag.version))
                .unwrap_or_else(|| reference.to_owned());
            return Ok(ResolvedRef {
                name,
                version,
                commit: commit.id(),
            });
        }
    }
    // A commit (full or abbreviated) already in the clone.
    if reference.len() >= 7
        && reference.chars().all(|c| c.is_ascii_hexdigit())
        && let Ok(object) = repository.revparse_single(reference)
        && let Ok(commit) = object.peel_to_commit()
    {
        return Ok(ResolvedRef {
            name: commit.id().to_string(),
            version: commit.id().to_string(),
            commit: commit.id(),
        });
    }
    Err(GitError::RefNotFound {
        repository: source.repository.clone(),
        reference: reference.to_owned(),
    })
}

/// The newest release tag for `module_dir` whose tree has the module; a tag from before the
/// module moved there is skipped rather than producing an empty module.
pub(super) fn newest_tag_with_module(
    repository: &Repository,
    tags: &[ReleaseTag],
    module_dir: &str,
) -> Option<ReleaseTag> {
    let marker = if module_dir.is_empty() {
        PathBuf::from("dagger.json")
    } else {
        Path::new(module_dir).join("dagger.json")
    };
    let mut candidates: Vec<&ReleaseTag> =
        tags.iter().filter(|tag| tag.prefix == module_dir).collect();
    candidates.sort_by(|left, right| right.version.cmp(&left.version));
    for tag in candidates {
        let present = repository
            .find_commit(tag.commit)
            .and_then(|commit| commit.tree())
            .and_then(|tree| tree.get_path(&marker))
            .is_ok();
        if present {
            return Some(tag.clone());
        }
        tracing::warn!(
            "tag `{}` has no `{}`; trying an older release",
            tag.name,
            marker.display()
        );
    }
    None
}
