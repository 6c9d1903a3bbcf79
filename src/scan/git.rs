//! Git module sources for the scanner: parse a git source reference, keep a clone of it in a
//! cache, pick each module's version (newest semver tag `<path>/vX.Y.Z`, else the default
//! branch) and lay out the files a user would install at that version for the scanner to read.
//!
//! The glue for `agentci modules scan <git url>` is:
//! ```no_run
//! # fn main() -> Result<(), agentci::scan::git::GitError> {
//! use agentci::scan::git;
//! let source = git::parse_source("github.com/acme/dagger-modules").ok_or_else(|| {
//!     git::GitError::InvalidSource("not a git source".into())
//! })?;
//! let checkout = git::fetch(&source, &git::FetchOptions::from_env())?;
//! let mut modules: Vec<agentci::scan::Module> = Vec::new(); // from the scanner, over `checkout.root`
//! for module in &mut modules {
//!     checkout.annotate(module);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::{
    AutotagOption, FetchOptions as GitFetchOptions, FetchPrune, ObjectType, Oid, Repository,
    TreeWalkMode, TreeWalkResult,
};
use secrecy::SecretString;

use super::model::Module;

/// Hosts whose repositories are always `host/owner/repo`, so everything after is a subpath.
const OWNER_REPO_HOSTS: &[&str] = &["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"];

/// How long a cached clone is used without asking the remote for news, unless told otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// A git repository holding Dagger modules, as a user wrote it on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// What is handed to git: `https://github.com/acme/dagger-modules`, `git@host:o/r.git`,
    /// `file:///srv/modules.git`.
    pub clone_url: String,
    /// The repository without scheme, user or `.git`: `github.com/acme/dagger-modules`.
    pub repository: String,
    /// A directory inside the repository to scan instead of its root.
    pub subpath: Option<String>,
    /// A version (`v1.2.0`), tag, branch or commit the user asked for.
    pub requested_ref: Option<String>,
}

/// Recognise a git source; `None` means the text is a local directory (or nothing git knows).
///
/// Accepted: `https://github.com/o/r[.git]`, `http://…`, `github.com/o/r[/subpath][@ref]`,
/// `url#ref[:subpath]`, `git@host:o/r.git`, `ssh://[user@]host/o/r.git`, `file:///abs/repo.git`.
pub fn parse_source(text: &str) -> Option<GitSource> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    // `url#ref[:subpath]` (the form Dagger uses for directory arguments).
    let (text, fragment) = match text.split_once('#') {
        Some((url, fragment)) => (url, Some(fragment)),
        None => (text, None),
    };
    let (fragment_ref, fragment_subpath) = match fragment {
        Some(fragment) => match fragment.split_once(':') {
            Some((reference, subpath)) => (non_empty(reference), non_empty(subpath)),
            None => (non_empty(fragment), None),
        },
        None => (None, None),
    };

    let parsed = if let Some((scheme, rest)) = text.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "https" | "http" | "ssh" | "git" => parse_remote(&scheme, rest)?,
            "file" => parse_file(rest)?,
            _ => return None,
        }
    } else if let Some(parsed) = parse_scp_like(text) {
        parsed
    } else {
        parse_schemeless(text)?
    };

    let subpath = fragment_subpath
        .map(normalise_subpath)
        .or(parsed.subpath)
        .filter(|subpath| !subpath.is_empty());
    let requested_ref = fragment_ref.or(parsed.requested_ref);
    Some(GitSource {
        clone_url: parsed.clone_url,
        repository: parsed.repository,
        subpath,
        requested_ref,
    })
}

struct Parsed {
    clone_url: String,
    repository: String,
    subpath: Option<String>,
    requested_ref: Option<String>,
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn normalise_subpath(text: String) -> String {
    text.trim_matches('/').to_owned()
}

/// `host[:port]/path` after a network scheme, with an optional `user[:password]@` in front.
fn parse_remote(scheme: &str, rest: &str) -> Option<Parsed> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    if host_port.is_empty() {
        return None;
    }
    let host = host_port.split(':').next().unwrap_or(host_port);
    let split = split_repository_path(host, path)?;
    // Credentials in a URL would end up in `.git/config` of the cache; keep only a user name.
    let user = userinfo.map(|info| info.split(':').next().unwrap_or(info));
    let authority = match user {
        Some(user) if !user.is_empty() => format!("{user}@{host_port}"),
        _ => host_port.to_owned(),
    };
    Some(Parsed {
        clone_url: format!("{scheme}://{authority}/{}", split.clone_path),
        repository: format!("{}/{}", host.to_ascii_lowercase(), split.repository_path),
        subpath: split.subpath,
        requested_ref: split.requested_ref,
    })
}

