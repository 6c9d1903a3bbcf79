//! Scanning a local tree: discover every module, read its `dagger-module.toml` or `dagger.json`,
//! collect its SDK sources
//! and run the matching extractor, one module per worker thread. A broken module never stops
//! the scan: it becomes `problems` on that module or an `errors` entry.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::dagger_json::{self, DaggerJson};
use super::discover::{self, Discovered, relative};
use super::extract::{Extraction, SourceText};
use super::model::{ConfigFormat, Module, Role, ScanError, ScanReport};
use super::{dang, go, java, modtree, module_toml, names, python, typescript, workspace};

/// Source files above this size are generated or data, not module code.
const MAX_SOURCE_BYTES: u64 = 2 * 1024 * 1024;

/// Scan every module under `root`. Paths in the report are relative to `root`; modules are
/// sorted by path.
pub fn scan_directory(root: &Path) -> ScanReport {
    let mut report = ScanReport::default();
    if !root.is_dir() {
        report.errors.push(ScanError {
            source: root.display().to_string(),
            message: "not a directory".to_string(),
        });
        return report;
    }
    let (found, errors) = discover::discover(root);
    report.errors = errors;
    let results = scan_all(root, &found);
    for result in results {
        match result {
            Ok(module) => report.modules.push(module),
            Err(error) => report.errors.push(error),
        }
    }
    report
        .modules
        .sort_by(|left, right| left.path.cmp(&right.path));
    match workspace::read_workspace(root) {
        Ok(found) => report.workspace = found,
        Err(error) => report.errors.push(ScanError {
            source: workspace::FILE_NAME.to_string(),
            message: error.to_string(),
        }),
    }
    report
}

