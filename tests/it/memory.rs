//! Self-improve: the `record_learning` tool, the managed learned-context block and its commit.

use std::path::{Path, PathBuf};

use agentci::agent::memory::{
    self, CommitOutcome, Learning, LearningScope, LearningSink, RecordLearning,
};
use agentci::agent::{Tool, ToolError};
use chrono::NaiveDate;
use git2::{Repository, Signature};

const HUMAN_TOP: &str = "# Monty notes\n\nWritten by humans.  Trailing spaces stay.  \n\n- a human list item (not ours): keep\n";
const HUMAN_BOTTOM: &str = "\n## Later section\n\nAdded by a human after the block.\n";

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

fn agent(text: &str) -> Learning {
    Learning {
        scope: LearningScope::Agent,
        text: text.into(),
    }
}

fn shared(text: &str) -> Learning {
    Learning {
        scope: LearningScope::Shared,
        text: text.into(),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn write_creates_then_updates_the_block_leaving_human_text_alone() {
    let root = tempfile::tempdir().unwrap();
    let monty = root.path().join("MONTY.md");
    std::fs::write(&monty, HUMAN_TOP).unwrap();

    let changed = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "run-1",
        date(23),
        &[
            agent("Pydantic v2 field validators, not v1 `@validator`"),
            agent("Tests run with `uv run pytest -q`"),
            shared("The API lives in `backend/`, the UI in `frontend/`"),
        ],
    )
    .unwrap();
    assert_eq!(changed, vec![monty.clone(), root.path().join("AGENTS.md")]);
    let created = read(&monty);
    assert!(created.starts_with(HUMAN_TOP));
    insta::assert_snapshot!("memory_block_created", created);
    insta::assert_snapshot!(
        "memory_agents_md_created",
        read(&root.path().join("AGENTS.md"))
    );

    // A human adds text after the block; the next run adds to the block in place.
    std::fs::write(&monty, format!("{created}{HUMAN_BOTTOM}")).unwrap();
    let changed = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "run-2",
        date(24),
        &[
            agent("  tests RUN with `uv run   pytest -q`  "),
            agent("Ruff is configured in `pyproject.toml`"),
        ],
    )
    .unwrap();
    assert_eq!(changed, vec![monty.clone()]);
    let updated = read(&monty);
    assert!(updated.starts_with(HUMAN_TOP), "{updated}");
    assert!(updated.ends_with(HUMAN_BOTTOM), "{updated}");
    insta::assert_snapshot!("memory_block_updated", updated);
}

#[test]
fn a_block_in_the_middle_keeps_both_sides_byte_identical() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("ANGIE.md");
    let before = "intro\r\nwindows line\r\n\n";
    let after = "\n\ttabbed tail without newline";
    std::fs::write(
        &path,
        format!(
            "{before}<!-- agentci:learned:start -->\n## Learned Context\n- 2026-11-01 (angie, run old): Use pnpm\n<!-- agentci:learned:end -->{after}"
        ),
    )
    .unwrap();
    memory::write_learnings(
        root.path(),
        "ANGIE.md",
        "angie",
        "r9",
        date(23),
        &[agent("use PNPM"), agent("Angular 19 standalone components")],
    )
    .unwrap();
    assert_eq!(
        read(&path),
        format!(
            "{before}<!-- agentci:learned:start -->\n## Learned Context\n- 2026-11-01 (angie, run old): Use pnpm\n- 2026-11-23 (angie, run r9): Angular 19 standalone components\n<!-- agentci:learned:end -->{after}"
        )
    );
}

#[test]
fn duplicates_change_nothing() {
    let root = tempfile::tempdir().unwrap();
    let learnings = [agent("Use uv"), shared("CI runs on ubuntu-24.04")];
    memory::write_learnings(root.path(), "MONTY.md", "monty", "1", date(1), &learnings).unwrap();
    let monty = read(&root.path().join("MONTY.md"));
    let again = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "2",
        date(2),
        &[agent("USE  uv"), shared("ci runs on Ubuntu-24.04")],
    )
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(read(&root.path().join("MONTY.md")), monty);
    assert_eq!(monty.matches("- 2026").count(), 1);
}

