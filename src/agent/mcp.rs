//! MCP servers as tools: start the servers of `--mcp NAME=COMMAND ARGS…` / `NAME=URL` and
//! `[mcp.<name>]`, list their tools, and offer each to the model as `<server>__<tool>`.
//!
//! A server is an outside program the run depends on but does not control, so every failure is
//! contained: a server that does not start, does not answer in time or dies mid-run is reported
//! (a warning, and an error result to the model when it calls one of its tools) and the run goes
//! on with the tools it still has.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock,
    Implementation, ResourceContents,
};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;

use super::tool::{Tool, ToolError};
use crate::config::{Config, Environment, McpServerConfig};
use crate::llm::ToolSpec;

/// Between the server name and the tool name in the name the model sees.
pub const SEPARATOR: &str = "__";
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Providers accept tool names of at most 64 characters from `[A-Za-z0-9_-]`.
const MAX_TOOL_NAME_LEN: usize = 64;
/// Variables every stdio server gets from agentci's environment besides its allow-list: what a
/// program needs to find other programs and its own configuration.
const BASE_VARIABLES: [&str; 2] = ["PATH", "HOME"];

/// How to reach one server.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        /// `NAME` (passed through from agentci's environment) or `NAME=value`.
        env: Vec<String>,
    },
    /// A streamable-HTTP endpoint.
    Http {
        url: String,
        /// Header values may be `env:NAME`; every value is a secret.
        headers: BTreeMap<String, String>,
    },
}

/// One server to start, from a flag or the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerSpec {
    pub name: String,
    pub transport: McpTransport,
    /// Only these tools are offered (all when `None`).
    pub enabled_tools: Option<Vec<String>>,
    /// These tools are never offered.
    pub disabled_tools: Vec<String>,
    pub startup_timeout: Duration,
    pub call_timeout: Duration,
}

impl McpServerSpec {
    /// Parse a `--mcp` value: `NAME=URL` (http/https) or `NAME=COMMAND ARGS…` (split like a
    /// shell does: whitespace, single and double quotes, backslash escapes).
    pub fn parse_flag(text: &str) -> anyhow::Result<Self> {
        let Some((name, target)) = text.split_once('=') else {
            return Err(crate::exit::usage(format!(
                "--mcp `{text}`: expected NAME=COMMAND ARGS… or NAME=URL"
            )));
        };
        let name = name.trim();
        validate_name(name)?;
        let target = target.trim();
        let transport = if target.starts_with("http://") || target.starts_with("https://") {
            McpTransport::Http {
                url: target.to_owned(),
                headers: BTreeMap::new(),
            }
        } else {
            let mut words = split_words(target)
                .map_err(|error| crate::exit::usage(format!("--mcp `{text}`: {error}")))?
                .into_iter();
            let Some(command) = words.next() else {
                return Err(crate::exit::usage(format!(
                    "--mcp `{text}`: no command or URL after `{name}=`"
                )));
            };
            McpTransport::Stdio {
                command,
                args: words.collect(),
                env: Vec::new(),
            }
        };
        Ok(Self {
            name: name.to_owned(),
            transport,
            enabled_tools: None,
            disabled_tools: Vec::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        })
    }

    /// A `[mcp.<name>]` entry.
    pub fn from_config(name: &str, config: &McpServerConfig) -> anyhow::Result<Self> {
        validate_name(name)?;
        let transport = match (&config.command, &config.url) {
            (Some(command), None) => McpTransport::Stdio {
                command: command.clone(),
                args: config.args.clone(),
                env: config.env.clone(),
            },
            (None, Some(url)) => McpTransport::Http {
                url: url.clone(),
                headers: config.headers.clone(),
            },
            _ => {
                return Err(crate::exit::usage(format!(
                    "[mcp.{name}] needs exactly one of `command` (stdio) or `url` (streamable HTTP)"
                )));
            }
        };
        Ok(Self {
            name: name.to_owned(),
            transport,
            enabled_tools: config.enabled_tools.clone(),
            disabled_tools: config.disabled_tools.clone(),
            startup_timeout: config.startup_timeout.unwrap_or(DEFAULT_STARTUP_TIMEOUT),
            call_timeout: config.call_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
        })
    }

    fn offers(&self, tool: &str) -> bool {
        let enabled = self
            .enabled_tools
            .as_ref()
            .is_none_or(|enabled| enabled.iter().any(|name| name == tool));
        enabled && !self.disabled_tools.iter().any(|name| name == tool)
    }
}

