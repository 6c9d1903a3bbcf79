//! Failure classes of a provider call, how an HTTP error answer maps to one, and which of them
//! are worth retrying.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error(
        "the provider rejected the credentials ({status}): {message}; check the API key variable"
    )]
    Auth { status: u16, message: String },
    #[error("the provider account has no quota or credit left: {message}")]
    Quota { message: String },
    #[error("rate limited by the provider: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("the provider is overloaded or failing ({status}): {message}")]
    Overloaded {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("could not reach the provider: {0}")]
    Transport(String),
    #[error("the provider sent nothing within the idle timeout")]
    Timeout,
    #[error("the prompt is longer than the model's context window: {0}")]
    ContextTooLong(String),
    #[error("the provider rejected the request ({status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("could not decode the provider's answer: {0}")]
    Decode(String),
    #[error("the response stream failed: {0}")]
    Stream(String),
    #[error("provider configuration: {0}")]
    Config(String),
    #[error("gave up after {attempts} attempts over {elapsed:?}: {last}")]
    RetriesExhausted {
        attempts: u32,
        elapsed: Duration,
        last: Box<LlmError>,
    },
}

impl LlmError {
    /// Rate limits, overload/5xx, transport failures, idle timeouts and streams that broke off
    /// are retried; auth, quota, bad requests, context overflows and undecodable answers never
    /// are.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Overloaded { .. }
                | LlmError::Transport(_)
                | LlmError::Timeout
                | LlmError::Stream(_)
        )
    }

    /// How long the provider asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. }
            | LlmError::Overloaded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short name of the class, for events and metrics.
    pub fn class(&self) -> &'static str {
        match self {
            LlmError::Auth { .. } => "auth",
            LlmError::Quota { .. } => "quota",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded { .. } => "overloaded",
            LlmError::Transport(_) => "transport",
            LlmError::Timeout => "timeout",
            LlmError::ContextTooLong(_) => "context_too_long",
            LlmError::BadRequest { .. } => "bad_request",
            LlmError::Decode(_) => "decode",
            LlmError::Stream(_) => "stream",
            LlmError::Config(_) => "config",
            LlmError::RetriesExhausted { .. } => "retries_exhausted",
        }
    }

    pub fn from_reqwest(error: &reqwest::Error) -> LlmError {
        if error.is_timeout() {
            LlmError::Timeout
        } else if error.is_decode() {
            LlmError::Decode(error.to_string())
        } else {
            LlmError::Transport(crate::redact::redact(&error.to_string()).into_owned())
        }
    }
}

/// Classify an HTTP error answer. `body` is the raw body; the message is pulled out of the usual
/// `{"error": {"message": …}}` / `{"error": "…"}` / `{"message": …}` shapes every provider uses.
pub fn classify_http(status: StatusCode, headers: &HeaderMap, body: &str) -> LlmError {
    let message = crate::redact::redact(&error_message(body)).into_owned();
    let lower = body.to_ascii_lowercase();
    let code = status.as_u16();
    let retry_after = retry_after(headers).or_else(|| retry_delay_in_body(body));
    let context_overflow = [
        "context length",
        "context_length",
        "context window",
        "prompt is too long",
        "maximum context",
        "too many tokens",
        "input is too long",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    match code {
        401 | 403 => LlmError::Auth {
            status: code,
            message,
        },
        402 => LlmError::Quota { message },
        429 if lower.contains("insufficient_quota")
            || lower.contains("quota exceeded") && !lower.contains("per minute")
            || lower.contains("credit balance") =>
        {
            LlmError::Quota { message }
        }
        429 => LlmError::RateLimited {
            message,
            retry_after,
        },
        413 => LlmError::ContextTooLong(message),
        400 | 422 if context_overflow => LlmError::ContextTooLong(message),
        408 => LlmError::Overloaded {
            status: code,
            message,
            retry_after,
        },
        500..=599 => LlmError::Overloaded {
            status: code,
            message,
            retry_after,
        },
        _ => LlmError::BadRequest {
            status: code,
            message,
        },
    }
}

/// The human part of an error body, or the body itself (shortened) when it is not JSON.
pub fn error_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let candidates = [
            value.pointer("/error/message"),
            value.pointer("/error"),
            value.pointer("/message"),
            value.pointer("/0/error/message"),
        ];
        for candidate in candidates.into_iter().flatten() {
            if let Some(text) = candidate.as_str() {
                return text.to_owned();
            }
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "(empty body)".into();
    }
    trimmed.chars().take(500).collect()
}

