//! The local-clone half of opening a pull request: a branch from a base, a commit of exactly the
//! files an agent changed, and a push authenticated by a token that never touches disk. The REST
//! half (opening the pull request) lives in the rest of the GitHub layer.
//!
//! git2 calls block: run these in `tokio::task::spawn_blocking` and open the repository inside
//! the closure (a `git2::Repository` is `Send` but not `Sync`).

use std::cell::{Cell, RefCell};
use std::path::{Component, Path, PathBuf};

use git2::{BranchType, Direction, ErrorClass, ErrorCode, Oid, PushOptions, Repository, Signature};
use secrecy::SecretString;

use super::GitHubError;

/// The longest slug [`slug`] returns, so branch names stay readable in GitHub's UI.
pub const MAX_SLUG_LEN: usize = 40;

/// A branch-name-safe slug of at most [`MAX_SLUG_LEN`] characters.
pub fn slug(text: &str) -> String {
    crate::support::slug(text, MAX_SLUG_LEN)
}

/// Who the bot commits as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub name: String,
    pub email: String,
}

impl Default for BotIdentity {
    fn default() -> Self {
        Self {
            name: "agentci[bot]".into(),
            email: "agentci[bot]@users.noreply.github.com".into(),
        }
    }
}

/// The paths a commit records, relative to the working tree. Nothing else is staged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files written or edited; each must exist in the working tree.
    pub changed: Vec<PathBuf>,
    /// Files removed; each must be absent from the working tree.
    pub deleted: Vec<PathBuf>,
}

/// What [`LocalRepository::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// `refs/heads/<branch>` on the remote.
    pub remote_ref: String,
    /// The commit the remote branch now points to.
    pub commit: String,
    /// What the remote branch pointed to before, when it existed (a re-run updating its branch).
    pub replaced: Option<String>,
}

/// A local clone an agent works in.
pub struct LocalRepository {
    repository: Repository,
}

impl std::fmt::Debug for LocalRepository {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LocalRepository")
            .field("git_dir", &self.repository.path())
            .finish()
    }
}

fn git_error(context: &str, error: &git2::Error) -> GitHubError {
    GitHubError::Git(crate::redact::redact(&format!("{context}: {}", error.message())).into_owned())
}

impl LocalRepository {
    /// Open the repository holding `path` (the path itself or any parent).
    pub fn discover(path: &Path) -> Result<Self, GitHubError> {
        let repository = Repository::discover(path).map_err(|error| {
            git_error(
                &format!("`{}` is not inside a git repository", path.display()),
                &error,
            )
        })?;
        if repository.is_bare() {
            return Err(GitHubError::Git(format!(
                "`{}` is a bare repository; a working tree is needed to commit changes",
                repository.path().display()
            )));
        }
        Ok(Self { repository })
    }

    /// The working tree's root.
    pub fn workdir(&self) -> &Path {
        // `discover` refuses bare repositories, so there is always a working tree.
        self.repository.workdir().unwrap_or(self.repository.path())
    }

    /// The underlying git2 repository, for callers that need more.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// The commit `base` names: a remote-tracking branch `origin/<base>` first (what a CI
    /// checkout has), then a local branch, then anything `git rev-parse` understands.
    pub fn resolve(&self, base: &str) -> Result<Oid, GitHubError> {
        let candidates = [
            format!("refs/remotes/origin/{base}"),
            format!("refs/heads/{base}"),
        ];
        for candidate in &candidates {
            if let Ok(reference) = self.repository.find_reference(candidate)
                && let Ok(commit) = reference.peel_to_commit()
            {
                return Ok(commit.id());
            }
        }
        self.repository
            .revparse_single(base)
            .and_then(|object| object.peel_to_commit())
            .map(|commit| commit.id())
            .map_err(|error| git_error(&format!("base `{base}` not found"), &error))
    }

    /// Point local branch `branch` at `base` (creating it, or resetting it when a previous run
    /// left it elsewhere) and make it the current branch. The working tree and its changes are
    /// left alone: they are what gets committed next.
    pub fn prepare_branch(&self, branch: &str, base: &str) -> Result<Oid, GitHubError> {
        if !git2::Branch::name_is_valid(branch).unwrap_or(false) {
            return Err(GitHubError::Git(format!(
                "`{branch}` is not a valid branch name"
            )));
        }
        let base_commit = self.resolve(base)?;
        // A plain reference update, not `Repository::branch`: that refuses to move the branch
        // HEAD is on, which is exactly the re-run case.
        self.repository
            .reference(
                &format!("refs/heads/{branch}"),
                base_commit,
                true,
                &format!("agentci: branch from {base}"),
            )
            .map_err(|error| git_error(&format!("creating branch `{branch}`"), &error))?;
        self.repository
            .set_head(&format!("refs/heads/{branch}"))
            .map_err(|error| git_error(&format!("switching to `{branch}`"), &error))?;
        tracing::info!("branch `{branch}` at {base_commit} (from `{base}`)");
        Ok(base_commit)
    }