/// The servers of a run: `[mcp.*]` from the config, then `--mcp` flags. A flag with the name of
/// a configured server replaces its command or URL and keeps its tool lists and timeouts.
pub fn server_specs(flags: &[String], config: &Config) -> anyhow::Result<Vec<McpServerSpec>> {
    let mut specs = Vec::new();
    for (name, server) in &config.mcp {
        specs.push(McpServerSpec::from_config(name, server)?);
    }
    let mut seen_flags = Vec::new();
    for flag in flags {
        let spec = McpServerSpec::parse_flag(flag)?;
        if seen_flags.contains(&spec.name) {
            return Err(crate::exit::usage(format!(
                "--mcp `{}` is given twice; each server needs its own name",
                spec.name
            )));
        }
        seen_flags.push(spec.name.clone());
        match specs.iter_mut().find(|known| known.name == spec.name) {
            Some(known) => known.transport = spec.transport,
            None => specs.push(spec),
        }
    }
    Ok(specs)
}

fn validate_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        })
        && !name.contains(SEPARATOR);
    if valid {
        Ok(())
    } else {
        Err(crate::exit::usage(format!(
            "MCP server name `{name}` must be letters, digits, `-` or single `_` (it prefixes \
             the tool names the model sees)"
        )))
    }
}

/// Split a command line the way a POSIX shell splits words, without any expansion.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        match character {
            '\'' => {
                in_word = true;
                loop {
                    match characters.next() {
                        Some('\'') => break,
                        Some(inner) => current.push(inner),
                        None => return Err("unterminated single quote".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match characters.next() {
                        Some('"') => break,
                        Some('\\') => match characters.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => current.push(escaped),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => return Err("unterminated double quote".to_owned()),
                        },
                        Some(inner) => current.push(inner),
                        None => return Err("unterminated double quote".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match characters.next() {
                    Some(escaped) => current.push(escaped),
                    None => return Err("trailing backslash".to_owned()),
                }
            }
            whitespace if whitespace.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                current.push(other);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// A server that could not be started, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct McpFailure {
    pub server: String,
    pub message: String,
}

/// The running servers of one agent run and the tools they offer.
pub struct McpServers {
    connections: Vec<Arc<Connection>>,
    tools: Vec<Arc<McpTool>>,
    failures: Vec<McpFailure>,
}

impl std::fmt::Debug for McpServers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("McpServers")
            .field(
                "servers",
                &self
                    .connections
                    .iter()
                    .map(|connection| connection.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|tool| tool.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("failures", &self.failures)
            .finish()
    }
}

impl McpServers {
    /// Every tool of every running server, for the agent loop.
    pub fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.tools
            .iter()
            .map(|tool| Arc::clone(tool) as Arc<dyn Tool>)
            .collect()
    }

    /// The model-facing names of the tools, in the order the servers listed them.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|tool| tool.name.clone()).collect()
    }

    /// The servers that were given but could not be started.
    pub fn failures(&self) -> &[McpFailure] {
        &self.failures
    }

    /// The names of the servers that started.
    pub fn server_names(&self) -> Vec<String> {
        self.connections
            .iter()
            .map(|connection| connection.name.clone())
            .collect()
    }

    /// Close every connection (stdio children get their stdin closed and are then killed).
    pub async fn shutdown(self) {
        for connection in self.connections {
            connection.close().await;
        }
    }
}

/// Start every server concurrently. Servers that fail are reported in
/// [`McpServers::failures`] and with a warning; this never fails as a whole.
pub async fn start_servers(specs: &[McpServerSpec], environment: &Environment) -> McpServers {
    let started = futures::future::join_all(
        specs
            .iter()
            .map(|spec| async move { (spec, start_server(spec, environment).await) }),
    )
    .await;
    let mut servers = McpServers {
        connections: Vec::new(),
        tools: Vec::new(),
        failures: Vec::new(),
    };
    for (spec, outcome) in started {
        match outcome {
            Ok((connection, tools)) => {
                for tool in tools {
                    if servers.tools.iter().any(|known| known.name == tool.name) {
                        tracing::warn!(
                            server = %spec.name,
                            tool = %tool.name,
                            "MCP tool name collides with another tool after sanitising; skipped"
                        );
                        continue;
                    }
                    servers.tools.push(Arc::new(tool));
                }
                servers.connections.push(connection);
            }
            Err(message) => {
                let message = crate::redact::redact(&message).into_owned();
                tracing::warn!(server = %spec.name, "MCP server not available: {message}");
                servers.failures.push(McpFailure {
                    server: spec.name.clone(),
                    message,
                });
            }
        }
    }
    servers
}

type Client = RunningService<RoleClient, ClientConfig>;

struct Connection {
    name: String,
    peer: Peer<RoleClient>,
    service: Mutex<Option<Client>>,
    alive: AtomicBool,
    call_timeout: Duration,
}

impl Connection {
    async fn close(&self) {
        self.alive.store(false, Ordering::SeqCst);
        if let Some(service) = self.service.lock().await.take()
            && let Err(error) = service.cancel().await
        {
            tracing::debug!(server = %self.name, "MCP server did not shut down cleanly: {error}");
        }
    }

    fn mark_dead(&self, why: &str) {
        if self.alive.swap(false, Ordering::SeqCst) {
            tracing::warn!(
                server = %self.name,
                "MCP server stopped answering; its tools now fail: {}",
                crate::redact::redact(why)
            );
        }
    }
}

async fn start_server(
    spec: &McpServerSpec,
    environment: &Environment,
) -> Result<(Arc<Connection>, Vec<McpTool>), String> {
    let client_info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("agentci", env!("CARGO_PKG_VERSION")),
    );
    let connect = async {
        let service: Client = match &spec.transport {
            McpTransport::Stdio { command, args, env } => {
                let child = child_command(command, args, env, environment);
                let (transport, stderr) = TokioChildProcess::builder(child)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|error| format!("cannot start `{command}`: {error}"))?;
                if let Some(stderr) = stderr {
                    forward_stderr(spec.name.clone(), stderr);
                }
                client_info.serve(transport).await.map_err(|error| {
                    format!("`{command}` did not complete the MCP handshake: {error}")
                })?
            }
            McpTransport::Http { url, headers } => {
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(http_headers(headers, environment)?);
                client_info
                    .serve(StreamableHttpClientTransport::from_config(config))
                    .await
                    .map_err(|error| {
                        format!("`{url}` did not complete the MCP handshake: {error}")
                    })?
            }
        };
        let listed = service
            .list_all_tools()
            .await
            .map_err(|error| format!("listing its tools failed: {error}"))?;
        Ok::<_, String>((service, listed))
    };
    let (service, listed) = tokio::time::timeout(spec.startup_timeout, connect)
        .await
        .map_err(|_| {
            format!(
                "did not start and list its tools within {}",
                humantime::format_duration(spec.startup_timeout)
            )
        })??;
    let connection = Arc::new(Connection {
        name: spec.name.clone(),
        peer: service.peer().clone(),
        service: Mutex::new(Some(service)),
        alive: AtomicBool::new(true),
        call_timeout: spec.call_timeout,
    });
    let tools: Vec<McpTool> = listed
        .into_iter()
        .filter(|tool| spec.offers(&tool.name))
        .map(|tool| {
            let name = model_facing_name(&spec.name, &tool.name);
            let description = tool
                .description
                .as_deref()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("`{}` of the MCP server `{}`", tool.name, spec.name));
            McpTool {
                spec: ToolSpec {
                    name: name.clone(),
                    description,
                    parameters: serde_json::Value::Object((*tool.input_schema).clone()),
                },
                name,
                remote_name: tool.name.to_string(),
                // Only decides whether calls may run concurrently, so trusting the server's
                // hint costs nothing if it is wrong: the server still does what it does.
                read_only: tool
                    .annotations
                    .as_ref()
                    .and_then(|annotations| annotations.read_only_hint)
                    .unwrap_or(false),
                connection: Arc::clone(&connection),
            }
        })
        .collect();
    tracing::info!(
        server = %spec.name,
        tools = tools.len(),
        "MCP server started"
    );
    Ok((connection, tools))
}

