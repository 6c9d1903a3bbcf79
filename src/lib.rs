//! agentci: AI at the edges of CI/CD. The binary in `main.rs` is a thin shell over this library,
//! so that integration tests (and the MCP server mode) call the same code the CLI runs.

pub mod agent;
pub mod agents;
pub mod cli;
pub mod config;
pub mod exit;
pub mod github;
pub mod llm;
pub mod progress;
pub mod providers;
pub mod redact;
pub mod scan;
pub mod server;
pub mod support;
