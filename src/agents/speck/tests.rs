//! Tests of the decomposition core: realistic submissions under each flag combination, checked
//! with the strict validator, and every class of invalid submission rejected with its reason.

use serde_json::json;

use super::decompose::{Options, build};
use super::tasks::{Submission, builtin_registry, parse_registry};
use super::tiers::{self, TierTable};
use super::validate::{Expectations, validate};

fn submission(value: serde_json::Value) -> Submission {
    serde_json::from_value(value).unwrap()
}

fn favorites(with_tests: bool, with_review: bool) -> Submission {
    let mut tasks = vec![
        json!({"id": "a", "title": "Add Favorite model and migration", "description": "Create the Favorite SQLAlchemy model (user_id, item_id, created_at) and an Alembic migration.", "phase": 1, "phase_name": "Foundation", "task_type": "implementation", "estimated_complexity": "low", "files_to_modify": ["backend/app/models.py", "backend/migrations/versions/0004_favorites.py"], "definition_of_done": ["migration applies on an empty database"], "context_needed": ["backend/app/models.py"]}),
        json!({"id": "b", "title": "Favorites API endpoints", "description": "Add GET/POST/DELETE /favorites endpoints in FastAPI with auth.", "phase": 2, "phase_name": "Favorites API", "task_type": "implementation", "estimated_complexity": "medium", "depends_on": ["a"], "files_to_modify": ["backend/app/routes/favorites.py", "backend/app/main.py"], "definition_of_done": ["endpoints return 200/201/204", "unauthenticated calls get 401"], "story_label": "US1"}),
        json!({"id": "c", "title": "Favorites service in Angular", "description": "Add a FavoritesService calling the API, with signals for the list.", "phase": 2, "phase_name": "Favorites API", "task_type": "implementation", "estimated_complexity": "medium", "depends_on": ["a"], "files_to_modify": ["frontend/src/app/favorites/favorites.service.ts"], "definition_of_done": ["service exposes list, add, remove"], "story_label": "US1"}),
        json!({"id": "d", "title": "Favorite button component", "description": "A standalone component toggling an item's favorite state.", "phase": 2, "phase_name": "Favorites API", "task_type": "implementation", "estimated_complexity": "high", "depends_on": ["c"], "files_to_modify": ["frontend/src/app/favorites/favorite-button.component.ts"], "definition_of_done": ["clicking toggles the state"], "story_label": "US1"}),
    ];
    if with_tests {
        tasks.push(json!({"id": "t1", "title": "Test favorites endpoints", "description": "pytest tests for the favorites endpoints.", "phase": 2, "phase_name": "Favorites API", "task_type": "test", "estimated_complexity": "medium", "depends_on": ["b"], "files_to_modify": ["backend/tests/test_favorites.py"], "definition_of_done": ["tests cover 200, 401, 404"]}));
        tasks.push(json!({"id": "t2", "title": "Test favorite button", "description": "Spec for the favorite button component.", "phase": 2, "phase_name": "Favorites API", "task_type": "test", "estimated_complexity": "low", "depends_on": ["d"], "files_to_modify": ["frontend/src/app/favorites/favorite-button.component.spec.ts"], "definition_of_done": ["spec passes"]}));
        tasks.push(json!({"id": "t0", "title": "Test the migration", "description": "Test that the migration creates the table.", "phase": 1, "phase_name": "Foundation", "task_type": "test", "estimated_complexity": "low", "depends_on": ["a"], "files_to_modify": ["backend/tests/test_migrations.py"], "definition_of_done": ["table exists after upgrade"]}));
    }
    if with_review {
        tasks.push(json!({"id": "r1", "title": "Review foundation", "description": "Review the model and migration.", "phase": 1, "phase_name": "Foundation", "task_type": "review", "estimated_complexity": "medium", "definition_of_done": ["review posted"]}));
        tasks.push(json!({"id": "r2", "title": "Review favorites", "description": "Review the API and UI.", "phase": 2, "phase_name": "Favorites API", "task_type": "review", "estimated_complexity": "medium", "definition_of_done": ["review posted"]}));
    }
    submission(
        json!({"feature": "Favorites list", "spec_summary": "Users can mark items as favorites and list them.", "tasks": tasks}),
    )
}

fn options(include_tests: bool, include_review: bool, create_pr: bool, family: &str) -> Options {
    Options {
        include_tests,
        include_review,
        create_pr,
        tiers: tiers::builtin(family).unwrap(),
        registry: builtin_registry(),
    }
}

