//! `agentci mcp serve`: agentci's deterministic core as an MCP server — the module scanner, the
//! offline daggie planner, speck's validator and matrix, suggest-fix's log parsers and the review
//! publisher's placement rules — for any coding agent. Every tool is read-only; bad input is a
//! tool error (`isError`) and the server keeps serving. Logs go to stderr, never the stdio stream.

pub mod tools;

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use tools::Jail;
use tools::ToolFailure;

/// One tool: its name, what the client is told, its input type's schema, and whether it may
/// reach outside this machine (a git URL).
struct ToolEntry {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    schema: fn() -> Map<String, Value>,
    open_world: bool,
}

/// A tool's input schema from its type, as the agent runtime builds its own tools' schemas.
fn schema_of<T: JsonSchema>() -> Map<String, Value> {
    match crate::agent::tool::spec::<T>("", "").parameters {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

const TOOLS: [ToolEntry; 6] = [
    ToolEntry {
        name: "modules_scan",
        title: "Scan a Dagger module library",
        description: "Every Dagger module of a local directory or a git repository: functions, \
                      checks, arguments with their types and default paths, versions, problems \
                      (agentci's `modules scan --json`).",
        schema: schema_of::<tools::ModulesScanInput>,
        open_world: true,
    },
    ToolEntry {
        name: "daggie_plan",
        title: "Plan a project's Dagger CI",
        description: "The offline daggie plan for a project and module libraries, and the files \
                      daggie would write (dagger.json, .github/workflows/ci.yml) as text; writes \
                      nothing. With `check: true`, which files on disk are stale.",
        schema: schema_of::<tools::DaggiePlanInput>,
        open_world: true,
    },
    ToolEntry {
        name: "speck_validate",
        title: "Validate a speck task decomposition",
        description: "Checks a task decomposition (agentci speck's JSON) and returns every \
                      problem at once: schema, ids, orders, phases, tiers, branches, and \
                      dependency cycles named by their tasks.",
        schema: schema_of::<tools::SpeckValidateInput>,
        open_world: false,
    },
    ToolEntry {
        name: "speck_matrix",
        title: "GitHub Actions matrix of a decomposition",
        description: "The `strategy.matrix` object (`{\"include\": [...]}`, one entry per phase) \
                      of a valid task decomposition.",
        schema: schema_of::<tools::SpeckMatrixInput>,
        open_world: false,
    },
    ToolEntry {
        name: "parse_failures",
        title: "Parse a CI log into failures",
        description: "The failures of a CI log (pytest, ruff, mypy, tsc, ESLint, jest/vitest, \
                      `dagger check` output) attributed to files and lines under a source \
                      directory, exactly as `suggest-fix` sees them.",
        schema: schema_of::<tools::ParseFailuresInput>,
        open_world: false,
    },
    ToolEntry {
        name: "review_placement",
        title: "Where review suggestions would land",
        description: "For a unified diff and proposed suggestions (path, lines, text): where \
                      each would land on the pull request under GitHub's rules — inline, \
                      file-level or in the review body — and why, so a review does not get a 422.",
        schema: schema_of::<tools::ReviewPlacementInput>,
        open_world: false,
    },
];

/// The tools as MCP declares them (also `agentci mcp serve --list-tools`).
pub fn tool_list() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|entry| {
            Tool::new(entry.name, entry.description, Arc::new((entry.schema)())).with_annotations(
                ToolAnnotations::with_title(entry.title)
                    .read_only(true)
                    .destructive(false)
                    .idempotent(true)
                    .open_world(entry.open_world),
            )
        })
        .collect()
}

/// The server: the jail its tools read through.
#[derive(Debug, Clone)]
pub struct AgentciServer {
    jail: Arc<Jail>,
}

impl AgentciServer {
    pub fn new(jail: Jail) -> Self {
        Self {
            jail: Arc::new(jail),
        }
    }

    /// Run one tool to its structured result, or the failure the client sees.
    pub async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure> {
        let jail = Arc::clone(&self.jail);
        match name {
            "modules_scan" => {
                let input = parse(arguments)?;
                blocking(move || tools::modules_scan(&jail, input)).await
            }
            "daggie_plan" => {
                let input = parse(arguments)?;
                blocking(move || tools::daggie_plan(&jail, input)).await
            }
            "speck_validate" => tools::speck_validate(parse(arguments)?),
            "speck_matrix" => tools::speck_matrix(parse(arguments)?),
            "parse_failures" => {
                let input = parse(arguments)?;
                blocking(move || tools::parse_failures(&jail, input)).await
            }
            "review_placement" => {
                let input = parse(arguments)?;
                blocking(move || tools::review_placement(&jail, input)).await
            }
            other => Err(ToolFailure(format!(
                "no tool `{other}`; the tools are {}",
                TOOLS.map(|entry| entry.name).join(", ")
            ))),
        }
    }
}

fn parse<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolFailure> {
    serde_json::from_value(arguments)
        .map_err(|error| ToolFailure(format!("invalid arguments: {error}")))
}

