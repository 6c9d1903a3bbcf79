//! daggie for Dagger 1.0: `assist --dagger-version 1.0.0` on the example monorepo writes
//! `dagger.toml` workspaces (valid against Dagger's vendored workspace schema) and no
//! `dagger.json`, scoped per directory, with the workflow pinned to 1.x; `--check` agrees; and
//! `daggie migrate --dry-run` keeps every per-check path of the article's `dagger.json`.

use crate::support::copy_tree;
use std::path::{Path, PathBuf};
use std::process::Command;

use agentci::agents::daggie::ModuleSource;
use agentci::cli::GlobalOptions;
use agentci::cli::daggie::{AssistArgs, assist};
use agentci::exit::Exit;
use agentci::scan::ScanReport;
use agentci::scan::workspace;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    repository().join("tests/fixtures/dagger1")
}

/// The catalog `examples/modules` would give once published with tags and pins.
fn library_scanner(_: &ModuleSource) -> anyhow::Result<ScanReport> {
    let text = std::fs::read_to_string(repository().join("tests/fixtures/daggie/library.json"))?;
    Ok(serde_json::from_str(&text)?)
}

fn args(source: &Path, dagger_version: &str) -> AssistArgs {
    AssistArgs {
        assignment: None,
        assignment_file: Some(source.join("daggie-assignment.md")),
        stdin: None,
        source: source.to_path_buf(),
        module_urls: vec!["https://github.com/example-org/dagger-modules.git".to_string()],
        offline: true,
        dry_run: false,
        check: false,
        engine_version: None,
        dagger_version: dagger_version.to_string(),
        action_version: Some("v8.4.1".to_string()),
        default_branch: "main".to_string(),
        force: false,
        private_modules: None,
        verify_fixes: false,
        looked_up: None,
    }
}

/// Validate a `dagger.toml` against Dagger's published schema, converted to JSON.
fn assert_valid_workspace(text: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("dagger-workspace.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let document: toml::Table = toml::from_str(text).unwrap();
    let instance = serde_json::to_value(&document).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{text}");
}

#[test]
fn the_schema_rejects_what_dagger_rejects() {
    // The validation is real: a toolchain-style key and a module without `source` fail.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("dagger-workspace.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&serde_json::json!({"toolchains": []})));
    assert!(!validator.is_valid(&serde_json::json!({"modules": {"x": {"pin": "abc"}}})));
    assert!(validator.is_valid(&serde_json::json!({"modules": {"x": {"source": "./x"}}})));
}

#[test]
fn assist_for_dagger_1_writes_per_directory_workspaces_and_no_dagger_json() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &project);
    let global = GlobalOptions::default();
    let mut out = Vec::new();
    let exit = assist(
        &args(&project, "1.0.0"),
        &global,
        &library_scanner,
        None,
        &mut out,
    )
    .unwrap();
    assert_eq!(exit, Exit::Done);
    let printed = String::from_utf8_lossy(&out).into_owned();
    assert!(!project.join("dagger.json").exists(), "{printed}");

    let mut written: Vec<String> = workspace::find_workspaces(&project)
        .into_iter()
        .map(|(dir, _)| {
            dir.strip_prefix(&project)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    assert_eq!(written, ["backend", "frontend"], "{printed}");
    for directory in &written {
        let text = std::fs::read_to_string(project.join(directory).join("dagger.toml")).unwrap();
        assert_valid_workspace(&text);
    }

    // The backend's checks apply to backend/, the frontend's to frontend/.
    let backend =
        workspace::parse(&std::fs::read_to_string(project.join("backend/dagger.toml")).unwrap())
            .unwrap();
    let frontend =
        workspace::parse(&std::fs::read_to_string(project.join("frontend/dagger.toml")).unwrap())
            .unwrap();
    assert!(
        backend.modules.contains_key("python-service"),
        "{backend:?}"
    );
    assert!(!backend.modules.contains_key("angular-app"));
    assert!(frontend.modules.contains_key("angular-app"), "{frontend:?}");
    assert!(!frontend.modules.contains_key("python-service"));
    for entry in backend.modules.values().chain(frontend.modules.values()) {
        // The example modules read the repository through `+defaultPath`.
        assert_eq!(entry.legacy_default_path, Some(true));
        // Each module is pinned.
        assert!(entry.source.contains('@'), "{entry:?}");
        assert_eq!(entry.pin.as_ref().map(String::len), Some(40), "{entry:?}");
    }
    assert_eq!(
        workspace::check_directory(&project, "python-service:test"),
        Some(project.join("backend"))
    );
    assert_eq!(
        workspace::check_directory(&project, "angular-app:lint"),
        Some(project.join("frontend"))
    );

    // The workflow pins Dagger 1.0.0 and runs `dagger check` in each workspace.
    let workflow = std::fs::read_to_string(project.join(".github/workflows/ci.yml")).unwrap();
    let document: serde_json::Value = yaml_serde::from_str(&workflow).unwrap();
    let steps = document["jobs"]["check"]["steps"].as_array().unwrap();
    let install = steps
        .iter()
        .find(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.starts_with("dagger/dagger-for-github@"))
        })
        .unwrap();
    assert_eq!(install["with"]["version"], "1.0.0", "{workflow}");
    let run = steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .find(|run| run.contains("cd backend &&"))
        .unwrap();
    assert!(
        run.contains("(cd backend && dagger --progress=report check)"),
        "{run}"
    );
    assert!(
        run.contains("(cd frontend && dagger --progress=report check)"),
        "{run}"
    );
    assert!(printed.contains("dagger update"), "{printed}");

    // `--check` on the result exits 0; a hand edit of a workspace makes it exit 1.
    let mut check = args(&project, "1.0.0");
    check.check = true;
    let mut out = Vec::new();
    assert_eq!(
        assist(&check, &global, &library_scanner, None, &mut out).unwrap(),
        Exit::Done
    );
    let backend_file = project.join("backend/dagger.toml");
    let edited = std::fs::read_to_string(&backend_file)
        .unwrap()
        .replace("check-generated = true", "check-generated = false");
    std::fs::write(&backend_file, edited).unwrap();
    let mut out = Vec::new();
    assert!(assist(&check, &global, &library_scanner, None, &mut out).is_err());
    assert!(String::from_utf8_lossy(&out).contains("backend/dagger.toml: stale"));
}

