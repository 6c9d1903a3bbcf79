//! Log intake: turn what CI printed into per-check output before any parser reads it. Strips
//! ANSI codes, carriage-return redraws, CI timestamps, GitHub Actions `##[group]` markers,
//! `docker compose` service prefixes and BuildKit step prefixes; understands Dagger's plain
//! progress (`NNNN: ┆ ┆ [1.2s] | text`) and report mode (`✘ backend:test 3.4s ERROR`, `┃ text`);
//! and maps a check to the directory its toolchain was given in `dagger.json`.
//!
//! The Dagger line shapes come from `dagql/idtui/frontend_plain.go` (`renderStep`, `renderLogs`,
//! `stepPrefix`), `dagql/idtui/frontend.go` (`indent`), `dagql/idtui/checks_report.go`
//! (`checkStatusLine`, `renderCauseDetail`), `dagql/idtui/render_dsl.go` (`withExec` titles) and
//! `dagql/idtui/symbols.go` at dagger/dagger 13d493ee6e757e1d36416be98e3b5acc8e248eb8.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

fn regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static ANSI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>]")
});
/// An ISO timestamp at the start of a line: GitHub Actions' `2026-11-23T10:14:02.1234567Z `,
/// and the `2026-11-23 10:14:02,123 ` shape loggers print.
static TIMESTAMP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s")
});
/// `docker compose` prefixes each service's line with `name-1  | `.
static COMPOSE: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^[A-Za-z0-9][\w.-]*[-_]\d+\s+\| ?"));
/// BuildKit's plain progress: `#12 1.234 output`.
static BUILDKIT: LazyLock<Option<Regex>> = LazyLock::new(|| regex(r"^#\d+ \d+\.\d+ "));
/// Dagger's plain progress prefix: the step index left-aligned in four columns, then `: `, and in
/// debug mode the span id.
static PLAIN_PREFIX: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(\d+)\s*: (?:[0-9a-f]{16}: )?"));
/// A plain-progress output line after the depth marks: optional `[1.2s] `, then `| `.
static PLAIN_OUTPUT: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(?:\[[^\]]*\] )?\|(?: (.*))?$"));
/// A plain-progress step that finished: ` DONE [1.2s]`, ` ERROR [1.2s]`, ` CACHED [0.0s]`.
static PLAIN_DONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^(.*?) (DONE|ERROR|CACHED) \[[^\]]*\].*$"));
/// Report mode's check line: indent, icon, name, duration, status.
static REPORT_CHECK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^(\s*)(✘|✔|∅|\$) ([A-Za-z0-9][\w.-]*(?::[\w.-]+)*) \S+ (OK|ERROR)\s*$")
});
/// The hand-written shape earlier versions printed: `✘ name (1.2s) ERROR`.
static LEGACY_CHECK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"^\s*(✘|✗|×|✔|✓)\s+([a-z0-9][a-z0-9._-]*(?::[a-z0-9._-]+)+)\s+(?:\(.*\)\s*)?(OK|ERROR|FAILED|PASSED|SKIPPED|CANCELED)?",
    )
});
/// A check's name as `dagger check` prints it: `module:check`, possibly nested.
static CHECK_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^[A-Za-z0-9][\w.-]*(?::[\w.-]+)+$"));
static CONTEXT: LazyLock<Option<Regex>> = LazyLock::new(|| regex(r"\b\w+: context (\S+)"));
/// A `withExec` step's title: plain mode ends it with ` ERROR [1.2s]`, report mode's cause title
/// (`renderStepTitle`) with the duration and the status, ` 3.0s ERROR`.
static WITH_EXEC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"(?:^|[\s.›])withExec (.+?)(?: (?:DONE|ERROR|CACHED) \[.*| (?:\d+[dhm])*\d+(?:\.\d+)?s (?:ERROR|OK|CACHED))?$",
    )
});
static WITH_WORKDIR: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"(?:^|[\s.›])withWorkdir (/\S*)"));

