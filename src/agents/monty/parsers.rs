//! One parser per tool whose output a failed check prints: each reads cleaned log lines and
//! returns the failures it recognises, with the path as the log wrote it. Which parsers run is the
//! language pack's choice; mapping paths onto the workspace is [`super::failures`]'s job.

use std::sync::LazyLock;

use regex::Regex;

/// A failure as a tool reported it, before its path is mapped onto the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFailure {
    pub tool: &'static str,
    pub path: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The tool's rule or error code (`F401`, `TS2322`, `NG8001`, `attr-defined`…).
    pub code: Option<String>,
    pub message: String,
    /// Supporting lines: assertion diffs, notes, the failing test's name.
    pub detail: Vec<String>,
}

impl RawFailure {
    /// A failure with no place yet.
    pub(crate) fn new(tool: &'static str, message: &str) -> Self {
        Self {
            tool,
            path: None,
            line: None,
            column: None,
            code: None,
            message: message.trim().to_owned(),
            detail: Vec::new(),
        }
    }

    pub(crate) fn at(
        tool: &'static str,
        path: &str,
        line: Option<u32>,
        column: Option<u32>,
        message: &str,
    ) -> Self {
        Self {
            path: Some(path.to_owned()),
            line,
            column,
            ..Self::new(tool, message)
        }
    }

    /// A failure at the path, line and column of a match's groups 1, 2 and 3.
    fn at_match(tool: &'static str, found: &regex::Captures<'_>, message: &str) -> Self {
        Self::at(
            tool,
            &found[1],
            number(found.get(2)),
            number(found.get(3)),
            message,
        )
    }

    pub(crate) fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code;
        self
    }
}

pub type Parser = fn(&[&str]) -> Vec<RawFailure>;

fn regex(pattern: &str) -> Regex {
    // The patterns are literals in this file, each exercised by the tests below, so an invalid one
    // fails them; in a release build it is logged loudly and never matches rather than panicking.
    Regex::new(pattern).unwrap_or_else(|error| {
        tracing::error!("a log parser's pattern does not compile (`{pattern}`): {error}");
        Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!())
    })
}

fn number(text: Option<regex::Match<'_>>) -> Option<u32> {
    text.and_then(|found| found.as_str().parse().ok())
}

static PYTEST_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^(?:FAILED|ERROR) ([\w./\\-]+\.py)(?:::([^\s\[]+(?:\[.*?\])?))?(?: - (.*))?$")
});
static PYTEST_SECTION: LazyLock<Regex> = LazyLock::new(|| regex(r"^_{3,} (\S.*?) _{3,}$"));
static PYTEST_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^([\w./\\-]+\.py):(\d+):(?: (.*))?$"));
static PYTHON_TRACEBACK: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"^\s*File "([^"]+\.py)", line (\d+)(?:, in (\S+))?"#));
static PYTHON_EXCEPTION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Exit))(?::\s*(.*))?$"));

