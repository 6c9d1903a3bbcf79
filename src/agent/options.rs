//! The options every workspace agent verb shares (`--source`, `--dry-run`, `--export`,
//! `--self-improve`, `--allow-exec`, `--mcp`, `--keep-partial`), as plain values resolved by `cli`.

use std::path::PathBuf;

/// Options shared by the agent verbs that work on a source tree.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The workspace the agent reads and changes.
    pub source: PathBuf,
    /// Change nothing and post nothing; print what would be written or posted.
    pub dry_run: bool,
    /// Write the changed workspace here instead of back into `source`.
    pub export: Option<PathBuf>,
    pub self_improve: SelfImprove,
    /// Let the agent run its language pack's build, test and lint commands.
    pub allow_exec: bool,
    /// `NAME=COMMAND ARGS…` (stdio) or `NAME=URL` (streamable HTTP).
    pub mcp: Vec<String>,
    /// Apply the changes of a run stopped by a budget or an error anyway.
    pub keep_partial: bool,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            source: PathBuf::from("."),
            dry_run: false,
            export: None,
            self_improve: SelfImprove::Off,
            allow_exec: false,
            mcp: Vec::new(),
            keep_partial: false,
        }
    }
}

/// What `--self-improve` does with what the agent learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelfImprove {
    /// Learn nothing.
    #[default]
    Off,
    /// Write learnings into the context files.
    Write,
    /// Write learnings and commit the context files.
    Commit,
}
