//! The workspace overlay and its tools: path attacks refused, overlay semantics, the end-of-run
//! rules (apply, dry run, export, patch on failure), redaction, and `exec`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentci::agent::{
    Access, ChangeKind, Conclusion, Tool, ToolError, Workspace, exec_tool, workspace_tools,
};
use serde_json::json;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config"), "[core]\n").unwrap();
    std::fs::write(
        dir.path().join("app/auth.py"),
        "import time\n\ndef ok():\n    return True\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app/items.py"),
        "def total(items):\n    return sum(i.cost for i in items)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "# shop\n").unwrap();
    dir
}

fn tool(workspace: &Arc<Workspace>, name: &str) -> Arc<dyn Tool> {
    workspace_tools(workspace, Access::ReadWrite)
        .into_iter()
        .find(|tool| tool.spec().name == name)
        .unwrap()
}

async fn call(
    workspace: &Arc<Workspace>,
    name: &str,
    arguments: serde_json::Value,
) -> Result<String, ToolError> {
    tool(workspace, name).call(arguments).await
}

#[tokio::test]
async fn parent_paths_are_refused() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let error = call(&workspace, "read_file", json!({"path": "../x"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ToolError::Denied(message) if message.contains("leaves the workspace")),
        "{error}"
    );
    assert!(
        call(
            &workspace,
            "write_file",
            json!({"path": "app/../../x", "content": "x"})
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn absolute_paths_are_refused() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let error = call(&workspace, "read_file", json!({"path": "/etc/passwd"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ToolError::Denied(message) if message.contains("absolute")),
        "{error}"
    );
}

#[tokio::test]
async fn a_symlink_out_of_the_tree_is_refused() {
    let dir = project();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let error = call(
        &workspace,
        "read_file",
        json!({"path": "escape/secret.txt"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, ToolError::Denied(message) if message.contains("outside")),
        "{error}"
    );
    assert!(
        call(
            &workspace,
            "write_file",
            json!({"path": "escape/new.txt", "content": "x"})
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn writing_under_git_is_refused() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let error = call(
        &workspace,
        "write_file",
        json!({"path": ".git/config", "content": "[core]\nhooksPath=/tmp\n"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, ToolError::Denied(message) if message.contains(".git")),
        "{error}"
    );
    assert!(
        call(&workspace, "delete_file", json!({"path": "./.git/config"}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_very_large_file_is_read_in_parts() {
    let dir = project();
    let big: String = (1..=50_000)
        .map(|n| format!("line number {n} of a generated file\n"))
        .collect();
    std::fs::write(dir.path().join("big.txt"), big).unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let text = call(&workspace, "read_file", json!({"path": "big.txt"}))
        .await
        .unwrap();
    assert!(text.len() < 110_000);
    assert!(text.starts_with("     1\tline number 1 of"));
    assert!(
        text.ends_with("of 50000 not shown; read them with `offset: 2001`]"),
        "{}",
        &text[text.len() - 120..]
    );
    let part = call(
        &workspace,
        "read_file",
        json!({"path": "big.txt", "offset": 49_999, "limit": 5}),
    )
    .await
    .unwrap();
    assert_eq!(
        part,
        " 49999\tline number 49999 of a generated file\n 50000\tline number 50000 of a generated file\n"
    );
}

#[tokio::test]
async fn the_overlay_is_what_every_tool_sees() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    call(
        &workspace,
        "write_file",
        json!({"path": "app/new.py", "content": "NEW = 1\n"}),
    )
    .await
    .unwrap();
    call(&workspace, "delete_file", json!({"path": "README.md"}))
        .await
        .unwrap();
    assert_eq!(
        call(&workspace, "read_file", json!({"path": "app/new.py"}))
            .await
            .unwrap(),
        "     1\tNEW = 1\n"
    );
    assert_eq!(
        call(&workspace, "list_dir", json!({})).await.unwrap(),
        "app/"
    );
    assert_eq!(
        call(&workspace, "list_dir", json!({"path": "app"}))
            .await
            .unwrap(),
        "auth.py\nitems.py\nnew.py"
    );
    assert_eq!(
        call(&workspace, "glob", json!({"pattern": "**/*.py"}))
            .await
            .unwrap(),
        "app/auth.py\napp/items.py\napp/new.py"
    );
    assert_eq!(
        call(&workspace, "search", json!({"pattern": "NEW|cost"}))
            .await
            .unwrap(),
        "app/items.py:2:    return sum(i.cost for i in items)\napp/new.py:1:NEW = 1"
    );
    assert!(
        call(&workspace, "read_file", json!({"path": "README.md"}))
            .await
            .is_err()
    );
    let kinds: Vec<(String, ChangeKind)> = workspace
        .changes()
        .into_iter()
        .map(|change| (change.path, change.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("README.md".into(), ChangeKind::Deleted),
            ("app/new.py".into(), ChangeKind::Added)
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
        "# shop\n",
        "nothing touched the source yet"
    );
}

#[tokio::test]
async fn edit_file_needs_one_exact_match_unless_replace_all() {
    let dir = project();
    std::fs::write(dir.path().join("twice.py"), "x = 1\nx = 1\n").unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let none = call(
        &workspace,
        "edit_file",
        json!({"path": "app/auth.py", "old_string": "return False", "new_string": "x"}),
    )
    .await
    .unwrap_err();
    assert!(none.to_string().contains("was not found"), "{none}");
    let two = call(
        &workspace,
        "edit_file",
        json!({"path": "twice.py", "old_string": "x = 1", "new_string": "x = 2"}),
    )
    .await
    .unwrap_err();
    assert!(two.to_string().contains("occurs 2 times"), "{two}");
    call(&workspace, "edit_file", json!({"path": "twice.py", "old_string": "x = 1", "new_string": "x = 2", "replace_all": true})).await.unwrap();
    assert_eq!(workspace.read_text("twice.py").unwrap(), "x = 2\nx = 2\n");
}

async fn edited(dir: &Path) -> Arc<Workspace> {
    let workspace = Workspace::open(dir).unwrap();
    call(&workspace, "edit_file", json!({"path": "app/auth.py", "old_string": "    return True", "new_string": "    return time.time() > 0"})).await.unwrap();
    call(
        &workspace,
        "write_file",
        json!({"path": "app/deep/new.py", "content": "VALUE = 2\n"}),
    )
    .await
    .unwrap();
    call(&workspace, "delete_file", json!({"path": "README.md"}))
        .await
        .unwrap();
    workspace
}

#[tokio::test]
async fn a_successful_run_applies_atomically() {
    let dir = project();
    let workspace = edited(dir.path()).await;
    let concluded = workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert_eq!(concluded.applied.len(), 3);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/auth.py")).unwrap(),
        "import time\n\ndef ok():\n    return time.time() > 0\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/deep/new.py")).unwrap(),
        "VALUE = 2\n"
    );
    assert!(!dir.path().join("README.md").exists());
    let leftovers: Vec<_> = walkdir::WalkDir::new(dir.path())
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn a_dry_run_prints_the_diff_and_changes_nothing() {
    let dir = project();
    let workspace = edited(dir.path()).await;
    let concluded = workspace.conclude(true, &Conclusion::DryRun).unwrap();
    assert_eq!(
        concluded.diff.unwrap(),
        "diff --git a/README.md b/README.md\n--- a/README.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-# shop\n\
         diff --git a/app/auth.py b/app/auth.py\n--- a/app/auth.py\n+++ b/app/auth.py\n@@ -1,4 +1,4 @@\n import time\n \n def ok():\n-    return True\n+    return time.time() > 0\n\
         diff --git a/app/deep/new.py b/app/deep/new.py\n--- /dev/null\n+++ b/app/deep/new.py\n@@ -0,0 +1 @@\n+VALUE = 2\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/auth.py")).unwrap(),
        "import time\n\ndef ok():\n    return True\n"
    );
    assert!(dir.path().join("README.md").exists());
}

#[tokio::test]
async fn export_writes_a_changed_copy_elsewhere() {
    let dir = project();
    let workspace = edited(dir.path()).await;
    let target = tempfile::tempdir().unwrap();
    let out = target.path().join("out");
    workspace
        .conclude(true, &Conclusion::Export(out.clone()))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("app/deep/new.py")).unwrap(),
        "VALUE = 2\n"
    );
    assert!(!out.join("README.md").exists());
    assert!(!out.join(".git").exists());
    assert!(dir.path().join("README.md").exists());
    assert!(!dir.path().join("app/deep").exists());
}

#[tokio::test]
async fn a_failed_run_saves_a_patch_outside_and_touches_nothing() {
    let dir = project();
    let workspace = edited(dir.path()).await;
    let concluded = workspace.conclude(false, &Conclusion::Apply).unwrap();
    let patch = concluded.patch.unwrap();
    assert!(!patch.starts_with(dir.path()));
    assert!(concluded.applied.is_empty());
    assert!(dir.path().join("README.md").exists());
    let status = std::process::Command::new("git")
        .args(["apply", "--check"])
        .arg(&patch)
        .current_dir(dir.path())
        .status()
        .expect("git is required for this test");
    assert!(status.success(), "the patch applies to the source");
    let partial = workspace.conclude(false, &Conclusion::KeepPartial).unwrap();
    assert!(partial.patch.is_some());
    assert!(
        !dir.path().join("README.md").exists(),
        "--keep-partial applied the changes"
    );
}

#[tokio::test]
async fn planted_secrets_are_redacted_in_reads_and_searches() {
    let dir = project();
    std::fs::write(
        dir.path().join("settings.py"),
        "GITHUB = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'\n",
    )
    .unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let read = call(&workspace, "read_file", json!({"path": "settings.py"}))
        .await
        .unwrap();
    let found = call(&workspace, "search", json!({"pattern": "GITHUB"}))
        .await
        .unwrap();
    for text in [read, found] {
        assert!(
            !text.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "{text}"
        );
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}

#[tokio::test]
async fn read_only_access_has_no_writing_tools() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let names: Vec<String> = workspace_tools(&workspace, Access::ReadOnly)
        .iter()
        .map(|tool| tool.spec().name)
        .collect();
    assert_eq!(names, ["read_file", "list_dir", "glob", "search"]);
    assert!(
        workspace_tools(&workspace, Access::ReadOnly)
            .iter()
            .all(|tool| tool.read_only())
    );
}

#[tokio::test]
async fn exec_runs_allowed_commands_in_a_copy_and_changes_flow_back() {
    let dir = project();
    let workspace = Workspace::open(dir.path()).unwrap();
    let exec = exec_tool(
        &workspace,
        vec!["touch".into(), "rm".into(), "env".into(), "sleep".into()],
        vec!["env".into(), "sleep".into()],
        Duration::from_secs(2),
    );
    let denied = exec
        .call(json!({"command": "cat app/auth.py"}))
        .await
        .unwrap_err();
    assert!(matches!(denied, ToolError::Denied(_)));
    assert!(matches!(
        exec.call(json!({"command": "touch a | rm b"}))
            .await
            .unwrap_err(),
        ToolError::Denied(_)
    ));

    let output = exec
        .call(json!({"command": "touch app/created.py"}))
        .await
        .unwrap();
    assert!(output.starts_with("exit code: 0\n"), "{output}");
    assert!(
        output.contains("files changed by the command: app/created.py"),
        "{output}"
    );
    exec.call(json!({"command": "rm README.md"})).await.unwrap();
    let kinds: Vec<(String, ChangeKind)> = workspace
        .changes()
        .into_iter()
        .map(|change| (change.path, change.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("README.md".into(), ChangeKind::Deleted),
            ("app/created.py".into(), ChangeKind::Added)
        ]
    );
    assert!(
        dir.path().join("README.md").exists(),
        "the source is untouched until the run concludes"
    );

    let environment = exec.call(json!({"command": "env"})).await.unwrap();
    assert!(environment.contains("PATH="), "{environment}");
    for (name, _) in std::env::vars() {
        let upper = name.to_ascii_uppercase();
        if ["KEY", "TOKEN", "SECRET", "PASSWORD"]
            .iter()
            .any(|word| upper.contains(word))
        {
            assert!(!environment.contains(&format!("{name}=")), "{name} leaked");
        }
    }
    let slow = exec.call(json!({"command": "sleep 10"})).await.unwrap_err();
    assert!(
        slow.to_string().contains("did not finish within 2s"),
        "{slow}"
    );
}
