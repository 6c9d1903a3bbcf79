//! `daggie assist` end to end on hand-built catalogs: the example monorepo with a catalog that
//! mirrors `examples/modules`, and a library shaped like the seed article's.

use crate::support::copy_tree;
use std::path::{Path, PathBuf};

use agentci::agents::daggie::plan::{Customization, DeployStep, Plan, Proposal, ToolchainPlan};
use agentci::agents::daggie::render::RenderOptions;
use agentci::agents::daggie::{
    AssistOptions, FileStatus, ModuleSource, OutputMode, PlanInput, offline_planner, run_assist,
};
use agentci::cli::GlobalOptions;
use agentci::cli::daggie::{AssistArgs, assist};
use agentci::cli::exit_for;
use agentci::exit::Exit;
use agentci::scan::{Argument, Function, Module, Role, ScanReport};
use pretty_assertions::assert_eq;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The catalog `examples/modules` would give once published with tags and pins.
fn example_library() -> ScanReport {
    let text = std::fs::read_to_string(repository().join("tests/fixtures/daggie/library.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture parses as a scan report")
}

/// A writable copy of `examples/monorepo`, under the same directory name (the project name in
/// `dagger.json` comes from it).
struct ExampleProject {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

impl ExampleProject {
    fn path(&self) -> &Path {
        &self.root
    }
}

fn example_project() -> ExampleProject {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &root);
    ExampleProject { _temp: temp, root }
}

fn example_assignment() -> String {
    std::fs::read_to_string(repository().join("examples/monorepo/daggie-assignment.md")).unwrap()
}

fn options(source: &Path, mode: OutputMode) -> AssistOptions {
    AssistOptions {
        assignment: example_assignment(),
        source: source.to_path_buf(),
        module_urls: vec!["https://github.com/example-org/dagger-modules.git".to_string()],
        mode,
        render: RenderOptions::default(),
        force: false,
        notes: Vec::new(),
    }
}

/// A dry run of the offline planner on `root` asked for every check, with `scanner` as the
/// library (`github.com/corp/dagger-modules`).
fn run_every_check(
    root: PathBuf,
    scanner: &dyn Fn(&ModuleSource) -> anyhow::Result<ScanReport>,
) -> agentci::agents::daggie::AssistReport {
    let options = AssistOptions {
        assignment: "Set up CI: run every check on pull requests.".to_string(),
        source: root,
        module_urls: vec!["https://github.com/corp/dagger-modules.git".to_string()],
        mode: OutputMode::DryRun,
        render: RenderOptions::default(),
        force: false,
        notes: Vec::new(),
    };
    run_assist(&options, scanner, &offline_planner).unwrap()
}

/// A scan that found `modules` and nothing wrong.
fn library_of(modules: Vec<Module>) -> anyhow::Result<ScanReport> {
    Ok(ScanReport {
        modules,
        errors: Vec::new(),
        workspace: None,
    })
}

fn library_scanner(source: &ModuleSource) -> anyhow::Result<ScanReport> {
    assert_eq!(
        source,
        &ModuleSource::Git("https://github.com/example-org/dagger-modules.git".to_string())
    );
    Ok(example_library())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn example_monorepo_gets_the_expected_dagger_json_and_workflow() {
    let project = example_project();
    let report = run_assist(
        &options(project.path(), OutputMode::Write),
        &library_scanner,
        &offline_planner,
    )
    .unwrap();
    let dagger_json = read(&project.path().join("dagger.json"));
    let workflow = read(&project.path().join(".github/workflows/ci.yml"));
    insta::assert_snapshot!("example_dagger_json", dagger_json);
    insta::assert_snapshot!("example_ci_yml", workflow);

    // The workflow shipped in examples/ is exactly what daggie generates.
    let shipped = repository().join("examples/workflows/ci.yml");
    if std::env::var_os("AGENTCI_UPDATE_EXAMPLES").is_some() {
        std::fs::create_dir_all(shipped.parent().unwrap()).unwrap();
        std::fs::write(&shipped, &workflow).unwrap();
    }
    assert_eq!(read(&shipped), workflow);

    assert_eq!(report.engine_version, "v0.20.3");
    assert_eq!(
        report.variables,
        vec!["PROJECT", "SERVICE_ACCOUNT", "WORKLOAD_IDENTITY_PROVIDER"]
    );
    assert_eq!(report.secrets, vec!["ANTHROPIC_API_KEY", "GITHUB_TOKEN"]);
    assert!(
        report
            .files
            .iter()
            .all(|file| file.status == FileStatus::Written)
    );
    let summary = report.summary();
    insta::assert_snapshot!("example_summary", summary);
    assert!(
        summary.contains("check `gcp-deploy:scan` → `/backend`"),
        "{summary}"
    );
    assert!(
        summary.contains("Set these repository variables"),
        "{summary}"
    );
    assert!(summary.contains("Context files: DAGGER.md"), "{summary}");

    // Regenerating changes nothing.
    let again = run_assist(
        &options(project.path(), OutputMode::Write),
        &library_scanner,
        &offline_planner,
    )
    .unwrap();
    assert!(
        again
            .files
            .iter()
            .all(|file| file.status == FileStatus::Unchanged)
    );
}

#[test]
fn generated_workflow_parses_back_with_the_expected_structure() {
    let project = example_project();
    let report = run_assist(
        &options(project.path(), OutputMode::Check),
        &library_scanner,
        &offline_planner,
    )
    .unwrap();
    let workflow = report.rendered.unwrap().workflow;
    let document: serde_json::Value = yaml_serde::from_str(&workflow).unwrap();

    assert!(document["on"]["pull_request"].is_null());
    assert!(document["on"].get("pull_request").is_some());
    assert_eq!(
        document["on"]["push"]["branches"],
        serde_json::json!(["main"])
    );
    assert_eq!(
        document["permissions"],
        serde_json::json!({"contents": "read"})
    );
    assert!(document["concurrency"]["group"].is_string());

    let jobs = document["jobs"].as_object().unwrap();
    let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(names, vec!["check", "suggest-fixes", "deploy"]);
    assert_eq!(
        jobs["check"]["permissions"],
        serde_json::json!({"contents": "read"})
    );
    assert_eq!(
        jobs["suggest-fixes"]["permissions"],
        serde_json::json!({"contents": "read", "pull-requests": "write"})
    );
    assert_eq!(
        jobs["deploy"]["permissions"],
        serde_json::json!({"contents": "read", "id-token": "write"})
    );
    assert_eq!(jobs["suggest-fixes"]["needs"], "check");
    assert_eq!(jobs["deploy"]["needs"], "check");
    let deploy_if = jobs["deploy"]["if"].as_str().unwrap();
    assert!(deploy_if.contains("github.event_name == 'push'"));
    assert!(deploy_if.contains("refs/heads/main"));
    assert!(
        jobs["suggest-fixes"]["if"]
            .as_str()
            .unwrap()
            .contains("github.event_name == 'pull_request'")
    );

    let check_steps = jobs["check"]["steps"].as_array().unwrap();
    let install = &check_steps[1];
    assert_eq!(install["uses"], "dagger/dagger-for-github@v8.4.1");
    assert_eq!(install["with"]["version"], "0.20.3");
    let run = check_steps[2]["run"].as_str().unwrap();
    assert!(run.contains("set -o pipefail"));
    assert!(run.contains("dagger --progress=report check 2>&1 | tee dagger-check.log"));
    assert_eq!(check_steps[3]["with"]["path"], "dagger-check.log");
    // The action has no stderr output; nothing may read one.
    assert!(!workflow.contains("outputs.stderr"));

    let fix_steps: Vec<(&str, &str, &str)> = jobs["suggest-fixes"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["with"]["command"].is_string())
        .map(|step| {
            (
                step["uses"].as_str().unwrap(),
                step["with"]["command"].as_str().unwrap(),
                step["with"]["args"].as_str().unwrap(),
            )
        })
        .collect();
    let action = format!("agentci/agentci@v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        fix_steps,
        vec![
            (
                action.as_str(),
                "monty suggest-fix",
                "--source ./backend --error-file dagger-check.log"
            ),
            (
                action.as_str(),
                "angie suggest-fix",
                "--source ./frontend --error-file dagger-check.log"
            ),
        ]
    );
    // The fix job downloads agentci through the Action; nothing compiles it.
    assert!(!workflow.contains("cargo install"));

    let deploy_steps = jobs["deploy"]["steps"].as_array().unwrap();
    let cloud_run = &deploy_steps[2];
    let command = cloud_run["run"].as_str().unwrap();
    assert!(command.starts_with("dagger call gcp-deploy cloud-run \\\n"));
    for expected in [
        "--source ./backend",
        "--project \"$PROJECT\"",
        "--region europe-west1",
        "--service orders-api",
        "--oidc-token env:ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "--oidc-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
    ] {
        assert!(
            command.contains(expected),
            "{expected} missing from {command}"
        );
    }
    assert_eq!(cloud_run["env"]["PROJECT"], "${{ vars.PROJECT }}");
    let firebase = deploy_steps[3]["run"].as_str().unwrap();
    assert!(firebase.contains("--source ./frontend"));
    assert!(!firebase.contains("--service "));
}

fn argument(name: &str, r#type: &str) -> Argument {
    Argument {
        name: name.to_string(),
        cli_name: name.replace('_', "-"),
        r#type: r#type.to_string(),
        optional: false,
        default: None,
        default_path: None,
        ignore: Vec::new(),
        doc: None,
        default_address: None,
    }
}

fn optional(name: &str, r#type: &str) -> Argument {
    Argument {
        optional: true,
        default: Some("null".to_string()),
        ..argument(name, r#type)
    }
}

fn source_with_default_path() -> Argument {
    Argument {
        default_path: Some(".".to_string()),
        optional: true,
        ..argument("source", "Directory")
    }
}

fn function(name: &str, check: bool, doc: &str, returns: &str, args: Vec<Argument>) -> Function {
    Function {
        name: name.to_string(),
        cli_name: name.replace('_', "-"),
        check,
        generate: false,
        doc: Some(doc.to_string()),
        returns: returns.to_string(),
        args,
    }
}

fn corp_module(name: &str, pin: &str, description: &str, functions: Vec<Function>) -> Module {
    let repository = "github.com/corp/dagger-modules";
    Module {
        name: name.to_string(),
        path: name.to_string(),
        repository: Some(repository.to_string()),
        r#ref: Some(format!("{repository}/{name}@{name}/v1.0.0")),
        version: Some("v1.0.0".to_string()),
        pin: Some(pin.to_string()),
        sdk: Some("python".to_string()),
        engine_version: Some("v0.20.3".to_string()),
        description: Some(description.to_string()),
        role: Role::Module,
        main_object: name.to_string(),
        checks: functions
            .iter()
            .filter(|function| function.check)
            .map(|function| function.cli_name.clone())
            .collect(),
        functions,
        problems: Vec::new(),
        constructor: Vec::new(),
        ..Module::default()
    }
}

/// The seed article's library under other names: sparse docs, checks with a `source` default
/// path, deploy functions with required strings and optional OIDC secrets.
fn article_library() -> Vec<Module> {
    let deploy_args = |extra: Vec<Argument>| {
        let mut args = vec![
            argument("source", "Directory"),
            argument("service_name", "String"),
            argument("team", "String"),
            argument("project_id", "String"),
            optional("oidc_request_token", "Secret"),
            optional("oidc_request_url", "Secret"),
            optional("gcloud_config", "Directory"),
            Argument {
                default: Some("\"staging\"".to_string()),
                ..optional("environment", "String")
            },
        ];
        args.extend(extra);
        args
    };
    vec![
        corp_module(
            "corp-backend",
            "303ec6a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6",
            "Corp Python backend: pytest and ruff with company settings.",
            vec![
                function(
                    "build",
                    false,
                    "Build the API container.",
                    "Container",
                    vec![argument("source", "Directory")],
                ),
                function(
                    "test",
                    true,
                    "Run pytest with coverage.",
                    "String",
                    vec![
                        source_with_default_path(),
                        Argument {
                            default: Some("true".to_string()),
                            ..optional("coverage", "Boolean")
                        },
                    ],
                ),
                function(
                    "lint",
                    true,
                    "Run ruff.",
                    "String",
                    vec![source_with_default_path()],
                ),
            ],
        ),
        corp_module(
            "corp-frontend",
            "2fc6032a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e",
            "Corp Angular frontend checks.",
            ["test", "lint", "audit"]
                .into_iter()
                .map(|name| {
                    function(
                        name,
                        true,
                        "Runs an npm script.",
                        "String",
                        vec![source_with_default_path()],
                    )
                })
                .collect(),
        ),
        corp_module(
            "corp-deploy",
            "aa11bb22cc33dd44ee55ff6677889900aabbccdd",
            "Corp deployments.",
            vec![
                function(
                    "scan",
                    true,
                    "Build the container and scan it with Trivy.",
                    "String",
                    vec![
                        source_with_default_path(),
                        Argument {
                            default: Some("8080".to_string()),
                            ..optional("port", "Int")
                        },
                    ],
                ),
                function(
                    "cloud_run",
                    false,
                    "Deploy to Cloud Run.",
                    "String",
                    deploy_args(vec![]),
                ),
                function(
                    "firebase",
                    false,
                    "Deploy to Firebase Hosting.",
                    "String",
                    deploy_args(vec![]),
                ),
            ],
        ),
    ]
}

const ARTICLE_ASSIGNMENT: &str = "Set up this monorepo with toolchains from the module library.
The backend (backend/) is FastAPI/Python, the frontend (frontend/) is Angular.
Install corp-backend, corp-frontend, and corp-deploy as toolchains
with the right source path customizations for this monorepo layout.
Also generate a .github/workflows/ci.yml with dagger check for PRs,
and a deploy step for Cloud Run (backend) and Firebase (frontend) on main.
On check failure, call Monty on the backend and Angie on the frontend
to post inline fix suggestions on the PR.
";

fn article_project() -> ExampleProject {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("shop");
    for (path, content) in [
        ("backend/requirements.txt", "fastapi\nuvicorn\npytest\n"),
        ("backend/src/main.py", "app = None\n"),
        ("frontend/angular.json", "{}\n"),
        ("frontend/package.json", "{}\n"),
        ("frontend/node_modules/rxjs/package.json", "{}\n"),
    ] {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    ExampleProject { _temp: temp, root }
}

#[test]
fn article_shaped_library_gives_one_toolchain_per_module_with_source_customizations() {
    let project = article_project();
    let scanner = |_: &ModuleSource| library_of(article_library());
    let options = AssistOptions {
        assignment: ARTICLE_ASSIGNMENT.to_string(),
        source: project.path().to_path_buf(),
        module_urls: vec!["https://github.com/corp/dagger-modules.git".to_string()],
        mode: OutputMode::DryRun,
        render: RenderOptions::default(),
        force: false,
        notes: Vec::new(),
    };
    let report = run_assist(&options, &scanner, &offline_planner).unwrap();

    let customization = |function: &str, path: &str| Customization {
        function: vec![function.to_string()],
        argument: "source".to_string(),
        default_path: Some(path.to_string()),
        default: None,
    };
    assert_eq!(
        report.plan.toolchains,
        vec![
            ToolchainPlan {
                module: "corp-backend".into(),
                name: "corp-backend".into(),
                customizations: vec![
                    customization("test", "/backend"),
                    customization("lint", "/backend"),
                ],
                ignore_checks: vec![],
            },
            ToolchainPlan {
                module: "corp-frontend".into(),
                name: "corp-frontend".into(),
                customizations: vec![
                    customization("test", "/frontend"),
                    customization("lint", "/frontend"),
                    customization("audit", "/frontend"),
                ],
                ignore_checks: vec![],
            },
            ToolchainPlan {
                module: "corp-deploy".into(),
                name: "corp-deploy".into(),
                customizations: vec![customization("scan", "/backend")],
                ignore_checks: vec![],
            },
        ]
    );
    let steps: Vec<(&str, &str)> = report
        .plan
        .deploy
        .iter()
        .map(|step| (step.function.as_str(), step.args["source"].as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![("cloud-run", "./backend"), ("firebase", "./frontend")]
    );
    let cloud_run = &report.plan.deploy[0].args;
    assert_eq!(cloud_run["project-id"], "${{ vars.PROJECT_ID }}");
    assert_eq!(cloud_run["service-name"], "${{ vars.SERVICE_NAME }}");
    assert_eq!(
        cloud_run["oidc-request-token"],
        "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN"
    );
    assert!(!cloud_run.contains_key("gcloud-config"));
    assert!(!cloud_run.contains_key("environment"));
    let agents: Vec<(&str, &str)> = report
        .plan
        .fix_agents
        .iter()
        .map(|fix| (fix.agent.as_str(), fix.directory.as_str()))
        .collect();
    assert_eq!(agents, vec![("monty", "backend"), ("angie", "frontend")]);

    let rendered = report.rendered.as_ref().unwrap();
    insta::assert_snapshot!("article_dagger_json", rendered.dagger_json);
    insta::assert_snapshot!("article_ci_yml", rendered.workflow);
    let dagger_json: serde_json::Value = serde_json::from_str(&rendered.dagger_json).unwrap();
    assert_eq!(
        dagger_json["toolchains"][0]["source"],
        "github.com/corp/dagger-modules/corp-backend@corp-backend/v1.0.0"
    );
    assert_eq!(
        dagger_json["toolchains"][0]["pin"],
        "303ec6a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"
    );
    // Dry run: a diff of two new files, nothing on disk.
    let diff = report.diff.as_deref().unwrap();
    assert!(diff.contains("+++ b/dagger.json"));
    assert!(diff.contains("+++ b/.github/workflows/ci.yml"));
    assert!(!project.path().join("dagger.json").exists());
    assert!(!project.path().join(".github").exists());
}

#[test]
fn a_toolchain_that_takes_its_source_in_the_constructor_is_pointed_at_the_directory() {
    // The shape of Dagger's own toolchains (`dagger/vitest`, `dagger/eslint`, `dagger/go`): the
    // source is a constructor argument with a default path, and the checks take no directory.
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("site");
    for (path, content) in [
        ("go.mod", "module example.com/site\n"),
        (
            "web/package.json",
            "{\"devDependencies\":{\"vitest\":\"^3.0.0\"}}\n",
        ),
    ] {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let scanner = |_: &ModuleSource| {
        let mut vitest = corp_module(
            "vitest",
            "1111111111111111111111111111111111111111",
            "Toolchain to execute Vitest tests",
            vec![function(
                "test",
                true,
                "Execute the tests",
                "Void",
                vec![optional("files", "[String]")],
            )],
        );
        vitest.sdk = Some("dang".to_string());
        vitest.constructor = vec![
            Argument {
                default_path: Some("/".to_string()),
                optional: true,
                ..argument("source", "Directory")
            },
            optional("packageManager", "String"),
        ];
        library_of(vec![vitest])
    };
    let report = run_every_check(root, &scanner);
    assert_eq!(
        report.plan.toolchains,
        vec![ToolchainPlan {
            module: "vitest".into(),
            name: "vitest".into(),
            customizations: vec![Customization {
                function: vec![],
                argument: "source".to_string(),
                default_path: Some("/web".to_string()),
                default: None,
            }],
            ignore_checks: vec![],
        }]
    );
    let rendered = report.rendered.as_ref().unwrap();
    let dagger_json: serde_json::Value = serde_json::from_str(&rendered.dagger_json).unwrap();
    assert_eq!(
        dagger_json["toolchains"][0]["customizations"],
        serde_json::json!([{"argument": "source", "defaultPath": "/web"}])
    );
}

#[test]
fn a_constructor_directory_that_picks_its_own_paths_from_the_root_stays_there() {
    // `dagger/dagger`'s `java-client-dev`: `workspaceDir` defaults to `/` and its ignore
    // patterns select `sdk/java/…` from there; pointing it at `sdk/java/` would break it.
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("engine");
    let java = root.join("sdk/java");
    std::fs::create_dir_all(&java).unwrap();
    std::fs::write(java.join("pom.xml"), "<project/>\n").unwrap();
    let scanner = |_: &ModuleSource| {
        let mut java_dev = corp_module(
            "java-client-dev",
            "4444444444444444444444444444444444444444",
            "Toolchain to develop the Java SDK",
            vec![function("lint", true, "Lint the Java SDK", "Void", vec![])],
        );
        java_dev.constructor = vec![Argument {
            default_path: Some("/".to_string()),
            optional: true,
            ignore: vec![
                "*".to_string(),
                "!sdk/java/pom.xml".to_string(),
                "!sdk/java/src/".to_string(),
            ],
            ..argument("workspaceDir", "Directory")
        }];
        library_of(vec![java_dev])
    };
    let report = run_every_check(root, &scanner);
    assert_eq!(report.plan.toolchains.len(), 1);
    assert_eq!(report.plan.toolchains[0].customizations, vec![]);
    assert!(
        report.plan.notes.contains(
            "toolchain `java-client-dev`: its constructor's `workspaceDir` picks paths of its own \
             from the repository root (`!sdk/java/pom.xml`), so it stays there"
        ),
        "{}",
        report.plan.notes
    );
}

#[test]
fn a_toolchain_nothing_can_scope_to_its_directory_says_its_checks_read_the_root() {
    // `dagger/jest`'s shape: the constructor reads the workspace (`ws: Workspace`), the checks
    // take no directory, so a plan has no way to point them at `web/`.
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("site");
    let web = root.join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("package.json"),
        "{\"devDependencies\":{\"jest\":\"^29.0.0\"}}\n",
    )
    .unwrap();
    let scanner = |_: &ModuleSource| {
        let mut jest = corp_module(
            "jest",
            "3333333333333333333333333333333333333333",
            "Toolchain to execute Jest tests",
            vec![function(
                "test",
                true,
                "Execute the tests",
                "Void",
                vec![optional("files", "[String]")],
            )],
        );
        jest.constructor = vec![optional("ws", "Workspace")];
        library_of(vec![jest])
    };
    let report = run_every_check(root, &scanner);
    assert!(
        report.plan.notes.contains(
            "toolchain `jest`: nothing scopes its checks to `web/` (no directory argument with a \
             default path), so they read the repository root"
        ),
        "{}",
        report.plan.notes
    );
}

#[test]
fn a_root_project_checked_through_its_workspace_is_not_reported_unchecked() {
    // `dagger/go`'s shape: the checks read the workspace (`ws: Workspace`), which is the
    // repository root, so a Go project at the root is checked without any customization.
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("tool");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("go.mod"), "module example.com/tool\n").unwrap();
    let scanner = |_: &ModuleSource| {
        let mut go = corp_module(
            "go",
            "2222222222222222222222222222222222222222",
            "Toolchain for Go projects",
            vec![function(
                "test_all",
                true,
                "Run the Go tests",
                "Void",
                vec![optional("ws", "Workspace")],
            )],
        );
        go.sdk = Some("dang".to_string());
        library_of(vec![go])
    };
    let report = run_every_check(root, &scanner);
    assert_eq!(report.plan.toolchains.len(), 1);
    assert!(
        !report.plan.notes.contains("not checked"),
        "{}",
        report.plan.notes
    );
}

fn assist_args(source: &Path, assignment_file: PathBuf) -> AssistArgs {
    AssistArgs {
        assignment: None,
        assignment_file: Some(assignment_file),
        stdin: None,
        source: source.to_path_buf(),
        module_urls: vec!["https://github.com/example-org/dagger-modules.git".to_string()],
        offline: true,
        dry_run: false,
        check: false,
        engine_version: None,
        dagger_version: "auto".to_string(),
        action_version: None,
        default_branch: "main".to_string(),
        force: false,
        private_modules: None,
        verify_fixes: false,
        looked_up: None,
    }
}

fn files_in(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .collect();
    files.sort();
    files
}

#[test]
fn check_exits_1_on_a_stale_file_and_0_after_regeneration() {
    let project = example_project();
    let assignment = project.path().join("daggie-assignment.md");
    let global = GlobalOptions::default();
    let mut args = assist_args(project.path(), assignment);
    let mut out = Vec::new();

    args.check = true;
    let error = assist(&args, &global, &library_scanner, None, &mut out).unwrap_err();
    assert_eq!(exit_for(&error), Exit::Negative);
    assert!(String::from_utf8_lossy(&out).contains("dagger.json: missing"));

    args.check = false;
    assert_eq!(
        assist(&args, &global, &library_scanner, None, &mut out).unwrap(),
        Exit::Done
    );
    args.check = true;
    assert_eq!(
        assist(&args, &global, &library_scanner, None, &mut out).unwrap(),
        Exit::Done
    );

    let workflow = project.path().join(".github/workflows/ci.yml");
    let edited = read(&workflow).replace("ubuntu-latest", "ubuntu-22.04");
    std::fs::write(&workflow, edited).unwrap();
    let mut out = Vec::new();
    let error = assist(&args, &global, &library_scanner, None, &mut out).unwrap_err();
    assert_eq!(exit_for(&error), Exit::Negative);
    assert!(format!("{error}").contains("`.github/workflows/ci.yml` out of date"));
    assert!(String::from_utf8_lossy(&out).contains(".github/workflows/ci.yml: stale"));

    // --dry-run shows the change and keeps the edit.
    args.check = false;
    args.dry_run = true;
    let mut out = Vec::new();
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("-    runs-on: ubuntu-22.04\n+    runs-on: ubuntu-latest"));
    assert!(read(&workflow).contains("ubuntu-22.04"));
}

/// A module the project already installs under a name of its own is not installed a second
/// time under the plan's name: the planned toolchain takes the installed name.
#[test]
fn a_module_installed_by_hand_under_another_name_is_not_installed_twice() {
    let project = example_project();
    let global = GlobalOptions::default();
    let args = assist_args(project.path(), project.path().join("daggie-assignment.md"));
    let mut out = Vec::new();
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&read(&project.path().join("dagger.json"))).unwrap();
    let first = generated["toolchains"][0].clone();
    let source = first["source"].as_str().unwrap().to_owned();
    // A person's own set-up: the same module as `api`, and no workflow recording a plan.
    std::fs::remove_dir_all(project.path().join(".github")).unwrap();
    std::fs::write(
        project.path().join("dagger.json"),
        format!(
            "{{\"name\": \"monorepo\", \"toolchains\": [{{\"name\": \"api\", \"source\": \"{source}\"}}]}}\n"
        ),
    )
    .unwrap();
    let mut out = Vec::new();
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    let printed = String::from_utf8(out).unwrap();
    let merged: serde_json::Value =
        serde_json::from_str(&read(&project.path().join("dagger.json"))).unwrap();
    let installs: Vec<&serde_json::Value> = merged["toolchains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|toolchain| toolchain["source"] == source.as_str())
        .collect();
    assert_eq!(installs.len(), 1, "{merged:#}");
    assert_eq!(installs[0]["name"], "api");
    assert_eq!(installs[0]["customizations"], first["customizations"]);
    assert!(printed.contains("keeps the name `api`"), "{printed}");
}

/// A workflow generated with `--verify-fixes` records it, so `--check` without the flag finds it
/// up to date; `[daggie] verify_fixes = true` in agentci.toml asks for the same workflow.
#[test]
fn verified_fixes_survive_check_and_can_come_from_agentci_toml() {
    let project = example_project();
    let assignment = project.path().join("daggie-assignment.md");
    let global = GlobalOptions::default();
    let mut args = assist_args(project.path(), assignment);
    let mut out = Vec::new();
    args.verify_fixes = true;
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    let flagged = read(&project.path().join(".github/workflows/ci.yml"));
    assert!(flagged.contains("--verify --allow-exec"), "{flagged}");

    args.verify_fixes = false;
    args.check = true;
    let mut out = Vec::new();
    assert_eq!(
        assist(&args, &global, &library_scanner, None, &mut out).unwrap(),
        Exit::Done,
        "{}",
        String::from_utf8_lossy(&out)
    );

    let configured = example_project();
    let config = configured.path().join("agentci.toml");
    std::fs::write(&config, "[daggie]\nverify_fixes = true\n").unwrap();
    let global = GlobalOptions {
        config: Some(config),
        ..GlobalOptions::default()
    };
    let args = assist_args(
        configured.path(),
        configured.path().join("daggie-assignment.md"),
    );
    let mut out = Vec::new();
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    assert_eq!(
        read(&configured.path().join(".github/workflows/ci.yml")),
        flagged
    );
}

#[test]
fn json_output_carries_the_plan_and_reasons() {
    let project = example_project();
    let mut args = assist_args(project.path(), project.path().join("daggie-assignment.md"));
    args.dry_run = true;
    let global = GlobalOptions {
        json: true,
        provider: Some("gemini".to_string()),
        ..GlobalOptions::default()
    };
    let mut out = Vec::new();
    assist(&args, &global, &library_scanner, None, &mut out).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(value["plan"]["toolchains"].as_array().unwrap().len(), 3);
    assert_eq!(value["mode"], "dry-run");
    assert!(value["reasons"].as_array().unwrap().len() > 5);
    assert!(
        value["secrets"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("GEMINI_API_KEY"))
    );
}

#[test]
fn missing_assignment_file_is_a_usage_error_and_writes_nothing() {
    let project = example_project();
    let before = files_in(project.path());
    let args = assist_args(project.path(), project.path().join("no-such-file.md"));
    let mut out = Vec::new();
    let error = assist(
        &args,
        &GlobalOptions::default(),
        &library_scanner,
        None,
        &mut out,
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error}").contains("cannot read the assignment file"));
    assert_eq!(files_in(project.path()), before);
    assert!(out.is_empty());
}

#[test]
fn without_offline_and_without_a_model_planner_it_is_a_usage_error() {
    let project = example_project();
    let mut args = assist_args(project.path(), project.path().join("daggie-assignment.md"));
    args.offline = false;
    let error = assist(
        &args,
        &GlobalOptions::default(),
        &library_scanner,
        None,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error}").contains("--offline"));
}

#[test]
fn a_library_without_checks_is_refused() {
    let project = example_project();
    let before = files_in(project.path());
    let scanner = |_: &ModuleSource| {
        let mut library = example_library();
        for module in &mut library.modules {
            for function in &mut module.functions {
                function.check = false;
            }
            module.checks.clear();
        }
        Ok(library)
    };
    let error = run_assist(
        &options(project.path(), OutputMode::Write),
        &scanner,
        &offline_planner,
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error}").contains("has no checks"), "{error}");
    assert_eq!(files_in(project.path()), before);
}

#[test]
fn a_library_whose_checks_all_sit_on_returned_objects_says_so() {
    // A real shape: the main object's `checks()` returns an object whose functions are the
    // checks, so `dagger check` runs `checks:lint`, but no check sits on the main object.
    let project = example_project();
    let scanner = |_: &ModuleSource| {
        let mut library = example_library();
        for module in &mut library.modules {
            for function in &mut module.functions {
                function.check = false;
            }
            module.checks = vec!["checks:format".to_string(), "checks:lint".to_string()];
        }
        Ok(library)
    };
    let error = run_assist(
        &options(project.path(), OutputMode::Write),
        &scanner,
        &offline_planner,
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    let message = format!("{error}");
    assert!(
        message.contains("has no checks daggie can route"),
        "{message}"
    );
    assert!(message.contains("`checks:format`"), "{message}");
}

#[test]
fn unreadable_module_sources_are_usage_errors() {
    let project = example_project();
    let mut options = options(project.path(), OutputMode::Write);
    options.module_urls = vec!["not/a/dir/or/url".to_string()];
    let error = run_assist(&options, &library_scanner, &offline_planner).unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error}").contains("neither a directory nor a git URL"));

    options.module_urls = vec!["https://git.invalid/acme/modules.git".to_string()];
    let unreachable = |_: &ModuleSource| -> anyhow::Result<ScanReport> {
        anyhow::bail!("could not resolve host")
    };
    let error = run_assist(&options, &unreachable, &offline_planner).unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(
        format!("{error:#}").contains("could not resolve host"),
        "{error:#}"
    );
    assert!(!project.path().join("dagger.json").exists());
}

#[test]
fn local_module_directories_are_passed_to_the_scanner_and_installed_by_relative_path() {
    let project = example_project();
    let library = tempfile::tempdir().unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let scanner = |source: &ModuleSource| {
        seen.borrow_mut().push(source.clone());
        let mut report = example_library();
        for module in &mut report.modules {
            module.r#ref = None;
            module.pin = None;
            module.repository = None;
            module.version = None;
        }
        Ok(report)
    };
    let mut options = options(project.path(), OutputMode::DryRun);
    options.module_urls = vec![library.path().display().to_string()];
    let report = run_assist(&options, &scanner, &offline_planner).unwrap();
    assert_eq!(
        seen.borrow().as_slice(),
        &[ModuleSource::Directory(library.path().to_path_buf())]
    );
    let dagger_json: serde_json::Value =
        serde_json::from_str(&report.rendered.unwrap().dagger_json).unwrap();
    let source = dagger_json["toolchains"][0]["source"].as_str().unwrap();
    assert!(source.starts_with("../"), "{source}");
    assert!(source.ends_with("/python-service"), "{source}");
    assert!(dagger_json["toolchains"][0].get("pin").is_none());
}

#[test]
fn an_invalid_plan_is_reported_precisely_and_nothing_is_written() {
    let project = example_project();
    let before = files_in(project.path());
    let planner = |_: &PlanInput<'_>| {
        Ok(Proposal {
            plan: Plan {
                toolchains: vec![
                    ToolchainPlan {
                        module: "python-service".into(),
                        name: "backend".into(),
                        customizations: vec![
                            Customization {
                                function: vec!["tests".into()],
                                argument: "source".into(),
                                default_path: Some("/backend".into()),
                                default: None,
                            },
                            Customization {
                                function: vec!["test".into()],
                                argument: "coverage".into(),
                                default_path: Some("/backend".into()),
                                default: None,
                            },
                        ],
                        ignore_checks: vec![],
                    },
                    ToolchainPlan {
                        module: "gcp-deploy".into(),
                        name: "deploy".into(),
                        customizations: vec![],
                        ignore_checks: vec![],
                    },
                ],
                deploy: vec![DeployStep {
                    toolchain: "deploy".into(),
                    function: "firebase".into(),
                    args: [("source".to_string(), "./frontend".to_string())]
                        .into_iter()
                        .collect(),
                }],
                ..Plan::default()
            },
            reasons: Vec::new(),
        })
    };
    let error = run_assist(
        &options(project.path(), OutputMode::Write),
        &library_scanner,
        &planner,
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    let message = format!("{error}");
    for expected in [
        "toolchain `backend`: module `python-service` has no function `tests` (functions: `test`, \
         `lint`, `build`)",
        "toolchain `backend`: `test` argument `coverage` is a Boolean; a default path only \
         applies to a Directory or File argument (use `default`)",
        "deploy `deploy firebase`: required argument `project` (String) is not provided",
        "deploy `deploy firebase`: required argument `workload-identity-provider` (String) is not \
         provided",
    ] {
        assert!(message.contains(expected), "{expected}\nnot in\n{message}");
    }
    assert_eq!(files_in(project.path()), before);
}

#[test]
fn a_model_planner_sees_a_compact_description_of_everything() {
    let project = example_project();
    let described = std::cell::RefCell::new(String::new());
    let planner = |input: &PlanInput<'_>| {
        described.replace(input.describe());
        offline_planner(input)
    };
    run_assist(
        &options(project.path(), OutputMode::Check),
        &library_scanner,
        &planner,
    )
    .unwrap();
    let text = described.into_inner();
    for expected in [
        "# Assignment\nSet up CI for this monorepo",
        "- backend/: python fastapi (pyproject.toml)",
        "- frontend/: angular (angular.json)",
        "## DAGGER.md\n# CI notes for daggie",
        "## python-service v1.2.0",
        "- check test(source: Directory = path . \"Python project with a pyproject.toml and a \
         tests/ directory\", coverage: Boolean = true",
        "- fn cloud-run(source: Directory!",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    // The example module (role `example`) is not in the catalog.
    assert!(!text.contains("python-service-example"));
    // Far smaller than the library's sources.
    assert!(text.len() < 6000, "{}", text.len());
}

#[test]
fn a_hand_written_workflow_is_replaced_only_with_force() {
    let project = example_project();
    let workflow = project.path().join(".github/workflows/ci.yml");
    std::fs::create_dir_all(workflow.parent().unwrap()).unwrap();
    std::fs::write(&workflow, "name: mine\non: push\n").unwrap();
    let mut options = options(project.path(), OutputMode::Write);
    let error = run_assist(&options, &library_scanner, &offline_planner).unwrap_err();
    assert_eq!(exit_for(&error), Exit::Usage);
    assert!(format!("{error}").contains("was not generated by daggie"));
    assert_eq!(read(&workflow), "name: mine\non: push\n");
    assert!(!project.path().join("dagger.json").exists());

    options.force = true;
    run_assist(&options, &library_scanner, &offline_planner).unwrap();
    assert!(read(&workflow).starts_with("# Generated by `agentci daggie assist`."));
}
