//! speck's model steps: `specify` (a request becomes a Markdown specification), `plan` (the
//! specification becomes a technical plan grounded in the repository) and `decompose` (both become
//! a validated task decomposition). Each step is one agent run with the read-only workspace tools;
//! code checks every submission and sends what is wrong back to the model.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::agent::tools::{Access, workspace_tools};
use crate::agent::workspace::Workspace;
use crate::agent::{
    Agent, AgentSpec, Budget, BudgetKind, EventSink, Report, RunError, Submit, report_submit,
};
use crate::agents::prompt::render;
use crate::github::client::GitHub;
use crate::github::context::Repository;
use crate::github::issues::{CommentUpsert, IssueThread, read_issue, upsert_marked_comment};
use crate::llm::{Provider, Usage};

use super::decompose::{Options, build};
use super::tasks::{Decomposition, RegistryAgent, Submission};

const SYSTEM_PROMPT: &str = include_str!("prompts/system.md");
const SPECIFY_PROMPT: &str = include_str!("prompts/specify.md");
const PLAN_PROMPT: &str = include_str!("prompts/plan.md");
const DECOMPOSE_PROMPT: &str = include_str!("prompts/decompose.md");

/// The marker a specification leaves where the request does not decide something.
pub const CLARIFICATION_MARKER: &str = "[NEEDS CLARIFICATION";
/// More open questions than this and the specification decides nothing.
pub const MAX_CLARIFICATIONS: usize = 3;

pub use crate::agent::Pricing;

/// What every step runs with.
#[derive(Clone)]
pub struct Steps {
    pub provider: Arc<dyn Provider>,
    /// The repository the model explores (read-only).
    pub workspace: Arc<Workspace>,
    /// Context files (`SPECK.md`, `AGENTS.md`…), appended to the system prompt.
    pub context: String,
    pub events: EventSink,
    pub pricing: Option<Pricing>,
    /// A line per turn on stderr.
    pub progress: bool,
    /// The budget of the whole command: each step gets what the earlier ones left.
    budget: Budget,
    spent: Arc<Mutex<Spent>>,
}

/// What the steps so far used.
#[derive(Debug, Default)]
struct Spent {
    turns: u32,
    usage: Usage,
    cost_usd: f64,
    started: Option<Instant>,
}

impl Steps {
    /// Steps with no context files, no events, no pricing and no progress lines; set those
    /// fields as needed.
    pub fn new(provider: Arc<dyn Provider>, workspace: Arc<Workspace>, budget: Budget) -> Self {
        Self {
            provider,
            workspace,
            context: String::new(),
            events: EventSink::none(),
            pricing: None,
            progress: false,
            budget,
            spent: Arc::new(Mutex::new(Spent::default())),
        }
    }

    /// Steps run with a command's services: its provider, budget, events, pricing and progress.
    pub fn with_services(services: crate::agent::RunServices, workspace: Arc<Workspace>) -> Self {
        let mut steps = Self::new(services.provider, workspace, services.budget);
        steps.events = services.events;
        steps.pricing = Some(services.pricing);
        steps.progress = services.progress;
        steps
    }

    /// The budget left for the next step; a budget error once something has run out.
    fn remaining(&self) -> Result<Budget, RunError> {
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = *spent.started.get_or_insert_with(Instant::now);
        let exhausted = |which| RunError::Budget {
            which,
            turns: spent.turns,
            usage: spent.usage,
            cost_usd: spent.cost_usd,
        };
        let max_turns = self.budget.max_turns.saturating_sub(spent.turns);
        if max_turns == 0 {
            return Err(exhausted(BudgetKind::Turns));
        }
        let max_tokens = match self.budget.max_tokens {
            Some(limit) if spent.usage.total() >= limit => {
                return Err(exhausted(BudgetKind::Tokens));
            }
            limit => limit.map(|limit| limit - spent.usage.total()),
        };
        let max_cost_usd = match self.budget.max_cost_usd {
            Some(limit) if spent.cost_usd >= limit => return Err(exhausted(BudgetKind::Cost)),
            limit => limit.map(|limit| limit - spent.cost_usd),
        };
        let timeout = match self.budget.timeout {
            Some(limit) if started.elapsed() >= limit => return Err(exhausted(BudgetKind::Time)),
            limit => limit.map(|limit| limit.saturating_sub(started.elapsed())),
        };
        Ok(Budget {
            max_turns,
            max_tokens,
            max_cost_usd,
            timeout,
        })
    }

    fn record(&self, turns: u32, usage: &Usage, cost_usd: f64) {
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        spent.turns += turns;
        spent.usage.add(usage);
        spent.cost_usd += cost_usd;
    }

