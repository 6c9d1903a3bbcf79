//! The one redactor: everything that leaves the process (logs, events, prompts built from tool
//! output, PR comments, JSON output) passes through [`redact`].
//!
//! Two passes: first the literal value of every secret the process loaded (registered with
//! [`register_secret`] by whoever reads a key from the environment or a config file), matched
//! with one Aho-Corasick automaton; then regular expressions for the well-known token shapes,
//! so that a secret we never loaded (one planted in a file, printed by a test run, returned by
//! an MCP server) is still caught.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

/// What a redacted secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Literal secrets shorter than this are not registered: masking every `abc` in a log would make
/// it unreadable and protects nothing (no real key is that short).
const MIN_SECRET_LEN: usize = 8;

struct Literals {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

static LITERALS: LazyLock<RwLock<Literals>> = LazyLock::new(|| {
    RwLock::new(Literals {
        values: Vec::new(),
        matcher: None,
    })
});

/// Token shapes, most specific first. Each regex matches the whole token.
static SHAPES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // PEM private keys and certificates, whole block.
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
        // Anthropic, then OpenAI-style (`sk-`, `sk-proj-`, …) keys.
        r"sk-ant-[A-Za-z0-9_\-]{16,}",
        r"\bsk-[A-Za-z0-9_\-]{16,}",
        // GitHub: classic, fine-grained, app installation, OAuth, user-to-server, refresh.
        r"\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"\bgh[pousr]_[A-Za-z0-9]{20,}",
        // Google API keys.
        r"\bAIza[0-9A-Za-z_\-]{30,}",
        // Slack tokens.
        r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
        // AWS access key ids.
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        // JSON Web Tokens: three base64url segments, the first two starting with `{"` encoded.
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ]
    .iter()
    .filter_map(|pattern| Regex::new(pattern).ok())
    .collect()
});

/// Remember a secret's literal value so that it is masked wherever it appears later.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    let Ok(mut literals) = LITERALS.write() else {
        return;
    };
    if literals.values.iter().any(|known| known == value) {
        return;
    }
    literals.values.push(value.to_owned());
    announce_mask(value);
    // Longest first, so that a secret containing another is masked whole.
    literals
        .values
        .sort_by_key(|known| std::cmp::Reverse(known.len()));
    literals.matcher = AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&literals.values)
        .ok();
}

/// In GitHub Actions, ask the runner to mask the value in the job log as well (`::add-mask::`,
/// one line at a time), so that a key loaded from `.env` or `agentci.toml` stays hidden even in
/// output that does not pass through this redactor (a child process, a tool's own log).
fn announce_mask(value: &str) {
    if !std::env::var("GITHUB_ACTIONS").is_ok_and(|flag| flag == "true") {
        return;
    }
    for line in value
        .lines()
        .map(str::trim)
        .filter(|line| line.len() >= MIN_SECRET_LEN)
    {
        eprintln!(
            "::add-mask::{}",
            line.replace('%', "%25").replace('\r', "%0D")
        );
    }
}

/// Mask every registered secret and every known token shape in `text`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut output = Cow::Borrowed(text);
    if let Ok(literals) = LITERALS.read()
        && let Some(matcher) = &literals.matcher
        && matcher.is_match(output.as_ref())
    {
        let masks = vec![MASK; literals.values.len()];
        output = Cow::Owned(matcher.replace_all(output.as_ref(), &masks));
    }
    for shape in SHAPES.iter() {
        if shape.is_match(output.as_ref()) {
            output = Cow::Owned(shape.replace_all(output.as_ref(), MASK).into_owned());
        }
    }
    output
}

/// Redact every string inside a JSON value, keys included.
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(redact(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (redact(key).into_owned(), redact_json(item)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A `Write` that redacts what passes through it; the logging layer writes through one, so no log
/// line can carry a secret. Each `write` call of the formatter is one whole event line.
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl RedactingWriter<io::Stderr> {
    pub fn stderr() -> Self {
        Self {
            inner: io::stderr(),
        }
    }
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_are_masked() {
        let planted = [
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
            "sk-proj-abcdefghijklmnopqrstuvwx",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
            "xoxb-1234567890-abcdefghij",
            "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ];
        for secret in planted {
            let line = format!("token={secret} end");
            let redacted = redact(&line);
            assert!(!redacted.contains(secret), "{secret} leaked: {redacted}");
            assert!(redacted.contains(MASK), "{redacted}");
            assert!(redacted.ends_with(" end"), "{redacted}");
        }
    }

    #[test]
    fn pem_blocks_are_masked_whole() {
        let pem =
            "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(redact(pem), format!("a\n{MASK}\nb"));
    }

    #[test]
    fn registered_literals_are_masked_and_short_ones_ignored() {
        register_secret("my-very-private-value-42");
        register_secret("abc");
        let text = "x my-very-private-value-42 y abc";
        assert_eq!(redact(text), format!("x {MASK} y abc"));
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "nothing secret here: skeleton, sketch, task-1";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_are_redacted() {
        register_secret("literal-json-secret-9");
        let value = serde_json::json!({"a": ["literal-json-secret-9", 3], "b": {"c": "ok"}});
        let redacted = redact_json(&value);
        assert_eq!(
            redacted,
            serde_json::json!({"a": [MASK, 3], "b": {"c": "ok"}})
        );
    }

    #[test]
    fn writer_redacts_what_passes_through() {
        let mut buffer = Vec::new();
        {
            let mut writer = RedactingWriter::new(&mut buffer);
            writer
                .write_all(b"key ghp_abcdefghijklmnopqrstuvwxyz0123456789\n")
                .ok();
        }
        assert_eq!(String::from_utf8_lossy(&buffer), format!("key {MASK}\n"));
    }
}
