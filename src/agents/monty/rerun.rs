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
use crate::support::quote_word;

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
        let words: Vec<String> = self.words.iter().map(|word| quote_word(word)).collect();
        if self.directory.as_os_str().is_empty() {
            words.join(" ")
        } else {
            format!(
                "cd {} && {}",
                quote_word(&self.directory.to_string_lossy()),
                words.join(" ")
            )
        }
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
    let (runner, tests) = test_ids(pack, &lines);
    if let Some((tests_directory, ids)) = arguments(
        &tests,
        layout,
        context,
        block.workdir.as_deref(),
        &directory,
    ) {
        if let Some(command) = &block.command
            && let Some(narrowed) = narrow(runner, command, &ids)
        {
            found.push((narrowed, tests_directory.clone()));
        }
        // A check's own command that is not the test runner (`tox`, `make test`, a script) knows
        // how the tests run: it comes before the pack's runner, which is for logs without one
        // (or with one this agent may not run).
        if let Some(command) = &block.command {
            found.push((command.clone(), directory.clone()));
        }
        if let Some(command) = test_command(runner, &ids) {
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

/// The test runner the log shows (`pytest`, `jest`, `vitest`) and the failing tests it named.
fn test_ids(pack: &LanguagePack, lines: &[&str]) -> (Option<&'static str>, Vec<TestId>) {
    match pack.language {
        "python" => (Some("pytest"), parsers::pytest_ids(lines)),
        _ => parsers::js_test_files(lines),
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

/// The pack's own command for running some tests with `runner`: `python -m pytest <ids>`,
/// `npx jest <files>`, `npx vitest run <files>`.
fn test_command(runner: Option<&str>, ids: &[String]) -> Option<Vec<String>> {
    let program: &[&str] = match runner? {
        "pytest" => &["python", "-m", "pytest"],
        "jest" => &["npx", "jest"],
        "vitest" => &["npx", "vitest", "run"],
        _ => return None,
    };
    let mut words: Vec<String> = program.iter().map(|word| (*word).to_owned()).collect();
    words.extend(ids.iter().cloned());
    Some(words)
}

/// The check's own command narrowed to `ids`, when it runs the test runner that printed them:
/// pytest's ids, jest's or vitest's files.
fn narrow(runner: Option<&str>, command: &[String], ids: &[String]) -> Option<Vec<String>> {
    if runner == Some("pytest") {
        let program = pytest_program(command)?;
        return narrow_with(&command[..program], &command[program..], &PYTEST, ids);
    }
    if !matches!(runner, Some("jest" | "vitest")) {
        return None;
    }
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["npx", "jest", ..] => narrow_with(&command[..2], &command[2..], &JEST_VITEST, ids),
        ["npx", "vitest", rest @ ..] => {
            // Without `run` vitest watches unless `CI` is set, and the verify command's
            // environment is scrubbed: always `run`.
            let skip = match rest.first() {
                Some(&"run") => 3,
                Some(subcommand)
                    if !subcommand.starts_with('-') && VITEST_OTHER.contains(subcommand) =>
                {
                    return None;
                }
                _ => 2,
            };
            let program = ["npx", "vitest", "run"].map(str::to_owned);
            narrow_with(&program, &command[skip..], &JEST_VITEST, ids)
        }
        _ => None,
    }
}

/// vitest's subcommands other than `run`.
const VITEST_OTHER: &[&str] = &[
    "watch",
    "dev",
    "related",
    "bench",
    "init",
    "list",
    "typecheck",
];

/// What a runner's options are, for narrowing its command.
struct Options {
    /// Options that take a value, as the next word or after `=`.
    valued: &'static [&'static str],
    /// Options that take none, besides the dropped ones that are not in `valued`.
    flags: &'static [&'static str],
    /// Single-letter flags that combine (`-qx`).
    short_flags: &'static str,
    /// Options that choose tests, write reports, or check the whole suite (coverage thresholds):
    /// dropped, with their value.
    dropped: &'static [&'static str],
    /// Prefixes of dropped options (`--coverage.thresholds.lines=90`).
    dropped_prefixes: &'static [&'static str],
}

