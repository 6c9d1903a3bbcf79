//! Where goose's GCP context comes from: flags, then `GOOSE.md`/`DAGGER.md` lines, then
//! `gcloud config`, then `us-central1` for the region. Every value remembers its source, so
//! `doctor` and the reports can say why goose targets what it targets.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::backend::Backend;

/// The default region when nothing names one (as the seed and `gcloud run` docs do).
pub const DEFAULT_REGION: &str = "us-central1";

/// The files read for context, in order; for each field the first file that names it wins.
pub const CONTEXT_FILES: [&str; 2] = ["GOOSE.md", "DAGGER.md"];

/// Where one value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Flag { flag: String },
    File { path: PathBuf },
    GcloudConfig { property: String },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag { flag } => write!(f, "the `{flag}` flag"),
            Self::File { path } => write!(f, "`{}`", path.display()),
            Self::GcloudConfig { property } => {
                write!(f, "`gcloud config get-value {property}`")
            }
            Self::Default => f.write_str("the default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub value: String,
    pub origin: Origin,
}

/// What goose will act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcpContext {
    pub project: Option<Resolved>,
    pub region: Resolved,
    pub service: Option<Resolved>,
    /// Why `gcloud config` could not be asked, when it was needed and failed.
    pub gcloud_problem: Option<String>,
}

impl GcpContext {
    pub fn project_id(&self) -> Option<&str> {
        self.project.as_ref().map(|project| project.value.as_str())
    }

    pub fn region(&self) -> &str {
        &self.region.value
    }

    pub fn service_name(&self) -> Option<&str> {
        self.service.as_ref().map(|service| service.value.as_str())
    }

    /// The project, or the usage error (exit 2) that names the three ways to give one.
    pub fn require_project(&self) -> anyhow::Result<&str> {
        self.project_id()
            .ok_or_else(|| crate::exit::usage(missing_project_message(self)))
    }
}

/// The message for a missing project.
pub fn missing_project_message(context: &GcpContext) -> String {
    let mut message = "goose needs a GCP project and found none: pass `--project ID`, add a \
         `Project ID: ID` line to `GOOSE.md` or `DAGGER.md` in `--source`, or set one with \
         `gcloud config set project ID`"
        .to_owned();
    if let Some(problem) = &context.gcloud_problem {
        message.push_str(&format!(" (gcloud config was not readable: {problem})"));
    }
    message
}

/// The flags given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ContextFlags {
    pub project: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
}

/// Values found in one context file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileValues {
    pub project: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
}

/// Parse `Project ID:`, `Region:` and `Service name:` lines (also `project_id:` and
/// `service_name:`), case-insensitive, after leading `-`, `*` and spaces; backticks are removed
/// from the value. The first line for each field wins.
pub fn parse_context_file(text: &str) -> FileValues {
    let mut values = FileValues::default();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['-', '*', ' ']).trim();
        let lower = line.to_ascii_lowercase();
        let slot = if lower.starts_with("project id:") || lower.starts_with("project_id:") {
            &mut values.project
        } else if lower.starts_with("region:") {
            &mut values.region
        } else if lower.starts_with("service name:") || lower.starts_with("service_name:") {
            &mut values.service
        } else {
            continue;
        };
        let Some((_, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.replace('`', "");
        let value = value.trim();
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }
    values
}

/// Resolve the context. `gcloud config` is only asked for what flags and files left open, and
/// only when a gcloud is available.
pub async fn resolve(flags: &ContextFlags, source: &Path, gcloud: Option<&Backend>) -> GcpContext {
    let mut project = flags.project.clone().map(|value| Resolved {
        value,
        origin: Origin::Flag {
            flag: "--project".into(),
        },
    });
    let mut region = flags.region.clone().map(|value| Resolved {
        value,
        origin: Origin::Flag {
            flag: "--region".into(),
        },
    });
    let mut service = flags.service.clone().map(|value| Resolved {
        value,
        origin: Origin::Flag {
            flag: "--service".into(),
        },
    });
    for name in CONTEXT_FILES {
        let path = source.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let found = parse_context_file(&text);
        let origin = Origin::File { path: path.clone() };
        for (slot, value) in [
            (&mut project, found.project),
            (&mut region, found.region),
            (&mut service, found.service),
        ] {
            if slot.is_none()
                && let Some(value) = value
            {
                *slot = Some(Resolved {
                    value,
                    origin: origin.clone(),
                });
            }
        }
    }
    let mut gcloud_problem = None;
    if let Some(backend) = gcloud {
        for (slot, property) in [(&mut project, "project"), (&mut region, "compute/region")] {
            if slot.is_some() {
                continue;
            }
            match backend.config_value(property).await {
                Ok(Some(value)) => {
                    *slot = Some(Resolved {
                        value,
                        origin: Origin::GcloudConfig {
                            property: property.into(),
                        },
                    });
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!("gcloud config get-value {property}: {error}");
                    gcloud_problem = Some(error.to_string());
                }
            }
        }
    }
    GcpContext {
        project,
        region: region.unwrap_or_else(|| Resolved {
            value: DEFAULT_REGION.into(),
            origin: Origin::Default,
        }),
        service,
        gcloud_problem,
    }
}

/// The context as doctor and the reports show it.
pub fn describe(context: &GcpContext) -> Vec<(String, String)> {
    let line = |resolved: Option<&Resolved>| match resolved {
        Some(resolved) => format!("{} (from {})", resolved.value, resolved.origin),
        None => "not set".to_owned(),
    };
    vec![
        ("project".into(), line(context.project.as_ref())),
        ("region".into(), line(Some(&context.region))),
        ("service".into(), line(context.service.as_ref())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_line_forms() {
        let text = "# Deploy\n- **Project ID:** ignored\n- Project ID: `acme-prod`\nREGION: europe-west1\n  service_name: `api`\nProject ID: second\n";
        let values = parse_context_file(text);
        assert_eq!(values.project.as_deref(), Some("** ignored"));
        assert_eq!(values.region.as_deref(), Some("europe-west1"));
        assert_eq!(values.service.as_deref(), Some("api"));
        let values = parse_context_file("project id: `p-1`\nService Name: web\n");
        assert_eq!(values.project.as_deref(), Some("p-1"));
        assert_eq!(values.service.as_deref(), Some("web"));
        assert_eq!(values.region, None);
    }

    #[tokio::test]
    async fn flags_win_over_files_and_region_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("DAGGER.md"),
            "Project ID: from-file\nService name: api\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("GOOSE.md"), "Service name: goose-api\n").unwrap();
        let flags = ContextFlags {
            project: Some("from-flag".into()),
            ..ContextFlags::default()
        };
        let context = resolve(&flags, dir.path(), None).await;
        assert_eq!(context.project_id(), Some("from-flag"));
        assert_eq!(context.service_name(), Some("goose-api"));
        assert_eq!(context.region(), DEFAULT_REGION);
        assert_eq!(context.region.origin, Origin::Default);
        let empty = tempfile::tempdir().unwrap();
        let context = resolve(&ContextFlags::default(), empty.path(), None).await;
        let error = context.require_project().unwrap_err();
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
        let message = error.to_string();
        for way in ["--project", "DAGGER.md", "gcloud config set project"] {
            assert!(message.contains(way), "{message}");
        }
    }
}