/// One `dagger check` check as the log showed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckRun {
    /// `backend:test`.
    pub name: String,
    pub failed: bool,
    /// The output of the check's commands, prefixes stripped, in log order.
    pub output: Vec<String>,
    /// The directory given as the check's `source` (`backend`), when the log printed it.
    pub context: Option<String>,
    /// The last command the check ran (`withExec pytest -q`), as words.
    pub command: Option<Vec<String>>,
    /// The container workdir the check set (`/src`), when the log printed it.
    pub workdir: Option<String>,
}

/// A log after intake: its checks (empty when it printed none) and its normalised lines.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub checks: Vec<CheckRun>,
    pub lines: Vec<String>,
}

/// Strip what CI wraps around one line: ANSI codes, redraws, timestamps, `docker compose` and
/// BuildKit prefixes. `None` for lines that carry nothing (`##[group]` markers).
pub fn strip_line(raw: &str) -> Option<String> {
    let line = match ANSI.as_ref() {
        Some(ansi) => ansi.replace_all(raw, "").into_owned(),
        None => raw.to_owned(),
    };
    // A progress bar redraws its line with `\r`: what the reader saw last is what counts.
    let mut line = line.rsplit('\r').next().unwrap_or_default().to_owned();
    for pattern in [&TIMESTAMP, &COMPOSE, &BUILDKIT, &TIMESTAMP] {
        if let Some(pattern) = pattern.as_ref()
            && let Some(found) = pattern.find(&line)
        {
            line = line[found.end()..].to_owned();
        }
    }
    if line.starts_with("##[group]") || line.starts_with("##[endgroup]") {
        return None;
    }
    for marker in ["##[error]", "##[warning]", "##[notice]", "##[debug]"] {
        if let Some(rest) = line.strip_prefix(marker) {
            line = rest.to_owned();
        }
    }
    Some(line)
}

fn matches(pattern: &LazyLock<Option<Regex>>, text: &str) -> bool {
    pattern
        .as_ref()
        .is_some_and(|pattern| pattern.is_match(text))
}

fn captures<'t>(pattern: &LazyLock<Option<Regex>>, text: &'t str) -> Option<regex::Captures<'t>> {
    pattern.as_ref().and_then(|pattern| pattern.captures(text))
}

/// Split a `withExec` title (shell-quoted by Dagger) back into words.
fn command_words(text: &str) -> Option<Vec<String>> {
    super::verify::split_command(text.trim())
        .ok()
        .filter(|words| !words.is_empty())
}

fn context_of(text: &str) -> Option<String> {
    captures(&CONTEXT, text).map(|found| {
        found[1]
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned()
    })
}

/// Remember what a check's step lines say about it: its context, workdir and command.
fn note_step(check: &mut CheckRun, text: &str) {
    if check.context.is_none() {
        check.context = context_of(text);
    }
    if let Some(found) = captures(&WITH_WORKDIR, text) {
        check.workdir = Some(found[1].trim_end_matches('/').to_owned());
    }
    if let Some(found) = captures(&WITH_EXEC, text)
        && let Some(words) = command_words(&found[1])
    {
        check.command = Some(words);
    }
}

/// Read a whole log.
pub fn read(log: &str) -> Intake {
    let lines: Vec<String> = log.lines().filter_map(strip_line).collect();
    let plain = lines
        .iter()
        .filter(|line| matches(&PLAIN_PREFIX, line))
        .count();
    // A CI log mixes Dagger's lines with the job's own; any plain-progress check wins.
    let mut checks = if plain > 0 {
        plain_checks(&lines)
    } else {
        Vec::new()
    };
    if checks.is_empty() {
        checks = report_checks(&lines);
    }
    checks.retain(|check| !check.name.is_empty());
    // Plain output lines without their prefixes, for parsers reading the whole log.
    let lines = if plain > 0 {
        lines.iter().map(|line| unprefixed(line)).collect()
    } else {
        lines
    };
    Intake { checks, lines }
}

/// A plain-progress line without its index, depth marks and `[1.2s] | `.
fn unprefixed(line: &str) -> String {
    let Some(found) = PLAIN_PREFIX.as_ref().and_then(|prefix| prefix.find(line)) else {
        return line.to_owned();
    };
    let (_, rest) = depth_of(&line[found.end()..]);
    match captures(&PLAIN_OUTPUT, rest) {
        Some(output) => output.get(1).map_or("", |m| m.as_str()).to_owned(),
        None => rest.to_owned(),
    }
}

