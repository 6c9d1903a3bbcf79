//! Retry policy as data, the one loop every provider sends its requests through, the idle
//! timeout on every answer, and the turn-level retry around collecting one whole response.
//!
//! Two places retry, sharing one attempt count and one time budget per turn (no retry storm):
//! [`send`] retries a request until it answers with a success status, and [`complete`] retries
//! a whole turn whose stream failed after the first byte (cut off, stalled, an in-stream provider
//! error) — safe because nothing of a turn is acted on before its response is complete. A caller
//! that consumes a [`super::Provider::stream`] itself sees such failures as they are.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};

use super::error::{LlmError, classify_http};
use super::{Provider, Request, Response};

/// How long a provider may send nothing (no header, no byte of the body) before the attempt is
/// abandoned as a retryable failure.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled each attempt, with ±25% jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No wait starts that would bring the waiting of one turn (or one request) over this much.
    /// Only the waits count, not the attempts: a stalled attempt already took an idle timeout.
    pub total_budget: Duration,
    /// No byte for this long, waiting for the headers or inside a stream, fails the attempt.
    pub idle_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            total_budget: Duration::from_secs(120),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
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
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// The same policy with another idle timeout.
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
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

/// The attempts of one turn so far: [`complete`] sets it up, [`send`] counts into it, so that
/// retries before and after the first byte share one budget.
#[derive(Debug)]
struct Turn {
    started: Instant,
    /// The backoff waited so far.
    waited: Duration,
    attempts: u32,
}

tokio::task_local! {
    static TURN: Arc<Mutex<Turn>>;
}

/// Count one more attempt: into the current turn when there is one, else into `local`.
/// Returns the attempt number, the start of the turn and the waiting so far.
fn next_attempt(local: &mut Turn) -> (u32, Instant, Duration) {
    let shared = TURN.try_with(|turn| {
        turn.lock().ok().map(|mut turn| {
            turn.attempts += 1;
            (turn.attempts, turn.started, turn.waited)
        })
    });
    match shared {
        Ok(Some(counted)) => counted,
        _ => {
            local.attempts += 1;
            (local.attempts, local.started, local.waited)
        }
    }
}

/// Add a wait to the current turn when there is one, else to `local`.
fn record_wait(local: &mut Turn, wait: Duration) {
    let shared = TURN.try_with(|turn| {
        if let Ok(mut turn) = turn.lock() {
            turn.waited += wait;
        }
    });
    if shared.is_err() {
        local.waited += wait;
    }
}

/// Decide whether `outcome` of attempt `attempt` is retried: `Ok(wait)` after telling the log and
/// the hook, or the error to give up with.
fn plan_retry(
    policy: &RetryPolicy,
    on_retry: Option<&super::RetryHook>,
    attempt: u32,
    (started, waited): (Instant, Duration),
    outcome: LlmError,
) -> Result<Duration, LlmError> {
    if !outcome.is_retryable() {
        return Err(outcome);
    }
    let wait = policy.backoff(attempt, outcome.retry_after());
    let elapsed = started.elapsed();
    if attempt >= policy.max_attempts || waited + wait > policy.total_budget {
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
    Ok(wait)
}

/// Send a request (rebuilt by `build` for every attempt) until it answers with a success status,
/// retrying what [`LlmError::is_retryable`] allows within the policy. Error answers are classified
/// with [`classify_http`]. Headers that do not arrive within the idle timeout fail the attempt
/// with [`LlmError::Timeout`].
pub async fn send(
    policy: &RetryPolicy,
    on_retry: Option<&super::RetryHook>,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, LlmError> {
    let mut local = Turn {
        started: Instant::now(),
        waited: Duration::ZERO,
        attempts: 0,
    };
    loop {
        let (attempt, started, waited) = next_attempt(&mut local);
        let outcome = match tokio::time::timeout(policy.idle_timeout, build().send()).await {
            Err(_) => LlmError::Timeout,
            Ok(Ok(response)) if response.status().is_success() => return Ok(response),
            Ok(Ok(response)) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = tokio::time::timeout(policy.idle_timeout, response.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                classify_http(status, &headers, &body)
            }
            Ok(Err(error)) => LlmError::from_reqwest(&error),
        };
        let wait = plan_retry(policy, on_retry, attempt, (started, waited), outcome)?;
        record_wait(&mut local, wait);
        tokio::time::sleep(wait).await;
    }
}

/// Why a body stream stopped short: no byte within the idle timeout, or the transport failed.
#[derive(Debug)]
pub enum BodyError<E> {
    Idle(Duration),
    Transport(E),
}

impl<E: std::fmt::Display> std::fmt::Display for BodyError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Idle(limit) => write!(
                f,
                "no byte for {} (the idle timeout)",
                humantime::format_duration(*limit)
            ),
            BodyError::Transport(error) => error.fmt(f),
        }
    }
}

