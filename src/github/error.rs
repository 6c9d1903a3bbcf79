//! GitHub failures (exit code 5).

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub rejected the token: {0}; check `GITHUB_TOKEN` or `--github-token`")]
    Auth(String),
    #[error("GitHub could not find {0}")]
    NotFound(String),
    #[error("GitHub answered {status} to {what}: {message}")]
    Http {
        status: u16,
        what: String,
        message: String,
    },
    #[error("could not reach GitHub: {0}")]
    Transport(String),
    #[error("git: {0}")]
    Git(String),
    #[error("GitHub context: {0}")]
    Context(String),
}
