//! Git module sources for the scanner: parse a git source reference, keep a clone of it in a
//! cache, pick each module's version (newest semver tag `<path>/vX.Y.Z`, else the default
//! branch) and lay out the files a user would install at that version for the scanner to read.
//!
//! `url` reads the source reference and [`fetch()`] drives the rest: `cache` keeps the clone,
//! the `fetch` module talks to the remote, `tags` resolves versions, and `layout` writes the
//! files to scan.
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

mod cache;
mod fetch;
mod layout;
mod tags;
mod url;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use fetch::{
    DEFAULT_MAX_AGE, DEFAULT_SOCKET_TIMEOUT, FetchOptions, configure_socket_timeouts, fetch,
};
pub use url::{GitSource, parse_source};

use super::model::Module;
use tags::{ReleaseTag, ResolvedRef, newest_tag};

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
