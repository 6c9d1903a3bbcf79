//! The GitHub context of a run: repository, pull request, issue, head commit and event kind,
//! read from the GitHub Actions environment (`GITHUB_*` variables and the event payload file)
//! and overridden by explicit flags.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::GitHubError;
use super::client::{EnvSource, non_empty};

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// Accept `owner/name`, `github.com/owner/name`, `https://HOST/owner/name`, with or without
    /// a trailing `.git` or `/`.
    pub fn parse(text: &str) -> Result<Self, GitHubError> {
        let invalid = || {
            GitHubError::Usage(format!(
                "`{text}` is not a repository; expected `owner/name` or `https://github.com/owner/name`"
            ))
        };
        let mut rest = text.trim();
        for scheme in ["https://", "http://", "ssh://", "git@"] {
            if let Some(stripped) = rest.strip_prefix(scheme) {
                rest = stripped;
            }
        }
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix(".git").unwrap_or(rest);
        let parts: Vec<&str> = rest
            .split(['/', ':'])
            .filter(|part| !part.is_empty())
            .collect();
        let (owner, name) = match parts.as_slice() {
            [owner, name] => (*owner, *name),
            [host, owner, name] if host.contains('.') => (*owner, *name),
            _ => return Err(invalid()),
        };
        let valid = |part: &str| {
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !valid(owner) || !valid(name) {
            return Err(invalid());
        }
        Ok(Self::new(owner, name))
    }

    /// The route prefix `/repos/{owner}/{name}`.
    pub fn route(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.owner, self.name)
    }
}

/// The event that started the workflow run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PullRequest,
    PullRequestTarget,
    Issues,
    IssueComment,
    WorkflowRun,
    Push,
    /// Another event (`schedule`, `workflow_dispatch`, …), by name.
    Other(String),
    /// Not running in GitHub Actions.
    None,
}