    fn agent(&self, verb: &str, budget: Budget) -> Agent {
        let mut agent = Agent::new(
            Arc::clone(&self.provider),
            AgentSpec {
                agent: "speck".into(),
                verb: verb.into(),
                system_prompt: SYSTEM_PROMPT.to_owned(),
            },
        )
        .tools(workspace_tools(&self.workspace, Access::ReadOnly))
        .context(self.context.clone())
        .budget(budget)
        .events(self.events.clone())
        .progress(self.progress);
        if let Some(pricing) = &self.pricing {
            let pricing = Arc::clone(pricing);
            agent = agent.pricing(move |usage| pricing(usage));
        }
        agent
    }

    async fn run<T>(&self, verb: &str, task: &str, submit: Submit<T>) -> Result<T, RunError>
    where
        T: schemars::JsonSchema + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let budget = self.remaining()?;
        let outcome = self.agent(verb, budget).run(task, submit).await?;
        self.record(outcome.turns, &outcome.usage, outcome.cost_usd);
        outcome.log_usage(&format!("speck {verb}"));
        Ok(outcome.value)
    }
}

/// Step 1: the specification of a feature request, as Markdown.
pub async fn specify(steps: &Steps, request: &str) -> anyhow::Result<String> {
    let task = specify_task(request)?;
    // No plain-text answers here: the loop accepts those without the check, and the marker rule
    // must hold. A model that answers in prose is asked once to call the tool.
    let submit = Submit::<Report>::new(
        "submit_report",
        "Submit the whole specification, in Markdown.",
    )
    .validate(|report: &Report| check_spec(&report.text));
    let report = steps.run("specify", &task, submit).await?;
    Ok(report.text.trim().to_owned())
}

/// Step 2: the technical plan of a specification, as Markdown.
pub async fn plan(steps: &Steps, spec: &str, tech_stack: Option<&str>) -> anyhow::Result<String> {
    let task = plan_task(spec, tech_stack)?;
    // The prose submit tool as is: a plain-text plan is accepted too.
    let submit = report_submit();
    let report = steps.run("plan", &task, submit).await?;
    Ok(report.text.trim().to_owned())
}

/// Step 3: the decomposition. The model's submission goes through [`build`] with `options`
/// before it is accepted, so every rule a machine can check is enforced by the loop.
pub async fn decompose(
    steps: &Steps,
    spec: &str,
    plan: &str,
    options: &Options,
) -> anyhow::Result<Decomposition> {
    let task = decompose_task(spec, plan, options)?;
    let checked = options.clone();
    let submit = Submit::<Submission>::new(
        "submit_tasks",
        "Submit the task decomposition: the feature's kebab-case name, a one-line summary and \
         every task. agentci checks it and answers with the problems to fix, if any.",
    )
    .validate(move |submission: &Submission| build(submission, &checked).map(|_| ()));
    let submission = steps.run("decompose", &task, submit).await?;
    build(&submission, options).map_err(|reasons| RunError::InvalidSubmission { reasons }.into())
}

/// What `speck decompose` starts from: the feature request, or an earlier specification and plan
/// to reuse (their steps are then skipped).
pub struct DecomposeRequest<'a> {
    pub request: Option<&'a str>,
    pub spec: Option<String>,
    pub plan: Option<String>,
    pub tech_stack: Option<&'a str>,
    pub options: &'a Options,
}

/// `speck decompose`: specify (unless a spec is given), plan (unless a plan is given), then
/// decompose, sharing one budget; `progress` hears each step start.
pub async fn decompose_all(
    steps: &Steps,
    request: DecomposeRequest<'_>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Decomposition> {
    let spec = match (request.spec, request.request) {
        (Some(spec), _) => spec,
        (None, Some(text)) => {
            progress("1/3 writing the specification");
            specify(steps, text).await?
        }
        (None, None) => {
            return Err(crate::exit::usage(
                "give the feature request or `--spec FILE`",
            ));
        }
    };
    let plan = match request.plan {
        Some(plan) => plan,
        None => {
            progress("2/3 writing the plan");
            plan(steps, &spec, request.tech_stack).await?
        }
    };
    progress("3/3 decomposing into tasks");
    decompose(steps, &spec, &plan, request.options).await
}

