//! `agentci daggie …`: the arguments of daggie's verbs, the request each one becomes, and how
//! its result is printed; the verbs themselves are `agents::daggie::verbs`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::agents::daggie::model::ModelRun;
use crate::agents::daggie::request::{
    AssistRequest, DaggieRequest, DaggieResult, DebugRequest, ExplainRequest, Fixed, ReviewRequest,
};
use crate::agents::daggie::versions::ActionVersions;
use crate::agents::daggie::{AssistReport, OutputMode, Planner, Scanner, verbs};
use crate::agents::review::to_markdown;
use crate::cli::GlobalOptions;
use crate::cli::input::{LongInput, read_file_input, read_stdin};
use crate::config::Settings;
use crate::exit::Exit;

pub use crate::agents::daggie::verbs::{DEBUG_COMMANDS, ModelContext};

/// `agentci daggie [VERB]`: without a verb, the options are `assist`'s (`agentci daggie
/// --assignment-file FILE --module-url URL …`, the invocation the docs promise).
#[derive(Debug, Args)]
pub struct DaggieArgs {
    #[command(subcommand)]
    pub verb: Option<DaggieVerb>,
    #[command(flatten)]
    pub assist: Box<AssistArgs>,
}

impl DaggieArgs {
    /// The verb to run: the one named, else `assist` with the options given.
    pub fn verb(&self) -> DaggieVerb {
        self.verb
            .clone()
            .unwrap_or_else(|| DaggieVerb::Assist((*self.assist).clone()))
    }

    /// The verb as a request: flags resolved, long inputs read from their files or stdin.
    pub fn request(&self) -> anyhow::Result<DaggieRequest> {
        Ok(match self.verb() {
            DaggieVerb::Assist(args) => DaggieRequest::Assist(args.request()?),
            DaggieVerb::Explain(args) => DaggieRequest::Explain(ExplainRequest {
                question: if args.question == "-" {
                    read_stdin("question")?
                } else {
                    args.question
                },
                source: args.source,
                module_urls: args.module_urls,
            }),
            DaggieVerb::Debug(args) => DaggieRequest::Debug(DebugRequest {
                error_output: read_error_output(&args)?,
                source: args.source,
                dry_run: args.dry_run,
                export: args.export,
                keep_partial: args.keep_partial,
                allow_exec: args.allow_exec,
                mcp: args.mcp,
            }),
            DaggieVerb::Review(args) => DaggieRequest::Review(ReviewRequest {
                diff: args
                    .diff
                    .as_deref()
                    .map(|path| read_file_input(path, "diff"))
                    .transpose()?,
                source: args.source,
                focus: args.focus,
            }),
            DaggieVerb::Migrate(args) => DaggieRequest::Migrate(args.request()),
        })
    }
}

