//! What a tool is to the loop. A tool owns whatever state it needs (the workspace, an MCP client,
//! a learning sink) from its construction, so calling it takes only the model's arguments.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

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

/// A tool whose arguments are one typed value: its spec comes from the type's JSON Schema and
/// its arguments are decoded (or refused as invalid) before [`TypedTool::run`] sees them.
#[async_trait]
pub trait TypedTool: Send + Sync {
    type Arguments: DeserializeOwned + JsonSchema + Send;
    const NAME: &'static str;
    /// What the model reads about the tool.
    const DESCRIPTION: &'static str;
    /// See [`Tool::read_only`].
    const READ_ONLY: bool;
    async fn run(&self, arguments: Self::Arguments) -> Result<String, ToolError>;
}

#[async_trait]
impl<T: TypedTool> Tool for T {
    fn spec(&self) -> ToolSpec {
        spec::<T::Arguments>(T::NAME, T::DESCRIPTION)
    }
    fn read_only(&self) -> bool {
        T::READ_ONLY
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        self.run(arguments(value)?).await
    }
}

/// A tool's spec from its parameter type, without the schema's title and meta-schema (noise to
/// a model, and some providers reject them).
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
