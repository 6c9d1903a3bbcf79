//! `review`: the code (or a diff, or the pull request in context) reviewed with read-only tools;
//! the findings printed, or posted as one pull-request review with `--post`.

use std::io::Write;

use crate::agent::{Access, Submit, Workspace, workspace_tools};
use crate::exit::Exit;

use super::github::{Publication, publish, pull_request_diff};
use super::print::{write_json, write_planned};
use super::{Session, refuse_workspace_flags};
use crate::agents::monty::failures::Layout;
use crate::agents::monty::fix;
use crate::agents::monty::request::{ReviewRequest, Verb};
use crate::agents::monty::review::{self as review_model, ReviewSubmission};

pub async fn review(
    session: Session<'_>,
    args: &ReviewRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let pack = session.pack;
    refuse_workspace_flags(Verb::Review, &args.agent)?;
    let source = &args.agent.source;
    fix::require_directory(source)?;
    let diff = match &args.diff {
        Some(file) if file.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            Some(text)
        }
        Some(file) => Some(std::fs::read_to_string(file).map_err(|error| {
            crate::exit::usage(format!(
                "cannot read the diff `{}`: {error}",
                file.display()
            ))
        })?),
        None => None,
    };
    let assignment = args.assignment.clone();
    if args.post {
        let env = session.env();
        let context = args.github.context(&env)?;
        if context.repository.is_none() || (context.pr_number.is_none() && !context.in_actions) {
            return Err(crate::exit::usage(
                "`--post` needs a pull request: pass `--repo` and `--pr-number` or run on a pull request event",
            ));
        }
    }
    let provider = session.provider()?;
    let model = provider.model().to_owned();
    let layout = Layout::discover(source).map_err(|error| {
        crate::exit::usage(format!("cannot read `{}`: {error}", source.display()))
    })?;

    // Without `--diff`, a pull request in context is what gets reviewed.
    let diff = match diff {
        Some(diff) => Some(diff),
        None => pull_request_diff(session, &args.github, &layout).await?,
    };
    let workspace = Workspace::open(source)?;
    let mut task = fix::review_prompt(pack, source, args.focus.as_deref(), diff.as_deref())?;
    if let Some(extra) = assignment {
        task = format!("{task}\n\n## Assignment\n\n{}\n", extra.trim());
    }
    let submit = Submit::<ReviewSubmission>::new(
        "submit_review",
        "Submit the review: issues, suggestions with replacement code, positives and a summary.",
    )
    .validate(review_model::check);
    let outcome = session
        .agent(Verb::Review, source)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&task, submit)
        .await?;
    let review = outcome.value.clone();

    let published = if args.post {
        let findings = fix::review_findings(&layout, &review);
        let summary = fix::review_summary(&review);
        let published = publish(
            session,
            &args.github,
            args.agent.dry_run,
            Publication {
                summary: &summary,
                model: &model,
                findings,
                body_note: None,
            },
        )
        .await?;
        if published.is_none() {
            return Err(crate::exit::usage(
                "`--post` needs a pull request: pass `--repo` and `--pr-number` or run on a pull request event",
            ));
        }
        published
    } else {
        None
    };

    if session.global.json {
        let mut value = serde_json::to_value(&review)?;
        if let (Some(outcome), Some(object)) = (&published, value.as_object_mut()) {
            if outcome.planned.is_empty() {
                object.insert(
                    "published".into(),
                    serde_json::to_value(outcome.published())?,
                );
            } else {
                object.insert("planned".into(), serde_json::to_value(&outcome.planned)?);
            }
        }
        write_json(out, &value)?;
    } else {
        write!(
            out,
            "{}",
            review_model::to_markdown(&review, pack.display_name)
        )?;
        if let Some(outcome) = &published {
            if outcome.planned.is_empty() {
                let counts = outcome.published();
                writeln!(
                    out,
                    "\nPosted: {} inline, {} file-level, {} in the review body.",
                    counts.inline, counts.file_level, counts.in_summary
                )?;
            } else {
                write_planned(out, outcome)?;
            }
        }
    }
    outcome.log_usage("review");
    Ok(Exit::Done)
}
