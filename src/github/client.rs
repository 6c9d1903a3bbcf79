//! The GitHub REST client: token and base URL from the environment, octocrab underneath,
//! pagination, write pacing (secondary rate limits) and the dry-run recorder through which every
//! write passes.
//!
//! Every write goes through [`GitHub::write`]: the body is redacted there, spaced from the
//! previous write, and in dry-run mode recorded as a [`PlannedRequest`] instead of sent. Callers
//! therefore cannot post around the redactor or around `--dry-run`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use octocrab::service::middleware::retry::{NoOpRateLimitMetrics, RetryConfig};
use octocrab::{Octocrab, Page};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::GitHubError;

/// GitHub.com's API; Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Writes to the review and comment endpoints count against GitHub's secondary rate limits,
/// which GitHub asks integrators to respect by spacing mutating requests about a second apart.
pub const DEFAULT_WRITE_SPACING: Duration = Duration::from_secs(1);

/// The longest a write waits out secondary rate limits in total before giving up.
const MAX_RATE_LIMIT_WAIT_SECONDS: u64 = 180;

/// Where configuration values come from. Tests pass a map; production passes the configuration
/// layer's environment ([`crate::config::Environment`]) or [`ProcessEnv`].
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<T: EnvSource + ?Sized> EnvSource for &T {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
    }
}

