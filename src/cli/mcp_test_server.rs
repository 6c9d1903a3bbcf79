//! `agentci mcp-test-server` (hidden): a small MCP server over stdio used by the integration
//! tests, so that the MCP client is exercised against a real server process without Node or
//! Python. [`TestServer`] is also served over streamable HTTP inside the tests.

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::exit::Exit;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoParams {
    /// The text to send back
    pub text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddParams {
    pub a: i64,
    pub b: i64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExitParams {
    /// The exit status of the server process
    pub code: i32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SleepParams {
    pub millis: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FailParams {
    pub message: String,
}

/// Tools: `echo`, `add`, `fail` (an error result), `sleep`, `reveal` (returns a token-shaped
/// string, to check results are redacted) and `exit` (ends the process mid-call).
#[derive(Debug, Clone)]
pub struct TestServer {
    tool_router: ToolRouter<Self>,
}

impl Default for TestServer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestServer {
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl TestServer {
    #[tool(description = "Echo the text back")]
    fn echo(&self, Parameters(EchoParams { text }): Parameters<EchoParams>) -> String {
        text
    }

    #[tool(description = "Add two integers")]
    fn add(&self, Parameters(AddParams { a, b }): Parameters<AddParams>) -> String {
        a.saturating_add(b).to_string()
    }

    #[tool(description = "Return an error result with this message")]
    fn fail(
        &self,
        Parameters(FailParams { message }): Parameters<FailParams>,
    ) -> Result<String, String> {
        Err(message)
    }

    #[tool(description = "Wait this many milliseconds, then answer")]
    async fn sleep(&self, Parameters(SleepParams { millis }): Parameters<SleepParams>) -> String {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        "slept".to_owned()
    }

    #[tool(description = "Return a string shaped like a GitHub token")]
    fn reveal(&self) -> String {
        // Built at run time so that no token-shaped literal sits in the source.
        let token = format!("{}_{}", "ghp", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        format!("the token is {token}")
    }

    #[tool(description = "Exit the server process immediately, without answering")]
    fn exit(&self, Parameters(ExitParams { code }): Parameters<ExitParams>) -> String {
        std::process::exit(code)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("agentci-test-server", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// Serve [`TestServer`] on stdin/stdout until the client disconnects.
pub async fn run() -> anyhow::Result<Exit> {
    let service = TestServer::new()
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| anyhow::anyhow!("MCP handshake failed: {error}"))?;
    service.waiting().await?;
    Ok(Exit::Done)
}
