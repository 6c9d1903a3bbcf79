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
    /// What agentci was given about GitHub is unusable (a malformed `--repo`, a `--commit-sha`
    /// that is not a commit id, `--github-token env:NAME` naming an unset variable, a bad
    /// `GITHUB_API_URL`): a usage error, not a GitHub failure.
    #[error("{0}")]
    Usage(String),
}

impl GitHubError {
    /// True when the error is about agentci's input or the missing GitHub context, not about
    /// GitHub itself (exit 2 rather than 5).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Usage(_) | Self::Context(_))
    }

    /// Classify an octocrab failure for the request described by `what` (e.g. "POST
    /// /repos/o/r/pulls/1/reviews"): 401/403 are token problems, 404 a missing object, other
    /// statuses keep their code and GitHub's message (with its `errors` details, which is where
    /// a 422 names the offending field), and anything without a status is a transport failure.
    pub fn from_octocrab(error: octocrab::Error, what: &str) -> Self {
        match error {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                let mut message = source.message.clone();
                if let Some(details) = source.errors.as_ref().filter(|errors| !errors.is_empty()) {
                    let details: Vec<String> = details.iter().map(describe_error_detail).collect();
                    message = format!("{message} ({})", details.join("; "));
                }
                let message = crate::redact::redact(&message).into_owned();
                match status {
                    401 | 403 => Self::Auth(format!("{status} on {what}: {message}")),
                    404 => Self::NotFound(what.to_owned()),
                    _ => Self::Http {
                        status,
                        what: what.to_owned(),
                        message,
                    },
                }
            }
            other => Self::Transport(format!(
                "{what}: {}",
                crate::redact::redact(&other.to_string())
            )),
        }
    }

    /// The HTTP status GitHub answered, when the failure has one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            Self::NotFound(_) => Some(404),
            _ => None,
        }
    }

    /// True for GitHub's "Unprocessable Entity", the answer to a review comment outside the diff.
    pub fn is_unprocessable(&self) -> bool {
        self.status() == Some(422)
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}

/// GitHub's `errors` entries are either strings or objects such as
/// `{"resource":"PullRequestReviewComment","field":"line","code":"invalid"}`.
fn describe_error_detail(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(fields) => {
            if let Some(serde_json::Value::String(message)) = fields.get("message") {
                return message.clone();
            }
            let part = |key: &str| {
                fields
                    .get(key)
                    .and_then(|value| value.as_str())
                    .unwrap_or("")
            };
            format!("{} {} {}", part("resource"), part("field"), part("code"))
                .trim()
                .to_owned()
        }
        other => other.to_string(),
    }
}