fn child_command(
    command: &str,
    args: &[String],
    allow: &[String],
    environment: &Environment,
) -> tokio::process::Command {
    let mut child = tokio::process::Command::new(command);
    child.args(args).env_clear().kill_on_drop(true);
    for variable in BASE_VARIABLES {
        if let Some(value) = environment.get(variable) {
            child.env(variable, value);
        }
    }
    for entry in allow {
        match entry.split_once('=') {
            Some((name, value)) => {
                child.env(name.trim(), value);
            }
            None => {
                let name = entry.trim();
                if let Some(value) = environment.get(name) {
                    child.env(name, value);
                } else {
                    tracing::debug!(variable = %name, "allow-listed variable is not set");
                }
            }
        }
    }
    child
}

fn http_headers(
    headers: &BTreeMap<String, String>,
    environment: &Environment,
) -> Result<HashMap<reqwest::header::HeaderName, reqwest::header::HeaderValue>, String> {
    let mut built = HashMap::new();
    for (name, value) in headers {
        let value = match value.strip_prefix("env:") {
            Some(variable) => environment
                .get(variable.trim())
                .ok_or_else(|| format!("header `{name}` reads `{variable}`, which is not set"))?
                .to_owned(),
            None => value.clone(),
        };
        crate::config::register_header_secret(&value);
        let header_name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|error| format!("header name `{name}` is invalid: {error}"))?;
        let mut header_value = reqwest::header::HeaderValue::from_str(&value)
            .map_err(|_| format!("the value of header `{name}` is not valid in HTTP"))?;
        header_value.set_sensitive(true);
        built.insert(header_name, header_value);
    }
    Ok(built)
}