/// pytest: the short summary's `FAILED path::test - message` lines, and in the failure sections
/// the `path:line: Error` locations (the test's own line and the line in the code under test)
/// with the `E   ` assertion lines as detail.
pub fn pytest(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut section: Option<String> = None;
    let mut assertion: Vec<String> = Vec::new();
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = PYTEST_SECTION.captures(trimmed) {
            let name = found[1].trim().to_owned();
            // `_ _ _ _` separators inside a section are not new sections.
            if !name.starts_with("_ ") && !name.chars().all(|c| c == '_' || c == ' ') {
                section = Some(name);
                assertion.clear();
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('E')
            && (rest.starts_with(' ') || rest.is_empty())
        {
            assertion.push(rest.trim().to_owned());
            continue;
        }
        if let Some(found) = PYTEST_FAILED.captures(trimmed) {
            let mut failure = RawFailure::at(
                "pytest",
                &found[1],
                None,
                None,
                found.get(3).map_or("test failed", |m| m.as_str()),
            );
            if let Some(test) = found.get(2) {
                failure.detail.push(format!("test: {}", test.as_str()));
            }
            failures.push(failure);
            continue;
        }
        if let Some(found) = PYTEST_LOCATION.captures(trimmed) {
            let what = found.get(3).map_or("", |m| m.as_str()).trim();
            let message = if assertion.is_empty() {
                if what.is_empty() {
                    "failure location".to_owned()
                } else {
                    what.to_owned()
                }
            } else {
                assertion.join(" ")
            };
            let mut failure =
                RawFailure::at("pytest", &found[1], number(found.get(2)), None, &message);
            if let Some(test) = &section {
                failure.detail.push(format!("test: {test}"));
            }
            if !what.is_empty() && what != message {
                failure.detail.push(what.to_owned());
            }
            failures.push(failure);
        }
    }
    failures
}

/// A failing test as a test runner named it: the file as printed, and the rest of its id
/// (`TestToken::test_expired[a b]` for pytest, the test's title for jest and vitest), if any.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestId {
    pub path: String,
    pub name: Option<String>,
}

/// A pytest section title that names a test: `test_x`, `TestClass.test_x[param]`.
static PYTEST_TEST_TITLE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\[.*\])?$"));

/// The ids of the tests pytest reported failing, in log order, without duplicates: from the short
/// test summary (`FAILED path::Class::test[param] - message`, `ERROR path::test`), else from a
/// failure section's title (`____ Class.test[param] ____`) and its first location, which is the
/// test's own file (pytest starts a test's traceback at the test function).
pub fn pytest_ids(lines: &[&str]) -> Vec<TestId> {
    let mut summary: Vec<TestId> = Vec::new();
    let mut sections: Vec<TestId> = Vec::new();
    let mut section: Option<String> = None;
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = PYTEST_SECTION.captures(trimmed) {
            let title = found[1].trim();
            section = PYTEST_TEST_TITLE.captures(title).map(|test| {
                let head = test[1].replace('.', "::");
                format!("{head}{}", test.get(2).map_or("", |param| param.as_str()))
            });
            continue;
        }
        if let Some(found) = PYTEST_FAILED.captures(trimmed) {
            summary.push(TestId {
                path: found[1].to_owned(),
                name: found.get(2).map(|name| name.as_str().to_owned()),
            });
            continue;
        }
        if let Some(found) = PYTEST_LOCATION.captures(trimmed)
            && let Some(name) = section.take()
        {
            sections.push(TestId {
                path: found[1].to_owned(),
                name: Some(name),
            });
        }
    }
    let mut ids = if summary.is_empty() {
        sections
    } else {
        summary
    };
    let mut seen = std::collections::BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids
}

/// A test file jest or vitest reported failing: `FAIL src/a.spec.ts` (jest), `FAIL  src/a.spec.ts >
/// Suite > test` or `FAIL  src/a.spec.ts [ src/a.spec.ts ]` (vitest).
static JS_FAIL_FILE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^\s*FAIL\s+([\w./@\\\[\]()+-]+?\.[cm]?[jt]sx?)(?:\s+(>)\s.*|\s+\[.*\])?\s*$")
});

/// The JavaScript test runner whose failing files the log shows (`jest` or `vitest`), and those
/// files in log order without duplicates (as [`TestId`]s without names: a run is narrowed to
/// whole files, never to a test-name pattern that might select nothing).
pub fn js_test_files(lines: &[&str]) -> (Option<&'static str>, Vec<TestId>) {
    let mut runner: Option<&'static str> = None;
    let mut files: Vec<TestId> = Vec::new();
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = JS_FAIL_FILE.captures(trimmed) {
            // vitest names the test after ` > ` and pads `FAIL` with two spaces; jest uses one.
            let vitest = found.get(2).is_some() || trimmed.trim_start().starts_with("FAIL  ");
            runner = runner.or(Some(if vitest { "vitest" } else { "jest" }));
            let id = TestId {
                path: found[1].to_owned(),
                name: None,
            };
            if !files.contains(&id) {
                files.push(id);
            }
        } else if trimmed.trim_start().starts_with("RUN  v") {
            runner = Some("vitest");
        }
    }
    (runner, files)
}

