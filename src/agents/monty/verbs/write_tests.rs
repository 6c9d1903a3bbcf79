//! `write-tests`: tests for a target, with a framework the pack knows.

use std::io::Write;

use crate::config::GlobalOptions;
use crate::exit::Exit;

use super::Services;
use super::workspace::workspace_verb;
use crate::agents::monty::fix;
use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::request::WriteTestsRequest;

pub(super) async fn write_tests(
    pack: &'static LanguagePack,
    args: &WriteTestsRequest,
    global: &GlobalOptions,
    services: &Services,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
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
    workspace_verb(
        pack,
        "write-tests",
        &args.agent,
        global,
        services,
        &task,
        out,
    )
    .await
}
