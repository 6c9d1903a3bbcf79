//! `exec` on real projects (issue #12 item 5): one scratch copy per run that keeps the project's
//! dependency folders usable and persists between calls; ignored output stays out of `--source`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentci::agent::{Conclusion, Tool, Workspace, exec_tool};
use serde_json::json;

/// `sh` may install; `cat` and `ls` only read.
fn exec(workspace: &Arc<Workspace>) -> Arc<dyn Tool> {
    exec_tool(
        workspace,
        vec!["sh".into(), "cat".into(), "ls".into()],
        vec!["cat".into(), "ls".into()],
        Duration::from_secs(20),
    )
}

async fn run(tool: &Arc<dyn Tool>, command: &str) -> String {
    let output = tool.call(json!({ "command": command })).await.unwrap();
    assert!(output.starts_with("exit code: 0\n"), "{command}: {output}");
    output
}

fn python_project(git: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".venv/bin")).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(
        root.join(".venv/bin/tool"),
        "#!/bin/sh\necho venv tool ran\n",
    )
    .unwrap();
    std::fs::write(root.join("app/main.py"), "print(1)\n").unwrap();
    if git {
        std::fs::create_dir_all(root.join(".git/info")).unwrap();
        std::fs::write(root.join(".git/info/exclude"), "local-only.log\n").unwrap();
        std::fs::write(root.join(".gitignore"), "junit.xml\n.pytest_cache/\n").unwrap();
    }
    dir
}

#[tokio::test]
async fn exec_sees_the_projects_virtualenv() {
    let dir = python_project(true);
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    let output = run(&tool, "sh .venv/bin/tool").await;
    assert!(output.contains("venv tool ran"), "{output}");
    assert!(workspace.changes().is_empty());
}

/// A check reads the project's own dependency folders; an install works on the run's copy of
/// them, which later commands see, and the project's folders never change.
#[tokio::test]
async fn an_install_never_writes_into_the_projects_dependency_folders() {
    let dir = python_project(true);
    std::fs::create_dir_all(dir.path().join("node_modules/left-pad")).unwrap();
    std::fs::write(dir.path().join("node_modules/left-pad/index.js"), "v1\n").unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    let output = run(&tool, "cat node_modules/left-pad/index.js").await;
    assert!(output.contains("v1"), "{output}");
    run(
        &tool,
        "sh -c 'echo v2 > node_modules/left-pad/index.js && echo pip > .venv/bin/installed'",
    )
    .await;
    let output = run(&tool, "cat node_modules/left-pad/index.js").await;
    assert!(output.contains("v2"), "the run sees its install: {output}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("node_modules/left-pad/index.js")).unwrap(),
        "v1\n"
    );
    assert!(!dir.path().join(".venv/bin/installed").exists());
    assert!(workspace.changes().is_empty());
}

#[tokio::test]
async fn an_earlier_install_is_seen_by_a_later_command() {
    let dir = python_project(true);
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    run(
        &tool,
        "sh -c 'mkdir -p node_modules/left-pad && echo ok > node_modules/left-pad/index.js'",
    )
    .await;
    let output = run(&tool, "cat node_modules/left-pad/index.js").await;
    assert!(output.contains("ok"), "{output}");
    // A file the model writes between two commands reaches the next one.
    workspace.write_text("app/extra.py", "X = 2\n").unwrap();
    let output = run(&tool, "cat app/extra.py").await;
    assert!(output.contains("X = 2"), "{output}");
    // The install is the run's, not the project's.
    assert!(!dir.path().join("node_modules").exists());
    assert_eq!(
        workspace
            .changes()
            .iter()
            .map(|change| change.path.as_str())
            .collect::<Vec<_>>(),
        ["app/extra.py"]
    );
}

fn outputs(tool_dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = [
        "junit.xml",
        ".pytest_cache/v/cache",
        "local-only.log",
        "__pycache__/m.pyc",
        "report.txt",
    ]
    .iter()
    .filter(|path| tool_dir.join(path).exists())
    .map(|path| (*path).to_owned())
    .collect();
    found.sort();
    found
}