/// `git@host:owner/repo.git` (scp-like syntax, no scheme).
fn parse_scp_like(text: &str) -> Option<Parsed> {
    let (user, rest) = text.split_once('@')?;
    let (host, path) = rest.split_once(':')?;
    if user.is_empty() || user.contains('/') || host.is_empty() || host.contains('/') {
        return None;
    }
    let split = split_repository_path(host, path)?;
    Some(Parsed {
        clone_url: format!("{user}@{host}:{}", split.clone_path),
        repository: format!("{}/{}", host.to_ascii_lowercase(), split.repository_path),
        subpath: split.subpath,
        requested_ref: split.requested_ref,
    })
}

/// `github.com/owner/repo[/subpath][@ref]`: the Dagger module-ref form, cloned over https.
fn parse_schemeless(text: &str) -> Option<Parsed> {
    if text.starts_with(['.', '/', '~', '\\']) {
        return None;
    }
    let (host, path) = text.split_once('/')?;
    // A host has a dot and no path-like oddities; `src/modules` is a relative directory.
    if !host.contains('.') || host.contains(['\\', '@', ':']) {
        return None;
    }
    // An existing directory with that name is the user's local directory, not a host.
    if Path::new(text).is_dir() {
        return None;
    }
    let split = split_repository_path(host, path)?;
    Some(Parsed {
        clone_url: format!("https://{host}/{}", split.clone_path),
        repository: format!("{}/{}", host.to_ascii_lowercase(), split.repository_path),
        subpath: split.subpath,
        requested_ref: split.requested_ref,
    })
}

/// `file:///abs/path/repo.git[/subpath]`. The repository name is the path itself.
fn parse_file(rest: &str) -> Option<Parsed> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    // Paths may hold `@`, so a file URL takes its ref only from `#ref`; a `.git` segment marks
    // the end of the repository when a subpath follows.
    let (repository_path, subpath) = match trimmed.find(".git/") {
        Some(index) => (&trimmed[..index + 4], Some(trimmed[index + 5..].to_owned())),
        None => (trimmed, None),
    };
    if repository_path.is_empty() {
        return None;
    }
    Some(Parsed {
        clone_url: format!("file://{repository_path}"),
        repository: repository_path
            .strip_suffix(".git")
            .unwrap_or(repository_path)
            .to_owned(),
        subpath: subpath.map(normalise_subpath),
        requested_ref: None,
    })
}

struct SplitPath {
    /// The repository part as the clone URL spells it (keeps a `.git` the user wrote).
    clone_path: String,
    /// The repository part without `.git`.
    repository_path: String,
    subpath: Option<String>,
    requested_ref: Option<String>,
}

/// Split `owner/repo[.git][/subpath][@ref]` into its parts.
fn split_repository_path(host: &str, path: &str) -> Option<SplitPath> {
    let path = path.trim_matches('/');
    let (path, requested_ref) = match path.rsplit_once('@') {
        Some((path, reference)) => (path, non_empty(reference)),
        None => (path, None),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Where the repository ends: after a segment ending in `.git`, else after owner/repo on the
    // well-known hosts, else the whole path (a self-hosted server with nested groups).
    let repository_len = match segments.iter().position(|s| s.ends_with(".git")) {
        Some(index) => index + 1,
        None if OWNER_REPO_HOSTS.contains(&host.to_ascii_lowercase().as_str()) => 2,
        None => segments.len(),
    };
    if segments.len() < repository_len || repository_len < 2 {
        return None;
    }
    let clone_path = segments[..repository_len].join("/");
    let repository_path = clone_path
        .strip_suffix(".git")
        .unwrap_or(&clone_path)
        .to_owned();
    let subpath = non_empty(&segments[repository_len..].join("/"));
    Some(SplitPath {
        clone_path,
        repository_path,
        subpath,
        requested_ref,
    })
}

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

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`{0}` is not a git source")]
    InvalidSource(String),
    #[error("could not fetch `{url}`: {message}")]
    Fetch { url: String, message: String },
    /// The remote asked for credentials and had none it accepted. GitHub answers this way for a
    /// repository that does not exist, too.
    #[error("`{url}` {}", auth_hint(*.token_given))]
    Auth { url: String, token_given: bool },
    #[error("`{reference}` is not a tag, branch or commit of `{repository}`")]
    RefNotFound {
        repository: String,
        reference: String,
    },
    #[error("subpath `{0}` is not a directory inside the repository")]
    InvalidSubpath(String),
    #[error("git cache `{path}`: {message}")]
    Cache { path: PathBuf, message: String },
}

