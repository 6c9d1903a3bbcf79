//! `upgrade`: a dependency (monty) or Angular (angie) to a target version.

use std::io::Write;

use crate::config::GlobalOptions;
use crate::exit::Exit;

use super::Services;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::request::UpgradeRequest;

pub(super) async fn upgrade(
    pack: &'static LanguagePack,
    args: &UpgradeRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let target = fix::upgrade_target(pack, args.target_package.as_deref(), &args.target_version)?;
    let assignment = args.assignment.clone();
    let task = |_allowed: Option<&[String]>| {
        fix::upgrade_prompt(
            &args.agent.source,
            &target,
            args.agent.dry_run,
            assignment.as_deref(),
        )
    };
    workspace_verb(pack, "upgrade", &args.agent, global, services, &task, out).await
}
