//! From a model's task submission to the decomposition speck prints. The model decides *what*
//! the tasks are; this code decides everything a machine can check or compute: ids, dependency
//! sanity (exist, no cycle, never on a later phase), orders and phases by the rules of
//! CONTRACTS §4.2, parallelism from dependencies and shared files, the critical path, model tiers,
//! agents by capability, and PR branch names. What it cannot accept goes back to the model as a
//! list of reasons.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::tasks::{
    AgentUse, Decomposition, ExecutionPlan, Phase, RegistryAgent, Submission, SubmittedTask,
    SuggestedAgent, Task, TaskType,
};
use super::tiers::{Complexity, TierTable};

pub const MAX_TITLE_CHARS: usize = 80;

#[derive(Debug, Clone)]
pub struct Options {
    pub include_tests: bool,
    pub include_review: bool,
    pub create_pr: bool,
    pub tiers: TierTable,
    /// The agents tasks may go to; empty means every `suggested_agent` is null.
    pub registry: Vec<RegistryAgent>,
}

/// Build the decomposition, or say everything that is wrong with the submission.
pub fn build(submission: &Submission, options: &Options) -> Result<Decomposition, Vec<String>> {
    // Every problem goes back in one answer: the field checks, a cycle (named by its tasks) and
    // the inputs the assigned entrypoints need.
    let mut errors = check(submission, options);
    let tasks = &submission.tasks;
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(at, task)| (task.id.as_str(), at))
        .collect();
    let mut depends: Vec<Vec<usize>> = tasks
        .iter()
        .map(|task| {
            task.depends_on
                .iter()
                .filter_map(|id| index.get(id.as_str()).copied())
                .collect()
        })
        .collect();

    // Phases renumbered 1..N in the order of the model's numbers.
    let phase_numbers: BTreeSet<u32> = tasks.iter().map(|task| task.phase).collect();
    let phase_of: BTreeMap<u32, u32> = phase_numbers
        .iter()
        .zip(1..)
        .map(|(old, new)| (*old, new))
        .collect();
    let phase = |at: usize| phase_of.get(&tasks[at].phase).copied().unwrap_or(1);

    // A review covers everything its phase implements and tests.
    for at in 0..tasks.len() {
        if tasks[at].task_type == TaskType::Review {
            depends[at] = (0..tasks.len())
                .filter(|other| {
                    phase(*other) == phase(at) && tasks[*other].task_type != TaskType::Review
                })
                .collect();
        }
    }

    if let Some(cycle) = find_cycle(&depends) {
        let names: Vec<&str> = cycle.iter().map(|at| tasks[*at].id.as_str()).collect();
        errors.push(format!(
            "the dependencies form a cycle: {}; remove one of these dependencies",
            names.join(" → ")
        ));
    }
    let agents = assign_agents(tasks, &depends, options);
    errors.extend(input_problems(tasks, &agents));
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(topological) = topological_order(&depends) else {
        return Err(vec!["the dependencies form a cycle".into()]);
    };

    // Levels within each phase: implementation, then tests, then the review; a task comes after
    // its dependencies in the same group, and after any task of its level it shares a file with.
    let mut level = vec![0u32; tasks.len()];
    let mut phase_levels: BTreeMap<u32, u32> = BTreeMap::new();
    for group in [TaskType::Implementation, TaskType::Test, TaskType::Review] {
        let offsets = phase_levels.clone();
        for &at in &topological {
            if tasks[at].task_type != group {
                continue;
            }
            let offset = offsets.get(&phase(at)).copied().unwrap_or(0);
            let mut candidate = depends[at]
                .iter()
                .filter(|dep| phase(**dep) == phase(at) && tasks[**dep].task_type == group)
                .map(|dep| level[*dep] + 1)
                .max()
                .unwrap_or(offset + 1);
            while (0..tasks.len()).any(|other| {
                other != at
                    && level[other] == candidate
                    && phase(other) == phase(at)
                    && shares_files(&tasks[at], &tasks[other])
            }) {
                candidate += 1;
            }
            level[at] = candidate;
            let highest = phase_levels.entry(phase(at)).or_insert(0);
            *highest = (*highest).max(candidate);
        }
    }

    // Global orders: every order of phase N above every order of phase N-1.
    let mut phase_offset: BTreeMap<u32, u32> = BTreeMap::new();
    let mut running = 0;
    for (number, highest) in &phase_levels {
        phase_offset.insert(*number, running);
        running += highest;
    }
    let order = |at: usize| phase_offset.get(&phase(at)).copied().unwrap_or(0) + level[at];

    let mut final_order: Vec<usize> = (0..tasks.len()).collect();
    final_order.sort_by_key(|at| (phase(*at), order(*at), *at));
    let new_id: HashMap<usize, String> = final_order
        .iter()
        .enumerate()
        .map(|(position, at)| (*at, format!("T{:03}", position + 1)))
        .collect();
    let id = |at: usize| new_id.get(&at).cloned().unwrap_or_default();

    let mut same_order: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &at in &final_order {
        same_order.entry(order(at)).or_default().push(at);
    }

    let mut built: Vec<Task> = Vec::new();
    for &at in &final_order {
        let task = &tasks[at];
        let mut dependency_ids: Vec<String> = depends[at].iter().map(|dep| id(*dep)).collect();
        dependency_ids.sort();
        built.push(Task {
            id: id(at),
            order: order(at),
            phase: phase(at),
            phase_name: phase_name(tasks, task.phase),
            title: task.title.trim().to_owned(),
            description: task.description.trim().to_owned(),
            definition_of_done: task
                .definition_of_done
                .iter()
                .map(|item| item.trim().to_owned())
                .collect(),
            estimated_complexity: task.estimated_complexity,
            suggested_model: options.tiers.model(tier(tasks, &depends, at)).to_owned(),
            suggested_agent: agents[at].clone(),
            parallel: same_order
                .get(&order(at))
                .is_some_and(|group| group.len() > 1),
            depends_on: dependency_ids,
            story_label: task
                .story_label
                .clone()
                .filter(|label| !label.trim().is_empty()),
            task_type: task.task_type,
            files_to_modify: task.files_to_modify.clone(),
            context_needed: task.context_needed.clone(),
            target_package: clean(&task.target_package),
            target_version: clean(&task.target_version),
            error_text: clean(&task.error_text),
        });
    }

    let feature = slug(&submission.feature, 60);
    let phases = phase_of
        .iter()
        .map(|(old, new)| {
            let members: Vec<usize> = final_order
                .iter()
                .copied()
                .filter(|at| phase(*at) == *new)
                .collect();
            let name = phase_name(tasks, *old);
            Phase {
                phase: *new,
                tasks: members.iter().map(|at| id(*at)).collect(),
                parallel: members
                    .iter()
                    .all(|at| depends[*at].iter().all(|dep| phase(*dep) == *new)),
                pr_branch: options
                    .create_pr
                    .then(|| format!("speck/{feature}/phase-{new}-{}", slug(&name, 40))),
                name,
            }
        })
        .collect::<Vec<_>>();

    let agent_registry_used = options
        .registry
        .iter()
        .map(|agent| AgentUse {
            name: agent.name.clone(),
            source: agent.source.clone(),
            specialization: agent.specialization.clone(),
            tasks_assigned: built
                .iter()
                .filter(|task| {
                    task.suggested_agent
                        .as_ref()
                        .is_some_and(|assigned| assigned.name == agent.name)
                })
                .count(),
        })
        .collect();

    Ok(Decomposition {
        feature,
        spec_summary: submission.spec_summary.trim().to_owned(),
        total_tasks: built.len(),
        execution_plan: ExecutionPlan {
            total_phases: phases.len(),
            critical_path: critical_path(tasks, &depends, &topological)
                .into_iter()
                .map(id)
                .collect(),
            parallelizable_groups: same_order
                .values()
                .filter(|group| group.len() > 1)
                .map(|group| group.iter().map(|at| id(*at)).collect())
                .collect(),
            phases,
        },
        tasks: built,
        agent_registry_used,
    })
}