/// The configuration layer's environment: `.env` under the process environment.
impl EnvSource for crate::config::Environment {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// A non-empty, trimmed variable.
pub(crate) fn non_empty(env: &dyn EnvSource, name: &str) -> Option<String> {
    env.var(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Resolve the token from `--github-token` (a literal, or `env:NAME` to read variable `NAME`)
/// or else `GITHUB_TOKEN`. The value is registered with the redactor. `Ok(None)` when neither
/// is given: public reads still work without a token.
pub fn resolve_token(
    flag: Option<&str>,
    env: &dyn EnvSource,
) -> Result<Option<SecretString>, GitHubError> {
    let value = match flag.map(str::trim).filter(|flag| !flag.is_empty()) {
        Some(flag) => match flag.strip_prefix("env:") {
            Some(name) => Some(non_empty(env, name).ok_or_else(|| {
                GitHubError::Usage(format!(
                    "`--github-token env:{name}` names a variable that is not set or empty"
                ))
            })?),
            None => Some(flag.to_owned()),
        },
        None => non_empty(env, "GITHUB_TOKEN"),
    };
    Ok(value.map(|token| {
        crate::redact::register_secret(&token);
        SecretString::from(token)
    }))
}

/// How to build a [`GitHub`] client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub token: Option<SecretString>,
    /// Base URL of the REST API, any path prefix (Enterprise `/api/v3`) included.
    pub api_url: String,
    /// Minimum time between two writes; zero in tests.
    pub write_spacing: Duration,
    /// Let octocrab retry rate-limited (403/429 with rate-limit headers) and 5xx answers.
    pub retry: bool,
    /// Record writes instead of sending them.
    pub dry_run: bool,
}

impl ClientSettings {
    /// Production settings: token from the flag or `GITHUB_TOKEN`, base URL from
    /// `GITHUB_API_URL` (GitHub.com when unset), one second between writes, retries on.
    pub fn from_env(token_flag: Option<&str>, env: &dyn EnvSource) -> Result<Self, GitHubError> {
        Ok(Self {
            token: resolve_token(token_flag, env)?,
            api_url: non_empty(env, "GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
            write_spacing: DEFAULT_WRITE_SPACING,
            retry: true,
            dry_run: false,
        })
    }

    /// Settings for a local fake server: no pacing, no retries, a fixed token.
    pub fn for_server(api_url: impl Into<String>) -> Self {
        Self {
            token: Some(SecretString::from("test-token-not-secret")),
            api_url: api_url.into(),
            write_spacing: Duration::ZERO,
            retry: false,
            dry_run: false,
        }
    }

    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    pub fn with_write_spacing(mut self, spacing: Duration) -> Self {
        self.write_spacing = spacing;
        self
    }
}

/// The HTTP method of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// A write that dry-run mode recorded instead of sending: exactly what would have gone out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    pub method: Method,
    /// The route relative to the API base URL, e.g. `/repos/o/r/pulls/7/reviews`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// A GitHub REST client.
pub struct GitHub {
    octocrab: Octocrab,
    /// Without octocrab's retries: used for POSTs, whose retries the callers decide.
    octocrab_posts: Octocrab,
    api_url: String,
    write_spacing: Duration,
    last_write: tokio::sync::Mutex<Option<Instant>>,
    dry_run: bool,
    planned: Mutex<Vec<PlannedRequest>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// Build a client from the environment (see [`ClientSettings::from_env`]).
    pub fn from_env(token_flag: Option<&str>, env: &dyn EnvSource) -> Result<Self, GitHubError> {
        Self::new(ClientSettings::from_env(token_flag, env)?)
    }

    pub fn new(settings: ClientSettings) -> Result<Self, GitHubError> {
        let api_url = settings.api_url.trim_end_matches('/').to_owned();
        let bad_url = |error: octocrab::Error| {
            GitHubError::Usage(format!(
                "`GITHUB_API_URL` is not a usable URL (`{api_url}`): {error}"
            ))
        };
        let build = |retry: bool| -> Result<Octocrab, GitHubError> {
            let mut builder = Octocrab::builder()
                .base_uri(api_url.as_str())
                .map_err(bad_url)?
                .upload_uri(api_url.as_str())
                .map_err(bad_url)?
                .set_connect_timeout(Some(Duration::from_secs(30)))
                .set_read_timeout(Some(Duration::from_secs(60)));
            builder = if retry {
                builder.add_retry_config(RetryConfig::HandleRateLimits {
                    metrics: std::sync::Arc::new(NoOpRateLimitMetrics),
                    max_retries: 3,
                    min_wait_seconds: 5,
                    retry_on_forbidden: false,
                })
            } else {
                builder.add_retry_config(RetryConfig::None)
            };
            if let Some(token) = settings.token.clone() {
                builder = builder.personal_token(token);
            }
            builder.build().map_err(|error| {
                GitHubError::Transport(format!("could not build the HTTP client: {error}"))
            })
        };
        let octocrab = build(settings.retry)?;
        // A POST is never retried blindly: after a 5xx or a timeout the server may have acted.
        let octocrab_posts = build(false)?;
        Ok(Self {
            octocrab,
            octocrab_posts,
            api_url,
            write_spacing: settings.write_spacing,
            last_write: tokio::sync::Mutex::new(None),
            dry_run: settings.dry_run,
            planned: Mutex::new(Vec::new()),
        })
    }

    /// The underlying octocrab client, for calls this layer does not wrap.
    pub fn octocrab(&self) -> &Octocrab {
        &self.octocrab
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The writes recorded so far in dry-run mode, in order.
    pub fn planned(&self) -> Vec<PlannedRequest> {
        self.planned
            .lock()
            .map(|planned| planned.clone())
            .unwrap_or_default()
    }

    /// Take the recorded writes, leaving the record empty.
    pub fn take_planned(&self) -> Vec<PlannedRequest> {
        self.planned
            .lock()
            .map(|mut planned| std::mem::take(&mut *planned))
            .unwrap_or_default()
    }

    /// GET one JSON document.
    pub async fn get<T: DeserializeOwned>(&self, route: &str) -> Result<T, GitHubError> {
        self.octocrab
            .get::<T, _, ()>(route, None)
            .await
            .map_err(|error| GitHubError::from_octocrab(error, &format!("GET {route}")))
    }

    /// GET every page of a list endpoint (100 items a page, following `Link: rel="next"`).
    pub async fn get_all<T: DeserializeOwned>(&self, route: &str) -> Result<Vec<T>, GitHubError> {
        let separator = if route.contains('?') { '&' } else { '?' };
        let first = format!("{route}{separator}per_page=100");
        let what = format!("GET {route}");
        let page: Page<T> = self
            .octocrab
            .get(&first, None::<&()>)
            .await
            .map_err(|error| GitHubError::from_octocrab(error, &what))?;
        self.octocrab
            .all_pages(page)
            .await
            .map_err(|error| GitHubError::from_octocrab(error, &what))
    }

    /// Send a write, or record it in dry-run mode (then `Ok(None)`). The body is redacted
    /// first. An empty answer (204) is `Some(Value::Null)`.
    pub async fn write(
        &self,
        method: Method,
        route: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, GitHubError> {
        let body = body.map(crate::redact::redact_json);
        if self.dry_run {
            if let Ok(mut planned) = self.planned.lock() {
                planned.push(PlannedRequest {
                    method,
                    path: route.to_owned(),
                    body,
                });
            }
            return Ok(None);
        }
        let mut waited = 0;
        loop {
            match self.send_write(method, route, body.as_ref()).await {
                // A rate-limited request was not processed: waiting it out and sending it again
                // is safe, within a bound.
                Err(GitHubError::RateLimited { wait_seconds, .. })
                    if waited + wait_seconds <= MAX_RATE_LIMIT_WAIT_SECONDS =>
                {
                    tracing::warn!(
                        "GitHub rate-limited `{} {route}`; waiting {wait_seconds}s",
                        method.as_str()
                    );
                    tokio::time::sleep(Duration::from_secs(wait_seconds.max(1))).await;
                    waited += wait_seconds.max(1);
                }
                other => return other,
            }
        }
    }

    async fn send_write(
        &self,
        method: Method,
        route: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, GitHubError> {
        self.pace().await;
        let what = format!("{} {route}", method.as_str());
        let map = |error: octocrab::Error| GitHubError::from_octocrab(error, &what);
        let response = match method {
            Method::Post => self.octocrab_posts._post(route, body).await,
            Method::Patch => self.octocrab._patch(route, body).await,
            Method::Put => self.octocrab._put(route, body).await,
            Method::Delete => self.octocrab._delete(route, body).await,
        }
        .map_err(map)?;
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        if let Some(wait_seconds) = rate_limit_wait(response.status().as_u16(), header) {
            return Err(GitHubError::RateLimited {
                status: response.status().as_u16(),
                what,
                wait_seconds,
            });
        }
        let response = octocrab::map_github_error(response).await.map_err(map)?;
        let text = self.octocrab.body_to_string(response).await.map_err(map)?;
        if text.trim().is_empty() {
            return Ok(Some(serde_json::Value::Null));
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| GitHubError::Transport(format!("{what}: answer is not JSON: {error}")))
    }

    /// Wait until the write spacing has passed since the previous write.
    async fn pace(&self) {
        if self.write_spacing.is_zero() {
            return;
        }
        let mut last = self.last_write.lock().await;
        if let Some(previous) = *last {
            let elapsed = previous.elapsed();
            if elapsed < self.write_spacing {
                tokio::time::sleep(self.write_spacing - elapsed).await;
            }
        }
        *last = Some(Instant::now());
    }
}

/// How long a 403/429 answer asks to wait: `retry-after` seconds, or until `x-ratelimit-reset`
/// when `x-ratelimit-remaining` is 0. `None` for any other answer (a 403 without these headers is
/// a permission problem, not a rate limit).
fn rate_limit_wait(status: u16, header: impl Fn(&str) -> Option<u64>) -> Option<u64> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(seconds) = header("retry-after") {
        return Some(seconds);
    }
    if header("x-ratelimit-remaining") == Some(0)
        && let Some(reset) = header("x-ratelimit-reset")
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        return Some(reset.saturating_sub(now));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn token_comes_from_flag_literal_env_reference_or_github_token() {
        let variables = env(&[
            ("GITHUB_TOKEN", "ghs_fromenvironment0000000000000"),
            ("MY_TOKEN", "token-in-another-variable"),
        ]);
        let literal = resolve_token(Some("literal-token-value"), &variables).unwrap();
        assert_eq!(literal.unwrap().expose_secret(), "literal-token-value");
        let named = resolve_token(Some("env:MY_TOKEN"), &variables).unwrap();
        assert_eq!(named.unwrap().expose_secret(), "token-in-another-variable");
        let default = resolve_token(None, &variables).unwrap();
        assert_eq!(
            default.unwrap().expose_secret(),
            "ghs_fromenvironment0000000000000"
        );
        assert!(resolve_token(None, &env(&[])).unwrap().is_none());
        let missing = resolve_token(Some("env:NOPE"), &variables).unwrap_err();
        assert!(missing.to_string().contains("env:NOPE"), "{missing}");
    }

    #[test]
    fn resolved_tokens_are_redacted_afterwards() {
        let variables = env(&[("GITHUB_TOKEN", "plain-token-registered-42")]);
        resolve_token(None, &variables).unwrap();
        assert!(!crate::redact::redact("x plain-token-registered-42").contains("registered"));
    }

    #[test]
    fn api_url_defaults_to_github_com_and_honours_enterprise() {
        let settings = ClientSettings::from_env(None, &env(&[])).unwrap();
        assert_eq!(settings.api_url, DEFAULT_API_URL);
        assert_eq!(settings.write_spacing, DEFAULT_WRITE_SPACING);
        let enterprise = env(&[("GITHUB_API_URL", "https://ghe.example.com/api/v3")]);
        let settings = ClientSettings::from_env(None, &enterprise).unwrap();
        assert_eq!(settings.api_url, "https://ghe.example.com/api/v3");
    }
}
