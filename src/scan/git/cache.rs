//! The on-disk cache: one directory per clone URL, holding the bare clone and the time it was last
//! fetched.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::Repository;

use super::fetch::{fetch_error, update};
use super::{FetchOptions, GitError, GitSource};

/// A repository's directory in the cache.
pub(super) struct CacheEntry {
    /// Holds the clone, its stamp and the laid-out views.
    pub(super) dir: PathBuf,
    /// The bare clone.
    pub(super) git_dir: PathBuf,
    /// Written at each fetch: its age is the clone's.
    stamp: PathBuf,
}

impl CacheEntry {
    /// The entry for `source`, created if missing.
    pub(super) fn create(source: &GitSource, options: &FetchOptions) -> Result<Self, GitError> {
        let dir = options.cache_dir.join(cache_key(source));
        let git_dir = dir.join("repo.git");
        let stamp = dir.join("fetched-at");
        fs::create_dir_all(&dir).map_err(|error| cache_error(&dir, error))?;
        Ok(CacheEntry {
            dir,
            git_dir,
            stamp,
        })
    }

    /// The cached clone (updated first when stale), or a new clone; and whether the remote was
    /// asked.
    pub(super) fn open_or_clone(
        &self,
        source: &GitSource,
        options: &FetchOptions,
    ) -> Result<(Repository, bool), GitError> {
        if !self.git_dir.join("HEAD").is_file() {
            return Ok((self.clone_from(source, options)?, true));
        }
        let repository = Repository::open_bare(&self.git_dir)
            .map_err(|error| git_cache_error(&self.git_dir, &error))?;
        let stale = options.refresh || age(&self.stamp).is_none_or(|age| age >= options.max_age);
        if !stale {
            return Ok((repository, false));
        }
        match update(&repository, source, options) {
            Ok(()) => {
                self.touch()?;
                Ok((repository, true))
            }
            // An expired cache is still better than nothing when the remote is unreachable; an
            // explicit `--refresh` must not silently give old data.
            Err(error) if !options.refresh && !matches!(error, GitError::Auth { .. }) => {
                tracing::warn!(
                    "{}; using the cached copy of `{}`",
                    crate::redact::redact(&error.to_string()),
                    source.repository
                );
                Ok((repository, false))
            }
            Err(error) => Err(error),
        }
    }

    /// Clone into a temporary directory and rename it into place, so a failed or interrupted
    /// clone never leaves a half-filled cache entry that later runs would trust.
    fn clone_from(
        &self,
        source: &GitSource,
        options: &FetchOptions,
    ) -> Result<Repository, GitError> {
        let staging = tempfile::Builder::new()
            .prefix("clone-")
            .tempdir_in(&self.dir)
            .map_err(|error| cache_error(&self.dir, error))?;
        let staging_git_dir = staging.path().join("repo.git");
        {
            let repository = Repository::init_bare(&staging_git_dir)
                .map_err(|error| git_cache_error(&staging_git_dir, &error))?;
            repository
                .remote("origin", &source.clone_url)
                .map_err(|error| fetch_error(source, &error))?;
            update(&repository, source, options)?;
        }
        if let Err(error) = fs::rename(&staging_git_dir, &self.git_dir) {
            // Another run finished the same clone first; use theirs.
            if !self.git_dir.join("HEAD").is_file() {
                return Err(cache_error(&self.git_dir, error));
            }
        }
        self.touch()?;
        Repository::open_bare(&self.git_dir).map_err(|error| git_cache_error(&self.git_dir, &error))
    }

    /// Note that the remote was just fetched.
    pub(super) fn touch(&self) -> Result<(), GitError> {
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        fs::write(&self.stamp, now).map_err(|error| cache_error(&self.stamp, error))
    }
}

/// One cache directory per clone URL: a readable name plus a hash, so that two URLs of the same
/// repository with different transports never share a clone and no URL can escape the cache.
fn cache_key(source: &GitSource) -> String {
    let readable: String = source
        .repository
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let readable = readable.trim_matches(['-', '.']);
    let readable: String = readable.chars().take(80).collect();
    format!("{readable}-{:016x}", fnv1a(source.clone_url.as_bytes()))
}

/// FNV-1a: a hash that stays the same across Rust releases, unlike `DefaultHasher`, so cache
/// directory names are stable.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn age(stamp: &Path) -> Option<Duration> {
    let modified = fs::metadata(stamp).ok()?.modified().ok()?;
    Some(
        SystemTime::now()
            .duration_since(modified)
            .unwrap_or(Duration::ZERO),
    )
}

pub(super) fn cache_error(path: &Path, error: std::io::Error) -> GitError {
    GitError::Cache {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

/// What libgit2 said about a cache path (its message, without the class and code).
pub(super) fn git_cache_error(path: &Path, error: &git2::Error) -> GitError {
    GitError::Cache {
        path: path.to_owned(),
        message: error.message().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::git::parse_source;

    #[test]
    fn cache_keys_are_safe_and_distinct() {
        let https = parse_source("https://github.com/acme/mods").unwrap();
        let ssh = parse_source("git@github.com:acme/mods.git").unwrap();
        let hostile = GitSource {
            clone_url: "file:///../../etc".into(),
            repository: "../../etc".into(),
            subpath: None,
            requested_ref: None,
        };
        assert_ne!(cache_key(&https), cache_key(&ssh));
        assert!(cache_key(&https).starts_with("github.com-acme-mods-"));
        let key = cache_key(&hostile);
        assert!(!key.contains('/') && !key.starts_with('.'), "{key}");
    }
}
