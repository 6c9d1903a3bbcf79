//! Retry policy as data, and the one loop every provider sends its requests through.
//!
//! Only the *sending* is retried: once a response with a success status has arrived and its body
//! starts streaming, a failure is reported as is. Re-sending after the first byte would duplicate
//! output the caller has already seen (and, for tool calls, side effects it may have acted on).

use std::time::{Duration, Instant};

use super::error::{LlmError, classify_http};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled each attempt, with ±25% jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No wait starts that would end after this much time since the first attempt.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            total_budget: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy with no waiting, for tests.
    pub fn immediate(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            total_budget: Duration::from_secs(60),
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), honouring what the provider
    /// asked for when it asked.
    pub fn backoff(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked;
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let base = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let jitter = 0.75 + fastrand::f64() * 0.5;
        base.mul_f64(jitter).min(self.max_backoff)
    }
}

/// What the caller is told before each wait.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryNotice {
    pub attempt: u32,
    pub reason: String,
    pub wait: Duration,
}

/// Send a request (rebuilt by `build` for every attempt) until it answers with a success status,
/// retrying what [`LlmError::is_retryable`] allows within the policy. Error answers are classified
/// with [`classify_http`].
pub async fn send(
    policy: &RetryPolicy,
    on_retry: Option<&super::RetryHook>,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, LlmError> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = match build().send().await {
            Ok(response) if response.status().is_success() => return Ok(response),
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.text().await.unwrap_or_default();
                classify_http(status, &headers, &body)
            }
            Err(error) => LlmError::from_reqwest(&error),
        };
        if !outcome.is_retryable() {
            return Err(outcome);
        }
        let wait = policy.backoff(attempt, outcome.retry_after());
        let elapsed = started.elapsed();
        if attempt >= policy.max_attempts || elapsed + wait > policy.total_budget {
            if attempt == 1 {
                return Err(outcome);
            }
            return Err(LlmError::RetriesExhausted {
                attempts: attempt,
                elapsed,
                last: Box::new(outcome),
            });
        }
        tracing::warn!(
            "{}; retrying in {:.1}s (attempt {} of {})",
            outcome,
            wait.as_secs_f64(),
            attempt + 1,
            policy.max_attempts
        );
        if let Some(hook) = on_retry {
            hook(&RetryNotice {
                attempt,
                reason: outcome.class().to_owned(),
                wait,
            });
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        let first = policy.backoff(1, None);
        assert!(
            first >= Duration::from_millis(750) && first <= Duration::from_millis(1250),
            "{first:?}"
        );
        let fourth = policy.backoff(4, None);
        assert!(
            fourth >= Duration::from_secs(6) && fourth <= Duration::from_secs(10),
            "{fourth:?}"
        );
        assert!(policy.backoff(20, None) <= policy.max_backoff);
    }

    #[test]
    fn backoff_honours_what_the_provider_asked() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}
