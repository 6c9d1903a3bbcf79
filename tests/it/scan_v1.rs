//! The scanner on Dagger 1.0 layouts written for these tests (`tests/fixtures/scan/v1`): one
//! module per SDK (Go, Python, TypeScript, Dang) defined by `dagger-module.toml`, a directory
//! with both config files, and the project's `dagger.toml` and `dagger.lock`. Every module is
//! extracted exactly, and the scan JSON carries the 1.0 additions.

use std::path::{Path, PathBuf};

use agentci::scan::workspace::{self, check_directory};
use agentci::scan::{ConfigFormat, Function, Module, scan_directory};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan/v1")
}

/// A function in one line: `name(arg: Type? = default @path) -> Returns [check] [generate]`.
fn signature(function: &Function) -> String {
    let args: Vec<String> = function
        .args
        .iter()
        .map(|argument| {
            let mut text = format!("{}: {}", argument.cli_name, argument.r#type);
            if argument.optional {
                text.push('?');
            }
            if let Some(default) = &argument.default {
                text.push_str(&format!(" = {default}"));
            }
            if let Some(path) = &argument.default_path {
                text.push_str(&format!(" @{path}"));
            }
            text
        })
        .collect();
    let mut text = format!(
        "{}({}) -> {}",
        function.cli_name,
        args.join(", "),
        function.returns
    );
    if function.check {
        text.push_str(" [check]");
    }
    if function.generate {
        text.push_str(" [generate]");
    }
    text
}

fn module<'a>(modules: &'a [Module], path: &str) -> &'a Module {
    modules
        .iter()
        .find(|module| module.path == path)
        .unwrap_or_else(|| panic!("no module at `{path}`"))
}

fn signatures(module: &Module) -> Vec<String> {
    module.functions.iter().map(signature).collect()
}