fn auth_hint(token_given: bool) -> &'static str {
    if token_given {
        "rejected the token; check `GITHUB_TOKEN`"
    } else {
        "asked for credentials: is the repository private (set `GITHUB_TOKEN`) or misspelt?"
    }
}

/// What a module resolves to: the ref a `dagger.json` would install, and its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleVersion {
    /// `<repository>/<path>@<tag or branch>`, `<repository>@<tag>` for a root module.
    pub r#ref: String,
    /// `v1.10.0`, or the branch name.
    pub version: String,
    /// The 40-hex commit.
    pub pin: String,
}

/// A tag that names a release: `[<path>/]vX.Y.Z` without pre-release.
#[derive(Debug, Clone)]
struct ReleaseTag {
    name: String,
    /// The directory the tag is for (`""` for root-module tags).
    prefix: String,
    version: semver::Version,
    commit: Oid,
}

/// The user's requested ref, resolved once.
#[derive(Debug, Clone)]
struct ResolvedRef {
    /// What goes after `@` in `ref`: the full tag, branch name or commit.
    name: String,
    version: String,
    commit: Oid,
}

/// A repository fetched into the cache, with the scanned files laid out under [`Checkout::root`].
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The directory to scan: the laid-out files, or the subpath within them.
    pub root: PathBuf,
    /// `github.com/acme/dagger-modules`.
    pub repository: String,
    /// The subpath `root` stands for, relative to the repository root.
    pub subpath: Option<String>,
    /// The remote's default branch (`main`).
    pub default_branch: String,
    /// Its commit.
    pub default_commit: String,
    /// The bare clone in the cache.
    pub git_dir: PathBuf,
    /// Whether this call talked to the remote (clone or fetch), `false` when the cache was
    /// fresh enough to use as it is.
    pub fetched: bool,
    tags: Vec<ReleaseTag>,
    requested: Option<ResolvedRef>,
    /// The tag chosen for each module found, `None` for the default branch: the newest release
    /// tag whose tree has the module, which is not always the newest tag for its path.
    module_tags: BTreeMap<String, Option<ReleaseTag>>,
}

impl Checkout {
    /// The version of the module in `module_path` (relative to the repository root, `""` for
    /// the root): the requested ref if there was one, else the newest release tag for that
    /// path, else the default branch.
    pub fn version_for(&self, module_path: &str) -> ModuleVersion {
        let module_path = module_path.trim_matches('/');
        let prefix = if module_path.is_empty() {
            self.repository.clone()
        } else {
            format!("{}/{module_path}", self.repository)
        };
        if let Some(requested) = &self.requested {
            return ModuleVersion {
                r#ref: format!("{prefix}@{}", requested.name),
                version: requested.version.clone(),
                pin: requested.commit.to_string(),
            };
        }
        let tag = match self.module_tags.get(module_path) {
            Some(chosen) => chosen.as_ref(),
            None => newest_tag(&self.tags, module_path),
        };
        match tag {
            Some(tag) => ModuleVersion {
                r#ref: format!("{prefix}@{}", tag.name),
                version: format!("v{}", tag.version),
                pin: tag.commit.to_string(),
            },
            None => ModuleVersion {
                r#ref: format!("{prefix}@{}", self.default_branch),
                version: self.default_branch.clone(),
                pin: self.default_commit.clone(),
            },
        }
    }

