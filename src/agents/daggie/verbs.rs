//! Running a [`DaggieRequest`]: which planner `assist` uses (offline, the model, or the plan the
//! workflow records for `--check`), the choices made before planning (action versions, the fix
//! steps' provider, a private library's token), and the model verbs `explain`, `debug` and
//! `review`. Printing is `cli`'s.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{self, ModelRun};
use super::plan::Proposal;
use super::record::Recorded;
use super::render::{self, ActionPins, ProviderEnv, RenderOptions};
use super::request::{
    Answer, AssistRequest, DaggieRequest, DaggieResult, DebugRequest, ExplainRequest, Fixed,
    MigrateRequest, Review, ReviewRequest,
};
use super::versions::{self, ActionVersions};
use super::{
    AssistOptions, AssistReport, OutputMode, PlanInput, Planner, Scanner, WORKFLOW_PATH,
    load_catalog, offline_planner, run_assist,
};
use crate::agent::Tool;
use crate::agent::workspace::{Conclusion, Workspace};
use crate::config::{GlobalOptions, Settings};

/// Commands `daggie debug --allow-exec` may run besides those of `[exec]` in agentci.toml.
/// `dagger call` is left out on purpose: it can run a deploy function; a project that wants it
/// allows it in `[exec.daggie]`.
pub const DEBUG_COMMANDS: &[&str] = &["dagger check", "dagger functions"];

/// How long one `exec` command may run.
const EXEC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// A model run and the settings it was built from.
#[derive(Clone)]
pub struct ModelContext {
    pub run: ModelRun,
    pub settings: Settings,
}

/// Look up the newest action releases for an `assist` that pins no `--action-version` and is
/// not a `--check` (which keeps what the files record).
pub async fn look_up_action_versions(request: &mut DaggieRequest) {
    if let DaggieRequest::Assist(assist) = request
        && assist.action_version.is_none()
        && assist.mode != OutputMode::Check
    {
        assist.looked_up = Some(newest_action_versions().await);
    }
}

/// The newest action releases when a GitHub token says daggie may ask the API (in Actions, or
/// with `GITHUB_TOKEN` set), else the built-in versions.
async fn newest_action_versions() -> ActionVersions {
    let environment = crate::github::client::ProcessEnv;
    if std::env::var_os("GITHUB_TOKEN").is_none_or(|token| token.is_empty()) {
        return ActionVersions::built_in("no `GITHUB_TOKEN` to ask the GitHub API with");
    }
    match crate::github::client::GitHub::from_env(None, &environment) {
        Ok(client) => versions::look_up(&client).await,
        Err(error) => ActionVersions::built_in(&format!("the GitHub client failed: {error}")),
    }
}

/// Run a verb without a model: `migrate`, and `assist` offline, with `--check`, or with
/// `model_planner`. The model verbs need [`run_with_model`].
pub fn run(
    request: &DaggieRequest,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
) -> anyhow::Result<DaggieResult> {
    match request {
        DaggieRequest::Assist(assist_request) => Ok(DaggieResult::Assist(assist(
            assist_request,
            global,
            scan,
            model_planner,
        )?)),
        DaggieRequest::Migrate(migrate_request) => {
            Ok(DaggieResult::Migrate(migrate(migrate_request)?))
        }
        DaggieRequest::Explain(_) | DaggieRequest::Debug(_) | DaggieRequest::Review(_) => {
            Err(crate::exit::usage(
                "`daggie explain`, `debug` and `review` need a model; configure a provider",
            ))
        }
    }
}

/// Run a verb with a model. `assist` runs its (blocking) pipeline in `block_in_place`, so this
/// needs a multi-threaded tokio runtime.
pub async fn run_with_model(
    request: &DaggieRequest,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    context: &ModelContext,
) -> anyhow::Result<DaggieResult> {
    Ok(match request {
        DaggieRequest::Assist(_) => tokio::task::block_in_place(|| {
            let handle = tokio::runtime::Handle::current();
            let planner = |input: &PlanInput<'_>| handle.block_on(model::plan(&context.run, input));
            run(request, global, scan, Some(&planner))
        })?,
        DaggieRequest::Migrate(migrate_request) => DaggieResult::Migrate(migrate(migrate_request)?),
        DaggieRequest::Explain(explain_request) => {
            DaggieResult::Explain(explain(explain_request, scan, context).await?)
        }
        DaggieRequest::Debug(debug_request) => {
            DaggieResult::Debug(debug(debug_request, context).await?)
        }
        DaggieRequest::Review(review_request) => {
            DaggieResult::Review(review(review_request, context).await?)
        }
    })
}

/// `daggie migrate`: offline, no model.
pub fn migrate(request: &MigrateRequest) -> anyhow::Result<super::migrate::MigrateReport> {
    super::migrate::migrate(&request.source, &BTreeMap::new(), request.dry_run)
}