#[test]
fn every_1_0_layout_is_extracted_exactly() {
    let report = scan_directory(&fixture());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let summary: Vec<(&str, &str, Option<&str>, ConfigFormat)> = report
        .modules
        .iter()
        .map(|module| {
            (
                module.path.as_str(),
                module.name.as_str(),
                module.sdk.as_deref(),
                module.config_format,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("both", "both", Some("dang"), ConfigFormat::ModuleToml),
            (
                "dang-docs",
                "dang-docs",
                Some("dang"),
                ConfigFormat::ModuleToml
            ),
            ("go-lint", "go-lint", Some("go"), ConfigFormat::ModuleToml),
            (
                "py-test",
                "py-test",
                Some("python"),
                ConfigFormat::ModuleToml
            ),
            (
                "ts-lint",
                "ts-lint",
                Some("typescript"),
                ConfigFormat::ModuleToml
            ),
        ]
    );
    for each in &report.modules {
        assert!(
            each.problems.is_empty(),
            "{}: {:?}",
            each.path,
            each.problems
        );
        assert_eq!(each.engine_version.as_deref(), Some("v1.0.0-beta.10"));
    }

    let go = module(&report.modules, "go-lint");
    assert_eq!(go.main_object, "GoLint");
    assert_eq!(
        go.description.as_deref(),
        Some("Go checks that read the workspace they are installed in.")
    );
    assert_eq!(
        signatures(go),
        [
            "lint(ws: Workspace?) -> Void [check]",
            "fmt(ws: Workspace?) -> Changeset [generate]",
            "build(ws: Workspace?, go-version: String? = \"1.25\") -> Container",
        ]
    );
    assert_eq!(
        (go.checks.as_slice(), go.generators.as_slice()),
        (&["lint".to_string()][..], &["fmt".to_string()][..])
    );

    let python = module(&report.modules, "py-test");
    assert_eq!(
        python.description.as_deref(),
        Some("Run pytest and keep uv.lock fresh.")
    );
    assert_eq!(
        signatures(python),
        [
            "test(ws: Workspace?, markers: String? = \"not slow\") -> Void [check]",
            "lock(ws: Workspace?) -> Changeset [generate]",
        ]
    );
    assert_eq!(
        python.functions[0].args[1].doc.as_deref(),
        Some("pytest -m expression")
    );
    assert_eq!(python.checks, ["test"]);
    assert_eq!(python.generators, ["lock"]);

    let typescript = module(&report.modules, "ts-lint");
    assert_eq!(
        signatures(typescript),
        [
            "lint(ws: Workspace?) -> Void [check]",
            "format(ws: Workspace?) -> Changeset [generate]",
            "audit(ws: Workspace?, level: String? = \"high\") -> String [check]",
        ]
    );
    assert_eq!(typescript.checks, ["audit", "lint"]);
    assert_eq!(typescript.generators, ["format"]);

    let dang = module(&report.modules, "dang-docs");
    assert_eq!(dang.main_object, "DangDocs");
    assert_eq!(
        dang.description.as_deref(),
        Some("Lint and format the Markdown files of a workspace.")
    );
    assert_eq!(
        signatures(dang),
        [
            "lint(ws: Workspace?) -> Void [check]",
            "fix(ws: Workspace?) -> Changeset [generate]",
            "lint-dir(dir: Directory? @/docs, config: String? = \".markdownlint.yaml\", strict: Boolean?) -> Void [check]",
        ]
    );
    assert_eq!(
        dang.functions[0].doc.as_deref(),
        Some("Lint the Markdown files.")
    );
    assert_eq!(
        dang.functions[2].args[0].doc.as_deref(),
        Some("The directory to lint")
    );
    assert_eq!(dang.checks, ["lint", "lint-dir"]);
    assert_eq!(dang.generators, ["fix"]);
    let constructor: Vec<(&str, Option<&str>)> = dang
        .constructor
        .iter()
        .map(|argument| (argument.name.as_str(), argument.default.as_deref()))
        .collect();
    assert_eq!(constructor, [("version", Some("\"latest\""))]);

    // `dagger-module.toml` wins over a `dagger.json` in the same directory: one module.
    let both = module(&report.modules, "both");
    assert_eq!(both.checks, ["ok"]);
}

#[test]
fn the_scan_json_carries_the_workspace_and_the_1_0_fields() {
    let report = scan_directory(&fixture());
    let json = serde_json::to_value(&report).unwrap();
    let dang = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == "dang-docs")
        .unwrap();
    assert_eq!(dang["config_format"], "dagger-module.toml");
    assert_eq!(dang["sdk"], "dang");
    assert_eq!(dang["generators"], serde_json::json!(["fix"]));
    assert_eq!(dang["functions"][1]["generate"], true);
    assert_eq!(dang["functions"][0]["args"][0]["type"], "Workspace");
    // Existing fields are unchanged: a non-generator carries no `generate` key.
    assert!(dang["functions"][0].get("generate").is_none());

    let workspace = &json["workspace"];
    assert_eq!(workspace["path"], "");
    assert_eq!(workspace["check_generated"], true);
    let names: Vec<&str> = workspace["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|module| module["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dang-docs", "go-lint", "py-test", "ts-lint"]);
    let ts = &workspace["modules"][3];
    assert_eq!(ts["source"], "github.com/example/ts-lint@v1.2.0");
    assert_eq!(ts["pin"], "4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b");
    assert_eq!(ts["check_skip"], serde_json::json!(["audit"]));
    assert_eq!(
        workspace["modules"][2]["settings"]["markers"],
        "not slow and not network"
    );
    assert_eq!(workspace["modules"][0]["legacy_default_path"], true);
    assert_eq!(workspace["environments"][0]["name"], "ci");
    assert_eq!(
        workspace["environments"][0]["modules"][0]["settings"]["version"],
        "0.39.0"
    );
    assert_eq!(workspace["lock"]["version"], "2");
    assert_eq!(workspace["lock"]["entries"], 2);
    assert_eq!(workspace["lock"]["operations"]["git.ref"], 1);

    // A directory without `dagger.toml` has no `workspace` key at all.
    let legacy = scan_directory(&fixture().join("go-lint"));
    let json = serde_json::to_value(&legacy).unwrap();
    assert!(json.get("workspace").is_none());
}

#[test]
fn check_names_map_to_the_workspace_directory_that_installed_them() {
    let root = fixture();
    assert_eq!(check_directory(&root, "dang-docs:lint"), Some(root.clone()));
    assert_eq!(check_directory(&root, "ts-lint:audit"), Some(root.clone()));
    assert_eq!(check_directory(&root, "missing:lint"), None);
    let (config, lock) = workspace::read_config(&root).unwrap().unwrap();
    assert_eq!(config.modules.len(), 4);
    assert_eq!(lock.unwrap().entries.len(), 2);
}