/// A body stream that fails with [`BodyError::Idle`] when no chunk arrives within `idle`
/// (keep-alive events such as Anthropic's `ping` are bytes, so they reset it), and ends there.
pub fn idle_guard<S, B, E>(
    bytes: S,
    idle: Duration,
) -> impl Stream<Item = Result<B, BodyError<E>>> + Send + 'static
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: Send + 'static,
    E: Send + 'static,
{
    let state = (Box::pin(bytes), false);
    futures::stream::unfold(state, move |(mut bytes, stopped)| async move {
        if stopped {
            return None;
        }
        match tokio::time::timeout(idle, bytes.next()).await {
            Err(_) => Some((Err(BodyError::Idle(idle)), (bytes, true))),
            Ok(None) => None,
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), (bytes, false))),
            Ok(Some(Err(error))) => Some((Err(BodyError::Transport(error)), (bytes, true))),
        }
    })
}

/// Send the request and collect the whole response, retrying a turn whose stream failed after
/// the first byte like a failure before it (same policy, same attempt count, Retry-After
/// honoured). The usage a failed attempt reported is added to the final response, so budgets
/// count it.
pub async fn complete<P: Provider + ?Sized>(
    provider: &P,
    policy: &RetryPolicy,
    request: &Request,
) -> Result<Response, LlmError> {
    let turn = Arc::new(Mutex::new(Turn {
        started: Instant::now(),
        waited: Duration::ZERO,
        attempts: 0,
    }));
    TURN.scope(Arc::clone(&turn), async {
        let mut spent = super::Usage::default();
        loop {
            let attempts = || turn.lock().map(|turn| turn.attempts).unwrap_or(u32::MAX);
            let before = attempts();
            let stream = provider.stream(request).await?;
            if attempts() == before
                && let Ok(mut turn) = turn.lock()
            {
                // A provider that does not send through [`send`] still counts its attempts.
                turn.attempts += 1;
            }
            let (outcome, usage) = super::collect_with_usage(stream).await;
            match outcome {
                Ok(mut response) => {
                    response.usage.add(&spent);
                    return Ok(response);
                }
                Err(error) => {
                    spent.add(&usage);
                    let (attempt, started, waited) = turn
                        .lock()
                        .map(|turn| (turn.attempts.max(1), turn.started, turn.waited))
                        .unwrap_or((u32::MAX, Instant::now(), Duration::ZERO));
                    let wait = plan_retry(
                        policy,
                        request.on_retry.as_ref(),
                        attempt,
                        (started, waited),
                        error,
                    )?;
                    if let Ok(mut turn) = turn.lock() {
                        turn.waited += wait;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    })
    .await
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
    fn only_waiting_counts_against_the_total_budget() {
        let policy = RetryPolicy::default();
        // A stalled attempt took the whole idle timeout, longer than the budget: still retried.
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(301))
            .unwrap_or_else(Instant::now);
        assert!(
            plan_retry(
                &policy,
                None,
                1,
                (long_ago, Duration::ZERO),
                LlmError::Timeout
            )
            .is_ok()
        );
        // Waiting that would pass the budget is not.
        assert!(matches!(
            plan_retry(
                &policy,
                None,
                2,
                (long_ago, Duration::from_secs(119)),
                LlmError::Timeout
            ),
            Err(LlmError::RetriesExhausted { attempts: 2, .. })
        ));
    }

    #[test]
    fn backoff_is_jittered() {
        let policy = RetryPolicy::default();
        let waits: std::collections::HashSet<_> =
            (0..20).map(|_| policy.backoff(2, None)).collect();
        assert!(waits.len() > 1, "{waits:?}");
    }

    #[tokio::test]
    async fn an_idle_body_fails_and_ends() {
        let stalled = futures::stream::iter([Ok::<_, std::io::Error>(vec![1u8])])
            .chain(futures::stream::pending());
        let items: Vec<_> = idle_guard(stalled, Duration::from_millis(50))
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(BodyError::Idle(_))));
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
