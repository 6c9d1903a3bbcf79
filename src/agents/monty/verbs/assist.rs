//! `assist`: an assignment done in the workspace.

use std::io::Write;

use crate::exit::Exit;

use super::Session;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::request::{AssistRequest, Verb};

pub(super) async fn assist(
    session: Session<'_>,
    args: &AssistRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let assignment = args.assignment.clone();
    let task =
        |allowed: Option<&[String]>| fix::assist_prompt(&args.agent.source, &assignment, allowed);
    workspace_verb(session, Verb::Assist, &args.agent, &task, out).await
}
