//! `upgrade`: a dependency (monty) or Angular (angie) to a target version.

use std::io::Write;

use crate::exit::Exit;

use super::Session;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::request::{UpgradeRequest, Verb};

pub(super) async fn upgrade(
    session: Session<'_>,
    args: &UpgradeRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let target = fix::upgrade_target(
        session.pack,
        args.target_package.as_deref(),
        &args.target_version,
    )?;
    let assignment = args.assignment.clone();
    let task = |_allowed: Option<&[String]>| {
        fix::upgrade_prompt(
            &args.agent.source,
            &target,
            args.agent.dry_run,
            assignment.as_deref(),
        )
    };
    workspace_verb(session, Verb::Upgrade, &args.agent, &task, out).await
}
