//! Printing what the verbs did: JSON (redacted) with `--json`, text otherwise.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::agent::RunError;
use crate::config::GlobalOptions;
use crate::github::review::ReviewOutcome;

use super::WorkspaceRun;

pub(crate) fn write_json(out: &mut dyn Write, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &crate::redact::redact_json(value))?;
    writeln!(out)?;
    Ok(())
}

pub(super) fn write_planned(out: &mut dyn Write, outcome: &ReviewOutcome) -> anyhow::Result<()> {
    writeln!(
        out,
        "\nDry run: the requests that would be sent to GitHub:\n"
    )?;
    write_json(out, &serde_json::to_value(&outcome.planned)?)
}

pub(crate) fn print_workspace_result(
    out: &mut dyn Write,
    global: &GlobalOptions,
    run: &WorkspaceRun,
) -> anyhow::Result<()> {
    let (result, concluded, changes, learned) = (
        &run.result,
        &run.concluded,
        &run.changes,
        run.learned.as_ref(),
    );
    let report = result
        .as_ref()
        .ok()
        .map(|outcome| outcome.value.text.clone());
    let (diff, patch, exported, applied): (
        Option<String>,
        Option<PathBuf>,
        Option<PathBuf>,
        Vec<PathBuf>,
    ) = match concluded {
        Ok(concluded) => (
            concluded.diff.clone(),
            concluded.patch.clone(),
            concluded.exported.clone(),
            concluded.applied.clone(),
        ),
        Err(_) => (None, None, None, Vec::new()),
    };
    let conclude_error = concluded.as_ref().err().map(|error| format!("{error:#}"));
    let run_error = result.as_ref().err().map(ToString::to_string);
    let learned = learned.map(|learned| match learned {
        Ok(text) => text.clone(),
        Err(error) => format!("self-improve failed: {error:#}"),
    });
    if global.json {
        let (usage, cost, turns, run_id) = match result {
            Ok(outcome) => (
                serde_json::to_value(outcome.usage)?,
                json!(outcome.cost_usd),
                json!(outcome.turns),
                json!(outcome.run_id),
            ),
            Err(RunError::Budget {
                usage,
                cost_usd,
                turns,
                ..
            }) => (
                serde_json::to_value(usage)?,
                json!(cost_usd),
                json!(turns),
                Value::Null,
            ),
            Err(_) => (Value::Null, Value::Null, Value::Null, Value::Null),
        };
        let value = json!({
            "ok": result.is_ok(),
            "report": report,
            "error": run_error,
            "changes": changes,
            "applied": applied,
            "diff": diff,
            "patch": patch,
            "exported": exported,
            "conclude_error": conclude_error,
            "learned": learned,
            "usage": usage,
            "cost_usd": cost,
            "turns": turns,
            "run_id": run_id,
        });
        return write_json(out, &value);
    }
    let mut text = String::new();
    match (&report, &run_error) {
        (Some(report), _) => {
            text.push_str(report.trim_end());
            text.push('\n');
        }
        (None, Some(error)) => text.push_str(&format!("The run stopped: {error}\n")),
        (None, None) => {}
    }
    if !changes.is_empty() {
        text.push_str("\nChanges:\n");
        for change in changes {
            text.push_str(&format!(
                "  {} {}\n",
                change["kind"].as_str().unwrap_or_default(),
                change["path"].as_str().unwrap_or_default()
            ));
        }
    }
    if let Some(exported) = &exported {
        text.push_str(&format!("\nExported to {}\n", exported.display()));
    }
    if let Some(patch) = &patch {
        text.push_str(&format!(
            "\nThe changes were saved as a patch: {}\n",
            patch.display()
        ));
    }
    if let Some(error) = &conclude_error {
        text.push_str(&format!("\nThe changes could not be written: {error}\n"));
    }
    if let Some(learned) = &learned {
        text.push_str(&format!("\n{learned}\n"));
    }
    if let Some(diff) = &diff
        && !diff.is_empty()
    {
        text.push_str(&format!("\n{diff}"));
        if !diff.ends_with('\n') {
            text.push('\n');
        }
    }
    write!(out, "{}", crate::redact::redact(&text))?;
    Ok(())
}
