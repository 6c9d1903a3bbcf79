//! The GitHub options agents share (`--github-token`, `--repo`, `--pr-number`, `--commit-sha`) as
//! plain values resolved by `cli`, and their turning into a client and a context.

use super::GitHubError;
use super::client::{ClientSettings, EnvSource, GitHub};
use super::context::{ContextOverrides, GitHubContext, detect};

#[derive(Debug, Clone, Default)]
pub struct GitHubOptions {
    /// A token, or `env:NAME` to read it from variable `NAME` (default: `GITHUB_TOKEN`).
    pub github_token: Option<String>,
    /// `owner/name` (default: `GITHUB_REPOSITORY`).
    pub repository: Option<String>,
    /// Default: from the GitHub Actions event.
    pub pr_number: Option<u64>,
    /// The head commit comments anchor to (default: the pull request's head).
    pub commit_sha: Option<String>,
}

impl GitHubOptions {
    pub fn overrides(&self) -> ContextOverrides {
        ContextOverrides {
            repository: self.repository.clone(),
            pr_number: self.pr_number,
            commit_sha: self.commit_sha.clone(),
            issue_number: None,
        }
    }

    /// The context: the Actions environment and event, overridden by these flags.
    pub fn context(&self, env: &dyn EnvSource) -> Result<GitHubContext, GitHubError> {
        detect(env, &self.overrides())
    }

    /// A production client (token, `GITHUB_API_URL`, write pacing), recording instead of
    /// sending when `dry_run`.
    pub fn client(&self, env: &dyn EnvSource, dry_run: bool) -> Result<GitHub, GitHubError> {
        GitHub::new(
            ClientSettings::from_env(self.github_token.as_deref(), env)?.with_dry_run(dry_run),
        )
    }
}