#[derive(Debug, Clone, Subcommand)]
// Parsed once per process; boxing the large variant would only add noise to every match.
#[allow(clippy::large_enum_variant)]
pub enum DaggieVerb {
    /// Write a toolchain-only `dagger.json` and `.github/workflows/ci.yml` from a module library
    Assist(AssistArgs),
    /// Answer a question about the project's Dagger and CI set-up (reads only)
    Explain(ExplainArgs),
    /// Find and fix the cause of a failing Dagger module or configuration
    Debug(DebugArgs),
    /// Review the project's Dagger and CI set-up, or a change to it (reads only)
    Review(ReviewArgs),
    /// Convert the project's `dagger.json` toolchains to Dagger 1.0 `dagger.toml` workspaces
    Migrate(super::daggie_migrate::MigrateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The question (`-` reads it from stdin)
    #[arg(long, value_name = "TEXT")]
    pub question: String,
    /// The project to read
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// A module library whose catalog the answer may refer to (repeatable)
    #[arg(long = "module-url", value_name = "URL|DIR")]
    pub module_urls: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DebugArgs {
    /// The failing command's output, as text
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["error_file", "stdin"])]
    pub error_output: Option<String>,
    /// The failing command's output, from a file (`-` for stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
    pub error_file: Option<PathBuf>,
    /// `-` reads the error output from stdin
    #[arg(value_name = "-")]
    pub stdin: Option<String>,
    /// The workspace to fix
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Change nothing; print the diff of the fix
    #[arg(long, conflicts_with = "export")]
    pub dry_run: bool,
    /// Write the fixed workspace to this directory instead of back into `--source`
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Apply the changes of a run stopped by a budget or an error anyway
    #[arg(long)]
    pub keep_partial: bool,
    /// Let the agent run `dagger check` and `dagger functions` (and the `[exec]` commands of
    /// agentci.toml)
    #[arg(long)]
    pub allow_exec: bool,
    /// Attach an MCP server: `NAME=COMMAND ARGS…` (stdio) or `NAME=URL` (streamable HTTP)
    #[arg(long, value_name = "NAME=COMMAND|URL")]
    pub mcp: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// The project to review
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Review this unified diff (a file, `-` for stdin) rather than the whole set-up
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// What to look at most closely
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,
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
    /// A module library: a local directory or a git URL (repeatable; `--module-urls` is an alias)
    #[arg(
        long = "module-url",
        visible_alias = "module-urls",
        value_name = "URL|DIR"
    )]
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
    /// The Dagger version to write for: 1.x writes `dagger.toml` workspaces, 0.x `dagger.json`;
    /// `auto` asks the `dagger` on `PATH`, then the project's config, then the library
    #[arg(long, value_name = "VERSION|auto", default_value = "auto")]
    pub dagger_version: String,
    /// `dagger/dagger-for-github` version for the workflow [default: the newest release when
    /// `GITHUB_TOKEN` is set, else the built-in one]
    #[arg(long, value_name = "V")]
    pub action_version: Option<String>,
    /// The branch whose pushes deploy
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub default_branch: String,
    /// Replace a `.github/workflows/ci.yml` that daggie did not generate, or a `dagger.json`
    /// whose hand edits conflict with the plan
    #[arg(long)]
    pub force: bool,
    /// The module libraries are private: the workflow reads them with a token from this
    /// repository secret (Dagger uses the host's git credentials)
    #[arg(long, value_name = "SECRET", num_args = 0..=1, default_missing_value = DEFAULT_MODULES_TOKEN)]
    pub private_modules: Option<String>,
    /// The generated fix job verifies each suggestion before it posts it: it installs Dagger and
    /// re-runs the failed checks on a copy with the suggestions applied (`suggest-fix --verify`)
    #[arg(long)]
    pub verify_fixes: bool,
    /// Action versions looked up before planning (set by the command line, not a flag).
    #[arg(skip)]
    pub looked_up: Option<ActionVersions>,
}

/// The repository secret `--private-modules` uses when it names none.
pub const DEFAULT_MODULES_TOKEN: &str = "DAGGER_MODULES_TOKEN";

impl AssistArgs {
    /// `assist`'s request: the assignment read from its text, file or stdin.
    pub fn request(&self) -> anyhow::Result<AssistRequest> {
        let mode = if self.check {
            OutputMode::Check
        } else if self.dry_run {
            OutputMode::DryRun
        } else {
            OutputMode::Write
        };
        Ok(AssistRequest {
            assignment: read_assignment(self)?,
            source: self.source.clone(),
            module_urls: self.module_urls.clone(),
            offline: self.offline,
            mode,
            engine_version: self.engine_version.clone(),
            dagger_version: self.dagger_version.clone(),
            action_version: self.action_version.clone(),
            default_branch: self.default_branch.clone(),
            force: self.force,
            private_modules: self.private_modules.clone(),
            verify_fixes: self.verify_fixes,
            looked_up: self.looked_up.clone(),
        })
    }
}

/// The model run of this command line: the provider detected, with the budget, event stream,
/// pricing and progress it asks for. Fails (exit 2) when no provider is configured.
pub fn model_context(global: &GlobalOptions) -> anyhow::Result<ModelContext> {
    let working_dir = std::env::current_dir()
        .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
    let settings = Settings::load(global, &working_dir)?;
    let run = ModelRun::resolve(global, &settings, None)?;
    Ok(ModelContext { run, settings })
}

/// Run a daggie command line: look up action versions for `assist`, build the model run when
/// the verb needs one, run the verb and print its result.
pub async fn run_command(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    let mut request = args.request()?;
    verbs::look_up_action_versions(&mut request).await;
    let result = if request.needs_model() {
        let context = model_context(global)?;
        verbs::run_with_model(&request, global, scan, &context).await?
    } else {
        tokio::task::block_in_place(|| verbs::run(&request, global, scan, None))?
    };
    print(&result, global, &mut out)
}

/// Run a daggie verb with a model and print its result. `assist` runs its (blocking) pipeline in
/// `block_in_place`, so this needs a multi-threaded tokio runtime.
pub async fn run_with_model(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    context: &ModelContext,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let result = verbs::run_with_model(&args.request()?, global, scan, context).await?;
    print(&result, global, out)
}

/// Run a daggie verb and print its result. `scan` reads module libraries; `model_planner` plans
/// with a model and is only needed without `--offline`. The model verbs need
/// [`run_with_model`].
pub fn run(
    args: &DaggieArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let result = verbs::run(&args.request()?, global, scan, model_planner)?;
    print(&result, global, out)
}

