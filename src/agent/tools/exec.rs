//! `exec`: run one allow-listed command, without a shell, in a temporary copy of the workspace
//! (the source plus this run's changes). Its output tail comes back redacted; the files it changed
//! flow back into the overlay, so the end-of-run rules (apply, diff, patch) cover them too. The
//! environment loses every variable whose name suggests a credential.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{arguments, spec};
use crate::agent::tool::{Tool, ToolError};
use crate::agent::workspace::{SKIPPED_DIRECTORIES, Workspace, copy_tree};
use crate::llm::ToolSpec;

const MAX_OUTPUT_BYTES: usize = 16_000;
const MAX_FLOW_BACK_BYTES: u64 = 1_000_000;
const SECRET_WORDS: [&str; 4] = ["KEY", "TOKEN", "SECRET", "PASSWORD"];

pub struct ExecTool {
    workspace: Arc<Workspace>,
    allowed: Vec<String>,
    timeout: Duration,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExecArguments {
    /// One command, e.g. `python -m pytest -q tests/test_auth.py`. No pipes, redirections or `&&`.
    command: String,
}

impl ExecTool {
    pub fn new(workspace: Arc<Workspace>, allowed: Vec<String>, timeout: Duration) -> Self {
        Self {
            workspace,
            allowed,
            timeout,
        }
    }
}

#[async_trait]
impl Tool for ExecTool {
    fn spec(&self) -> ToolSpec {
        let description = format!(
            "Run one command in a copy of the workspace (dependency folders such as node_modules and .venv are not copied: install them first). Allowed: {}.",
            self.allowed
                .iter()
                .map(|entry| format!("`{entry}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        spec::<ExecArguments>("exec", &description)
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: ExecArguments = arguments(value)?;
        let words = split(&args.command)?;
        if !command_allowed(&words, &self.allowed) {
            return Err(ToolError::Denied(format!(
                "`{}` is not on this agent's allow-list ({})",
                args.command,
                self.allowed.join(", ")
            )));
        }
        let copy = tempfile::tempdir()
            .map_err(|error| ToolError::Failed(format!("cannot create a work copy: {error}")))?;
        materialise(&self.workspace, copy.path())
            .map_err(|error| ToolError::Failed(format!("cannot copy the workspace: {error:#}")))?;
        let mut command = tokio::process::Command::new(&words[0]);
        command
            .args(&words[1..])
            .current_dir(copy.path())
            .env_clear()
            .envs(std::env::vars().filter(|(name, _)| {
                let upper = name.to_ascii_uppercase();
                !SECRET_WORDS.iter().any(|word| upper.contains(word))
            }))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = match tokio::time::timeout(self.timeout, command.output()).await {
            Err(_) => {
                return Err(ToolError::Failed(format!(
                    "`{}` did not finish within {}s and was stopped",
                    args.command,
                    self.timeout.as_secs()
                )));
            }
            Ok(Err(error)) => {
                return Err(ToolError::Failed(format!(
                    "cannot run `{}`: {error}",
                    words[0]
                )));
            }
            Ok(Ok(output)) => output,
        };
        let changed = flow_back(&self.workspace, copy.path());
        let mut text = format!(
            "exit code: {}\n",
            output
                .status
                .code()
                .map_or_else(|| "killed by a signal".to_owned(), |code| code.to_string())
        );
        for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            if !bytes.is_empty() {
                text.push_str(&format!(
                    "--- {name}\n{}\n",
                    tail(&String::from_utf8_lossy(bytes))
                ));
            }
        }
        if !changed.is_empty() {
            text.push_str(&format!(
                "files changed by the command: {}\n",
                changed.join(", ")
            ));
        }
        Ok(crate::redact::redact(&text).into_owned())
    }
}

/// Is the command one of the allow-list's entries (its words, then any arguments)?
pub fn command_allowed(words: &[String], allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        let prefix: Vec<&str> = entry.split_whitespace().collect();
        !prefix.is_empty()
            && words.len() >= prefix.len()
            && prefix.iter().zip(words).all(|(want, have)| want == have)
    })
}

/// Split a command line into words: quotes group, backslashes escape; shell operators refused.
fn split(command: &str) -> Result<Vec<String>, ToolError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, '|' | ';' | '&' | '>' | '<' | '`' | '\n') => {
                return Err(ToolError::Denied(format!(
                    "`{c}` is a shell operator; run one plain command"
                )));
            }
            (None, '$') if chars.peek() == Some(&'(') => {
                return Err(ToolError::Denied(
                    "`$(` is shell syntax; run one plain command".into(),
                ));
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(ToolError::InvalidArguments(
            "unbalanced quotes in the command".into(),
        ));
    }
    if in_word {
        words.push(current);
    }
    if words.is_empty() {
        return Err(ToolError::InvalidArguments("the command is empty".into()));
    }
    Ok(words)
}