/// Everything wrong with a submission that does not need the dependency graph to be sound.
fn check(submission: &Submission, options: &Options) -> Vec<String> {
    let mut errors = Vec::new();
    if slug(&submission.feature, 60).is_empty() {
        errors.push("`feature` must be a short kebab-case name".into());
    }
    if submission.spec_summary.trim().is_empty() {
        errors.push("`spec_summary` must not be empty".into());
    }
    if submission.tasks.is_empty() {
        errors.push("`tasks` must not be empty".into());
    }
    let tasks = &submission.tasks;
    let mut ids = BTreeSet::new();
    for task in tasks {
        if task.id.trim().is_empty() {
            errors.push(format!("task `{}` has an empty `id`", task.title));
        } else if !ids.insert(task.id.as_str()) {
            errors.push(format!("task id `{}` is used twice", task.id));
        }
    }
    let by_id: HashMap<&str, &SubmittedTask> =
        tasks.iter().map(|task| (task.id.as_str(), task)).collect();
    for task in tasks {
        let name = &task.id;
        for (field, value) in [
            ("title", &task.title),
            ("description", &task.description),
            ("phase_name", &task.phase_name),
        ] {
            if value.trim().is_empty() {
                errors.push(format!("task `{name}`: `{field}` must not be empty"));
            }
        }
        if task.title.chars().count() > MAX_TITLE_CHARS {
            errors.push(format!(
                "task `{name}`: `title` is longer than {MAX_TITLE_CHARS} characters"
            ));
        }
        if task.phase == 0 {
            errors.push(format!("task `{name}`: phases are numbered from 1"));
        }
        if task.definition_of_done.is_empty()
            || task
                .definition_of_done
                .iter()
                .any(|item| item.trim().is_empty())
        {
            errors.push(format!("task `{name}`: `definition_of_done` needs at least one non-empty, verifiable condition"));
        }
        match task.task_type {
            TaskType::Test if !options.include_tests => {
                errors.push(format!("task `{name}` is a test task, but test tasks were not requested (no `--include-tests`)"))
            }
            TaskType::Review if !options.include_review => {
                errors.push(format!("task `{name}` is a review task, but review tasks were not requested (no `--include-review`)"))
            }
            _ => {}
        }
        for dependency in &task.depends_on {
            let Some(target) = by_id.get(dependency.as_str()) else {
                errors.push(format!(
                    "task `{name}` depends on `{dependency}`, which is not a task id"
                ));
                continue;
            };
            if dependency == name {
                errors.push(format!("task `{name}` depends on itself"));
            } else if target.phase > task.phase {
                errors.push(format!(
                    "task `{name}` (phase {}) depends on `{dependency}` of a later phase ({})",
                    task.phase, target.phase
                ));
            } else if target.phase == task.phase
                && task.task_type == TaskType::Implementation
                && target.task_type != TaskType::Implementation
            {
                errors.push(format!("implementation task `{name}` cannot depend on the {} task `{dependency}` of its own phase: tests and reviews come after implementation", type_name(target.task_type)));
            }
        }
        if task.task_type == TaskType::Test
            && !task.depends_on.iter().any(|dependency| {
                by_id.get(dependency.as_str()).is_some_and(|target| {
                    target.phase == task.phase && target.task_type == TaskType::Implementation
                })
            })
        {
            errors.push(format!("test task `{name}` must depend on the implementation task(s) of phase {} it covers", task.phase));
        }
    }
    if options.include_review {
        let phases: BTreeSet<u32> = tasks.iter().map(|task| task.phase).collect();
        for phase in phases {
            let reviews = tasks
                .iter()
                .filter(|task| task.phase == phase && task.task_type == TaskType::Review)
                .count();
            if reviews != 1 {
                errors.push(format!(
                    "phase {phase} needs exactly one review task (found {reviews})"
                ));
            }
        }
    }
    if options.include_tests
        && !tasks.iter().any(|task| task.task_type == TaskType::Test)
        && tasks
            .iter()
            .any(|task| task.task_type == TaskType::Implementation)
    {
        errors.push(
            "test tasks were requested (`--include-tests`) but the submission has none".into(),
        );
    }
    errors
}