fn scan_all(root: &Path, found: &[Discovered]) -> Vec<Result<Module, ScanError>> {
    let workers = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(found.len())
        .max(1);
    if workers == 1 {
        return found
            .iter()
            .map(|each| scan_module(root, &each.dir, each.role))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(found.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(each) = found.get(index) else {
                        break;
                    };
                    let result = scan_module(root, &each.dir, each.role);
                    if let Ok(mut results) = results.lock() {
                        results.push(result);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

/// Scan the module whose `dagger-module.toml` (first) or `dagger.json` is in `module_dir`. An
/// unreadable or unparseable config is an error (the module has no name to report it under).
pub fn scan_module(root: &Path, module_dir: &Path, role: Role) -> Result<Module, ScanError> {
    let path = relative(root, module_dir);
    let format = if module_dir.join(module_toml::FILE_NAME).is_file() {
        ConfigFormat::ModuleToml
    } else {
        ConfigFormat::DaggerJson
    };
    let config_path = module_dir.join(format.file_name());
    let display = if path.is_empty() {
        format.file_name().to_string()
    } else {
        format!("{path}/{}", format.file_name())
    };
    let text = std::fs::read_to_string(&config_path).map_err(|error| ScanError {
        source: display.clone(),
        message: format!("cannot read: {error}"),
    })?;
    let file = match format {
        ConfigFormat::DaggerJson => dagger_json::parse(&text).map_err(|error| ScanError {
            source: display.clone(),
            message: error.to_string(),
        })?,
        ConfigFormat::ModuleToml => module_toml::parse(&text)
            .map_err(|error| ScanError {
                source: display.clone(),
                message: error.to_string(),
            })?
            .to_dagger_json(),
    };
    Ok(module_from(root, module_dir, path, role, format, &file))
}

fn module_from(
    root: &Path,
    module_dir: &Path,
    path: String,
    role: Role,
    format: ConfigFormat,
    file: &DaggerJson,
) -> Module {
    let mut problems = Vec::new();
    let config_name = format.file_name();
    let name = if file.name.trim().is_empty() {
        problems.push(format!("{config_name} has no `name`"));
        module_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        file.name.clone()
    };
    if file.engine_version.is_none() {
        problems.push(format!("{config_name} has no `engineVersion`"));
    }
    let main_object = names::pascal_case(&name);
    let sdk = file.sdk_source().map(sdk_name);
    let mut extraction = Extraction::default();
    if let Some(sdk) = sdk.as_deref() {
        let source_dir = discover::source_dir(module_dir, file);
        if !source_dir.is_dir() {
            problems.push(format!(
                "the source directory `{}` does not exist",
                file.source_dir()
            ));
        } else {
            extraction = extract_sdk(root, sdk, &source_dir, &main_object, &mut problems);
        }
    }
    problems.append(&mut extraction.problems);
    let mut checks = Vec::new();
    for function in extraction
        .functions
        .iter()
        .filter(|function| function.check)
    {
        match required_names(&function.args) {
            None => checks.push(function.cli_name.clone()),
            Some(needs) => problems.push(format!(
                "check `{}` requires {needs}, so `dagger check` skips it",
                function.cli_name
            )),
        }
    }
    // Checks and generators on objects the main object's functions return (`test:lint`).
    let nested = modtree::nested(&main_object, &extraction.functions, &extraction.objects);
    checks.extend(nested.checks);
    if nested.truncated {
        problems.push(
            "its objects return each other through more paths than the scanner walks: some \
             nested checks may be missing"
                .to_string(),
        );
    }
    for (path, needs) in nested.skipped_checks {
        let needs: Vec<String> = needs.iter().map(|name| format!("`{name}`")).collect();
        problems.push(format!(
            "check `{path}` requires {}, so `dagger check` skips it",
            needs.join(", ")
        ));
    }
    checks.sort();
    checks.dedup();
    let mut generators: Vec<String> = extraction
        .functions
        .iter()
        .filter(|function| function.generate && required_names(&function.args).is_none())
        .map(|function| function.cli_name.clone())
        .chain(nested.generators)
        .collect();
    generators.sort();
    generators.dedup();
    // `dagger check` builds the main object with no arguments: a required constructor argument
    // keeps every check from running until a toolchain customization supplies it.
    if !checks.is_empty()
        && let Some(constructor_needs) = required_names(&extraction.constructor)
    {
        problems.push(format!(
            "the constructor requires {constructor_needs}, so `dagger check` cannot run the checks without a customization"
        ));
    }
    Module {
        name,
        path,
        repository: None,
        r#ref: None,
        version: None,
        pin: None,
        sdk,
        engine_version: file.engine_version.clone(),
        config_format: format,
        description: extraction.description,
        role,
        main_object,
        functions: extraction.functions,
        constructor: extraction.constructor,
        checks,
        generators,
        problems,
    }
}

fn required_names(arguments: &[super::model::Argument]) -> Option<String> {
    let required: Vec<String> = arguments
        .iter()
        .filter(|argument| argument.is_required())
        .map(|argument| format!("`{}`", argument.cli_name))
        .collect();
    (!required.is_empty()).then(|| required.join(", "))
}

/// The SDK's short name: `python` for `"python"`, `"../../sdk/python"` or
/// `"github.com/dagger/dagger/sdk/python@v0.20.3"`; other sources are kept as written.
pub fn sdk_name(source: &str) -> String {
    const KNOWN: &[&str] = &[
        "go",
        "python",
        "typescript",
        "java",
        "php",
        "elixir",
        "dang",
        "rust",
    ];
    let trimmed = source.trim();
    if KNOWN.contains(&trimmed) {
        return trimmed.to_string();
    }
    let without_ref = trimmed.split('@').next().unwrap_or(trimmed);
    // The nearest known segment from the end: `…/sdk/python`, `github.com/vito/dang/dagger-sdk`.
    without_ref
        .trim_end_matches('/')
        .rsplit('/')
        .map(str::to_ascii_lowercase)
        .find(|segment| KNOWN.contains(&segment.as_str()))
        .unwrap_or_else(|| trimmed.to_string())
}

/// An SDK extractor: the module's source files and the main object's name in, facts out.
type Extractor = fn(&[SourceText], &str) -> Extraction;

fn extract_sdk(
    root: &Path,
    sdk: &str,
    source_dir: &Path,
    main_object: &str,
    problems: &mut Vec<String>,
) -> Extraction {
    let (files, extractor): (Vec<PathBuf>, Extractor) = match sdk {
        "python" => {
            let src = source_dir.join("src");
            let files = if src.is_dir() {
                files_under(&src, &["py"], true)
            } else {
                files_under(source_dir, &["py"], false)
            };
            (files, python::extract)
        }
        "typescript" => {
            // The template keeps code in `<source>/src`; some modules point `source` at the code
            // directory itself.
            let src = source_dir.join("src");
            let dir = if src.is_dir() {
                src
            } else {
                source_dir.to_path_buf()
            };
            (
                files_under(&dir, &["ts", "mts"], true)
                    .into_iter()
                    .filter(|path| !path.to_string_lossy().ends_with(".d.ts"))
                    .collect(),
                typescript::extract,
            )
        }
        "go" => (
            files_under(source_dir, &["go"], false)
                .into_iter()
                .filter(|path| {
                    let name = path.file_name().map(|name| name.to_string_lossy());
                    name.is_some_and(|name| name != "dagger.gen.go" && !name.ends_with("_test.go"))
                })
                .collect(),
            go::extract,
        ),
        "java" => (
            files_under(
                &source_dir.join("src").join("main").join("java"),
                &["java"],
                true,
            ),
            java::extract,
        ),
        // A Dang module is every `.dang` file of its directory, one scope.
        "dang" => (files_under(source_dir, &["dang"], false), dang::extract),
        other => {
            // Not an oddity of the module: the scanner reads Python, TypeScript, Go and Java.
            tracing::debug!("functions of `{other}` SDK modules are not read");
            return Extraction::default();
        }
    };
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        let display = relative(root, &path);
        let size = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
        if size > MAX_SOURCE_BYTES {
            problems.push(format!(
                "{display}: not read: {size} bytes is over the scanner's limit of {MAX_SOURCE_BYTES} \
                 (its functions are missing from this module)"
            ));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push(SourceText::new(display, text)),
            Err(error) => problems.push(format!("{display}: cannot read: {error}")),
        }
    }
    // A Python project may name its main class through an entry point instead.
    let class_name = match sdk {
        "python" => python_entry_point(source_dir).unwrap_or_else(|| main_object.to_string()),
        _ => main_object.to_string(),
    };
    let extraction = extractor(&sources, &class_name);
    if !extraction.found_main {
        let mut problem = format!(
            "no main object `{class_name}` found in `{}`",
            relative(root, source_dir)
        );
        if let Some(hint) = missing_main_hint(sdk, &sources, &extraction, &class_name) {
            problem.push_str(": ");
            problem.push_str(&hint);
        }
        problems.push(problem);
    }
    extraction
}

/// Why the main object may be missing, when the sources show it: an object whose name differs
/// only in case or separators (`MkDocs` for `Mkdocs`), or Python's module-level `@function`s
/// (removed from the SDK in v0.13.6).
fn missing_main_hint(
    sdk: &str,
    sources: &[SourceText],
    extraction: &Extraction,
    class_name: &str,
) -> Option<String> {
    if let Some(near) = extraction
        .objects
        .keys()
        .find(|name| super::model::same_name(name, class_name))
    {
        return Some(format!(
            "there is `{near}`, but Dagger derives `{class_name}` from the module's name; \
             rename one of them"
        ));
    }
    if sdk == "python" {
        let top_level = sources.iter().find(|source| {
            source.text.lines().any(|line| {
                let line = line.trim_end();
                line == "@function" || line == "@dagger.function" || line.starts_with("@function(")
            })
        })?;
        return Some(format!(
            "`{}` declares `@function`s at module level, a style the Python SDK removed in v0.13.6; \
             current engines need them as methods of an `@object_type` class `{class_name}`",
            top_level.path
        ));
    }
    None
}

/// The class named by `[project.entry-points."dagger.mod"] main_object = "package:Class"` in
/// `pyproject.toml`, if there is one.
fn python_entry_point(source_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(source_dir.join("pyproject.toml")).ok()?;
    let document: toml::Table = toml::from_str(&text).ok()?;
    let target = document
        .get("project")?
        .get("entry-points")?
        .get("dagger.mod")?
        .get("main_object")?
        .as_str()?;
    let class = target.rsplit(':').next()?.trim();
    (!class.is_empty()).then(|| class.to_string())
}

/// Source files with one of `extensions` in `dir` (recursively when `recursive`), sorted, outside
/// generated and dependency directories.
fn files_under(dir: &Path, extensions: &[&str], recursive: bool) -> Vec<PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut walker = walkdir::WalkDir::new(dir);
    if !recursive {
        walker = walker.max_depth(1);
    }
    const SKIPPED: &[&str] = &[
        "sdk",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        "internal",
        ".git",
        "dist",
    ];
    discover::files_outside(walker, SKIPPED)
        .filter(|entry| {
            entry
                .path()
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| extensions.contains(&extension))
        })
        .map(|entry| entry.into_path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::test_support::write;

    #[test]
    fn an_oversized_source_file_is_a_problem_of_its_module() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(
            root,
            "big/dagger.json",
            r#"{"name":"big","engineVersion":"v0.20.8","sdk":{"source":"go"}}"#,
        );
        write(root, "big/main.go", "package main\n\ntype Big struct{}\n");
        let padding = "// padding\n".repeat((MAX_SOURCE_BYTES as usize / 11) + 10);
        write(root, "big/huge.go", &format!("package main\n{padding}"));
        let report = crate::scan::scan_directory(root);
        let module = &report.modules[0];
        assert!(
            module
                .problems
                .iter()
                .any(|problem| problem.contains("huge.go") && problem.contains("not read")),
            "{:?}",
            module.problems
        );
    }

    #[test]
    fn reports_odd_modules_and_keeps_scanning() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(
            root,
            "nameless/dagger.json",
            r#"{"engineVersion":"v0.20.8"}"#,
        );
        write(
            root,
            "moved/dagger.json",
            r#"{"name":"moved","engineVersion":"v0.20.8","sdk":{"source":"python"},"source":"ci"}"#,
        );
        write(
            root,
            "needs-token/dagger.json",
            r#"{"name":"needs-token","engineVersion":"v0.20.8","sdk":{"source":"go"}}"#,
        );
        write(
            root,
            "needs-token/main.go",
            "package main\n\ntype NeedsToken struct{}\n\nfunc New(token *dagger.Secret) *NeedsToken { return nil }\n\n// +check\nfunc (m *NeedsToken) Lint() error { return nil }\n",
        );
        write(
            root,
            "entry/dagger.json",
            r#"{"name":"entry","engineVersion":"v0.20.8","sdk":{"source":"python"}}"#,
        );
        write(
            root,
            "entry/pyproject.toml",
            "[project]\nname = \"entry\"\n\n[project.entry-points.\"dagger.mod\"]\nmain_object = \"entry_pkg:Renamed\"\n",
        );
        write(
            root,
            "entry/src/entry_pkg/main.py",
            "from dagger import check, function, object_type\n\n@object_type\nclass Renamed:\n    @function\n    @check\n    def lint(self) -> None: ...\n",
        );
        let report = scan_directory(root);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let problems: Vec<(&str, &[String])> = report
            .modules
            .iter()
            .map(|module| (module.name.as_str(), module.problems.as_slice()))
            .collect();
        assert_eq!(
            problems,
            [
                ("entry", &[][..]),
                (
                    "moved",
                    &["the source directory `ci` does not exist".to_string()][..]
                ),
                ("nameless", &["dagger.json has no `name`".to_string()][..]),
                (
                    "needs-token",
                    &["the constructor requires `token`, so `dagger check` cannot run the checks without a customization".to_string()][..]
                ),
            ]
        );
        assert_eq!(report.modules[0].checks, ["lint"]);
        assert_eq!(report.modules[0].main_object, "Entry");
    }

    #[test]
    fn finds_checks_on_the_objects_the_main_object_returns() {
        // `dagger check` walks into every argument-free function that returns another object of
        // the module, and names what it finds there by path (`python-312:unit`).
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(
            root,
            "go-sdk-dev/dagger-module.toml",
            "name = \"go-sdk-dev\"\nengineVersion = \"v0.21.0\"\n\n[runtime]\nsource = \"go\"\n",
        );
        write(
            root,
            "go-sdk-dev/main.go",
            "package main\n\ntype GoSdkDev struct{}\n\n// +check\nfunc (m *GoSdkDev) Lint() error { return nil }\n\nfunc (m *GoSdkDev) Go124() *Suite { return &Suite{} }\n\nfunc (m *GoSdkDev) Pick(version string) *Suite { return &Suite{} }\n\nfunc (m GoSdkDev) Self() *GoSdkDev { return &m }\n",
        );
        write(
            root,
            "go-sdk-dev/suite.go",
            "package main\n\ntype Suite struct{}\n\n// +check\nfunc (s *Suite) Unit(ctx context.Context) error { return nil }\n\n// +check\nfunc (s *Suite) One(name string) error { return nil }\n\n// +generate\nfunc (s *Suite) Golden() *dagger.Changeset { return nil }\n\nfunc (s *Suite) helper() error { return nil }\n",
        );
        write(
            root,
            "py-tools/dagger.json",
            r#"{"name":"py-tools","engineVersion":"v0.20.8","sdk":{"source":"python"}}"#,
        );
        write(
            root,
            "py-tools/src/py_tools/main.py",
            "import dagger\nfrom dagger import check, function, object_type\n\n@object_type\nclass Lints:\n    @function\n    @check\n    async def ruff(self) -> None: ...\n\n@object_type\nclass PyTools:\n    @function\n    def lints(self) -> Lints:\n        return Lints()\n\n    @function\n    def later(self) -> \"Later\":\n        return Later()\n\n@object_type\nclass Later:\n    @check\n    @function\n    def mypy_strict(self) -> None: ...\n",
        );
        write(
            root,
            "ts-kit/dagger.json",
            r#"{"name":"ts-kit","engineVersion":"v0.20.8","sdk":{"source":"typescript"}}"#,
        );
        write(
            root,
            "ts-kit/src/index.ts",
            "import { object, func, check } from \"@dagger.io/dagger\"\n\n@object()\nexport class Checks {\n  @check()\n  @func()\n  async formatFull(): Promise<void> {}\n}\n\n@object()\nexport class TsKit {\n  @func()\n  checks(): Checks {\n    return new Checks()\n  }\n}\n",
        );
        write(
            root,
            "dang-dev/dagger-module.toml",
            "name = \"dang-dev\"\nengineVersion = \"v0.21.6\"\n\n[runtime]\nsource = \"dang\"\n",
        );
        write(
            root,
            "dang-dev/main.dang",
            "type DangDev {\n  lint: Void @check {\n    null\n  }\n\n  pub suite: Suite! {\n    Suite(self)\n  }\n}\n\ntype Suite {\n  let dev: DangDev!\n\n  \"\"\"\n  Run the docs tests.\n  \"\"\"\n  docsGo: Container! @check {\n    dev.base\n  }\n\n  pub parent: DangDev! {\n    dev\n  }\n}\n",
        );
        write(
            root,
            "java-kit/dagger.json",
            r#"{"name":"java-kit","engineVersion":"v0.20.8","sdk":{"source":"java"}}"#,
        );
        write(
            root,
            "java-kit/src/main/java/io/dagger/modules/javakit/JavaKit.java",
            "package io.dagger.modules.javakit;\n\n@Object\npublic class JavaKit {\n  @Function\n  public Lints lints() { return new Lints(); }\n}\n",
        );
        write(
            root,
            "java-kit/src/main/java/io/dagger/modules/javakit/Lints.java",
            "package io.dagger.modules.javakit;\n\n@Object\npublic class Lints {\n  @Function\n  @Check\n  public void spotless() {}\n}\n",
        );
        let report = scan_directory(root);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let found: Vec<(&str, &[String], &[String])> = report
            .modules
            .iter()
            .map(|module| {
                (
                    module.name.as_str(),
                    module.checks.as_slice(),
                    module.generators.as_slice(),
                )
            })
            .collect();
        let strings = |items: &[&str]| {
            items
                .iter()
                .map(|item| item.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found,
            [
                (
                    "dang-dev",
                    &strings(&["lint", "suite:docs-go"])[..],
                    &[][..]
                ),
                (
                    "go-sdk-dev",
                    &strings(&["go-124:unit", "lint"])[..],
                    &strings(&["go-124:golden"])[..]
                ),
                ("java-kit", &strings(&["lints:spotless"])[..], &[][..]),
                (
                    "py-tools",
                    &strings(&["later:mypy-strict", "lints:ruff"])[..],
                    &[][..]
                ),
                ("ts-kit", &strings(&["checks:format-full"])[..], &[][..]),
            ]
        );
        // A nested check that needs an argument is named in the problems, as the main object's are.
        assert_eq!(
            report.modules[1].problems,
            ["check `go-124:one` requires `name`, so `dagger check` skips it"]
        );
    }

    #[test]
    fn a_missing_main_object_says_what_was_found_instead() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        // The struct differs from the module's name only in case: Dagger wants `Mkdocs`.
        write(
            root,
            "mkdocs/dagger.json",
            r#"{"name":"mkdocs","engineVersion":"v0.15.3","sdk":"go","source":"."}"#,
        );
        write(
            root,
            "mkdocs/main.go",
            "package main\n\ntype MkDocs struct{}\n\nfunc (m *MkDocs) Build() *dagger.Directory { return nil }\n",
        );
        // Module-level `@function`s: a style the Python SDK removed in v0.13.6.
        write(
            root,
            "weather/dagger.json",
            r#"{"name":"weather","sdk":"python","engineVersion":"v0.9.9"}"#,
        );
        write(
            root,
            "weather/src/main.py",
            "import dagger\nfrom dagger import function\n\n@function\ndef forecast(city: str) -> str:\n    return city\n",
        );
        let report = scan_directory(root);
        let problems: Vec<(&str, &[String])> = report
            .modules
            .iter()
            .map(|module| (module.name.as_str(), module.problems.as_slice()))
            .collect();
        assert_eq!(
            problems,
            [
                (
                    "mkdocs",
                    &["no main object `Mkdocs` found in `mkdocs`: there is `MkDocs`, but Dagger \
                       derives `Mkdocs` from the module's name; rename one of them"
                        .to_string()][..]
                ),
                (
                    "weather",
                    &["no main object `Weather` found in `weather`: `weather/src/main.py` declares \
                       `@function`s at module level, a style the Python SDK removed in v0.13.6; current \
                       engines need them as methods of an `@object_type` class `Weather`"
                        .to_string()][..]
                ),
            ]
        );
    }

    #[test]
    fn names_sdks_from_any_source_form() {
        assert_eq!(sdk_name("python"), "python");
        assert_eq!(sdk_name("../../sdk/java"), "java");
        assert_eq!(
            sdk_name("github.com/dagger/dagger/sdk/elixir@v0.20.3"),
            "elixir"
        );
        assert_eq!(
            sdk_name("github.com/someone/custom-sdk@main"),
            "github.com/someone/custom-sdk@main"
        );
    }
}