    /// `path` as the scanner reports it (relative to [`Checkout::root`]) made relative to the
    /// repository root.
    pub fn repository_path(&self, path: &str) -> String {
        let path = path.trim_matches('/');
        match (&self.subpath, path.is_empty()) {
            (Some(subpath), true) => subpath.clone(),
            (Some(subpath), false) => format!("{subpath}/{path}"),
            (None, _) => path.to_owned(),
        }
    }

    /// Fill a scanned module's `repository`, `ref`, `version` and `pin`.
    pub fn annotate(&self, module: &mut Module) {
        let version = self.version_for(&self.repository_path(&module.path));
        module.repository = Some(self.repository.clone());
        module.r#ref = Some(version.r#ref);
        module.version = Some(version.version);
        module.pin = Some(version.pin);
    }

    /// The release tags seen, newest first within each path, as `(tag, commit)`.
    pub fn release_tags(&self) -> Vec<(String, String)> {
        self.tags
            .iter()
            .map(|tag| (tag.name.clone(), tag.commit.to_string()))
            .collect()
    }
}

fn newest_tag<'a>(tags: &'a [ReleaseTag], module_path: &str) -> Option<&'a ReleaseTag> {
    tags.iter()
        .filter(|tag| tag.prefix == module_path)
        .max_by(|left, right| left.version.cmp(&right.version))
}

