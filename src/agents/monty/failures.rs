//! Reading a failed check's log deterministically: strip ANSI codes and CI timestamps, keep the
//! tail, cut `dagger check` output into per-check blocks, run the language pack's parsers, and map
//! every failure onto a file under `--source`. Failures that land outside `--source` are dropped,
//! so one workflow can hand the same log to monty (backend) and angie (frontend).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::parsers::{Parser, RawFailure};

/// The log tail kept: failures are at the end, and a model prompt has no room for megabytes.
const MAX_LINES: usize = 4_000;
const MAX_BYTES: usize = 400_000;

/// One failure, located in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub tool: &'static str,
    /// The `dagger check` name (`backend:test`) whose output held it, if the log came from there.
    pub check: Option<String>,
    /// Relative to `--source`; `None` when the log named no file but the check belongs here.
    pub path: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub code: Option<String>,
    pub message: String,
    pub detail: Vec<String>,
}

static ANSI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]").ok()
});
static TIMESTAMP: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ").ok());
static CHECK_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^\s*(✘|✗|×|✔|✓)\s+([a-z0-9][a-z0-9._-]*(?::[a-z0-9._-]+)+)\s+(?:\(.*\)\s*)?(OK|ERROR|FAILED|PASSED|SKIPPED|CANCELED)?")
        .ok()
});
static CONTEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b\w+: context (\S+)").ok());

/// Strip ANSI escapes, carriage-return redraws and CI timestamps; keep the tail.
pub fn clean(log: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw in log.lines() {
        let line = match ANSI.as_ref() {
            Some(ansi) => ansi.replace_all(raw, ""),
            None => raw.into(),
        };
        // A progress bar redraws its line with `\r`: what the reader saw last is what counts.
        let line = line.rsplit('\r').next().unwrap_or_default();
        let line = match TIMESTAMP.as_ref() {
            Some(timestamp) => timestamp.replace(line, "").into_owned(),
            None => line.to_owned(),
        };
        lines.push(line);
    }
    let start = lines.len().saturating_sub(MAX_LINES);
    let mut kept = lines[start..].join("\n");
    if kept.len() > MAX_BYTES {
        let mut cut = kept.len() - MAX_BYTES;
        while !kept.is_char_boundary(cut) {
            cut += 1;
        }
        kept = kept[cut..].to_owned();
    }
    kept
}

/// A stretch of the log that belongs to one failed `dagger check` (or the whole log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<'a> {
    pub check: Option<String>,
    /// The directory the check's `source` argument was given (`./backend`), relative to the
    /// project root, when Dagger printed it.
    pub context: Option<String>,
    pub lines: Vec<&'a str>,
}

/// Cut `dagger check` output into the blocks of failed checks. Passed checks carry no output
/// worth reading. A log with no check lines at all is one anonymous block.
pub fn blocks(log: &str) -> Vec<Block<'_>> {
    let Some(check_line) = CHECK_LINE.as_ref() else {
        return vec![Block {
            check: None,
            context: None,
            lines: log.lines().collect(),
        }];
    };
    let mut blocks = Vec::new();
    let mut current: Option<Block<'_>> = None;
    let mut saw_check = false;
    for line in log.lines() {
        if let Some(found) = check_line.captures(line) {
            saw_check = true;
            if let Some(block) = current.take() {
                blocks.push(block);
            }
            let failed = matches!(&found[1], "✘" | "✗" | "×")
                || matches!(found.get(3).map(|m| m.as_str()), Some("ERROR" | "FAILED"));
            if failed {
                current = Some(Block {
                    check: Some(found[2].to_owned()),
                    context: None,
                    lines: Vec::new(),
                });
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            if block.context.is_none()
                && let Some(found) = CONTEXT.as_ref().and_then(|context| context.captures(line))
            {
                block.context = Some(
                    found[1]
                        .trim_start_matches("./")
                        .trim_end_matches('/')
                        .to_owned(),
                );
            }
            block.lines.push(line);
        }
    }
    if let Some(block) = current.take() {
        blocks.push(block);
    }
    if !saw_check {
        return vec![Block {
            check: None,
            context: None,
            lines: log.lines().collect(),
        }];
    }
    blocks
}

/// Where the project is: `source` is the agent's `--source`, `root` the repository root (the
/// directory `dagger check` ran in, which `context ./backend` lines are relative to).
#[derive(Debug, Clone)]
pub struct Layout {
    pub source: PathBuf,
    pub root: PathBuf,
}

