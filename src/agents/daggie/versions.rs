//! The versions of the actions a generated workflow pins: the newest releases from the GitHub
//! API when daggie can ask it, the built-in versions otherwise, and a note saying which.

use std::time::Duration;

use super::render::{ActionPins, DAGGER_ACTION_VERSION};
use crate::github::client::GitHub;
use crate::github::context::Repository;
use crate::github::releases::{VersionSource, latest_release, latest_release_or};

/// How long the lookups may take together before daggie falls back to its built-in versions.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(15);

/// The action versions for a workflow and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionVersions {
    /// `dagger/dagger-for-github`, a full version (`v8.4.1`): v8+ is an immutable action.
    pub dagger: String,
    /// GitHub's own actions, pinned to a major (`actions/checkout@v5`).
    pub actions: ActionPins,
    /// For the plan's reasons.
    pub note: String,
}

impl ActionVersions {
    /// The built-in versions, with why they were used.
    pub fn built_in(why: &str) -> Self {
        ActionVersions {
            dagger: DAGGER_ACTION_VERSION.to_string(),
            actions: ActionPins::default(),
            note: format!(
                "action versions: the built-in ones (`dagger/dagger-for-github@\
                 {DAGGER_ACTION_VERSION}`, {}), {why}",
                built_in_list()
            ),
        }
    }
}

fn built_in_list() -> String {
    let pins = ActionPins::default();
    super::quote_list([pins.checkout, pins.upload_artifact, pins.download_artifact])
}

/// Ask the GitHub API for the newest stable release of each action; any that cannot be read
/// keeps its built-in version.
pub async fn look_up(client: &GitHub) -> ActionVersions {
    match tokio::time::timeout(LOOKUP_TIMEOUT, look_up_all(client)).await {
        Ok(found) => found,
        Err(_) => ActionVersions::built_in(&format!(
            "the GitHub API did not answer within {} s",
            LOOKUP_TIMEOUT.as_secs()
        )),
    }
}

async fn look_up_all(client: &GitHub) -> ActionVersions {
    let mut from_api = Vec::new();
    let mut built_in = Vec::new();
    let dagger = match latest_release_or(
        client,
        &Repository::new("dagger", "dagger-for-github"),
        DAGGER_ACTION_VERSION,
    )
    .await
    {
        Ok(found) if found.source == VersionSource::Api => {
            from_api.push(format!("`dagger/dagger-for-github@{}`", found.tag));
            found.tag
        }
        _ => {
            built_in.push(format!(
                "`dagger/dagger-for-github@{DAGGER_ACTION_VERSION}`"
            ));
            DAGGER_ACTION_VERSION.to_string()
        }
    };
    let defaults = ActionPins::default();
    let mut major = async |name: &str, default: String| -> String {
        match latest_release(client, &Repository::new("actions", name)).await {
            Ok(Some(found)) => {
                let pin = format!("actions/{name}@v{}", found.version.major);
                from_api.push(format!("`{pin}`"));
                pin
            }
            _ => {
                built_in.push(format!("`{default}`"));
                default
            }
        }
    };
    let checkout = major("checkout", defaults.checkout).await;
    let upload_artifact = major("upload-artifact", defaults.upload_artifact).await;
    let download_artifact = major("download-artifact", defaults.download_artifact).await;
    let mut note = String::from("action versions:");
    if !from_api.is_empty() {
        note.push_str(&format!(
            " the newest releases from the GitHub API ({})",
            from_api.join(", ")
        ));
    }
    if !built_in.is_empty() {
        if !from_api.is_empty() {
            note.push(';');
        }
        note.push_str(&format!(
            " the built-in ones where the API gave no stable release ({})",
            built_in.join(", ")
        ));
    }
    ActionVersions {
        dagger,
        actions: ActionPins {
            checkout,
            upload_artifact,
            download_artifact,
        },
        note,
    }
}
