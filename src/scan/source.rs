//! One entry point for a module library given as text: a local directory is scanned in place, a
//! git URL is fetched (cached), scanned at the versions a project would install, and each module
//! annotated with its repository, ref, version and pin. `modules scan` and daggie share it.

use std::path::Path;

use super::git::{self, FetchOptions};
use super::{ScanReport, scan_directory};

/// Scan a library: a local directory or a git URL (CONTRACTS §4.1). Blocking.
pub fn scan_source(text: &str, refresh: bool) -> anyhow::Result<ScanReport> {
    scan_source_with(text, refresh, None)
}

/// [`scan_source`] with the token for https remotes given (agentci's environment: `.env`
/// overlaid by the process environment), instead of the process's `GITHUB_TOKEN` alone.
pub fn scan_source_with(
    text: &str,
    refresh: bool,
    token: Option<secrecy::SecretString>,
) -> anyhow::Result<ScanReport> {
    let path = Path::new(text);
    if path.is_dir() {
        return Ok(scan_directory(path));
    }
    let Some(source) = git::parse_source(text) else {
        if path.exists() {
            return Err(crate::exit::usage(format!(
                "source `{text}` is not a directory; give the directory that holds the modules"
            )));
        }
        return Err(crate::exit::usage(format!(
            "source `{text}` does not exist (expected a local directory or a git URL)"
        )));
    };
    let mut options = FetchOptions {
        refresh,
        ..FetchOptions::from_env()
    };
    if token.is_some() {
        options.token = token;
    }
    let checkout = git::fetch(&source, &options).map_err(|error| {
        crate::exit::usage(format!("cannot fetch module library `{text}`: {error}"))
    })?;
    let mut report = scan_directory(&checkout.root);
    for module in &mut report.modules {
        checkout.annotate(module);
    }
    Ok(report)
}

/// Does `text` name a git source rather than a local path?
pub fn is_git(text: &str) -> bool {
    !Path::new(text).is_dir() && git::parse_source(text).is_some()
}