impl EventKind {
    pub fn from_name(name: &str) -> Self {
        match name {
            "pull_request" => Self::PullRequest,
            "pull_request_target" => Self::PullRequestTarget,
            "issues" => Self::Issues,
            "issue_comment" => Self::IssueComment,
            "workflow_run" => Self::WorkflowRun,
            "push" => Self::Push,
            "" => Self::None,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Explicit values from the command line; each wins over what the environment says.
#[derive(Debug, Clone, Default)]
pub struct ContextOverrides {
    /// `--repo`
    pub repository: Option<String>,
    /// `--pr-number`
    pub pr_number: Option<u64>,
    /// `--commit-sha`
    pub commit_sha: Option<String>,
    /// `--issue-number` / `--issue-id`
    pub issue_number: Option<u64>,
}

/// Where the run stands on GitHub.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitHubContext {
    pub repository: Option<Repository>,
    pub event: EventKind,
    /// The pull request the run is about (also set for an `issue_comment` on a pull request).
    pub pr_number: Option<u64>,
    /// The issue the run is about (for an `issue_comment` on a pull request, the PR's number).
    pub issue_number: Option<u64>,
    /// The pull request's head commit; else `GITHUB_SHA`. For `pull_request` events
    /// `GITHUB_SHA` is the merge commit, which review comments cannot anchor to, so the head
    /// SHA from the payload is preferred.
    pub head_sha: Option<String>,
    pub head_ref: Option<String>,
    pub base_ref: Option<String>,
    /// True when `GITHUB_ACTIONS=true`.
    pub in_actions: bool,
}

impl GitHubContext {
    /// The repository, or a clear error naming the flag that would supply it.
    pub fn require_repository(&self) -> Result<&Repository, GitHubError> {
        self.repository.as_ref().ok_or_else(|| {
            GitHubError::Context(
                "no repository: pass `--repo owner/name` or run in GitHub Actions (`GITHUB_REPOSITORY`)".into(),
            )
        })
    }

    pub fn require_pr_number(&self) -> Result<u64, GitHubError> {
        self.pr_number.ok_or_else(|| {
            GitHubError::Context(
                "no pull request: pass `--pr-number N` or run on a `pull_request`, `issue_comment` or `workflow_run` event".into(),
            )
        })
    }

    /// Fill in the head commit from the pull request when the event did not name it (a comment
    /// on a pull request, or `--pr-number` without `--commit-sha`).
    pub async fn resolve_head_sha(
        &mut self,
        client: &super::client::GitHub,
    ) -> Result<&str, GitHubError> {
        if self.head_sha.is_none() {
            let repository = self.require_repository()?.clone();
            let number = self.require_pr_number()?;
            let pull = super::pulls::get_pull(client, &repository, number).await?;
            self.head_ref.get_or_insert(pull.head.reference);
            self.base_ref.get_or_insert(pull.base.reference);
            self.head_sha = Some(pull.head.sha);
        }
        Ok(self.head_sha.as_deref().unwrap_or_default())
    }

    /// Find the pull request of the head commit when the event did not name one. A
    /// `workflow_run` triggered from a fork lists no pull requests in its payload; GitHub's
    /// "pull requests associated with a commit" still knows the open one. `Ok(None)` when none.
    pub async fn resolve_pr_from_head(
        &mut self,
        client: &super::client::GitHub,
    ) -> Result<Option<u64>, GitHubError> {
        if self.pr_number.is_some() {
            return Ok(self.pr_number);
        }
        let Some(sha) = self.head_sha.clone() else {
            return Ok(None);
        };
        let repository = self.require_repository()?.clone();
        let pulls: Vec<super::pulls::PullRequest> = client
            .get(&format!("{}/commits/{sha}/pulls", repository.route()))
            .await?;
        let found = pulls
            .iter()
            .find(|pull| pull.state == "open" && pull.head.sha == sha)
            .or_else(|| pulls.iter().find(|pull| pull.state == "open"));
        if let Some(pull) = found {
            self.pr_number = Some(pull.number);
            self.issue_number.get_or_insert(pull.number);
            self.head_ref.get_or_insert(pull.head.reference.clone());
            self.base_ref.get_or_insert(pull.base.reference.clone());
        }
        Ok(self.pr_number)
    }

    pub fn require_issue_number(&self) -> Result<u64, GitHubError> {
        self.issue_number.ok_or_else(|| {
            GitHubError::Context(
                "no issue: pass the issue number or run on an `issues` or `issue_comment` event"
                    .into(),
            )
        })
    }
}

/// The parts of a webhook payload we read; everything else is ignored.
#[derive(Debug, Default, Deserialize)]
struct Payload {
    #[serde(default)]
    pull_request: Option<PayloadPull>,
    #[serde(default)]
    issue: Option<PayloadIssue>,
    #[serde(default)]
    workflow_run: Option<PayloadWorkflowRun>,
    #[serde(default)]
    repository: Option<PayloadRepository>,
    #[serde(default)]
    number: Option<u64>,
    #[serde(default)]
    after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PayloadPull {
    number: u64,
    head: PayloadBranch,
    base: PayloadBranch,
}

#[derive(Debug, Deserialize)]
struct PayloadBranch {
    #[serde(rename = "ref")]
    reference: String,
    sha: String,
}

#[derive(Debug, Deserialize)]
struct PayloadIssue {
    number: u64,
    /// Present (an object of URLs) when the issue is a pull request.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct PayloadWorkflowRun {
    head_sha: String,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    pull_requests: Vec<PayloadRunPull>,
}

#[derive(Debug, Deserialize)]
struct PayloadRunPull {
    number: u64,
    #[serde(default)]
    base: Option<PayloadRunBranch>,
}

#[derive(Debug, Deserialize)]
struct PayloadRunBranch {
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Debug, Deserialize)]
struct PayloadRepository {
    full_name: String,
}

/// Read the context from the environment and the event payload, then apply the overrides.
/// Outside Actions (no `GITHUB_EVENT_PATH`) only the variables and overrides count.
pub fn detect(
    env: &dyn EnvSource,
    overrides: &ContextOverrides,
) -> Result<GitHubContext, GitHubError> {
    let event = non_empty(env, "GITHUB_EVENT_NAME")
        .map(|name| EventKind::from_name(&name))
        .unwrap_or(EventKind::None);
    let payload = match non_empty(env, "GITHUB_EVENT_PATH") {
        Some(path) => read_payload(Path::new(&path))?,
        None => Payload::default(),
    };
    let mut context = GitHubContext {
        repository: None,
        event: event.clone(),
        pr_number: None,
        issue_number: None,
        head_sha: non_empty(env, "GITHUB_SHA"),
        head_ref: non_empty(env, "GITHUB_HEAD_REF"),
        base_ref: non_empty(env, "GITHUB_BASE_REF"),
        in_actions: env.var("GITHUB_ACTIONS").as_deref() == Some("true"),
    };
    let repository_name = non_empty(env, "GITHUB_REPOSITORY").or_else(|| {
        payload
            .repository
            .as_ref()
            .map(|repo| repo.full_name.clone())
    });
    if let Some(name) = repository_name {
        context.repository = Some(Repository::parse(&name)?);
    }

    match event {
        EventKind::PullRequest | EventKind::PullRequestTarget => {
            if let Some(pull) = &payload.pull_request {
                context.pr_number = Some(pull.number);
                context.issue_number = Some(pull.number);
                context.head_sha = Some(pull.head.sha.clone());
                context.head_ref = Some(pull.head.reference.clone());
                context.base_ref = Some(pull.base.reference.clone());
            } else if let Some(number) = payload.number {
                context.pr_number = Some(number);
                context.issue_number = Some(number);
            }
        }
        EventKind::Issues | EventKind::IssueComment => {
            if let Some(issue) = &payload.issue {
                context.issue_number = Some(issue.number);
                if issue.pull_request.is_some() {
                    context.pr_number = Some(issue.number);
                    // The payload of a comment on a PR names no head commit and GITHUB_SHA is the
                    // default branch's; the caller resolves the head from the PR itself.
                    context.head_sha = None;
                }
            }
        }
        EventKind::WorkflowRun => {
            if let Some(run) = &payload.workflow_run {
                context.head_sha = Some(run.head_sha.clone());
                context.head_ref = run.head_branch.clone();
                if let Some(pull) = run.pull_requests.first() {
                    context.pr_number = Some(pull.number);
                    context.issue_number = Some(pull.number);
                    context.base_ref = pull.base.as_ref().map(|base| base.reference.clone());
                }
            }
        }
        EventKind::Push => {
            if let Some(after) = payload.after.filter(|sha| !sha.is_empty()) {
                context.head_sha = Some(after);
            }
        }
        EventKind::Other(_) | EventKind::None => {}
    }

    if let Some(repository) = &overrides.repository {
        context.repository = Some(Repository::parse(repository)?);
    }
    if let Some(number) = overrides.pr_number {
        if context.pr_number != Some(number) {
            // A different PR than the event's: the event's head commit no longer applies.
            if context.pr_number.is_some() {
                context.head_sha = None;
            }
            context.pr_number = Some(number);
        }
        if overrides.issue_number.is_none() {
            context.issue_number = Some(number);
        }
    }
    if let Some(number) = overrides.issue_number {
        context.issue_number = Some(number);
    }
    if let Some(sha) = overrides.commit_sha.as_deref().map(str::trim) {
        if !is_commit_sha(sha) {
            return Err(GitHubError::Usage(format!(
                "`--commit-sha {sha}` is not a 40-character hexadecimal commit id"
            )));
        }
        context.head_sha = Some(sha.to_owned());
    }
    Ok(context)
}

fn is_commit_sha(text: &str) -> bool {
    text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit())
}

fn read_payload(path: &Path) -> Result<Payload, GitHubError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        GitHubError::Context(format!(
            "cannot read the event payload `{}` (`GITHUB_EVENT_PATH`): {error}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|error| {
        GitHubError::Context(format!(
            "the event payload `{}` is not a webhook payload this version understands: {error}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_forms_parse() {
        for text in [
            "acme/shop",
            "github.com/acme/shop",
            "https://github.com/acme/shop.git",
            "https://ghe.example.com/acme/shop/",
            "git@github.com:acme/shop.git",
        ] {
            assert_eq!(
                Repository::parse(text).unwrap(),
                Repository::new("acme", "shop"),
                "{text}"
            );
        }
        for bad in ["acme", "a/b/c/d", "acme/sh op", ""] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Repository::new("a", "b").route(), "/repos/a/b");
    }

    #[test]
    fn flags_alone_make_a_context_outside_actions() {
        let env = std::collections::BTreeMap::new();
        let overrides = ContextOverrides {
            repository: Some("acme/shop".into()),
            pr_number: Some(9),
            commit_sha: Some("a".repeat(40)),
            issue_number: None,
        };
        let context = detect(&env, &overrides).unwrap();
        assert_eq!(context.event, EventKind::None);
        assert_eq!(context.pr_number, Some(9));
        assert_eq!(context.issue_number, Some(9));
        assert_eq!(context.head_sha.as_deref(), Some("a".repeat(40).as_str()));
        assert!(!context.in_actions);
        let bad = ContextOverrides {
            commit_sha: Some("main".into()),
            ..ContextOverrides::default()
        };
        assert!(detect(&env, &bad).is_err());
    }
}
