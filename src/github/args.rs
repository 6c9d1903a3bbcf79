//! The GitHub command-line options agents share (`--github-token`, `--repo`, `--pr-number`,
//! `--commit-sha`), ready to `#[command(flatten)]`, and their turning into a client and a context.

use clap::Args;

use super::GitHubError;
use super::client::{ClientSettings, EnvSource, GitHub};
use super::context::{ContextOverrides, GitHubContext, detect};

#[derive(Debug, Clone, Default, Args)]
pub struct GitHubArgs {
    /// GitHub token, or `env:NAME` to read it from variable `NAME` [default: `GITHUB_TOKEN`]
    #[arg(long, value_name = "TOKEN|env:NAME")]
    pub github_token: Option<String>,
    /// Repository as `owner/name` [default: `GITHUB_REPOSITORY`]
    #[arg(long = "repo", visible_alias = "repository", value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// Pull request number [default: from the GitHub Actions event]
    #[arg(long, value_name = "N")]
    pub pr_number: Option<u64>,
    /// Head commit the comments anchor to [default: the pull request's head]
    #[arg(long, value_name = "SHA")]
    pub commit_sha: Option<String>,
}

impl GitHubArgs {
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
