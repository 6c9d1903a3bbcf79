//! `speck run --create-pr`: a finished phase's copy of the repository becomes one commit on the
//! phase's `pr_branch` and one pull request, through GitHub's Git Data API. The copy is compared
//! with the original source file by file, so nothing needs pushing from a local clone and no
//! credential ever sits in a git remote.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;

use super::run::{PhaseOutcome, PhasePublisher, Publication};
use super::tasks::{Decomposition, Phase};
use crate::github::client::GitHub;
use crate::github::context::Repository;
use crate::github::pulls::{FileChange, NewPull, commit_changes, open_or_update_pull};

/// Publishes each phase as a branch and a pull request: on the run's base branch, or on the
/// branch of the phase it depends on (which the pull request then targets).
pub struct GitHubPublisher {
    pub client: GitHub,
    pub repository: Repository,
    pub base_branch: String,
    /// The issue the decomposition came from; its pull requests close it.
    pub issue: Option<u64>,
    pub feature: String,
}

#[async_trait]
impl PhasePublisher for GitHubPublisher {
    async fn publish(&self, publication: &Publication<'_>) -> Result<Option<String>, String> {
        let phase = publication.phase;
        let branch = phase
            .pr_branch
            .as_deref()
            .ok_or_else(|| format!("phase {} has no `pr_branch`", phase.phase))?;
        let base = publication
            .base_branch
            .unwrap_or(&self.base_branch)
            .to_owned();
        let before = publication.started_from.to_path_buf();
        let copy = publication.workspace.to_path_buf();
        let changes = tokio::task::spawn_blocking(move || phase_changes(&before, &copy))
            .await
            .map_err(|error| format!("comparing the phase copy crashed: {error}"))?
            .map_err(|error| format!("{error:#}"))?;
        if changes.is_empty() {
            tracing::info!(
                phase = phase.phase,
                "the phase changed no file; no pull request"
            );
            return Ok(None);
        }
        tracing::info!(
            phase = phase.phase,
            branch,
            base,
            files = changes.len(),
            "committing the phase"
        );
        let message = format!(
            "feat({}): phase {} {}",
            self.feature, phase.phase, phase.name
        );
        commit_changes(
            &self.client,
            &self.repository,
            branch,
            &base,
            &message,
            &changes,
        )
        .await
        .map_err(|error| error.to_string())?;
        let pull = NewPull {
            title: format!("Phase {}: {}", phase.phase, phase.name),
            head: branch.to_owned(),
            base,
            body: publication.body.clone(),
            closes_issue: self.issue,
            draft: false,
        };
        let outcome = open_or_update_pull(&self.client, &self.repository, &pull)
            .await
            .map_err(|error| error.to_string())?;
        Ok(outcome.html_url)
    }
}

/// The pull request's body: what the phase implements, what it must merge after, and each task
/// with its status, report and (for a review) findings.
pub fn pull_body(
    phase: &Phase,
    decomposition: &Decomposition,
    outcome: &PhaseOutcome,
    predecessors: &[PhaseOutcome],
) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "Implements **{}** (phase {} of {}) of `{}`: {}\n",
        phase.name,
        phase.phase,
        decomposition.execution_plan.total_phases,
        decomposition.feature,
        decomposition.spec_summary
    );
    if !predecessors.is_empty() {
        let _ = writeln!(body, "**Merge after:**");
        for before in predecessors {
            let what = before
                .pull_request
                .clone()
                .or_else(|| {
                    before
                        .pr_branch
                        .as_ref()
                        .map(|branch| format!("`{branch}`"))
                })
                .unwrap_or_else(|| "its changes".into());
            let _ = writeln!(body, "- phase {} {} ({what})", before.phase, before.name);
        }
        let _ = writeln!(
            body,
            "\nThis branch is built on the first of them; its pull request targets that branch.\n"
        );
    }
    let _ = writeln!(body, "## Tasks");
    for task in &outcome.tasks {
        let agent = match (&task.agent, &task.entrypoint) {
            (Some(agent), Some(entrypoint)) => format!(" ({agent} `{entrypoint}`)"),
            _ => String::new(),
        };
        let title = decomposition
            .tasks
            .iter()
            .find(|planned| planned.id == task.id)
            .map_or(task.title.as_str(), |planned| planned.title.as_str());
        let _ = writeln!(body, "\n### {} {title}{agent}", task.id);
        if !task.files_changed.is_empty() {
            let _ = writeln!(body, "\nFiles: `{}`", task.files_changed.join("`, `"));
        }
        if let Some(report) = &task.report {
            let _ = writeln!(body, "\n{}", report.trim());
        }
        if let Some(findings) = &task.findings {
            let _ = write!(body, "{}", findings_text(findings));
        }
    }
    let _ = write!(body, "\nGenerated by `agentci speck run`.");
    body
}

