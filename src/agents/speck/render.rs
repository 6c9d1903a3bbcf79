//! Renderings of a decomposition besides its JSON: a GitHub Actions matrix (one entry per phase)
//! and the Markdown summary speck comments on the issue.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::tasks::{Decomposition, TaskType};

/// Marks speck's comment on an issue, so a re-run updates it instead of adding another.
pub const COMMENT_MARKER: &str = "<!-- agentci:speck -->";

/// `{"include": [...]}`, ready for `strategy.matrix: ${{ fromJson(...) }}`: one entry per phase
/// with its number, name, branch and ordered task ids. GitHub caps a matrix at 256 entries.
/// `depends_on` names the phases an entry must wait for and `level` its dependency level (1 for
/// phases that depend on none), so a workflow can run one job per level.
pub fn matrix(decomposition: &Decomposition) -> Value {
    let graph = super::run::phase_graph(decomposition);
    let levels = super::run::phase_levels(&graph);
    let level_of = |phase: u32| {
        levels
            .iter()
            .position(|level| level.contains(&phase))
            .map_or(1, |at| at + 1)
    };
    let include: Vec<Value> = decomposition
        .execution_plan
        .phases
        .iter()
        .take(256)
        .map(|phase| {
            json!({
                "phase": phase.phase,
                "name": phase.name,
                "pr_branch": phase.pr_branch,
                "parallel": phase.parallel,
                "depends_on": graph.get(&phase.phase).cloned().unwrap_or_default(),
                "level": level_of(phase.phase),
                "tasks": phase.tasks,
            })
        })
        .collect();
    json!({ "include": include })
}

/// The issue comment: counts, a table per phase, and the JSON folded away.
pub fn issue_comment(decomposition: &Decomposition) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{COMMENT_MARKER}");
    let _ = writeln!(text, "## speck: `{}`\n", decomposition.feature);
    let _ = writeln!(text, "{}\n", decomposition.spec_summary);
    let tests = decomposition
        .tasks
        .iter()
        .filter(|task| task.task_type == TaskType::Test)
        .count();
    let reviews = decomposition
        .tasks
        .iter()
        .filter(|task| task.task_type == TaskType::Review)
        .count();
    let _ = writeln!(
        text,
        "**{} tasks** in **{} phases** ({tests} test, {reviews} review). Critical path: {}.\n",
        decomposition.total_tasks,
        decomposition.execution_plan.total_phases,
        decomposition.execution_plan.critical_path.join(" → ")
    );
    for phase in &decomposition.execution_plan.phases {
        let branch = phase
            .pr_branch
            .as_deref()
            .map(|branch| format!(" — branch `{branch}`"))
            .unwrap_or_default();
        let _ = writeln!(text, "### Phase {}: {}{branch}\n", phase.phase, phase.name);
        let _ = writeln!(text, "| id | order | task | type | agent | model |");
        let _ = writeln!(text, "|---|---|---|---|---|---|");
        for id in &phase.tasks {
            let Some(task) = decomposition.tasks.iter().find(|task| &task.id == id) else {
                continue;
            };
            let agent = task
                .suggested_agent
                .as_ref()
                .map(|agent| format!("{} `{}`", agent.name, agent.entrypoint))
                .unwrap_or_else(|| "—".into());
            let kind = match task.task_type {
                TaskType::Implementation => "impl",
                TaskType::Test => "test",
                TaskType::Review => "review",
            };
            let title = task.title.replace('|', "\\|");
            let _ = writeln!(
                text,
                "| {} | {} | {title} | {kind} | {agent} | `{}` |",
                task.id, task.order, task.suggested_model
            );
        }
        text.push('\n');
    }
    let json = serde_json::to_string_pretty(decomposition).unwrap_or_default();
    let _ = writeln!(
        text,
        "<details><summary>Decomposition JSON</summary>\n\n```json\n{json}\n```\n\n</details>"
    );
    crate::redact::redact(&text).into_owned()
}

/// `speck run --dry-run` as text: the waves of phases in start order, each task with the exact
/// command it would run or why it would be skipped.
pub fn dry_run_text(planned: &super::run::DryRun) -> String {
    let mut text = format!(
        "speck run `{}` (dry run: nothing is run)\n",
        planned.feature
    );
    for (at, wave) in planned.waves.iter().enumerate() {
        let _ = writeln!(
            text,
            "\nwave {} (these phases run at the same time):",
            at + 1
        );
        for phase in wave {
            let after = if phase.depends_on.is_empty() {
                "starts from the source".to_owned()
            } else {
                format!(
                    "starts from phase {}",
                    phase
                        .depends_on
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" + ")
                )
            };
            let _ = writeln!(
                text,
                "  phase {} {} ({after}; in {}){}",
                phase.phase,
                phase.name,
                phase.workspace.display(),
                phase
                    .pr_branch
                    .as_ref()
                    .map(|branch| format!(", branch `{branch}`"))
                    .unwrap_or_default()
            );
            for task in &phase.tasks {
                match (&task.command, &task.skipped) {
                    (Some(command), _) => {
                        let _ = writeln!(text, "    {} {}\n      $ {command}", task.id, task.title);
                    }
                    (None, reason) => {
                        let _ = writeln!(
                            text,
                            "    {} {}\n      {}",
                            task.id,
                            task.title,
                            reason.as_deref().unwrap_or("skipped")
                        );
                    }
                }
            }
        }
    }
    text
}
