//! `develop-issue`: read a GitHub issue, let the model route it to one verb (`submit_route`), run
//! that verb in the workspace with the issue as its assignment, then commit the changes to a
//! branch, open (or update) a pull request that closes the issue, and say so on the issue.

use std::io::Write;

use serde_json::{Value, json};

use crate::agent::{Access, Submit, Workspace, workspace_tools};
use crate::exit::Exit;
use crate::github::client::resolve_token;
use crate::github::git::{BotIdentity, Changes, LocalRepository};
use crate::github::issues::{IssueThread, marker, read_issue, upsert_marked_comment};
use crate::github::pulls::{FileChange, NewPull, commit_changes, open_or_update_pull};

use super::failures::Layout;
use super::fix;
use super::packs::LanguagePack;
use super::request::{DevelopIssueRequest, Verb};
use super::route::{self, Route, RouteSubmission};
use super::verbs::{Session, github_client, print_workspace_result, workspace_run, write_json};

const ROUTE: &str = include_str!("prompts/route.md");
/// Comments of the issue thread passed on, newest last.
const MAX_COMMENTS: usize = 10;

/// The issue as the assignment every verb receives.
pub fn assignment(thread: &IssueThread) -> String {
    let issue = &thread.issue;
    let mut text = format!(
        "GitHub issue #{}: {}\n\n{}\n",
        issue.number,
        issue.title.trim(),
        issue.body.as_deref().unwrap_or("").trim()
    );
    let skip = thread.comments.len().saturating_sub(MAX_COMMENTS);
    for comment in thread.comments.iter().skip(skip) {
        text.push_str(&format!(
            "\n---\nComment:\n{}\n",
            comment.body_text().trim()
        ));
    }
    crate::redact::redact(&text).into_owned()
}

fn route_prompt(pack: &LanguagePack, thread: &IssueThread) -> anyhow::Result<String> {
    let upgrade_params = if pack.language == "python" {
        "`target_package` and `target_version`"
    } else {
        "`target_version` (Angular)"
    };
    let issue = &thread.issue;
    crate::agents::prompt::render(
        ROUTE,
        &[
            ("display_name", pack.display_name),
            ("language", pack.language),
            ("frameworks", &pack.test_frameworks.join(", ")),
            ("upgrade_params", upgrade_params),
            ("number", &issue.number.to_string()),
            ("title", issue.title.trim()),
            ("body", &assignment(thread)),
        ],
    )
    .map_err(|error| anyhow::anyhow!("prompt template: {error}"))
}

/// The task of the routed verb.
fn routed_task(
    pack: &LanguagePack,
    route: &Route,
    source: &std::path::Path,
    assignment: &str,
    allowed: Option<&[String]>,
) -> anyhow::Result<String> {
    match route {
        Route::Assist | Route::Review => fix::assist_prompt(source, assignment, allowed),
        Route::WriteTests { target, framework } => fix::write_tests_prompt(
            pack,
            source,
            target.as_deref(),
            &fix::test_framework(pack, framework.as_deref())?,
            Some(assignment),
            allowed,
        ),
        Route::Build { command } => fix::build_prompt(
            source,
            command.as_deref().unwrap_or(pack.default_build_command),
            Some(assignment),
        ),
        Route::Upgrade { package, version } => {
            let target = fix::upgrade_target(pack, package.as_deref(), version)?;
            fix::upgrade_prompt(source, &target, false, Some(assignment))
        }
    }
}

/// Added to the task of the second attempt after a first one changed nothing.
const RETRY_NOTE: &str = "A first attempt at this issue finished without changing any file. Make the change the issue asks for with the editing tools. If the issue truly needs no change, say why in your report.";

pub(crate) async fn develop_issue(
    session: Session<'_>,
    args: &DevelopIssueRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let pack = session.pack;
    let source = &args.agent.source;
    fix::require_directory(source)?;
    if args.agent.export.is_some() {
        return Err(crate::exit::usage(
            "`develop-issue` commits its changes to a branch: `--export` does not apply",
        ));
    }
    if args.agent.allow_install {
        // The issue text is untrusted and steers the model: commands that install packages or
        // run project scripts are allowed only when agentci.toml names them.
        return Err(crate::exit::usage(
            "`develop-issue` is steered by the issue's text: `--allow-exec=install` does not apply; list the installing commands it may run under `[exec] allow` in agentci.toml",
        ));
    }
    let env = session.env();
    let mut context = args.github.context(&env)?;
    if args.issue_number.is_some() {
        context.issue_number = args.issue_number;
    }
    let repository = context.require_repository()?.clone();
    let number = context.require_issue_number()?;
    // No provider configured is a usage error before anything is read or written.
    session.provider()?;
    let client = github_client(session.services, &args.github, &env, args.agent.dry_run)?;
    let thread = read_issue(&client, &repository, number).await?;
    if thread.issue.is_pull_request() {
        return Err(crate::exit::usage(format!(
            "#{number} is a pull request, not an issue"
        )));
    }
    // From here on, every exit leaves one comment on the issue saying what happened.
    let mut commented = false;
    let read = DevelopContext {
        client: &client,
        repository: &repository,
        number,
        thread: &thread,
    };
    let result = develop_read(session, args, out, &read, &mut commented).await;
    if !commented {
        let text = match &result {
            Ok(_) => format!(
                "{} finished working on this issue without opening a pull request.",
                pack.display_name
            ),
            Err(error) => failure_comment(pack, error),
        };
        if let Err(comment_error) = read.comment(pack, &text).await {
            tracing::warn!("cannot comment on issue #{number}: {comment_error:#}");
        }
    }
    result
}