fn type_name(task_type: TaskType) -> &'static str {
    match task_type {
        TaskType::Implementation => "implementation",
        TaskType::Test => "test",
        TaskType::Review => "review",
    }
}

fn phase_name(tasks: &[SubmittedTask], phase: u32) -> String {
    tasks
        .iter()
        .find(|task| task.phase == phase && !task.phase_name.trim().is_empty())
        .map(|task| task.phase_name.trim().to_owned())
        .unwrap_or_else(|| format!("Phase {phase}"))
}

fn shares_files(a: &SubmittedTask, b: &SubmittedTask) -> bool {
    a.files_to_modify.iter().any(|file| {
        b.files_to_modify
            .iter()
            .any(|other| normalise(file) == normalise(other))
    })
}

fn normalise(path: &str) -> String {
    path.trim().trim_start_matches("./").to_ascii_lowercase()
}

fn clean(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The inputs the assigned entrypoints need and the tasks lack: `speck run` could not start them.
fn input_problems(tasks: &[SubmittedTask], agents: &[Option<SuggestedAgent>]) -> Vec<String> {
    let mut problems = Vec::new();
    for (task, agent) in tasks.iter().zip(agents) {
        let Some(agent) = agent else { continue };
        if agent.source != super::entrypoints::AGENTCI {
            continue;
        }
        let inputs = super::entrypoints::Inputs {
            target_package: task.target_package.as_deref(),
            target_version: task.target_version.as_deref(),
            error_text: task.error_text.as_deref(),
        };
        let missing = super::entrypoints::missing(&agent.name, &agent.entrypoint, &inputs);
        if !missing.is_empty() {
            problems.push(format!(
                "task `{}` goes to `{} {}`, which needs `{}`: set {} in the task",
                task.id,
                agent.name,
                agent.entrypoint,
                missing.join("`, `"),
                if missing.len() == 1 { "it" } else { "them" }
            ));
        }
    }
    problems
}

/// One cycle of the dependency graph, as the tasks on it with the first repeated at the end;
/// `None` when there is none. A task depending on itself is reported by [`check`] instead.
pub fn find_cycle(depends: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; depends.len()];
    for start in 0..depends.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Depth-first with an explicit stack of (task, next dependency to look at).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (at, ref mut next)) = stack.last_mut() {
            let dependency = depends[at]
                .iter()
                .copied()
                .filter(|dep| *dep != at)
                .nth(*next);
            *next += 1;
            match dependency {
                None => {
                    mark[at] = Mark::Done;
                    stack.pop();
                }
                Some(dep) if mark[dep] == Mark::Open => {
                    let from = stack.iter().position(|(task, _)| *task == dep)?;
                    let mut cycle: Vec<usize> =
                        stack[from..].iter().map(|(task, _)| *task).collect();
                    cycle.push(dep);
                    return Some(cycle);
                }
                Some(dep) if mark[dep] == Mark::New => {
                    mark[dep] = Mark::Open;
                    stack.push((dep, 0));
                }
                Some(_) => {}
            }
        }
    }
    None
}