/// `daggie assist`: choose the planner and the rendering choices, then run the pipeline
/// ([`run_assist`]). `--check` re-renders what the workflow records, so the environment it runs
/// in (a key, a newer action release) cannot make the files look stale.
pub fn assist(
    request: &AssistRequest,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
) -> anyhow::Result<AssistReport> {
    let planner: Planner<'_> = if request.offline || request.mode == OutputMode::Check {
        &offline_planner
    } else {
        model_planner.ok_or_else(|| {
            crate::exit::usage(
                "no model planner was given; configure a provider (see `agentci doctor`) or pass \
                 `--offline` to plan from the catalog alone",
            )
        })?
    };
    let previous = Recorded::read(&request.source);
    let mut notes = Vec::new();
    let (action_version, actions, provider, modules_token, verify_fixes) =
        match (&previous, request.mode) {
            (Some(recorded), OutputMode::Check) => (
                recorded.action_version.clone(),
                recorded.actions.clone(),
                recorded.provider.clone(),
                recorded.modules_token.clone(),
                recorded.verify_fixes,
            ),
            _ => {
                let (action_version, actions) = match (&request.action_version, &request.looked_up)
                {
                    (Some(version), _) => {
                        notes.push(format!(
                            "action versions: `dagger/dagger-for-github@{version}` from \
                         `--action-version`"
                        ));
                        (version.clone(), ActionPins::default())
                    }
                    (None, Some(found)) => {
                        notes.push(found.note.clone());
                        (found.dagger.clone(), found.actions.clone())
                    }
                    (None, None) => match &previous {
                        // Keep what the files pin rather than flip-flop with the API's answers.
                        Some(recorded) => {
                            (recorded.action_version.clone(), recorded.actions.clone())
                        }
                        None => {
                            let built_in = ActionVersions::built_in("no lookup was made");
                            (built_in.dagger, built_in.actions)
                        }
                    },
                };
                let settings = settings_here(global)?;
                let provider = workflow_provider(global, &settings)?;
                notes.push(format!(
                    "the fix steps use provider `{}` ({})",
                    provider.provider,
                    super::quote_list(
                        [&provider.key, &provider.model, &provider.base_url]
                            .into_iter()
                            .flatten()
                    )
                ));
                (
                    action_version,
                    actions,
                    provider,
                    request.private_modules.clone(),
                    request.verify_fixes || settings.config.daggie.verify_fixes,
                )
            }
        };
    if let Some(secret) = &modules_token {
        notes.push(format!(
            "the module libraries are private: create the repository secret `{secret}` with a \
             token that can read them; the workflow hands it to git, which Dagger uses to fetch \
             modules"
        ));
    }
    let recorded_planner;
    let planner: Planner<'_> = match (&previous, request.mode) {
        (Some(recorded), OutputMode::Check) => {
            let plan = recorded.plan.clone();
            recorded_planner = move |_: &PlanInput<'_>| {
                Ok(Proposal {
                    plan: plan.clone(),
                    reasons: vec![format!(
                        "re-rendered from the plan recorded in `{WORKFLOW_PATH}` (no model call)"
                    )],
                })
            };
            &recorded_planner
        }
        _ => planner,
    };
    let action_version = render::normalize_action_version(&action_version)?;
    let options = AssistOptions {
        assignment: request.assignment.clone(),
        source: request.source.clone(),
        module_urls: request.module_urls.clone(),
        mode: request.mode,
        render: RenderOptions {
            engine_version: request.engine_version.clone(),
            dagger_version: Some(request.dagger_version.clone()),
            action_version,
            default_branch: request.default_branch.clone(),
            actions,
            provider,
            modules_token,
            verify_fixes,
        },
        force: request.force,
        notes,
    };
    let report = run_assist(&options, scan, planner)?;
    crate::agents::step_outputs::daggie_assist(&report);
    Ok(report)
}

/// The settings of the working directory (`agentci.toml`, `.env`, the environment).
fn settings_here(global: &GlobalOptions) -> anyhow::Result<Settings> {
    let working_dir = std::env::current_dir()
        .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
    Settings::load(global, &working_dir)
}