#[test]
fn the_block_is_capped_by_entries_and_bytes_dropping_the_oldest() {
    let root = tempfile::tempdir().unwrap();
    let many: Vec<Learning> = (1..=45)
        .map(|n| agent(&format!("fact number {n}")))
        .collect();
    memory::write_learnings(root.path(), "SPECK.md", "speck", "r", date(3), &many).unwrap();
    let content = read(&root.path().join("SPECK.md"));
    assert_eq!(content.matches("\n- ").count(), 40);
    assert!(!content.contains("fact number 5\n"), "{content}");
    assert!(content.contains("fact number 6\n"));
    assert!(content.contains("fact number 45\n"));

    let long: Vec<Learning> = (1..=30)
        .map(|n| agent(&format!("long fact {n:02} {}", "x".repeat(250))))
        .collect();
    memory::write_learnings(root.path(), "DAGGIE.md", "daggie", "r", date(3), &long).unwrap();
    let content = read(&root.path().join("DAGGIE.md"));
    let start = content.find(memory::BLOCK_START).unwrap();
    let end = content.find(memory::BLOCK_END).unwrap() + memory::BLOCK_END.len();
    assert!(end - start <= memory::MAX_BLOCK_BYTES, "{}", end - start);
    assert!(content.contains("long fact 30 "));
    assert!(!content.contains("long fact 01 "));
}

#[test]
fn broken_markers_are_an_error_and_the_file_is_untouched() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("MONTY.md");
    let broken = "text\n<!-- agentci:learned:start -->\n- 2026-01-01 (monty, run 1): x\n";
    std::fs::write(&path, broken).unwrap();
    let error = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "2",
        date(1),
        &[agent("y")],
    )
    .unwrap_err();
    assert!(format!("{error:#}").contains("no matching"), "{error:#}");
    assert_eq!(read(&path), broken);
}

fn commit_all(repository: &Repository, message: &str) -> git2::Oid {
    let mut index = repository.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repository.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = Signature::now("Human", "human@example.com").unwrap();
    let parent = repository
        .head()
        .ok()
        .and_then(|head| head.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repository
        .commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .unwrap()
}

#[test]
fn commit_mode_makes_one_commit_touching_only_the_context_files() {
    let root = tempfile::tempdir().unwrap();
    let repository = Repository::init(root.path()).unwrap();
    std::fs::write(root.path().join("README.md"), "# app\n").unwrap();
    std::fs::write(root.path().join("MONTY.md"), HUMAN_TOP).unwrap();
    std::fs::write(root.path().join("app.py"), "print(1)\n").unwrap();
    let before = commit_all(&repository, "initial");

    // The user's own work in progress: one staged file, one unstaged edit.
    std::fs::write(root.path().join("staged.txt"), "staged\n").unwrap();
    let mut index = repository.index().unwrap();
    index.add_path(Path::new("staged.txt")).unwrap();
    index.write().unwrap();
    std::fs::write(root.path().join("app.py"), "print(2)\n").unwrap();

    let files = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "run-7",
        date(23),
        &[agent("Use uv"), shared("Python 3.12")],
    )
    .unwrap();
    let outcome = memory::commit_learnings(root.path(), "monty", &files).unwrap();
    let CommitOutcome::Committed { commit, files } = outcome else {
        panic!("expected a commit, got {outcome:?}");
    };
    assert_eq!(
        files,
        vec![PathBuf::from("MONTY.md"), PathBuf::from("AGENTS.md")]
    );

    let head = repository.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.id().to_string(), commit);
    assert_eq!(head.parent_ids().collect::<Vec<_>>(), vec![before]);
    assert_eq!(
        head.message().unwrap(),
        "chore(monty): update context files with learned discoveries"
    );
    assert_eq!(head.author().name().unwrap(), "agentci[bot]");
    let diff = repository
        .diff_tree_to_tree(
            Some(&head.parent(0).unwrap().tree().unwrap()),
            Some(&head.tree().unwrap()),
            None,
        )
        .unwrap();
    let mut touched: Vec<String> = diff
        .deltas()
        .map(|delta| delta.new_file().path().unwrap().display().to_string())
        .collect();
    touched.sort();
    assert_eq!(touched, vec!["AGENTS.md", "MONTY.md"]);
    let committed = head
        .tree()
        .unwrap()
        .get_path(Path::new("MONTY.md"))
        .unwrap()
        .to_object(&repository)
        .unwrap()
        .peel_to_blob()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(committed.content()).unwrap(),
        read(&root.path().join("MONTY.md"))
    );

    // The user's staged file is still staged (not committed), the edit still unstaged.
    let statuses = repository.statuses(None).unwrap();
    let status_of = |path: &str| {
        statuses
            .iter()
            .find(|entry| entry.path().ok() == Some(path))
            .map(|entry| entry.status())
    };
    assert_eq!(status_of("staged.txt"), Some(git2::Status::INDEX_NEW));
    assert_eq!(status_of("app.py"), Some(git2::Status::WT_MODIFIED));
    assert_eq!(status_of("MONTY.md"), None);
    assert_eq!(status_of("AGENTS.md"), None);

    // Committing again finds nothing new.
    let again =
        memory::commit_learnings(root.path(), "monty", &[root.path().join("MONTY.md")]).unwrap();
    assert_eq!(again, CommitOutcome::NothingToCommit);
}

