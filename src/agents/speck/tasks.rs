//! The types of a decomposition: what the model submits through `submit_tasks` (CONTRACTS §7) and
//! what speck prints (CONTRACTS §4.2). Field order is JSON order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tiers::Complexity;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    Implementation,
    Test,
    Review,
}

/// The model's submission. Ids are the model's own references; code renumbers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Short kebab-case name of the feature.
    pub feature: String,
    /// One line saying what the feature does.
    pub spec_summary: String,
    pub tasks: Vec<SubmittedTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmittedTask {
    /// Your reference for this task (e.g. `T1`); `depends_on` uses these.
    pub id: String,
    /// Under 80 characters.
    pub title: String,
    /// Specific enough for a coding agent to do the task alone.
    pub description: String,
    /// Phase number, from 1: setup, foundation, one phase per user story, polish.
    pub phase: u32,
    pub phase_name: String,
    pub task_type: TaskType,
    pub estimated_complexity: Complexity,
    /// Ids of tasks that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Real paths, relative to the repository root, this task creates or changes.
    #[serde(default)]
    pub files_to_modify: Vec<String>,
    /// Verifiable conditions.
    pub definition_of_done: Vec<String>,
    /// `US1`, `US2`… for story tasks; null for setup and foundation.
    #[serde(default)]
    pub story_label: Option<String>,
    /// Files or facts the agent should read first.
    #[serde(default)]
    pub context_needed: Vec<String>,
    /// The agent you suggest, by registry name.
    #[serde(default)]
    pub agent: Option<String>,
    /// The agent's entrypoint you suggest (`assist`, `write-tests`, `review`, `build`, `upgrade`,
    /// `debug`).
    #[serde(default)]
    pub entrypoint: Option<String>,
    /// For `upgrade`: the package to upgrade (monty; angie upgrades Angular itself).
    #[serde(default)]
    pub target_package: Option<String>,
    /// For `upgrade`: the version to upgrade to.
    #[serde(default)]
    pub target_version: Option<String>,
    /// For `debug`: the failing command's output to start from.
    #[serde(default)]
    pub error_text: Option<String>,
}

/// One agent a task can be given to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryAgent {
    pub name: String,
    pub source: String,
    pub specialization: String,
    pub capabilities: Vec<String>,
}

impl RegistryAgent {
    /// Does the agent have this entrypoint? Capabilities may be written `write_tests` or
    /// `write-tests`.
    pub fn can(&self, entrypoint: &str) -> bool {
        let wanted = entrypoint.replace('_', "-");
        self.capabilities
            .iter()
            .any(|capability| capability.replace('_', "-") == wanted)
    }
}

/// The agents agentci ships, used when no `--agents` registry is given.
pub fn builtin_registry() -> Vec<RegistryAgent> {
    let coder = ["assist", "review", "write-tests", "build", "upgrade"];
    vec![
        RegistryAgent {
            name: "monty".into(),
            source: "agentci".into(),
            specialization: "Python backends: FastAPI, Flask, Django, pytest, ruff, mypy".into(),
            capabilities: coder.map(String::from).to_vec(),
        },
        RegistryAgent {
            name: "angie".into(),
            source: "agentci".into(),
            specialization:
                "Angular and TypeScript frontends: components, services, Karma/Jest/Vitest, ESLint"
                    .into(),
            capabilities: coder.map(String::from).to_vec(),
        },
        RegistryAgent {
            name: "daggie".into(),
            source: "agentci".into(),
            specialization: "Dagger modules, dagger.json toolchains and CI workflows".into(),
            capabilities: ["assist", "explain", "debug", "review"]
                .map(String::from)
                .to_vec(),
        },
    ]
}

/// Parse and check a `--agents` registry.
pub fn parse_registry(text: &str) -> Result<Vec<RegistryAgent>, String> {
    let registry: Vec<RegistryAgent> = serde_json::from_str(text)
        .map_err(|error| format!("`--agents` is not a valid agent registry: {error}"))?;
    let mut names = std::collections::BTreeSet::new();
    for agent in &registry {
        for (field, value) in [
            ("name", &agent.name),
            ("source", &agent.source),
            ("specialization", &agent.specialization),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`--agents`: an agent has an empty `{field}`"));
            }
        }
        if agent.capabilities.is_empty() {
            return Err(format!(
                "`--agents`: agent `{}` has no capabilities",
                agent.name
            ));
        }
        if !names.insert(agent.name.clone()) {
            return Err(format!("`--agents`: agent `{}` appears twice", agent.name));
        }
    }
    Ok(registry)
}

/// The decomposition speck prints (CONTRACTS §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decomposition {
    pub feature: String,
    pub spec_summary: String,
    pub total_tasks: usize,
    pub tasks: Vec<Task>,
    pub agent_registry_used: Vec<AgentUse>,
    pub execution_plan: ExecutionPlan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub order: u32,
    pub phase: u32,
    pub phase_name: String,
    pub title: String,
    pub description: String,
    pub definition_of_done: Vec<String>,
    pub estimated_complexity: Complexity,
    pub suggested_model: String,
    pub suggested_agent: Option<SuggestedAgent>,
    pub parallel: bool,
    pub depends_on: Vec<String>,
    pub story_label: Option<String>,
    pub task_type: TaskType,
    pub files_to_modify: Vec<String>,
    pub context_needed: Vec<String>,
    /// The inputs an entrypoint needs beyond the task's text (`upgrade`: `target_version`, and
    /// `target_package` for monty; `debug`: `error_text`). Absent when not needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedAgent {
    pub name: String,
    pub source: String,
    pub entrypoint: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUse {
    pub name: String,
    pub source: String,
    pub specialization: String,
    pub tasks_assigned: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPlan {
    pub total_phases: usize,
    pub phases: Vec<Phase>,
    pub critical_path: Vec<String>,
    pub parallelizable_groups: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub phase: u32,
    pub name: String,
    pub tasks: Vec<String>,
    /// True when no task of this phase depends on a task of another phase, so the phase can run
    /// alongside the others (one CI matrix job per phase).
    pub parallel: bool,
    pub pr_branch: Option<String>,
}

/// A decomposition file: JSON of the printed shape whose phases name existing tasks.
pub fn parse_decomposition(text: &str) -> Result<Decomposition, String> {
    let decomposition: Decomposition = serde_json::from_str(text)
        .map_err(|error| format!("not a speck decomposition: {error}"))?;
    if decomposition.tasks.is_empty() {
        return Err("the decomposition has no tasks".into());
    }
    for phase in &decomposition.execution_plan.phases {
        if let Some(missing) = phase
            .tasks
            .iter()
            .find(|id| !decomposition.tasks.iter().any(|task| &task.id == *id))
        {
            return Err(format!(
                "phase {} lists task `{missing}`, which is not in `tasks`",
                phase.phase
            ));
        }
    }
    Ok(decomposition)
}
