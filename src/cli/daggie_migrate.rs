//! `agentci daggie migrate [--dry-run]`: the arguments, the request they make and how the report
//! is printed; the conversion itself is `agents::daggie::migrate`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::agents::daggie::migrate::MigrateReport;
use crate::agents::daggie::request::MigrateRequest;
use crate::cli::GlobalOptions;

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The project whose `dagger.json` toolchains to convert
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Write nothing; print the `dagger.toml` files and the report
    #[arg(long)]
    pub dry_run: bool,
}

impl MigrateArgs {
    pub fn request(&self) -> MigrateRequest {
        MigrateRequest {
            source: self.source.clone(),
            dry_run: self.dry_run,
        }
    }
}

/// The report as text (the files, then what needs a hand), or as JSON with `--json`.
pub fn print(
    report: &MigrateReport,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if global.json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)?;
    } else {
        out.write_all(report.to_text().as_bytes())?;
    }
    Ok(())
}
