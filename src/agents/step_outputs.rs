//! What each command hands GitHub Actions when it ends, built from its typed result: step outputs
//! (`$GITHUB_OUTPUT`), a job summary (`$GITHUB_STEP_SUMMARY`) and `::error` annotations. Every
//! function does nothing outside Actions (`GITHUB_ACTIONS` not `true`). The names of the outputs
//! are a contract: `action.yml` maps them and `docs/github.md` documents them.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::agents::daggie::{AssistReport, FileStatus, OutputMode};
use crate::agents::monty::failures::{Failure, Layout};
use crate::agents::monty::fix::failure_annotations;
use crate::agents::monty::suggest::{Output as FixOutput, OutputSuggestion};
use crate::agents::speck::render::matrix;
use crate::agents::speck::tasks::Decomposition;
use crate::github::actions::{StepReport, in_actions};
use crate::github::client::{EnvSource, ProcessEnv};
use crate::github::context::GitHubContext;

fn yes_no(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// `daggie assist`: `changed` (`true` when a file was written, would be written with
/// `--dry-run`, or is stale with `--check`) and `files` (those paths, one per line).
pub fn daggie_assist(report: &AssistReport) {
    daggie_assist_report(report).publish(&ProcessEnv);
}

pub fn daggie_assist_report(report: &AssistReport) -> StepReport {
    let changed: Vec<&str> = report
        .files
        .iter()
        .filter(|file| file.status != FileStatus::Unchanged)
        .map(|file| file.path.as_str())
        .collect();
    let mut step = StepReport::default();
    step.output("changed", yes_no(!changed.is_empty()))
        .output("files", changed.join("\n"));
    let mode = match report.mode {
        OutputMode::Write => "written",
        OutputMode::DryRun => "dry run: nothing written",
        OutputMode::Check => "check: nothing written",
    };
    let mut text = format!("## daggie assist ({mode})\n\n| file | status |\n|---|---|\n");
    for file in &report.files {
        let status = match file.status {
            FileStatus::Unchanged => "unchanged",
            FileStatus::Written => "written",
            FileStatus::Missing => "missing",
            FileStatus::Stale => "stale",
        };
        let _ = writeln!(text, "| `{}` | {status} |", file.path);
    }
    let _ = write!(
        text,
        "\n<details><summary>Plan</summary>\n\n```text\n{}\n```\n\n</details>\n",
        report.summary().trim_end()
    );
    step.summary = text;
    step
}

/// The URL of a posted review, from the context's repository and pull request.
pub fn review_url(
    env: &dyn EnvSource,
    context: Option<&GitHubContext>,
    review_id: Option<u64>,
) -> String {
    let (Some(context), Some(review_id)) = (context, review_id) else {
        return String::new();
    };
    let (Some(repository), Some(number)) = (&context.repository, context.pr_number) else {
        return String::new();
    };
    let server = env
        .var("GITHUB_SERVER_URL")
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "https://github.com".to_owned());
    format!(
        "{}/{repository}/pull/{number}#pullrequestreview-{review_id}",
        server.trim_end_matches('/')
    )
}

/// True when a suggestion addresses the failure: same file, and its line inside the range (or no
/// line), or the file is named in the failure's traceback.
fn covered(failure: &Failure, suggestions: &[OutputSuggestion]) -> bool {
    suggestions.iter().any(|suggestion| {
        let same_file = failure
            .path
            .as_deref()
            .map(|path| path.trim_start_matches("./"))
            == Some(suggestion.path.trim_start_matches("./"));
        let in_range = failure
            .line
            .is_none_or(|line| (suggestion.start_line..=suggestion.end_line).contains(&line));
        (same_file && in_range)
            || failure
                .detail
                .iter()
                .any(|line| line.contains(&format!("{}:", suggestion.path)))
    })
}

/// `suggest-fix`: `failures`, `suggestions`, `published`, `review_url`; the job summary is the
/// Markdown the command prints; an `::error` annotation for each failure no suggestion covers.
pub fn suggest_fix(
    env: &dyn EnvSource,
    layout: &Layout,
    failures: &[Failure],
    output: &FixOutput,
    markdown: &str,
    context: Option<&GitHubContext>,
) -> StepReport {
    let review_id = output
        .published
        .as_ref()
        .and_then(|published| published.review_id);
    let published = output.published.as_ref().is_some_and(|published| {
        published.review_id.is_some()
            || published.inline + published.file_level + published.in_summary > 0
    });
    let mut step = StepReport::default();
    step.output("failures", failures.len().to_string())
        .output("suggestions", output.suggestions.len().to_string())
        .output("published", yes_no(published))
        .output("review_url", review_url(env, context, review_id));
    let uncovered: Vec<Failure> = failures
        .iter()
        .filter(|failure| !covered(failure, &output.suggestions))
        .cloned()
        .collect();
    step.annotations = failure_annotations(layout, &uncovered);
    step.summary = markdown.to_owned();
    if !uncovered.is_empty() {
        let _ = write!(
            step.summary,
            "\n{} failure(s) got no suggestion; they are annotated in the log.\n",
            uncovered.len()
        );
    }
    step
}

