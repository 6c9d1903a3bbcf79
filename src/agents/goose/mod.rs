//! goose, the GCP operations agent: troubleshoot, review, deploy and upgrade Cloud Run services
//! and Firebase Hosting sites through the `gcloud` and `firebase` command-line tools. It takes a
//! typed [`GooseRequest`] (built by `cli/goose.rs`) and returns a typed [`GooseResult`]; it knows
//! nothing of clap. Mutation is explicit: see [`tools::Policy`].

pub mod backend;
pub mod context;
pub mod pack;
pub mod state;
pub mod tools;
pub mod verbs;

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::agent::LazyServices;
use crate::config::Environment;

pub use context::{ContextFlags, GcpContext};
pub use tools::Policy;
pub use verbs::run;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Assist {
        assignment: String,
    },
    Review {
        focus: Option<String>,
    },
    Troubleshoot {
        issue: String,
    },
    Deploy {
        assignment: String,
    },
    Upgrade {
        target_version: Option<String>,
        /// A path to GET on the service's URL after the change (e.g. `/health`).
        health_path: Option<String>,
    },
}

impl Verb {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Assist { .. } => "assist",
            Self::Review { .. } => "review",
            Self::Troubleshoot { .. } => "troubleshoot",
            Self::Deploy { .. } => "deploy",
            Self::Upgrade { .. } => "upgrade",
        }
    }
}

/// One goose run, as the command line (or another caller) asks for it.
#[derive(Debug, Clone)]
pub struct GooseRequest {
    pub verb: Verb,
    /// The workspace (`--source`).
    pub source: PathBuf,
    pub context: ContextFlags,
    pub policy: Policy,
    /// How long one `gcloud`/`firebase` call may take.
    pub command_timeout: Duration,
}

pub struct Runtime {
    pub environment: Environment,
    /// Resolved when a verb first needs a model (reading a service's state needs none).
    pub services: LazyServices,
}

/// `troubleshoot`'s typed report (`submit_report`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TroubleshootReport {
    pub status: ServiceStatus,
    /// One or two sentences.
    pub summary: String,
    /// The log lines that prove the cause, verbatim.
    #[serde(default)]
    pub key_log_lines: Vec<String>,
    /// What is wrong and why.
    pub root_cause: String,
    /// Concrete next steps.
    pub recommended_actions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceStatus {
    Healthy,
    Degraded,
    Down,
    Unknown,
}

/// The check after an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub passed: bool,
    pub details: Vec<String>,
}

/// What a goose run produced. `--json` prints it as it is.
#[derive(Debug, Clone, Serialize)]
pub struct GooseResult {
    pub agent: &'static str,
    pub verb: &'static str,
    pub context: GcpContext,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub troubleshoot: Option<TroubleshootReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::agents::monty::review::ReviewSubmission>,
    /// A prose report (assist, deploy, upgrade).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// `deploy` took the fast path: an image in the assignment, deployed without a model.
    pub fast_path: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<state::ServiceState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<state::ServiceState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The command that restores the traffic split from before the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
    /// Mutating commands that ran.
    pub executed: Vec<String>,
    /// Mutating commands a dry run would have run.
    pub planned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::llm::Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}
