//! The built-in tools over a [`Workspace`]: reading (`read_file`, `list_dir`, `glob`, `search`),
//! changing (`edit_file`, `write_file`, `delete_file`) and, with `--allow-exec`, `exec`. Names and
//! parameters are CONTRACTS §7; each verb gets only the access it needs.

mod edit;
mod exec;
mod files;

use std::sync::Arc;

use super::tool::Tool;
use super::workspace::Workspace;

pub use crate::support::command_allowed;
pub use exec::{DEPENDENCY_DIRECTORIES, ExecTool, NEVER_FLOWS_BACK};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// The workspace tools a verb gets.
pub fn workspace_tools(workspace: &Arc<Workspace>, access: Access) -> Vec<Arc<dyn Tool>> {
    let mut tools: Vec<Arc<dyn Tool>> = vec![
        Arc::new(files::ReadFile(Arc::clone(workspace))),
        Arc::new(files::ListDir(Arc::clone(workspace))),
        Arc::new(files::Glob(Arc::clone(workspace))),
        Arc::new(files::Search(Arc::clone(workspace))),
    ];
    if access == Access::ReadWrite {
        tools.push(Arc::new(edit::EditFile(Arc::clone(workspace))));
        tools.push(Arc::new(edit::WriteFile(Arc::clone(workspace))));
        tools.push(Arc::new(edit::DeleteFile(Arc::clone(workspace))));
    }
    tools
}

/// `exec`: allow-listed commands run in a copy of the workspace (see [`ExecTool`]).
/// `exec` for the `allowed` commands; `checks` (a subset) only read the project's dependency
/// folders, and every other command (an install) works on the run's own copy of them.
pub fn exec_tool(
    workspace: &Arc<Workspace>,
    allowed: Vec<String>,
    checks: Vec<String>,
    timeout: std::time::Duration,
) -> Arc<dyn Tool> {
    Arc::new(ExecTool::new(
        Arc::clone(workspace),
        allowed,
        checks,
        timeout,
    ))
}
