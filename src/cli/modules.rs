//! `agentci modules scan <SOURCE>...`: the module scanner on its own. Prints the JSON of
//! CONTRACTS §4.1 with `--json`, else a table per source (module, SDK, version, checks).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::cli::GlobalOptions;
use crate::exit::{self, Exit};
use crate::scan::{self, Module, ScanReport};

#[derive(Debug, Args)]
pub struct ModulesArgs {
    #[command(subcommand)]
    pub command: ModulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List the modules, functions, arguments and checks of Dagger module libraries
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A local directory, or a git URL (`https://github.com/o/r[.git]`, `github.com/o/r[/path][@ref]`)
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Fetch git sources again even when the cached clone is fresh
    #[arg(long)]
    pub refresh: bool,
}

pub async fn run(args: ModulesArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    match args.command {
        ModulesCommand::Scan(scan_args) => scan(scan_args, global).await,
    }
}

/// One source as the user gave it, resolved to a tree to scan.
struct Source {
    label: String,
    /// The directory to scan; `None` for a git source, fetched when scanned.
    root: Option<PathBuf>,
}

async fn scan(args: ScanArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    // Validate every source before scanning any, so a typo fails fast and alone.
    let mut sources = Vec::with_capacity(args.sources.len());
    for given in &args.sources {
        sources.push(resolve_source(given)?);
    }
    let refresh = args.refresh;
    // `.env`'s GITHUB_TOKEN reaches private module libraries too (the environment wins).
    let working_dir = std::env::current_dir()
        .map_err(|error| exit::usage(format!("no working directory: {error}")))?;
    let token = crate::config::Environment::load(&working_dir)?.secret("GITHUB_TOKEN");
    let scanned = tokio::task::spawn_blocking(move || {
        sources
            .into_iter()
            .map(|source| {
                let report = match &source.root {
                    Some(root) => Ok(scan::scan_directory(root)),
                    None => scan::source::scan_source_with(&source.label, refresh, token.clone()),
                };
                (source.label, report)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    // A git library that cannot be fetched does not stop the others from being scanned and
    // printed, but the command fails naming it: a CI job must not go on with half a catalog.
    let mut unfetchable = Vec::new();
    let mut reports = Vec::with_capacity(scanned.len());
    for (label, report) in scanned {
        match report {
            Ok(report) => reports.push((label, report)),
            Err(error) => {
                unfetchable.push(format!("{error:#}"));
                let message = format!("{error:#}");
                reports.push((
                    label,
                    ScanReport {
                        // The library itself: `combine` names it by its label.
                        errors: vec![scan::ScanError {
                            source: String::new(),
                            message,
                        }],
                        ..ScanReport::default()
                    },
                ));
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    if global.json {
        let combined = combine(&reports);
        let text = serde_json::to_string_pretty(&combined)?;
        writeln!(stdout, "{}", crate::redact::redact(&text))?;
    } else {
        let text = render_table(&reports);
        write!(stdout, "{}", crate::redact::redact(&text))?;
    }
    stdout.flush()?;
    if !unfetchable.is_empty() {
        return Err(exit::usage(unfetchable.join("; ")));
    }
    Ok(Exit::Done)
}

fn resolve_source(given: &str) -> anyhow::Result<Source> {
    let path = Path::new(given);
    if path.is_dir() {
        return Ok(Source {
            label: given.to_string(),
            root: Some(path.to_path_buf()),
        });
    }
    if scan::source::is_git(given) {
        return Ok(Source {
            label: given.to_string(),
            root: None,
        });
    }
    if path.exists() {
        return Err(exit::usage(format!(
            "source `{given}` is not a directory; give the directory that holds the modules"
        )));
    }
    Err(exit::usage(format!(
        "source `{given}` does not exist (expected a local directory or a git URL)"
    )))
}

/// All sources in one report. Error sources are prefixed with the source they came from, so
/// that several sources stay distinguishable.
fn combine(reports: &[(String, ScanReport)]) -> ScanReport {
    let mut combined = ScanReport::default();
    for (label, report) in reports {
        combined.modules.extend(report.modules.iter().cloned());
        if combined.workspace.is_none() {
            combined.workspace.clone_from(&report.workspace);
        }
        combined
            .errors
            .extend(report.errors.iter().map(|error| scan::ScanError {
                source: if reports.len() > 1 || error.source.is_empty() {
                    join_label(label, &error.source)
                } else {
                    error.source.clone()
                },
                message: error.message.clone(),
            }));
    }
    combined
}

fn join_label(label: &str, path: &str) -> String {
    if path.is_empty() {
        label.to_string()
    } else {
        format!("{}/{path}", label.trim_end_matches('/'))
    }
}

/// A plain-text table per source, then each module's problems and the source's errors.
pub fn render_table(reports: &[(String, ScanReport)]) -> String {
    let mut out = String::new();
    for (index, (label, report)) in reports.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{label}\n"));
        if report.modules.is_empty() {
            out.push_str("  no modules found\n");
        } else {
            let rows: Vec<[String; 5]> = report.modules.iter().map(row).collect();
            let headers = ["MODULE", "SDK", "VERSION", "ROLE", "CHECKS"];
            let mut widths = headers.map(str::len);
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row.iter()) {
                    *width = (*width).max(cell.len());
                }
            }
            let line = |cells: [&str; 5]| {
                let mut text = String::from("  ");
                for (column, cell) in cells.iter().enumerate() {
                    text.push_str(&format!("{cell:<width$}  ", width = widths[column]));
                }
                format!("{}\n", text.trim_end())
            };
            out.push_str(&line(headers));
            for row in &rows {
                out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
            }
        }
        for module in &report.modules {
            for problem in &module.problems {
                out.push_str(&format!("  ! {}: {problem}\n", module_label(module)));
            }
        }
        for error in &report.errors {
            out.push_str(&format!("  error: {}: {}\n", error.source, error.message));
        }
    }
    out
}

fn module_label(module: &Module) -> String {
    if module.path.is_empty() || module.path == module.name {
        module.name.clone()
    } else {
        format!("{} ({})", module.name, module.path)
    }
}

fn row(module: &Module) -> [String; 5] {
    let role = match module.role {
        scan::Role::Module => "module",
        scan::Role::Example => "example",
        scan::Role::Test => "test",
    };
    [
        module_label(module),
        module.sdk.clone().unwrap_or_else(|| "-".to_string()),
        module.version.clone().unwrap_or_else(|| "-".to_string()),
        role.to_string(),
        if module.checks.is_empty() {
            "-".to_string()
        } else {
            module.checks.join(", ")
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sources_are_told_from_directories() {
        assert!(scan::source::is_git(
            "https://github.com/acme/dagger-modules.git"
        ));
        assert!(scan::source::is_git(
            "github.com/acme/dagger-modules/acme-backend@v1.0.0"
        ));
        assert!(scan::source::is_git("git@github.com:acme/m.git"));
        assert!(!scan::source::is_git("./local-modules"));
        assert!(!scan::source::is_git("modules"));
    }
}