/// Python tracebacks (`File "x.py", line 12, in f`), attributed to the exception that ends them.
/// Only the innermost frame of each traceback is kept: that is where the error was raised.
pub fn python_traceback(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut frame: Option<(String, u32, Option<String>)> = None;
    for line in lines {
        if let Some(found) = PYTHON_TRACEBACK.captures(line) {
            if found[1].contains("site-packages") || found[1].starts_with('<') {
                continue;
            }
            frame = number(found.get(2)).map(|number| {
                (
                    found[1].to_owned(),
                    number,
                    found.get(3).map(|m| m.as_str().to_owned()),
                )
            });
            continue;
        }
        if let Some((path, number, function)) = &frame
            && let Some(found) = PYTHON_EXCEPTION.captures(line.trim())
        {
            let message = match found.get(2) {
                Some(text) => format!("{}: {}", &found[1], text.as_str()),
                None => found[1].to_owned(),
            };
            let mut failure = RawFailure::at("python", path, Some(*number), None, &message);
            if let Some(function) = function {
                failure.detail.push(format!("in {function}"));
            }
            failures.push(failure);
            frame = None;
        }
    }
    failures
}

static LINT_CONCISE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^([\w./\\-]+\.pyi?):(\d+):(\d+): ([A-Z]+\d+) (?:\[\*\] )?(.*)$"));
static RUFF_FULL_HEAD: LazyLock<Regex> = LazyLock::new(|| regex(r"^([A-Z]+\d+) (?:\[\*\] )?(.*)$"));
static RUFF_FULL_ARROW: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*--> ([\w./\\-]+\.pyi?):(\d+):(\d+)"));

/// ruff and flake8, in their concise `path:line:col: CODE message` form, and ruff's full form
/// (`CODE message` then ` --> path:line:col`).
pub fn python_lint(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut pending: Option<(String, String)> = None;
    for line in lines {
        if let Some(found) = LINT_CONCISE.captures(line) {
            failures.push(
                RawFailure::at_match("ruff", &found, &found[5])
                    .with_code(Some(found[4].to_owned())),
            );
            pending = None;
        } else if let Some(found) = RUFF_FULL_HEAD.captures(line) {
            pending = Some((found[1].to_owned(), found[2].to_owned()));
        } else if let Some(found) = RUFF_FULL_ARROW.captures(line)
            && let Some((code, message)) = pending.take()
        {
            failures.push(RawFailure::at_match("ruff", &found, &message).with_code(Some(code)));
        }
    }
    failures
}

static MYPY: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^([\w./\\-]+\.pyi?):(\d+)(?::(\d+))?: (error|note): (.*?)(?:\s+\[([\w-]+)\])?$")
});

/// mypy: errors become failures; a `note:` on the same line is attached to the error before it.
pub fn mypy(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures: Vec<RawFailure> = Vec::new();
    for line in lines {
        let Some(found) = MYPY.captures(line) else {
            continue;
        };
        let (line_number, column) = (number(found.get(2)), number(found.get(3)));
        if &found[4] == "note" {
            if let Some(last) = failures.last_mut()
                && last.path.as_deref() == Some(&found[1])
                && last.line == line_number
            {
                last.detail.push(found[5].to_owned());
            }
            continue;
        }
        failures.push(
            RawFailure::at("mypy", &found[1], line_number, column, &found[5])
                .with_code(found.get(6).map(|code| code.as_str().to_owned())),
        );
    }
    failures
}

