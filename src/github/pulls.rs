//! Pull requests and repository content over REST: read a PR, open one (or update the open PR
//! of the same head branch), read a file at a commit, and commit a set of file changes to a
//! branch through the Git Data API when there is no local clone to push from.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::GitHubError;
use super::client::{GitHub, Method};
use super::context::Repository;
use super::encoding::{base64_decode, base64_encode, encode_path};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchRef {
    #[serde(rename = "ref")]
    pub reference: String,
    pub sha: String,
    /// `owner:branch`
    #[serde(default)]
    pub label: Option<String>,
}

/// A pull request (the fields the agents use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub state: String,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    pub head: BranchRef,
    pub base: BranchRef,
}

pub async fn get_pull(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> Result<PullRequest, GitHubError> {
    client
        .get(&format!("{}/pulls/{number}", repository.route()))
        .await
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPull {
    pub title: String,
    /// The branch with the changes (in the same repository).
    pub head: String,
    pub base: String,
    pub body: String,
    /// Appends `Closes #n` so that merging closes the issue.
    pub closes_issue: Option<u64>,
    pub draft: bool,
}

impl NewPull {
    /// The body as sent: the given body, then `Closes #n` when it does not say so already.
    pub fn full_body(&self) -> String {
        match self.closes_issue {
            Some(number) if !self.body.contains(&format!("Closes #{number}")) => {
                if self.body.trim().is_empty() {
                    format!("Closes #{number}")
                } else {
                    format!("{}\n\nCloses #{number}", self.body.trim_end())
                }
            }
            _ => self.body.clone(),
        }
    }
}

/// What [`open_or_update_pull`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullOutcome {
    /// `None` in dry-run mode when the PR would be created.
    pub number: Option<u64>,
    pub html_url: Option<String>,
    pub created: bool,
}

/// The open pull request whose head is `branch` of this repository, if any.
pub async fn find_open_pull(
    client: &GitHub,
    repository: &Repository,
    branch: &str,
) -> Result<Option<PullRequest>, GitHubError> {
    let route = format!(
        "{}/pulls?state=open&head={}:{}",
        repository.route(),
        encode_path(&repository.owner),
        encode_path(branch)
    );
    let pulls: Vec<PullRequest> = client.get(&route).await?;
    Ok(pulls.into_iter().find(|pull| pull.head.reference == branch))
}

/// Open a pull request, or, when one is already open for the same head branch, update its
/// title and body (re-runs must not open a second PR).
pub async fn open_or_update_pull(
    client: &GitHub,
    repository: &Repository,
    pull: &NewPull,
) -> Result<PullOutcome, GitHubError> {
    let body = pull.full_body();
    if let Some(existing) = find_open_pull(client, repository, &pull.head).await? {
        let route = format!("{}/pulls/{}", repository.route(), existing.number);
        let answer = client
            .write(
                Method::Patch,
                &route,
                Some(&json!({ "title": pull.title, "body": body })),
            )
            .await?;
        let html_url = match answer {
            Some(value) => parse_pull(value)?.html_url,
            None => existing.html_url,
        };
        return Ok(PullOutcome {
            number: Some(existing.number),
            html_url,
            created: false,
        });
    }
    let route = format!("{}/pulls", repository.route());
    let answer = client
        .write(
            Method::Post,
            &route,
            Some(&json!({
                "title": pull.title,
                "head": pull.head,
                "base": pull.base,
                "body": body,
                "draft": pull.draft,
                "maintainer_can_modify": true,
            })),
        )
        .await?;
    Ok(match answer {
        Some(value) => {
            let created = parse_pull(value)?;
            PullOutcome {
                number: Some(created.number),
                html_url: created.html_url,
                created: true,
            }
        }
        None => PullOutcome {
            number: None,
            html_url: None,
            created: true,
        },
    })
}

fn parse_pull(value: serde_json::Value) -> Result<PullRequest, GitHubError> {
    serde_json::from_value(value).map_err(|error| {
        GitHubError::Transport(format!(
            "GitHub's pull request answer is not a pull request: {error}"
        ))
    })
}

#[derive(Debug, Deserialize)]
struct ContentEntry {
    #[serde(rename = "type")]
    kind: String,
    sha: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BlobEntry {
    content: String,
    encoding: String,
}

/// The bytes of a file at a commit, branch or tag; `Ok(None)` when no file exists there.
pub async fn read_file_bytes(
    client: &GitHub,
    repository: &Repository,
    path: &str,
    reference: &str,
) -> Result<Option<Vec<u8>>, GitHubError> {
    let route = format!(
        "{}/contents/{}?ref={}",
        repository.route(),
        encode_path(path),
        encode_path(reference)
    );
    let value: serde_json::Value = match client.get(&route).await {
        Ok(value) => value,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error),
    };
    // A directory answers with an array.
    let Ok(entry) = serde_json::from_value::<ContentEntry>(value) else {
        return Ok(None);
    };
    if entry.kind != "file" {
        return Ok(None);
    }
    let undecodable = || GitHubError::Transport(format!("the content of `{path}` is not base64"));
    match (entry.encoding.as_deref(), entry.content.as_deref()) {
        (Some("base64"), Some(content)) => base64_decode(content).map(Some).ok_or_else(undecodable),
        // Files over 1 MB come without content; the blob API serves them up to 100 MB.
        _ => {
            let blob: BlobEntry = client
                .get(&format!("{}/git/blobs/{}", repository.route(), entry.sha))
                .await?;
            if blob.encoding == "base64" {
                base64_decode(&blob.content)
                    .map(Some)
                    .ok_or_else(undecodable)
            } else {
                Ok(Some(blob.content.into_bytes()))
            }
        }
    }
}

/// A file's text at a reference (invalid UTF-8 is replaced); `Ok(None)` when it does not exist.
pub async fn read_file(
    client: &GitHub,
    repository: &Repository,
    path: &str,
    reference: &str,
) -> Result<Option<String>, GitHubError> {
    Ok(read_file_bytes(client, repository, path, reference)
        .await?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// One change to commit: new content for a path, or its deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// `None` deletes the file.
    pub content: Option<Vec<u8>>,
}

/// What [`commit_changes`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitOutcome {
    /// The new commit; `None` in dry-run mode.
    pub commit_sha: Option<String>,
    /// The branch was created from the base branch.
    pub created_branch: bool,
}

#[derive(Debug, Deserialize)]
struct GitRef {
    object: GitObject,
}

#[derive(Debug, Deserialize)]
struct GitObject {
    sha: String,
}

#[derive(Debug, Deserialize)]
struct GitCommit {
    tree: GitObject,
}

#[derive(Debug, Deserialize)]
struct GitTree {
    #[serde(default)]
    tree: Vec<GitTreeEntry>,
}

#[derive(Debug, Deserialize)]
struct GitTreeEntry {
    path: String,
    mode: String,
}

/// Commit `changes` on top of `branch` (created from `base_branch` when it does not exist yet)
/// with the Git Data API: one blob per changed file, a tree on the parent's tree, a commit, and a
/// fast-forward of the branch. Files keep their mode (an executable script stays executable).
pub async fn commit_changes(
    client: &GitHub,
    repository: &Repository,
    branch: &str,
    base_branch: &str,
    message: &str,
    changes: &[FileChange],
) -> Result<CommitOutcome, GitHubError> {
    if changes.is_empty() {
        return Err(GitHubError::Context(format!(
            "nothing to commit on `{branch}`: no file changed"
        )));
    }
    let route = repository.route();
    let branch_ref = format!("{route}/git/ref/heads/{}", encode_path(branch));
    let (parent_sha, created_branch) = match client.get::<GitRef>(&branch_ref).await {
        Ok(found) => (found.object.sha, false),
        Err(error) if error.is_not_found() => {
            let base: GitRef = client
                .get(&format!(
                    "{route}/git/ref/heads/{}",
                    encode_path(base_branch)
                ))
                .await?;
            (base.object.sha, true)
        }
        Err(error) => return Err(error),
    };
    let parent: GitCommit = client
        .get(&format!("{route}/git/commits/{parent_sha}"))
        .await?;
    let modes: HashMap<String, String> = client
        .get::<GitTree>(&format!(
            "{route}/git/trees/{}?recursive=1",
            parent.tree.sha
        ))
        .await?
        .tree
        .into_iter()
        .map(|entry| (entry.path, entry.mode))
        .collect();

    let mut entries = Vec::with_capacity(changes.len());
    for change in changes {
        let mode = modes
            .get(&change.path)
            .cloned()
            .unwrap_or_else(|| "100644".to_owned());
        let sha = match &change.content {
            None => serde_json::Value::Null,
            Some(bytes) => {
                let answer = client
                    .write(
                        Method::Post,
                        &format!("{route}/git/blobs"),
                        Some(&json!({ "content": base64_encode(bytes), "encoding": "base64" })),
                    )
                    .await?;
                match answer {
                    Some(blob) => json!(sha_of(&blob, "blob")?),
                    // Dry run: the id git would give this content, so the plan stays exact.
                    None => json!(blob_id(bytes)),
                }
            }
        };
        entries.push(json!({ "path": change.path, "mode": mode, "type": "blob", "sha": sha }));
    }

    let tree = client
        .write(
            Method::Post,
            &format!("{route}/git/trees"),
            Some(&json!({ "base_tree": parent.tree.sha, "tree": entries })),
        )
        .await?;
    let Some(tree) = tree else {
        plan_rest_of_commit(client, &route, branch, message, &parent_sha, created_branch).await?;
        return Ok(CommitOutcome {
            commit_sha: None,
            created_branch,
        });
    };
    let tree_sha = sha_of(&tree, "tree")?;
    let commit = client
        .write(
            Method::Post,
            &format!("{route}/git/commits"),
            Some(&json!({ "message": message, "tree": tree_sha, "parents": [parent_sha] })),
        )
        .await?
        .ok_or_else(|| GitHubError::Transport("GitHub returned no commit".into()))?;
    let commit_sha = sha_of(&commit, "commit")?;
    update_branch(client, &route, branch, &commit_sha, created_branch).await?;
    Ok(CommitOutcome {
        commit_sha: Some(commit_sha),
        created_branch,
    })
}

/// In dry-run mode the tree and commit ids are unknown; the plan names them symbolically so that
/// it still shows every request that would be sent, in order.
async fn plan_rest_of_commit(
    client: &GitHub,
    route: &str,
    branch: &str,
    message: &str,
    parent_sha: &str,
    created_branch: bool,
) -> Result<(), GitHubError> {
    client
        .write(
            Method::Post,
            &format!("{route}/git/commits"),
            Some(&json!({ "message": message, "tree": "<sha of the tree above>", "parents": [parent_sha] })),
        )
        .await?;
    update_branch(
        client,
        route,
        branch,
        "<sha of the commit above>",
        created_branch,
    )
    .await
}

async fn update_branch(
    client: &GitHub,
    route: &str,
    branch: &str,
    sha: &str,
    create: bool,
) -> Result<(), GitHubError> {
    if create {
        client
            .write(
                Method::Post,
                &format!("{route}/git/refs"),
                Some(&json!({ "ref": format!("refs/heads/{branch}"), "sha": sha })),
            )
            .await?;
    } else {
        client
            .write(
                Method::Patch,
                &format!("{route}/git/refs/heads/{}", encode_path(branch)),
                Some(&json!({ "sha": sha, "force": false })),
            )
            .await?;
    }
    Ok(())
}

fn sha_of(value: &serde_json::Value, what: &str) -> Result<String, GitHubError> {
    value
        .get("sha")
        .and_then(|sha| sha.as_str())
        .map(str::to_owned)
        .ok_or_else(|| GitHubError::Transport(format!("GitHub's {what} answer has no `sha`")))
}

/// The object id git gives a blob with this content.
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|oid| oid.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_line_is_added_once() {
        let mut pull = NewPull {
            title: "t".into(),
            head: "h".into(),
            base: "main".into(),
            body: "Adds favorites.".into(),
            closes_issue: Some(42),
            draft: false,
        };
        assert_eq!(pull.full_body(), "Adds favorites.\n\nCloses #42");
        pull.body = "Adds favorites.\n\nCloses #42".into();
        assert_eq!(pull.full_body(), "Adds favorites.\n\nCloses #42");
        pull.body = String::new();
        assert_eq!(pull.full_body(), "Closes #42");
    }

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
