//! The tools that change the workspace: `edit_file`, `write_file`, `delete_file`. Changes stay in
//! the overlay until the run concludes.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::agent::tool::{ToolError, TypedTool};
use crate::agent::workspace::Workspace;

pub struct EditFile(pub Arc<Workspace>);
pub struct WriteFile(pub Arc<Workspace>);
pub struct DeleteFile(pub Arc<Workspace>);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditArguments {
    path: String,
    /// Exact text to replace, including indentation; must occur once unless `replace_all`.
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: Option<bool>,
}

#[async_trait]
impl TypedTool for EditFile {
    type Arguments = EditArguments;
    const NAME: &'static str = "edit_file";
    const DESCRIPTION: &'static str =
        "Replace exact text in a file. `old_string` must match once (or use `replace_all`).";
    const READ_ONLY: bool = false;
    async fn run(&self, args: EditArguments) -> Result<String, ToolError> {
        if args.old_string.is_empty() {
            return Err(ToolError::InvalidArguments(
                "`old_string` must not be empty; use `write_file` for new files".into(),
            ));
        }
        let text = self.0.read_text(&args.path)?;
        let count = text.matches(&args.old_string).count();
        let replace_all = args.replace_all.unwrap_or(false);
        let updated = match count {
            0 => {
                return Err(ToolError::Failed(format!(
                    "`old_string` was not found in `{}`; read the file again and copy the text exactly, with its indentation",
                    args.path
                )));
            }
            1 => text.replacen(&args.old_string, &args.new_string, 1),
            _ if replace_all => text.replace(&args.old_string, &args.new_string),
            _ => {
                return Err(ToolError::Failed(format!(
                    "`old_string` occurs {count} times in `{}`; include more surrounding lines to make it unique, or set `replace_all`",
                    args.path
                )));
            }
        };
        self.0.write_text(&args.path, &updated)?;
        Ok(format!(
            "edited `{}` ({} replacement{})",
            args.path,
            if replace_all { count } else { 1 },
            if replace_all && count > 1 { "s" } else { "" }
        ))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteArguments {
    path: String,
    /// The whole new content of the file.
    content: String,
}

#[async_trait]
impl TypedTool for WriteFile {
    type Arguments = WriteArguments;
    const NAME: &'static str = "write_file";
    const DESCRIPTION: &'static str = "Create a file or replace its whole content.";
    const READ_ONLY: bool = false;
    async fn run(&self, args: WriteArguments) -> Result<String, ToolError> {
        self.0.write_text(&args.path, &args.content)?;
        Ok(format!(
            "wrote `{}` ({} lines)",
            args.path,
            args.content.lines().count()
        ))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteArguments {
    path: String,
}

#[async_trait]
impl TypedTool for DeleteFile {
    type Arguments = DeleteArguments;
    const NAME: &'static str = "delete_file";
    const DESCRIPTION: &'static str = "Delete a file.";
    const READ_ONLY: bool = false;
    async fn run(&self, args: DeleteArguments) -> Result<String, ToolError> {
        self.0.delete(&args.path)?;
        Ok(format!("deleted `{}`", args.path))
    }
}
