//! daggie's model-driven work: the `assist` planner that drives `submit_plan`, and the `explain`,
//! `debug` and `review` runs. Each run gets daggie's system prompt, the context files of the
//! project (`DAGGIE.md`, `DAGGER.md`, `AGENTS.md`) and the tools its verb allows, nothing more:
//! `assist`, `explain` and `review` read the workspace, only `debug` may change it.
//!
//! The planner sees the assignment, the project summary and the compact catalog, never the
//! module sources: the catalog is what the scanner extracted from them, a fraction of their size,
//! and it is what the plan is validated against.

use std::path::Path;
use std::sync::Arc;

use super::PlanInput;
use super::catalog::Catalog;
use super::plan::{self, Plan, Proposal};
use crate::agent::tools::{Access, workspace_tools};
use crate::agent::workspace::Workspace;
use crate::agent::{
    Agent, AgentSpec, Report, RunOutcome, RunServices, Submit, Tool, load_context, report_submit,
};
use crate::agent::{ToolError, TypedTool};
use crate::agents::prompt;
use crate::agents::review::{self, ReviewSubmission};
use crate::llm::Usage;

pub const SYSTEM_PROMPT: &str = include_str!("prompts/system.md");
pub const ASSIST_PROMPT: &str = include_str!("prompts/assist.md");
pub const EXPLAIN_PROMPT: &str = include_str!("prompts/explain.md");
pub const DEBUG_PROMPT: &str = include_str!("prompts/debug.md");
pub const REVIEW_PROMPT: &str = include_str!("prompts/review.md");

/// daggie's own context file, and the Dagger notes it reads besides `AGENTS.md`.
pub const CONTEXT_FILE: &str = "DAGGIE.md";
pub const CONTEXT_EXTRAS: &[&str] = &["DAGGER.md"];

/// How every daggie model run is set up: the command's provider, budget, events, pricing and
/// progress ([`RunServices`]).
pub type ModelRun = RunServices;

/// An agent for one daggie verb with daggie's system prompt, the context files of `source` and
/// the command's services.
fn agent(run: &ModelRun, verb: &str, source: &Path) -> Agent {
    run.equip(
        Agent::new(
            Arc::clone(&run.provider),
            AgentSpec {
                agent: "daggie".to_string(),
                verb: verb.to_string(),
                system_prompt: SYSTEM_PROMPT.to_string(),
            },
        )
        .context(load_context(source, CONTEXT_FILE, CONTEXT_EXTRAS)),
    )
}

/// What a model run used, for the summary and `--json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunStats {
    pub run_id: String,
    pub turns: u32,
    pub usage: Usage,
    pub cost_usd: f64,
}

/// Run `agent` on `task` until it submits: what it submitted and what the run used.
async fn run_to_submit<T>(
    agent: Agent,
    task: &str,
    submit: Submit<T>,
) -> anyhow::Result<(T, RunStats)>
where
    T: schemars::JsonSchema + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let outcome: RunOutcome<T> = agent.run(task, submit).await?;
    let stats = RunStats {
        run_id: outcome.run_id.clone(),
        turns: outcome.turns,
        usage: outcome.usage,
        cost_usd: outcome.cost_usd,
    };
    Ok((outcome.value, stats))
}

fn render(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    prompt::render(template, values).map_err(anyhow::Error::msg)
}

/// The task the planner model receives: the assignment, the project summary (stacks and the
/// names of its context files, whose text travels in the system prompt) and the tiered catalog:
/// in full the modules the assignment names or whose stack fits a project directory (those the
/// offline planner would install), every other one as one line for `describe_module`.
pub fn assist_task(input: &PlanInput<'_>) -> anyhow::Result<String> {
    let full = super::offline::relevant_modules(input.assignment, input.project, input.catalog);
    render(
        ASSIST_PROMPT,
        &[
            ("assignment", input.assignment.trim()),
            ("project", &input.project.summary()),
            ("catalog", &input.catalog.render_tiered(&full)),
        ],
    )
}