    /// Commit exactly `changes` on top of the current branch: the index is reset to the branch's
    /// tree and only the listed paths are added or removed, so stray files in the working tree
    /// (build output, the user's own edits) never end up in the pull request.
    pub fn commit(
        &self,
        changes: &Changes,
        message: &str,
        identity: &BotIdentity,
    ) -> Result<Oid, GitHubError> {
        if changes.changed.is_empty() && changes.deleted.is_empty() {
            return Err(GitHubError::Git(
                "nothing to commit: no changed paths".into(),
            ));
        }
        let head = self
            .repository
            .head()
            .and_then(|head| head.peel_to_commit())
            .map_err(|error| git_error("the current branch has no commit", &error))?;
        let head_tree = head
            .tree()
            .map_err(|error| git_error("reading the current tree", &error))?;
        let mut index = self
            .repository
            .index()
            .map_err(|error| git_error("opening the index", &error))?;
        index
            .read_tree(&head_tree)
            .map_err(|error| git_error("resetting the index", &error))?;
        let workdir = self.workdir().to_owned();
        for path in &changes.changed {
            let relative = checked_relative(path)?;
            if !workdir.join(&relative).is_file() && !workdir.join(&relative).is_symlink() {
                return Err(GitHubError::Git(format!(
                    "changed path `{}` is not a file in the working tree",
                    relative.display()
                )));
            }
            index
                .add_path(&relative)
                .map_err(|error| git_error(&format!("staging `{}`", relative.display()), &error))?;
        }
        for path in &changes.deleted {
            let relative = checked_relative(path)?;
            if workdir.join(&relative).exists() {
                return Err(GitHubError::Git(format!(
                    "deleted path `{}` still exists in the working tree",
                    relative.display()
                )));
            }
            if index.get_path(&relative, 0).is_none() {
                return Err(GitHubError::Git(format!(
                    "deleted path `{}` is not tracked on the branch",
                    relative.display()
                )));
            }
            index.remove_path(&relative).map_err(|error| {
                git_error(
                    &format!("staging the deletion of `{}`", relative.display()),
                    &error,
                )
            })?;
        }
        let tree_id = index
            .write_tree()
            .map_err(|error| git_error("writing the tree", &error))?;
        if tree_id == head_tree.id() {
            return Err(GitHubError::Git(
                "nothing to commit: the listed paths match the branch already".into(),
            ));
        }
        index
            .write()
            .map_err(|error| git_error("writing the index", &error))?;
        let tree = self
            .repository
            .find_tree(tree_id)
            .map_err(|error| git_error("reading the new tree", &error))?;
        let signature = Signature::now(&identity.name, &identity.email)
            .map_err(|error| git_error("building the bot signature", &error))?;
        let id = self
            .repository
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &[&head],
            )
            .map_err(|error| git_error("committing", &error))?;
        tracing::info!("committed {id}");
        Ok(id)
    }

    /// Push the current commit of local `branch` to `refs/heads/<branch>` on `remote`.
    ///
    /// Force-with-lease: a re-run replaces the branch its previous run pushed, but not a branch
    /// someone else moved since. The lease is `expected` if given, else our remote-tracking ref
    /// for the branch, else the value the remote reports when we connect (a fresh CI clone knows
    /// nothing older). libgit2 has no server-side lease, so the check is made on the connection
    /// just before the forced push.
    ///
    /// The token, if any, is handed to git only through a credentials callback: it is never
    /// part of a URL and never written to `.git/config`. A rejected token fails at once instead
    /// of being retried.
    pub fn push(
        &self,
        remote: &str,
        branch: &str,
        token: Option<&SecretString>,
        expected: Option<Oid>,
    ) -> Result<PushOutcome, GitHubError> {
        let local = self
            .repository
            .find_branch(branch, BranchType::Local)
            .map_err(|error| git_error(&format!("local branch `{branch}`"), &error))?;
        let commit = local
            .get()
            .peel_to_commit()
            .map_err(|error| git_error(&format!("branch `{branch}` has no commit"), &error))?
            .id();
        let remote_ref = format!("refs/heads/{branch}");
        let tracking_ref = format!("refs/remotes/{remote}/{branch}");
        let mut connection_remote = self
            .repository
            .find_remote(remote)
            .map_err(|error| git_error(&format!("remote `{remote}`"), &error))?;
        let url = connection_remote.url().unwrap_or("").to_owned();

        let rejected = Cell::new(false);
        let current = {
            let connection = connection_remote
                .connect_auth(
                    Direction::Push,
                    Some(crate::support::token_callbacks(token, &rejected)),
                    None,
                )
                .map_err(|error| push_error(&url, &error, rejected.get()))?;
            let heads = connection
                .list()
                .map_err(|error| push_error(&url, &error, rejected.get()))?;
            heads
                .iter()
                .find(|head| head.name() == remote_ref)
                .map(|head| head.oid())
        };

        let lease = expected.or_else(|| {
            self.repository
                .find_reference(&tracking_ref)
                .ok()
                .and_then(|reference| reference.target())
        });
        if let (Some(lease), Some(current)) = (lease, current)
            && lease != current
            && current != commit
        {
            return Err(GitHubError::Git(format!(
                "`{branch}` on `{remote}` moved to {current} since {lease}; not overwriting \
                 someone else's commits (fetch and re-run to replace it)"
            )));
        }

        let refusal: RefCell<Option<String>> = RefCell::new(None);
        let rejected = Cell::new(false);
        {
            let mut callbacks = crate::support::token_callbacks(token, &rejected);
            callbacks.push_update_reference(|reference, status| {
                if let Some(status) = status {
                    *refusal.borrow_mut() = Some(format!("{reference}: {status}"));
                }
                Ok(())
            });
            let mut options = PushOptions::new();
            options.remote_callbacks(callbacks);
            let refspec = format!("+refs/heads/{branch}:{remote_ref}");
            connection_remote
                .push(&[refspec.as_str()], Some(&mut options))
                .map_err(|error| push_error(&url, &error, rejected.get()))?;
        }
        if let Some(refusal) = refusal.into_inner() {
            return Err(GitHubError::Git(
                crate::redact::redact(&format!("`{url}` refused the push of {refusal}"))
                    .into_owned(),
            ));
        }
        // Record what we pushed, so the next push from this clone leases against it.
        self.repository
            .reference(
                &tracking_ref,
                commit,
                true,
                "agentci: pushed the pull request branch",
            )
            .map_err(|error| git_error("updating the remote-tracking ref", &error))?;
        tracing::info!("pushed `{branch}` ({commit}) to `{remote}`");
        Ok(PushOutcome {
            remote_ref,
            commit: commit.to_string(),
            replaced: current
                .filter(|current| *current != commit)
                .map(|id| id.to_string()),
        })
    }
}

