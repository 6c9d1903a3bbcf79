//! The GitHub layer: client, Actions context, PR diffs, the review publisher, issues, branches and
//! pull requests, releases and Actions output. Agents never post from inside their loop: they
//! return findings and this layer publishes them.

pub mod actions;
pub mod args;
pub mod client;
pub mod context;
pub mod diff;
pub mod encoding;
pub mod error;
pub mod git;
pub mod issues;
pub mod placement;
pub mod pulls;
pub mod releases;
pub mod review;

pub use error::GitHubError;