impl Layout {
    /// `root` is the nearest ancestor of `source` holding `.git`, else `source` itself.
    pub fn discover(source: &Path) -> std::io::Result<Self> {
        let source = source.canonicalize()?;
        let root = source
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| source.clone());
        Ok(Self { source, root })
    }

    /// The source directory relative to the root (`""` when they are the same).
    fn source_in_root(&self) -> PathBuf {
        self.source
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Map a path as a tool printed it onto a file under `source`, relative to `source`.
    ///
    /// Tools print paths relative to wherever they ran: the check's container (`/src/app/x.py`),
    /// the check's context directory (`tests/x.py` for `./backend`), the runner's checkout
    /// (`/home/runner/work/r/r/frontend/src/x.ts`). So try, in order: relative to the context
    /// directory, to the source, to the root; then ever shorter suffixes of the path under the
    /// source; and last, a file of that name that is unique in the source tree.
    pub fn locate(&self, printed: &str, context: Option<&str>) -> Option<String> {
        let cleaned = printed
            .trim()
            .trim_start_matches("webpack:///")
            .trim_start_matches("file://");
        let cleaned = cleaned
            .strip_prefix("./")
            .unwrap_or(cleaned)
            .replace('\\', "/");
        let relative = Path::new(&cleaned);
        let mut candidates: Vec<PathBuf> = Vec::new();
        if !relative.is_absolute() {
            if let Some(context) = context {
                candidates.push(self.root.join(context).join(relative));
            }
            candidates.push(self.source.join(relative));
            candidates.push(self.root.join(relative));
        }
        let parts: Vec<&str> = cleaned.split('/').filter(|part| !part.is_empty()).collect();
        for skip in 1..parts.len() {
            let suffix = parts[skip..].join("/");
            candidates.push(self.source.join(&suffix));
        }
        for candidate in candidates {
            if let Some(found) = self.inside_source(&candidate) {
                return Some(found);
            }
        }
        let name = parts.last()?;
        self.unique_file_named(name)
    }

    fn inside_source(&self, candidate: &Path) -> Option<String> {
        if candidate
            .components()
            .any(|part| part == Component::ParentDir)
            || !candidate.is_file()
        {
            return None;
        }
        let real = candidate.canonicalize().ok()?;
        let inside = real.strip_prefix(&self.source).ok()?;
        Some(inside.to_string_lossy().replace('\\', "/"))
    }

    fn unique_file_named(&self, name: &str) -> Option<String> {
        let mut found = Vec::new();
        let walker = ignore::WalkBuilder::new(&self.source)
            .hidden(true)
            .git_ignore(true)
            .build();
        for entry in walker.flatten() {
            if entry.file_name().to_str() == Some(name) && entry.path().is_file() {
                found.push(entry.into_path());
                if found.len() > 1 {
                    return None;
                }
            }
        }
        found.pop().and_then(|path| self.inside_source(&path))
    }

    /// Does a check whose source was `context` work on this source directory (or inside it)?
    fn owns_context(&self, context: &str) -> bool {
        let context = Path::new(context.trim_start_matches("./"));
        let source = self.source_in_root();
        context.starts_with(&source)
            || (context.as_os_str().is_empty() && source.as_os_str().is_empty())
    }
}

/// Read a log: clean it, cut it into blocks, run `parsers` over each block, and keep the failures
/// that belong to `layout.source`, deduplicated, in log order.
pub fn read(log: &str, parsers: &[Parser], layout: &Layout) -> Vec<Failure> {
    let cleaned = clean(log);
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for block in blocks(&cleaned) {
        let owned_block = block
            .context
            .as_deref()
            .is_some_and(|context| layout.owns_context(context));
        if block.context.is_some() && !owned_block {
            continue;
        }
        let mut located_any = false;
        for parser in parsers {
            for raw in parser(&block.lines) {
                let path = raw
                    .path
                    .as_deref()
                    .and_then(|printed| layout.locate(printed, block.context.as_deref()));
                if path.is_none() && raw.path.is_some() && !owned_block {
                    continue;
                }
                located_any |= path.is_some();
                let failure = located(raw, path, block.check.clone());
                let key = (failure.path.clone(), failure.line, failure.message.clone());
                if seen.insert(key) {
                    failures.push(failure);
                }
            }
        }
        // A failed check of ours whose output no parser understood still reaches the model, as
        // its last lines: the model can read the source itself.
        if owned_block
            && !located_any
            && failures.iter().all(|failure| failure.check != block.check)
        {
            let tail: Vec<String> = block
                .lines
                .iter()
                .rev()
                .take(40)
                .rev()
                .map(|line| (*line).to_owned())
                .collect();
            failures.push(Failure {
                tool: "dagger",
                check: block.check.clone(),
                path: None,
                line: None,
                column: None,
                code: None,
                message: format!("check `{}` failed", block.check.as_deref().unwrap_or("?")),
                detail: tail,
            });
        }
    }
    failures
}

fn located(raw: RawFailure, path: Option<String>, check: Option<String>) -> Failure {
    let line = if path.is_some() { raw.line } else { None };
    let mut detail = raw.detail;
    if path.is_none()
        && let Some(printed) = raw.path
    {
        detail.push(format!(
            "reported at {printed}{}",
            raw.line.map(|line| format!(":{line}")).unwrap_or_default()
        ));
    }
    Failure {
        tool: raw.tool,
        check,
        path,
        line,
        column: raw.column,
        code: raw.code,
        message: raw.message,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_ansi_timestamps_and_redraws() {
        let log =
            "2026-11-23T10:14:02.1234567Z \x1b[31mred\x1b[0m text\nprogress 10%\rprogress 100%\n";
        assert_eq!(clean(log), "red text\nprogress 100%");
    }

    #[test]
    fn clean_keeps_the_tail() {
        let log: String = (0..5_000).map(|n| format!("line {n}\n")).collect();
        let cleaned = clean(&log);
        assert!(cleaned.starts_with("line 1000\n"));
        assert!(cleaned.ends_with("line 4999"));
    }

    #[test]
    fn dagger_blocks_keep_failed_checks_with_their_context() {
        let log = clean(include_str!(
            "../../../tests/fixtures/logs/dagger-mixed.log"
        ));
        let found = blocks(&log);
        let names: Vec<_> = found
            .iter()
            .map(|block| {
                (
                    block.check.clone().unwrap_or_default(),
                    block.context.clone(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("shop-backend:test".to_owned(), Some("backend".to_owned())),
                ("shop-frontend:lint".to_owned(), Some("frontend".to_owned())),
                ("shop-frontend:test".to_owned(), Some("frontend".to_owned())),
            ]
        );
        assert!(
            found[0]
                .lines
                .iter()
                .any(|line| line.starts_with("FAILED tests/test_auth.py"))
        );
        assert!(!found[0].lines.iter().any(|line| line.contains("eslint")));
    }

    #[test]
    fn a_log_without_check_lines_is_one_block() {
        let found = blocks("a\nb\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].check, None);
    }
}
