//! goose's model-facing GCP tools (CONTRACTS §7): six read-only ones, always offered, and four
//! mutating ones, offered only with `--allow-deploy` (`delete_service` also needs
//! `--allow-delete`). Every mutating tool checks the policy again when called, records what it
//! ran, and under `--dry-run` records the exact command instead of running it.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::backend::{Backend, DeployParams, Invocation, Target, check_name, check_word};
use crate::agent::tool::{Tool, ToolError};
use crate::agent::tool::{arguments, spec};
use crate::llm::ToolSpec;

/// Bytes of one tool result the model sees.
const MAX_RESULT_BYTES: usize = 32 * 1024;
const DEFAULT_LOG_LIMIT: u32 = 50;
const MAX_LOG_LIMIT: u32 = 500;

/// What mutation this run allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow_deploy: bool,
    pub allow_delete: bool,
    pub dry_run: bool,
}

/// Everything goose's tools share: the tools, the target, the policy, and the record of
/// mutating commands run or planned.
pub struct Gcp {
    pub gcloud: Option<Backend>,
    pub firebase: Option<Backend>,
    pub target: Target,
    pub policy: Policy,
    /// Where `firebase_deploy`'s `source_dir` is resolved.
    pub source: PathBuf,
    executed: Mutex<Vec<Invocation>>,
    planned: Mutex<Vec<Invocation>>,
}

impl Gcp {
    pub fn new(
        gcloud: Option<Backend>,
        firebase: Option<Backend>,
        target: Target,
        policy: Policy,
        source: PathBuf,
    ) -> Arc<Self> {
        Arc::new(Self {
            gcloud,
            firebase,
            target,
            policy,
            source,
            executed: Mutex::new(Vec::new()),
            planned: Mutex::new(Vec::new()),
        })
    }