#[test]
fn without_git_the_files_are_written_but_not_committed() {
    let root = tempfile::tempdir().unwrap();
    let files = memory::write_learnings(
        root.path(),
        "MONTY.md",
        "monty",
        "r",
        date(23),
        &[agent("Use uv")],
    )
    .unwrap();
    let outcome = memory::commit_learnings(root.path(), "monty", &files).unwrap();
    assert_eq!(outcome, CommitOutcome::NoRepository);
    assert!(outcome.to_string().contains("not committed"));
    assert!(read(&root.path().join("MONTY.md")).contains("Use uv"));
    assert!(!root.path().join(".git").exists());
}

#[tokio::test]
async fn the_tool_validates_and_collects_learnings() {
    let sink = LearningSink::new();
    let tool = RecordLearning::new(sink.clone());
    let spec = tool.spec();
    assert_eq!(spec.name, "record_learning");
    assert!(tool.read_only());
    let schema = &spec.parameters;
    assert_eq!(schema["type"], "object");
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, vec!["scope", "text"]);
    let schema_text = schema.to_string();
    assert!(
        schema_text.contains("\"agent\"") && schema_text.contains("\"shared\""),
        "{schema_text}"
    );
    assert!(schema.get("$schema").is_none());

    let answer = tool
        .call(serde_json::json!({"scope": "shared", "text": "Deploys go through `make release`"}))
        .await
        .unwrap();
    assert!(answer.starts_with("Recorded (shared)"), "{answer}");
    let answer = tool
        .call(serde_json::json!({"scope": "shared", "text": "deploys go through `make   release`"}))
        .await
        .unwrap();
    assert!(answer.starts_with("Already recorded"), "{answer}");

    for arguments in [
        serde_json::json!({"scope": "agent", "text": ""}),
        serde_json::json!({"scope": "agent", "text": "line one\nline two"}),
        serde_json::json!({"scope": "agent", "text": "y".repeat(301)}),
        serde_json::json!({"scope": "team", "text": "x"}),
        serde_json::json!({"scope": "agent"}),
        serde_json::json!({"scope": "agent", "text": "x", "extra": 1}),
    ] {
        let error = tool.call(arguments.clone()).await.unwrap_err();
        assert!(
            matches!(error, ToolError::InvalidArguments(_)),
            "{arguments}: {error}"
        );
    }
    assert_eq!(
        sink.learnings(),
        vec![Learning {
            scope: LearningScope::Shared,
            text: "Deploys go through `make release`".into()
        }]
    );
}

#[test]
fn the_agent_file_must_be_a_plain_name_and_may_be_agents_md() {
    let root = tempfile::tempdir().unwrap();
    for bad in ["../MONTY.md", "docs/MONTY.md", "", ".."] {
        let result =
            memory::write_learnings(root.path(), bad, "monty", "r", date(1), &[agent("x y")]);
        assert!(result.is_err(), "{bad}");
    }
    let changed = memory::write_learnings(
        root.path(),
        "AGENTS.md",
        "goose",
        "r",
        date(1),
        &[agent("own fact"), shared("shared fact")],
    )
    .unwrap();
    assert_eq!(changed, vec![root.path().join("AGENTS.md")]);
    let content = read(&root.path().join("AGENTS.md"));
    assert_eq!(content.matches(memory::BLOCK_START).count(), 1);
    assert!(content.contains("own fact") && content.contains("shared fact"));
}