fn expectations(options: &Options) -> Expectations {
    let TierTable { low, medium, high } = options.tiers.clone();
    Expectations {
        models: [low, medium, high],
        include_tests: options.include_tests,
        include_review: options.include_review,
        create_pr: options.create_pr,
    }
}

fn built(submission: &Submission, options: &Options) -> serde_json::Value {
    let decomposition =
        build(submission, options).unwrap_or_else(|errors| panic!("rejected: {errors:#?}"));
    let value = serde_json::to_value(&decomposition).unwrap();
    let problems = validate(&value, &expectations(options));
    assert!(
        problems.is_empty(),
        "invalid output: {problems:#?}\n{value:#}"
    );
    value
}

fn column(value: &serde_json::Value, key: &str) -> Vec<serde_json::Value> {
    value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task[key].clone())
        .collect()
}

#[test]
fn plain_decomposition_orders_phases_and_parallel_tasks() {
    let value = built(
        &favorites(false, false),
        &options(false, false, false, "claude"),
    );
    assert_eq!(value["feature"], "favorites-list");
    assert_eq!(value["total_tasks"], 4);
    assert_eq!(
        column(&value, "id"),
        ["T001", "T002", "T003", "T004"].map(|id| json!(id))
    );
    assert_eq!(column(&value, "order"), [1, 2, 2, 3].map(|n| json!(n)));
    assert_eq!(
        column(&value, "parallel"),
        [false, true, true, false].map(|b| json!(b))
    );
    assert_eq!(column(&value, "title")[3], "Favorite button component");
    assert_eq!(value["tasks"][3]["depends_on"], json!(["T003"]));
    assert_eq!(
        column(&value, "suggested_model"),
        [
            "claude-haiku-4-5",
            "claude-sonnet-4-6",
            "claude-sonnet-4-6",
            "claude-opus-4-6"
        ]
        .map(|id| json!(id))
    );
    let agents: Vec<_> = value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["suggested_agent"]["name"].clone())
        .collect();
    assert_eq!(
        agents,
        [
            json!("monty"),
            json!("monty"),
            json!("angie"),
            json!("angie")
        ]
    );
    assert_eq!(value["tasks"][0]["suggested_agent"]["entrypoint"], "assist");
    assert_eq!(value["execution_plan"]["total_phases"], 2);
    assert_eq!(
        value["execution_plan"]["phases"][0]["pr_branch"],
        json!(null)
    );
    assert_eq!(
        value["execution_plan"]["phases"][1]["parallel"],
        json!(false),
        "phase 2 depends on phase 1"
    );
    assert_eq!(
        value["execution_plan"]["phases"][0]["parallel"],
        json!(true)
    );
    assert_eq!(
        value["execution_plan"]["critical_path"],
        json!(["T001", "T003", "T004"])
    );
    assert_eq!(
        value["execution_plan"]["parallelizable_groups"],
        json!([["T002", "T003"]])
    );
    assert_eq!(
        value["agent_registry_used"][0],
        json!({"name": "monty", "source": "agentci", "specialization": builtin_registry()[0].specialization, "tasks_assigned": 2})
    );
}

