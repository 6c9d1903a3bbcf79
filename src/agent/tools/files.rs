//! The read-only tools: `read_file`, `list_dir`, `glob`, `search`. Everything they return passes
//! through the redactor before the model sees it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{arguments, spec};
use crate::agent::tool::{Tool, ToolError};
use crate::agent::workspace::Workspace;
use crate::llm::ToolSpec;

const DEFAULT_LINES: usize = 2_000;
const MAX_READ_BYTES: usize = 100_000;
const MAX_GLOB_RESULTS: usize = 500;
const MAX_SEARCH_MATCHES: usize = 200;

pub struct ReadFile(pub Arc<Workspace>);
pub struct ListDir(pub Arc<Workspace>);
pub struct Glob(pub Arc<Workspace>);
pub struct Search(pub Arc<Workspace>);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReadFileArguments {
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
impl Tool for ReadFile {
    fn spec(&self) -> ToolSpec {
        spec::<ReadFileArguments>(
            "read_file",
            "Read a text file of the workspace, with line numbers. Use `offset` and `limit` for long files.",
        )
    }
    fn read_only(&self) -> bool {
        true
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: ReadFileArguments = arguments(value)?;
        let text = self.0.read_text(&args.path)?;
        let lines: Vec<&str> = text.lines().collect();
        let first = args.offset.unwrap_or(1).max(1);
        let limit = args.limit.unwrap_or(DEFAULT_LINES).max(1);
        if first > lines.len().max(1) {
            return Err(ToolError::InvalidArguments(format!(
                "`{}` has {} lines; offset {first} is past the end",
                args.path,
                lines.len()
            )));
        }
        let mut output = String::new();
        let mut last = first - 1;
        for (index, line) in lines.iter().enumerate().skip(first - 1).take(limit) {
            if output.len() + line.len() > MAX_READ_BYTES {
                break;
            }
            let _ = writeln!(output, "{:>6}\t{line}", index + 1);
            last = index + 1;
        }
        if last < lines.len() {
            let _ = write!(
                output,
                "[… lines {}-{} of {} not shown; read them with `offset: {}`]",
                last + 1,
                lines.len(),
                lines.len(),
                last + 1
            );
        }
        Ok(crate::redact::redact(&output).into_owned())
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListDirArguments {
    /// Directory relative to the workspace root; the root by default.
    #[serde(default)]
    path: Option<String>,
}

#[async_trait]
impl Tool for ListDir {
    fn spec(&self) -> ToolSpec {
        spec::<ListDirArguments>(
            "list_dir",
            "List a directory of the workspace; directories end with `/`.",
        )
    }
    fn read_only(&self) -> bool {
        true
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: ListDirArguments = arguments(value)?;
        let directory = self.0.resolve(args.path.as_deref().unwrap_or("."), false)?;
        let prefix = if directory.is_empty() {
            String::new()
        } else {
            format!("{directory}/")
        };
        let mut entries = BTreeSet::new();
        for file in self.0.files() {
            if let Some(rest) = file.strip_prefix(&prefix) {
                match rest.split_once('/') {
                    Some((child, _)) => entries.insert(format!("{child}/")),
                    None => entries.insert(rest.to_owned()),
                };
            }
        }
        if entries.is_empty() && !directory.is_empty() && !self.0.root().join(&directory).is_dir() {
            return Err(ToolError::Failed(format!(
                "`{directory}` is not a directory"
            )));
        }
        Ok(entries.into_iter().collect::<Vec<_>>().join("\n"))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GlobArguments {
    /// A glob such as `src/**/*.py`.
    pattern: String,
}

#[async_trait]
impl Tool for Glob {
    fn spec(&self) -> ToolSpec {
        spec::<GlobArguments>(
            "glob",
            "Find workspace files whose paths match a glob pattern.",
        )
    }
    fn read_only(&self) -> bool {
        true
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: GlobArguments = arguments(value)?;
        let matcher = globset::Glob::new(&args.pattern)
            .map_err(|error| {
                ToolError::InvalidArguments(format!("bad glob `{}`: {error}", args.pattern))
            })?
            .compile_matcher();
        let found: Vec<String> = self
            .0
            .files()
            .into_iter()
            .filter(|file| matcher.is_match(file))
            .collect();
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
struct SearchArguments {
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
impl Tool for Search {
    fn spec(&self) -> ToolSpec {
        spec::<SearchArguments>(
            "search",
            "Search the workspace's text files with a regular expression; answers `path:line:text`.",
        )
    }
    fn read_only(&self) -> bool {
        true
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: SearchArguments = arguments(value)?;
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
        let mut matches = Vec::new();
        let mut more = 0;
        for file in self.0.files() {
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
            let Ok(text) = self.0.read_text(&file) else {
                continue;
            };
            for (index, line) in text.lines().enumerate() {
                if regex.is_match(line) {
                    if matches.len() < MAX_SEARCH_MATCHES {
                        let shown: String = line.chars().take(300).collect();
                        matches.push(format!("{file}:{}:{shown}", index + 1));
                    } else {
                        more += 1;
                    }
                }
            }
        }
        if matches.is_empty() {
            return Ok(format!("no match for `{}`", args.pattern));
        }
        if more > 0 {
            matches.push(format!(
                "[… {more} more matches; narrow the pattern, `path` or `glob`]"
            ));
        }
        Ok(crate::redact::redact(&matches.join("\n")).into_owned())
    }
}
