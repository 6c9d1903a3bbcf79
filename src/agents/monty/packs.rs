//! Language packs: everything monty and angie do not share. Adding a pack (Go, Rust…) means adding
//! a value here; the loop, the log reader and the publisher do not change.

use super::parsers::{self, Parser};

#[derive(Debug)]
pub struct LanguagePack {
    /// The agent's command name: `monty`, `angie`.
    pub agent: &'static str,
    /// How comments and summaries name the agent.
    pub display_name: &'static str,
    pub language: &'static str,
    /// The agent's own context file (CONTRACTS §6).
    pub context_file: &'static str,
    /// Stack knowledge appended to every system prompt of this agent.
    pub knowledge: &'static str,
    /// The log parsers that find this stack's failures.
    pub parsers: &'static [Parser],
    /// Checks — tests, linters, type checkers, builds — that `exec` may run with
    /// `--allow-exec`: a program, or a program with its first argument(s) (`python -m pytest`),
    /// matched word by word.
    pub check_commands: &'static [&'static str],
    /// Commands that install packages or run arbitrary project scripts (`pip install`,
    /// `uv run`, `npm run`, `npx`): only with `--allow-exec=install` (or listed under `[exec]`
    /// in agentci.toml).
    pub install_commands: &'static [&'static str],
    /// File extensions of this stack's sources (for picking files to show the model).
    pub source_extensions: &'static [&'static str],
    /// How this stack's tests are named and run, for write-tests.
    pub test_conventions: &'static str,
    /// The test frameworks `write-tests --test-framework` accepts; the first is the default.
    pub test_frameworks: &'static [&'static str],
    /// The command `build` runs when none is given.
    pub default_build_command: &'static str,
}

pub static PYTHON: LanguagePack = LanguagePack {
    agent: "monty",
    display_name: "Monty",
    language: "python",
    context_file: "MONTY.md",
    knowledge: include_str!("prompts/python.md"),
    parsers: &[
        parsers::pytest,
        parsers::python_traceback,
        parsers::python_lint,
        parsers::mypy,
    ],
    check_commands: &[
        "pytest",
        "ruff",
        "mypy",
        "flake8",
        "black",
        "pip list",
        "python -m pytest",
        "python -m mypy",
        "python -m ruff",
        "python -m compileall",
    ],
    install_commands: &[
        "pip install",
        "python -m pip",
        "uv sync",
        "uv run",
        "uv pip",
    ],
    source_extensions: &["py", "pyi", "toml", "cfg", "ini"],
    test_conventions: "pytest: files `tests/test_<module>.py`, functions `test_<behaviour>`, shared fixtures in `tests/conftest.py`, plain `assert` statements, `pytest.raises` for errors, `pytest.mark.parametrize` for tables of cases; FastAPI apps through `fastapi.testclient.TestClient`.",
    test_frameworks: &["pytest", "unittest"],
    default_build_command: "python -m compileall -q .",
};

pub static ANGULAR: LanguagePack = LanguagePack {
    agent: "angie",
    display_name: "Angie",
    language: "angular",
    context_file: "ANGIE.md",
    knowledge: include_str!("prompts/angular.md"),
    parsers: &[parsers::typescript, parsers::eslint, parsers::js_tests],
    check_commands: &[
        "npm test",
        "npx ng build",
        "npx ng test",
        "npx ng lint",
        "npx tsc",
        "npx eslint",
        "npx vitest",
        "npx jest",
        "tsc",
        "eslint",
    ],
    install_commands: &["npm ci", "npm install", "npm run", "npm exec", "npx"],
    source_extensions: &["ts", "html", "scss", "css", "json"],
    test_conventions: "Angular specs next to the code as `<name>.spec.ts`, `describe`/`it` blocks, `TestBed.configureTestingModule({ imports: [StandaloneComponent] })`, `fixture.detectChanges()` before DOM assertions, `HttpTestingController` for HTTP; with Vitest or Jest use their `expect` matchers.",
    test_frameworks: &["jasmine", "jest", "vitest"],
    default_build_command: "npx ng build",
};

pub static PACKS: [&LanguagePack; 2] = [&PYTHON, &ANGULAR];

