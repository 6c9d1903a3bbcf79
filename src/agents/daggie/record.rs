//! The plan a generated `ci.yml` records about itself: the last line of the file holds the plan
//! and the rendering choices (action version, provider variables, module-library token) as one
//! JSON comment, so that `--check` re-renders without a model and regeneration can tell the
//! toolchains and customizations daggie wrote from those a person added by hand.

use serde::{Deserialize, Serialize};

use super::plan::Plan;
use super::render::{ActionPins, ProviderEnv};

/// The comment line prefix that carries the record.
pub const RECORD_PREFIX: &str = "# daggie-plan: ";

/// Everything the generated files were rendered from, besides the catalog and the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub plan: Plan,
    /// The `dagger/dagger-for-github` version the workflow pins.
    pub action_version: String,
    /// The versions of GitHub's own actions.
    #[serde(default)]
    pub actions: ActionPins,
    /// The provider variables the fix steps pass.
    pub provider: ProviderEnv,
    /// The repository secret that reads private module libraries, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules_token: Option<String>,
    /// Whether the fix job verifies its suggestions (`--verify-fixes`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify_fixes: bool,
}

impl Recorded {
    /// The record as the workflow's last lines.
    pub fn to_comment(&self) -> anyhow::Result<String> {
        Ok(format!(
            "# The plan this file was generated from: `--check` re-renders it without a model.\n\
             {RECORD_PREFIX}{}\n",
            serde_json::to_string(self)?
        ))
    }

    /// The plan the generated workflow of the project at `source` records, if it has one.
    pub fn read(source: &std::path::Path) -> Option<Recorded> {
        let text = std::fs::read_to_string(source.join(super::WORKFLOW_PATH)).ok()?;
        Recorded::from_workflow(&text)
    }

    /// The record in a workflow's text, if it has a readable one.
    pub fn from_workflow(text: &str) -> Option<Recorded> {
        text.lines().rev().find_map(|line| {
            let json = line.strip_prefix(RECORD_PREFIX)?;
            match serde_json::from_str(json) {
                Ok(recorded) => Some(recorded),
                Err(error) => {
                    tracing::warn!("the workflow's plan record is unreadable: {error}");
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::plan::ToolchainPlan;

    #[test]
    fn a_record_round_trips_through_the_workflow_text() {
        let recorded = Recorded {
            plan: Plan {
                toolchains: vec![ToolchainPlan {
                    module: "python-service".into(),
                    name: "backend".into(),
                    customizations: vec![],
                    ignore_checks: vec![],
                }],
                notes: "a note with \"quotes\"\nand a line break".into(),
                ..Plan::default()
            },
            action_version: "v8.4.1".into(),
            actions: ActionPins::default(),
            provider: ProviderEnv::default(),
            modules_token: None,
            verify_fixes: false,
        };
        let text = format!("name: CI\n{}", recorded.to_comment().unwrap());
        assert_eq!(text.lines().count(), 3);
        assert_eq!(Recorded::from_workflow(&text), Some(recorded));
        assert_eq!(Recorded::from_workflow("name: CI\n"), None);
        assert_eq!(Recorded::from_workflow("# daggie-plan: {broken\n"), None);
    }
}