/// Count the `┆ ` marks (one per depth) and return the rest.
fn depth_of(text: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = text;
    while let Some(next) = rest.strip_prefix("┆ ") {
        depth += 1;
        rest = next;
    }
    if let Some(next) = rest.strip_prefix('┆') {
        depth += 1;
        rest = next;
    }
    (depth, rest)
}

/// Plain progress: every line carries its step's index; a step at depth 0 is a check (or
/// `connect`, `load module`…), a deeper step belongs to the step printed just above its depth,
/// and an output line belongs to its step's check.
fn plain_checks(lines: &[String]) -> Vec<CheckRun> {
    let mut checks: Vec<CheckRun> = Vec::new();
    // Step index → the check it belongs to (`None` for steps outside any check).
    let mut owner: HashMap<u64, Option<usize>> = HashMap::new();
    let mut top: HashMap<u64, Option<usize>> = HashMap::new();
    let mut stack: Vec<u64> = Vec::new();
    for line in lines {
        let Some(found) = captures(&PLAIN_PREFIX, line) else {
            continue;
        };
        let Ok(index) = found[1].parse::<u64>() else {
            continue;
        };
        let end = found.get(0).map_or(0, |m| m.end());
        let (depth, rest) = depth_of(&line[end..]);
        if let Some(output) = captures(&PLAIN_OUTPUT, rest) {
            let check = owner.get(&index).copied().flatten().or_else(|| {
                stack
                    .first()
                    .and_then(|first| top.get(first).copied().flatten())
            });
            if let Some(check) = check.and_then(|at| checks.get_mut(at)) {
                check
                    .output
                    .push(output.get(1).map_or("", |m| m.as_str()).to_owned());
            }
            continue;
        }
        // A step line (its title, its final status, or its `! error`).
        if depth == 0 {
            stack.clear();
            stack.push(index);
            let title = match captures(&PLAIN_DONE, rest) {
                Some(done) => done[1].to_owned(),
                None => rest.to_owned(),
            };
            let known = top.get(&index).copied();
            let at = match known {
                Some(at) => at,
                None if rest.starts_with("! ") => None,
                None => {
                    let name = title.trim();
                    let at = if matches(&CHECK_NAME, name) {
                        let existing = checks.iter().position(|check| check.name == name);
                        Some(existing.unwrap_or_else(|| {
                            checks.push(CheckRun {
                                name: name.to_owned(),
                                ..CheckRun::default()
                            });
                            checks.len() - 1
                        }))
                    } else {
                        None
                    };
                    top.insert(index, at);
                    owner.insert(index, at);
                    at
                }
            };
            if let Some(check) = at.and_then(|at| checks.get_mut(at)) {
                if let Some(done) = captures(&PLAIN_DONE, rest) {
                    check.failed |= &done[2] == "ERROR";
                }
                if let Some(error) = rest.strip_prefix("! ") {
                    check.output.push(format!("! {error}"));
                }
            }
            continue;
        }
        stack.truncate(depth);
        let parent_check = stack
            .last()
            .and_then(|parent| owner.get(parent).copied().flatten());
        let check = *owner.entry(index).or_insert(parent_check);
        if stack.len() == depth {
            stack.push(index);
        }
        if let Some(check) = check.and_then(|at| checks.get_mut(at)) {
            note_step(check, rest);
            if let Some(error) = rest.strip_prefix("! ") {
                check.output.push(format!("! {error}"));
            }
        }
    }
    checks
}

