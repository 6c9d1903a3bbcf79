//! Talking to the remote: cloning into or updating the cache (shallow when the transport allows,
//! in full otherwise), with a deadline, socket timeouts and a token given only through the
//! credentials callback.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use git2::{AutotagOption, FetchOptions as GitFetchOptions, FetchPrune, Repository};
use secrecy::SecretString;

use super::cache::CacheEntry;
use super::layout::{is_safe_relative, lay_out};
use super::tags::{default_branch, release_tags, resolve_requested};
use super::url::is_scp_like;
use super::{Checkout, GitError, GitSource};

/// How long a cached clone is used without asking the remote for news, unless told otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Where the cache lives and how fresh it must be.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// One directory per repository is kept under here.
    pub cache_dir: PathBuf,
    /// Ask the remote for news even if the cache is fresh (`--refresh`).
    pub refresh: bool,
    /// A cache younger than this is used as it is.
    pub max_age: Duration,
    /// A token for https remotes (`GITHUB_TOKEN`), given to git only through a credentials
    /// callback.
    pub token: Option<SecretString>,
}

impl FetchOptions {
    /// The default cache directory: `$XDG_CACHE_HOME/agentci/git`, else `~/.cache/agentci/git`,
    /// else a directory under the system temp dir.
    pub fn default_cache_dir() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|value| !value.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            })
            .unwrap_or_else(std::env::temp_dir);
        base.join("agentci").join("git")
    }

    /// Defaults from the environment: the default cache directory, the default max age and
    /// `GITHUB_TOKEN` if set.
    pub fn from_env() -> Self {
        let token = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|token| !token.trim().is_empty())
            .map(|token| {
                crate::redact::register_secret(&token);
                SecretString::from(token)
            });
        Self {
            cache_dir: Self::default_cache_dir(),
            refresh: false,
            max_age: DEFAULT_MAX_AGE,
            token,
        }
    }
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            cache_dir: Self::default_cache_dir(),
            refresh: false,
            max_age: DEFAULT_MAX_AGE,
            token: None,
        }
    }
}

/// Make `source` available locally: clone it into the cache (or reuse and, when stale, update
/// the cached clone), resolve versions, and lay out the files to scan.
pub fn fetch(source: &GitSource, options: &FetchOptions) -> Result<Checkout, GitError> {
    if let Some(subpath) = &source.subpath
        && !is_safe_relative(subpath)
    {
        return Err(GitError::InvalidSubpath(subpath.clone()));
    }
    let entry = CacheEntry::create(source, options)?;
    let (repository, mut fetched) = entry.open_or_clone(source, options)?;

    let mut tags = release_tags(&repository)?;
    let requested = match &source.requested_ref {
        Some(reference) => match resolve_requested(&repository, source, &tags, reference) {
            Ok(resolved) => Some(resolved),
            // A fresh cache can predate the tag or branch asked for: ask the remote once.
            Err(GitError::RefNotFound { .. }) if !fetched => {
                update(&repository, source, options)?;
                entry.touch()?;
                fetched = true;
                tags = release_tags(&repository)?;
                Some(resolve_requested(&repository, source, &tags, reference)?)
            }
            Err(error) => return Err(error),
        },
        None => None,
    };
    let (default_branch, default_commit) = default_branch(&repository, source)?;

    let mut checkout = Checkout {
        root: PathBuf::new(),
        repository: source.repository.clone(),
        subpath: source.subpath.clone(),
        default_branch,
        default_commit: default_commit.to_string(),
        git_dir: entry.git_dir.clone(),
        fetched,
        tags,
        requested,
        module_tags: BTreeMap::new(),
    };
    let view = lay_out(&repository, &entry.dir, &mut checkout)?;
    checkout.root = match &checkout.subpath {
        Some(subpath) => view.join(subpath),
        None => view,
    };
    if !checkout.root.is_dir() {
        return Err(GitError::InvalidSubpath(
            checkout.subpath.unwrap_or_default(),
        ));
    }
    Ok(checkout)
}

pub(super) fn fetch_error(source: &GitSource, error: &git2::Error) -> GitError {
    GitError::Fetch {
        url: source.clone_url.clone(),
        message: crate::redact::redact(error.message()).into_owned(),
    }
}

/// How long connecting to a git server, and then each read or write on the connection, may take
/// by default (`AGENTCI_GIT_TIMEOUT` overrides it).
pub const DEFAULT_SOCKET_TIMEOUT: Duration = Duration::from_secs(120);