/// File, tree and git work runs off the async threads.
async fn blocking<F>(work: F) -> Result<Value, ToolFailure>
where
    F: FnOnce() -> Result<Value, ToolFailure> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ToolFailure(format!("the tool stopped: {error}")))?
}

/// A short human rendering of a structured result, before the JSON itself.
fn rendering(name: &str, value: &Value) -> String {
    let count = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    let headline = match name {
        "modules_scan" => format!(
            "{} module(s), {} error(s)",
            count("/modules"),
            count("/errors")
        ),
        "daggie_plan" => format!(
            "{} toolchain(s), {} file(s)",
            count("/plan/toolchains"),
            count("/files")
        ),
        "speck_validate" => match value.get("valid").and_then(Value::as_bool) {
            Some(true) => "valid".to_owned(),
            _ => format!("invalid: {} problem(s)", count("/problems")),
        },
        "speck_matrix" => format!("{} phase(s)", count("/include")),
        "parse_failures" => format!("{} failure(s)", count("/failures")),
        "review_placement" => format!(
            "{} inline, {} file-level, {} in the review body",
            value["inline"], value["file_level"], value["in_summary"]
        ),
        _ => String::new(),
    };
    let json = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("{headline}\n\n{json}")
}

impl ServerHandler for AgentciServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("agentci", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name: Cow<'_, str> = request.name.clone();
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        tracing::info!(tool = %name, "tool call");
        let result = match self.call(&name, arguments).await {
            Ok(value) => {
                let value = crate::redact::redact_json(&value);
                let text = rendering(&name, &value);
                let mut result = CallToolResult::structured(value);
                result.content = vec![ContentBlock::text(text)];
                result
            }
            Err(ToolFailure(message)) => {
                let message = crate::redact::redact(&message).into_owned();
                tracing::info!(tool = %name, "tool error: {message}");
                CallToolResult::error(vec![ContentBlock::text(message)])
            }
        };
        Ok(result.into())
    }
}

/// Serve on stdin/stdout until the client disconnects.
pub async fn serve_stdio(server: AgentciServer) -> anyhow::Result<()> {
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| anyhow::anyhow!("MCP handshake failed: {error}"))?;
    service.waiting().await?;
    Ok(())
}

/// How the HTTP endpoint is protected.
#[derive(Clone)]
pub struct HttpOptions {
    pub address: SocketAddr,
    /// Every request must carry `Authorization: Bearer <token>` when set.
    pub token: Option<secrecy::SecretString>,
}

/// Refuse an address other machines can reach unless a token protects it.
pub fn check_http_options(options: &HttpOptions, token_variable: &str) -> anyhow::Result<()> {
    if !options.address.ip().is_loopback() && options.token.is_none() {
        return Err(crate::exit::usage(format!(
            "`--http {}` is reachable from other machines; set {token_variable} to a bearer token \
             clients must send, or listen on a loopback address (127.0.0.1, [::1])",
            options.address
        )));
    }
    Ok(())
}

/// Serve streamable HTTP at `/mcp` on a bound listener until the process ends.
pub async fn serve_http(
    server: AgentciServer,
    listener: tokio::net::TcpListener,
    options: HttpOptions,
) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    use secrecy::ExposeSecret;

    let address = listener.local_addr()?;
    let mut config = StreamableHttpServerConfig::default();
    if !address.ip().is_loopback() {
        // Host validation protects a loopback server from DNS rebinding; a server meant for
        // other machines is protected by its token instead.
        config.allowed_hosts = Vec::new();
    }
    let service: StreamableHttpService<AgentciServer, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.clone()), Default::default(), config);
    let expected = options
        .token
        .as_ref()
        .map(|token| format!("Bearer {}", token.expose_secret()));
    eprintln!("agentci MCP server listening on http://{address}/mcp");
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = service.clone();
        let expected = expected.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let service = service.clone();
                let expected = expected.clone();
                async move {
                    if request.uri().path() != "/mcp" {
                        return Ok::<_, Infallible>(refusal(404));
                    }
                    let authorized = expected.as_deref().is_none_or(|expected| {
                        request
                            .headers()
                            .get(hyper::header::AUTHORIZATION)
                            .and_then(|value| value.to_str().ok())
                            .is_some_and(|value| constant_time_eq(value, expected))
                    });
                    if !authorized {
                        return Ok(refusal(401));
                    }
                    Ok(service.handle(request).await)
                }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!("MCP connection from {peer} ended: {error}");
            }
        });
    }
}

/// An empty answer with `status` (401 without the token, 404 off `/mcp`).
fn refusal(status: u16) -> hyper::Response<BoxBody<Bytes, Infallible>> {
    let mut response = hyper::Response::new(Empty::<Bytes>::new().boxed());
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::UNAUTHORIZED);
    response
}

/// Compare a presented credential without leaking its length-prefix match through timing.
fn constant_time_eq(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
