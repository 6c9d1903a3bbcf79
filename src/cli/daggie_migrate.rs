//! `agentci daggie migrate [--dry-run]`: the arguments and the runner; the conversion itself is
//! `agents::daggie::migrate`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::agents::daggie::migrate;
use crate::cli::GlobalOptions;
use crate::exit::Exit;

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The project whose `dagger.json` toolchains to convert
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub source: PathBuf,
    /// Write nothing; print the `dagger.toml` files and the report
    #[arg(long)]
    pub dry_run: bool,
}

/// Run `daggie migrate`: offline, no model.
pub fn run(
    args: &MigrateArgs,
    global: &GlobalOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let report = migrate::migrate(&args.source, &BTreeMap::new(), args.dry_run)?;
    if global.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(report.to_text().as_bytes())?;
    }
    Ok(Exit::Done)
}
