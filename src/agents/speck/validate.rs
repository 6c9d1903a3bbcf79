//! The strict check of a printed decomposition, over its JSON: everything the seed system's
//! acceptance validator checked (seed-agents.md §9.3), plus the ordering, tier, branch and flag
//! rules of CONTRACTS §4.2. speck runs it on its own output before printing (a failure there is a
//! bug in [`super::decompose`], never the model's), and the tests run it on every scenario.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What the run was asked for.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The family's model ids, low to high.
    pub models: [String; 3],
    pub include_tests: bool,
    pub include_review: bool,
    pub create_pr: bool,
}

/// The decomposition as JSON, after the strict validator: a failure there is a bug in agentci's
/// own code (the model's submission already passed `build`), reported with every reason.
pub fn checked_output(
    decomposition: &super::tasks::Decomposition,
    options: &super::decompose::Options,
    tiers: &super::tiers::TierTable,
) -> anyhow::Result<serde_json::Value> {
    let output = serde_json::to_value(decomposition)?;
    let [low, medium, high] = tiers.models();
    let problems = validate(
        &output,
        &Expectations {
            models: [low.to_owned(), medium.to_owned(), high.to_owned()],
            include_tests: options.include_tests,
            include_review: options.include_review,
            create_pr: options.create_pr,
        },
    );
    if problems.is_empty() {
        Ok(output)
    } else {
        Err(crate::exit::usage(format!(
            "internal error: the decomposition failed its own validation (please report this): {}",
            problems.join("; ")
        )))
    }
}

