//! `speck run`'s production task runner: each task is a child process of this same binary
//! (`agentci <agent> <entrypoint> --json --events FILE …`) with its share of the run's budget as
//! its own `--max-*` flags. The child's JSON gives the report, findings and saved patch; its
//! events file gives what it used, which the run subtracts from the budget.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::budget::{Grant, Spent};
use super::run::{TaskReport, TaskRun, TaskRunner};

/// The exit code of a run whose budget ran out (CONTRACTS §3).
const BUDGET_EXIT: i32 = 4;

/// Runs tasks through this binary. The child inherits the environment (provider keys, GitHub
/// context) and `global_args` (provider, model, config).
pub struct BinaryRunner {
    pub binary: PathBuf,
    pub global_args: Vec<String>,
}

/// The flags that give a child its grant.
pub fn grant_arguments(grant: &Grant) -> Vec<String> {
    let mut arguments = Vec::new();
    if let Some(turns) = grant.max_turns {
        arguments.extend(["--max-turns".to_owned(), turns.to_string()]);
    }
    if let Some(tokens) = grant.max_tokens {
        arguments.extend(["--max-tokens".to_owned(), tokens.to_string()]);
    }
    if let Some(cost) = grant.max_cost_usd {
        arguments.extend(["--max-cost-usd".to_owned(), format!("{cost:.6}")]);
    }
    if let Some(timeout) = grant.timeout {
        arguments.extend([
            "--timeout".to_owned(),
            format!("{}s", timeout.as_secs().max(1)),
        ]);
    }
    arguments
}

#[async_trait]
impl TaskRunner for BinaryRunner {
    async fn run(&self, run: &TaskRun<'_>) -> TaskReport {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(&self.global_args)
            .args(grant_arguments(&run.grant))
            .arg("--json")
            .arg("--quiet")
            .arg("--events")
            .arg(&run.events)
            .args(&run.invocation.arguments)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let waiting = command.output();
        // The child keeps its own time budget; this only catches one that hangs past it.
        let output = match run.grant.timeout {
            Some(limit) => {
                match tokio::time::timeout(limit + Duration::from_secs(60), waiting).await {
                    Ok(output) => output,
                    Err(_) => {
                        return TaskReport {
                            budget_exhausted: Some("time".into()),
                            usage: usage_from_events(&run.events),
                            error: Some("the task outlived the run's time budget".into()),
                            ..TaskReport::default()
                        };
                    }
                }
            }
            None => waiting.await,
        };
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                return TaskReport {
                    error: Some(format!(
                        "could not start `{}`: {error}",
                        self.binary.display()
                    )),
                    ..TaskReport::default()
                };
            }
        };
        let printed: Option<Value> = serde_json::from_slice(&output.stdout).ok();
        let mut report = report_from(printed.as_ref(), run.invocation.findings);
        report.usage = usage_from_events(&run.events);
        report.ok = output.status.success();
        if output.status.code() == Some(BUDGET_EXIT) {
            report.budget_exhausted =
                Some(exhausted_from_events(&run.events).unwrap_or_else(|| "tokens".into()));
        }
        if !report.ok && report.error.is_none() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            report.error = Some(format!(
                "`agentci {} {}` exited with {}: {tail}",
                run.invocation.arguments.first().map_or("", String::as_str),
                run.invocation.arguments.get(1).map_or("", String::as_str),
                output
                    .status
                    .code()
                    .map_or_else(|| "a signal".to_owned(), |code| format!("code {code}")),
            ));
        }
        report
    }
}

/// What a verb's `--json` output says: its report (workspace verbs), answer (explain), or
/// findings (review), the error, and the patch unfinished work was saved to.
pub fn report_from(printed: Option<&Value>, findings: bool) -> TaskReport {
    let mut report = TaskReport::default();
    let Some(printed) = printed else {
        return report;
    };
    let text = |key: &str| printed.get(key).and_then(Value::as_str).map(str::to_owned);
    if findings {
        report.report = text("summary");
        report.findings = Some(printed.clone());
    } else {
        report.report = text("report").or_else(|| text("answer"));
    }
    report.error = text("error");
    report.patch = text("patch").map(PathBuf::from);
    report
}

fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// What a child used, from its events: the sum of its `run.completed` events, or of its
/// `llm.response` events when it was stopped before completing.
pub fn usage_from_events(path: &Path) -> Spent {
    let events = events(path);
    let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
    let mut spent = Spent::default();
    let completed: Vec<&Value> = events
        .iter()
        .filter(|event| event["type"] == "run.completed")
        .collect();
    if completed.is_empty() {
        for event in events
            .iter()
            .filter(|event| event["type"] == "llm.response")
        {
            spent.turns += 1;
            spent.input_tokens += number(&event["usage"], "input");
            spent.output_tokens += number(&event["usage"], "output");
        }
        return spent;
    }
    for event in completed {
        spent.turns += u32::try_from(number(event, "turns")).unwrap_or(u32::MAX);
        spent.input_tokens += number(&event["usage"], "input");
        spent.output_tokens += number(&event["usage"], "output");
        spent.cost_usd += event["cost_usd"].as_f64().unwrap_or(0.0);
    }
    spent
}

fn exhausted_from_events(path: &Path) -> Option<String> {
    events(path)
        .iter()
        .rev()
        .find(|event| event["type"] == "budget.exhausted")
        .and_then(|event| event["which"].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_summed_from_the_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("T001.jsonl");
        std::fs::write(
            &path,
            concat!(
                "{\"type\":\"llm.response\",\"usage\":{\"input\":10,\"output\":5}}\n",
                "{\"type\":\"budget.exhausted\",\"which\":\"tokens\"}\n",
                "{\"type\":\"run.completed\",\"turns\":2,\"usage\":{\"input\":30,\"output\":7,\"cached\":0},\"cost_usd\":0.5}\n",
            ),
        )
        .unwrap();
        let spent = usage_from_events(&path);
        assert_eq!(spent.turns, 2);
        assert_eq!(spent.tokens(), 37);
        assert_eq!(spent.cost_usd, 0.5);
        assert_eq!(exhausted_from_events(&path).as_deref(), Some("tokens"));
        assert_eq!(
            usage_from_events(&dir.path().join("none")),
            Spent::default()
        );
    }

    #[test]
    fn a_grant_becomes_flags() {
        let grant = Grant {
            max_turns: Some(3),
            max_tokens: Some(1000),
            max_cost_usd: None,
            timeout: Some(Duration::from_secs(90)),
        };
        assert_eq!(
            grant_arguments(&grant),
            [
                "--max-turns",
                "3",
                "--max-tokens",
                "1000",
                "--timeout",
                "90s"
            ]
        );
    }
}
