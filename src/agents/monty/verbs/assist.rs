//! `assist`: an assignment done in the workspace.

use std::io::Write;

use crate::config::GlobalOptions;
use crate::exit::Exit;

use super::Services;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::request::AssistRequest;

pub(super) async fn assist(
    pack: &'static LanguagePack,
    args: &AssistRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let assignment = args.assignment.clone();
    let task =
        |allowed: Option<&[String]>| fix::assist_prompt(&args.agent.source, &assignment, allowed);
    workspace_verb(pack, "assist", &args.agent, global, services, &task, out).await
}