#[test]
fn assist_for_dagger_0_still_writes_dagger_json() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &project);
    let mut out = Vec::new();
    assist(
        &args(&project, "0.20.3"),
        &GlobalOptions::default(),
        &library_scanner,
        None,
        &mut out,
    )
    .unwrap();
    assert!(project.join("dagger.json").is_file());
    assert!(!project.join("dagger.toml").exists());
    assert!(!project.join("backend/dagger.toml").exists());
}

fn agentci(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentci"))
        .args(args)
        .env_remove("AGENTCI_LOG")
        .output()
        .unwrap()
}

#[test]
fn migrate_dry_run_keeps_every_per_check_path_of_the_article() {
    let temp = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("article"), temp.path());
    let source = temp.path().to_str().unwrap();
    let output = agentci(&["daggie", "migrate", "--dry-run", "--source", source]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    // Nothing written.
    assert!(!temp.path().join("backend/dagger.toml").exists());
    assert!(!temp.path().join("dagger.toml").exists());

    // Every customization's path survives as the directory of the workspace that installs it.
    let files: Vec<(&str, &str)> = printed
        .split("==> ")
        .skip(1)
        .map(|chunk| {
            let (path, rest) = chunk.split_once(" <==\n").unwrap();
            let body = rest.split("\nNot expressible").next().unwrap();
            let body = body.split("\nNotes:").next().unwrap();
            (path, body)
        })
        .collect();
    let paths: Vec<&str> = files.iter().map(|(path, _)| *path).collect();
    assert_eq!(
        paths,
        ["backend/dagger.toml", "frontend/dagger.toml"],
        "{printed}"
    );
    for (_, body) in &files {
        assert_valid_workspace(body);
    }
    let backend = workspace::parse(files[0].1).unwrap();
    let frontend = workspace::parse(files[1].1).unwrap();
    let names = |config: &workspace::WorkspaceConfig| -> Vec<String> {
        config.modules.keys().cloned().collect()
    };
    assert_eq!(names(&backend), ["acme-backend", "acme-deploy"]);
    assert_eq!(names(&frontend), ["acme-frontend"]);
    assert_eq!(
        backend.modules["acme-backend"].source,
        "github.com/telchak/acme-dagger-modules/acme-backend@acme-backend/v1.0.0"
    );
    assert!(
        printed.contains("# acme-backend: lint, test read /backend"),
        "{printed}"
    );
    assert!(
        printed.contains("# acme-deploy: scan reads /backend"),
        "{printed}"
    );
    assert!(
        printed.contains("# acme-frontend: audit, lint, test read /frontend"),
        "{printed}"
    );
    assert!(!printed.contains("Not expressible"), "{printed}");

    // Without --dry-run the same files are written, and a second run changes nothing.
    let output = agentci(&["daggie", "migrate", "--source", source]);
    assert!(output.status.success(), "{output:?}");
    // The dry run prints each file followed by a blank line.
    assert_eq!(
        std::fs::read_to_string(temp.path().join("backend/dagger.toml")).unwrap() + "\n",
        files[0].1
    );
    let output = agentci(&["daggie", "migrate", "--source", source]);
    assert!(output.status.success(), "{output:?}");
}