/// `describe_module`: one catalog module's checks, functions and arguments in full. It reads
/// only the catalog, never the module's sources.
pub struct DescribeModule {
    catalog: Arc<Catalog>,
}

impl DescribeModule {
    pub fn new(catalog: Catalog) -> Self {
        DescribeModule {
            catalog: Arc::new(catalog),
        }
    }
}

/// `describe_module`'s parameters.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeModuleArguments {
    /// The module's name in the catalog
    module: String,
}

#[async_trait::async_trait]
impl TypedTool for DescribeModule {
    type Arguments = DescribeModuleArguments;
    const NAME: &'static str = "describe_module";
    const DESCRIPTION: &'static str = "One module of the catalog in full: its description, \
        source, checks and functions with every argument (type, default, default path, doc).";
    const READ_ONLY: bool = true;

    async fn run(&self, arguments: DescribeModuleArguments) -> Result<String, ToolError> {
        let name = arguments.module.trim();
        self.catalog.describe(name).ok_or_else(|| {
            ToolError::InvalidArguments(format!(
                "no module `{name}` in the catalog (modules: {})",
                super::quote_list(
                    self.catalog
                        .modules
                        .iter()
                        .map(|library| &library.module.name)
                )
            ))
        })
    }
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

/// Plan with the model: read-only tools on the project, `submit_plan` to finish.
pub async fn plan(run: &ModelRun, input: &PlanInput<'_>) -> anyhow::Result<Proposal> {
    let task = assist_task(input)?;
    let workspace = Workspace::open(&input.project.root)?;
    let agent = agent(run, "assist", &input.project.root)
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .tools([Arc::new(DescribeModule::new(input.catalog.clone())) as Arc<dyn Tool>]);
    let (plan, stats) = run_to_submit(agent, &task, plan_submit(input)).await?;
    let mut reasons = vec![format!(
        "planned by the model `{}` in {} turn(s), {} tokens, ${:.4} (run {})",
        run.provider.model(),
        stats.turns,
        stats.usage.total(),
        stats.cost_usd,
        stats.run_id
    )];
    let notes = plan.notes.trim();
    if !notes.is_empty() {
        reasons.push(format!("the model's notes: {notes}"));
    }
    Ok(Proposal { plan, reasons })
}

/// The compact catalog for `explain`, or a line saying there is none.
pub fn catalog_text(catalog: Option<&Catalog>) -> String {
    match catalog {
        Some(catalog) => catalog.render_text(),
        None => "(no module library given; pass `--module-url` to include one)\n".to_string(),
    }
}

/// The project's Dagger config files as facts for a prompt, read off the async threads.
async fn setup_text(root: &Path) -> anyhow::Result<String> {
    let root = root.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || super::setup::Setup::read(&root).render()).await?)
}

/// `explain`: answer a question about the project's Dagger and CI set-up, reading only.
pub async fn explain(
    run: &ModelRun,
    source: &Path,
    question: &str,
    catalog: Option<&Catalog>,
) -> anyhow::Result<(String, RunStats)> {
    let setup = setup_text(source).await?;
    let task = render(
        EXPLAIN_PROMPT,
        &[
            ("question", question.trim()),
            ("setup", &setup),
            ("catalog", &catalog_text(catalog)),
        ],
    )?;
    let workspace = Workspace::open(source)?;
    let agent = agent(run, "explain", source).tools(workspace_tools(&workspace, Access::ReadOnly));
    let (Report { text }, stats) = run_to_submit(agent, &task, report_submit()).await?;
    Ok((text, stats))
}

/// `debug`: find and fix a failing Dagger module or configuration in `workspace`. The caller
/// owns the workspace, so it can apply, diff, export or keep the changes however the run ends.
pub async fn debug(
    run: &ModelRun,
    workspace: &Arc<Workspace>,
    error_output: &str,
    extra_tools: Vec<Arc<dyn Tool>>,
) -> anyhow::Result<(String, RunStats)> {
    let setup = setup_text(workspace.root()).await?;
    let task = render(
        DEBUG_PROMPT,
        &[("error", error_output.trim_end()), ("setup", &setup)],
    )?;
    let agent = agent(run, "debug", workspace.root())
        .tools(workspace_tools(workspace, Access::ReadWrite))
        .tools(extra_tools);
    let (Report { text }, stats) = run_to_submit(agent, &task, report_submit()).await?;
    Ok((text, stats))
}

