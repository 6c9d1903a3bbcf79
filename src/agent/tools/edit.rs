//! The tools that change the workspace: `edit_file`, `write_file`, `delete_file`. Changes stay in
//! the overlay until the run concludes.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{arguments, spec};
use crate::agent::tool::{Tool, ToolError};
use crate::agent::workspace::Workspace;
use crate::llm::ToolSpec;

pub struct EditFile(pub Arc<Workspace>);
pub struct WriteFile(pub Arc<Workspace>);
pub struct DeleteFile(pub Arc<Workspace>);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EditArguments {
    path: String,
    /// Exact text to replace, including indentation; must occur once unless `replace_all`.
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: Option<bool>,
}

#[async_trait]
impl Tool for EditFile {
    fn spec(&self) -> ToolSpec {
        spec::<EditArguments>(
            "edit_file",
            "Replace exact text in a file. `old_string` must match once (or use `replace_all`).",
        )
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: EditArguments = arguments(value)?;
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
struct WriteArguments {
    path: String,
    /// The whole new content of the file.
    content: String,
}

#[async_trait]
impl Tool for WriteFile {
    fn spec(&self) -> ToolSpec {
        spec::<WriteArguments>("write_file", "Create a file or replace its whole content.")
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: WriteArguments = arguments(value)?;
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
struct DeleteArguments {
    path: String,
}

#[async_trait]
impl Tool for DeleteFile {
    fn spec(&self) -> ToolSpec {
        spec::<DeleteArguments>("delete_file", "Delete a file.")
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        let args: DeleteArguments = arguments(value)?;
        self.0.delete(&args.path)?;
        Ok(format!("deleted `{}`", args.path))
    }
}