/// A child's stderr is its log: forward it line by line at debug level, through the redacting
/// log writer, instead of letting it interleave raw with ours.
fn forward_stderr(server: String, stderr: tokio::process::ChildStderr) {
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!(server = %server, "mcp stderr: {line}");
        }
    });
}

/// `<server>__<tool>`, with characters providers reject replaced by `_` and cut to 64.
fn model_facing_name(server: &str, tool: &str) -> String {
    let tool: String = tool
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
                character
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{server}{SEPARATOR}{tool}");
    name.truncate(MAX_TOOL_NAME_LEN);
    name
}

/// One tool of one MCP server, as the agent loop sees it.
pub struct McpTool {
    name: String,
    remote_name: String,
    spec: ToolSpec,
    read_only: bool,
    connection: Arc<Connection>,
}

impl McpTool {
    /// The server this tool belongs to.
    pub fn server(&self) -> &str {
        &self.connection.name
    }

    /// The tool's name on its server.
    pub fn remote_name(&self) -> &str {
        &self.remote_name
    }
}

#[async_trait]
impl Tool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    async fn call(&self, arguments: serde_json::Value) -> Result<String, ToolError> {
        let server = &self.connection.name;
        if !self.connection.alive.load(Ordering::SeqCst) {
            return Err(ToolError::Failed(format!(
                "the MCP server `{server}` is no longer running; continue without its tools"
            )));
        }
        let arguments = match arguments {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(ToolError::InvalidArguments(format!(
                    "expected a JSON object, got {other}"
                )));
            }
        };
        let request =
            CallToolRequestParams::new(self.remote_name.clone()).with_arguments(arguments);
        let called = tokio::time::timeout(
            self.connection.call_timeout,
            self.connection.peer.call_tool(request),
        )
        .await;
        let result = match called {
            Err(_) => {
                tracing::warn!(
                    server = %server,
                    tool = %self.remote_name,
                    "MCP tool call timed out"
                );
                return Err(ToolError::Failed(format!(
                    "the MCP server `{server}` did not answer within {}",
                    humantime::format_duration(self.connection.call_timeout)
                )));
            }
            Ok(Err(error)) => {
                let message = error.to_string();
                if is_connection_lost(&error) || self.connection.peer.is_transport_closed() {
                    self.connection.mark_dead(&message);
                    return Err(ToolError::Failed(format!(
                        "the MCP server `{server}` stopped during the call ({}); continue \
                         without its tools",
                        crate::redact::redact(&message)
                    )));
                }
                return Err(ToolError::Failed(format!(
                    "the MCP server `{server}` returned an error: {}",
                    crate::redact::redact(&message)
                )));
            }
            Ok(Ok(result)) => result,
        };
        let text = crate::redact::redact(&result_text(&result)).into_owned();
        if result.is_error == Some(true) {
            Err(ToolError::Failed(text))
        } else {
            Ok(text)
        }
    }
}

fn is_connection_lost(error: &rmcp::ServiceError) -> bool {
    matches!(
        error,
        rmcp::ServiceError::TransportClosed
            | rmcp::ServiceError::TransportSend(_)
            | rmcp::ServiceError::Cancelled { .. }
    )
}

