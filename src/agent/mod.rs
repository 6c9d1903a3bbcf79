//! The agent runtime: one tool loop every agent verb runs on. [`tool`] is the contract between
//! the loop and everything that offers the model a tool (workspace tools, `exec`, MCP servers,
//! `record_learning`, submit tools).

pub mod mcp;
pub mod memory;
pub mod tool;

pub use tool::{Tool, ToolError};
