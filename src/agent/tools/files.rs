//! The read-only tools: `read_file`, `list_dir`, `glob`, `search`. Everything they return passes
//! through the redactor before the model sees it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::agent::tool::{ToolError, TypedTool};
use crate::agent::workspace::Workspace;

const DEFAULT_LINES: usize = 2_000;
const MAX_READ_BYTES: usize = 100_000;
/// Each line shown is cut here, so a minified file's one huge line can still be read.
const MAX_LINE_BYTES: usize = 4_000;
/// `read_file` streams at most this much of a file.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// `search` reads at most this much of each file.
const MAX_SEARCH_FILE_BYTES: u64 = 2 * 1024 * 1024;
const MAX_GLOB_RESULTS: usize = 500;
const MAX_SEARCH_MATCHES: usize = 200;

pub struct ReadFile(pub Arc<Workspace>);
pub struct ListDir(pub Arc<Workspace>);
pub struct Glob(pub Arc<Workspace>);
pub struct Search(pub Arc<Workspace>);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileArguments {
    /// Path relative to the workspace root.
    path: String,
    /// First line to read, 1-based.
    #[serde(default)]
    offset: Option<usize>,
    /// How many lines to read.
    #[serde(default)]
    limit: Option<usize>,
}

#[async_trait]
impl TypedTool for ReadFile {
    type Arguments = ReadFileArguments;
    const NAME: &'static str = "read_file";
    const DESCRIPTION: &'static str = "Read a text file of the workspace, with line numbers. Use `offset` and `limit` for long files.";
    const READ_ONLY: bool = true;
    async fn run(&self, args: ReadFileArguments) -> Result<String, ToolError> {
        let workspace = Arc::clone(&self.0);
        blocking(move || read_file(&workspace, &args)).await
    }
}

/// Run file work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ToolError::Failed(format!("a file task failed: {error}")))?
}

