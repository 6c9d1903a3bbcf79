//! The workspace verbs' run: read-write tools (+ `exec`, MCP, `record_learning`), a report, and
//! the changes applied, shown or exported at the end, with the learnings saved.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::agent::memory::{LearningSink, RecordLearning};
use crate::agent::tools::{Access, exec_tool, workspace_tools};
use crate::agent::workspace::{ChangeKind, Concluded, Conclusion, Workspace};
use crate::agent::{AgentOptions, SelfImprove};
use crate::agent::{Report, RunError, RunOutcome, Tool, report_submit};
use crate::exit::Exit;

use super::print::print_workspace_result;
use super::{COMMAND_TIMEOUT, Session};
use crate::agents::monty::failures::Layout;
use crate::agents::monty::fix::require_directory;
use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::request::Verb;

fn change_kind(kind: &ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Modified => "modified",
        ChangeKind::Deleted => "deleted",
    }
}

/// The workspace verbs: read-write tools (+ `exec`, MCP, `record_learning`), a report, and the
/// changes applied, shown or exported at the end. The report is printed even when the run fails.
pub(super) async fn workspace_verb(
    session: Session<'_>,
    verb: Verb,
    args: &AgentOptions,
    task: &dyn Fn(Option<&[String]>) -> anyhow::Result<String>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let run = workspace_run(session, verb, args, task).await?;
    print_workspace_result(out, session.global, &run)?;
    match (run.result, run.concluded) {
        (Err(error), _) => Err(error.into()),
        (Ok(_), Err(error)) => Err(error),
        (Ok(_), Ok(_)) => Ok(Exit::Done),
    }
}

/// A finished workspace run: the model's result, what happened to the changes, and the changed
/// files' final contents (`None` for deletions), read before the overlay was concluded.
pub(crate) struct WorkspaceRun {
    pub result: Result<RunOutcome<Report>, RunError>,
    pub concluded: anyhow::Result<Concluded>,
    pub changes: Vec<Value>,
    pub contents: Vec<(String, Option<String>)>,
    pub learned: Option<anyhow::Result<String>>,
    /// The context files the learnings were written to (absolute), when they were.
    pub learned_files: Vec<PathBuf>,
}

pub(crate) async fn workspace_run(
    session: Session<'_>,
    verb: Verb,
    args: &AgentOptions,
    task: &dyn Fn(Option<&[String]>) -> anyhow::Result<String>,
) -> anyhow::Result<WorkspaceRun> {
    let pack = session.pack;
    let source = &args.source;
    require_directory(source)?;
    if args.dry_run && args.export.is_some() {
        return Err(crate::exit::usage(
            "`--dry-run` and `--export` do not go together: a dry run writes nothing",
        ));
    }
    // No provider configured is a usage error before the workspace is opened.
    session.provider()?;
    let allowed = args
        .allow_exec
        .then(|| session.allowed_commands(args.allow_install));
    let task = task(allowed.as_deref())?;
    let workspace = Workspace::open(source)?;
    // An upgrade dry run reports what it would do without editing at all.
    let access = if verb == Verb::Upgrade && args.dry_run {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let mut tools: Vec<Arc<dyn Tool>> = workspace_tools(&workspace, access);
    if let Some(allowed) = &allowed {
        // The pack's checks read the project's dependency folders; anything else (an install)
        // gets the run's own copy of them.
        let checks = pack
            .check_commands
            .iter()
            .map(|command| (*command).to_owned())
            .collect();
        tools.push(exec_tool(
            &workspace,
            allowed.clone(),
            checks,
            COMMAND_TIMEOUT,
        ));
    }
    let specs = crate::agent::mcp::server_specs(&args.mcp, &session.services.settings.config)?;
    let servers = if specs.is_empty() {
        None
    } else {
        let servers =
            crate::agent::mcp::start_servers(&specs, &session.services.settings.environment).await;
        for failure in servers.failures() {
            tracing::warn!("MCP server failed to start: {failure:?}");
        }
        tools.extend(servers.tools());
        Some(servers)
    };
    let learnings = (args.self_improve != SelfImprove::Off).then(LearningSink::new);
    if let Some(sink) = &learnings {
        tools.push(Arc::new(RecordLearning::new(sink.clone())));
    }

    let result = session
        .agent(verb, source)?
        .tools(tools)
        .run(&task, report_submit())
        .await;
    if let Some(servers) = servers {
        servers.shutdown().await;
    }

    let mode = if args.dry_run {
        Conclusion::DryRun
    } else if let Some(dir) = &args.export {
        Conclusion::Export(dir.clone())
    } else if args.keep_partial {
        Conclusion::KeepPartial
    } else {
        Conclusion::Apply
    };
    // Read before concluding: applying the changes empties the overlay.
    let pending = workspace.changes();
    let changes: Vec<Value> = pending
        .iter()
        .map(|change| json!({"path": change.path, "kind": change_kind(&change.kind)}))
        .collect();
    let mut contents = Vec::with_capacity(pending.len());
    for change in &pending {
        let text = match change.kind {
            ChangeKind::Deleted => None,
            _ => Some(workspace.read_text(&change.path)?),
        };
        contents.push((change.path.clone(), text));
    }
    let concluded = workspace.conclude(result.is_ok(), &mode);

    let mut learned_files = Vec::new();
    let learned = match (&result, &learnings) {
        (Ok(outcome), Some(sink)) if !args.dry_run && !sink.is_empty() => Some(
            save_learnings(pack, source, &outcome.run_id, sink, args.self_improve).map(
                |(text, files)| {
                    learned_files = files;
                    text
                },
            ),
        ),
        _ => None,
    };
    Ok(WorkspaceRun {
        result,
        concluded,
        changes,
        contents,
        learned,
        learned_files,
    })
}

fn save_learnings(
    pack: &LanguagePack,
    source: &Path,
    run_id: &str,
    sink: &LearningSink,
    mode: SelfImprove,
) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let root = Layout::discover(source)?.root;
    let files = crate::agent::memory::write_learnings(
        &root,
        pack.context_file,
        pack.agent,
        run_id,
        chrono::Local::now().date_naive(),
        &sink.learnings(),
    )?;
    if mode == SelfImprove::Commit {
        let outcome = crate::agent::memory::commit_learnings(&root, pack.agent, &files)?;
        return Ok((outcome.to_string(), Vec::new()));
    }
    let text = format!("learned context written to {} file(s)", files.len());
    let files = files
        .into_iter()
        .map(|file| {
            if file.is_absolute() {
                file
            } else {
                root.join(file)
            }
        })
        .collect();
    Ok((text, files))
}
