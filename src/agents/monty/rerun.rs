//! What `suggest-fix --verify` re-runs when `dagger` is not on `PATH`: for each failed check, its
//! `withExec` command narrowed to the failing tests the log named when it runs the test runner,
//! else that command as it was, else (no command in the log, or one this agent may not run) the
//! pack's test command with those tests. Test ids come from an untrusted log:
//! each one is a single argument (no shell is involved), names a file under `--source`, and never
//! starts with `-` nor holds a `..` component or a NUL.

use std::path::{Path, PathBuf};

use super::failures::{Block, Layout};
use super::packs::LanguagePack;
use super::parsers::{self, TestId};

/// One command `--verify` runs, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    pub words: Vec<String>,
    /// The directory it runs in, relative to the source (empty: the source itself).
    pub directory: PathBuf,
}

impl Rerun {
    /// The command as a reader would type it: `cd backend && pytest 'a b'`.
    pub fn label(&self) -> String {
        let words: Vec<String> = self.words.iter().map(|word| quoted(word)).collect();
        if self.directory.as_os_str().is_empty() {
            words.join(" ")
        } else {
            format!(
                "cd {} && {}",
                quoted(&self.directory.to_string_lossy()),
                words.join(" ")
            )
        }
    }
}

/// A word as a POSIX shell reads it back: bare when it is plain, else in single quotes.
fn quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The commands that re-run the failed checks `checks` (or, for a log without checks, what it
/// shows), one per check, without duplicates. Of a check's candidates the first `allowed` one is
/// taken, else the first (so that the caller's refusal names it).
pub fn recover(
    log: &str,
    checks: &[String],
    layout: &Layout,
    pack: &LanguagePack,
    allowed: &[String],
) -> Vec<Rerun> {
    let mut runs: Vec<Rerun> = Vec::new();
    for block in super::failures::blocks(log) {
        let ours = match &block.check {
            Some(check) => checks.contains(check),
            None => checks.is_empty(),
        };
        if !ours {
            continue;
        }
        let context = block.context.clone().or_else(|| {
            block
                .check
                .as_deref()
                .and_then(|check| super::intake::check_directory(&layout.root, check))
        });
        let candidates = candidates(&block, context.as_deref(), layout, pack);
        let Some((words, directory)) = candidates
            .iter()
            .find(|(words, _)| crate::support::command_allowed(words, allowed))
            .or(candidates.first())
            .cloned()
        else {
            continue;
        };
        let run = Rerun { words, directory };
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    runs
}

/// A check's candidate commands, best first, each with its directory relative to the source.
fn candidates(
    block: &Block,
    context: Option<&str>,
    layout: &Layout,
    pack: &LanguagePack,
) -> Vec<(Vec<String>, PathBuf)> {
    let directory = context_in_source(layout, context);
    let mut found = Vec::new();
    let lines: Vec<&str> = block.lines.iter().map(String::as_str).collect();
    let tests = test_ids(pack, &lines);
    if let Some((tests_directory, ids)) = arguments(
        &tests,
        layout,
        context,
        block.workdir.as_deref(),
        &directory,
    ) {
        if let Some(command) = &block.command
            && let Some(narrowed) = narrow(pack, command, &ids)
        {
            found.push((narrowed, tests_directory.clone()));
        }
        // A check's own command that is not the test runner (`tox`, `make test`, a script) knows
        // how the tests run: it comes before the pack's runner, which is for logs without one
        // (or with one this agent may not run).
        if let Some(command) = &block.command {
            found.push((command.clone(), directory.clone()));
        }
        if let Some(command) = test_command(pack, &ids) {
            found.push((command, tests_directory));
        }
    } else if let Some(command) = &block.command {
        found.push((command.clone(), directory));
    }
    found
}

/// The check's directory (`backend`) relative to the source, when it is inside it: where the
/// check's command ran, so where its test ids are relative to. Empty otherwise.
fn context_in_source(layout: &Layout, context: Option<&str>) -> PathBuf {
    let Some(context) = context else {
        return PathBuf::new();
    };
    let context = context.trim_start_matches("./");
    if context.split('/').any(|part| part == "..") {
        return PathBuf::new();
    }
    match layout.root.join(context).strip_prefix(&layout.source) {
        Ok(inside) if layout.source.join(inside).is_dir() => inside.to_path_buf(),
        _ => PathBuf::new(),
    }
}

/// The failing tests the pack's runner printed.
fn test_ids(pack: &LanguagePack, lines: &[&str]) -> Vec<TestId> {
    match pack.language {
        "python" => parsers::pytest_ids(lines),
        _ => Vec::new(),
    }
}

/// The tests as arguments relative to the directory they run in (`directory` when every test
/// file is under it, else the source), with that directory. `None` when there are none, or when
/// any one cannot be placed under the source or is refused: re-running only some of the failing
/// tests could pass while the others still fail.
fn arguments(
    tests: &[TestId],
    layout: &Layout,
    context: Option<&str>,
    workdir: Option<&str>,
    directory: &Path,
) -> Option<(PathBuf, Vec<String>)> {
    if tests.is_empty() {
        return None;
    }
    let mut placed: Vec<(String, Option<&str>)> = Vec::new();
    for test in tests {
        let Some(path) = layout.locate(&test.path, context, workdir) else {
            tracing::warn!(
                "`--verify`: the failing test file `{}` is not under the source; re-running the check's command instead",
                test.path
            );
            return None;
        };
        placed.push((path, test.name.as_deref()));
    }
    let directory = if placed
        .iter()
        .all(|(path, _)| Path::new(path).starts_with(directory))
    {
        directory.to_path_buf()
    } else {
        PathBuf::new()
    };
    let mut ids: Vec<String> = Vec::new();
    for (path, name) in placed {
        let relative = Path::new(&path).strip_prefix(&directory).ok()?;
        let Some(id) = test_argument(&relative.to_string_lossy(), name) else {
            tracing::warn!(
                "`--verify`: refused the test id `{path}` from the log; re-running the check's command instead"
            );
            return None;
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Some((directory, ids))
}

/// `path::name` as one argument, or `None` when it could be read as an option or escape the
/// directory: a leading `-`, an absolute path, a `..` component, a NUL.
pub fn test_argument(path: &str, name: Option<&str>) -> Option<String> {
    let path = path.replace('\\', "/");
    if path.is_empty()
        || path.starts_with('-')
        || path.starts_with('/')
        || path.split('/').any(|part| part == "..")
    {
        return None;
    }
    let id = match name {
        Some(name) if !name.is_empty() => format!("{path}::{name}"),
        _ => path,
    };
    (!id.contains('\0')).then_some(id)
}

/// The pack's own command for running some tests.
fn test_command(pack: &LanguagePack, ids: &[String]) -> Option<Vec<String>> {
    match pack.language {
        "python" => {
            let mut words: Vec<String> = ["python", "-m", "pytest"].map(str::to_owned).to_vec();
            words.extend(ids.iter().cloned());
            Some(words)
        }
        _ => None,
    }
}

/// The check's own command narrowed to `ids`, when it runs the pack's test runner.
fn narrow(pack: &LanguagePack, command: &[String], ids: &[String]) -> Option<Vec<String>> {
    match pack.language {
        "python" => narrow_pytest(command, ids),
        _ => None,
    }
}

/// Options of pytest (and its common plugins) that take a value, as a separate word or after
/// `=`.
const PYTEST_VALUED: &[&str] = &[
    "-k",
    "-m",
    "-c",
    "-p",
    "-o",
    "-W",
    "-r",
    "-n",
    "--tb",
    "--rootdir",
    "--confcutdir",
    "--basetemp",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "--junitxml",
    "--junit-xml",
    "--junit-prefix",
    "--log-level",
    "--log-cli-level",
    "--log-file",
    "--log-format",
    "--maxfail",
    "--import-mode",
    "--durations",
    "--durations-min",
    "--capture",
    "--color",
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--override-ini",
    "--dist",
    "--timeout",
    "--reruns",
    "--html",
    "--lfnf",
    "--last-failed-no-failures",
    "--config-file",
];

/// Options that choose tests, write reports or check coverage over the whole suite: dropped
/// when the command is narrowed to the failing tests (with their value).
const PYTEST_DROPPED: &[&str] = &[
    "-k",
    "-m",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "--junitxml",
    "--junit-xml",
    "--log-file",
    "--basetemp",
    "--cov-report",
    "--cov-fail-under",
    "--html",
    "--lf",
    "--last-failed",
    "--ff",
    "--failed-first",
    "--lfnf",
    "--last-failed-no-failures",
    "--sw",
    "--stepwise",
    "--sw-skip",
    "--stepwise-skip",
    "--co",
    "--collect-only",
    "--pyargs",
];

/// Options that take no value.
const PYTEST_FLAGS: &[&str] = &[
    "-q",
    "-v",
    "-x",
    "-s",
    "-l",
    "--quiet",
    "--verbose",
    "--exitfirst",
    "--strict",
    "--strict-markers",
    "--strict-config",
    "--showlocals",
    "--full-trace",
    "--runxfail",
    "--no-header",
    "--no-summary",
    "--disable-warnings",
    "--disable-pytest-warnings",
    "--cache-clear",
    "--new-first",
    "--nf",
    "--no-cov",
    "--lf",
    "--last-failed",
    "--ff",
    "--failed-first",
    "--sw",
    "--stepwise",
    "--sw-skip",
    "--stepwise-skip",
    "--co",
    "--collect-only",
    "--pyargs",
];

/// How many leading words start pytest: `pytest`, `py.test`, `python -m pytest`, `uv run pytest`.
fn pytest_program(command: &[String]) -> Option<usize> {
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["pytest" | "py.test", ..] => Some(1),
        [python, "-m", "pytest", ..] if python.starts_with("python") => Some(3),
        ["uv" | "poetry" | "pdm" | "hatch", "run", "pytest", ..] => Some(3),
        _ => None,
    }
}

/// A pytest command with its test paths replaced by `ids`: options kept, except those that
/// select tests or report on the whole suite. `None` for an option it does not know (it might
/// take the next word as its value and swallow a test), or an absolute `--rootdir` (the
/// container's, which the scratch copy does not have).
fn narrow_pytest(command: &[String], ids: &[String]) -> Option<Vec<String>> {
    let program = pytest_program(command)?;
    let mut words: Vec<String> = command[..program].to_vec();
    let mut rest = command[program..].iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            // Only test paths follow.
            break;
        }
        if !word.starts_with('-') {
            // A test path or directory of the original run.
            continue;
        }
        let short_attached = !word.starts_with("--")
            && word.len() > 2
            && word.is_char_boundary(2)
            && PYTEST_VALUED.contains(&&word[..2]);
        let (name, attached) = match word.split_once('=') {
            Some((name, value)) if !short_attached => (name, Some(value)),
            _ => (word.as_str(), None),
        };
        let (name, value) = if short_attached {
            (&word[..2], Some(word[2..].to_owned()))
        } else if PYTEST_VALUED.contains(&name) {
            match attached {
                Some(value) => (name, Some(value.to_owned())),
                None => (name, Some(rest.next()?.clone())),
            }
        } else if attached.is_none() && (PYTEST_FLAGS.contains(&name) || short_flags(name)) {
            (name, None)
        } else {
            return None;
        };
        if PYTEST_DROPPED.contains(&name) {
            continue;
        }
        if name == "--rootdir" && value.as_deref().is_some_and(|value| value.starts_with('/')) {
            continue;
        }
        match (value, short_attached || attached.is_some()) {
            (Some(_), true) | (None, _) => words.push(word.clone()),
            (Some(value), false) => {
                words.push(word.clone());
                words.push(value);
            }
        }
    }
    words.extend(ids.iter().cloned());
    Some(words)
}

/// Combined short flags without values: `-qx`, `-vv`.
fn short_flags(word: &str) -> bool {
    word.len() > 1
        && !word.starts_with("--")
        && word[1..].chars().all(|flag| "qvxsl".contains(flag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::monty::packs::{ANGULAR, PYTHON};

    fn words(text: &str) -> Vec<String> {
        crate::support::split_words(text).unwrap()
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        for path in [
            "backend/tests/test_auth.py",
            "backend/tests/test_items.py",
            "backend/app/auth.py",
            "secrets/test_keys.py",
        ] {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, "x\n").unwrap();
        }
        std::fs::write(
            dir.path().join("dagger.json"),
            r#"{"name":"shop","toolchains":[{"name":"backend","source":"t","customizations":[{"argument":"source","defaultPath":"./backend"}]}]}"#,
        )
        .unwrap();
        dir
    }

    fn python_checks() -> Vec<String> {
        PYTHON
            .check_commands
            .iter()
            .map(|command| (*command).to_owned())
            .collect()
    }

    const SUMMARY: &str = "FAILED tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc] - AssertionError\nFAILED tests/test_auth.py::test_validate_token - AssertionError\nFAILED tests/test_auth.py::test_validate_token - AssertionError\n";

    /// A report-mode log of `backend:test` whose output is `output`, run by `command` if any.
    fn report(command: Option<&str>, output: &str) -> String {
        let mut log = String::from("✘ backend:test 3.1s ERROR\n");
        match command {
            Some(command) => log.push_str(&format!("  ✘ withExec {command} 3.0s ERROR\n")),
            None => log.push_str("  ✘ .test: Void 3.0s ERROR\n"),
        }
        for line in output.lines() {
            log.push_str(&format!("  ┃ {line}\x1b[0m\n"));
        }
        log.push_str("  ! exit code: 1\n");
        log
    }

    fn recover_in(source: &Path, log: &str, checks: &[&str]) -> Vec<Rerun> {
        let layout = Layout::discover(source).unwrap();
        let checks: Vec<String> = checks.iter().map(|check| (*check).to_owned()).collect();
        recover(log, &checks, &layout, &PYTHON, &python_checks())
    }

    #[test]
    fn without_a_command_the_failing_ids_run_with_the_pack_s_pytest() {
        let dir = project();
        let runs = recover_in(
            &dir.path().join("backend"),
            &report(None, SUMMARY),
            &["backend:test"],
        );
        assert_eq!(
            runs,
            vec![Rerun {
                words: vec![
                    "python".into(),
                    "-m".into(),
                    "pytest".into(),
                    "tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]".into(),
                    "tests/test_auth.py::test_validate_token".into(),
                ],
                directory: PathBuf::new(),
            }]
        );
        assert_eq!(
            runs[0].label(),
            "python -m pytest 'tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]' tests/test_auth.py::test_validate_token"
        );
    }

    #[test]
    fn a_pytest_command_is_narrowed_to_the_failing_ids() {
        let dir = project();
        let runs = recover_in(
            &dir.path().join("backend"),
            &report(
                Some(
                    "pytest -q --tb=short -p no:cacheprovider -k auth --junitxml /out/r.xml --rootdir=/src tests",
                ),
                "FAILED /src/tests/test_auth.py::test_validate_token - AssertionError\n",
            ),
            &["backend:test"],
        );
        assert_eq!(
            runs[0].words,
            words(
                "pytest -q --tb=short -p no:cacheprovider tests/test_auth.py::test_validate_token"
            )
        );
    }

    #[test]
    fn ids_are_relative_to_the_check_s_directory_inside_the_source() {
        let dir = project();
        let runs = recover_in(dir.path(), &report(None, SUMMARY), &["backend:test"]);
        assert_eq!(runs[0].directory, PathBuf::from("backend"));
        assert_eq!(
            runs[0].words[3..],
            words(
                "'tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]' tests/test_auth.py::test_validate_token"
            )
        );
        assert!(
            runs[0]
                .label()
                .starts_with("cd backend && python -m pytest ")
        );
    }

    #[test]
    fn a_log_without_checks_reruns_its_own_failing_tests() {
        let dir = project();
        let runs = recover_in(&dir.path().join("backend"), SUMMARY, &[]);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].words[..3], words("python -m pytest"));
        assert_eq!(runs[0].words.len(), 5);
    }

    #[test]
    fn ids_outside_the_source_or_unknown_options_fall_back_to_the_command() {
        let dir = project();
        let backend = dir.path().join("backend");
        for (summary, command) in [
            (
                "FAILED ../secrets/test_keys.py::test_a - x\nFAILED tests/test_auth.py::test_b - y\n",
                "pytest -q",
            ),
            ("FAILED /etc/test_passwd.py::test_a - x\n", "pytest -q"),
            ("FAILED tests/test_gone.py::test_a - x\n", "pytest -q"),
        ] {
            let runs = recover_in(&backend, &report(Some(command), summary), &["backend:test"]);
            assert_eq!(runs[0].words, words(command), "{summary}");
        }
        // An option it does not know might take a test as its value: not narrowed.
        let runs = recover_in(
            &backend,
            &report(
                Some("pytest --ds settings tests"),
                "FAILED tests/test_auth.py::test_b - y\n",
            ),
            &["backend:test"],
        );
        assert_eq!(runs[0].words, words("pytest --ds settings tests"));
        // A command this agent may not run gives way to the pack's runner with the tests.
        let runs = recover_in(
            &backend,
            &report(
                Some("tox -e py312"),
                "FAILED tests/test_auth.py::test_b - y\n",
            ),
            &["backend:test"],
        );
        assert_eq!(
            runs[0].words,
            words("python -m pytest tests/test_auth.py::test_b")
        );
        // `uv run pytest` needs `--allow-exec=install`: without it, the pack's runner.
        let runs = recover_in(
            &backend,
            &report(
                Some("uv run pytest -q"),
                "FAILED tests/test_auth.py::test_b - y\n",
            ),
            &["backend:test"],
        );
        assert_eq!(
            runs[0].words,
            words("python -m pytest tests/test_auth.py::test_b")
        );
        // No ids and no command: nothing to re-run.
        assert!(recover_in(&backend, &report(None, "1 failed\n"), &["backend:test"]).is_empty());
        // Another check's command is not ours.
        assert!(
            recover_in(
                &backend,
                &report(Some("pytest"), SUMMARY),
                &["backend:lint"]
            )
            .is_empty()
        );
    }

    #[test]
    fn test_arguments_refuse_what_could_be_an_option_or_escape() {
        assert_eq!(
            test_argument("tests/test_a.py", Some("test_x[a b]")).as_deref(),
            Some("tests/test_a.py::test_x[a b]")
        );
        assert_eq!(
            test_argument("tests/test_a.py", None).as_deref(),
            Some("tests/test_a.py")
        );
        for (path, name) in [
            ("-p.py", None),
            ("--co.py", Some("t")),
            ("../x/test_a.py", Some("t")),
            ("tests/../../test_a.py", None),
            ("/etc/test_a.py", None),
            ("tests/test_a.py", Some("t\0x")),
            ("", None),
        ] {
            assert_eq!(test_argument(path, name), None, "{path:?} {name:?}");
        }
    }

    #[test]
    fn angie_keeps_the_check_s_command() {
        let dir = project();
        let layout = Layout::discover(&dir.path().join("backend")).unwrap();
        let log = report(Some("npx jest"), "FAIL src/a.spec.ts\n");
        let runs = recover(&log, &["backend:test".to_owned()], &layout, &ANGULAR, &[]);
        assert_eq!(runs[0].words, words("npx jest"));
    }
}
