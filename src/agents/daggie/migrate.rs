//! `agentci daggie migrate`: a project's `dagger.json` toolchains turned into the equivalent
//! Dagger 1.0 `dagger.toml` workspaces, keeping what `dagger setup` drops (per-check paths become
//! per-directory workspaces), with a report of whatever has no 1.0 equivalent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::workspace_toml::{self, OutputFile};
use crate::scan::dagger_json;
use crate::scan::model::Module;

/// What `migrate` found and did.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    pub files: Vec<OutputFile>,
    /// Customizations with no workspace equivalent: they need a hand.
    pub unexpressible: Vec<String>,
    pub notes: Vec<String>,
    /// Whether the files were written (`false` with `--dry-run`).
    pub written: bool,
}

impl MigrateReport {
    /// Every file with a header, then the report: what `--dry-run` prints.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for file in &self.files {
            let _ = writeln!(text, "==> {} <==", file.path);
            text.push_str(&file.content);
            text.push('\n');
        }
        if !self.unexpressible.is_empty() {
            text.push_str("Not expressible in dagger.toml (handle by hand):\n");
            for item in &self.unexpressible {
                let _ = writeln!(text, "- {item}");
            }
        }
        if !self.notes.is_empty() {
            text.push_str("Notes:\n");
            for note in &self.notes {
                let _ = writeln!(text, "- {note}");
            }
        }
        if self.written {
            for file in &self.files {
                let _ = writeln!(text, "{}: written", file.path);
            }
        }
        text
    }
}

/// Convert `<root>/dagger.json`. `modules` are the toolchains' scanned modules by toolchain name
/// when known (the checks of a module that no customization names); without them, the
/// customized functions are the checks. Writes nothing when `dry_run`, and never overwrites a
/// `dagger.toml` that differs (a usage error).
pub fn migrate(
    root: &Path,
    modules: &BTreeMap<String, Module>,
    dry_run: bool,
) -> anyhow::Result<MigrateReport> {
    let path = root.join(super::DAGGER_JSON_PATH);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        crate::exit::usage(format!("cannot read `{}`: {error}", path.display()))
    })?;
    let file = dagger_json::parse(&text)
        .map_err(|error| crate::exit::usage(format!("`{}`: {error}", path.display())))?;
    if file.toolchains.is_empty() && file.blueprint.is_none() {
        return Err(crate::exit::usage(format!(
            "`{}` has no toolchains to migrate",
            path.display()
        )));
    }
    let borrowed: BTreeMap<String, &Module> = modules
        .iter()
        .map(|(name, module)| (name.clone(), module))
        .collect();
    let mut conversion = workspace_toml::convert(&file.toolchains, &borrowed);
    let mut notes = Vec::new();
    if let Some(blueprint) = &file.blueprint {
        // A blueprint is the workspace's entrypoint module in 1.0.
        let mut entry = crate::scan::workspace::ModuleEntry::new(blueprint.source.clone());
        entry.pin = blueprint.pin.clone();
        entry.entrypoint = Some(true);
        conversion
            .workspaces
            .entry(String::new())
            .or_default()
            .modules
            .insert(blueprint.name.clone(), entry);
        if !blueprint.customizations.is_empty() {
            conversion.unexpressible.push(format!(
                "blueprint `{}`: its customizations are not migrated",
                blueprint.name
            ));
        }
    }
    if file.sdk.is_some() {
        notes.push(format!(
            "`dagger.json` is also the module `{}` (it has an SDK): `dagger setup` converts it to \
             `dagger-module.toml`; only its toolchains are migrated here",
            file.name
        ));
    } else {
        notes.push(
            "remove `dagger.json` once the workspaces work: it only held toolchains".to_string(),
        );
    }
    notes.push(
        "the first `dagger check` in each workspace writes its `dagger.lock`: commit it, refresh \
         it with `dagger update`"
            .to_string(),
    );
    let nested: Vec<String> = conversion
        .directories()
        .into_iter()
        .filter(|directory| !directory.is_empty())
        .collect();
    if !nested.is_empty() {
        notes.push(format!(
            "run `dagger check` in each workspace directory ({}); CI must do the same",
            super::quote_list(&nested)
        ));
    }
    let files = conversion.files()?;
    let mut report = MigrateReport {
        files,
        unexpressible: conversion.unexpressible,
        notes,
        written: false,
    };
    if dry_run {
        return Ok(report);
    }
    let mut to_write: Vec<(PathBuf, &str)> = Vec::new();
    for file in &report.files {
        let full = root.join(&file.path);
        match std::fs::read_to_string(&full) {
            Ok(existing) if existing == file.content => {}
            Ok(_) => {
                return Err(crate::exit::usage(format!(
                    "`{}` exists and differs; look at the migration with `--dry-run` and merge \
                     it by hand",
                    full.display()
                )));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                to_write.push((full, file.content.as_str()));
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read `{}`", full.display()));
            }
        }
    }
    for (full, content) in to_write {
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&full, content)
            .with_context(|| format!("cannot write `{}`", full.display()))?;
    }
    report.written = true;
    Ok(report)
}