/// Kahn's algorithm, stable by submission order; `None` on a cycle.
fn topological_order(depends: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut remaining: Vec<usize> = depends.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); depends.len()];
    for (at, deps) in depends.iter().enumerate() {
        for dep in deps {
            dependents[*dep].push(at);
        }
    }
    let mut ready: BTreeSet<usize> = (0..depends.len())
        .filter(|at| remaining[*at] == 0)
        .collect();
    let mut order = Vec::with_capacity(depends.len());
    while let Some(at) = ready.pop_first() {
        order.push(at);
        for dependent in &dependents[at] {
            remaining[*dependent] -= 1;
            if remaining[*dependent] == 0 {
                ready.insert(*dependent);
            }
        }
    }
    (order.len() == depends.len()).then_some(order)
}

/// The tier a task's model comes from: reviews are medium; tests one tier above the hardest
/// implementation task they cover; implementation tasks their own complexity.
fn tier(tasks: &[SubmittedTask], depends: &[Vec<usize>], at: usize) -> Complexity {
    match tasks[at].task_type {
        TaskType::Review => Complexity::Medium,
        TaskType::Implementation => tasks[at].estimated_complexity,
        TaskType::Test => depends[at]
            .iter()
            .filter(|dep| tasks[**dep].task_type == TaskType::Implementation)
            .map(|dep| tasks[*dep].estimated_complexity)
            .max()
            .unwrap_or(tasks[at].estimated_complexity)
            .above(),
    }
}