/// pytest's options (and its common plugins').
const PYTEST: Options = Options {
    valued: PYTEST_VALUED,
    flags: PYTEST_FLAGS,
    short_flags: "qvxsl",
    dropped: PYTEST_DROPPED,
    dropped_prefixes: &[],
};

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
];

/// jest's and vitest's options.
const JEST_VITEST: Options = Options {
    valued: &[
        "-c",
        "--config",
        "--root",
        "-r",
        "--dir",
        "--rootDir",
        "--roots",
        "--reporter",
        "--reporters",
        "--project",
        "--selectProjects",
        "--pool",
        "--environment",
        "--testEnvironment",
        "--maxWorkers",
        "-w",
        "--minWorkers",
        "--testTimeout",
        "--mode",
        "--shard",
        "-t",
        "--testNamePattern",
        "--testPathPattern",
        "--testPathIgnorePatterns",
        "--changedSince",
        "--outputFile",
    ],
    flags: &[
        "--ci",
        "--runInBand",
        "-i",
        "--silent",
        "--verbose",
        "--bail",
        "--run",
        "--no-watch",
        "--no-coverage",
        "--no-color",
        "--colors",
        "--detectOpenHandles",
        "--forceExit",
        "--logHeapUsage",
        "--no-cache",
        "--allowOnly",
        "--coverage",
    ],
    short_flags: "i",
    dropped: &[
        // With no test left to run these would pass.
        "--passWithNoTests",
        "-t",
        "--testNamePattern",
        "--testPathPattern",
        "--testPathIgnorePatterns",
        "--changedSince",
        "--changed",
        "-o",
        "--onlyChanged",
        "--findRelatedTests",
        "--listTests",
        "--watch",
        "--watchAll",
        "--shard",
        "--outputFile",
        // Rewriting snapshots would make a failing test pass.
        "-u",
        "--updateSnapshot",
    ],
    dropped_prefixes: &["--coverage"],
};

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