static TSC_PAREN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:Error: )?([\w./@\\-]+\.(?:tsx?|html|mts|cts))\((\d+),(\d+)\): error ((?:TS|NG)\d+): (.*)$",
    )
});
static TSC_PRETTY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:Error: )?([\w./@\\-]+\.(?:tsx?|html|scss|css|mts|cts)):(\d+):(\d+) - error ((?:TS|NG)\d+): (.*)$",
    )
});
static ESBUILD_ERROR: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^✘ \[ERROR\] (?:((?:TS|NG)\d+): )?(.*?)(?: \[plugin [\w-]+\])?$"));
static ESBUILD_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s+([\w./@\\-]+\.(?:tsx?|html|scss|css)):(\d+):(\d+):$"));

/// Which compiler an error code belongs to: `NG…` is Angular's, the rest `tsc`'s.
fn compiler(code: Option<&str>) -> &'static str {
    if code.is_some_and(|code| code.starts_with("NG")) {
        "angular"
    } else {
        "tsc"
    }
}

/// TypeScript and Angular compiler errors: `tsc`'s two formats, the Angular CLI's
/// `Error: path:line:col - error NG…`, and the esbuild-based builder's `✘ [ERROR] NG…` blocks
/// whose first indented `path:line:col:` is the location.
pub fn typescript(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut pending: Option<(Option<String>, String)> = None;
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = TSC_PAREN
            .captures(trimmed)
            .or_else(|| TSC_PRETTY.captures(trimmed))
        {
            let tool = compiler(Some(&found[4]));
            failures.push(
                RawFailure::at_match(tool, &found, &found[5]).with_code(Some(found[4].to_owned())),
            );
            pending = None;
        } else if let Some(found) = ESBUILD_ERROR.captures(trimmed) {
            pending = Some((
                found.get(1).map(|code| code.as_str().to_owned()),
                found[2].to_owned(),
            ));
        } else if let Some(found) = ESBUILD_LOCATION.captures(trimmed)
            && let Some((code, message)) = pending.take()
        {
            let tool = compiler(code.as_deref());
            let mut failure = RawFailure::at_match(tool, &found, &message).with_code(code);
            // esbuild counts columns from 0; editors and GitHub from 1.
            failure.column = failure.column.map(|column| column + 1);
            failures.push(failure);
        }
    }
    failures
}

static ESLINT_FILE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^(/?[\w./@\\-]+\.(?:[cm]?[jt]sx?|html|vue))$"));
static ESLINT_ROW: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s+(\d+):(\d+)\s+(error|warning)\s+(.*?)(?:\s{2,}([@\w/.-]+))?$"));

/// ESLint's default ("stylish") format: a file line, then indented `line:col  error  message  rule`
/// rows. Warnings do not fail a check and are skipped.
pub fn eslint(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut file: Option<String> = None;
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = ESLINT_FILE.captures(trimmed) {
            file = Some(found[1].to_owned());
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let Some(path) = &file else { continue };
        match ESLINT_ROW.captures(trimmed) {
            Some(found) if &found[3] == "error" => {
                failures.push(
                    RawFailure::at(
                        "eslint",
                        path,
                        number(found.get(1)),
                        number(found.get(2)),
                        &found[4],
                    )
                    .with_code(found.get(5).map(|rule| rule.as_str().to_owned())),
                );
            }
            Some(_) => {}
            None => file = None,
        }
    }
    failures
}