/// The heaviest chain of dependencies, weighting each task by its complexity.
fn critical_path(
    tasks: &[SubmittedTask],
    depends: &[Vec<usize>],
    topological: &[usize],
) -> Vec<usize> {
    let mut best: Vec<(u32, Option<usize>)> = vec![(0, None); tasks.len()];
    for &at in topological {
        let (weight, previous) = depends[at]
            .iter()
            .map(|dep| (best[*dep].0, Some(*dep)))
            .max_by_key(|(weight, dep)| (*weight, std::cmp::Reverse(*dep)))
            .unwrap_or((0, None));
        best[at] = (weight + tasks[at].estimated_complexity.weight(), previous);
    }
    let Some(mut end) = (0..tasks.len()).max_by_key(|at| (best[*at].0, std::cmp::Reverse(*at)))
    else {
        return Vec::new();
    };
    let mut path = vec![end];
    while let Some(previous) = best[end].1 {
        path.push(previous);
        end = previous;
    }
    path.reverse();
    path
}

/// Words that tie a task to a stack, by file extension or name.
fn stack_hints(task: &SubmittedTask) -> BTreeSet<&'static str> {
    let mut hints = BTreeSet::new();
    for file in &task.files_to_modify {
        let lower = file.to_ascii_lowercase();
        let extension = lower.rsplit('.').next().unwrap_or_default();
        match extension {
            "py" | "pyi" => hints.extend(["python"]),
            "ts" | "tsx" | "html" | "scss" | "css" => hints.extend(["typescript", "angular"]),
            "js" | "jsx" | "mjs" => hints.extend(["javascript", "typescript"]),
            "go" => hints.extend(["go"]),
            "rs" => hints.extend(["rust"]),
            "java" | "kt" => hints.extend(["java"]),
            _ => {}
        }
        if lower.ends_with("dagger.json")
            || lower.contains(".dagger/")
            || lower.contains(".github/workflows")
        {
            hints.extend(["dagger", "ci"]);
        }
        if lower.ends_with("pyproject.toml") || lower.ends_with("requirements.txt") {
            hints.insert("python");
        }
        if lower.ends_with("angular.json") || lower.ends_with("package.json") {
            hints.extend(["angular", "typescript"]);
        }
    }
    let text = format!("{} {}", task.title, task.description).to_ascii_lowercase();
    for word in [
        "python",
        "fastapi",
        "flask",
        "django",
        "pytest",
        "angular",
        "typescript",
        "component",
        "dagger",
        "workflow",
    ] {
        if text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| token == word)
        {
            hints.insert(match word {
                "fastapi" | "flask" | "django" | "pytest" => "python",
                "component" => "angular",
                "workflow" => "ci",
                other => other,
            });
        }
    }
    hints
}