/// The wait a provider asks for: `retry-after-ms`, `retry-after` (seconds or an HTTP date), or
/// the rate-limit reset headers of Anthropic (RFC 3339 instants) and OpenAI (`6m0s`-style).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|text| text.trim().parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0));
    }
    if let Some(text) = header("retry-after") {
        if let Ok(seconds) = text.trim().parse::<f64>() {
            return Some(Duration::from_secs_f64(seconds.max(0.0)));
        }
        if let Ok(when) = chrono::DateTime::parse_from_rfc2822(text.trim()) {
            return until(when.with_timezone(&chrono::Utc));
        }
    }
    for name in [
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-output-tokens-reset",
    ] {
        if let Some(when) =
            header(name).and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        {
            return until(when.with_timezone(&chrono::Utc));
        }
    }
    for name in ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"] {
        if let Some(wait) =
            header(name).and_then(|text| humantime::parse_duration(text.trim()).ok())
        {
            return Some(wait);
        }
    }
    None
}

/// The wait Google APIs put in the error body instead of a header: a `google.rpc.RetryInfo`
/// detail whose `retryDelay` is a protobuf duration such as `"37s"` or `"0.5s"`.
pub fn retry_delay_in_body(body: &str) -> Option<Duration> {
    let value = serde_json::from_str::<serde_json::Value>(body).ok()?;
    let error = value.get("error").or_else(|| value.pointer("/0/error"))?;
    error
        .get("details")?
        .as_array()?
        .iter()
        .filter_map(|detail| detail.get("retryDelay")?.as_str())
        .find_map(|delay| delay.trim().strip_suffix('s')?.parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64)
}

fn until(when: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(HeaderName::from_static(name), value);
            }
        }
        map
    }

    #[test]
    fn statuses_map_to_classes() {
        let none = HeaderMap::new();
        let body = r#"{"error":{"message":"nope"}}"#;
        assert!(matches!(
            classify_http(StatusCode::UNAUTHORIZED, &none, body),
            LlmError::Auth { .. }
        ));
        assert!(matches!(
            classify_http(StatusCode::TOO_MANY_REQUESTS, &headers(&[("retry-after", "7")]), body),
            LlmError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(7)
        ));
        let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}"#;
        assert!(matches!(
            classify_http(StatusCode::TOO_MANY_REQUESTS, &none, quota),
            LlmError::Quota { .. }
        ));
        assert!(matches!(
            classify_http(
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                &none,
                body
            ),
            LlmError::Overloaded { status: 529, .. }
        ));
        let long = r#"{"error":{"message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#;
        assert!(matches!(
            classify_http(StatusCode::BAD_REQUEST, &none, long),
            LlmError::ContextTooLong(_)
        ));
        assert!(matches!(
            classify_http(StatusCode::BAD_REQUEST, &none, body),
            LlmError::BadRequest { .. }
        ));
    }

    #[test]
    fn messages_come_out_of_common_shapes() {
        assert_eq!(error_message(r#"{"error":{"message":"a"}}"#), "a");
        assert_eq!(error_message(r#"{"error":"b"}"#), "b");
        assert_eq!(error_message(r#"{"message":"c"}"#), "c");
        assert_eq!(error_message(r#"[{"error":{"message":"d"}}]"#), "d");
        assert_eq!(error_message("plain"), "plain");
        assert_eq!(error_message(""), "(empty body)");
    }

    #[test]
    fn retry_after_reads_every_header_form() {
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "1500")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset-requests", "6m0s")])),
            Some(Duration::from_secs(360))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn google_retry_delay_in_the_body_is_honoured() {
        let body = r#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37.5s"}]}}"#;
        assert_eq!(
            retry_delay_in_body(body),
            Some(Duration::from_millis(37_500))
        );
        assert!(matches!(
            classify_http(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body),
            LlmError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_millis(37_500)
        ));
        assert_eq!(retry_delay_in_body(r#"{"error":{"message":"x"}}"#), None);
        assert_eq!(retry_delay_in_body("not json"), None);
    }

    #[test]
    fn only_transient_classes_retry() {
        assert!(LlmError::Timeout.is_retryable());
        assert!(LlmError::Transport("x".into()).is_retryable());
        assert!(
            !LlmError::Auth {
                status: 401,
                message: String::new()
            }
            .is_retryable()
        );
        assert!(
            !LlmError::Quota {
                message: String::new()
            }
            .is_retryable()
        );
        assert!(
            !LlmError::BadRequest {
                status: 400,
                message: String::new()
            }
            .is_retryable()
        );
    }
}