/// Report mode (and the older `✘ name (1.2s) ERROR` listing): a check line opens a check; the
/// lines under it, until the next check line, are its failure detail, with the `┃ ` of its
/// command's output stripped.
fn report_checks(lines: &[String]) -> Vec<CheckRun> {
    let mut checks: Vec<CheckRun> = Vec::new();
    let mut current: Option<usize> = None;
    for line in lines {
        let opened = captures(&REPORT_CHECK, line)
            .map(|found| {
                (
                    found[3].to_owned(),
                    &found[2] == "✘" || &found[4] == "ERROR",
                )
            })
            .or_else(|| {
                captures(&LEGACY_CHECK, line).map(|found| {
                    let failed = matches!(&found[1], "✘" | "✗" | "×")
                        || matches!(found.get(3).map(|m| m.as_str()), Some("ERROR" | "FAILED"));
                    (found[2].to_owned(), failed)
                })
            });
        if let Some((name, failed)) = opened {
            checks.push(CheckRun {
                name,
                failed,
                ..CheckRun::default()
            });
            current = Some(checks.len() - 1);
            continue;
        }
        let Some(check) = current.and_then(|at| checks.get_mut(at)) else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(output) = trimmed.strip_prefix("┃ ").or(trimmed.strip_prefix('┃')) {
            check.output.push(output.to_owned());
            continue;
        }
        note_step(check, trimmed);
        check.output.push(line.clone());
    }
    checks
}

