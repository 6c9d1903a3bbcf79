//! `daggie assist --offline` on the variations of the example monorepo a platform team meets on
//! day two: no deployments, two Python services, a plain Node app, a library module that also
//! publishes, hand edits of `dagger.json`, `--check` without a model, and the promised short
//! invocation.

use crate::support::copy_tree;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentci::agents::daggie::catalog::Catalog;
use agentci::agents::daggie::model::ModelRun;
use agentci::agents::daggie::plan::{self, Proposal};
use agentci::agents::daggie::project::Project;
use agentci::agents::daggie::render::RenderOptions;
use agentci::agents::daggie::{
    AssistOptions, AssistReport, FileStatus, ModuleSource, OutputMode, offline_planner, run_assist,
};
use agentci::cli::daggie::{ModelContext, run_with_model};
use agentci::cli::exit_for;
use agentci::cli::{Cli, Command};
use agentci::config::Settings;
use agentci::exit::Exit;
use agentci::llm::fake::ScriptedProvider;
use agentci::scan::{Argument, Function, ScanReport};
use clap::Parser as _;
use pretty_assertions::assert_eq;

const LIBRARY_URL: &str = "https://github.com/example-org/dagger-modules.git";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn library() -> ScanReport {
    let text =
        std::fs::read_to_string(repository().join("tests/fixtures/daggie/library.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn scanner(_: &ModuleSource) -> anyhow::Result<ScanReport> {
    Ok(library())
}

/// A copy of `examples/monorepo` named `monorepo`, with files added (`path`, content) and
/// directories removed.
fn variation(add: &[(&str, &str)], remove: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("monorepo");
    copy_tree(&repository().join("examples/monorepo"), &root);
    for directory in remove {
        std::fs::remove_dir_all(root.join(directory)).unwrap();
    }
    for (path, content) in add {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    (temp, root)
}

fn options(root: &Path, assignment: &str, mode: OutputMode) -> AssistOptions {
    AssistOptions {
        assignment: assignment.to_string(),
        source: root.to_path_buf(),
        module_urls: vec![LIBRARY_URL.to_string()],
        mode,
        render: RenderOptions::default(),
        force: false,
        notes: Vec::new(),
    }
}

fn plan_offline(root: &Path, assignment: &str) -> AssistReport {
    run_assist(
        &options(root, assignment, OutputMode::DryRun),
        &scanner,
        &offline_planner,
    )
    .unwrap()
}

fn workflow(report: &AssistReport) -> serde_json::Value {
    yaml_serde::from_str(&report.rendered.as_ref().unwrap().workflow).unwrap()
}

/// `(toolchain, function, argument, default path)` of every customization.
fn routes(report: &AssistReport) -> Vec<(String, String, String, String)> {
    report
        .plan
        .toolchains
        .iter()
        .flat_map(|toolchain| {
            toolchain.customizations.iter().map(|customization| {
                (
                    toolchain.name.clone(),
                    customization.function.join("."),
                    customization.argument.clone(),
                    customization.default_path.clone().unwrap_or_default(),
                )
            })
        })
        .collect()
}

fn route(toolchain: &str, function: &str, path: &str) -> (String, String, String, String) {
    (
        toolchain.to_string(),
        function.to_string(),
        "source".to_string(),
        path.to_string(),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The plan a report carries still passes validation, completeness rule included.
fn assert_complete(report: &AssistReport, root: &Path) {
    let project = Project::detect(root).unwrap();
    let catalog = Catalog::from_modules(library().modules);
    assert_eq!(plan::validate(&report.plan, &catalog, &project), Ok(()));
}

#[test]
fn do_not_deploy_gives_no_deploy_job_and_no_id_token_permission() {
    let (_temp, root) = variation(&[], &[]);
    let report = plan_offline(
        &root,
        "Checks on pull requests only. Do not deploy anything.\n\
         The backend (`backend/`) is a FastAPI service; the frontend (`frontend/`) is Angular.\n\
         Have Monty (backend) and Angie (frontend) post fix suggestions.",
    );
    assert!(report.plan.deploy.is_empty(), "{:?}", report.plan.deploy);
    let workflow_text = &report.rendered.as_ref().unwrap().workflow;
    assert!(!workflow_text.contains("id-token"), "{workflow_text}");
    assert!(!workflow_text.contains("dagger call"), "{workflow_text}");
    let document = workflow(&report);
    let jobs: Vec<&String> = document["jobs"].as_object().unwrap().keys().collect();
    assert_eq!(jobs, vec!["check", "suggest-fixes"]);
    let modules: Vec<&str> = report
        .plan
        .toolchains
        .iter()
        .map(|toolchain| toolchain.module.as_str())
        .collect();
    assert_eq!(modules, vec!["python-service", "angular-app"]);
    assert!(
        report
            .plan
            .notes
            .contains("deploy: nothing (the assignment says \"do not deploy anything\")"),
        "{}",
        report.plan.notes
    );
    assert_complete(&report, &root);

    // "only checks" refuses deployments as well; a request without negation still deploys.
    let only = plan_offline(&root, "Only checks, please, for backend/ and frontend/.");
    assert!(only.plan.deploy.is_empty());
    let deploys = plan_offline(
        &root,
        "Run the checks, and deploy the backend to Cloud Run.",
    );
    let functions: Vec<&str> = deploys
        .plan
        .deploy
        .iter()
        .map(|step| step.function.as_str())
        .collect();
    assert_eq!(functions, vec!["cloud-run"]);

    // Refusing one service keeps the other's deployment.
    let partial = plan_offline(
        &root,
        "Deploy to Cloud Run and Firebase on main. Do not deploy the frontend.",
    );
    let functions: Vec<&str> = partial
        .plan
        .deploy
        .iter()
        .map(|step| step.function.as_str())
        .collect();
    assert_eq!(functions, vec!["cloud-run"]);
}

#[test]
fn two_python_services_each_get_test_and_lint_in_their_own_directory() {
    let (_temp, root) = variation(
        &[
            (
                "worker/pyproject.toml",
                "[project]\nname = \"worker\"\ndependencies = [\"celery\"]\n",
            ),
            ("worker/worker/__init__.py", ""),
        ],
        &[],
    );
    let report = plan_offline(
        &root,
        "Run the checks of every service on pull requests. Do not deploy.",
    );
    let mut found = routes(&report);
    found.sort();
    let mut expected = vec![
        route("angular-app", "audit", "/frontend"),
        route("angular-app", "lint", "/frontend"),
        route("angular-app", "test", "/frontend"),
        route("backend", "lint", "/backend"),
        route("backend", "test", "/backend"),
        route("worker", "lint", "/worker"),
        route("worker", "test", "/worker"),
    ];
    expected.sort();
    assert_eq!(found, expected);
    let installs: Vec<(&str, &str)> = report
        .plan
        .toolchains
        .iter()
        .map(|toolchain| (toolchain.name.as_str(), toolchain.module.as_str()))
        .collect();
    assert_eq!(
        installs,
        vec![
            ("backend", "python-service"),
            ("worker", "python-service"),
            ("angular-app", "angular-app"),
        ]
    );
    let agents: Vec<(&str, &str)> = report
        .plan
        .fix_agents
        .iter()
        .map(|fix| (fix.agent.as_str(), fix.directory.as_str()))
        .collect();
    assert_eq!(
        agents,
        vec![
            ("monty", "backend"),
            ("angie", "frontend"),
            ("monty", "worker")
        ]
    );
    assert_complete(&report, &root);

    // Naming the directories does the same as "every service".
    let named = plan_offline(&root, "Check backend/ and worker/. No deployment.");
    let names: Vec<&str> = named
        .plan
        .toolchains
        .iter()
        .map(|toolchain| toolchain.name.as_str())
        .collect();
    assert_eq!(names, vec!["backend", "worker"]);
}

#[test]
fn a_plain_node_app_gets_no_angular_check_and_nothing_is_left_on_the_root() {
    let (_temp, root) = variation(
        &[
            (
                "web/package.json",
                "{\"name\": \"web\", \"scripts\": {\"test\": \"jest\"}, \
                 \"devDependencies\": {\"jest\": \"^29.0.0\"}}\n",
            ),
            ("web/index.js", "module.exports = {};\n"),
        ],
        &["frontend"],
    );
    let report = plan_offline(
        &root,
        "The backend (backend/) is FastAPI; web/ is a Node app tested with Jest. \
         Run every check on pull requests. Do not deploy.",
    );
    let found = routes(&report);
    assert_eq!(
        found,
        vec![
            route("python-service", "test", "/backend"),
            route("python-service", "lint", "/backend"),
        ]
    );
    assert!(
        report
            .plan
            .toolchains
            .iter()
            .all(|toolchain| toolchain.module != "angular-app")
    );
    assert!(
        report
            .plan
            .notes
            .contains("not checked: `web/` (node): nothing in the library fits it"),
        "{}",
        report.plan.notes
    );
    let project = Project::detect(&root).unwrap();
    let web = project.stacks_in("web").next().unwrap();
    assert_eq!(web.framework.as_deref(), Some("jest"));
    assert_complete(&report, &root);
    // No check of any installed toolchain keeps a default path (the repository root).
    let catalog = Catalog::from_modules(library().modules);
    assert!(plan::completeness(&report.plan, &catalog).is_empty());
}

/// The example library with `python-service` gaining a `publish` function.
fn library_with_publish() -> ScanReport {
    let mut report = library();
    let module = report
        .modules
        .iter_mut()
        .find(|module| module.name == "python-service")
        .unwrap();
    let argument = |name: &str, r#type: &str| Argument {
        name: name.to_string(),
        cli_name: name.to_string(),
        r#type: r#type.to_string(),
        optional: false,
        default: None,
        default_path: None,
        ignore: Vec::new(),
        doc: None,
        default_address: None,
    };
    module.functions.push(Function {
        name: "publish".to_string(),
        cli_name: "publish".to_string(),
        check: false,
        generate: false,
        doc: Some("Publish the service's package to a registry.".to_string()),
        returns: "String".to_string(),
        args: vec![
            argument("source", "Directory"),
            argument("registry", "String"),
            argument("token", "Secret"),
        ],
    });
    report
}

#[test]
fn a_library_module_with_a_publish_function_keeps_its_checks_and_deploys_nothing_unasked() {
    let (_temp, root) = variation(&[], &[]);
    let scan = |_: &ModuleSource| Ok(library_with_publish());
    let assignment = std::fs::read_to_string(root.join("daggie-assignment.md")).unwrap();
    let report = run_assist(
        &options(&root, &assignment, OutputMode::DryRun),
        &scan,
        &offline_planner,
    )
    .unwrap();
    let python = report
        .plan
        .toolchains
        .iter()
        .find(|toolchain| toolchain.module == "python-service")
        .unwrap();
    assert_eq!(python.name, "python-service");
    assert_eq!(python.customizations.len(), 2);
    let steps: Vec<(&str, &str)> = report
        .plan
        .deploy
        .iter()
        .map(|step| (step.toolchain.as_str(), step.function.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![("gcp-deploy", "cloud-run"), ("gcp-deploy", "firebase")]
    );
    assert!(
        report.reasons.iter().any(|reason| reason
            == "`python-service publish` deploys, but the assignment does not ask for it: not called"),
        "{:?}",
        report.reasons
    );

    // Asked by name, it is called.
    let asked = run_assist(
        &options(
            &root,
            "Check backend/ and publish the backend on main.\n- registry: europe-docker.pkg.dev\n",
            OutputMode::DryRun,
        ),
        &scan,
        &offline_planner,
    )
    .unwrap();
    let steps: Vec<(&str, &str)> = asked
        .plan
        .deploy
        .iter()
        .map(|step| (step.toolchain.as_str(), step.function.as_str()))
        .collect();
    assert_eq!(steps, vec![("python-service", "publish")]);
    assert_eq!(asked.plan.deploy[0].args["token"], "env:TOKEN");
}

fn write_example(root: &Path) {
    let assignment = read(&root.join("daggie-assignment.md"));
    run_assist(
        &options(root, &assignment, OutputMode::Write),
        &scanner,
        &offline_planner,
    )
    .unwrap();
}

fn edit_dagger_json(root: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = root.join("dagger.json");
    let mut value: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

#[test]
fn hand_edits_of_dagger_json_survive_regeneration() {
    let (_temp, root) = variation(&[], &[]);
    write_example(&root);
    edit_dagger_json(&root, |value| {
        let toolchains = value["toolchains"].as_array_mut().unwrap();
        toolchains[1]["ignoreChecks"] = serde_json::json!(["audit"]);
        toolchains[0]["customizations"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"function": ["test"], "argument": "coverage", "default": "false"}));
        toolchains
            .push(serde_json::json!({"name": "mine", "source": "github.com/me/tools@v1.0.0"}));
    });
    let assignment = read(&root.join("daggie-assignment.md"));
    let again = run_assist(
        &options(&root, &assignment, OutputMode::Write),
        &scanner,
        &offline_planner,
    )
    .unwrap();
    let text = read(&root.join("dagger.json"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["toolchains"][1]["ignoreChecks"],
        serde_json::json!(["audit"])
    );
    assert!(text.contains("\"coverage\""), "{text}");
    assert_eq!(value["toolchains"][3]["name"], "mine");
    assert!(
        again
            .warnings
            .iter()
            .all(|warning| !warning.contains("hand edit"))
    );
    // The merged file is now what daggie generates: a second run and `--check` see no change.
    let check = run_assist(
        &options(&root, &assignment, OutputMode::Check),
        &scanner,
        &offline_planner,
    )
    .unwrap();
    assert!(
        check
            .files
            .iter()
            .all(|file| file.status == FileStatus::Unchanged),
        "{:?}",
        check.files
    );
}

#[test]
fn a_conflicting_hand_edit_exits_1_with_a_diff_and_force_overwrites_it() {
    let (_temp, root) = variation(&[], &[]);
    write_example(&root);
    edit_dagger_json(&root, |value| {
        value["toolchains"][0]["customizations"][0]["defaultPath"] =
            serde_json::json!("/backend/app");
    });
    let before = read(&root.join("dagger.json"));
    let workflow_before = read(&root.join(".github/workflows/ci.yml"));
    let assignment = read(&root.join("daggie-assignment.md"));
    let error = run_assist(
        &options(&root, &assignment, OutputMode::Write),
        &scanner,
        &offline_planner,
    )
    .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Negative);
    let message = format!("{error:#}");
    assert!(
        message.contains(
            "toolchain `python-service`: `test` argument `source` is `defaultPath: /backend/app` \
             in `dagger.json`, the plan sets `defaultPath: /backend`"
        ),
        "{message}"
    );
    assert!(
        message.lines().any(
            |line| line.starts_with('-') && line.ends_with("\"defaultPath\": \"/backend/app\"")
        ),
        "{message}"
    );
    assert!(
        message
            .lines()
            .any(|line| line.starts_with('+') && line.ends_with("\"defaultPath\": \"/backend\"")),
        "{message}"
    );
    assert_eq!(read(&root.join("dagger.json")), before);
    assert_eq!(
        read(&root.join(".github/workflows/ci.yml")),
        workflow_before
    );

    let mut forced = options(&root, &assignment, OutputMode::Write);
    forced.force = true;
    let report = run_assist(&forced, &scanner, &offline_planner).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|warning| warning.starts_with("hand edit overridden by the plan")),
        "{:?}",
        report.warnings
    );
    let value: serde_json::Value = serde_json::from_str(&read(&root.join("dagger.json"))).unwrap();
    assert_eq!(
        value["toolchains"][0]["customizations"][0]["defaultPath"],
        "/backend"
    );
}

fn parse(
    args: &[&str],
) -> (
    agentci::cli::daggie::DaggieArgs,
    agentci::cli::GlobalOptions,
) {
    let mut full = vec!["agentci"];
    full.extend_from_slice(args);
    let cli = Cli::try_parse_from(full).unwrap();
    match cli.command {
        Command::Daggie(daggie) => (daggie, cli.global.options()),
        _ => unreachable!(),
    }
}

/// `--check` with a provider configured re-renders the recorded plan: the provider is never
/// called, whatever it would answer.
#[tokio::test(flavor = "multi_thread")]
async fn check_passes_with_a_provider_configured_but_unreachable() {
    let (_temp, root) = variation(&[], &[]);
    write_example(&root);
    let source = root.display().to_string();
    let assignment = root.join("daggie-assignment.md").display().to_string();
    let (args, global) = parse(&[
        "--provider",
        "openai",
        "daggie",
        "--check",
        "--assignment-file",
        &assignment,
        "--source",
        &source,
        "--module-url",
        LIBRARY_URL,
    ]);
    // A provider with no scripted answer fails any call it gets.
    let provider = ScriptedProvider::new(vec![]);
    let log = provider.request_log();
    let context = ModelContext {
        run: ModelRun::new(Arc::new(provider)),
        settings: Settings::default(),
    };
    let mut out = Vec::new();
    let exit = run_with_model(&args, &global, &scanner, &context, &mut out)
        .await
        .unwrap();
    assert_eq!(exit, Exit::Done);
    assert!(log.lock().unwrap().is_empty());
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("re-rendered from the plan recorded in `.github/workflows/ci.yml`"),
        "{out}"
    );

    // A stale file still fails, without a model call either.
    let workflow = root.join(".github/workflows/ci.yml");
    std::fs::write(
        &workflow,
        read(&workflow).replace("ubuntu-latest", "ubuntu-22.04"),
    )
    .unwrap();
    let mut out = Vec::new();
    let error = run_with_model(&args, &global, &scanner, &context, &mut out)
        .await
        .unwrap_err();
    assert_eq!(exit_for(&error), Exit::Negative);
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn the_short_invocation_writes_the_same_files_as_assist() {
    let write = |args: &[&str], root: &Path| {
        let source = root.display().to_string();
        let assignment = root.join("daggie-assignment.md").display().to_string();
        let mut full = args.to_vec();
        full.extend_from_slice(&[
            "--offline",
            "--assignment-file",
            &assignment,
            "--source",
            &source,
        ]);
        let (daggie, global) = parse(&full);
        let mut out = Vec::new();
        let exit = agentci::cli::daggie::run(&daggie, &global, &scanner, None, &mut out).unwrap();
        assert_eq!(exit, Exit::Done);
        (
            read(&root.join("dagger.json")),
            read(&root.join(".github/workflows/ci.yml")),
        )
    };
    let (_short_temp, short_root) = variation(&[], &[]);
    let (_long_temp, long_root) = variation(&[], &[]);
    let short = write(&["daggie", "--module-urls", LIBRARY_URL], &short_root);
    let long = write(
        &["daggie", "assist", "--module-url", LIBRARY_URL],
        &long_root,
    );
    assert_eq!(short, long);

    // The other verbs still parse as verbs.
    let (explain, _) = parse(&["daggie", "explain", "--question", "why?"]);
    assert!(matches!(
        explain.verb(),
        agentci::cli::daggie::DaggieVerb::Explain(_)
    ));
}

#[test]
fn the_generated_workflow_captures_a_parseable_log_and_uses_the_action() {
    let (_temp, root) = variation(&[], &[]);
    let assignment = read(&root.join("daggie-assignment.md"));
    let mut options = options(&root, &assignment, OutputMode::DryRun);
    options.render.provider =
        agentci::agents::daggie::render::ProviderEnv::for_provider("gemini", true, true).unwrap();
    options.render.modules_token = Some("DAGGER_MODULES_TOKEN".to_string());
    let report = run_assist(&options, &scanner, &offline_planner).unwrap();
    let document = workflow(&report);
    let check = &document["jobs"]["check"]["steps"][2];
    let run = check["run"].as_str().unwrap();
    assert!(run.starts_with("set -o pipefail\n"), "{run}");
    assert!(run.contains("dagger --progress=report check 2>&1 | tee dagger-check.log"));
    assert!(
        run.contains("git config --global credential.helper"),
        "{run}"
    );
    assert_eq!(check["env"]["NO_COLOR"], "1");
    assert_eq!(
        check["env"]["DAGGER_MODULES_TOKEN"],
        "${{ secrets.DAGGER_MODULES_TOKEN }}"
    );
    let fix = &document["jobs"]["suggest-fixes"]["steps"][2];
    assert_eq!(
        fix["uses"],
        format!("agentci/agentci@v{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(fix["with"]["command"], "monty suggest-fix");
    assert_eq!(
        fix["with"]["args"],
        "--source ./backend --error-file dagger-check.log"
    );
    assert_eq!(fix["with"]["github-token"], "${{ secrets.GITHUB_TOKEN }}");
    assert_eq!(
        fix["env"],
        serde_json::json!({
            "GEMINI_API_KEY": "${{ secrets.GEMINI_API_KEY }}",
            "GEMINI_MODEL": "${{ vars.GEMINI_MODEL }}",
            "GEMINI_BASE_URL": "${{ vars.GEMINI_BASE_URL }}",
        })
    );
    let text = &report.rendered.as_ref().unwrap().workflow;
    assert!(!text.contains("cargo install"), "{text}");
    assert!(report.secrets.contains(&"DAGGER_MODULES_TOKEN".to_string()));
    assert!(report.variables.contains(&"GEMINI_MODEL".to_string()));
}

/// `--verify-fixes`: the fix job installs the check job's Dagger, can read the private module
/// libraries as the check job can, and runs `suggest-fix --verify --allow-exec`.
#[test]
fn verified_fixes_install_dagger_in_the_fix_job() {
    let (_temp, root) = variation(&[], &[]);
    let assignment = read(&root.join("daggie-assignment.md"));
    let mut options = options(&root, &assignment, OutputMode::DryRun);
    options.render.modules_token = Some("DAGGER_MODULES_TOKEN".to_string());
    options.render.verify_fixes = true;
    let report = run_assist(&options, &scanner, &offline_planner).unwrap();
    let document = workflow(&report);
    let steps = document["jobs"]["suggest-fixes"]["steps"]
        .as_array()
        .unwrap();
    let install_of = |job: &str| {
        document["jobs"][job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|step| {
                step["uses"]
                    .as_str()
                    .is_some_and(|uses| uses.starts_with("dagger/dagger-for-github@"))
            })
            .cloned()
            .unwrap()
    };
    assert_eq!(install_of("suggest-fixes"), install_of("check"));
    let credentials = steps
        .iter()
        .find(|step| {
            step["run"]
                .as_str()
                .is_some_and(|run| run.contains("git config --global credential.helper"))
        })
        .unwrap();
    assert_eq!(
        credentials["env"]["DAGGER_MODULES_TOKEN"],
        "${{ secrets.DAGGER_MODULES_TOKEN }}"
    );
    let fix = steps
        .iter()
        .find(|step| step["with"]["command"] == "monty suggest-fix")
        .unwrap();
    assert_eq!(
        fix["with"]["args"],
        "--source ./backend --error-file dagger-check.log --verify --allow-exec"
    );
    // Without the flag, the fix job neither installs Dagger nor verifies.
    options.render.verify_fixes = false;
    let report = run_assist(&options, &scanner, &offline_planner).unwrap();
    let text = &report.rendered.as_ref().unwrap().workflow;
    let fix_job = &text[text.find("suggest-fixes:").unwrap()..];
    let fix_job = &fix_job[..fix_job.find("\n  deploy:").unwrap_or(fix_job.len())];
    assert!(!fix_job.contains("dagger-for-github"), "{fix_job}");
    assert!(!fix_job.contains("--verify"), "{fix_job}");
}

/// The completeness rule holds for a model's plan too: one that leaves a check on its default
/// path or sends angie to a Python directory is refused with those reasons.
#[test]
fn the_completeness_rule_rejects_a_plan_with_reasons() {
    let (_temp, root) = variation(&[], &[]);
    let project = Project::detect(&root).unwrap();
    let catalog = Catalog::from_modules(library().modules);
    let assignment = read(&root.join("daggie-assignment.md"));
    let Proposal { mut plan, .. } =
        agentci::agents::daggie::offline::plan(&assignment, &project, &catalog);
    assert_eq!(plan::validate(&plan, &catalog, &project), Ok(()));
    plan.toolchains[0]
        .customizations
        .retain(|customization| customization.function != ["lint"]);
    plan.fix_agents[1].directory = "backend".to_string();
    let problems = plan::validate(&plan, &catalog, &project).unwrap_err();
    assert_eq!(
        problems,
        vec![
            "toolchain `python-service`: check `lint` leaves its Directory argument `source` on \
             its default path `.`, the repository root's; customize it to the project directory \
             the check is for (`default_path`), or list `lint` in `ignore_checks` and say why \
             in `notes`",
            "fix agent `angie`: `backend`: it is a python directory, and angie fixes Angular and \
             TypeScript only (use monty)",
        ]
    );
    // Ignoring the check, with a reason in the notes, satisfies the rule.
    plan.toolchains[0].ignore_checks = vec!["lint".to_string()];
    plan.fix_agents.pop();
    assert_eq!(plan::validate(&plan, &catalog, &project), Ok(()));
    // Dagger 1.x: the ignored check is skipped in the workspace, as `dagger.json` ignores it.
    let (files, _workflow, _conversion) =
        agentci::agents::daggie::workspace_toml::render_workspaces(&plan, &catalog, &project, "")
            .unwrap();
    let toolchain = &plan.toolchains[0].name;
    let skips: Vec<Vec<String>> = files
        .iter()
        .filter_map(|file| agentci::scan::workspace::parse(&file.content).ok())
        .filter_map(|workspace| workspace.modules.get(toolchain).cloned())
        .map(|entry| entry.check.map(|check| check.skip).unwrap_or_default())
        .collect();
    assert!(!skips.is_empty(), "{files:?}");
    assert!(
        skips.iter().all(|skip| skip.contains(&"lint".to_string())),
        "every workspace that installs `{toolchain}` skips `lint`: {files:?}"
    );
}

/// Action versions come from the GitHub API when it answers (a fake server here), the built-in
/// ones for any repository it does not, and the note says which.
#[tokio::test]
async fn action_versions_are_looked_up_with_a_fallback() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let release =
        |tag: &str| serde_json::json!({"tag_name": tag, "draft": false, "prerelease": false});
    Mock::given(method("GET"))
        .and(path("/repos/dagger/dagger-for-github/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            release("v8.5.0"),
            release("v8.10.1"),
            {"tag_name": "v9.0.0-rc.1", "draft": false, "prerelease": true},
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/actions/checkout/releases"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([release("v6.0.1"), release("v5.0.0"),])),
        )
        .mount(&server)
        .await;
    // upload-artifact and download-artifact: 404, so the built-in majors stay.
    let client = agentci::github::client::GitHub::new(
        agentci::github::client::ClientSettings::for_server(server.uri()),
    )
    .unwrap();
    let found = agentci::agents::daggie::versions::look_up(&client).await;
    assert_eq!(found.dagger, "v8.10.1");
    assert_eq!(found.actions.checkout, "actions/checkout@v6");
    assert_eq!(found.actions.upload_artifact, "actions/upload-artifact@v6");
    assert_eq!(
        found.actions.download_artifact,
        "actions/download-artifact@v7"
    );
    assert_eq!(
        found.note,
        "action versions: the newest releases from the GitHub API \
         (`dagger/dagger-for-github@v8.10.1`, `actions/checkout@v6`); the built-in ones where \
         the API gave no stable release (`actions/upload-artifact@v6`, \
         `actions/download-artifact@v7`)"
    );
}