fn tail(text: &str) -> String {
    if text.len() <= MAX_OUTPUT_BYTES {
        return text.trim_end().to_owned();
    }
    let mut cut = text.len() - MAX_OUTPUT_BYTES;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    format!(
        "[… {} earlier bytes not shown]\n{}",
        cut,
        text[cut..].trim_end()
    )
}

/// The source without `.git` and dependency folders, with this run's changes written over it.
fn materialise(workspace: &Workspace, target: &Path) -> anyhow::Result<()> {
    copy_tree(workspace.root(), target, &SKIPPED_DIRECTORIES)?;
    for change in workspace.changes() {
        let destination = target.join(&change.path);
        match workspace.read_text(&change.path) {
            Ok(content) => {
                if let Some(parent) = destination.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&destination, content)?;
            }
            Err(_) => {
                let _ = std::fs::remove_file(&destination);
            }
        }
    }
    Ok(())
}

/// Record in the overlay every text file the command created, changed or deleted.
fn flow_back(workspace: &Workspace, copy: &Path) -> Vec<String> {
    let mut changed = Vec::new();
    let mut present = BTreeSet::new();
    let walker = walkdir::WalkDir::new(copy)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || !SKIPPED_DIRECTORIES
                    .iter()
                    .any(|name| entry.file_name() == *name)
                    && entry.file_name() != "dist"
        });
    for entry in walker.flatten() {
        if !entry.file_type().is_file()
            || entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX) > MAX_FLOW_BACK_BYTES
        {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(copy) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        present.insert(relative.clone());
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if bytes.contains(&0) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if workspace.read_text(&relative).ok().as_deref() != Some(text.as_str()) {
            workspace.record(&relative, Some(text));
            changed.push(relative);
        }
    }
    for file in workspace.files() {
        let skipped = file
            .split('/')
            .any(|part| SKIPPED_DIRECTORIES.contains(&part) || part == "dist");
        if !skipped && !present.contains(&file) && copy.join(&file).symlink_metadata().is_err() {
            workspace.record(&file, None);
            changed.push(file);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell_without_its_operators() {
        assert_eq!(
            split("python -m pytest -k 'a b' \"c\\\"d\"").unwrap(),
            ["python", "-m", "pytest", "-k", "a b", "c\"d"]
        );
        assert!(matches!(split("pytest | tee x"), Err(ToolError::Denied(_))));
        assert!(matches!(
            split("pytest && rm -rf /"),
            Err(ToolError::Denied(_))
        ));
        assert!(matches!(split("echo $(whoami)"), Err(ToolError::Denied(_))));
        assert!(matches!(
            split("echo 'open"),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn the_allow_list_matches_whole_leading_words() {
        let allowed = vec!["npm run".to_owned(), "pytest".to_owned()];
        let words = |text: &str| split(text).unwrap();
        assert!(command_allowed(&words("npm run lint"), &allowed));
        assert!(command_allowed(&words("pytest -q"), &allowed));
        assert!(!command_allowed(&words("npm install evil"), &allowed));
        assert!(!command_allowed(&words("pytestx"), &allowed));
        assert!(!command_allowed(&words("rm -rf ."), &allowed));
    }
}
