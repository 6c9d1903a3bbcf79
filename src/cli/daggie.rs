//! `agentci daggie …`: the arguments of daggie's verbs and the code that runs them.

use std::io::{Read as _, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::agents::daggie::render::{self, RenderOptions};
use crate::agents::daggie::{
    AssistOptions, OutputMode, Planner, Scanner, offline_planner, run_assist,
};
use crate::cli::GlobalArgs;
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct DaggieArgs {
    #[command(subcommand)]
    pub verb: DaggieVerb,
}

#[derive(Debug, Subcommand)]
pub enum DaggieVerb {
    /// Write a toolchain-only `dagger.json` and `.github/workflows/ci.yml` from a module library
    Assist(AssistArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AssistArgs {
    /// What to set up, as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["assignment_file", "stdin"])]
    pub assignment: Option<String>,
    /// What to set up, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    pub assignment_file: Option<PathBuf>,
    /// `-` reads the assignment from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    /// The project to set up
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// A module library: a local directory or a git URL (repeatable)
    #[arg(long = "module-url", value_name = "URL|DIR")]
    pub module_urls: Vec<String>,
    /// Plan without a model, from the catalog's own descriptions
    #[arg(long)]
    pub offline: bool,
    /// Write nothing; print the diff of what would be written
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,
    /// Write nothing; exit 1 when the files on disk differ from what would be generated
    #[arg(long)]
    pub check: bool,
    /// `engineVersion` for dagger.json [default: the newest among the chosen modules]
    #[arg(long, value_name = "V")]
    pub engine_version: Option<String>,
    /// `dagger/dagger-for-github` version for the workflow
    #[arg(long, value_name = "V", default_value = render::DAGGER_ACTION_VERSION)]
    pub action_version: String,
    /// The branch whose pushes deploy
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub default_branch: String,
    /// Replace a `.github/workflows/ci.yml` that daggie did not generate
    #[arg(long)]
    pub force: bool,
    /// How the fix job installs agentci [default: `cargo install --locked agentci@<this version>`]
    #[arg(long, value_name = "COMMAND")]
    pub agentci_install: Option<String>,
}

/// Run a daggie verb. `scan` reads module libraries; `model_planner` plans with a model and is
/// only needed without `--offline`.
pub fn run(
    args: &DaggieArgs,
    global: &GlobalArgs,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match &args.verb {
        DaggieVerb::Assist(assist_args) => assist(assist_args, global, scan, model_planner, out),
    }
}

pub fn assist(
    args: &AssistArgs,
    global: &GlobalArgs,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let assignment = read_assignment(args)?;
    let planner: Planner<'_> = if args.offline {
        &offline_planner
    } else {
        model_planner.ok_or_else(|| {
            crate::exit::usage(
                "planning with a model is not available in this build; pass `--offline` to plan \
                 from the catalog alone",
            )
        })?
    };
    let provider_key = match &global.provider {
        Some(provider) => render::provider_key(provider)?,
        None => RenderOptions::default().provider_key,
    };
    let action_version = render::normalize_action_version(&args.action_version)?;
    let options = AssistOptions {
        assignment,
        source: args.source.clone(),
        module_urls: args.module_urls.clone(),
        mode: if args.check {
            OutputMode::Check
        } else if args.dry_run {
            OutputMode::DryRun
        } else {
            OutputMode::Write
        },
        render: RenderOptions {
            engine_version: args.engine_version.clone(),
            action_version,
            default_branch: args.default_branch.clone(),
            agentci_install: args
                .agentci_install
                .clone()
                .unwrap_or_else(render::default_agentci_install),
            provider_key,
        },
        force: args.force,
    };
    let report = run_assist(&options, scan, planner)?;
    if global.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &crate::redact::redact_json(&serde_json::to_value(&report)?),
        )?;
        writeln!(out)?;
    } else {
        write!(out, "{}", crate::redact::redact(&report.summary()))?;
        if let Some(diff) = &report.diff
            && !diff.is_empty()
        {
            write!(out, "\n{diff}")?;
        }
    }
    let stale = report.stale_files();
    if options.mode == OutputMode::Check && !stale.is_empty() {
        return Err(crate::exit::negative(format!(
            "{} out of date; run `agentci daggie assist` without `--check` to regenerate",
            stale
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    Ok(Exit::Done)
}

fn read_assignment(args: &AssistArgs) -> anyhow::Result<String> {
    if let Some(text) = &args.assignment {
        if text == "-" {
            return read_stdin();
        }
        return Ok(text.clone());
    }
    if let Some(path) = &args.assignment_file {
        if path.as_os_str() == "-" {
            return read_stdin();
        }
        return std::fs::read_to_string(path).map_err(|error| {
            crate::exit::usage(format!(
                "cannot read the assignment file `{}`: {error}",
                path.display()
            ))
        });
    }
    match args.stdin.as_deref() {
        Some("-") => read_stdin(),
        Some(other) => Err(crate::exit::usage(format!(
            "unexpected argument `{other}`; pass the assignment with `--assignment TEXT`, \
             `--assignment-file FILE` or `-` for stdin"
        ))),
        None => Err(crate::exit::usage(
            "no assignment; pass `--assignment TEXT`, `--assignment-file FILE` or `-` for stdin",
        )),
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| {
            crate::exit::usage(format!("cannot read the assignment from stdin: {error}"))
        })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        verb: DaggieVerb,
    }

    fn parse(args: &[&str]) -> Result<AssistArgs, clap::Error> {
        let mut full = vec!["daggie", "assist"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).map(|cli| match cli.verb {
            DaggieVerb::Assist(args) => args,
        })
    }

    #[test]
    fn parses_the_documented_flags() {
        let args = parse(&[
            "--assignment-file",
            "daggie-assignment.md",
            "--source",
            "examples/monorepo",
            "--module-url",
            "https://github.com/acme/dagger-modules.git",
            "--module-url",
            "./local-modules",
            "--offline",
            "--dry-run",
            "--engine-version",
            "v0.20.3",
            "--action-version",
            "v8.4.1",
        ])
        .unwrap();
        assert_eq!(args.module_urls.len(), 2);
        assert!(args.offline && args.dry_run && !args.check);
        assert_eq!(args.source, PathBuf::from("examples/monorepo"));
        assert_eq!(args.default_branch, "main");
        assert_eq!(args.action_version, render::DAGGER_ACTION_VERSION);
        let stdin = parse(&["-", "--module-url", "modules"]).unwrap();
        assert_eq!(stdin.stdin.as_deref(), Some("-"));
    }

    #[test]
    fn conflicting_flags_are_refused() {
        assert!(parse(&["--dry-run", "--check", "--assignment", "x"]).is_err());
        assert!(parse(&["--assignment", "x", "--assignment-file", "f"]).is_err());
        assert!(parse(&["--assignment-file", "f", "-"]).is_err());
    }

    #[test]
    fn an_empty_or_odd_assignment_source_is_a_usage_error() {
        let args = parse(&["--module-url", "modules"]).unwrap();
        let error = read_assignment(&args).unwrap_err();
        assert_eq!(crate::exit::exit_for(&error), Exit::Usage);
        let args = parse(&["assignment.md", "--module-url", "modules"]).unwrap();
        let error = read_assignment(&args).unwrap_err();
        assert!(format!("{error}").contains("unexpected argument `assignment.md`"));
        let args = parse(&["--assignment", "Set up CI", "--module-url", "modules"]).unwrap();
        assert_eq!(read_assignment(&args).unwrap(), "Set up CI");
    }
}
