//! Issues and their conversation: read an issue with its labels and every comment, comment, and
//! keep one marked comment per purpose up to date (create it once, then edit it in place).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::GitHubError;
use super::client::{GitHub, Method};
use super::context::Repository;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
}

/// A comment in an issue's (or pull request's) conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl IssueComment {
    pub fn body_text(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }
}

/// An issue, as the issues API returns it (pull requests are issues too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Present when the issue is a pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<serde_json::Value>,
}

impl Issue {
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    pub fn label_names(&self) -> Vec<&str> {
        self.labels
            .iter()
            .map(|label| label.name.as_str())
            .collect()
    }
}

/// An issue with its whole conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueThread {
    pub issue: Issue,
    pub comments: Vec<IssueComment>,
}

/// What [`upsert_marked_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CommentUpsert {
    Created {
        id: u64,
    },
    Updated {
        id: u64,
    },
    /// The marked comment already had this body; nothing was sent.
    Unchanged {
        id: u64,
    },
    /// Dry run: the write was recorded, not sent.
    Planned,
}

impl CommentUpsert {
    pub fn id(self) -> Option<u64> {
        match self {
            Self::Created { id } | Self::Updated { id } | Self::Unchanged { id } => Some(id),
            Self::Planned => None,
        }
    }
}

pub async fn get_issue(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> Result<Issue, GitHubError> {
    client
        .get(&format!("{}/issues/{number}", repository.route()))
        .await
}

/// Every comment of an issue or pull request conversation, oldest first.
pub async fn list_comments(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> Result<Vec<IssueComment>, GitHubError> {
    client
        .get_all(&format!("{}/issues/{number}/comments", repository.route()))
        .await
}

/// The issue with its labels and every comment.
pub async fn read_issue(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> Result<IssueThread, GitHubError> {
    let issue = get_issue(client, repository, number).await?;
    let comments = list_comments(client, repository, number).await?;
    Ok(IssueThread { issue, comments })
}

/// Add a comment; `None` in dry-run mode.
pub async fn create_comment(
    client: &GitHub,
    repository: &Repository,
    number: u64,
    body: &str,
) -> Result<Option<IssueComment>, GitHubError> {
    let route = format!("{}/issues/{number}/comments", repository.route());
    let answer = client
        .write(Method::Post, &route, Some(&json!({ "body": body })))
        .await?;
    answer.map(parse_comment).transpose()
}

pub async fn update_comment(
    client: &GitHub,
    repository: &Repository,
    comment_id: u64,
    body: &str,
) -> Result<Option<IssueComment>, GitHubError> {
    let route = format!("{}/issues/comments/{comment_id}", repository.route());
    let answer = client
        .write(Method::Patch, &route, Some(&json!({ "body": body })))
        .await?;
    answer.map(parse_comment).transpose()
}

/// The hidden marker line for a purpose, e.g. `marker("summary:monty")` →
/// `<!-- agentci:summary:monty -->`.
pub fn marker(purpose: &str) -> String {
    format!("<!-- agentci:{purpose} -->")
}

/// Keep one comment carrying `marker` on the conversation: create it, or edit the existing one
/// (the oldest, if several carry the marker) when its body differs. The marker is appended to
/// `body` when the body lacks it.
pub async fn upsert_marked_comment(
    client: &GitHub,
    repository: &Repository,
    number: u64,
    marker: &str,
    body: &str,
) -> Result<CommentUpsert, GitHubError> {
    let body = if body.contains(marker) {
        body.to_owned()
    } else {
        format!("{body}\n\n{marker}")
    };
    let redacted = crate::redact::redact(&body).into_owned();
    let comments = list_comments(client, repository, number).await?;
    let existing = comments
        .iter()
        .find(|comment| comment.body_text().contains(marker));
    match existing {
        Some(comment) if comment.body_text() == redacted => {
            Ok(CommentUpsert::Unchanged { id: comment.id })
        }
        Some(comment) => {
            let updated = update_comment(client, repository, comment.id, &body).await?;
            Ok(match updated {
                Some(updated) => CommentUpsert::Updated { id: updated.id },
                None => CommentUpsert::Planned,
            })
        }
        None => {
            let created = create_comment(client, repository, number, &body).await?;
            Ok(match created {
                Some(created) => CommentUpsert::Created { id: created.id },
                None => CommentUpsert::Planned,
            })
        }
    }
}

fn parse_comment(value: serde_json::Value) -> Result<IssueComment, GitHubError> {
    serde_json::from_value(value).map_err(|error| {
        GitHubError::Transport(format!("GitHub's comment answer is not a comment: {error}"))
    })
}
