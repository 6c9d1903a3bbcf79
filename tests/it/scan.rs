//! The module scanner against fixture libraries written for these tests: the JSON contract
//! (CONTRACTS §4.1) as a snapshot, the acme library's exact checks and arguments, the
//! `dagger.json` writer on real files, and `agentci modules scan` end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use agentci::scan::dagger_json;
use agentci::scan::{Role, ScanReport, scan_directory};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan")
}

fn agentci(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentci"))
        .args(args)
        .env_remove("AGENTCI_LOG")
        .output()
        .unwrap()
}

#[test]
fn library_scan_matches_the_json_contract() {
    let report = scan_directory(&fixtures().join("library"));
    insta::assert_json_snapshot!("library_scan", report);
}

#[test]
fn library_scan_reports_roles_problems_and_errors() {
    let report = scan_directory(&fixtures().join("library"));
    let paths: Vec<(&str, Role)> = report
        .modules
        .iter()
        .map(|module| (module.path.as_str(), module.role))
        .collect();
    assert_eq!(
        paths,
        [
            ("broken-syntax", Role::Module),
            ("examples/hello", Role::Example),
            ("go-multi", Role::Module),
            ("java-module", Role::Module),
            ("legacy-go", Role::Module),
            ("python-checks", Role::Module),
            ("python-checks/tests", Role::Test),
            ("toolchain-host", Role::Module),
            ("ts-classes", Role::Module),
        ]
    );
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].source, "broken-json/dagger.json");
    assert!(report.errors[0].message.contains("line 7"));

    let module = |path: &str| {
        report
            .modules
            .iter()
            .find(|module| module.path == path)
            .unwrap()
    };
    // A syntax error is reported, and what parsed is still listed.
    let broken = module("broken-syntax");
    assert_eq!(broken.checks, ["fine"]);
    assert!(broken.problems[0].ends_with("syntax error"));
    // A check with a required argument is not something `dagger check` runs.
    let python = module("python-checks");
    assert_eq!(python.checks, ["lint", "unit-tests"]);
    assert!(python.function("deploy-check").unwrap().check);
    assert_eq!(
        python.problems,
        ["check `deploy-check` requires `token`, so `dagger check` skips it"]
    );
    // Generated code (`dagger.gen.go`) is not the module's code.
    let go = module("go-multi");
    assert!(go.function("GeneratedOnly").is_none());
    assert_eq!(go.checks, ["lint", "test"]);
    // `"source": ".dagger"`, several classes, and the generated `sdk/` skipped.
    let typescript = module("ts-classes");
    assert_eq!(typescript.main_object, "TsClasses");
    assert!(typescript.function("notMain").is_none());
    assert_eq!(typescript.checks, ["lint", "test"]);
    assert!(
        report
            .modules
            .iter()
            .all(|module| module.name != "generated-sdk-must-be-skipped")
    );
    let legacy = module("legacy-go");
    assert_eq!(legacy.sdk.as_deref(), Some("go"));
    assert_eq!(
        legacy.function("hello").unwrap().args[0].default.as_deref(),
        Some("\"world\"")
    );
    let host = module("toolchain-host");
    assert_eq!(host.sdk, None);
    assert!(host.functions.is_empty() && host.problems.is_empty());
}

