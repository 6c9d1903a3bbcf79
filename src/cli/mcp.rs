//! `agentci mcp serve`: agentci's deterministic tools as an MCP server, over stdio (default) or
//! streamable HTTP (`--http ADDR`, at `/mcp`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::Exit;
use crate::server::{AgentciServer, HttpOptions, Jail};

/// The variable holding the bearer token HTTP clients must send, unless `--token-env` names
/// another.
const DEFAULT_TOKEN_VARIABLE: &str = "AGENTCI_MCP_TOKEN";

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(subcommand)]
    pub command: McpCommand,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Serve the read-only tools (modules_scan, daggie_plan, speck_validate, speck_matrix,
    /// parse_failures, review_placement) to an MCP client
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve streamable HTTP at `http://ADDR/mcp` instead of stdio (e.g. `127.0.0.1:8931`)
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// A directory the tools may read (repeatable) [default: the working directory]
    #[arg(long, value_name = "DIR")]
    pub root: Vec<PathBuf>,
    /// The variable holding the bearer token HTTP clients must send (required for a
    /// non-loopback `--http` address)
    #[arg(long, value_name = "NAME", default_value = DEFAULT_TOKEN_VARIABLE)]
    pub token_env: String,
    /// Print the tools and their input schemas as JSON, and exit
    #[arg(long)]
    pub list_tools: bool,
}

pub async fn run(args: &McpArgs) -> anyhow::Result<Exit> {
    match &args.command {
        McpCommand::Serve(serve) => serve_command(serve).await,
    }
}

async fn serve_command(args: &ServeArgs) -> anyhow::Result<Exit> {
    if args.list_tools {
        let tools = serde_json::to_value(crate::server::tool_list())?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", serde_json::to_string_pretty(&tools)?)?;
        return Ok(Exit::Done);
    }
    let working_dir = std::env::current_dir()
        .map_err(|error| crate::exit::usage(format!("no working directory: {error}")))?;
    let roots = if args.root.is_empty() {
        vec![working_dir.clone()]
    } else {
        args.root.clone()
    };
    let jail = Jail::new(&roots)?;
    let server = AgentciServer::new(jail);
    match args.http {
        None => {
            crate::server::serve_stdio(server).await?;
        }
        Some(address) => {
            let environment = crate::config::Environment::load(&working_dir)?;
            let options = HttpOptions {
                address,
                token: environment.secret(&args.token_env),
            };
            crate::server::check_http_options(&options, &args.token_env)?;
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|error| {
                    crate::exit::usage(format!("cannot listen on `{address}`: {error}"))
                })?;
            crate::server::serve_http(server, listener, options).await?;
        }
    }
    Ok(Exit::Done)
}