/// The pack of an agent by its command name.
pub fn for_agent(agent: &str) -> Option<&'static LanguagePack> {
    PACKS.iter().copied().find(|pack| pack.agent == agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::monty::failures::{Layout, read};

    fn write(root: &std::path::Path, path: &str) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, "x\n").unwrap();
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        for path in [
            "backend/app/auth.py",
            "backend/tests/test_auth.py",
            "frontend/src/app/app.component.ts",
            "frontend/src/app/cart/cart.service.spec.ts",
        ] {
            write(dir.path(), path);
        }
        dir
    }

    #[test]
    fn each_pack_separates_checks_from_installing_and_code_running_commands() {
        let words = |text: &str| crate::support::split_words(text).unwrap();
        let checks = |pack: &LanguagePack| -> Vec<String> {
            pack.check_commands
                .iter()
                .map(|c| (*c).to_owned())
                .collect()
        };
        // The lists are pinned: widening what `exec` may run is a decision, not a side effect.
        for (commands, pinned) in [
            (
                PYTHON.check_commands,
                "pytest, ruff, mypy, flake8, black, pip list, python -m pytest, python -m mypy, python -m ruff, python -m compileall",
            ),
            (
                PYTHON.install_commands,
                "pip install, python -m pip, uv sync, uv run, uv pip",
            ),
            (
                ANGULAR.check_commands,
                "npm test, npx ng build, npx ng test, npx ng lint, npx tsc, npx eslint, npx vitest, npx jest, tsc, eslint",
            ),
            (
                ANGULAR.install_commands,
                "npm ci, npm install, npm run, npm exec, npx",
            ),
        ] {
            assert_eq!(commands.join(", "), pinned);
        }
        for pack in PACKS {
            // The default build is a check; nothing that installs or runs scripts is.
            assert!(crate::support::command_allowed(
                &words(pack.default_build_command),
                &checks(pack)
            ));
            for command in [
                "pip install evil",
                "uv run python -c 1",
                "npm run postinstall",
                "npm ci",
                "npx cowsay",
                "python -m pip install x",
            ] {
                assert!(
                    !crate::support::command_allowed(&words(command), &checks(pack)),
                    "{}: {command}",
                    pack.agent
                );
            }
        }
    }

    #[test]
    fn a_mixed_log_splits_between_monty_and_angie() {
        let dir = project();
        let log = include_str!("../../../tests/fixtures/logs/dagger-mixed.log");

        let backend = Layout::discover(&dir.path().join("backend")).unwrap();
        let monty = read(log, PYTHON.parsers, &backend);
        let places: Vec<_> = monty
            .iter()
            .map(|f| (f.path.clone(), f.line, f.check.clone()))
            .collect();
        assert_eq!(
            places,
            vec![
                (
                    Some("tests/test_auth.py".into()),
                    None,
                    Some("shop-backend:test".into())
                ),
                (
                    Some("tests/test_auth.py".into()),
                    Some(21),
                    Some("shop-backend:test".into())
                ),
                (
                    Some("app/auth.py".into()),
                    Some(47),
                    Some("shop-backend:test".into())
                ),
            ]
        );

        let frontend = Layout::discover(&dir.path().join("frontend")).unwrap();
        let angie = read(log, ANGULAR.parsers, &frontend);
        let places: Vec<_> = angie
            .iter()
            .map(|f| (f.tool, f.path.clone(), f.line))
            .collect();
        assert_eq!(
            places,
            vec![
                ("eslint", Some("src/app/app.component.ts".into()), Some(12)),
                (
                    "vitest",
                    Some("src/app/cart/cart.service.spec.ts".into()),
                    Some(21)
                ),
            ]
        );
    }

    #[test]
    fn nothing_for_an_agent_whose_directory_did_not_fail() {
        let dir = project();
        write(dir.path(), "docs/readme.py");
        let docs = Layout::discover(&dir.path().join("docs")).unwrap();
        let log = include_str!("../../../tests/fixtures/logs/dagger-mixed.log");
        assert!(read(log, PYTHON.parsers, &docs).is_empty());
    }

    #[test]
    fn container_and_runner_paths_map_onto_the_source() {
        let dir = project();
        let backend = Layout::discover(&dir.path().join("backend")).unwrap();
        let log = "Traceback (most recent call last):\n  File \"/src/app/auth.py\", line 9, in check\nKeyError: 'exp'\n";
        let found = read(log, PYTHON.parsers, &backend);
        assert_eq!(found[0].path.as_deref(), Some("app/auth.py"));
        assert_eq!(found[0].line, Some(9));
        let frontend = Layout::discover(&dir.path().join("frontend")).unwrap();
        let eslint = "/home/runner/work/shop/shop/frontend/src/app/app.component.ts\n  3:1  error  Bad  rule-x\n";
        let found = read(eslint, ANGULAR.parsers, &frontend);
        assert_eq!(found[0].path.as_deref(), Some("src/app/app.component.ts"));
    }

    #[test]
    fn an_unparsed_failed_check_still_reaches_the_model() {
        let dir = project();
        let backend = Layout::discover(&dir.path().join("backend")).unwrap();
        let log = "✘ shop-backend:lint   (1.0s)  ERROR\n┇ .lint(\n  ┆ source: context ./backend\n  ) ›\nsomething odd happened\n";
        let found = read(log, PYTHON.parsers, &backend);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tool, "dagger");
        assert!(
            found[0]
                .detail
                .iter()
                .any(|line| line == "something odd happened")
        );
    }

    #[test]
    fn packs_are_found_by_agent() {
        assert_eq!(
            for_agent("monty").map(|pack| pack.context_file),
            Some("MONTY.md")
        );
        assert_eq!(
            for_agent("angie").map(|pack| pack.language),
            Some("angular")
        );
        assert!(for_agent("goose").is_none());
    }
}