#[test]
fn acme_library_scans_to_exactly_its_checks_and_arguments() {
    let report = scan_directory(&fixtures().join("acme"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let summary: Vec<(&str, &str, Vec<&str>)> = report
        .modules
        .iter()
        .map(|module| {
            (
                module.name.as_str(),
                module.main_object.as_str(),
                module.checks.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("acme-backend", "AcmeBackend", vec!["lint", "test"]),
            ("acme-deploy", "AcmeDeploy", vec!["scan"]),
            (
                "acme-frontend",
                "AcmeFrontend",
                vec!["audit", "lint", "test"]
            ),
        ]
    );
    for module in &report.modules {
        assert!(
            module.problems.is_empty(),
            "{}: {:?}",
            module.name,
            module.problems
        );
        assert_eq!(module.sdk.as_deref(), Some("python"));
        assert_eq!(module.engine_version.as_deref(), Some("v0.20.3"));
        assert_eq!(module.role, Role::Module);
        for check in &module.checks {
            let function = module.function(check).unwrap();
            let directories: Vec<_> = function
                .args
                .iter()
                .filter(|argument| argument.r#type == "Directory")
                .collect();
            assert_eq!(directories.len(), 1, "{}:{check}", module.name);
            assert_eq!(directories[0].name, "source");
            assert_eq!(directories[0].default_path.as_deref(), Some("."));
            assert!(directories[0].optional);
        }
    }
    let backend = &report.modules[0];
    assert_eq!(
        backend.description.as_deref(),
        Some("Build, test and lint the ACME Python backend.")
    );
    let test = backend.function("test").unwrap();
    assert_eq!(test.returns, "String");
    assert_eq!(
        test.argument("coverage").unwrap().default.as_deref(),
        Some("true")
    );
    assert_eq!(
        test.argument("source").unwrap().doc.as_deref(),
        Some("Python backend source directory")
    );
    let build = backend.function("build").unwrap();
    assert_eq!(build.returns, "Container");
    assert!(build.argument("source").unwrap().is_required());
    assert_eq!(
        build.argument("port").unwrap().default.as_deref(),
        Some("8080")
    );
    assert_eq!(backend.function("sbom").unwrap().returns, "File");

    let deploy = &report.modules[1];
    assert_eq!(
        deploy
            .function("scan")
            .unwrap()
            .argument("port")
            .unwrap()
            .default
            .as_deref(),
        Some("8080")
    );
    let cloud_run = deploy.function("cloud-run").unwrap();
    assert_eq!(cloud_run.name, "cloud_run");
    assert!(!cloud_run.check);
    let required: Vec<&str> = cloud_run
        .required_args()
        .map(|a| a.cli_name.as_str())
        .collect();
    assert_eq!(required, ["source", "service-name", "team", "project-id"]);
    let token = cloud_run.argument("oidc-request-token").unwrap();
    assert_eq!((token.r#type.as_str(), token.optional), ("Secret", true));
    assert_eq!(
        cloud_run.argument("region").unwrap().default.as_deref(),
        Some("\"europe-west1\"")
    );
    assert_eq!(
        cloud_run
            .argument("disable-invoker-iam-check")
            .unwrap()
            .default
            .as_deref(),
        Some("false")
    );
    assert_eq!(cloud_run.args.len(), 14);
    let firebase = deploy.function("firebase").unwrap();
    let required: Vec<&str> = firebase
        .required_args()
        .map(|a| a.cli_name.as_str())
        .collect();
    assert_eq!(required, ["source", "service-name", "team", "project-id"]);
    assert_eq!(firebase.args.len(), 9);

    let frontend = &report.modules[2];
    assert_eq!(frontend.function("build").unwrap().returns, "Directory");
}

#[test]
fn every_fixture_dagger_json_round_trips_through_the_writer() {
    for entry in walkdir::WalkDir::new(fixtures()) {
        let entry = entry.unwrap();
        if entry.file_name() != "dagger.json" {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let Ok(file) = dagger_json::parse(&text) else {
            assert!(entry.path().to_string_lossy().contains("broken-json"));
            continue;
        };
        let written = dagger_json::to_string_pretty(&file);
        assert!(written.ends_with("}\n"));
        let reread = dagger_json::parse(&written).unwrap();
        // Writing is strict: `exclude` becomes `include`, the rest survives as it was.
        assert_eq!(reread.name, file.name);
        assert_eq!(reread.sdk, file.sdk);
        assert_eq!(reread.dependencies, file.dependencies);
        assert_eq!(reread.toolchains, file.toolchains);
        assert_eq!(reread.effective_include(), file.effective_include());
        assert_eq!(dagger_json::to_string_pretty(&reread), written);
        if file.sdk.is_some() {
            assert!(written.contains("\"sdk\": {"), "{written}");
        }
    }
}

#[test]
fn cli_prints_the_report_as_json() {
    let root = fixtures().join("acme");
    let output = agentci(&["modules", "scan", root.to_str().unwrap(), "--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: ScanReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, scan_directory(&root));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let first = &value["modules"][0];
    // Field names and optional keys as CONTRACTS §4.1 has them.
    assert_eq!(first["main_object"], "AcmeBackend");
    assert_eq!(first["engine_version"], "v0.20.3");
    assert!(first.get("repository").is_none());
    assert!(
        first["functions"][1]["args"][0]
            .get("default_path")
            .is_some()
    );
}

#[test]
fn cli_prints_a_table_per_source() {
    let root = fixtures();
    let output = Command::new(env!("CARGO_BIN_EXE_agentci"))
        .current_dir(&root)
        .args(["modules", "scan", "acme", "library"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("scan_table", String::from_utf8(output.stdout).unwrap());
}

#[test]
fn cli_rejects_a_missing_source_with_exit_2() {
    let output = agentci(&["modules", "scan", "/nonexistent/agentci-scan-source"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("source `/nonexistent/agentci-scan-source` does not exist"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