/// A path inside the working tree, relative, not into `.git`.
fn checked_relative(path: &Path) -> Result<PathBuf, GitHubError> {
    let safe = !path.as_os_str().is_empty()
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(name) if name != ".git"));
    if safe {
        Ok(path.to_owned())
    } else {
        Err(GitHubError::Git(format!(
            "`{}` is not a path inside the working tree",
            path.display()
        )))
    }
}

fn push_error(url: &str, error: &git2::Error, rejected: bool) -> GitHubError {
    if rejected || (error.class() == ErrorClass::Http && error.code() == ErrorCode::Auth) {
        return GitHubError::Auth(crate::redact::redact(&format!("push to `{url}`")).into_owned());
    }
    git_error(&format!("pushing to `{url}`"), error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_hyphenated_and_short() {
        assert_eq!(
            slug("Add a Favorites list endpoint!"),
            "add-a-favorites-list-endpoint"
        );
        assert_eq!(
            slug("  --Fix   `auth.py`: token_refresh  "),
            "fix-auth-py-token-refresh"
        );
        assert_eq!(slug("Ünïcode façade"), "n-code-fa-ade");
        assert_eq!(slug(""), "");
        let long = slug("implement the very long feature request title that keeps going on");
        assert!(long.len() <= MAX_SLUG_LEN, "{long}");
        assert_eq!(long, "implement-the-very-long-feature-request");
        let one_word = slug(&"x".repeat(60));
        assert_eq!(one_word.len(), MAX_SLUG_LEN);
    }

    #[test]
    fn paths_must_stay_inside_the_working_tree() {
        assert!(checked_relative(Path::new("src/app.py")).is_ok());
        for bad in ["", "../x", "/etc/passwd", ".git/config", "a/../../b"] {
            assert!(checked_relative(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