static VITEST_FAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*FAIL\s+([\w./@\\-]+\.[cm]?[jt]sx?)(?: > (.*))?$"));
static VITEST_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*❯\s+([\w./@\\-]+\.[cm]?[jt]sx?):(\d+):(\d+)"));
static JEST_TITLE: LazyLock<Regex> = LazyLock::new(|| regex(r"^\s*● (.+)$"));
static STACK_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"at (?:.*? \()?(?:webpack:///|file://)?(?:\./)?([\w./@\\-]+\.[cm]?[jt]sx?):(\d+):(\d+)\)?",
    )
});
static KARMA_FAILED: LazyLock<Regex> = LazyLock::new(|| regex(r"^\S.*? \(.*?\) (.+) FAILED$"));
static ERROR_LINE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*((?:\w*Error|expect\(|Expected)\b.*)$"));

/// Test runners of the TypeScript world: vitest (`FAIL file > test`, `❯ file:line:col`), jest
/// (`● Suite › test`, stack frames) and karma/jasmine (`… FAILED`, stack frames). The location is
/// the first frame outside `node_modules`.
pub fn js_tests(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut title: Option<(&'static str, String)> = None;
    let mut message: Option<String> = None;
    for line in lines {
        let trimmed = line.trim_end();
        if let Some(found) = VITEST_FAIL.captures(trimmed) {
            title = Some((
                "vitest",
                found
                    .get(2)
                    .map_or_else(|| found[1].to_owned(), |test| test.as_str().to_owned()),
            ));
            message = None;
            continue;
        }
        if let Some(found) = JEST_TITLE.captures(trimmed) {
            title = Some(("jest", found[1].to_owned()));
            message = None;
            continue;
        }
        if let Some(found) = KARMA_FAILED.captures(trimmed) {
            title = Some(("karma", found[1].to_owned()));
            message = None;
            continue;
        }
        let Some((tool, test)) = &title else { continue };
        if message.is_none()
            && let Some(found) = ERROR_LINE.captures(trimmed)
        {
            message = Some(found[1].trim().to_owned());
            continue;
        }
        let location = VITEST_LOCATION
            .captures(trimmed)
            .or_else(|| STACK_FRAME.captures(trimmed));
        if let Some(found) = location
            && !found[1].contains("node_modules")
        {
            let text = message.take().unwrap_or_else(|| "test failed".to_owned());
            let mut failure = RawFailure::at_match(tool, &found, &text);
            failure.detail.push(format!("test: {test}"));
            failures.push(failure);
            title = None;
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    /// The lines of a log under `tests/fixtures/logs/`.
    macro_rules! fixture {
        ($name:literal) => {
            lines(include_str!(concat!(
                "../../../tests/fixtures/logs/",
                $name
            )))
        };
    }

    /// Where a failure is and its code: `path:line:column code`.
    fn place(failure: &RawFailure) -> String {
        format!(
            "{}:{}:{} {}",
            failure.path.as_deref().unwrap_or("?"),
            failure.line.unwrap_or(0),
            failure.column.unwrap_or(0),
            failure.code.as_deref().unwrap_or("-")
        )
    }

    fn brief(failures: &[RawFailure]) -> Vec<(String, Option<u32>, String)> {
        failures
            .iter()
            .map(|failure| {
                (
                    failure.path.clone().unwrap_or_default(),
                    failure.line,
                    failure.message.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn pytest_summary_and_locations() {
        let log = include_str!("../../../tests/fixtures/logs/pytest.log");
        let failures = pytest(&lines(log));
        let found = brief(&failures);
        assert!(
            found.contains(&(
                "tests/test_auth.py".into(),
                Some(21),
                "AssertionError: assert 200 == 401 +  where 200 = <Response [200]>.status_code"
                    .into()
            )),
            "{found:#?}"
        );
        assert!(
            found.contains(&(
                "app/items.py".into(),
                Some(12),
                "AttributeError: 'Item' object has no attribute 'cost'".into()
            )),
            "{found:#?}"
        );
        assert!(
            found.contains(&(
                "tests/test_items.py".into(),
                None,
                "AttributeError: 'Item' object has no attribute 'cost'".into()
            )),
            "{found:#?}"
        );
        let in_code = failures
            .iter()
            .find(|failure| failure.path.as_deref() == Some("app/items.py"))
            .unwrap();
        assert_eq!(in_code.detail[0], "test: test_item_price_total");
    }

    fn ids(found: Vec<TestId>) -> Vec<String> {
        found
            .into_iter()
            .map(|id| match id.name {
                Some(name) => format!("{}::{name}", id.path),
                None => id.path,
            })
            .collect()
    }

    #[test]
    fn pytest_ids_come_from_the_short_summary() {
        let log = "\
=========================== short test summary info ============================
FAILED tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc] - AssertionError: assert True is False
FAILED tests/test_auth.py::test_validate_token - AssertionError: assert 200 == 401
FAILED tests/test_items.py::test_total[a[0]-b]
ERROR tests/test_db.py::test_query - fixture 'db' not found
ERROR tests/test_broken.py - ImportError: cannot import name 'x'
FAILED tests/test_auth.py::test_validate_token - AssertionError: assert 200 == 401
========================= 4 failed, 2 errors in 0.31s ==========================
";
        assert_eq!(
            ids(pytest_ids(&lines(log))),
            vec![
                "tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00 - utc]",
                "tests/test_auth.py::test_validate_token",
                "tests/test_items.py::test_total[a[0]-b]",
                "tests/test_db.py::test_query",
                "tests/test_broken.py",
            ]
        );
        // The failure itself is still read, message and all.
        let failures = pytest(&lines(log));
        assert_eq!(failures[0].message, "AssertionError: assert True is False");
        assert_eq!(
            failures[0].detail,
            vec!["test: TestToken::test_expired[2026-01-01 00:00 - utc]".to_owned()]
        );
    }

    #[test]
    fn without_a_summary_pytest_ids_come_from_the_sections() {
        let log = "\
=================================== FAILURES ===================================
_______________ TestToken.test_expired[2026-01-01 00:00] _______________
tests/test_auth.py:14: in test_expired
    assert validate(token) is False
app/auth.py:5: in validate
    return True
E   AssertionError: assert True is False
_____________________________ test_item_price_total _____________________________

    def test_item_price_total():
>       assert total([Item(price=2), Item(price=3)]) == 5

tests/test_items.py:40: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
app/items.py:12: AttributeError
___________________ ERROR at setup of test_query ___________________
tests/conftest.py:8: in db
E   RuntimeError: no database
========================= 2 failed, 1 error in 0.31s ==========================
";
        assert_eq!(
            ids(pytest_ids(&lines(log))),
            vec![
                "tests/test_auth.py::TestToken::test_expired[2026-01-01 00:00]",
                "tests/test_items.py::test_item_price_total",
            ]
        );
        assert_eq!(
            ids(pytest_ids(&fixture!("pytest.log"))),
            vec![
                "tests/test_auth.py::test_validate_token",
                "tests/test_items.py::test_item_price_total",
            ]
        );
    }

    #[test]
    fn js_test_files_name_the_runner_and_the_failing_files() {
        let spec = "src/app/cart/cart.service.spec.ts";
        let files = |(runner, found): (Option<&'static str>, Vec<TestId>)| (runner, ids(found));
        assert_eq!(
            files(js_test_files(&fixture!("jest.log"))),
            (Some("jest"), vec![spec.to_owned()])
        );
        assert_eq!(
            files(js_test_files(&fixture!("vitest.log"))),
            (Some("vitest"), vec![spec.to_owned()])
        );
        let log = " FAIL  src/a.spec.ts [ src/a.spec.ts ]\n FAIL  src/b.spec.ts > B > one\n FAIL  src/b.spec.ts > B > two\n";
        assert_eq!(
            files(js_test_files(&lines(log))),
            (
                Some("vitest"),
                vec!["src/a.spec.ts".to_owned(), "src/b.spec.ts".to_owned()]
            )
        );
        assert_eq!(
            js_test_files(&lines("PASS src/c.spec.ts\n")),
            (None, vec![])
        );
    }

    #[test]
    fn python_tracebacks_keep_the_innermost_frame() {
        let log = "Traceback (most recent call last):\n  File \"/usr/lib/python3.12/site-packages/x.py\", line 3, in run\n  File \"/src/app/main.py\", line 8, in <module>\n    import missing\nModuleNotFoundError: No module named 'missing'\n";
        let failures = python_traceback(&lines(log));
        assert_eq!(
            brief(&failures),
            vec![(
                "/src/app/main.py".into(),
                Some(8),
                "ModuleNotFoundError: No module named 'missing'".into()
            )]
        );
    }

    #[test]
    fn ruff_both_formats() {
        let concise = python_lint(&fixture!("ruff.log"));
        assert_eq!(
            brief(&concise),
            vec![
                (
                    "app/main.py".into(),
                    Some(3),
                    "`os` imported but unused".into()
                ),
                (
                    "app/items.py".into(),
                    Some(27),
                    "Line too long (97 > 88)".into()
                ),
            ]
        );
        assert_eq!(concise[0].code.as_deref(), Some("F401"));
        let full = python_lint(&fixture!("ruff-full.log"));
        assert_eq!(
            brief(&full),
            vec![(
                "app/auth.py".into(),
                Some(33),
                "Local variable `result` is assigned to but never used".into()
            )]
        );
        assert_eq!(full[0].column, Some(5));
    }

    #[test]
    fn mypy_errors_with_notes() {
        let failures = mypy(&fixture!("mypy.log"));
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].code.as_deref(), Some("return-value"));
        assert_eq!(failures[1].line, Some(12));
        assert_eq!(failures[1].column, Some(16));
        assert_eq!(
            failures[1].detail,
            vec!["Did you mean \"price\"?".to_owned()]
        );
    }

    #[test]
    fn tsc_both_formats() {
        let failures = typescript(&fixture!("tsc.log"));
        assert_eq!(
            brief(&failures),
            vec![
                (
                    "src/app/cart/cart.service.ts".into(),
                    Some(18),
                    "Type 'string' is not assignable to type 'number'.".into()
                ),
                (
                    "src/app/cart/cart.component.ts".into(),
                    Some(42),
                    "Property 'totl' does not exist on type 'CartService'.".into()
                ),
            ]
        );
        assert_eq!(failures[1].code.as_deref(), Some("TS2339"));
    }

    #[test]
    fn angular_builder_errors() {
        let failures = typescript(&fixture!("ng-build.log"));
        assert_eq!(failures.len(), 2, "{failures:#?}");
        assert_eq!(place(&failures[0]), "src/app/app.component.html:3:1 NG8001");
        assert_eq!(failures[0].tool, "angular");
        assert_eq!(
            failures[1].path.as_deref(),
            Some("src/app/cart/cart.component.ts")
        );
        assert_eq!(failures[1].code.as_deref(), Some("NG2008"));
    }

    #[test]
    fn eslint_errors_not_warnings() {
        let failures = eslint(&fixture!("eslint.log"));
        assert_eq!(failures.len(), 2, "{failures:#?}");
        assert_eq!(
            place(&failures[0]),
            "/home/runner/work/shop/shop/frontend/src/app/app.component.ts:12:7 @typescript-eslint/no-unused-vars"
        );
        assert_eq!(failures[1].line, Some(5));
    }

    #[test]
    fn vitest_jest_and_karma() {
        let vitest = js_tests(&fixture!("vitest.log"));
        assert_eq!(
            brief(&vitest),
            vec![(
                "src/app/cart/cart.service.spec.ts".into(),
                Some(21),
                "AssertionError: expected 4 to be 5 // Object.is equality".into()
            )]
        );
        assert_eq!(
            vitest[0].detail,
            vec!["test: CartService > sums prices".to_owned()]
        );
        let jest = js_tests(&fixture!("jest.log"));
        assert_eq!(
            brief(&jest),
            vec![(
                "src/app/cart/cart.service.spec.ts".into(),
                Some(21),
                "expect(received).toBe(expected) // Object.is equality".into()
            )]
        );
        let karma = js_tests(&fixture!("karma.log"));
        assert_eq!(
            brief(&karma),
            vec![(
                "src/app/cart/cart.component.spec.ts".into(),
                Some(31),
                "Error: Expected '$4.00' to equal '$5.00'.".into()
            )]
        );
        assert_eq!(karma[0].tool, "karma");
    }
}
