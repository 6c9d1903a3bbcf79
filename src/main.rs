//! The `agentci` binary: parse the command line, set up logging on stderr, run, and map the
//! outcome to the exit codes of CONTRACTS §3. Errors print once, as their cause chain on one line.

use std::process::ExitCode;

use agentci::cli::exit_for;
use agentci::exit::{Exit, is_broken_pipe};

fn main() -> ExitCode {
    let cli = agentci::cli::parse();
    agentci::cli::init_logging(&cli.global);
    // Before any thread exists: libgit2's socket timeouts are a process-wide global.
    let git_timeout = std::env::var("AGENTCI_GIT_TIMEOUT")
        .ok()
        .and_then(|text| humantime::parse_duration(text.trim()).ok())
        .unwrap_or(agentci::scan::git::DEFAULT_SOCKET_TIMEOUT);
    agentci::scan::git::configure_socket_timeouts(git_timeout);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return Exit::Usage.into();
        }
    };
    match runtime.block_on(agentci::cli::run(cli)) {
        Ok(exit) => exit.into(),
        Err(error) if is_broken_pipe(&error) => Exit::Done.into(),
        Err(error) => {
            let message = agentci::redact::redact(&format!("{error:#}")).into_owned();
            eprintln!("error: {message}");
            exit_for(&error).into()
        }
    }
}
