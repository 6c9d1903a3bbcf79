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
    let pack = session.pack;
    let framework = match &args.test_framework {
        Some(framework) if pack.test_frameworks.contains(&framework.as_str()) => framework.clone(),
        Some(framework) => {
            return Err(crate::exit::usage(format!(
                "{} writes tests with {}; `{framework}` is not one of them",
                pack.agent,
                pack.test_frameworks.join(", ")
            )));
        }
        None => pack
            .test_frameworks
            .first()
            .copied()
            .unwrap_or("the project's framework")
            .to_owned(),
    };
    let assignment = args.assignment.clone();
    let task = |allowed: Option<&[String]>| {
        fix::write_tests_prompt(
            pack,
            &args.agent.source,
            args.target.as_deref(),
            &framework,
            assignment.as_deref(),
            allowed,
        )
    };
    workspace_verb(session, Verb::WriteTests, &args.agent, &task, out).await
}