/// What `develop-issue` holds once the issue was read.
struct DevelopContext<'a> {
    client: &'a crate::github::client::GitHub,
    repository: &'a crate::github::context::Repository,
    number: u64,
    thread: &'a IssueThread,
}

impl DevelopContext<'_> {
    /// Say on the issue what happened; one comment per agent, updated on every run.
    async fn comment(&self, pack: &LanguagePack, text: &str) -> anyhow::Result<()> {
        let marker = marker(&format!("develop:{}", pack.agent));
        upsert_marked_comment(self.client, self.repository, self.number, &marker, text).await?;
        Ok(())
    }
}

/// The issue comment for a run that failed: the error class, its redacted message, and what to
/// do about it.
fn failure_comment(pack: &LanguagePack, error: &anyhow::Error) -> String {
    let exit = crate::agents::exit_code::exit_for(error);
    let (class, hint) = match exit {
        Exit::Provider => (
            "LLM provider error",
            "Check the provider's key, model and quota (`agentci doctor`), then run it again.",
        ),
        Exit::Budget => (
            "budget exhausted",
            "Raise the budget in `agentci.toml` (`[budget]`) or split the issue; the changes made so far were saved as a patch (named above, when there were any).",
        ),
        Exit::GitHub => (
            "GitHub error",
            "Check the token's permissions (contents, pull requests and issues: write) and run it again.",
        ),
        Exit::Negative => (
            "no result",
            "Make the issue more specific and run it again.",
        ),
        Exit::Usage => (
            "refused or invalid input",
            "The message names the flag or setting that would allow it.",
        ),
        Exit::Done => ("error", "Run it again."),
    };
    let message = crate::redact::redact(&format!("{error:#}")).replace("```", "'''");
    format!(
        "{} could not finish this issue ({class}, exit {}).\n\n```\n{message}\n```\n\n{hint}",
        pack.display_name,
        exit.code(),
    )
}

