//! Helpers shared by the integration tests: provider settings, the wire formats of every
//! provider as their real APIs frame them, a raw HTTP server that can stall or cut a stream, and
//! copying a fixture tree.
#![allow(dead_code)]

pub mod git_http;
pub mod llm;
pub mod raw_server;
pub mod wire;

/// Copy the fixture tree at `from` into `to` with the project's own tree copy.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    agentci::support::copy_tree(from, to, &[]).unwrap();
}