/// `speck decompose`: `total_tasks`, `phases` (the phases as a one-line JSON matrix,
/// `{"include":[…]}`, for `strategy.matrix: ${{ fromJSON(…) }}`) and `plan_file` (the printed
/// decomposition, written to a new file under `$RUNNER_TEMP` for `speck run` in a later step).
pub fn speck_decompose(decomposition: &Decomposition, printed: &serde_json::Value) {
    speck_decompose_report(&ProcessEnv, decomposition, printed).publish(&ProcessEnv);
}

pub fn speck_decompose_report(
    env: &dyn EnvSource,
    decomposition: &Decomposition,
    printed: &serde_json::Value,
) -> StepReport {
    let mut step = StepReport::default();
    if !in_actions(env) {
        return step;
    }
    let plan_file = match write_plan_file(env, printed) {
        Ok(path) => path.display().to_string(),
        Err(error) => {
            tracing::warn!("cannot write the decomposition file: {error}");
            String::new()
        }
    };
    step.output("total_tasks", decomposition.total_tasks.to_string())
        .output("phases", matrix(decomposition).to_string())
        .output("plan_file", plan_file);
    let mut text = format!(
        "## speck decompose: {}\n\n{}\n\n{} task(s) in {} phase(s).\n\n| phase | name | tasks | parallel |\n|---|---|---|---|\n",
        decomposition.feature.trim(),
        decomposition.spec_summary.trim(),
        decomposition.total_tasks,
        decomposition.execution_plan.phases.len()
    );
    for phase in &decomposition.execution_plan.phases {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} |",
            phase.phase,
            phase.name.replace('|', "\\|"),
            phase.tasks.join(", "),
            yes_no(phase.parallel)
        );
    }
    step.summary = text;
    step
}

fn write_plan_file(env: &dyn EnvSource, printed: &serde_json::Value) -> std::io::Result<PathBuf> {
    let directory = env
        .var("RUNNER_TEMP")
        .filter(|value| !value.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let file = tempfile::Builder::new()
        .prefix("agentci-decomposition-")
        .suffix(".json")
        .tempfile_in(directory)?;
    let text = serde_json::to_string_pretty(&crate::redact::redact_json(printed))?;
    std::fs::write(file.path(), format!("{text}\n"))?;
    let (_, path) = file.keep().map_err(|error| error.error)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::agents::monty::suggest::Placement;
    use crate::github::context::{EventKind, Repository};

    fn context() -> GitHubContext {
        GitHubContext {
            repository: Some(Repository::new("acme", "shop")),
            event: EventKind::PullRequest,
            pr_number: Some(7),
            issue_number: Some(7),
            head_sha: None,
            head_ref: None,
            base_ref: None,
            in_actions: true,
        }
    }

    fn failure(path: &str, line: u32, detail: &[&str]) -> Failure {
        Failure {
            tool: "pytest",
            check: None,
            path: Some(path.to_owned()),
            line: Some(line),
            column: None,
            code: None,
            message: "failed".to_owned(),
            detail: detail.iter().map(|line| (*line).to_owned()).collect(),
        }
    }

    fn suggestion(path: &str, start_line: u32, end_line: u32) -> OutputSuggestion {
        OutputSuggestion {
            path: path.to_owned(),
            start_line,
            end_line,
            replacement: String::new(),
            explanation: String::new(),
            placement: Placement::Inline,
            verified: None,
        }
    }

    #[test]
    fn the_review_url_needs_a_review_and_a_pull_request() {
        let mut env = HashMap::new();
        assert_eq!(
            review_url(&env, Some(&context()), Some(99)),
            "https://github.com/acme/shop/pull/7#pullrequestreview-99"
        );
        env.insert(
            "GITHUB_SERVER_URL".to_owned(),
            "https://ghe.example/".to_owned(),
        );
        assert_eq!(
            review_url(&env, Some(&context()), Some(99)),
            "https://ghe.example/acme/shop/pull/7#pullrequestreview-99"
        );
        assert_eq!(review_url(&env, Some(&context()), None), "");
        assert_eq!(review_url(&env, None, Some(99)), "");
    }

    #[test]
    fn a_failure_is_covered_by_a_suggestion_on_its_line_or_its_traceback() {
        let suggestions = [suggestion("app/items.py", 11, 12)];
        assert!(covered(&failure("app/items.py", 12, &[]), &suggestions));
        assert!(!covered(&failure("app/items.py", 30, &[]), &suggestions));
        assert!(covered(
            &failure(
                "tests/test_items.py",
                40,
                &["app/items.py:12: AttributeError"]
            ),
            &suggestions
        ));
        assert!(!covered(
            &failure("tests/test_auth.py", 21, &[]),
            &suggestions
        ));
    }
}