/// The checks a specification must pass: not empty, and at most [`MAX_CLARIFICATIONS`] open
/// questions.
pub fn check_spec(text: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if text.trim().is_empty() {
        problems
            .push("the specification is empty; submit the whole specification as `text`".into());
    }
    let open = text.matches(CLARIFICATION_MARKER).count();
    if open > MAX_CLARIFICATIONS {
        problems.push(format!(
            "the specification has {open} `{CLARIFICATION_MARKER}: …]` markers; keep at most \
             {MAX_CLARIFICATIONS}, for the questions that change the scope most, and decide the \
             others with reasonable defaults listed under Assumptions"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The first user message of `specify`.
pub fn specify_task(request: &str) -> anyhow::Result<String> {
    render(SPECIFY_PROMPT, &[("request", request.trim())]).map_err(anyhow::Error::msg)
}

/// The first user message of `plan`.
pub fn plan_task(spec: &str, tech_stack: Option<&str>) -> anyhow::Result<String> {
    let tech_stack = tech_stack
        .map(str::trim)
        .filter(|stack| !stack.is_empty())
        .map(|stack| format!("\nThe team's tech stack: {stack}. Plan within it.\n"))
        .unwrap_or_default();
    render(
        PLAN_PROMPT,
        &[("tech_stack", &tech_stack), ("spec", spec.trim())],
    )
    .map_err(anyhow::Error::msg)
}

/// The first user message of `decompose`: the rules the flags set, the agents, the spec and plan.
pub fn decompose_task(spec: &str, plan: &str, options: &Options) -> anyhow::Result<String> {
    let tests_rule = if options.include_tests {
        "- Tests are wanted: for each implementation task whose behaviour can be tested, add a \
         `test` task in the same phase that depends on it."
    } else {
        "- No `test` tasks: tests were not requested for this run."
    };
    let review_rule = if options.include_review {
        "- Reviews are wanted: exactly one `review` task per phase, covering the whole phase \
         (entrypoint `review`)."
    } else {
        "- No `review` tasks: reviews were not requested for this run."
    };
    let agents = agents_text(&options.registry);
    render(
        DECOMPOSE_PROMPT,
        &[
            ("tests_rule", tests_rule),
            ("review_rule", review_rule),
            ("agents", &agents),
            ("spec", spec.trim()),
            ("plan", plan.trim()),
        ],
    )
    .map_err(anyhow::Error::msg)
}

fn agents_text(registry: &[RegistryAgent]) -> String {
    if registry.is_empty() {
        return "No agents are registered: leave `agent` and `entrypoint` out.".into();
    }
    let mut text = String::new();
    for agent in registry {
        let _ = writeln!(
            text,
            "- `{}` ({}): {}. Entrypoints: {}.",
            agent.name,
            agent.source,
            agent.specialization,
            agent
                .capabilities
                .iter()
                .map(|capability| format!("`{}`", capability.replace('_', "-")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    text
}

/// The feature request an issue makes: the issue and its conversation ([`issue_request`]). A
/// pull request is not an issue (exit 2).
pub async fn request_from_issue(
    client: &GitHub,
    repository: &Repository,
    number: u64,
) -> anyhow::Result<String> {
    let thread = read_issue(client, repository, number).await?;
    if thread.issue.is_pull_request() {
        return Err(crate::exit::usage(format!(
            "#{number} of {repository} is a pull request, not an issue"
        )));
    }
    Ok(issue_request(&thread))
}

/// The decomposition as speck's one comment on the issue, edited in place on a re-run.
pub async fn post_decomposition(
    client: &GitHub,
    repository: &Repository,
    number: u64,
    decomposition: &Decomposition,
) -> Result<CommentUpsert, crate::github::GitHubError> {
    upsert_marked_comment(
        client,
        repository,
        number,
        super::render::COMMENT_MARKER,
        &super::render::issue_comment(decomposition),
    )
    .await
}

/// An issue and its conversation as a feature request. The text is data written by others; it
/// is redacted before it reaches a model.
pub fn issue_request(thread: &IssueThread) -> String {
    let issue = &thread.issue;
    let mut text = format!("Issue #{}: {}\n", issue.number, issue.title.trim());
    let labels = issue.label_names();
    if !labels.is_empty() {
        let _ = writeln!(text, "Labels: {}", labels.join(", "));
    }
    let body = issue.body.as_deref().unwrap_or("").trim();
    if !body.is_empty() {
        let _ = write!(text, "\n{body}\n");
    }
    let comments: Vec<_> = thread
        .comments
        .iter()
        .filter(|comment| !comment.body_text().contains(super::render::COMMENT_MARKER))
        .filter(|comment| !comment.body_text().trim().is_empty())
        .collect();
    if !comments.is_empty() {
        text.push_str("\n## Comments\n");
        for comment in comments {
            let author = comment
                .user
                .as_ref()
                .map(|user| user.login.as_str())
                .unwrap_or("someone");
            let _ = write!(text, "\n@{author}:\n{}\n", comment.body_text().trim());
        }
    }
    crate::redact::redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::speck::tasks::builtin_registry;
    use crate::agents::speck::tiers;
    use crate::github::issues::{Issue, IssueComment, User};

    fn options(tests: bool, review: bool) -> Options {
        Options {
            include_tests: tests,
            include_review: review,
            create_pr: false,
            tiers: tiers::builtin("claude").unwrap(),
            registry: builtin_registry(),
        }
    }

    #[test]
    fn each_step_gets_what_the_earlier_ones_left_of_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let steps = Steps::new(
            Arc::new(crate::llm::fake::ScriptedProvider::new(Vec::new())),
            Workspace::open(dir.path()).unwrap(),
            Budget {
                max_turns: 10,
                max_tokens: Some(1_000),
                max_cost_usd: Some(1.0),
                timeout: None,
            },
        );
        let usage = Usage {
            input_tokens: 300,
            output_tokens: 100,
            ..Usage::default()
        };
        steps.record(4, &usage, 0.25);
        let left = steps.remaining().unwrap();
        assert_eq!(left.max_turns, 6);
        assert_eq!(left.max_tokens, Some(600));
        assert_eq!(left.max_cost_usd, Some(0.75));
        assert_eq!(left.timeout, None);
        // A clone shares what was spent.
        let clone = steps.clone();
        clone.record(1, &Usage::default(), 0.75);
        match steps.remaining() {
            Err(RunError::Budget { which, turns, .. }) => {
                assert_eq!(which, BudgetKind::Cost);
                assert_eq!(turns, 5);
            }
            other => panic!(
                "expected the cost budget to be spent, got {:?}",
                other.map(|_| ())
            ),
        }
    }

    #[test]
    fn a_spec_may_leave_three_questions_open_but_not_four() {
        let three = "[NEEDS CLARIFICATION: a?] [NEEDS CLARIFICATION: b?] [NEEDS CLARIFICATION: c?]";
        assert_eq!(check_spec(three), Ok(()));
        let four = format!("{three} [NEEDS CLARIFICATION: d?]");
        let problems = check_spec(&four).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("has 4"), "{problems:?}");
        assert!(check_spec("  \n").is_err());
    }

    #[test]
    fn the_decompose_task_follows_the_flags() {
        let plain = decompose_task("SPEC TEXT", "PLAN TEXT", &options(false, false)).unwrap();
        assert!(plain.contains("No `test` tasks"));
        assert!(plain.contains("No `review` tasks"));
        assert!(plain.contains("SPEC TEXT") && plain.contains("PLAN TEXT"));
        assert!(plain.contains("- `monty` (agentci):"));
        assert!(plain.contains("`write-tests`"));
        assert!(!plain.contains("{{"));
        let full = decompose_task("s", "p", &options(true, true)).unwrap();
        assert!(full.contains("Tests are wanted"));
        assert!(full.contains("exactly one `review` task per phase"));
        let mut nobody = options(false, false);
        nobody.registry.clear();
        assert!(
            decompose_task("s", "p", &nobody)
                .unwrap()
                .contains("No agents are registered")
        );
    }

    #[test]
    fn the_plan_task_names_the_stack_only_when_given() {
        assert!(
            plan_task("s", Some("Python, FastAPI"))
                .unwrap()
                .contains("The team's tech stack: Python, FastAPI.")
        );
        assert!(!plan_task("s", Some("  ")).unwrap().contains("tech stack"));
        assert!(
            specify_task("  Add favourites \n")
                .unwrap()
                .contains("\nAdd favourites")
        );
    }

    #[test]
    fn an_issue_becomes_a_request_without_speck_s_own_comment() {
        let comment = |id, login: &str, body: &str| IssueComment {
            id,
            body: Some(body.into()),
            user: Some(User {
                login: login.into(),
            }),
            html_url: None,
            created_at: None,
        };
        let thread = IssueThread {
            issue: Issue {
                number: 42,
                title: " Favorites list ".into(),
                body: Some("Keep products for later.".into()),
                state: "open".into(),
                html_url: None,
                user: None,
                labels: Vec::new(),
                pull_request: None,
            },
            comments: vec![
                comment(1, "octocat", "Signed-in shoppers only."),
                comment(2, "github-actions[bot]", "<!-- agentci:speck -->\n## speck"),
            ],
        };
        let text = issue_request(&thread);
        assert_eq!(
            text,
            "Issue #42: Favorites list\n\nKeep products for later.\n\n## Comments\n\n@octocat:\nSigned-in shoppers only.\n"
        );
    }
}