/// The provider the generated fix steps pass the variables of: `--provider`, else agentci.toml's
/// `[provider] name`, else the one detected from the environment, else Anthropic; with its model
/// and base-URL variables when a model or base URL is configured.
fn workflow_provider(global: &GlobalOptions, settings: &Settings) -> anyhow::Result<ProviderEnv> {
    let named = global
        .provider
        .clone()
        .or_else(|| settings.config.provider.name.clone());
    let detected = crate::llm::detect::detect(
        &crate::llm::detect::Overrides::from_options(global),
        &settings.config,
        &settings.environment,
    )
    .ok()
    .flatten();
    let name = named
        .or_else(|| detected.as_ref().map(|found| found.kind.name().to_string()))
        .unwrap_or_else(|| ProviderEnv::default().provider);
    let kind: crate::llm::ProviderKind = name.parse().map_err(crate::exit::usage)?;
    let environment = &settings.environment;
    let model = global.model.is_some()
        || settings.config.provider.model.is_some()
        || environment.get(kind.model_variable()).is_some();
    let base_url = settings.config.provider.base_url.is_some()
        || environment.get(kind.base_url_variable()).is_some();
    let mut provider = ProviderEnv::for_provider(kind.name(), model, base_url)?;
    if let Some(key) = &settings.config.provider.api_key_env
        && provider.key.is_some()
    {
        provider.key = Some(key.clone());
    }
    Ok(provider)
}

/// `daggie explain`.
pub async fn explain(
    request: &ExplainRequest,
    scan: Scanner<'_>,
    context: &ModelContext,
) -> anyhow::Result<Answer> {
    if request.question.trim().is_empty() {
        return Err(crate::exit::usage(
            "the question is empty; pass `--question TEXT` or `--question -` for stdin",
        ));
    }
    let catalog = if request.module_urls.is_empty() {
        None
    } else {
        Some(tokio::task::block_in_place(|| {
            load_catalog(&request.module_urls, scan)
        })?)
    };
    let (answer, run) = model::explain(
        &context.run,
        &request.source,
        &request.question,
        catalog.as_ref(),
    )
    .await?;
    Ok(Answer { answer, run })
}

/// `daggie debug`: the fix lands in the workspace, which is applied, diffed or exported at the
/// end; a failed run leaves `source` untouched (its changes are saved as a patch) unless
/// `keep_partial`.
pub async fn debug(request: &DebugRequest, context: &ModelContext) -> anyhow::Result<Fixed> {
    if request.error_output.trim().is_empty() {
        return Err(crate::exit::usage(
            "the error output is empty; pass `--error-output TEXT`, `--error-file FILE` or `-`",
        ));
    }
    let settings = &context.settings;
    let workspace = Workspace::open(&request.source)?;
    let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
    if request.allow_exec {
        let mut allowed: Vec<String> = DEBUG_COMMANDS.iter().map(|c| c.to_string()).collect();
        for command in settings.config.exec.allowed_for("daggie") {
            if !allowed.contains(&command) {
                allowed.push(command);
            }
        }
        // `dagger check` and `dagger functions` only read the project's dependency folders.
        let checks = DEBUG_COMMANDS.iter().map(|c| c.to_string()).collect();
        tools.push(crate::agent::tools::exec_tool(
            &workspace,
            allowed,
            checks,
            EXEC_TIMEOUT,
        ));
    }
    let servers = if request.mcp.is_empty() && settings.config.mcp.is_empty() {
        None
    } else {
        let specs = crate::agent::mcp::server_specs(&request.mcp, &settings.config)?;
        let servers = crate::agent::mcp::start_servers(&specs, &settings.environment).await;
        tools.extend(servers.tools());
        Some(servers)
    };
    let result = model::debug(&context.run, &workspace, &request.error_output, tools).await;
    if let Some(servers) = servers {
        servers.shutdown().await;
    }
    let mode = if request.dry_run {
        Conclusion::DryRun
    } else if let Some(directory) = &request.export {
        Conclusion::Export(directory.clone())
    } else if request.keep_partial && result.is_err() {
        Conclusion::KeepPartial
    } else {
        Conclusion::Apply
    };
    let concluded = workspace.conclude(result.is_ok(), &mode)?;
    match result {
        Ok((report, run)) => Ok(Fixed {
            report,
            run,
            concluded,
        }),
        Err(error) => {
            let kept = match (&concluded.patch, concluded.applied.is_empty()) {
                (Some(patch), true) => format!(
                    "; the partial changes are saved in `{}` (apply them with `git apply`, or \
                     rerun with `--keep-partial`)",
                    patch.display()
                ),
                (Some(patch), false) => format!(
                    "; the partial changes were applied (`--keep-partial`) and saved in `{}`",
                    patch.display()
                ),
                (None, _) => String::new(),
            };
            let error = error.context(format!("daggie debug stopped{kept}"));
            // `--keep-partial` applied the changes: this failure cannot claim "nothing changed".
            let applied = concluded.applied.iter().map(|path| path.display());
            Err(crate::exit::after_changes(error, applied))
        }
    }
}

/// `daggie review`.
pub async fn review(request: &ReviewRequest, context: &ModelContext) -> anyhow::Result<Review> {
    let (review, run) = model::review(
        &context.run,
        &request.source,
        request.diff.as_deref(),
        request.focus.as_deref(),
    )
    .await?;
    Ok(Review { review, run })
}
