//! daggie's model-driven work: the `assist` planner that drives `submit_plan`. A run gets
//! daggie's system prompt, the context files of the project (`DAGGIE.md`, `DAGGER.md`,
//! `AGENTS.md`) and the task; its only tool is `submit_plan`.
//!
//! The planner sees the assignment, the project summary and the compact catalog, never the
//! module sources: the catalog is what the scanner extracted from them, a fraction of their size,
//! and it is what the plan is validated against.

use std::path::Path;
use std::sync::Arc;

use super::PlanInput;
use super::plan::{self, Plan, Proposal};
use crate::agent::{Agent, AgentSpec, Budget, EventSink, RunOutcome, Submit, load_context};
use crate::agents::prompt;
use crate::llm::{Provider, Usage};

pub const SYSTEM_PROMPT: &str = include_str!("prompts/system.md");
pub const ASSIST_PROMPT: &str = include_str!("prompts/assist.md");

/// daggie's own context file, and the Dagger notes it reads besides `AGENTS.md`.
pub const CONTEXT_FILE: &str = "DAGGIE.md";
pub const CONTEXT_EXTRAS: &[&str] = &["DAGGER.md"];

/// The US dollar cost of one call's usage.
pub type Pricing = Arc<dyn Fn(&Usage) -> f64 + Send + Sync>;

/// How every daggie model run is set up: the provider, the budget, the event stream, the price
/// of a call and whether to show progress.
#[derive(Clone)]
pub struct ModelRun {
    pub provider: Arc<dyn Provider>,
    pub budget: Budget,
    pub events: EventSink,
    pub pricing: Pricing,
    pub progress: bool,
}

impl ModelRun {
    /// A run with the default budget, no events, no cost and no progress lines.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        ModelRun {
            provider,
            budget: Budget::default(),
            events: EventSink::none(),
            pricing: Arc::new(|_: &Usage| 0.0),
            progress: false,
        }
    }

    /// An agent for one verb with daggie's system prompt and the context files of `source`.
    fn agent(&self, verb: &str, source: &Path) -> Agent {
        let pricing = Arc::clone(&self.pricing);
        Agent::new(
            Arc::clone(&self.provider),
            AgentSpec {
                agent: "daggie".to_string(),
                verb: verb.to_string(),
                system_prompt: SYSTEM_PROMPT.to_string(),
            },
        )
        .context(load_context(source, CONTEXT_FILE, CONTEXT_EXTRAS))
        .budget(self.budget.clone())
        .events(self.events.clone())
        .pricing(move |usage: &Usage| pricing(usage))
        .progress(self.progress)
    }
}

/// What a model run used, for the summary and `--json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunStats {
    pub run_id: String,
    pub turns: u32,
    pub usage: Usage,
    pub cost_usd: f64,
}

impl RunStats {
    fn of<T>(outcome: &RunOutcome<T>) -> Self {
        RunStats {
            run_id: outcome.run_id.clone(),
            turns: outcome.turns,
            usage: outcome.usage,
            cost_usd: outcome.cost_usd,
        }
    }
}

fn render(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    prompt::render(template, values).map_err(anyhow::Error::msg)
}

/// The task the planner model receives: the assignment, the project summary (stacks and the
/// names of its context files, whose text travels in the system prompt) and the compact catalog.
pub fn assist_task(input: &PlanInput<'_>) -> anyhow::Result<String> {
    render(
        ASSIST_PROMPT,
        &[
            ("assignment", input.assignment.trim()),
            ("project", &input.project.summary()),
            ("catalog", &input.catalog.render_text()),
        ],
    )
}

/// The `submit_plan` tool: a [`Plan`] whose semantic check is [`plan::validate`] against this
/// catalog and project, so every unknown module, function or argument, misplaced default path
/// or missing deploy argument goes back to the model by name.
pub fn plan_submit(input: &PlanInput<'_>) -> Submit<Plan> {
    let catalog = input.catalog.clone();
    let project = input.project.clone();
    Submit::new(
        "submit_plan",
        "Submit the CI plan: the toolchains to install with their customizations, the deploy \
         steps, the fix agents and notes. agentci checks every reference against the catalog and \
         the project and answers with the problems, if any.",
    )
    .validate(move |plan: &Plan| plan::validate(plan, &catalog, &project))
}

/// Plan with the model: everything it needs is in the task, `submit_plan` finishes.
pub async fn plan(run: &ModelRun, input: &PlanInput<'_>) -> anyhow::Result<Proposal> {
    let task = assist_task(input)?;
    let outcome = run
        .agent("assist", &input.project.root)
        .run(&task, plan_submit(input))
        .await?;
    let stats = RunStats::of(&outcome);
    let mut reasons = vec![format!(
        "planned by the model `{}` in {} turn(s), {} tokens, ${:.4} (run {})",
        run.provider.model(),
        stats.turns,
        stats.usage.total(),
        stats.cost_usd,
        stats.run_id
    )];
    let notes = outcome.value.notes.trim();
    if !notes.is_empty() {
        reasons.push(format!("the model's notes: {notes}"));
    }
    Ok(Proposal {
        plan: outcome.value,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::Catalog;
    use crate::agents::daggie::catalog::tests::{argument, function, module};
    use crate::agents::daggie::project::Project;
    use crate::scan::Role;

    #[test]
    fn the_assist_task_holds_the_assignment_the_project_and_the_catalog() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(temp.path().join("backend")).unwrap();
        std::fs::write(temp.path().join("backend/pyproject.toml"), "").unwrap();
        std::fs::write(temp.path().join("DAGGER.md"), "Deploy to europe-west1.\n").unwrap();
        let project = Project::detect(temp.path()).unwrap();
        let catalog = Catalog::from_modules(vec![module(
            "python-service",
            Role::Module,
            vec![function(
                "test",
                true,
                vec![argument("coverage", "Boolean")],
            )],
        )]);
        let input = PlanInput {
            assignment: "  Set up CI.\n",
            project: &project,
            catalog: &catalog,
        };
        let task = assist_task(&input).unwrap();
        assert!(
            task.contains("## Assignment\n\nSet up CI.\n\n## Project"),
            "{task}"
        );
        assert!(
            task.contains("- backend/: python (pyproject.toml)"),
            "{task}"
        );
        assert!(task.contains("Context files: DAGGER.md"), "{task}");
        assert!(task.contains("## python-service"), "{task}");
        assert!(task.contains(&catalog.render_text()), "{task}");
        // The context file's text goes to the system prompt, not twice into the task.
        assert!(!task.contains("europe-west1"), "{task}");
    }

    #[test]
    fn the_system_prompt_has_no_placeholders() {
        assert_eq!(render(SYSTEM_PROMPT, &[]).unwrap(), SYSTEM_PROMPT);
    }
}