    /// The mutating commands that ran and succeeded.
    pub fn executed(&self) -> Vec<Invocation> {
        self.executed
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    /// The mutating commands a dry run would have run.
    pub fn planned(&self) -> Vec<Invocation> {
        self.planned
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    fn backend(&self, invocation: &Invocation) -> Result<&Backend, super::backend::BackendError> {
        let (found, cli) = match invocation.cli {
            super::backend::Cli::Gcloud => (self.gcloud.as_ref(), super::backend::Cli::Gcloud),
            super::backend::Cli::Firebase => {
                (self.firebase.as_ref(), super::backend::Cli::Firebase)
            }
        };
        found.ok_or(super::backend::BackendError::NotFound {
            tool: cli.name(),
            variable: cli.variable(),
        })
    }

    /// Run a read-only call.
    pub async fn read(
        &self,
        invocation: &Invocation,
    ) -> Result<String, super::backend::BackendError> {
        self.backend(invocation)?.run(invocation).await
    }

    /// Run (or, in a dry run, plan) a mutating call.
    pub async fn mutate(
        &self,
        invocation: Invocation,
    ) -> Result<String, super::backend::BackendError> {
        if self.policy.dry_run {
            let text = format!("Dry run: nothing was run. The command would be:\n{invocation}");
            if let Ok(mut planned) = self.planned.lock() {
                planned.push(invocation);
            }
            return Ok(text);
        }
        let backend = self.backend(&invocation)?;
        let result = backend.run(&invocation).await;
        // Only what succeeded counts as run; a failed or stopped call is reported as an error.
        if result.is_ok()
            && let Ok(mut executed) = self.executed.lock()
        {
            executed.push(invocation);
        }
        result
    }

    fn denied(&self, tool: &str) -> Option<ToolError> {
        if !self.policy.allow_deploy {
            return Some(ToolError::Denied(format!(
                "`{tool}` changes GCP resources and this run is read-only: the user must pass `--allow-deploy`. Report the change you recommend instead."
            )));
        }
        if tool == "delete_service" && !self.policy.allow_delete {
            return Some(ToolError::Denied(
                "`delete_service` needs both `--allow-deploy` and `--allow-delete`; deletion is not allowed in this run. Recommend it in your report instead.".into(),
            ));
        }
        None
    }
}

/// The tools for a run under `gcp`'s policy: the read-only ones always, a mutating one when the
/// policy allows it.
pub fn gcp_tools(gcp: &Arc<Gcp>) -> Vec<Arc<dyn Tool>> {
    all_tools(gcp)
        .into_iter()
        .filter(|tool| tool.read_only() || gcp.denied(&tool.spec().name).is_none())
        .collect()
}

/// Every tool name goose may offer, read-only first.
pub const READ_TOOLS: [&str; 6] = [
    "describe_service",
    "list_services",
    "list_revisions",
    "service_logs",
    "iam_policy",
    "list_firebase_channels",
];
pub const MUTATING_TOOLS: [&str; 4] = [
    "deploy_service",
    "update_traffic",
    "firebase_deploy",
    "delete_service",
];

fn result(output: Result<String, super::backend::BackendError>) -> Result<String, ToolError> {
    match output {
        Ok(text) => {
            let text = crate::redact::redact(text.trim()).into_owned();
            Ok(if text.is_empty() {
                "(no output)".to_owned()
            } else {
                super::backend::cut(&text, MAX_RESULT_BYTES)
            })
        }
        Err(error) => Err(ToolError::Failed(error.to_string())),
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServiceArgument {
    /// The Cloud Run service name.
    service: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LogsArguments {
    /// The Cloud Run service name.
    service: String,
    /// An extra Cloud Logging filter, e.g. `severity>=ERROR` or `textPayload:"timeout"`.
    #[serde(default)]
    filter: Option<String>,
    /// How many entries, newest first (default 50, at most 500).
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TrafficArguments {
    /// The Cloud Run service name.
    service: String,
    /// The revision to send traffic to, or `LATEST`.
    revision: String,
    /// Percent of traffic for that revision, 0-100.
    percent: u8,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FirebaseDeployArguments {
    /// The directory holding `firebase.json`, relative to the workspace.
    source_dir: String,
    /// A preview channel id; without it the live site is deployed.
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Read,
    Mutate,
}

/// One of goose's tools: what the model sees, whether it changes GCP resources, and how its
/// checked arguments become one `gcloud` or `firebase` call. A mutating tool checks the policy
/// again when called and runs through [`Gcp::mutate`] (recorded, or only planned in a dry run).
struct GcpTool<A> {
    gcp: Arc<Gcp>,
    name: &'static str,
    description: &'static str,
    effect: Effect,
    invocation: Box<MakeInvocation<A>>,
}

/// How a tool's checked arguments become the call it runs.
type MakeInvocation<A> = dyn Fn(&Gcp, A) -> Result<Invocation, ToolError> + Send + Sync;

#[async_trait]
impl<A: DeserializeOwned + JsonSchema + Send + 'static> Tool for GcpTool<A> {
    fn spec(&self) -> ToolSpec {
        spec::<A>(self.name, self.description)
    }
    fn read_only(&self) -> bool {
        self.effect == Effect::Read
    }
    async fn call(&self, value: serde_json::Value) -> Result<String, ToolError> {
        if self.effect == Effect::Mutate
            && let Some(denied) = self.gcp.denied(self.name)
        {
            return Err(denied);
        }
        let args: A = arguments(value)?;
        let invocation = (self.invocation)(&self.gcp, args)?;
        result(match self.effect {
            Effect::Read => self.gcp.read(&invocation).await,
            Effect::Mutate => self.gcp.mutate(invocation).await,
        })
    }
}

fn tool<A: DeserializeOwned + JsonSchema + Send + 'static>(
    gcp: &Arc<Gcp>,
    effect: Effect,
    name: &'static str,
    description: &'static str,
    invocation: impl Fn(&Gcp, A) -> Result<Invocation, ToolError> + Send + Sync + 'static,
) -> Arc<dyn Tool> {
    Arc::new(GcpTool {
        gcp: Arc::clone(gcp),
        name,
        description,
        effect,
        invocation: Box::new(invocation),
    })
}

/// A tool on one Cloud Run service (`{"service": …}`).
fn service_tool(
    gcp: &Arc<Gcp>,
    effect: Effect,
    name: &'static str,
    description: &'static str,
    invocation: fn(&Target, &str) -> Invocation,
) -> Arc<dyn Tool> {
    tool(
        gcp,
        effect,
        name,
        description,
        move |gcp, args: ServiceArgument| {
            service(&args.service)?;
            Ok(invocation(&gcp.target, &args.service))
        },
    )
}

fn service(name: &str) -> Result<(), ToolError> {
    check_name("service", name).map_err(ToolError::InvalidArguments)
}

/// Every tool goose has, in the order of [`READ_TOOLS`] then [`MUTATING_TOOLS`].
fn all_tools(gcp: &Arc<Gcp>) -> Vec<Arc<dyn Tool>> {
    vec![
        service_tool(
            gcp,
            Effect::Read,
            "describe_service",
            "Describe a Cloud Run service (`gcloud run services describe`, JSON): image, env, resources, traffic, conditions and URL.",
            Target::describe_service,
        ),
        tool::<NoArguments>(
            gcp,
            Effect::Read,
            "list_services",
            "List the Cloud Run services of the project in the region (`gcloud run services list`, JSON).",
            |gcp, _| Ok(gcp.target.list_services()),
        ),
        service_tool(
            gcp,
            Effect::Read,
            "list_revisions",
            "List a Cloud Run service's revisions (`gcloud run revisions list`, JSON), newest first, with their readiness.",
            Target::list_revisions,
        ),
        tool::<LogsArguments>(
            gcp,
            Effect::Read,
            "service_logs",
            "Read a Cloud Run service's logs (`gcloud logging read`, JSON), newest first. Use `filter: \"severity>=ERROR\"` to see only errors.",
            |gcp, args| {
                service(&args.service)?;
                let limit = args
                    .limit
                    .unwrap_or(DEFAULT_LOG_LIMIT)
                    .clamp(1, MAX_LOG_LIMIT);
                Ok(gcp
                    .target
                    .service_logs(&args.service, args.filter.as_deref(), limit))
            },
        ),
        service_tool(
            gcp,
            Effect::Read,
            "iam_policy",
            "The IAM policy of a Cloud Run service (`gcloud run services get-iam-policy`, JSON): who may invoke it.",
            Target::iam_policy,
        ),
        tool::<NoArguments>(
            gcp,
            Effect::Read,
            "list_firebase_channels",
            "List the Firebase Hosting channels of the project (`firebase hosting:channel:list --json`): live and preview channels with URLs and expiry.",
            |gcp, _| Ok(gcp.target.firebase_channels()),
        ),
        tool::<DeployParams>(
            gcp,
            Effect::Mutate,
            "deploy_service",
            "Deploy a container image to a Cloud Run service (`gcloud run deploy`), creating it if needed. Unset parameters keep the service's current values.",
            |gcp, params| {
                params.check().map_err(ToolError::InvalidArguments)?;
                Ok(gcp.target.deploy_service(&params))
            },
        ),
        tool::<TrafficArguments>(
            gcp,
            Effect::Mutate,
            "update_traffic",
            "Send a percentage of a Cloud Run service's traffic to one revision (`gcloud run services update-traffic --to-revisions`); 100 rolls forward or back.",
            |gcp, args| {
                service(&args.service)?;
                if args.revision != "LATEST" {
                    check_name("revision", &args.revision).map_err(ToolError::InvalidArguments)?;
                }
                if args.percent > 100 {
                    return Err(ToolError::InvalidArguments(
                        "`percent` must be between 0 and 100".into(),
                    ));
                }
                Ok(gcp
                    .target
                    .update_traffic(&args.service, &args.revision, args.percent))
            },
        ),
        tool::<FirebaseDeployArguments>(
            gcp,
            Effect::Mutate,
            "firebase_deploy",
            "Deploy Firebase Hosting from a directory holding `firebase.json`: the live site (`firebase deploy --only hosting`) or, with `channel`, a preview channel (`firebase hosting:channel:deploy`).",
            |gcp, args| {
                let dir = inside(&gcp.source, &args.source_dir)?;
                if !dir.join("firebase.json").is_file() {
                    return Err(ToolError::InvalidArguments(format!(
                        "`{}` holds no `firebase.json`",
                        args.source_dir
                    )));
                }
                if let Some(channel) = &args.channel {
                    check_word("channel", channel).map_err(ToolError::InvalidArguments)?;
                }
                Ok(gcp.target.firebase_deploy(&dir, args.channel.as_deref()))
            },
        ),
        service_tool(
            gcp,
            Effect::Mutate,
            "delete_service",
            "Delete a Cloud Run service and all its revisions (`gcloud run services delete`). Irreversible.",
            Target::delete_service,
        ),
    ]
}

/// A relative directory inside `root` (no `..`, not absolute).
fn inside(root: &Path, relative: &str) -> Result<PathBuf, ToolError> {
    let path = Path::new(relative);
    if path.is_absolute()
        || path
            .components()
            .any(|component| matches!(component, Component::ParentDir))
    {
        return Err(ToolError::Denied(format!(
            "`{relative}` is outside the workspace"
        )));
    }
    Ok(root.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcp(policy: Policy) -> Arc<Gcp> {
        Gcp::new(
            None,
            None,
            Target {
                project: "p".into(),
                region: "r".into(),
            },
            policy,
            PathBuf::from("."),
        )
    }

    fn delete_service(gcp: &Arc<Gcp>) -> Arc<dyn Tool> {
        all_tools(gcp)
            .into_iter()
            .find(|tool| tool.spec().name == "delete_service")
            .unwrap()
    }

    fn names(gcp: &Arc<Gcp>) -> Vec<String> {
        gcp_tools(gcp).iter().map(|tool| tool.spec().name).collect()
    }

    #[test]
    fn mutating_tools_follow_the_flags() {
        assert_eq!(names(&gcp(Policy::default())), READ_TOOLS.to_vec());
        let deploy = names(&gcp(Policy {
            allow_deploy: true,
            ..Policy::default()
        }));
        assert!(deploy.contains(&"deploy_service".to_owned()));
        assert!(!deploy.contains(&"delete_service".to_owned()));
        let all = names(&gcp(Policy {
            allow_deploy: true,
            allow_delete: true,
            dry_run: false,
        }));
        assert_eq!(all.len(), READ_TOOLS.len() + MUTATING_TOOLS.len());
    }

    #[tokio::test]
    async fn a_dry_run_plans_and_runs_nothing() {
        let gcp = gcp(Policy {
            allow_deploy: true,
            allow_delete: true,
            dry_run: true,
        });
        let text = delete_service(&gcp)
            .call(serde_json::json!({"service": "api"}))
            .await
            .unwrap();
        assert!(text.contains("gcloud run services delete api"), "{text}");
        assert_eq!(gcp.planned().len(), 1);
        assert!(gcp.executed().is_empty());
        let denied = delete_service(&self::gcp(Policy {
            allow_deploy: true,
            ..Policy::default()
        }))
        .call(serde_json::json!({"service": "api"}))
        .await
        .unwrap_err();
        assert!(denied.to_string().contains("--allow-delete"));
    }
}
