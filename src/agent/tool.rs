//! What a tool is to the loop. A tool owns whatever state it needs (the workspace, an MCP client,
//! a learning sink) from its construction, so calling it takes only the model's arguments.

use async_trait::async_trait;

use crate::llm::ToolSpec;

#[async_trait]
pub trait Tool: Send + Sync {
    /// Name, description and JSON Schema of the parameters, as the model sees them.
    fn spec(&self) -> ToolSpec;
    /// Read-only tools issued together in one turn run concurrently; the others run in order.
    fn read_only(&self) -> bool;
    /// Run the tool. `Ok` text and `Err` messages both go back to the model as the tool result
    /// (an error flagged as such), so the model can correct itself.
    async fn call(&self, arguments: serde_json::Value) -> Result<String, ToolError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the tool's schema or make no sense (bad path, no match…).
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed.
    #[error("{0}")]
    Failed(String),
    /// The tool is not allowed in this run (not on the verb's allow-list, exec without
    /// `--allow-exec`, a path outside the workspace).
    #[error("not allowed: {0}")]
    Denied(String),
}