async fn develop_read(
    session: Session<'_>,
    args: &DevelopIssueRequest,
    out: &mut dyn Write,
    read: &DevelopContext<'_>,
    commented: &mut bool,
) -> anyhow::Result<Exit> {
    let pack = session.pack;
    let source = &args.agent.source;
    let client = read.client;
    let repository = read.repository;
    let number = read.number;
    let thread = read.thread;
    let env = session.env();
    let assignment = assignment(thread);
    // Learnings go into the branch's commit (and so the pull request), never onto the local
    // HEAD: the run only writes them, the commit below carries them.
    let mut agent_args = args.agent.clone();
    if agent_args.self_improve == crate::agent::SelfImprove::Commit {
        agent_args.self_improve = crate::agent::SelfImprove::Write;
    }

    // Pick the verb with read-only tools.

    let workspace = Workspace::open(source)?;
    let submit = Submit::<RouteSubmission>::new(
        "submit_route",
        "Submit the verb that should implement the issue and its parameters.",
    )
    .validate(move |submission| route::check(submission, pack).map(|_| ()));
    let routed = session
        .agent(Verb::DevelopIssue, source)?
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .run(&route_prompt(pack, thread)?, submit)
        .await?;
    let route = route::check(&routed.value, pack)
        .map_err(|reasons| anyhow::anyhow!("the route is invalid: {}", reasons.join("; ")))?;
    let verb = route.verb();
    tracing::info!("issue #{number} routed to `{}`", verb.name());
    if route == Route::Review {
        return Err(crate::exit::usage(format!(
            "issue #{number} asks for a review, not a change: run `agentci {} review`",
            pack.agent
        )));
    }
    if matches!(route, Route::Build { .. }) && !args.agent.allow_exec {
        return Err(crate::exit::usage(format!(
            "issue #{number} needs `build`, which runs commands: pass `--allow-exec`"
        )));
    }

    let task = |allowed: Option<&[String]>| routed_task(pack, &route, source, &assignment, allowed);
    let mut run = workspace_run(session, verb, &agent_args, &task).await?;
    if run.result.is_ok() && run.contents.is_empty() {
        // A run that finished without changing anything gets one more try, told so; a second
        // empty run is reported on the issue instead of opening an empty pull request.
        tracing::info!(
            "issue #{number}: `{}` changed no file; trying once more",
            verb.name()
        );
        let retry = |allowed: Option<&[String]>| {
            task(allowed).map(|text| format!("{text}\n\n{RETRY_NOTE}"))
        };
        run = workspace_run(session, verb, &agent_args, &retry).await?;
        if let Ok(outcome) = &run.result
            && run.contents.is_empty()
        {
            let why = outcome.value.text.trim();
            *commented = true;
            read.comment(
                pack,
                &format!(
                    "{} ran `{}` for this issue twice and changed no file, so no pull request was opened.\n\n{}",
                    pack.display_name,
                    verb.name(),
                    if why.is_empty() { "The agent gave no reason." } else { why }
                ),
            )
            .await?;
            return Err(crate::exit::negative(format!(
                "issue #{number}: `{} {}` changed no file in two attempts; the issue was commented",
                pack.agent,
                verb.name()
            )));
        }
    }
    let report = match &run.result {
        Ok(outcome) => Some(outcome.value.text.clone()),
        Err(_) => None,
    };

    // Only a finished run with changes becomes a pull request.
    let mut published = Value::Null;
    if let (Some(report), false) = (&report, run.contents.is_empty()) {
        let layout = Layout::discover(source)?;
        let mut changes: Vec<FileChange> = run
            .contents
            .iter()
            .map(|(path, text)| FileChange {
                path: fix::repository_path(&layout, path),
                content: text.as_ref().map(|text| text.as_bytes().to_vec()),
            })
            .collect();
        for file in &run.learned_files {
            let Ok(relative) = file.strip_prefix(&layout.root) else {
                continue;
            };
            let path = relative.to_string_lossy().replace('\\', "/");
            if changes.iter().all(|change| change.path != path) {
                changes.push(FileChange {
                    path,
                    content: Some(std::fs::read(file)?),
                });
            }
        }
        let base = match &args.base {
            Some(base) => base.clone(),
            None => default_branch(client, repository).await?,
        };
        let branch = format!(
            "agentci/{}/issue-{number}-{}",
            pack.agent,
            crate::github::git::slug(&thread.issue.title)
        );
        let message = format!("{}: {} (#{number})", verb.name(), thread.issue.title.trim());
        // With a local clone that has an `origin`, the branch is committed and pushed with git
        // (the token only through a credentials callback); otherwise through the Git Data API.
        let local = if args.agent.dry_run {
            None
        } else {
            LocalRepository::discover(source)
                .ok()
                .filter(|local| local.repository().find_remote("origin").is_ok())
        };
        let commit = match &local {
            Some(local) => {
                let token = resolve_token(args.github.github_token.as_deref(), &env)?;
                local.prepare_branch(&branch, &base)?;
                let mut files = Changes {
                    changed: Vec::new(),
                    deleted: Vec::new(),
                };
                for change in &changes {
                    let path = std::path::PathBuf::from(&change.path);
                    match change.content {
                        Some(_) => files.changed.push(path),
                        None => files.deleted.push(path),
                    }
                }
                let commit = local.commit(&files, &message, &BotIdentity::default())?;
                let pushed = local.push("origin", &branch, token.as_ref(), None)?;
                json!({"commit_sha": commit.to_string(), "pushed": pushed.remote_ref})
            }
            None => serde_json::to_value(
                commit_changes(client, repository, &branch, &base, &message, &changes).await?,
            )?,
        };
        let pull = NewPull {
            title: thread.issue.title.trim().to_owned(),
            head: branch.clone(),
            base: base.clone(),
            body: format!(
                "{} ran `{}` for #{number}.\n\n{}",
                pack.display_name,
                verb.name(),
                report.trim()
            ),
            closes_issue: Some(number),
            draft: false,
        };
        let pull_outcome = open_or_update_pull(client, repository, &pull).await?;
        let link = pull_outcome
            .html_url
            .clone()
            .or(pull_outcome.number.map(|pull| format!("#{pull}")))
            .unwrap_or_else(|| format!("branch `{branch}`"));
        *commented = true;
        read.comment(
            pack,
            &format!(
                "{} opened {link} for this issue (`{}`).",
                pack.display_name,
                verb.name()
            ),
        )
        .await?;
        published = json!({
            "branch": branch,
            "base": base,
            "commit": commit,
            "pull_request": pull_outcome,
            "planned": client.planned(),
        });
    }

    if session.global.json {
        write_json(
            out,
            &json!({
                "issue": number,
                "verb": verb.name(),
                "params": routed.value.params,
                "report": report,
                "changes": run.changes,
                "published": published,
            }),
        )?;
    } else {
        writeln!(out, "Issue #{number} → `{}`\n", verb.name())?;
        print_workspace_result(out, session.global, &run)?;
        if !published.is_null() {
            writeln!(out)?;
            write_json(out, &published)?;
        }
    }
    match (run.result, run.concluded) {
        (Err(error), concluded) => {
            let error = anyhow::Error::from(error);
            match concluded.ok().and_then(|concluded| concluded.patch) {
                Some(patch) => Err(error.context(format!(
                    "the changes made so far were saved as the patch `{}`",
                    patch.display()
                ))),
                None => Err(error),
            }
        }
        (Ok(_), Err(error)) => Err(error),
        (Ok(_), Ok(_)) => Ok(Exit::Done),
    }
}

async fn default_branch(
    client: &crate::github::client::GitHub,
    repository: &crate::github::context::Repository,
) -> anyhow::Result<String> {
    let found: Value = client.get(&repository.route()).await?;
    found["default_branch"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the repository answer names no default branch"))
}
