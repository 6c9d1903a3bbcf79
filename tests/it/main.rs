//! The one integration-test binary: every module here runs the library or the real binary
//! against local fakes (no network, no keys).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod github_git;
mod memory;
mod scan_git;
