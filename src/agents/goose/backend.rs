//! The `gcloud` and `firebase` command-line tools goose runs: finding them (`GOOSE_GCLOUD`,
//! `GOOSE_FIREBASE`, else `PATH`), the exact argument lists of every call (always
//! `--format=json` or `--json`, always `--project`, `--region` where the command takes one), and
//! running them with a timeout and bounded, redacted output.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;

use crate::config::Environment;

/// Bytes of stdout or stderr kept from one call; the rest is cut with a notice.
pub const MAX_CAPTURE_BYTES: usize = 1024 * 1024;

/// How long one call may take unless `--gcloud-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Which command-line tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cli {
    Gcloud,
    Firebase,
}

impl Cli {
    pub fn name(self) -> &'static str {
        match self {
            Self::Gcloud => "gcloud",
            Self::Firebase => "firebase",
        }
    }

    /// The variable that overrides where the tool is.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Gcloud => "GOOSE_GCLOUD",
            Self::Firebase => "GOOSE_FIREBASE",
        }
    }
}

/// One call: the tool, its arguments, and the directory it runs in (firebase deploys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invocation {
    pub cli: Cli,
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl Invocation {
    fn gcloud(args: Vec<String>) -> Self {
        Self {
            cli: Cli::Gcloud,
            args,
            dir: None,
        }
    }
}