/// The directory a toolchain's check works on, from `dagger.json` at `root`: the `defaultPath`
/// of the toolchain's `customizations` (`{"argument": "source", "defaultPath": "./backend"}`),
/// relative to `root`. `None` when the module is not a toolchain there or sets no path.
pub fn toolchain_directory(root: &Path, check: &str) -> Option<String> {
    let module = check.split(':').next()?;
    let text = std::fs::read_to_string(root.join("dagger.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let toolchain = config
        .get("toolchains")?
        .as_array()?
        .iter()
        .find(|toolchain| toolchain.get("name").and_then(|name| name.as_str()) == Some(module))?;
    let customizations = toolchain.get("customizations")?.as_array()?;
    let path = customizations
        .iter()
        .filter_map(|entry| entry.get("defaultPath").and_then(|path| path.as_str()))
        .next()?;
    let path = path.trim_start_matches("./").trim_start_matches('/');
    Some(path.trim_end_matches('/').to_owned())
}

/// The directory a check works on, relative to the project root, from the project's Dagger
/// configuration: a `dagger.json` toolchain's customized path, else (Dagger 1.0) the directory of
/// the `dagger.toml` workspace that installed the check's module.
pub fn check_directory(root: &Path, check: &str) -> Option<String> {
    toolchain_directory(root, check).or_else(|| {
        let directory = crate::scan::workspace::check_directory(root, check)?;
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let directory = directory.canonicalize().unwrap_or(directory);
        let relative = directory.strip_prefix(&root).ok()?;
        Some(relative.to_string_lossy().trim_end_matches('/').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_maps_through_the_dagger_toml_that_installed_its_module() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("backend")).unwrap();
        std::fs::write(
            root.path().join("backend/dagger.toml"),
            "[modules.python-service]\nsource = \"../modules/python-service\"\n",
        )
        .unwrap();
        assert_eq!(
            check_directory(root.path(), "python-service:test").as_deref(),
            Some("backend")
        );
        assert_eq!(check_directory(root.path(), "angular-app:lint"), None);
    }

    #[test]
    fn strip_line_removes_ci_wrappers() {
        assert_eq!(
            strip_line("2026-11-23T10:14:02.1234567Z \x1b[31mred\x1b[0m").as_deref(),
            Some("red")
        );
        assert_eq!(
            strip_line("backend-1  | FAILED tests/x.py").as_deref(),
            Some("FAILED tests/x.py")
        );
        assert_eq!(
            strip_line("#12 1.234 app/x.py:3:1: F401 unused").as_deref(),
            Some("app/x.py:3:1: F401 unused")
        );
        assert_eq!(strip_line("##[group]Run dagger check"), None);
        assert_eq!(
            strip_line("progress 10%\rprogress 100%").as_deref(),
            Some("progress 100%")
        );
    }

    #[test]
    fn plain_progress_output_belongs_to_its_check() {
        let log = "\
1   : connect DONE [0.4s]
2   : backend:test
3   : ┆ backend: Backend!
4   : ┆ ┆ .test: Void
5   : ┆ ┆ ┆ withWorkdir /src DONE [0.0s]
6   : ┆ ┆ ┆ withExec pytest -q
6   : ┆ ┆ ┆ [1.2s] | FAILED tests/test_x.py::test_y - assert 1 == 2
7   : frontend:lint
7   : frontend:lint DONE [2.0s]
6   : ┆ ┆ ┆ [1.3s] | 1 failed
4   : ┆ ┆ .test: Void ERROR [1.4s]
2   : backend:test ERROR [3.4s]
2   : ! exit code: 1
";
        let intake = read(log);
        assert_eq!(intake.checks.len(), 2);
        let test = &intake.checks[0];
        assert_eq!(test.name, "backend:test");
        assert!(test.failed);
        assert_eq!(
            test.output,
            vec![
                "FAILED tests/test_x.py::test_y - assert 1 == 2",
                "1 failed",
                "! exit code: 1"
            ]
        );
        assert_eq!(test.workdir.as_deref(), Some("/src"));
        assert_eq!(
            test.command,
            Some(vec!["pytest".to_owned(), "-q".to_owned()])
        );
        assert!(!intake.checks[1].failed);
    }

    #[test]
    fn a_github_actions_log_around_plain_progress_still_splits_into_checks() {
        let log = "\
2026-11-23T10:14:00.0000000Z ##[group]Run dagger check
2026-11-23T10:14:00.1000000Z Downloading dagger v0.19.11
2026-11-23T10:14:00.2000000Z Installing into /usr/local/bin
2026-11-23T10:14:00.3000000Z Engine ready
2026-11-23T10:14:00.4000000Z ##[endgroup]
2026-11-23T10:14:01.0000000Z \x1b[95m2   : \x1b[0mbackend:lint
2026-11-23T10:14:01.1000000Z \x1b[95m3   : \x1b[0m\x1b[90;2m┆ \x1b[0mwithExec ruff check .
2026-11-23T10:14:01.2000000Z \x1b[95m3   : \x1b[0m\x1b[90;2m┆ \x1b[0m\x1b[90m[0.3s] \x1b[0m\x1b[90m|\x1b[0m app/x.py:1:8: F401 unused
2026-11-23T10:14:01.3000000Z \x1b[95m2   : \x1b[0mbackend:lint\x1b[31m ERROR\x1b[0m\x1b[90m [0.6s]\x1b[0m
2026-11-23T10:14:01.4000000Z ##[error]Process completed with exit code 1.
";
        let intake = read(log);
        assert_eq!(intake.checks.len(), 1);
        assert!(intake.checks[0].failed);
        assert_eq!(intake.checks[0].output, vec!["app/x.py:1:8: F401 unused"]);
    }

    #[test]
    fn report_mode_output_loses_its_bar() {
        let log = "\x1b[31m✘\x1b[0m backend:lint \x1b[2m2.1s\x1b[0m \x1b[31mERROR\x1b[0m\n  withExec ruff check .\n  ┃ app/x.py:1:8: F401 [*] `os` imported but unused\x1b[0m\n  ! exit code: 1\n✔ frontend:lint 1.0s OK\n";
        let intake = read(log);
        assert_eq!(intake.checks.len(), 2);
        assert_eq!(intake.checks[0].name, "backend:lint");
        assert!(intake.checks[0].failed);
        assert_eq!(
            intake.checks[0].output[1],
            "app/x.py:1:8: F401 [*] `os` imported but unused"
        );
        assert_eq!(
            intake.checks[0].command,
            Some(vec!["ruff".to_owned(), "check".to_owned(), ".".to_owned()])
        );
        assert!(!intake.checks[1].failed);
        // As `renderStepTitle` prints it: icon, title, duration, status.
        let log = "✘ backend:test 3.1s ERROR\n  ✘ withExec pytest -q 'tests/a b.py' 1m2s ERROR\n  ┃ 1 failed\x1b[0m\n";
        assert_eq!(
            read(log).checks[0].command,
            Some(vec![
                "pytest".to_owned(),
                "-q".to_owned(),
                "tests/a b.py".to_owned()
            ])
        );
    }

    #[test]
    fn a_toolchain_check_maps_to_its_default_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dagger.json"),
            r#"{"name":"shop","toolchains":[{"name":"backend","source":"toolchains/python","customizations":[{"argument":"source","defaultPath":"./backend"}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            toolchain_directory(dir.path(), "backend:test").as_deref(),
            Some("backend")
        );
        assert_eq!(toolchain_directory(dir.path(), "frontend:test"), None);
    }
}
