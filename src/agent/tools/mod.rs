//! The built-in tools over a [`Workspace`]: reading (`read_file`, `list_dir`, `glob`, `search`),
//! changing (`edit_file`, `write_file`, `delete_file`) and, with `--allow-exec`, `exec`. Names and
//! parameters are CONTRACTS §7; each verb gets only the access it needs.

mod edit;
mod exec;
mod files;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::tool::{Tool, ToolError};
use super::workspace::Workspace;
use crate::llm::ToolSpec;

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

/// A tool's spec from its parameter type.
pub(crate) fn spec<T: JsonSchema>(name: &str, description: &str) -> ToolSpec {
    let mut parameters = crate::llm::schema::inline_refs(
        &serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default(),
    );
    if let serde_json::Value::Object(map) = &mut parameters {
        map.remove("$schema");
        map.remove("title");
    }
    ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    }
}

/// A tool call's arguments as its parameter type.
pub(crate) fn arguments<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ToolError> {
    serde_json::from_value(value).map_err(|error| ToolError::InvalidArguments(error.to_string()))
}
