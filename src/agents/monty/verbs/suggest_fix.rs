//! `suggest-fix`: the failed check's log in, line-range fix suggestions out (read-only tools), each
//! optionally verified on a scratch copy, published as one pull-request review.

use std::io::Write;

use crate::agent::{Access, Submit, Workspace, workspace_tools};
use crate::agents::step_outputs;
use crate::exit::Exit;
use crate::github::client::EnvSource as _;

use super::github::{Publication, publish};
use super::print::{write_json, write_planned};
use super::{COMMAND_TIMEOUT, Session, refuse_workspace_flags};
use crate::agents::monty::failures::{Failure, Layout};
use crate::agents::monty::fix;
use crate::agents::monty::request::{SuggestFixRequest, Verb};
use crate::agents::monty::rerun::{self, Rerun};
use crate::agents::monty::suggest::{self, SuggestionSubmission};
use crate::agents::monty::verify::{self, Verifier};

pub async fn suggest_fix(
    session: Session<'_>,
    args: &SuggestFixRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let pack = session.pack;
    refuse_workspace_flags(Verb::SuggestFix, &args.agent)?;
    let source = &args.agent.source;
    let log = args.log.clone();
    let (layout, failures) = fix::failures_for(pack, source, &log)?;
    if failures.is_empty() {
        let message = fix::nothing_message(pack, source);
        let output = fix::output(&message, &[], &[], None, args.agent.dry_run);
        let env = session.env();
        step_outputs::suggest_fix(&env, &layout, &[], &output, &message, None).publish(&env);
        if session.global.json {
            write_json(out, &serde_json::to_value(&output)?)?;
        } else {
            writeln!(out, "{message}")?;
        }
        return Ok(Exit::Done);
    }
    if args.max_suggestions == 0 {
        return Err(crate::exit::usage("`--max-suggestions` must be at least 1"));
    }
    let path_var = session.env().var("PATH");
    let verifier = if args.verify {
        if !args.agent.allow_exec {
            return Err(crate::exit::usage(
                "`--verify` runs the failing command: pass `--allow-exec` too",
            ));
        }
        Some(verifier(
            session,
            args,
            &layout,
            &failures,
            &log,
            path_var.as_deref(),
        )?)
    } else {
        None
    };
    let provider = session.provider()?;
    let model = provider.model().to_owned();

    let workspace = Workspace::open(source)?;
    let task = fix::suggest_fix_prompt(source, &failures, args.max_suggestions)?;
    let task = match args.assignment.clone() {
        Some(extra) => format!("{task}\n## Assignment\n\n{}\n", extra.trim()),
        None => task,
    };
    let checked_source = layout.source.clone();
    let max = args.max_suggestions;
    let submit = Submit::<SuggestionSubmission>::new(
        "submit_suggestions",
        "Submit the fix suggestions: a summary and at most the allowed number of line-range replacements.",
    )
    .validate(move |submission| suggest::check(submission, &checked_source, max).map(|_| ()));
    let outcome = session
        .agent(Verb::SuggestFix, source)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&task, submit)
        .await?;
    let suggestions = suggest::check(&outcome.value, &layout.source, max)
        .map_err(|reasons| anyhow::anyhow!("the submission is invalid: {}", reasons.join("; ")))?;

    let verified = match &verifier {
        Some(verifier) => {
            verify::verify_suggestions(verifier, &suggestions, COMMAND_TIMEOUT, path_var.as_deref())
                .await?
        }
        None => Vec::new(),
    };

    let (findings, note) = fix::verified_findings(
        &layout,
        &suggestions,
        &verified,
        verifier.as_ref().map(Verifier::label).as_deref(),
        args.only_verified,
    );
    let published = if findings.is_empty() && args.only_verified {
        None
    } else {
        publish(
            session,
            &args.github,
            args.agent.dry_run,
            Publication {
                summary: &outcome.value.summary,
                model: &model,
                findings,
                body_note: note,
            },
        )
        .await?
    };
    let output = fix::output(
        &outcome.value.summary,
        &suggestions,
        &verified,
        published.as_ref(),
        args.agent.dry_run,
    );
    let markdown = fix::to_markdown(&output, pack);
    let env = session.env();
    let context = args.github.context(&env).ok();
    step_outputs::suggest_fix(
        &env,
        &layout,
        &failures,
        &output,
        &markdown,
        context.as_ref(),
    )
    .publish(&env);
    if session.global.json {
        let mut value = serde_json::to_value(&output)?;
        if let (Some(outcome), Some(object)) = (&published, value.as_object_mut())
            && !outcome.planned.is_empty()
        {
            object.insert("planned".into(), serde_json::to_value(&outcome.planned)?);
        }
        write_json(out, &value)?;
    } else {
        write!(out, "{markdown}")?;
        if let Some(outcome) = &published
            && !outcome.planned.is_empty()
        {
            write_planned(out, outcome)?;
        }
    }
    outcome.log_usage("suggest-fix");
    Ok(Exit::Done)
}

/// How `--verify` checks the suggestions: `dagger check <the failed checks>` on a copy of the
/// repository when `dagger` is on `PATH`; else `--verify-command` or, per failed check, the
/// failing command the log shows narrowed to the failing tests it names (or the pack's test
/// command with them), on a copy of the source, when it is allowed for this agent.
fn verifier(
    session: Session<'_>,
    args: &SuggestFixRequest,
    layout: &Layout,
    failures: &[Failure],
    log: &str,
    path_var: Option<&str>,
) -> anyhow::Result<Verifier> {
    let mut checks: Vec<String> = Vec::new();
    for check in failures.iter().filter_map(|failure| failure.check.clone()) {
        if !checks.contains(&check) {
            checks.push(check);
        }
    }
    if args.verify_command.is_none()
        && !checks.is_empty()
        && let Some(program) = path_var.and_then(|path| verify::find_on_path("dagger", path))
    {
        return Ok(Verifier::dagger(
            program,
            checks,
            layout.root.clone(),
            layout.source_in_root(),
        ));
    }
    let allowed = session.allowed_commands(args.agent.allow_install);
    let runs = match &args.verify_command {
        Some(text) => vec![Rerun {
            words: verify::split_command(text)?,
            directory: std::path::PathBuf::new(),
        }],
        None => rerun::recover(log, &checks, layout, session.pack, &allowed),
    };
    if runs.is_empty() {
        return Err(crate::exit::usage(
            "`--verify` found neither `dagger` on `PATH` nor the failing command or tests in the log: pass `--verify-command`",
        ));
    }
    for run in &runs {
        if !crate::support::command_allowed(&run.words, &allowed) {
            return Err(crate::exit::usage(format!(
                "`{}` is not allowed for {}: allowed are the pack's commands and `[exec] allow` in agentci.toml",
                run.label(),
                session.pack.agent
            )));
        }
    }
    Ok(Verifier::Command {
        runs,
        source: layout.source.clone(),
    })
}
