//! monty's and angie's verbs on the agent runtime: `suggest-fix` and `review` (read-only tools,
//! typed submissions, one pull-request review) and the workspace verbs `assist`, `write-tests`,
//! `build` and `upgrade` (read-write tools, a report, changes applied or shown at the end).
//!
//! This module holds what every verb shares (services, the agent, argument checks, the allowed
//! commands) and the dispatch; each verb has its own file.

mod assist;
mod build;
mod github;
mod print;
mod review;
mod suggest_fix;
mod upgrade;
mod workspace;
mod write_tests;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::AgentOptions;
use crate::agent::{Agent, AgentSpec, LazyServices, load_context};
use crate::config::{Environment, GlobalOptions, Settings};
use crate::exit::Exit;
use crate::github::client::ClientSettings;
use crate::llm::Provider;

use super::fix;
use super::packs::LanguagePack;
use super::request::{MontyRequest, Verb};

pub(crate) use github::github_client;
pub(crate) use print::{print_workspace_result, write_json};
pub(crate) use workspace::{WorkspaceRun, workspace_run};

/// How long one `exec` or verify command may run.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What a run needs from outside: configuration, and for tests an injected provider and GitHub
/// server.
pub struct Services {
    pub settings: Settings,
    /// Used instead of detecting a provider from the settings.
    pub provider: Option<Arc<dyn Provider>>,
    /// Used instead of `--github-token`/`GITHUB_API_URL`; `--dry-run` still applies.
    pub github: Option<ClientSettings>,
    /// What the command has spent: every run of one command (develop-issue's route, verb and
    /// retry) shares it, so the budget bounds the command.
    pub ledger: Arc<crate::agent::budget::Ledger>,
}

impl Services {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            provider: None,
            github: None,
            ledger: crate::agent::budget::Ledger::shared(),
        }
    }
}

/// Run one verb.
pub async fn run(
    pack: &'static LanguagePack,
    request: &MontyRequest,
    global: &GlobalOptions,
    services: Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let run = LazyServices::new(
        global.clone(),
        services.settings.clone(),
        services.provider.clone(),
    );
    let session = Session {
        pack,
        global,
        services: &services,
        run: &run,
    };
    match request {
        MontyRequest::SuggestFix(verb) => suggest_fix::suggest_fix(session, verb, out).await,
        MontyRequest::Review(verb) => review::review(session, verb, out).await,
        MontyRequest::Assist(verb) => assist::assist(session, verb, out).await,
        MontyRequest::WriteTests(verb) => write_tests::write_tests(session, verb, out).await,
        MontyRequest::Build(verb) => build::build(session, verb, out).await,
        MontyRequest::Upgrade(verb) => upgrade::upgrade(session, verb, out).await,
        MontyRequest::DevelopIssue(verb) => super::develop::develop_issue(session, verb, out).await,
    }
}

/// What every verb of one command works with: the agent's language pack, the global flags and
/// the services.
#[derive(Clone, Copy)]
pub(crate) struct Session<'a> {
    pub pack: &'static LanguagePack,
    pub global: &'a GlobalOptions,
    pub services: &'a Services,
    /// The command's provider, budget, events and pricing, resolved once, when first needed.
    pub run: &'a LazyServices,
}

impl Session<'_> {
    pub(crate) fn provider(&self) -> anyhow::Result<Arc<dyn Provider>> {
        Ok(self.run.get()?.provider)
    }

    /// The configuration layer's environment (`.env` under the process environment), which the
    /// GitHub layer reads as an [`crate::github::client::EnvSource`].
    pub(crate) fn env(&self) -> &Environment {
        &self.services.settings.environment
    }

    /// The agent with everything every verb shares: prompt, context files, budget, events,
    /// pricing.
    pub(crate) fn agent(&self, verb: Verb, source: &Path) -> anyhow::Result<Agent> {
        let pack = self.pack;
        let spec = AgentSpec {
            agent: pack.agent.to_owned(),
            verb: verb.name().to_owned(),
            system_prompt: fix::system_prompt(pack)?,
        };
        let run = self.run.get()?;
        let agent = Agent::new(Arc::clone(&run.provider), spec).context(load_context(
            source,
            pack.context_file,
            &[],
        ));
        Ok(run.equip(agent).ledger(Arc::clone(&self.services.ledger)))
    }

    /// The commands `exec` (and `--verify`) may run: the pack's checks, its installing and
    /// code-running commands with `--allow-exec=install`, then the config's.
    pub(super) fn allowed_commands(&self, install: bool) -> Vec<String> {
        let pack = self.pack;
        let installing: &[&str] = if install { pack.install_commands } else { &[] };
        let mut allowed: Vec<String> = pack
            .check_commands
            .iter()
            .chain(installing)
            .map(|command| (*command).to_owned())
            .collect();
        for command in self.services.settings.config.exec.allowed_for(pack.agent) {
            if !allowed.contains(&command) {
                allowed.push(command);
            }
        }
        allowed
    }
}

/// Flags that only mean something for verbs that change files.
pub(super) fn refuse_workspace_flags(verb: Verb, agent: &AgentOptions) -> anyhow::Result<()> {
    if agent.export.is_some() || agent.keep_partial {
        return Err(crate::exit::usage(format!(
            "`{}` changes no files: `--export` and `--keep-partial` do not apply",
            verb.name()
        )));
    }
    Ok(())
}
