//! The module scanner: what a Dagger module library offers, read deterministically from
//! `dagger.json` files and SDK sources. [`model`] holds the output types (CONTRACTS §4.1), which
//! daggie's catalog and `agentci modules scan --json` share.

pub mod git;
pub mod model;

pub use model::{Argument, Function, Module, Role, ScanError, ScanReport};