#[test]
fn tests_and_reviews_follow_their_phase_and_tiers() {
    let value = built(
        &favorites(true, true),
        &options(true, true, false, "claude"),
    );
    let rows: Vec<(String, u64, String, String)> = value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| {
            (
                task["title"].as_str().unwrap().to_owned(),
                task["order"].as_u64().unwrap(),
                task["task_type"].as_str().unwrap().to_owned(),
                task["suggested_model"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (
            "Add Favorite model and migration",
            1,
            "implementation",
            "claude-haiku-4-5",
        ),
        ("Test the migration", 2, "test", "claude-sonnet-4-6"),
        ("Review foundation", 3, "review", "claude-sonnet-4-6"),
        (
            "Favorites API endpoints",
            4,
            "implementation",
            "claude-sonnet-4-6",
        ),
        (
            "Favorites service in Angular",
            4,
            "implementation",
            "claude-sonnet-4-6",
        ),
        (
            "Favorite button component",
            5,
            "implementation",
            "claude-opus-4-6",
        ),
        ("Test favorites endpoints", 6, "test", "claude-opus-4-6"),
        ("Test favorite button", 6, "test", "claude-opus-4-6"),
        ("Review favorites", 7, "review", "claude-sonnet-4-6"),
    ];
    let expected: Vec<(String, u64, String, String)> = expected
        .iter()
        .map(|(a, b, c, d)| ((*a).into(), *b, (*c).into(), (*d).into()))
        .collect();
    assert_eq!(rows, expected);
    let review = &value["tasks"][8];
    assert_eq!(
        review["depends_on"],
        json!(["T004", "T005", "T006", "T007", "T008"])
    );
    assert_eq!(review["suggested_agent"]["entrypoint"], "review");
    assert_eq!(value["tasks"][6]["suggested_agent"]["name"], "monty");
    assert_eq!(
        value["tasks"][6]["suggested_agent"]["entrypoint"],
        "write-tests"
    );
    assert_eq!(value["tasks"][7]["suggested_agent"]["name"], "angie");
}

#[test]
fn create_pr_names_a_branch_per_phase() {
    let value = built(
        &favorites(false, false),
        &options(false, false, true, "claude"),
    );
    let branches: Vec<_> = value["execution_plan"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| phase["pr_branch"].clone())
        .collect();
    assert_eq!(
        branches,
        [
            json!("speck/favorites-list/phase-1-foundation"),
            json!("speck/favorites-list/phase-2-favorites-api")
        ]
    );
}

#[test]
fn gemini_family_uses_its_tier_table() {
    let value = built(
        &favorites(true, false),
        &options(true, false, false, "gemini"),
    );
    assert_eq!(
        value["tasks"][0]["suggested_model"],
        "gemini-3.1-flash-lite-preview"
    );
    assert!(
        column(&value, "suggested_model")
            .iter()
            .all(|model| model.as_str().unwrap().starts_with("gemini-"))
    );
}

#[test]
fn shared_files_are_never_parallel() {
    let mut value = serde_json::to_value(favorites(false, false)).unwrap();
    value["tasks"][2]["files_to_modify"] = json!(["backend/app/main.py"]);
    let output = built(
        &serde_json::from_value(value).unwrap(),
        &options(false, false, false, "claude"),
    );
    assert_eq!(column(&output, "order"), [1, 2, 3, 4].map(|n| json!(n)));
    assert_eq!(output["execution_plan"]["parallelizable_groups"], json!([]));
}

#[test]
fn an_empty_registry_assigns_no_agents() {
    let mut options = options(false, false, false, "claude");
    options.registry = parse_registry("[]").unwrap();
    let value = built(&favorites(false, false), &options);
    assert!(
        column(&value, "suggested_agent")
            .iter()
            .all(serde_json::Value::is_null)
    );
    assert_eq!(value["agent_registry_used"], json!([]));
}

#[test]
fn a_registry_agent_is_used_by_capability() {
    let mut options = options(false, false, false, "claude");
    options.registry = parse_registry(r#"[{"name": "pyro", "source": "github.com/acme/agents/pyro", "specialization": "Python services", "capabilities": ["assist", "write_tests"]}]"#).unwrap();
    let value = built(&favorites(false, false), &options);
    assert_eq!(
        value["tasks"][0]["suggested_agent"]["source"],
        "github.com/acme/agents/pyro"
    );
    assert_eq!(
        value["tasks"][2]["suggested_agent"],
        json!(null),
        "no Angular agent in that registry"
    );
}

fn rejected(submission: serde_json::Value, options: &Options) -> Vec<String> {
    build(&serde_json::from_value(submission).unwrap(), options)
        .err()
        .unwrap_or_default()
}

#[test]
fn every_problem_comes_back_in_one_answer_with_the_cycle_named() {
    let plain = options(false, false, false, "claude");
    let mut both = serde_json::to_value(favorites(false, false)).unwrap();
    both["tasks"][2]["depends_on"] = json!(["d"]);
    both["tasks"][1]["depends_on"] = json!(["zz"]);
    both["tasks"][0]["definition_of_done"] = json!([]);
    let problems = rejected(both, &plain);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("`definition_of_done`"), "{problems:?}");
    assert!(problems[1].contains("depends on `zz`"), "{problems:?}");
    assert!(problems[2].contains("cycle: c → d → c"), "{problems:?}");
}

#[test]
fn an_upgrade_without_its_target_is_sent_back_and_one_with_it_carries_it() {
    let plain = options(false, false, false, "claude");
    let mut upgrade = serde_json::to_value(favorites(false, false)).unwrap();
    upgrade["tasks"][1]["agent"] = json!("monty");
    upgrade["tasks"][1]["entrypoint"] = json!("upgrade");
    upgrade["tasks"][1]["target_package"] = json!("fastapi");
    let problems = rejected(upgrade.clone(), &plain);
    assert_eq!(
        problems,
        vec![
            "task `b` goes to `monty upgrade`, which needs `target_version`: set it in the task"
                .to_owned()
        ]
    );
    upgrade["tasks"][1]["target_version"] = json!("0.115");
    let built = build(&serde_json::from_value(upgrade).unwrap(), &plain).unwrap();
    let task = built
        .tasks
        .iter()
        .find(|task| task.title == "Favorites API endpoints")
        .unwrap();
    assert_eq!(task.target_version.as_deref(), Some("0.115"));
    let command =
        crate::agents::speck::entrypoints::invocation(task, std::path::Path::new("/w"), false)
            .unwrap()
            .command_line();
    assert!(
        command.starts_with("agentci monty upgrade --source /w --assignment 'Favorites API"),
        "{command}"
    );
    assert!(
        command.ends_with("--target-package fastapi --target-version 0.115"),
        "{command}"
    );
}

#[test]
fn invalid_submissions_are_rejected_with_reasons() {
    let plain = options(false, false, false, "claude");
    let mut cycle = serde_json::to_value(favorites(false, false)).unwrap();
    cycle["tasks"][2]["depends_on"] = json!(["d"]);
    assert_eq!(
        rejected(cycle, &plain),
        vec![
            "the dependencies form a cycle: c → d → c; remove one of these dependencies".to_owned()
        ]
    );

    let mut unknown = serde_json::to_value(favorites(false, false)).unwrap();
    unknown["tasks"][1]["depends_on"] = json!(["zz"]);
    assert_eq!(
        rejected(unknown, &plain),
        vec!["task `b` depends on `zz`, which is not a task id".to_owned()]
    );

    let tests_unasked = rejected(
        serde_json::to_value(favorites(true, false)).unwrap(),
        &plain,
    );
    assert_eq!(tests_unasked.len(), 3);
    assert!(
        tests_unasked[0].contains("not requested (no `--include-tests`)"),
        "{tests_unasked:?}"
    );

    let mut later = serde_json::to_value(favorites(false, false)).unwrap();
    later["tasks"][0]["depends_on"] = json!(["b"]);
    assert_eq!(
        rejected(later, &plain),
        vec![
            "task `a` (phase 1) depends on `b` of a later phase (2)".to_owned(),
            "the dependencies form a cycle: a → b → a; remove one of these dependencies".to_owned()
        ]
    );

    let missing_review = rejected(
        serde_json::to_value(favorites(false, false)).unwrap(),
        &options(false, true, false, "claude"),
    );
    assert_eq!(
        missing_review,
        vec![
            "phase 1 needs exactly one review task (found 0)".to_owned(),
            "phase 2 needs exactly one review task (found 0)".to_owned()
        ]
    );

    let mut untitled = serde_json::to_value(favorites(false, false)).unwrap();
    untitled["tasks"][0]["title"] = json!("");
    untitled["tasks"][0]["definition_of_done"] = json!([]);
    let errors = rejected(untitled, &plain);
    assert_eq!(
        errors,
        vec![
            "task `a`: `title` must not be empty".to_owned(),
            "task `a`: `definition_of_done` needs at least one non-empty, verifiable condition"
                .to_owned()
        ]
    );
}

#[test]
fn the_validator_catches_a_tampered_output() {
    let options = options(false, false, false, "claude");
    let mut value = built(&favorites(false, false), &options);
    value["tasks"][1]["suggested_model"] = json!("claude-opus-5");
    value["total_tasks"] = json!(3);
    value["tasks"][3]["depends_on"] = json!(["T009"]);
    value["execution_plan"]["phases"][0]["pr_branch"] = json!("speck/x/phase-1-a");
    let problems = validate(&value, &expectations(&options));
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

#[test]
fn the_article_jq_expressions_read_the_output() {
    let value = built(&favorites(true, true), &options(true, true, true, "claude"));
    assert_eq!(value["total_tasks"], 9);
    assert_eq!(value["execution_plan"]["total_phases"], 2);
    let mut phase_two: Vec<&serde_json::Value> = value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|task| task["phase"] == 2)
        .collect();
    phase_two.sort_by_key(|task| task["order"].as_u64());
    assert_eq!(phase_two.len(), 6);
    assert_eq!(phase_two[0]["suggested_agent"]["source"], "agentci");
    assert_eq!(phase_two[0]["suggested_agent"]["entrypoint"], "assist");
}

#[test]
fn unknown_families_are_named() {
    let error = tiers::resolve("llama", &Default::default()).unwrap_err();
    assert_eq!(
        error,
        "unknown model family `llama`; expected one of: claude, gemini, openai"
    );
}

#[test]
fn the_matrix_has_one_entry_per_phase() {
    let options = options(true, true, true, "claude");
    let decomposition = build(&favorites(true, true), &options).unwrap();
    let matrix = super::render::matrix(&decomposition);
    assert_eq!(matrix["include"].as_array().unwrap().len(), 2);
    assert_eq!(
        matrix["include"][1]["pr_branch"],
        "speck/favorites-list/phase-2-favorites-api"
    );
    assert_eq!(
        matrix["include"][1]["tasks"],
        json!(["T004", "T005", "T006", "T007", "T008", "T009"])
    );
}

#[test]
fn the_issue_comment_is_marked_and_carries_the_json() {
    let options = options(true, true, false, "claude");
    let decomposition = build(&favorites(true, true), &options).unwrap();
    let comment = super::render::issue_comment(&decomposition);
    assert!(comment.starts_with(super::render::COMMENT_MARKER));
    assert!(comment.contains("**9 tasks** in **2 phases** (3 test, 2 review)"));
    assert!(
        comment.contains(
            "| T006 | 5 | Favorite button component | impl | angie `assist` | `claude-opus-4-6` |"
        ),
        "{comment}"
    );
    let json_start = comment.find("```json\n").unwrap() + 8;
    let json_end = comment[json_start..].find("\n```").unwrap() + json_start;
    let parsed: serde_json::Value = serde_json::from_str(&comment[json_start..json_end]).unwrap();
    assert_eq!(parsed["total_tasks"], 9);
}

mod run {
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::agents::speck::entrypoints::invocation;
    use crate::agents::speck::run::{
        PhasePublisher, Publication, RunRequest, RunSummary, Status, TaskReport, TaskRun,
        TaskRunner, run,
    };
    use crate::agents::speck::tasks::Decomposition;

    /// Three independent phases of two tasks each.
    fn three_phases() -> Decomposition {
        let mut tasks = Vec::new();
        for phase in 1..=3 {
            for step in 1..=2 {
                tasks.push(json!({"id": format!("p{phase}s{step}"), "title": format!("Phase {phase} step {step}"), "description": "Write a file.", "phase": phase, "phase_name": format!("Story {phase}"), "task_type": "implementation", "estimated_complexity": "low", "depends_on": if step == 2 { vec![format!("p{phase}s1")] } else { vec![] }, "files_to_modify": [format!("story{phase}/step{step}.py")], "definition_of_done": ["file exists"], "agent": "monty"}));
            }
        }
        let submission =
            submission(json!({"feature": "three stories", "spec_summary": "s", "tasks": tasks}));
        build(&submission, &options(false, false, true, "claude")).unwrap()
    }

    /// Writes `<file>` with the list of files it saw, after every phase has started one task.
    struct FakeRunner {
        started: tokio::sync::Barrier,
        fail_title: Option<String>,
    }

    #[async_trait]
    impl TaskRunner for FakeRunner {
        async fn run(&self, run: &TaskRun<'_>) -> TaskReport {
            let (task, workspace) = (run.task, run.workspace);
            let failed = |error: &str| TaskReport {
                error: Some(error.into()),
                ..TaskReport::default()
            };
            if task.title.ends_with("step 1") {
                // Only passes when three phases run at the same time.
                if tokio::time::timeout(Duration::from_secs(20), self.started.wait())
                    .await
                    .is_err()
                {
                    return failed("phases did not run concurrently");
                }
            }
            if self.fail_title.as_deref() == Some(task.title.as_str()) {
                return failed("model gave up");
            }
            let file = workspace.join(&task.files_to_modify[0]);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let mut seen: Vec<String> = walkdir::WalkDir::new(workspace)
                .into_iter()
                .flatten()
                .filter(|entry| entry.file_type().is_file())
                .map(|entry| {
                    entry
                        .path()
                        .strip_prefix(workspace)
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            seen.sort();
            std::fs::write(file, seen.join(",")).unwrap();
            TaskReport {
                ok: true,
                report: Some(format!("wrote {}", task.files_to_modify[0])),
                ..TaskReport::default()
            }
        }
    }

    #[derive(Default)]
    struct FakePublisher {
        published: Mutex<Vec<(u32, String)>>,
    }

    #[async_trait]
    impl PhasePublisher for FakePublisher {
        async fn publish(&self, publication: &Publication<'_>) -> Result<Option<String>, String> {
            let phase = publication.phase;
            let branch = phase.pr_branch.clone().unwrap_or_default();
            self.published.lock().unwrap().push((phase.phase, branch));
            Ok(Some(format!("https://github.example/pull/{}", phase.phase)))
        }
    }

    fn run_options(source: &Path, work: &Path) -> RunRequest {
        RunRequest {
            source: source.to_path_buf(),
            phase: None,
            max_parallel: 3,
            create_pr: true,
            allow_exec: false,
            work_dir: work.to_path_buf(),
            limits: Default::default(),
        }
    }

    /// `three_phases()` run with runners that wait for each other (so the phases must run at
    /// once); the task titled `fail_title` fails.
    async fn run_three_phases(
        source: &Path,
        work: &Path,
        fail_title: Option<&str>,
    ) -> (RunSummary, Arc<FakePublisher>) {
        let runner = Arc::new(FakeRunner {
            started: tokio::sync::Barrier::new(3),
            fail_title: fail_title.map(str::to_owned),
        });
        let publisher = Arc::new(FakePublisher::default());
        let summary = run(
            &three_phases(),
            &run_options(source, work),
            runner,
            publisher.clone(),
        )
        .await
        .unwrap();
        (summary, publisher)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn phases_run_concurrently_and_tasks_chain_their_workspace() {
        let source = tempfile::tempdir().unwrap();
        std::fs::write(source.path().join("README.md"), "repo").unwrap();
        let work = tempfile::tempdir().unwrap();
        let (summary, publisher) = run_three_phases(source.path(), work.path(), None).await;
        assert_eq!((summary.succeeded, summary.failed), (3, 0));
        let second = std::fs::read_to_string(work.path().join("phase-2/story2/step2.py")).unwrap();
        assert_eq!(
            second, "README.md,story2/step1.py",
            "step 2 saw step 1's file and no other phase's"
        );
        let mut published = publisher.published.lock().unwrap().clone();
        published.sort();
        assert_eq!(
            published,
            vec![
                (1, "speck/three-stories/phase-1-story-1".to_owned()),
                (2, "speck/three-stories/phase-2-story-2".to_owned()),
                (3, "speck/three-stories/phase-3-story-3".to_owned()),
            ]
        );
        assert!(
            !source.path().join("story1").exists(),
            "the source repository is untouched"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_phase_does_not_stop_the_others() {
        let source = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let (summary, publisher) =
            run_three_phases(source.path(), work.path(), Some("Phase 2 step 1")).await;
        assert_eq!((summary.succeeded, summary.failed), (2, 1));
        let failed = &summary.phases[1];
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(
            failed
                .tasks
                .iter()
                .map(|task| task.status)
                .collect::<Vec<_>>(),
            vec![Status::Failed, Status::Skipped]
        );
        assert_eq!(failed.tasks[0].error.as_deref(), Some("model gave up"));
        assert_eq!(
            publisher.published.lock().unwrap().len(),
            2,
            "no PR for the failed phase"
        );
    }

    #[tokio::test]
    async fn an_unknown_phase_is_a_usage_error() {
        let source = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut options = run_options(source.path(), work.path());
        options.phase = Some(9);
        let runner = Arc::new(FakeRunner {
            started: tokio::sync::Barrier::new(1),
            fail_title: None,
        });
        let error = run(
            &three_phases(),
            &options,
            runner,
            Arc::new(FakePublisher::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the plan has no phase 9; its phases are: 1, 2, 3"
        );
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
    }

    #[test]
    fn tasks_become_agent_command_lines() {
        let plan = three_phases();
        let arguments = invocation(&plan.tasks[0], Path::new("/tmp/ws"), false)
            .unwrap()
            .arguments;
        assert_eq!(&arguments[..4], &["monty", "assist", "--source", "/tmp/ws"]);
        assert_eq!(arguments[4], "--assignment");
        assert!(arguments[5].starts_with(
            "Phase 1 step 1\n\nWrite a file.\n\nDefinition of done:\n- file exists\n"
        ));
    }
}
