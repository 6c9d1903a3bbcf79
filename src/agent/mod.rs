//! The agent runtime: one tool loop every agent verb runs on. [`tool`] is the contract between
//! the loop and everything that offers the model a tool (workspace tools, `exec`, MCP servers,
//! `record_learning`, submit tools); [`run`] is the loop.

pub mod budget;
pub mod context;
pub mod events;
pub mod mcp;
pub mod memory;
pub mod options;
pub mod run;
pub mod services;
pub mod submit;
pub mod tool;
pub mod tools;
pub mod workspace;

pub use budget::{Budget, BudgetKind};
pub use context::load_context;
pub use events::EventSink;
pub use options::{AgentOptions, SelfImprove};
pub use run::{Agent, AgentSpec, RunError, RunOutcome};
pub use services::{LazyServices, Pricing, RunServices};
pub use submit::{Report, Submit, report_submit};
pub use tool::{Tool, ToolError, TypedTool};
pub use tools::{Access, exec_tool, workspace_tools};
pub use workspace::{Change, ChangeKind, Concluded, Conclusion, Workspace};
