//! A Cloud Run service's state as goose reports it, read from `gcloud run services describe
//! --format=json` (the Knative `serving.knative.dev/v1` Service object): image, URL, readiness,
//! revisions and the traffic split; and the rollback command that restores a split.

use serde::Serialize;
use serde_json::Value;

use super::backend::{Invocation, Target};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub revision: Option<String>,
    pub percent: u8,
    pub latest: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub name: String,
    pub url: Option<String>,
    pub image: Option<String>,
    /// The `Ready` condition: `Some(true)` when serving.
    pub ready: Option<bool>,
    pub ready_message: Option<String>,
    pub latest_created_revision: Option<String>,
    pub latest_ready_revision: Option<String>,
    pub traffic: Vec<Traffic>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl ServiceState {
    pub fn from_describe(value: &Value) -> Self {
        let ready_condition = value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|conditions| {
                conditions
                    .iter()
                    .find(|condition| condition["type"] == "Ready")
            });
        let traffic = value
            .pointer("/status/traffic")
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| Traffic {
                        revision: entry["revisionName"].as_str().map(str::to_owned),
                        percent: entry["percent"]
                            .as_u64()
                            .and_then(|percent| u8::try_from(percent).ok())
                            .unwrap_or(0),
                        latest: entry["latestRevision"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name: text(value, "/metadata/name").unwrap_or_default(),
            url: text(value, "/status/url"),
            image: text(value, "/spec/template/spec/containers/0/image"),
            ready: ready_condition.and_then(|condition| match condition["status"].as_str() {
                Some("True") => Some(true),
                Some("False") => Some(false),
                _ => None,
            }),
            ready_message: ready_condition
                .and_then(|condition| condition["message"].as_str())
                .map(str::to_owned),
            latest_created_revision: text(value, "/status/latestCreatedRevisionName"),
            latest_ready_revision: text(value, "/status/latestReadyRevisionName"),
            traffic,
        }
    }

    /// Serving: `Ready` is true and the newest revision is the ready one.
    pub fn healthy(&self) -> bool {
        self.ready == Some(true)
            && (self.latest_created_revision.is_none()
                || self.latest_created_revision == self.latest_ready_revision)
    }

    /// The command that puts traffic back where it is now; `None` without a named revision.
    pub fn rollback(&self, target: &Target) -> Option<Invocation> {
        let split: Vec<String> = self
            .traffic
            .iter()
            .filter(|entry| entry.percent > 0)
            .filter_map(|entry| {
                entry
                    .revision
                    .as_ref()
                    .map(|revision| format!("{revision}={}", entry.percent))
            })
            .collect();
        if split.is_empty() {
            return None;
        }
        let mut invocation = target.update_traffic(&self.name, "R", 0);
        for arg in &mut invocation.args {
            if arg.starts_with("--to-revisions=") {
                *arg = format!("--to-revisions={}", split.join(","));
            }
        }
        Some(invocation)
    }

    pub fn to_markdown(&self) -> String {
        let mut lines = vec![format!("- service: `{}`", self.name)];
        if let Some(image) = &self.image {
            lines.push(format!("- image: `{image}`"));
        }
        if let Some(url) = &self.url {
            lines.push(format!("- URL: {url}"));
        }
        let ready = match self.ready {
            Some(true) => "ready".to_owned(),
            Some(false) => format!(
                "not ready: {}",
                self.ready_message.as_deref().unwrap_or("no message")
            ),
            None => "unknown".to_owned(),
        };
        lines.push(format!("- status: {ready}"));
        if let Some(revision) = &self.latest_ready_revision {
            lines.push(format!("- latest ready revision: `{revision}`"));
        }
        if let Some(revision) = &self.latest_created_revision {
            lines.push(format!("- latest created revision: `{revision}`"));
        }
        for entry in &self.traffic {
            lines.push(format!(
                "- traffic: {}% to `{}`{}",
                entry.percent,
                entry.revision.as_deref().unwrap_or("LATEST"),
                if entry.latest { " (latest)" } else { "" }
            ));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_knative_shape_and_builds_the_rollback() {
        let value = serde_json::json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "api"},
            "spec": {"template": {"spec": {"containers": [{"image": "gcr.io/acme/api:1"}]}}},
            "status": {
                "conditions": [{"type": "Ready", "status": "False", "message": "Revision failed"}],
                "latestCreatedRevisionName": "api-00002-new",
                "latestReadyRevisionName": "api-00001-old",
                "traffic": [{"revisionName": "api-00001-old", "percent": 100}],
                "url": "https://api-xyz-ew.a.run.app"
            }
        });
        let state = ServiceState::from_describe(&value);
        assert_eq!(state.ready, Some(false));
        assert!(!state.healthy());
        assert_eq!(state.image.as_deref(), Some("gcr.io/acme/api:1"));
        let target = Target {
            project: "p".into(),
            region: "r".into(),
        };
        assert_eq!(
            state.rollback(&target).unwrap().to_string(),
            "gcloud run services update-traffic api --to-revisions=api-00001-old=100 --quiet --project=p --region=r --format=json"
        );
    }
}