/// A command with its positional arguments (the original run's test paths) replaced by `ids`:
/// options kept, except those `options` drops. `None` for an option it does not know without a
/// `=value` (it might take the next word as its value and swallow a test), or an absolute
/// `--rootdir` (the container's, which the scratch copy does not have).
fn narrow_with(
    program: &[String],
    arguments: &[String],
    options: &Options,
    ids: &[String],
) -> Option<Vec<String>> {
    let mut words: Vec<String> = program.to_vec();
    let mut rest = arguments.iter();
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
            && options.valued.contains(&&word[..2]);
        let (name, attached) = match word.split_once('=') {
            Some((name, value)) if !short_attached => (name, Some(value)),
            _ => (word.as_str(), None),
        };
        let known_flag = options.flags.contains(&name)
            || (options.dropped.contains(&name) && !options.valued.contains(&name))
            || (!name.starts_with("--")
                && name.len() > 1
                && name[1..]
                    .chars()
                    .all(|flag| options.short_flags.contains(flag)));
        let (name, separate) = if short_attached {
            (&word[..2], None)
        } else if options.valued.contains(&name) && attached.is_none() {
            (name, Some(rest.next()?.clone()))
        } else if options.valued.contains(&name) || attached.is_some() || known_flag {
            (name, None)
        } else {
            return None;
        };
        let value = separate.as_deref().or(attached);
        if options.dropped.contains(&name)
            || options
                .dropped_prefixes
                .iter()
                .any(|prefix| name.starts_with(prefix))
            || (name == "--rootdir" && value.is_some_and(|value| value.starts_with('/')))
        {
            continue;
        }
        words.push(word.clone());
        words.extend(separate);
    }
    words.extend(ids.iter().cloned());
    Some(words)
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
    fn pytest_options_are_kept_or_dropped_word_by_word() {
        let ids = vec!["tests/test_a.py::test_x[a b]".to_owned()];
        let narrowed = |command: &str| {
            narrow(Some("pytest"), &words(command), &ids).map(|words| words.join(" | "))
        };
        assert_eq!(
            narrowed("python -m pytest -vv -rfE -n4 -o log_cli=true --cov=app --cov-fail-under 90 --lf -kauth tests -- tests/more"),
            Some("python | -m | pytest | -vv | -rfE | -n4 | -o | log_cli=true | --cov=app | tests/test_a.py::test_x[a b]".to_owned())
        );
        assert_eq!(
            narrowed("pytest --unknown-option=1 --rootdir backend"),
            Some(
                "pytest | --unknown-option=1 | --rootdir | backend | tests/test_a.py::test_x[a b]"
                    .to_owned()
            )
        );
        // An option missing its value, or one it does not know: not narrowed.
        assert_eq!(narrowed("pytest -k"), None);
        assert_eq!(narrowed("pytest --mystery tests"), None);
        // Not pytest, or ids from another runner.
        assert_eq!(narrowed("make test"), None);
        assert_eq!(narrow(Some("jest"), &words("pytest -q"), &ids), None);
        let label = Rerun {
            words: words("pytest \"it's [x]\""),
            directory: PathBuf::from("my app"),
        }
        .label();
        assert_eq!(label, r"cd 'my app' && pytest 'it'\''s [x]'");
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
    fn angie_narrows_jest_and_vitest_to_the_failing_files() {
        let dir = project();
        let spec = dir
            .path()
            .join("frontend/src/app/cart/cart.service.spec.ts");
        std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
        std::fs::write(&spec, "x\n").unwrap();
        let layout = Layout::discover(&dir.path().join("frontend")).unwrap();
        let allowed: Vec<String> = ANGULAR
            .check_commands
            .iter()
            .map(|command| (*command).to_owned())
            .collect();
        let jest = include_str!("../../../tests/fixtures/logs/jest.log");
        let vitest = include_str!("../../../tests/fixtures/logs/vitest.log");
        let check = |command: Option<&str>, output: &str| {
            let log = report(command, output).replace("backend:test", "frontend:test");
            recover(
                &log,
                &["frontend:test".to_owned()],
                &layout,
                &ANGULAR,
                &allowed,
            )
            .into_iter()
            .map(|run| run.label())
            .collect::<Vec<_>>()
        };
        let spec = "src/app/cart/cart.service.spec.ts";
        for (command, output, expected) in [
            (
                Some("npx jest --ci --coverage --passWithNoTests -u src/app"),
                jest,
                format!("npx jest --ci {spec}"),
            ),
            (
                Some("npx vitest --reporter dot --coverage.enabled=true"),
                vitest,
                format!("npx vitest run --reporter dot {spec}"),
            ),
            (
                Some("npx vitest run -t total"),
                vitest,
                format!("npx vitest run {spec}"),
            ),
            (None, jest, format!("npx jest {spec}")),
            (None, vitest, format!("npx vitest run {spec}")),
            // karma (`ng test`) takes no files: its command as it was.
            (
                Some("npx ng test --watch=false"),
                jest,
                "npx ng test --watch=false".to_owned(),
            ),
            // A runner option it does not know keeps the command whole.
            (
                Some("npx jest --mystery value"),
                jest,
                "npx jest --mystery value".to_owned(),
            ),
            (
                Some("npx vitest bench"),
                vitest,
                "npx vitest bench".to_owned(),
            ),
        ] {
            assert_eq!(check(command, output), vec![expected], "{command:?}");
        }
        // A failing file that is not under the source: the command as it was.
        let elsewhere = "FAIL src/app/gone.spec.ts\n  ● Gone › test\n";
        assert_eq!(
            check(Some("npx jest"), elsewhere),
            vec!["npx jest".to_owned()]
        );
        assert!(check(None, elsewhere).is_empty());
    }
}
