//! `build`: make the build command pass; the command itself, run after each attempt, is the
//! verdict.

use std::io::Write;

use crate::exit::Exit;

use super::print::print_workspace_result;
use super::workspace::workspace_run;
use super::{COMMAND_TIMEOUT, Session};
use crate::agents::monty::fix;
use crate::agents::monty::request::{BuildRequest, Verb};
use crate::agents::monty::verify;

pub(super) async fn build(
    session: Session<'_>,
    args: &BuildRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if !args.agent.allow_exec {
        return Err(crate::exit::usage(
            "`build` runs the build command: pass `--allow-exec`",
        ));
    }
    let command = args
        .command
        .clone()
        .unwrap_or_else(|| session.pack.default_build_command.to_owned());
    let words = verify::split_command(&command)?;
    if !crate::support::command_allowed(&words, &session.allowed_commands(args.agent.allow_install))
    {
        return Err(crate::exit::usage(format!(
            "`{command}` is not allowed for {}: allowed are the pack's commands and `[exec] allow` in agentci.toml",
            session.pack.agent
        )));
    }
    let assignment = args.assignment.clone();
    // The model's word is not the verdict: after each run the build command itself runs on the
    // source with the run's changes, and only its exit status counts. A run whose changes are
    // applied may be followed by another, told what still fails, up to the attempts the prompt
    // promises; a dry run or an export gets one.
    let applies = !args.agent.dry_run && args.agent.export.is_none();
    let mut failure: Option<String> = None;
    for attempt in 1..=fix::BUILD_ATTEMPTS {
        let task = |_allowed: Option<&[String]>| {
            let task = fix::build_prompt(&args.agent.source, &command, assignment.as_deref())?;
            Ok(match &failure {
                Some(output) => format!(
                    "{task}\n\n## The build still fails\n\nAfter the previous attempt `{command}` still failed:\n\n```\n{output}\n```\n"
                ),
                None => task,
            })
        };
        let run = workspace_run(session, Verb::Build, &args.agent, &task).await?;
        print_workspace_result(out, session.global, &run)?;
        match (run.result, run.concluded) {
            (Err(error), _) => return Err(error.into()),
            (Ok(_), Err(error)) => return Err(error),
            (Ok(_), Ok(_)) => {}
        }
        let outcome =
            verify::run_on_copy(&args.agent.source, &run.contents, &words, COMMAND_TIMEOUT).await?;
        if outcome.passed {
            tracing::info!("`{command}` passes after attempt {attempt}");
            return Ok(Exit::Done);
        }
        tracing::warn!("`{command}` still fails after attempt {attempt}");
        failure = Some(outcome.tail);
        if !applies {
            break;
        }
    }
    Err(crate::exit::negative(format!(
        "`{command}` still fails after the agent's last change, whatever the report says"
    )))
}