/// `daggie assist` from its arguments, printed.
pub fn assist(
    args: &AssistArgs,
    global: &GlobalOptions,
    scan: Scanner<'_>,
    model_planner: Option<Planner<'_>>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let report = verbs::assist(&args.request()?, global, scan, model_planner)?;
    print_assist(&report, global, out)
}

/// A verb's result as text, or as JSON with `--json`.
fn print(
    result: &DaggieResult,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match result {
        DaggieResult::Assist(report) => return print_assist(report, global, out),
        DaggieResult::Explain(answer) => {
            if global.json {
                write_json(
                    out,
                    &serde_json::json!({"answer": answer.answer, "run": answer.run}),
                )?;
            } else {
                writeln!(out, "{}", crate::redact::redact(answer.answer.trim_end()))?;
            }
        }
        DaggieResult::Debug(fixed) => {
            write_debug_result(out, global, fixed)?;
        }
        DaggieResult::Review(review) => {
            if global.json {
                write_json(out, &serde_json::to_value(&review.review)?)?;
            } else {
                write!(
                    out,
                    "{}",
                    crate::redact::redact(&to_markdown(&review.review, "Daggie"))
                )?;
            }
        }
        DaggieResult::Migrate(report) => super::daggie_migrate::print(report, global, out)?,
    }
    Ok(Exit::Done)
}

/// `assist`'s report, then, with `--check`, the error that names the stale files.
fn print_assist(
    report: &AssistReport,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if global.json {
        write_json(out, &serde_json::to_value(report)?)?;
    } else {
        write!(out, "{}", crate::redact::redact(&report.summary()))?;
        if let Some(diff) = &report.diff
            && !diff.is_empty()
        {
            write!(out, "\n{diff}")?;
        }
    }
    report.ensure_current()?;
    Ok(Exit::Done)
}

/// `debug`'s report, then what became of its changes.
fn write_debug_result(
    out: &mut dyn Write,
    global: &GlobalOptions,
    fixed: &Fixed,
) -> anyhow::Result<()> {
    let Fixed {
        report,
        run,
        concluded,
    } = fixed;
    let applied: Vec<String> = concluded
        .applied
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    if global.json {
        return write_json(
            out,
            &serde_json::json!({
                "report": report,
                "run": run,
                "applied": applied,
                "diff": concluded.diff,
                "exported": concluded.exported.as_ref().map(|path| path.display().to_string()),
                "patch": concluded.patch.as_ref().map(|path| path.display().to_string()),
            }),
        );
    }
    writeln!(out, "{}", crate::redact::redact(report.trim_end()))?;
    if !applied.is_empty() {
        writeln!(out, "\nChanged: {}", applied.join(", "))?;
    }
    if let Some(exported) = &concluded.exported {
        writeln!(out, "\nThe fixed workspace is in `{}`", exported.display())?;
    }
    if let Some(diff) = concluded.diff.as_deref().filter(|diff| !diff.is_empty()) {
        write!(out, "\n{}", crate::redact::redact(diff))?;
    }
    if applied.is_empty() && concluded.exported.is_none() && concluded.diff.is_none() {
        writeln!(out, "\nNo file changed.")?;
    }
    Ok(())
}

fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &crate::redact::redact_json(value))?;
    writeln!(out)?;
    Ok(())
}

fn read_error_output(args: &DebugArgs) -> anyhow::Result<String> {
    LongInput::new(
        "error output",
        ["--error-output", "--error-file"],
        args.error_output.as_deref(),
        args.error_file.as_deref(),
    )
    .or_dash(args.stdin.as_deref())
    .require("debug")
}

fn read_assignment(args: &AssistArgs) -> anyhow::Result<String> {
    LongInput::new(
        "assignment",
        ["--assignment", "--assignment-file"],
        args.assignment.as_deref(),
        args.assignment_file.as_deref(),
    )
    .or_dash(args.stdin.as_deref())
    .require("assist")
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
            other => panic!("not assist: {other:?}"),
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
        assert_eq!(args.action_version.as_deref(), Some("v8.4.1"));
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
        assert_eq!(crate::cli::exit_for(&error), Exit::Usage);
        let args = parse(&["assignment.md", "--module-url", "modules"]).unwrap();
        let error = read_assignment(&args).unwrap_err();
        assert!(format!("{error}").contains("unexpected argument `assignment.md`"));
        let args = parse(&["--assignment", "Set up CI", "--module-url", "modules"]).unwrap();
        assert_eq!(read_assignment(&args).unwrap(), "Set up CI");
    }
}
