//! What the read-only verbs need from GitHub: the pull request in context, its diff, and one
//! review published on it.

use crate::github::args::GitHubOptions;
use crate::github::client::{ClientSettings, EnvSource, GitHub};
use crate::github::context::GitHubContext;
use crate::github::review::{
    Finding, Footer, ReviewInput, ReviewOptions, ReviewOutcome, publish_review,
};

use super::{Services, Session};
use crate::agents::monty::failures::Layout;
use crate::agents::monty::fix;

/// The pull request to publish on, when there is one; `None` without repository or number.
async fn pull_request(
    github: &GitHubOptions,
    env: &dyn EnvSource,
    client: &GitHub,
) -> anyhow::Result<Option<(GitHubContext, String)>> {
    let mut context = github.context(env)?;
    if context.repository.is_none() {
        return Ok(None);
    }
    if context.pr_number.is_none() && context.in_actions && context.head_sha.is_some() {
        context.resolve_pr_from_head(client).await?;
    }
    if context.pr_number.is_none() {
        return Ok(None);
    }
    let head = context.resolve_head_sha(client).await?.to_owned();
    Ok(Some((context, head)))
}

pub(crate) fn github_client(
    services: &Services,
    github: &GitHubOptions,
    env: &dyn EnvSource,
    dry_run: bool,
) -> anyhow::Result<GitHub> {
    let settings = match &services.github {
        Some(settings) => settings.clone(),
        None => ClientSettings::from_env(github.github_token.as_deref(), env)?,
    };
    Ok(GitHub::new(settings.with_dry_run(dry_run))?)
}

/// What one review publishes.
pub(super) struct Publication<'a> {
    pub summary: &'a str,
    pub model: &'a str,
    pub findings: Vec<Finding>,
    /// A line the review body carries (suggest-fix's verification count).
    pub body_note: Option<String>,
}

/// Publish the findings as one review on the pull request of the context, if there is one.
pub(super) async fn publish(
    session: Session<'_>,
    github: &GitHubOptions,
    dry_run: bool,
    publication: Publication<'_>,
) -> anyhow::Result<Option<ReviewOutcome>> {
    let Publication {
        summary,
        model,
        findings,
        body_note,
    } = publication;
    let env = session.env();
    let context = github.context(&env)?;
    if context.repository.is_none() || (context.pr_number.is_none() && !context.in_actions) {
        return Ok(None);
    }
    let client = github_client(session.services, github, &env, dry_run)?;
    let Some((context, head_sha)) = pull_request(github, &env, &client).await? else {
        return Ok(None);
    };
    let input = ReviewInput {
        repository: context.require_repository()?.clone(),
        pr_number: context.require_pr_number()?,
        head_sha,
        agent: session.pack.agent.to_owned(),
        summary: summary.to_owned(),
        footer: Footer::new(model),
        findings,
    };
    Ok(Some(
        publish_review(
            &client,
            &input,
            &ReviewOptions {
                body_note,
                ..ReviewOptions::default()
            },
        )
        .await?,
    ))
}

/// The changes of the pull request in context under `--source`; `None` without one.
pub(super) async fn pull_request_diff(
    session: Session<'_>,
    github: &GitHubOptions,
    layout: &Layout,
) -> anyhow::Result<Option<String>> {
    let env = session.env();
    let context = github.context(&env)?;
    let (Some(repository), Some(number)) = (context.repository.as_ref(), context.pr_number) else {
        return Ok(None);
    };
    // Only reads: a dry-run client cannot write by accident.
    let client = github_client(session.services, github, &env, true)?;
    let diff = crate::github::diff::pull_diff(&client, repository, number).await?;
    let text = fix::pull_diff_text(layout, &diff);
    Ok((!text.trim().is_empty()).then_some(text))
}