impl fmt::Display for Invocation {
    /// The command as a shell would take it (words quoted where needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.dir {
            write!(
                f,
                "(cd {} && ",
                crate::support::quote_word(&dir.display().to_string())
            )?;
        }
        f.write_str(self.cli.name())?;
        for arg in &self.args {
            write!(f, " {}", crate::support::quote_word(arg))?;
        }
        if self.dir.is_some() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "`{tool}` was not found: install it, put it on `PATH`, or set `{variable}` to its path"
    )]
    NotFound {
        tool: &'static str,
        variable: &'static str,
    },
    #[error("`{command}` could not start: {error}")]
    Spawn { command: String, error: String },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{command}` did not finish within {}s and was stopped", timeout.as_secs())]
    TimedOut { command: String, timeout: Duration },
    #[error("`{command}` printed output that is not JSON: {error}")]
    NotJson { command: String, error: String },
}

impl BackendError {
    /// As an error with goose's documented exit code (2: the environment goose runs in is not
    /// usable; nothing was changed by agentci).
    pub fn into_exit(self) -> anyhow::Error {
        crate::exit::usage(self.to_string())
    }
}

/// A located `gcloud` or `firebase`.
#[derive(Debug, Clone)]
pub struct Backend {
    pub cli: Cli,
    pub program: PathBuf,
    pub timeout: Duration,
}

impl Backend {
    /// The tool from its variable, else from `PATH` (both read from `environment`).
    pub fn find(
        cli: Cli,
        environment: &Environment,
        timeout: Duration,
    ) -> Result<Self, BackendError> {
        let not_found = || BackendError::NotFound {
            tool: cli.name(),
            variable: cli.variable(),
        };
        let program = match environment
            .get(cli.variable())
            .filter(|value| !value.is_empty())
        {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(not_found());
                }
                path
            }
            None => search_path(cli.name(), environment.get("PATH").unwrap_or_default())
                .ok_or_else(not_found)?,
        };
        Ok(Self {
            cli,
            program,
            timeout,
        })
    }

    /// Run one call: its stdout on success (cut at [`MAX_CAPTURE_BYTES`]); a failure carries
    /// the (redacted, cut) stderr.
    pub async fn run(&self, invocation: &Invocation) -> Result<String, BackendError> {
        let command = invocation.to_string();
        tracing::info!("running {command}");
        let mut child = tokio::process::Command::new(&self.program);
        child
            .args(&invocation.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &invocation.dir {
            child.current_dir(dir);
        }
        let mut child = child.spawn().map_err(|error| BackendError::Spawn {
            command: command.clone(),
            error: error.to_string(),
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(BackendError::Spawn {
                command,
                error: "no output pipes".into(),
            });
        };
        let work = async {
            let (out, err) = tokio::join!(read_bounded(stdout), read_bounded(stderr));
            let status = child.wait().await;
            (out, err, status)
        };
        let Ok((out, err, status)) = tokio::time::timeout(self.timeout, work).await else {
            // Dropping `work` drops the child handle, which kills it (`kill_on_drop`).
            return Err(BackendError::TimedOut {
                command,
                timeout: self.timeout,
            });
        };
        let status = status.map_err(|error| BackendError::Spawn {
            command: command.clone(),
            error: error.to_string(),
        })?;
        if !status.success() {
            let stderr = crate::redact::redact(err.trim()).into_owned();
            let stderr = if stderr.is_empty() {
                "no error output".to_owned()
            } else {
                cut(&stderr, 4_000)
            };
            return Err(BackendError::Failed {
                command,
                status: status.code().map_or_else(
                    || "killed by a signal".to_owned(),
                    |code| format!("exit {code}"),
                ),
                stderr,
            });
        }
        Ok(out)
    }

    /// `gcloud config get-value PROPERTY`: `None` when unset.
    pub async fn config_value(&self, property: &str) -> Result<Option<String>, BackendError> {
        let invocation = Invocation::gcloud(vec![
            "config".into(),
            "get-value".into(),
            property.into(),
            "--format=json".into(),
        ]);
        let text = self.run(&invocation).await?;
        let text = text.trim();
        // `--format=json` prints a JSON string (or `null`); older versions print the bare value.
        let value = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(value)) => value,
            Ok(_) => String::new(),
            Err(_) => text.to_owned(),
        };
        let value = value.trim();
        Ok((!value.is_empty() && value != "(unset)").then(|| value.to_owned()))
    }
}

async fn read_bounded(reader: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let mut limited = reader.take(MAX_CAPTURE_BYTES as u64 + 1);
    let _ = limited.read_to_end(&mut bytes).await;
    // Drain (and drop) the rest so the child never blocks on a full pipe.
    let mut rest = limited.into_inner();
    let mut sink = [0u8; 8192];
    while let Ok(read) = rest.read(&mut sink).await {
        if read == 0 {
            break;
        }
    }
    let truncated = bytes.len() > MAX_CAPTURE_BYTES;
    bytes.truncate(MAX_CAPTURE_BYTES);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if truncated {
        text.push_str("\n[output cut]");
    }
    text
}

/// At most `max` bytes of `text` (on a character boundary), with a notice when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[cut: {} more bytes]", &text[..end], text.len() - end)
}

fn search_path(name: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The project and region every call is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub project: String,
    pub region: String,
}

impl Target {
    fn scoped(&self, mut args: Vec<String>) -> Vec<String> {
        args.push(format!("--project={}", self.project));
        args.push(format!("--region={}", self.region));
        args.push("--format=json".into());
        args
    }

    pub fn describe_service(&self, service: &str) -> Invocation {
        Invocation::gcloud(self.scoped(words(&["run", "services", "describe", service])))
    }

    pub fn list_services(&self) -> Invocation {
        Invocation::gcloud(self.scoped(words(&["run", "services", "list"])))
    }

    pub fn list_revisions(&self, service: &str) -> Invocation {
        Invocation::gcloud(self.scoped(vec![
            "run".into(),
            "revisions".into(),
            "list".into(),
            format!("--service={service}"),
        ]))
    }

    pub fn iam_policy(&self, service: &str) -> Invocation {
        Invocation::gcloud(self.scoped(words(&["run", "services", "get-iam-policy", service])))
    }

    /// `gcloud logging read` for one Cloud Run service (Cloud Logging takes no `--region`; the
    /// filter names the location instead), newest first.
    pub fn service_logs(&self, service: &str, filter: Option<&str>, limit: u32) -> Invocation {
        let mut query = format!(
            "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{service}\" AND resource.labels.location=\"{}\"",
            self.region
        );
        if let Some(filter) = filter.map(str::trim).filter(|filter| !filter.is_empty()) {
            query.push_str(&format!(" AND ({filter})"));
        }
        Invocation::gcloud(vec![
            "logging".into(),
            "read".into(),
            query,
            format!("--project={}", self.project),
            format!("--limit={limit}"),
            "--format=json".into(),
        ])
    }

    pub fn deploy_service(&self, params: &DeployParams) -> Invocation {
        let mut args = vec![
            "run".into(),
            "deploy".into(),
            params.service.clone(),
            format!("--image={}", params.image),
        ];
        if let Some(port) = params.port {
            args.push(format!("--port={port}"));
        }
        if let Some(cpu) = &params.cpu {
            args.push(format!("--cpu={cpu}"));
        }
        if let Some(memory) = &params.memory {
            args.push(format!("--memory={memory}"));
        }
        if let Some(min) = params.min_instances {
            args.push(format!("--min-instances={min}"));
        }
        if let Some(max) = params.max_instances {
            args.push(format!("--max-instances={max}"));
        }
        if let Some(env) = params.env.as_ref().filter(|env| !env.is_empty()) {
            args.push(format!("--update-env-vars={}", env_list(env)));
        }
        match params.allow_unauthenticated {
            Some(true) => args.push("--allow-unauthenticated".into()),
            Some(false) => args.push("--no-allow-unauthenticated".into()),
            None => {}
        }
        args.push("--quiet".into());
        Invocation::gcloud(self.scoped(args))
    }

    pub fn update_traffic(&self, service: &str, revision: &str, percent: u8) -> Invocation {
        Invocation::gcloud(self.scoped(vec![
            "run".into(),
            "services".into(),
            "update-traffic".into(),
            service.into(),
            format!("--to-revisions={revision}={percent}"),
            "--quiet".into(),
        ]))
    }

    pub fn delete_service(&self, service: &str) -> Invocation {
        Invocation::gcloud(self.scoped(words(&["run", "services", "delete", service, "--quiet"])))
    }

    pub fn firebase_channels(&self) -> Invocation {
        Invocation {
            cli: Cli::Firebase,
            args: vec![
                "hosting:channel:list".into(),
                format!("--project={}", self.project),
                "--json".into(),
            ],
            dir: None,
        }
    }

    /// `firebase deploy --only hosting` (the live site) or `hosting:channel:deploy CHANNEL` (a
    /// preview channel), run in `dir` where `firebase.json` is.
    pub fn firebase_deploy(&self, dir: &Path, channel: Option<&str>) -> Invocation {
        let mut args: Vec<String> = match channel {
            Some(channel) => words(&["hosting:channel:deploy", channel]),
            None => words(&["deploy", "--only", "hosting"]),
        };
        args.push(format!("--project={}", self.project));
        args.push("--json".into());
        args.push("--non-interactive".into());
        Invocation {
            cli: Cli::Firebase,
            args,
            dir: Some(dir.to_path_buf()),
        }
    }
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// `K=V,K2=V2`, switching to gcloud's `^DELIM^` escaping when a value holds a comma.
fn env_list(env: &BTreeMap<String, String>) -> String {
    let separator = if env.values().any(|value| value.contains(',')) {
        "@@"
    } else {
        ","
    };
    let joined = env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(separator);
    if separator == "," {
        joined
    } else {
        format!("^{separator}^{joined}")
    }
}

/// The parameters of `deploy_service` (CONTRACTS §7); unset ones keep the service's current
/// values (a new service gets Cloud Run's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployParams {
    /// The Cloud Run service name.
    pub service: String,
    /// The container image, e.g. `us-docker.pkg.dev/PROJECT/REPO/app:1.2.3`.
    pub image: String,
    /// Environment variables to set or update, `{NAME: value}`.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// The port the container listens on.
    #[serde(default)]
    pub port: Option<u16>,
    /// CPU limit, e.g. `1` or `2`.
    #[serde(default)]
    pub cpu: Option<String>,
    /// Memory limit, e.g. `512Mi`.
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub min_instances: Option<u32>,
    #[serde(default)]
    pub max_instances: Option<u32>,
    /// Let anyone call the service (`true`) or require IAM (`false`); unset keeps it as it is.
    #[serde(default)]
    pub allow_unauthenticated: Option<bool>,
}

impl DeployParams {
    /// Names and values that cannot turn into other gcloud flags.
    pub fn check(&self) -> Result<(), String> {
        check_name("service", &self.service)?;
        check_word("image", &self.image)?;
        for value in [&self.cpu, &self.memory].into_iter().flatten() {
            check_word("cpu/memory", value)?;
        }
        if let Some(env) = &self.env {
            for name in env.keys() {
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!("`{name}` is not a valid environment variable name"));
                }
            }
        }
        if let (Some(min), Some(max)) = (self.min_instances, self.max_instances)
            && min > max
        {
            return Err(format!(
                "`min_instances` {min} is above `max_instances` {max}"
            ));
        }
        Ok(())
    }
}

/// A Cloud Run service or revision name: lower-case letters, digits and `-`, starting with a
/// letter, at most 63 characters.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid {what} name (lower-case letters, digits and `-`, starting with a letter)"
        ))
    }
}

/// A single word that cannot be read as a flag.
pub fn check_word(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.starts_with('-') || value.chars().any(char::is_whitespace) {
        Err(format!("`{value}` is not a valid {what}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            project: "acme-prod".into(),
            region: "europe-west1".into(),
        }
    }

    #[test]
    fn reads_are_json_and_scoped() {
        let target = target();
        assert_eq!(
            target.describe_service("api").to_string(),
            "gcloud run services describe api --project=acme-prod --region=europe-west1 --format=json"
        );
        assert_eq!(
            target.list_revisions("api").to_string(),
            "gcloud run revisions list --service=api --project=acme-prod --region=europe-west1 --format=json"
        );
        let logs = target
            .service_logs("api", Some("severity>=ERROR"), 20)
            .to_string();
        assert!(logs.starts_with("gcloud logging read 'resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"api\""), "{logs}");
        assert!(
            logs.ends_with("AND (severity>=ERROR)' --project=acme-prod --limit=20 --format=json"),
            "{logs}"
        );
        assert_eq!(
            target.firebase_channels().to_string(),
            "firebase hosting:channel:list --project=acme-prod --json"
        );
    }

    #[test]
    fn deploy_passes_only_what_was_given() {
        let mut params = DeployParams {
            service: "api".into(),
            image: "gcr.io/acme/api:2".into(),
            env: None,
            port: Some(8080),
            cpu: None,
            memory: Some("1Gi".into()),
            min_instances: None,
            max_instances: None,
            allow_unauthenticated: Some(true),
        };
        assert_eq!(
            target().deploy_service(&params).to_string(),
            "gcloud run deploy api --image=gcr.io/acme/api:2 --port=8080 --memory=1Gi --allow-unauthenticated --quiet --project=acme-prod --region=europe-west1 --format=json"
        );
        params.env = Some(BTreeMap::from([
            ("A".to_owned(), "1,2".to_owned()),
            ("B".to_owned(), "x".to_owned()),
        ]));
        assert!(
            target()
                .deploy_service(&params)
                .args
                .contains(&"--update-env-vars=^@@^A=1,2@@B=x".to_owned())
        );
        assert!(params.check().is_ok());
        params.service = "--all".into();
        assert!(params.check().is_err());
    }

    #[test]
    fn cut_keeps_char_boundaries() {
        assert_eq!(cut("abc", 5), "abc");
        assert!(cut("ééé", 3).starts_with('é'));
    }
}