/// Give libgit2 its socket timeouts: a server that never answers the connection, or stops
/// sending mid-fetch, fails the fetch instead of hanging the job. libgit2 keeps these in a
/// process-wide, unsynchronised global, so this runs once, before any thread is started (`main`).
pub fn configure_socket_timeouts(timeout: Duration) {
    let millis = i32::try_from(timeout.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    // SAFETY: called from `main` before the async runtime (or any other thread) exists, as
    // libgit2's global options require.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(millis);
        let _ = git2::opts::set_server_timeout_in_milliseconds(millis);
    }
}

/// How long one fetch of a module source may transfer before it is cancelled.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether git can make a shallow fetch over this URL: libgit2's local transport (plain paths
/// and `file://`) refuses `depth`.
fn supports_shallow(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("ssh://")
        || lower.starts_with("git://")
        || is_scp_like(url)
}

/// Fetch branches and every tag (with their commits) from `origin` into the bare clone, and
/// remember the remote's default branch.
pub(super) fn update(
    repository: &Repository,
    source: &GitSource,
    options: &FetchOptions,
) -> Result<(), GitError> {
    let mut remote = repository
        .find_remote("origin")
        .map_err(|error| fetch_error(source, &error))?;
    let refspecs = [
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
    ];
    tracing::info!("fetching `{}`", source.repository);
    // Only the tips are needed: the scanner reads trees at tags and at the branch head. A
    // transport that refuses a shallow fetch (libgit2's local one, some self-hosted servers)
    // gets a full fetch instead.
    let shallow = supports_shallow(&source.clone_url);
    let mut attempt = |depth: Option<i32>| {
        let rejected = std::cell::Cell::new(false);
        let deadline = std::time::Instant::now() + FETCH_TIMEOUT;
        let mut callbacks = crate::support::token_callbacks(options.token.as_ref(), &rejected);
        // A transfer that is still running at the deadline is cancelled.
        callbacks.transfer_progress(move |_| std::time::Instant::now() < deadline);
        let mut fetch_options = GitFetchOptions::new();
        fetch_options
            .remote_callbacks(callbacks)
            .prune(FetchPrune::On)
            .download_tags(AutotagOption::All);
        if let Some(depth) = depth {
            fetch_options.depth(depth);
        }
        let result = remote.fetch(&refspecs, Some(&mut fetch_options), None);
        (
            result,
            rejected.get(),
            std::time::Instant::now() >= deadline,
        )
    };
    let (mut result, mut rejected, mut late) = attempt(Some(1));
    if let Err(error) = &result
        && !rejected
        && !late
        && !(error.class() == git2::ErrorClass::Http && error.code() == git2::ErrorCode::Auth)
    {
        if shallow {
            tracing::info!(
                "a shallow fetch of `{}` failed ({}); fetching everything",
                source.repository,
                crate::redact::redact(error.message())
            );
        }
        (result, rejected, late) = attempt(None);
    }
    if let Err(error) = result {
        if rejected
            || error.class() == git2::ErrorClass::Http && error.code() == git2::ErrorCode::Auth
        {
            return Err(GitError::Auth {
                url: source.clone_url.clone(),
                token_given: options.token.is_some(),
            });
        }
        if late {
            return Err(GitError::Fetch {
                url: source.clone_url.clone(),
                message: format!(
                    "the fetch did not finish within {}",
                    humantime::format_duration(FETCH_TIMEOUT)
                ),
            });
        }
        return Err(fetch_error(source, &error));
    }
    // Available after the fetch disconnected; stored so runs that reuse the cache know it.
    let branch = remote
        .default_branch()
        .map_err(|error| fetch_error(source, &error))?;
    let branch = branch.as_str().unwrap_or("refs/heads/main");
    let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    repository
        .reference_symbolic(
            "refs/remotes/origin/HEAD",
            &format!("refs/remotes/origin/{short}"),
            true,
            "agentci: remember the default branch",
        )
        .map_err(|error| fetch_error(source, &error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_only_for_network_transports() {
        assert!(supports_shallow("https://github.com/a/b"));
        assert!(supports_shallow("git@github.com:a/b.git"));
        assert!(supports_shallow("ssh://git@host/a/b.git"));
        assert!(!supports_shallow("file:///srv/a.git"));
        assert!(!supports_shallow("/srv/a.git"));
    }
}
