//! The GitHub layer: client, Actions context, PR diffs, the review publisher, issues, branches and
//! pull requests, releases and Actions output. Agents never post from inside their loop: they
//! return findings and this layer publishes them.

pub mod error;
pub mod git;

pub use error::GitHubError;