/// `review`: review the project's Dagger and CI set-up (or a diff of it), reading only.
pub async fn review(
    run: &ModelRun,
    source: &Path,
    diff: Option<&str>,
    focus: Option<&str>,
) -> anyhow::Result<(ReviewSubmission, RunStats)> {
    let focus = match focus.map(str::trim).filter(|focus| !focus.is_empty()) {
        Some(focus) => format!("Focus on: {focus}\n"),
        None => String::new(),
    };
    let diff = match diff
        .map(str::trim_end)
        .filter(|diff| !diff.trim().is_empty())
    {
        Some(diff) => format!(
            "Review this change; the files it touches are in the workspace as changed:\n\n```diff\n{diff}\n```\n"
        ),
        None => String::new(),
    };
    let setup = setup_text(source).await?;
    let task = render(
        REVIEW_PROMPT,
        &[("focus", &focus), ("diff", &diff), ("setup", &setup)],
    )?;
    let workspace = Workspace::open(source)?;
    let submit = Submit::<ReviewSubmission>::new(
        "submit_review",
        "Submit the review: `issues` (path, line, severity, text), `suggestions`, `positives`, \
         `summary`.",
    )
    .validate(review::check);
    let agent = agent(run, "review", source).tools(workspace_tools(&workspace, Access::ReadOnly));
    run_to_submit(agent, &task, submit).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::tests::{argument, function, module};
    use crate::agents::daggie::project::Project;
    use crate::scan::Role;

    #[tokio::test]
    async fn describe_module_answers_one_module_and_refuses_what_it_cannot_read() {
        let tool = DescribeModule::new(Catalog::from_modules(vec![module(
            "python-service",
            Role::Module,
            vec![function("test", true, vec![])],
        )]));
        let spec = tool.spec();
        assert_eq!(spec.name, "describe_module");
        assert_eq!(spec.parameters["required"], serde_json::json!(["module"]));

        let answer = tool
            .call(serde_json::json!({"module": " python-service "}))
            .await
            .unwrap();
        assert!(answer.contains("python-service"), "{answer}");
        let unknown = tool
            .call(serde_json::json!({"module": "node-service"}))
            .await
            .unwrap_err();
        assert_eq!(
            unknown,
            ToolError::InvalidArguments(
                "no module `node-service` in the catalog (modules: `python-service`)".into()
            )
        );
        for wrong in [serde_json::json!({}), serde_json::json!({"module": 3})] {
            let error = tool.call(wrong).await.unwrap_err();
            assert!(matches!(error, ToolError::InvalidArguments(_)), "{error:?}");
        }
    }

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
                vec![crate::scan::Argument {
                    optional: true,
                    ..argument("coverage", "Boolean")
                }],
            )],
        )]);
        let input = PlanInput {
            assignment: "  Set up CI with python-service.\n",
            project: &project,
            catalog: &catalog,
        };
        let task = assist_task(&input).unwrap();
        assert!(
            task.contains("## Assignment\n\nSet up CI with python-service.\n\n## Project"),
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
    fn every_prompt_fills_its_placeholders() {
        assert!(
            render(
                EXPLAIN_PROMPT,
                &[("question", "q"), ("setup", "s"), ("catalog", "c")]
            )
            .is_ok()
        );
        assert!(render(DEBUG_PROMPT, &[("error", "e"), ("setup", "s")]).is_ok());
        assert!(
            render(
                REVIEW_PROMPT,
                &[("focus", ""), ("diff", ""), ("setup", "s")]
            )
            .is_ok()
        );
        assert!(render(SYSTEM_PROMPT, &[]).is_ok());
        assert_eq!(
            catalog_text(None),
            "(no module library given; pass `--module-url` to include one)\n"
        );
    }
}