fn entrypoint(task: &SubmittedTask) -> String {
    match task.task_type {
        TaskType::Test => "write-tests".into(),
        TaskType::Review => "review".into(),
        TaskType::Implementation => match task
            .entrypoint
            .as_deref()
            .map(|name| name.trim().replace('_', "-"))
        {
            Some(name) if ["assist", "build", "upgrade", "debug"].contains(&name.as_str()) => name,
            _ => "assist".into(),
        },
    }
}

fn assign_agents(
    tasks: &[SubmittedTask],
    depends: &[Vec<usize>],
    options: &Options,
) -> Vec<Option<SuggestedAgent>> {
    let mut assigned: Vec<Option<SuggestedAgent>> = vec![None; tasks.len()];
    if options.registry.is_empty() {
        return assigned;
    }
    let suggest = |agent: &RegistryAgent, entrypoint: &str, reason: String| SuggestedAgent {
        name: agent.name.clone(),
        source: agent.source.clone(),
        entrypoint: entrypoint.to_owned(),
        reason,
    };
    // Implementation first, so that tests and reviews can follow the agent of what they cover.
    let mut sequence: Vec<usize> = (0..tasks.len()).collect();
    sequence.sort_by_key(|at| (tasks[*at].task_type, *at));
    for at in sequence {
        let task = &tasks[at];
        let wanted = entrypoint(task);
        let able: Vec<&RegistryAgent> = options
            .registry
            .iter()
            .filter(|agent| agent.can(&wanted) && super::entrypoints::startable(agent, &wanted))
            .collect();
        if let Some(name) = &task.agent
            && let Some(agent) = able.iter().find(|agent| agent.name == *name)
        {
            assigned[at] = Some(suggest(
                agent,
                &wanted,
                format!("suggested by the plan; `{}` has `{wanted}`", agent.name),
            ));
            continue;
        }
        if task.task_type != TaskType::Implementation {
            let covered = depends[at]
                .iter()
                .filter_map(|dep| assigned[*dep].as_ref().map(|agent| agent.name.clone()));
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for name in covered {
                *counts.entry(name).or_default() += 1;
            }
            let most = counts
                .into_iter()
                .max_by_key(|(_, count)| *count)
                .map(|(name, _)| name);
            if let Some(agent) = most.and_then(|name| able.iter().find(|agent| agent.name == name))
            {
                let what = if task.task_type == TaskType::Test {
                    "tests"
                } else {
                    "reviews"
                };
                assigned[at] = Some(suggest(
                    agent,
                    &wanted,
                    format!("{what} the work `{}` implements in this phase", agent.name),
                ));
                continue;
            }
        }
        let hints = stack_hints(task);
        let scored = able
            .iter()
            .map(|agent| {
                let specialization =
                    format!("{} {}", agent.name, agent.specialization).to_ascii_lowercase();
                let words: BTreeSet<&str> = specialization
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .collect();
                let matched: Vec<&str> = hints
                    .iter()
                    .copied()
                    .filter(|hint| words.contains(hint))
                    .collect();
                (matched.len(), *agent, matched)
            })
            .filter(|(score, _, _)| *score > 0)
            .max_by_key(|(score, agent, _)| {
                (
                    *score,
                    std::cmp::Reverse(options.registry.iter().position(|a| a.name == agent.name)),
                )
            });
        if let Some((_, agent, matched)) = scored {
            assigned[at] = Some(suggest(
                agent,
                &wanted,
                format!(
                    "the task's files and text point to {}, which `{}` specialises in",
                    matched.join(", "),
                    agent.name
                ),
            ));
        }
    }
    assigned
}

pub use crate::support::slug;