/// The text of a tool result: text blocks and embedded text resources joined; other blocks
/// named; the structured content when there is nothing else.
fn result_text(result: &CallToolResult) -> String {
    let mut parts = Vec::new();
    for block in &result.content {
        match block {
            ContentBlock::Text(text) => parts.push(text.text.clone()),
            ContentBlock::Resource(resource) => match &resource.resource {
                ResourceContents::TextResourceContents { text, .. } => parts.push(text.clone()),
                ResourceContents::BlobResourceContents { uri, mime_type, .. } => {
                    parts.push(format!(
                        "[binary resource {uri} ({})]",
                        mime_type.as_deref().unwrap_or("unknown type")
                    ));
                }
                _ => parts.push("[resource of an unknown kind]".to_owned()),
            },
            ContentBlock::Image(image) => parts.push(format!("[image ({})]", image.mime_type)),
            ContentBlock::Audio(audio) => parts.push(format!("[audio ({})]", audio.mime_type)),
            ContentBlock::ResourceLink(link) => parts.push(format!("[resource {}]", link.uri)),
            _ => parts.push("[content of an unknown kind]".to_owned()),
        }
    }
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        return structured.to_string();
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_into_stdio_and_http_specs() {
        let spec = McpServerSpec::parse_flag(
            r#"files=npx -y "@scope/server files" '/tmp/a b' plain\ word"#,
        )
        .unwrap();
        assert_eq!(spec.name, "files");
        assert_eq!(
            spec.transport,
            McpTransport::Stdio {
                command: "npx".into(),
                args: vec![
                    "-y".into(),
                    "@scope/server files".into(),
                    "/tmp/a b".into(),
                    "plain word".into()
                ],
                env: vec![],
            }
        );
        let spec = McpServerSpec::parse_flag("remote=https://mcp.example.com/mcp").unwrap();
        assert!(
            matches!(spec.transport, McpTransport::Http { ref url, .. } if url == "https://mcp.example.com/mcp")
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for (flag, needle) in [
            ("noequals", "NAME=COMMAND"),
            ("a b=cmd", "`a b`"),
            ("x__y=cmd", "x__y"),
            ("empty=  ", "no command"),
            ("quote=cmd 'open", "unterminated"),
        ] {
            let error = McpServerSpec::parse_flag(flag).unwrap_err();
            assert!(format!("{error:#}").contains(needle), "{flag}: {error:#}");
            assert_eq!(
                crate::exit::coded_exit(&error),
                Some(crate::exit::Exit::Usage)
            );
        }
    }

    #[test]
    fn flags_replace_configured_transport_and_keep_lists() {
        let config = Config::parse(
            "[mcp.files]\ncommand = \"old\"\ndisabled_tools = [\"write\"]\ncall_timeout = \"3s\"\n",
            "f",
        )
        .unwrap();
        let specs = server_specs(
            &[
                "files=new --flag".into(),
                "web=http://127.0.0.1:1/mcp".into(),
            ],
            &config,
        )
        .unwrap();
        assert_eq!(specs.len(), 2);
        assert!(
            matches!(&specs[0].transport, McpTransport::Stdio { command, .. } if command == "new")
        );
        assert_eq!(specs[0].disabled_tools, vec!["write".to_owned()]);
        assert_eq!(specs[0].call_timeout, Duration::from_secs(3));
        assert!(!specs[0].offers("write"));
        assert!(specs[0].offers("read"));
        let error = server_specs(&["a=x".into(), "a=y".into()], &Config::default()).unwrap_err();
        assert!(format!("{error:#}").contains("twice"));
    }

    #[test]
    fn enabled_list_restricts() {
        let mut spec = McpServerSpec::parse_flag("s=cmd").unwrap();
        spec.enabled_tools = Some(vec!["echo".into(), "add".into()]);
        spec.disabled_tools = vec!["add".into()];
        assert!(spec.offers("echo"));
        assert!(!spec.offers("add"));
        assert!(!spec.offers("other"));
    }

    #[test]
    fn names_are_sanitised_and_bounded() {
        assert_eq!(model_facing_name("srv", "get.file"), "srv__get_file");
        assert_eq!(
            model_facing_name("s", &"x".repeat(100)).len(),
            MAX_TOOL_NAME_LEN
        );
    }

    #[test]
    fn header_values_come_from_the_environment_and_are_secret() {
        let environment =
            Environment::from_pairs([("REMOTE_TOKEN", "Bearer header-secret-value-77")]);
        let mut headers = BTreeMap::new();
        headers.insert("Authorization".to_owned(), "env:REMOTE_TOKEN".to_owned());
        let built = http_headers(&headers, &environment).unwrap();
        assert_eq!(built.len(), 1);
        assert!(!crate::redact::redact("x header-secret-value-77").contains("header-secret"));
        headers.insert("X-Other".to_owned(), "env:MISSING".to_owned());
        assert!(
            http_headers(&headers, &environment)
                .unwrap_err()
                .contains("MISSING")
        );
    }
}