/// Make `source` available locally: clone it into the cache (or reuse and, when stale, update
/// the cached clone), resolve versions, and lay out the files to scan.
pub fn fetch(source: &GitSource, options: &FetchOptions) -> Result<Checkout, GitError> {
    if let Some(subpath) = &source.subpath
        && !is_safe_relative(subpath)
    {
        return Err(GitError::InvalidSubpath(subpath.clone()));
    }
    let entry = options.cache_dir.join(cache_key(source));
    let git_dir = entry.join("repo.git");
    let stamp = entry.join("fetched-at");
    fs::create_dir_all(&entry).map_err(|error| cache_error(&entry, error))?;

    let mut fetched = false;
    let repository = if git_dir.join("HEAD").is_file() {
        let repository = Repository::open_bare(&git_dir).map_err(|error| GitError::Cache {
            path: git_dir.clone(),
            message: error.message().to_owned(),
        })?;
        let stale = options.refresh || age(&stamp).is_none_or(|age| age >= options.max_age);
        if stale {
            match update(&repository, source, options) {
                Ok(()) => {
                    fetched = true;
                    touch(&stamp)?;
                }
                // An expired cache is still better than nothing when the remote is unreachable;
                // an explicit `--refresh` must not silently give old data.
                Err(error) if !options.refresh && !matches!(error, GitError::Auth { .. }) => {
                    tracing::warn!(
                        "{}; using the cached copy of `{}`",
                        crate::redact::redact(&error.to_string()),
                        source.repository
                    );
                }
                Err(error) => return Err(error),
            }
        }
        repository
    } else {
        // Clone into a temporary directory and rename it into place, so a failed or interrupted
        // clone never leaves a half-filled cache entry that later runs would trust.
        let staging = tempfile::Builder::new()
            .prefix("clone-")
            .tempdir_in(&entry)
            .map_err(|error| cache_error(&entry, error))?;
        let staging_git_dir = staging.path().join("repo.git");
        {
            let repository =
                Repository::init_bare(&staging_git_dir).map_err(|error| GitError::Cache {
                    path: staging_git_dir.clone(),
                    message: error.message().to_owned(),
                })?;
            repository
                .remote("origin", &source.clone_url)
                .map_err(|error| fetch_error(source, &error))?;
            update(&repository, source, options)?;
        }
        if let Err(error) = fs::rename(&staging_git_dir, &git_dir) {
            // Another run finished the same clone first; use theirs.
            if !git_dir.join("HEAD").is_file() {
                return Err(cache_error(&git_dir, error));
            }
        }
        touch(&stamp)?;
        fetched = true;
        Repository::open_bare(&git_dir).map_err(|error| GitError::Cache {
            path: git_dir.clone(),
            message: error.message().to_owned(),
        })?
    };

    let mut tags = release_tags(&repository)?;
    let requested = match &source.requested_ref {
        Some(reference) => match resolve_requested(&repository, source, &tags, reference) {
            Ok(resolved) => Some(resolved),
            // A fresh cache can predate the tag or branch asked for: ask the remote once.
            Err(GitError::RefNotFound { .. }) if !fetched => {
                update(&repository, source, options)?;
                touch(&stamp)?;
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
        git_dir,
        fetched,
        tags,
        requested,
        module_tags: BTreeMap::new(),
    };
    let view = lay_out(&repository, &entry, &mut checkout)?;
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
fn fnv1a(bytes: &[u8]) -> u64 {
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

fn touch(stamp: &Path) -> Result<(), GitError> {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    fs::write(stamp, now).map_err(|error| cache_error(stamp, error))
}

fn cache_error(path: &Path, error: std::io::Error) -> GitError {
    GitError::Cache {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

fn fetch_error(source: &GitSource, error: &git2::Error) -> GitError {
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
        || parse_scp_like(url).is_some()
}

/// Fetch branches and every tag (with their commits) from `origin` into the bare clone, and
/// remember the remote's default branch.
fn update(
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

fn default_branch(repository: &Repository, source: &GitSource) -> Result<(String, Oid), GitError> {
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
fn release_tags(repository: &Repository) -> Result<Vec<ReleaseTag>, GitError> {
    let references =
        repository
            .references_glob("refs/tags/*")
            .map_err(|error| GitError::Cache {
                path: repository.path().to_owned(),
                message: error.message().to_owned(),
            })?;
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
fn resolve_requested(
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

fn is_safe_relative(path: &str) -> bool {
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
fn lay_out(
    repository: &Repository,
    entry: &Path,
    checkout: &mut Checkout,
) -> Result<PathBuf, GitError> {
    let subpath = checkout.subpath.as_deref().unwrap_or("");
    let base_commit = match &checkout.requested {
        Some(requested) => requested.commit,
        None => Oid::from_str(&checkout.default_commit).map_err(|error| GitError::Cache {
            path: entry.to_owned(),
            message: error.message().to_owned(),
        })?,
    };
    let object_error = |error: git2::Error| GitError::Cache {
        path: repository.path().to_owned(),
        message: error.message().to_owned(),
    };
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
    .map_err(|error| GitError::Cache {
        path: PathBuf::from(subpath),
        message: error.message().to_owned(),
    })?;
    Ok(directories)
}

/// The newest release tag for `module_dir` whose tree has the module; a tag from before the
/// module moved there is skipped rather than producing an empty module.
fn newest_tag_with_module(
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
        (None, Err(error)) => Err(GitError::Cache {
            path: target.to_owned(),
            message: error.message().to_owned(),
        }),
        (None, Ok(())) => Ok(()),
    }
}

fn write_blob(repository: &Repository, id: Oid, mode: i32, path: &Path) -> Result<(), GitError> {
    let blob = repository.find_blob(id).map_err(|error| GitError::Cache {
        path: path.to_owned(),
        message: error.message().to_owned(),
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> GitSource {
        parse_source(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn https_urls_with_and_without_dot_git() {
        let source = parsed("https://github.com/acme/dagger-modules.git");
        assert_eq!(
            source.clone_url,
            "https://github.com/acme/dagger-modules.git"
        );
        assert_eq!(source.repository, "github.com/acme/dagger-modules");
        assert_eq!(source.subpath, None);
        assert_eq!(source.requested_ref, None);

        let source = parsed("https://github.com/acme/dagger-modules");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("https://github.com/acme/dagger-modules/python@v1.2.0");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.subpath.as_deref(), Some("python"));
        assert_eq!(source.requested_ref.as_deref(), Some("v1.2.0"));
    }

    #[test]
    fn credentials_in_an_https_url_are_dropped() {
        let source = parsed("https://bot:ghp_secret@github.com/acme/mods.git");
        assert_eq!(source.clone_url, "https://bot@github.com/acme/mods.git");
        assert_eq!(source.repository, "github.com/acme/mods");
    }

    #[test]
    fn dagger_module_ref_form() {
        let source = parsed("github.com/acme/dagger-modules");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("github.com/acme/dagger-modules/tools/python@python/v0.4.1");
        assert_eq!(source.subpath.as_deref(), Some("tools/python"));
        assert_eq!(source.requested_ref.as_deref(), Some("python/v0.4.1"));

        let source = parsed("github.com/acme/dagger-modules@main");
        assert_eq!(source.subpath, None);
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
    }

    #[test]
    fn fragment_form_gives_ref_and_subpath() {
        let source = parsed("https://github.com/acme/dagger-modules.git#v1.0.0:backend/");
        assert_eq!(
            source.clone_url,
            "https://github.com/acme/dagger-modules.git"
        );
        assert_eq!(source.requested_ref.as_deref(), Some("v1.0.0"));
        assert_eq!(source.subpath.as_deref(), Some("backend"));

        let source = parsed("https://github.com/acme/dagger-modules#main");
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
        assert_eq!(source.subpath, None);
    }

    #[test]
    fn scp_like_and_ssh_urls() {
        let source = parsed("git@github.com:acme/dagger-modules.git");
        assert_eq!(source.clone_url, "git@github.com:acme/dagger-modules.git");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("ssh://git@git.example.com:2222/platform/ci/modules.git/go@v2.0.0");
        assert_eq!(
            source.clone_url,
            "ssh://git@git.example.com:2222/platform/ci/modules.git"
        );
        assert_eq!(source.repository, "git.example.com/platform/ci/modules");
        assert_eq!(source.subpath.as_deref(), Some("go"));
        assert_eq!(source.requested_ref.as_deref(), Some("v2.0.0"));
    }

    #[test]
    fn self_hosted_without_dot_git_keeps_the_whole_path() {
        let source = parsed("https://git.example.com/group/sub/modules");
        assert_eq!(source.repository, "git.example.com/group/sub/modules");
        assert_eq!(source.subpath, None);
    }

    #[test]
    fn file_urls() {
        let source = parsed("file:///srv/git/modules.git");
        assert_eq!(source.clone_url, "file:///srv/git/modules.git");
        assert_eq!(source.repository, "/srv/git/modules");

        let source = parsed("file:///srv/git/modules.git/mod-a#mod-a/v1.2.0");
        assert_eq!(source.clone_url, "file:///srv/git/modules.git");
        assert_eq!(source.subpath.as_deref(), Some("mod-a"));
        assert_eq!(source.requested_ref.as_deref(), Some("mod-a/v1.2.0"));

        let source = parsed("file:///srv/repo#main:mod-b");
        assert_eq!(source.clone_url, "file:///srv/repo");
        assert_eq!(source.subpath.as_deref(), Some("mod-b"));
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
    }

    #[test]
    fn local_directories_are_not_git_sources() {
        for text in [
            "./local-modules",
            "local-modules",
            "/abs/modules",
            "src/modules",
            "..",
            "",
            "ftp://x/y/z",
        ] {
            assert_eq!(parse_source(text), None, "{text}");
        }
        let directory = tempfile::tempdir().unwrap();
        let looks_remote = directory.path().join("example.com").join("o").join("r");
        std::fs::create_dir_all(&looks_remote).unwrap();
        // An absolute path is local even when its segments look like `host/owner/repo`.
        assert_eq!(parse_source(&looks_remote.to_string_lossy()), None);
    }

    #[test]
    fn incomplete_repository_paths_are_rejected() {
        assert_eq!(parse_source("https://github.com/acme"), None);
        assert_eq!(parse_source("github.com/acme"), None);
    }

    #[test]
    fn cache_keys_are_safe_and_distinct() {
        let https = parsed("https://github.com/acme/mods");
        let ssh = parsed("git@github.com:acme/mods.git");
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

    #[test]
    fn shallow_only_for_network_transports() {
        assert!(supports_shallow("https://github.com/a/b"));
        assert!(supports_shallow("git@github.com:a/b.git"));
        assert!(supports_shallow("ssh://git@host/a/b.git"));
        assert!(!supports_shallow("file:///srv/a.git"));
        assert!(!supports_shallow("/srv/a.git"));
    }
}