const MAKE_OUTPUTS: &str = "sh -c 'mkdir -p .pytest_cache/v __pycache__ && echo x > .pytest_cache/v/cache && echo x > __pycache__/m.pyc && echo suite > junit.xml && echo log > local-only.log && echo done > report.txt'";

#[tokio::test]
async fn ignored_output_stays_out_of_the_source_in_a_git_checkout() {
    let dir = python_project(true);
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    let output = run(&tool, MAKE_OUTPUTS).await;
    assert!(
        output.contains("files changed by the command: report.txt\n"),
        "{output}"
    );
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    // `__pycache__` is not in this .gitignore, but a cache never flows back.
    assert_eq!(outputs(dir.path()), ["report.txt"]);
}

#[tokio::test]
async fn ignored_output_stays_out_of_a_source_that_is_not_a_checkout() {
    let dir = python_project(false);
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    run(&tool, MAKE_OUTPUTS).await;
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    // Without git, the fixed list decides: `local-only.log` is ordinary output.
    assert_eq!(outputs(dir.path()), ["local-only.log", "report.txt"]);
}

#[tokio::test]
async fn a_command_cannot_write_into_git_through_the_copy() {
    let dir = python_project(true);
    std::fs::create_dir_all(dir.path().join("sub/.git")).unwrap();
    std::fs::write(dir.path().join("sub/.git/config"), "[core]\n").unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    run(&tool, "sh -c 'mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit && mkdir -p sub/.git && echo evil >> sub/.git/config'").await;
    workspace.conclude(true, &Conclusion::Apply).unwrap();
    assert!(!dir.path().join(".git/hooks").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sub/.git/config")).unwrap(),
        "[core]\n"
    );
}

#[tokio::test]
async fn long_output_keeps_its_tail() {
    let dir = python_project(true);
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);
    let output = run(
        &tool,
        "sh -c 'i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done'",
    )
    .await;
    assert!(
        output.contains("earlier bytes not shown"),
        "{}",
        &output[..200]
    );
    assert!(output.contains("line 4999\n"));
    assert!(output.len() < 20_000);
}

/// A virtualenv's console scripts name the project's interpreter by absolute path; once an
/// install owns the run's copy of the venv, they start the copy's interpreter (and so install
/// into the copy), in both the short and pip's long-path form.
#[cfg(unix)]
#[tokio::test]
async fn a_copied_virtualenvs_scripts_start_the_copys_interpreter() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = python_project(true);
    let venv = dir.path().join(".venv");
    let executable = |relative: &str, content: String| {
        let path = venv.join(relative);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    // The stand-in interpreter says which one the kernel started.
    executable(
        "bin/python",
        "#!/bin/sh\necho \"interpreter $0\"\n".to_owned(),
    );
    let interpreter = venv.join("bin/python").display().to_string();
    executable(
        "bin/pip",
        format!("#!{interpreter}\nimport sys\n# {interpreter} stays in the body\n"),
    );
    executable(
        "bin/pip-long",
        format!("#!/bin/sh\n'''exec' \"{interpreter}\" \"$0\" \"$@\"\n' '''\nimport sys\n"),
    );
    let workspace = Workspace::open(dir.path()).unwrap();
    let tool = exec(&workspace);

    // `sh` counts as an install: the run takes its own copy of `.venv` first.
    for script in ["pip", "pip-long"] {
        let output = run(&tool, &format!("sh -c '.venv/bin/{script}'")).await;
        let started = output
            .lines()
            .find_map(|line| line.strip_prefix("interpreter "))
            .unwrap_or_else(|| panic!("{script}: {output}"));
        assert_ne!(
            started, interpreter,
            "{script} started the project's interpreter"
        );
        assert!(started.ends_with("/.venv/bin/python"), "{started}");
        assert!(Path::new(started).exists(), "{started}");
    }
    // The project's own scripts are unchanged.
    let pip = std::fs::read_to_string(venv.join("bin/pip")).unwrap();
    assert!(pip.starts_with(&format!("#!{interpreter}\n")), "{pip}");
}