/// A review's findings (`issues` with severity, file, line and message) as a Markdown list.
fn findings_text(findings: &serde_json::Value) -> String {
    let mut text = String::new();
    let issues = findings
        .get("issues")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    if issues.is_empty() {
        text.push_str("\nThe review found no issues.\n");
        return text;
    }
    text.push_str("\nReview findings:\n");
    for issue in issues {
        let field = |key: &str| {
            issue
                .get(key)
                .map(|value| match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let place = match (field("path").as_str(), field("line").as_str()) {
            ("", _) => String::new(),
            (file, "") | (file, "null") => format!(" `{file}`"),
            (file, line) => format!(" `{file}:{line}`"),
        };
        let message = [field("text"), field("message"), field("description")]
            .into_iter()
            .find(|text| !text.is_empty())
            .unwrap_or_default();
        let _ = writeln!(text, "- **{}**{place}: {message}", field("severity"));
    }
    text
}

/// Every file the phase added, changed or deleted, relative to `source`, sorted by path.
/// `.git`, the directories [`super::run::copy_tree`] leaves out and, in a git repository, ignored
/// paths are not compared; symbolic links are left alone (the Git Data API call here writes
/// regular files only).
pub fn phase_changes(source: &Path, copy: &Path) -> anyhow::Result<Vec<FileChange>> {
    let repository = git2::Repository::open(source).ok();
    let ignored = |relative: &str| {
        repository.as_ref().is_some_and(|repository| {
            repository
                .is_path_ignored(Path::new(relative))
                .unwrap_or(false)
        })
    };
    let before = files(source)?;
    let after = files(copy)?;
    let mut changes = Vec::new();
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for path in paths {
        if ignored(path) {
            continue;
        }
        match (before.get(path), after.get(path)) {
            (Some(_), None) => changes.push(FileChange {
                path: path.clone(),
                content: None,
            }),
            (old, Some(new)) => {
                let content =
                    std::fs::read(new).with_context(|| format!("failed to read `{path}`"))?;
                let unchanged = match old {
                    Some(old) => {
                        std::fs::read(old).with_context(|| format!("failed to read `{path}`"))?
                            == content
                    }
                    None => false,
                };
                if !unchanged {
                    changes.push(FileChange {
                        path: path.clone(),
                        content: Some(content),
                    });
                }
            }
            (None, None) => {}
        }
    }
    Ok(changes)
}

/// Regular files under `root`, by `/`-separated relative path.
fn files(root: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    super::run::tree_files(root).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_added_changed_and_deleted_files_and_skips_build_directories() {
        let source = tempfile::tempdir().unwrap();
        let copy = tempfile::tempdir().unwrap();
        for (root, files) in [
            (
                source.path(),
                vec![("a.py", "a"), ("keep.py", "same"), ("gone.py", "x")],
            ),
            (
                copy.path(),
                vec![
                    ("a.py", "b"),
                    ("keep.py", "same"),
                    ("pkg/new.py", "n"),
                    ("node_modules/x.js", "dep"),
                    (".git/HEAD", "ref"),
                ],
            ),
        ] {
            for (path, text) in files {
                let path = root.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        }
        let changes = phase_changes(source.path(), copy.path()).unwrap();
        assert_eq!(
            changes,
            vec![
                FileChange {
                    path: "a.py".into(),
                    content: Some(b"b".to_vec())
                },
                FileChange {
                    path: "gone.py".into(),
                    content: None
                },
                FileChange {
                    path: "pkg/new.py".into(),
                    content: Some(b"n".to_vec())
                },
            ]
        );
    }

    #[test]
    fn paths_the_repository_ignores_are_not_published() {
        let source = tempfile::tempdir().unwrap();
        git2::Repository::init(source.path()).unwrap();
        std::fs::write(source.path().join(".gitignore"), "*.log\n").unwrap();
        std::fs::write(source.path().join("app.py"), "a").unwrap();
        let copy = tempfile::tempdir().unwrap();
        super::super::run::copy_tree(source.path(), copy.path()).unwrap();
        std::fs::write(copy.path().join("pytest.log"), "noise").unwrap();
        std::fs::write(copy.path().join("app.py"), "b").unwrap();
        let changes = phase_changes(source.path(), copy.path()).unwrap();
        let paths: Vec<&str> = changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["app.py"]);
    }
}