/// Every problem found; empty when the output is valid.
pub fn validate(output: &Value, expect: &Expectations) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(text);
    let text = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let int = |value: &Value, key: &str| value.get(key).and_then(Value::as_i64);

    for key in ["feature", "spec_summary"] {
        if text(output, key).is_none() {
            problem(format!("`{key}` must be a non-empty string"));
        }
    }
    let Some(tasks) = output
        .get("tasks")
        .and_then(Value::as_array)
        .filter(|tasks| !tasks.is_empty())
    else {
        problem("`tasks` must be a non-empty list".into());
        return problems;
    };
    match int(output, "total_tasks") {
        Some(total) if total == tasks.len() as i64 => {}
        _ => problem(format!(
            "`total_tasks` must be an integer equal to the number of tasks ({})",
            tasks.len()
        )),
    }
    if !output
        .get("agent_registry_used")
        .is_some_and(Value::is_array)
    {
        problem("`agent_registry_used` must be a list".into());
    }

    let ids: Vec<String> = tasks
        .iter()
        .map(|task| text(task, "id").unwrap_or_default())
        .collect();
    let mut position: BTreeMap<&str, usize> = BTreeMap::new();
    let mut order_of: BTreeMap<&str, i64> = BTreeMap::new();
    let mut phase_orders: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (at, task) in tasks.iter().enumerate() {
        let name = if ids[at].is_empty() {
            format!("#{}", at + 1)
        } else {
            ids[at].clone()
        };
        for key in ["id", "title", "description", "phase_name"] {
            if text(task, key).is_none() {
                problem(format!("task {name}: `{key}` must be a non-empty string"));
            }
        }
        if !ids[at].is_empty() && position.insert(ids[at].as_str(), at).is_some() {
            problem(format!("task id `{name}` appears twice"));
        }
        let phase = int(task, "phase");
        let order = int(task, "order");
        if phase.is_none() {
            problem(format!("task {name}: `phase` must be an integer"));
        }
        match order {
            Some(order) if order >= 1 => {
                order_of.insert(ids[at].as_str(), order);
                if let Some(phase) = phase {
                    let range = phase_orders.entry(phase).or_insert((order, order));
                    range.0 = range.0.min(order);
                    range.1 = range.1.max(order);
                }
            }
            _ => problem(format!(
                "task {name}: `order` must be an integer of at least 1"
            )),
        }
        let task_type = text(task, "task_type").unwrap_or_default();
        if !["implementation", "test", "review"].contains(&task_type.as_str()) {
            problem(format!(
                "task {name}: `task_type` must be implementation, test or review"
            ));
        }
        if task_type == "test" && !expect.include_tests {
            problem(format!(
                "task {name}: a test task without `--include-tests`"
            ));
        }
        if task_type == "review" && !expect.include_review {
            problem(format!(
                "task {name}: a review task without `--include-review`"
            ));
        }
        let complexity = text(task, "estimated_complexity").unwrap_or_default();
        if !["low", "medium", "high"].contains(&complexity.as_str()) {
            problem(format!(
                "task {name}: `estimated_complexity` must be low, medium or high"
            ));
        }
        let model = text(task, "suggested_model").unwrap_or_default();
        if !expect.models.contains(&model) {
            problem(format!(
                "task {name}: `suggested_model` `{model}` is not one of {}",
                expect.models.join(", ")
            ));
        }
        if task_type == "review" && model != expect.models[1] {
            problem(format!(
                "task {name}: a review task must use the medium tier `{}`",
                expect.models[1]
            ));
        }
        let done = task.get("definition_of_done").and_then(Value::as_array);
        if !done.is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|item| item.as_str().is_some_and(|s| !s.trim().is_empty()))
        }) {
            problem(format!(
                "task {name}: `definition_of_done` must be a non-empty list of non-empty strings"
            ));
        }
        if !task.get("parallel").is_some_and(Value::is_boolean) {
            problem(format!("task {name}: `parallel` must be a boolean"));
        }
        for key in ["depends_on", "files_to_modify", "context_needed"] {
            if !task
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().all(Value::is_string))
            {
                problem(format!("task {name}: `{key}` must be a list of strings"));
            }
        }
        if !task
            .get("story_label")
            .is_some_and(|label| label.is_null() || label.is_string())
        {
            problem(format!(
                "task {name}: `story_label` must be null or a string"
            ));
        }
        match task.get("suggested_agent") {
            Some(Value::Null) => {}
            Some(agent @ Value::Object(_)) => {
                for key in ["name", "source", "entrypoint", "reason"] {
                    if text(agent, key).is_none() {
                        problem(format!(
                            "task {name}: `suggested_agent.{key}` must be a non-empty string"
                        ));
                    }
                }
                let entrypoint = text(agent, "entrypoint").unwrap_or_default();
                if entrypoint.contains('_') || entrypoint.chars().any(|c| c.is_ascii_uppercase()) {
                    problem(format!(
                        "task {name}: entrypoint `{entrypoint}` must be kebab-case"
                    ));
                }
            }
            _ => problem(format!(
                "task {name}: `suggested_agent` must be null or an object"
            )),
        }
    }
    for (at, task) in tasks.iter().enumerate() {
        for dependency in task
            .get("depends_on")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            match position.get(dependency) {
                None => problem(format!(
                    "task {}: depends on `{dependency}`, which does not exist",
                    ids[at]
                )),
                Some(earlier) if *earlier >= at => problem(format!(
                    "task {}: depends on `{dependency}`, which does not come earlier",
                    ids[at]
                )),
                Some(_) if order_of.get(dependency) >= order_of.get(ids[at].as_str()) => {
                    problem(format!(
                        "task {}: depends on `{dependency}`, whose order is not lower",
                        ids[at]
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let mut previous_highest: Option<i64> = None;
    for (phase, (lowest, highest)) in &phase_orders {
        if previous_highest.is_some_and(|previous| *lowest <= previous) {
            problem(format!(
                "phase {phase}: its orders must all be above those of the phase before"
            ));
        }
        previous_highest = Some(*highest);
    }

    let Some(plan) = output.get("execution_plan").filter(|plan| plan.is_object()) else {
        problem("`execution_plan` must be an object".into());
        return problems;
    };
    let phases = plan
        .get("phases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if phases.is_empty() {
        problem("`execution_plan.phases` must be a non-empty list".into());
    }
    if int(plan, "total_phases") != Some(phases.len() as i64) {
        problem(format!(
            "`execution_plan.total_phases` must equal the number of phases ({})",
            phases.len()
        ));
    }
    let mut branches = BTreeSet::new();
    let mut listed = BTreeSet::new();
    for phase in &phases {
        let number = int(phase, "phase");
        let label = number.map_or_else(|| "?".to_owned(), |n| n.to_string());
        if number.is_none() {
            problem("a phase has no integer `phase`".into());
        }
        if text(phase, "name").is_none() {
            problem(format!("phase {label}: `name` must be a non-empty string"));
        }
        let members = phase
            .get("tasks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if members.is_empty() {
            problem(format!("phase {label}: `tasks` must be a non-empty list"));
        }
        for member in members.iter().filter_map(Value::as_str) {
            listed.insert(member.to_owned());
            if !position.contains_key(member) {
                problem(format!(
                    "phase {label}: lists `{member}`, which is not a task"
                ));
            }
        }
        if !phase.get("parallel").is_some_and(Value::is_boolean) {
            problem(format!("phase {label}: `parallel` must be a boolean"));
        }
        match phase.get("pr_branch") {
            Some(Value::Null) if !expect.create_pr => {}
            Some(Value::String(branch)) if expect.create_pr => {
                let well_formed = branch.starts_with("speck/")
                    && branch.contains(&format!("/phase-{label}-"))
                    && !branch
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_ascii_uppercase());
                if !well_formed {
                    problem(format!(
                        "phase {label}: `pr_branch` `{branch}` must be lowercase `speck/<feature>/phase-{label}-<slug>`"
                    ));
                }
                if !branches.insert(branch.clone()) {
                    problem(format!(
                        "phase {label}: `pr_branch` `{branch}` is not unique"
                    ));
                }
            }
            _ if expect.create_pr => problem(format!(
                "phase {label}: `pr_branch` must be a branch name with `--create-pr`"
            )),
            _ => problem(format!(
                "phase {label}: `pr_branch` must be null without `--create-pr`"
            )),
        }
        if expect.include_review {
            let reviews = tasks
                .iter()
                .filter(|task| {
                    int(task, "phase") == number
                        && text(task, "task_type").as_deref() == Some("review")
                })
                .count();
            if reviews != 1 {
                problem(format!(
                    "phase {label}: needs exactly one review task with `--include-review` (found {reviews})"
                ));
            }
        }
    }
    for id in &ids {
        if !id.is_empty() && !listed.contains(id) {
            problem(format!("task {id} is in no phase"));
        }
    }
    for key in ["critical_path", "parallelizable_groups"] {
        if !plan.get(key).is_some_and(Value::is_array) {
            problem(format!("`execution_plan.{key}` must be a list"));
        }
    }
    problems
}