fn read_file(workspace: &Workspace, args: &ReadFileArguments) -> Result<String, ToolError> {
    let first = args.offset.unwrap_or(1).max(1);
    let limit = args.limit.unwrap_or(DEFAULT_LINES).max(1);
    let window = workspace.read_lines(&args.path, first, limit, MAX_LINE_BYTES, MAX_FILE_BYTES)?;
    let total = window.total;
    if first > total.max(1) {
        return Err(ToolError::InvalidArguments(format!(
            "`{}` has {total} lines; offset {first} is past the end",
            args.path
        )));
    }
    let mut output = String::new();
    let mut last = first - 1;
    for (number, line) in &window.lines {
        if output.len() + line.len() > MAX_READ_BYTES {
            break;
        }
        let _ = writeln!(output, "{number:>6}\t{line}");
        last = *number;
    }
    if last < total {
        let _ = write!(
            output,
            "[… lines {}-{total} of {total} not shown; read them with `offset: {}`]",
            last + 1,
            last + 1
        );
    }
    if let Some(bytes) = window.stopped_at {
        let _ = write!(
            output,
            "\n[… reading stopped after {bytes} bytes of a larger file]"
        );
    }
    Ok(crate::redact::redact(&output).into_owned())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDirArguments {
    /// Directory relative to the workspace root; the root by default.
    #[serde(default)]
    path: Option<String>,
}

#[async_trait]
impl TypedTool for ListDir {
    type Arguments = ListDirArguments;
    const NAME: &'static str = "list_dir";
    const DESCRIPTION: &'static str =
        "List a directory of the workspace; directories end with `/`.";
    const READ_ONLY: bool = true;
    async fn run(&self, args: ListDirArguments) -> Result<String, ToolError> {
        let workspace = Arc::clone(&self.0);
        blocking(move || list_dir(&workspace, args.path.as_deref().unwrap_or("."))).await
    }
}

/// The entries of a workspace directory, directories with a trailing `/`.
fn list_dir(workspace: &Workspace, path: &str) -> Result<String, ToolError> {
    let directory = workspace.resolve(path, false)?;
    let prefix = if directory.is_empty() {
        String::new()
    } else {
        format!("{directory}/")
    };
    let mut entries = BTreeSet::new();
    for file in workspace.files() {
        if let Some(rest) = file.strip_prefix(&prefix) {
            match rest.split_once('/') {
                Some((child, _)) => entries.insert(format!("{child}/")),
                None => entries.insert(rest.to_owned()),
            };
        }
    }
    if entries.is_empty() && !directory.is_empty() && !workspace.root().join(&directory).is_dir() {
        return Err(ToolError::Failed(format!(
            "`{directory}` is not a directory"
        )));
    }
    Ok(entries.into_iter().collect::<Vec<_>>().join("\n"))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobArguments {
    /// A glob such as `src/**/*.py`.
    pattern: String,
}

#[async_trait]
impl TypedTool for Glob {
    type Arguments = GlobArguments;
    const NAME: &'static str = "glob";
    const DESCRIPTION: &'static str = "Find workspace files whose paths match a glob pattern.";
    const READ_ONLY: bool = true;
    async fn run(&self, args: GlobArguments) -> Result<String, ToolError> {
        let matcher = globset::Glob::new(&args.pattern)
            .map_err(|error| {
                ToolError::InvalidArguments(format!("bad glob `{}`: {error}", args.pattern))
            })?
            .compile_matcher();
        let workspace = Arc::clone(&self.0);
        let found: Vec<String> = blocking(move || {
            Ok(workspace
                .files()
                .into_iter()
                .filter(|file| matcher.is_match(file))
                .collect())
        })
        .await?;
        let mut output: Vec<String> = found.iter().take(MAX_GLOB_RESULTS).cloned().collect();
        if found.len() > MAX_GLOB_RESULTS {
            output.push(format!(
                "[… {} more; narrow the pattern]",
                found.len() - MAX_GLOB_RESULTS
            ));
        }
        if output.is_empty() {
            return Ok(format!("no file matches `{}`", args.pattern));
        }
        Ok(output.join("\n"))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArguments {
    /// A regular expression.
    pattern: String,
    /// Only under this directory or file.
    #[serde(default)]
    path: Option<String>,
    /// Only files whose paths match this glob.
    #[serde(default)]
    glob: Option<String>,
    #[serde(default)]
    case_insensitive: Option<bool>,
}

#[async_trait]
impl TypedTool for Search {
    type Arguments = SearchArguments;
    const NAME: &'static str = "search";
    const DESCRIPTION: &'static str =
        "Search the workspace's text files with a regular expression; answers `path:line:text`.";
    const READ_ONLY: bool = true;
    async fn run(&self, args: SearchArguments) -> Result<String, ToolError> {
        let regex = regex::RegexBuilder::new(&args.pattern)
            .case_insensitive(args.case_insensitive.unwrap_or(false))
            .build()
            .map_err(|error| {
                ToolError::InvalidArguments(format!("bad regular expression: {error}"))
            })?;
        let scope = match &args.path {
            Some(path) => Some(self.0.resolve(path, false)?),
            None => None,
        };
        let glob = match &args.glob {
            Some(pattern) => Some(
                globset::Glob::new(pattern)
                    .map_err(|error| {
                        ToolError::InvalidArguments(format!("bad glob `{pattern}`: {error}"))
                    })?
                    .compile_matcher(),
            ),
            None => None,
        };
        let workspace = Arc::clone(&self.0);
        let (mut matches, more) = blocking(move || {
            let mut matches = Vec::new();
            let mut more = false;
            'files: for file in workspace.files() {
                if let Some(scope) = &scope
                    && !scope.is_empty()
                    && file != *scope
                    && !file.starts_with(&format!("{scope}/"))
                {
                    continue;
                }
                if glob.as_ref().is_some_and(|glob| !glob.is_match(&file)) {
                    continue;
                }
                let Ok(window) = workspace.read_lines(
                    &file,
                    1,
                    usize::MAX,
                    MAX_LINE_BYTES,
                    MAX_SEARCH_FILE_BYTES,
                ) else {
                    continue;
                };
                for (number, line) in window.lines {
                    if regex.is_match(&line) {
                        if matches.len() == MAX_SEARCH_MATCHES {
                            more = true;
                            break 'files;
                        }
                        let shown: String = line.chars().take(300).collect();
                        matches.push(format!("{file}:{number}:{shown}"));
                    }
                }
            }
            Ok((matches, more))
        })
        .await?;
        if matches.is_empty() {
            return Ok(format!("no match for `{}`", args.pattern));
        }
        if more {
            matches.push(
                "[… more matches not shown; narrow the pattern, `path` or `glob`]".to_owned(),
            );
        }
        Ok(crate::redact::redact(&matches.join("\n")).into_owned())
    }
}
