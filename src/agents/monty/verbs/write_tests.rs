//! `write-tests`: tests for a target, with a framework the pack knows.

use std::io::Write;

use crate::exit::Exit;

use super::Session;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::request::{Verb, WriteTestsRequest};

pub(super) async fn write_tests(
    session: Session<'_>,
    args: &WriteTestsRequest,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let framework = fix::test_framework(session.pack, args.test_framework.as_deref())?;
    let assignment = args.assignment.clone();
    let task = |allowed: Option<&[String]>| {
        fix::write_tests_prompt(
            session.pack,
            &args.agent.source,
            args.target.as_deref(),
            &framework,
            assignment.as_deref(),
            allowed,
        )
    };
    workspace_verb(session, Verb::WriteTests, &args.agent, &task, out).await
}
