//! The module scanner: what a Dagger module library offers, read deterministically from
//! `dagger-module.toml`/`dagger.json` files and SDK sources (Dang included), plus a project's
//! `dagger.toml` workspace. [`model`] holds the output types (CONTRACTS §4.1), which
//! daggie's catalog and `agentci modules scan --json` share.

pub mod dagger_json;
pub mod dang;
pub mod discover;
pub mod extract;
pub mod git;
pub mod go;
pub mod java;
pub mod local;
pub mod model;
pub mod modtree;
pub mod module_toml;
pub mod names;
pub mod python;
pub mod source;
mod syntax;
#[cfg(test)]
pub(crate) mod test_support;
pub mod typescript;
pub mod workspace;

pub use local::{scan_directory, scan_module};
pub use model::{Argument, ConfigFormat, Function, Module, Role, ScanError, ScanReport};
