//! Bounded reads (issue #12 item 9): `read_file` streams ranges and cuts huge lines with a
//! marker; `search` caps its results.

use std::sync::Arc;

use agentci::agent::{Access, Tool, Workspace, workspace_tools};
use serde_json::json;

async fn call(workspace: &Arc<Workspace>, name: &str, arguments: serde_json::Value) -> String {
    let tool: Arc<dyn Tool> = workspace_tools(workspace, Access::ReadOnly)
        .into_iter()
        .find(|tool| tool.spec().name == name)
        .unwrap();
    tool.call(arguments).await.unwrap()
}

#[tokio::test]
async fn a_line_over_100_kb_is_read_cut_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(150_000);
    std::fs::write(
        dir.path().join("bundle.min.js"),
        format!("first\n{huge}\nlast\r\n"),
    )
    .unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let text = call(&workspace, "read_file", json!({"path": "bundle.min.js"})).await;
    assert!(
        text.starts_with("     1\tfirst\n     2\txxxx"),
        "{}",
        &text[..40]
    );
    assert!(
        text.contains("[… line cut: 150000 bytes]\n     3\tlast\n"),
        "{}",
        &text[text.len() - 80..]
    );
    assert!(text.len() < 10_000);
    let part = call(
        &workspace,
        "read_file",
        json!({"path": "bundle.min.js", "offset": 3}),
    )
    .await;
    assert_eq!(part, "     3\tlast\n");
}

#[tokio::test]
async fn search_caps_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..1_000).map(|n| format!("needle {n}\n")).collect();
    std::fs::write(dir.path().join("many.txt"), text).unwrap();
    std::fs::write(
        dir.path().join("wide.txt"),
        format!("{} needle\n", "y".repeat(200_000)),
    )
    .unwrap();
    let workspace = Workspace::open(dir.path()).unwrap();
    let found = call(&workspace, "search", json!({"pattern": "needle \\d+"})).await;
    let lines: Vec<&str> = found.lines().collect();
    assert_eq!(lines.len(), 201, "{found}");
    assert!(lines[200].contains("more matches not shown"));
    let wide = call(
        &workspace,
        "search",
        json!({"pattern": "y+", "path": "wide.txt"}),
    )
    .await;
    assert!(
        wide.starts_with("wide.txt:1:yyy") && wide.len() < 1_000,
        "{}",
        wide.len()
    );
}