/// Re-running daggie for Dagger 1.x keeps what a person added to a generated `dagger.toml`: a
/// module of their own, a setting, `generate` skips, an `[env.*]` overlay and unknown keys.
#[test]
fn regenerating_workspaces_keeps_hand_edits() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &project);
    let global = GlobalOptions::default();
    let run = |out: &mut Vec<u8>| {
        assist(
            &args(&project, "1.0.0"),
            &global,
            &library_scanner,
            None,
            out,
        )
        .unwrap()
    };
    assert_eq!(run(&mut Vec::new()), Exit::Done);
    let file = project.join("backend/dagger.toml");
    let generated = std::fs::read_to_string(&file).unwrap();
    let edited = format!(
        "{generated}\n# Ours: keep fast mode on in CI.\n[modules.python-service.settings]\nfastMode = true\n\n         [modules.python-service.generate]\nskip = [\"docs\"]\n\n         [modules.my-linter]\nsource = \"github.com/me/my-linter@v1.0.0\" # our fork\n\n         [env.ci]\n[env.ci.modules.my-linter.settings]\nstrict = true\n"
    );
    workspace::parse(&edited).unwrap();
    std::fs::write(&file, &edited).unwrap();

    let mut out = Vec::new();
    assert_eq!(run(&mut out), Exit::Done);
    let text = std::fs::read_to_string(&file).unwrap();
    // Nothing daggie owns changed, so the file is the person's, byte for byte: comments included.
    assert_eq!(text, edited);
    let merged = workspace::parse(&text).unwrap();
    let printed = String::from_utf8_lossy(&out);
    assert!(merged.modules.contains_key("my-linter"), "{printed}");
    let service = &merged.modules["python-service"];
    assert_eq!(
        service.settings.get("fastMode"),
        Some(&toml::Value::Boolean(true))
    );
    assert_eq!(
        service.generate.as_ref().map(|skip| skip.skip.clone()),
        Some(vec!["docs".to_string()])
    );
    assert!(merged.env.contains_key("ci"), "{merged:?}");
    // daggie's own values are still its own, and the merged file is what `--check` expects.
    assert!(service.source.contains("python-service@"), "{service:?}");
    let mut check = args(&project, "1.0.0");
    check.check = true;
    assert_eq!(
        assist(&check, &global, &library_scanner, None, &mut Vec::new()).unwrap(),
        Exit::Done
    );
}

#[test]
fn migrate_reports_what_has_no_workspace_equivalent() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(
        temp.path().join("dagger.json"),
        r#"{"name":"app","engineVersion":"v0.20.3","toolchains":[{"name":"lint","source":"github.com/acme/lint@v1","ignoreChecks":["slow"],
            "customizations":[{"argument":"version","default":"2"},
                              {"function":["check"],"argument":"level","default":"high"},
                              {"function":["check"],"argument":"source","defaultPath":"/","ignore":["node_modules"]}]}]}"#,
    )
    .unwrap();
    let output = agentci(&[
        "daggie",
        "migrate",
        "--dry-run",
        "--source",
        temp.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("==> dagger.toml <=="), "{printed}");
    assert!(printed.contains("version = \"2\""), "{printed}");
    assert!(printed.contains("skip = [\"slow\"]"), "{printed}");
    assert!(printed.contains("Not expressible"), "{printed}");
    assert!(printed.contains("`check` argument `level`"), "{printed}");
    assert!(printed.contains("`ignore` patterns"), "{printed}");

    let empty = tempfile::tempdir().unwrap();
    let output = agentci(&[
        "daggie",
        "migrate",
        "--source",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
