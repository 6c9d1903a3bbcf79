//! The workspace jail by real paths (issue #12 item 4): every attack of the list is refused and
//! nothing is ever written under a `.git`; new files get `0666 & ~umask`, edited files keep
//! their mode.

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::sync::Arc;

use agentci::agent::{Access, Conclusion, Tool, ToolError, Workspace, workspace_tools};
use serde_json::json;

/// A project with a real-looking git directory, a nested repository and a submodule gitfile.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for directory in [
        ".git/hooks",
        ".git/objects",
        ".git/refs",
        "sub/.git",
        "app",
        "module",
    ] {
        std::fs::create_dir_all(root.join(directory)).unwrap();
    }
    std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(root.join("sub/.git/config"), "[core]\n").unwrap();
    std::fs::write(root.join("module/.git"), "gitdir: ../.git/modules/module\n").unwrap();
    std::fs::write(root.join("app/main.py"), "print(1)\n").unwrap();
    dir
}

/// Every file under every `.git` of the tree, with its content.
fn git_snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry.file_type().is_file()
                && entry
                    .path()
                    .components()
                    .any(|part| part.as_os_str() == ".git")
        })
        .map(|entry| {
            (
                entry.path().display().to_string(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

async fn call(
    workspace: &Arc<Workspace>,
    name: &str,
    arguments: serde_json::Value,
) -> Result<String, ToolError> {
    let tool: Arc<dyn Tool> = workspace_tools(workspace, Access::ReadWrite)
        .into_iter()
        .find(|tool| tool.spec().name == name)
        .unwrap();
    tool.call(arguments).await
}

/// Write `path` through `write_file`, expect a refusal, apply the run: `.git` is unchanged.
async fn refused(dir: &Path, path: &str) -> String {
    let before = git_snapshot(dir);
    let workspace = Workspace::open(dir).unwrap();
    let error = call(
        &workspace,
        "write_file",
        json!({"path": path, "content": "#!/bin/sh\nexit 0\n"}),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ToolError::Denied(_)), "{path}: {error}");
    let edit = call(
        &workspace,
        "edit_file",
        json!({"path": path, "old_string": "[core]", "new_string": "[core]\nfsmonitor = evil"}),
    )
    .await;
    assert!(edit.is_err(), "{path}");
    assert!(
        call(&workspace, "delete_file", json!({"path": path}))
            .await
            .is_err(),
        "{path}"
    );
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert_eq!(git_snapshot(dir), before, "{path} changed a `.git`");
    error.to_string()
}

#[tokio::test]
async fn parent_components_out_of_the_root_are_refused() {
    let dir = project();
    let message = refused(dir.path(), "app/../../x").await;
    assert!(message.contains("leaves the workspace"), "{message}");
    refused(dir.path(), "app/../.git/hooks/pre-commit").await;
}

#[tokio::test]
async fn absolute_paths_are_refused() {
    let dir = project();
    let inside = dir.path().join(".git/hooks/pre-commit");
    let message = refused(dir.path(), &inside.display().to_string()).await;
    assert!(message.contains("absolute"), "{message}");
}

#[tokio::test]
async fn a_symlink_out_of_the_root_is_refused() {
    let dir = project();
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), dir.path().join("escape")).unwrap();
    symlink("../../", dir.path().join("app/up")).unwrap();
    let message = refused(dir.path(), "escape/new.txt").await;
    assert!(message.contains("outside"), "{message}");
    refused(dir.path(), "app/up/x.txt").await;
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[tokio::test]
async fn a_symlink_into_git_is_refused() {
    let dir = project();
    symlink(".git/hooks", dir.path().join("hooks-link")).unwrap();
    symlink(".git/config", dir.path().join("config-link")).unwrap();
    symlink("app/../.git", dir.path().join("git-link")).unwrap();
    let message = refused(dir.path(), "hooks-link/pre-commit").await;
    assert!(message.contains(".git"), "{message}");
    // Replacing the link itself would be allowed only if its target were.
    refused(dir.path(), "config-link").await;
    refused(dir.path(), "git-link/config").await;
    assert!(!dir.path().join(".git/hooks/pre-commit").exists());
    let workspace = Workspace::open(dir.path()).unwrap();
    assert!(
        call(&workspace, "read_file", json!({"path": "config-link"}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_nested_repository_and_a_gitfile_are_refused() {
    let dir = project();
    refused(dir.path(), "sub/.git/config").await;
    refused(dir.path(), "sub/.GIT/config").await;
    refused(dir.path(), "module/.git").await;
    refused(dir.path(), ".git/hooks/pre-commit").await;
    // A bare repository under another name is a git directory too.
    for directory in ["vendor/lib.git/objects", "vendor/lib.git/refs"] {
        std::fs::create_dir_all(dir.path().join(directory)).unwrap();
    }
    std::fs::write(
        dir.path().join("vendor/lib.git/HEAD"),
        "ref: refs/heads/main\n",
    )
    .unwrap();
    refused(dir.path(), "vendor/lib.git/config").await;
}

#[tokio::test]
async fn a_hard_link_into_git_is_replaced_not_written_through() {
    let dir = project();
    std::fs::hard_link(
        dir.path().join(".git/config"),
        dir.path().join("innocent.cfg"),
    )
    .unwrap();
    let before = git_snapshot(dir.path());
    let workspace = Workspace::open(dir.path()).unwrap();
    call(
        &workspace,
        "write_file",
        json!({"path": "innocent.cfg", "content": "[core]\nfsmonitor = evil\n"}),
    )
    .await
    .unwrap();
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("innocent.cfg")).unwrap(),
        "[core]\nfsmonitor = evil\n"
    );
    assert_eq!(git_snapshot(dir.path()), before);
}

#[tokio::test]
async fn a_symlink_inside_the_tree_still_works() {
    let dir = project();
    symlink("app", dir.path().join("source")).unwrap();
    symlink("app/main.py", dir.path().join("main-link.py")).unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    assert!(
        call(&workspace, "read_file", json!({"path": "main-link.py"}))
            .await
            .unwrap()
            .contains("print(1)")
    );
    call(
        &workspace,
        "write_file",
        json!({"path": "source/new.py", "content": "x = 1\n"}),
    )
    .await
    .unwrap();
    // The write lands at the real path, which every tool then sees.
    assert_eq!(workspace.read_text("app/new.py").unwrap(), "x = 1\n");
    call(
        &workspace,
        "write_file",
        json!({"path": "main-link.py", "content": "print(2)\n"}),
    )
    .await
    .unwrap();
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert!(dir.path().join("app/new.py").is_file());
    // The link was replaced by a file; its target is unchanged.
    assert!(
        !dir.path()
            .join("main-link.py")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app/main.py")).unwrap(),
        "print(1)\n"
    );
}

#[tokio::test]
async fn new_files_get_0644_under_umask_022_and_edited_files_keep_their_mode() {
    // The umask is process-wide: run the check in a child process with umask 022.
    let dir = project();
    std::fs::write(dir.path().join("run.sh"), "echo old\n").unwrap();
    std::fs::set_permissions(
        dir.path().join("run.sh"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" --exact workspace_jail::umask_child --nocapture --test-threads 1")
        .arg(std::env::current_exe().unwrap())
        .env("AGENTCI_UMASK_CHILD_DIR", dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mode = |path: &str| {
        std::fs::metadata(dir.path().join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("app/new/module.py"), 0o644);
    assert_eq!(mode("run.sh"), 0o750);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("run.sh")).unwrap(),
        "echo new\n"
    );
}

/// The half of the test above that runs under umask 022 (does nothing when run on its own).
#[tokio::test]
async fn umask_child() {
    let Some(dir) = std::env::var_os("AGENTCI_UMASK_CHILD_DIR") else {
        return;
    };
    let workspace = Workspace::open(Path::new(&dir)).unwrap();
    call(
        &workspace,
        "write_file",
        json!({"path": "app/new/module.py", "content": "x = 1\n"}),
    )
    .await
    .unwrap();
    call(
        &workspace,
        "write_file",
        json!({"path": "run.sh", "content": "echo new\n"}),
    )
    .await
    .unwrap();
    workspace.conclude(true, &Conclusion::Apply).unwrap();
}
