//! Reading a failed check's log deterministically: strip ANSI codes and CI timestamps, keep the
//! tail, cut `dagger check` output into per-check blocks, run the language pack's parsers, and map
//! every failure onto a file under `--source`. Failures that land outside `--source` are dropped,
//! so one workflow can hand the same log to monty (backend) and angie (frontend).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

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

/// Normalise a log (see [`super::intake::strip_line`]) and keep the tail.
pub fn clean(log: &str) -> String {
    let lines: Vec<String> = super::intake::read(log).lines;
    tail(lines)
}

fn tail(lines: Vec<String>) -> String {
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
pub struct Block {
    pub check: Option<String>,
    /// The directory the check works on (`backend`), relative to the project root: the check's
    /// `source` argument when Dagger printed it, else its toolchain's `defaultPath`.
    pub context: Option<String>,
    /// The container workdir the check's command ran in (`/src`), when known.
    pub workdir: Option<String>,
    /// The command the check ran last, as words, when the log showed it.
    pub command: Option<Vec<String>>,
    pub lines: Vec<String>,
}

/// Cut a log into the blocks of failed checks. Passed checks carry no output worth reading. A
/// log with no check lines at all is one anonymous block.
pub fn blocks(log: &str) -> Vec<Block> {
    let intake = super::intake::read(log);
    if intake.checks.is_empty() {
        let kept = tail(intake.lines);
        return vec![Block {
            check: None,
            context: None,
            workdir: None,
            command: None,
            lines: kept.lines().map(str::to_owned).collect(),
        }];
    }
    intake
        .checks
        .into_iter()
        .filter(|check| check.failed)
        .map(|check| {
            let start = check.output.len().saturating_sub(MAX_LINES);
            Block {
                check: Some(check.name),
                context: check.context,
                workdir: check.workdir,
                command: check.command,
                lines: check.output[start..].to_vec(),
            }
        })
        .collect()
}

/// The workdirs toolchains' containers conventionally mount the source at.
const CONTAINER_WORKDIRS: &[&str] = &[
    "/src",
    "/app",
    "/workspace",
    "/work",
    "/code",
    "/usr/src/app",
];

/// A path inside a GitHub-hosted runner's checkout (`/home/runner/work/<repo>/<repo>/x`), as
/// the part relative to the repository root.
fn runner_checkout_path(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_prefix("/github/workspace/") {
        return Some(rest);
    }
    let rest = path.strip_prefix("/home/runner/work/")?;
    let mut parts = rest.splitn(3, '/');
    let (_owner_repo, _repo, inside) = (parts.next()?, parts.next()?, parts.next()?);
    Some(inside)
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
    pub(crate) fn source_in_root(&self) -> PathBuf {
        self.source
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Map a path as a tool printed it onto a file under `source`, relative to `source`.
    ///
    /// Tools print paths relative to wherever they ran: the check's container workdir
    /// (`/src/app/x.py`, `/app/app/x.py`), the check's context directory (`tests/x.py` for
    /// `./backend`), the runner's checkout (`/home/runner/work/r/r/frontend/src/x.ts`). A path
    /// is resolved exactly, never guessed by file name: a path that names no file under `source`
    /// this way is `None`, and stays unplaced context for the model.
    pub fn locate(
        &self,
        printed: &str,
        context: Option<&str>,
        workdir: Option<&str>,
    ) -> Option<String> {
        let cleaned = printed
            .trim()
            .trim_start_matches("webpack:///")
            .trim_start_matches("file://");
        let cleaned = cleaned
            .strip_prefix("./")
            .unwrap_or(cleaned)
            .replace('\\', "/");
        let mut relatives: Vec<String> = Vec::new();
        let mut candidates: Vec<PathBuf> = Vec::new();
        if cleaned.starts_with('/') {
            // The same file seen from the runner: inside the repository as it is.
            candidates.push(PathBuf::from(&cleaned));
            for root in workdir
                .into_iter()
                .chain(CONTAINER_WORKDIRS.iter().copied())
            {
                let root = root.trim_end_matches('/');
                if let Some(rest) = cleaned
                    .strip_prefix(root)
                    .and_then(|rest| rest.strip_prefix('/'))
                {
                    relatives.push(rest.to_owned());
                }
            }
            if let Some(rest) = runner_checkout_path(&cleaned) {
                candidates.push(self.root.join(rest));
            }
        } else {
            relatives.push(cleaned);
        }
        for relative in &relatives {
            if let Some(context) = context {
                candidates.push(self.root.join(context).join(relative));
            }
            candidates.push(self.source.join(relative));
            candidates.push(self.root.join(relative));
        }
        candidates
            .iter()
            .find_map(|candidate| self.inside_source(candidate))
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
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    // A check's directory comes from the project's Dagger files: read them once per check, not
    // once per block of its output.
    let mut directories: BTreeMap<String, Option<String>> = BTreeMap::new();
    for mut block in blocks(log) {
        if block.context.is_none()
            && let Some(check) = block.check.as_deref()
        {
            block.context = directories
                .entry(check.to_owned())
                .or_insert_with(|| super::intake::check_directory(&layout.root, check))
                .clone();
        }
        let owned_block = match block.context.as_deref() {
            Some(context) => layout.owns_context(context),
            // A named check of unknown directory is ours when the source is the whole project.
            None => block.check.is_some() && layout.source_in_root().as_os_str().is_empty(),
        };
        if block.context.is_some() && !owned_block {
            continue;
        }
        let lines: Vec<&str> = block.lines.iter().map(String::as_str).collect();
        let mut understood = false;
        for parser in parsers {
            for raw in parser(&lines) {
                let path = raw.path.as_deref().and_then(|printed| {
                    layout.locate(printed, block.context.as_deref(), block.workdir.as_deref())
                });
                if path.is_none() && !owned_block {
                    continue;
                }
                understood = true;
                let failure = located(raw, path, block.check.clone());
                let key = (failure.path.clone(), failure.line, failure.message.clone());
                if seen.insert(key) {
                    failures.push(failure);
                }
            }
        }
        // A failed check of ours whose output no parser understood still reaches the model, as
        // its last lines and a note: the model can read the source itself.
        if owned_block && block.check.is_some() && !understood {
            failures.push(unrecognised(&block));
        }
    }
    failures
}

/// Lines and bytes of a failed check's output tail given to the model when no parser read it.
const TAIL_LINES: usize = 60;
const TAIL_BYTES: usize = 8_000;

/// A failed check whose output is in a format no parser knows: its bounded output tail.
fn unrecognised(block: &Block) -> Failure {
    let mut tail: Vec<String> = Vec::new();
    let mut bytes = 0;
    for line in block.lines.iter().rev() {
        if tail.len() >= TAIL_LINES || bytes + line.len() > TAIL_BYTES {
            break;
        }
        bytes += line.len() + 1;
        tail.push(line.clone());
    }
    tail.reverse();
    let check = block.check.as_deref().unwrap_or("?");
    let mut detail = vec![format!(
        "note: no parser recognised the output format of `{check}`; its last {} lines follow",
        tail.len()
    )];
    if let Some(command) = &block.command {
        detail.push(format!("command: {}", command.join(" ")));
    }
    detail.extend(tail);
    Failure {
        tool: "dagger",
        check: block.check.clone(),
        path: None,
        line: None,
        column: None,
        code: None,
        message: format!("check `{check}` failed in a format not recognised"),
        detail,
    }
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
        let found = blocks(include_str!(
            "../../../tests/fixtures/logs/dagger-mixed.log"
        ));
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
