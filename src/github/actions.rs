//! GitHub Actions workflow commands and files: step outputs (`$GITHUB_OUTPUT`), the job summary
//! (`$GITHUB_STEP_SUMMARY`), `::error`/`::warning` annotations. Everything
//! written passes through the redactor.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::client::{EnvSource, non_empty};

/// The files the runner gave this step; either may be absent (outside Actions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionsFiles {
    pub output: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
}

impl ActionsFiles {
    /// `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.
    pub fn from_env(env: &dyn EnvSource) -> Self {
        Self {
            output: non_empty(env, "GITHUB_OUTPUT").map(PathBuf::from),
            step_summary: non_empty(env, "GITHUB_STEP_SUMMARY").map(PathBuf::from),
        }
    }

    /// Append `key=value` (or the heredoc form for a multi-line value) to the output file.
    /// Returns false when there is no output file (not running in Actions).
    pub fn set_output(&self, key: &str, value: &str) -> std::io::Result<bool> {
        let Some(path) = &self.output else {
            return Ok(false);
        };
        append(path, &output_entry(key, &crate::redact::redact(value))?)?;
        Ok(true)
    }

    /// Append Markdown to the job summary. Returns false when there is no summary file.
    pub fn append_summary(&self, markdown: &str) -> std::io::Result<bool> {
        let Some(path) = &self.step_summary else {
            return Ok(false);
        };
        let mut text = crate::redact::redact(markdown).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        append(path, &text)?;
        Ok(true)
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// One output entry. Single-line values use `key=value`; anything with a line break uses
/// `key<<DELIMITER` with a random delimiter that does not occur in the value, so a value cannot
/// end the block early and inject other outputs.
pub fn output_entry(key: &str, value: &str) -> std::io::Result<String> {
    if key.is_empty() || key.contains(['=', '\n', '\r']) || key.contains("<<") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{key}` is not a valid output name"),
        ));
    }
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{key}={value}\n"));
    }
    let mut delimiter = random_delimiter();
    while value.contains(&delimiter) {
        delimiter = random_delimiter();
    }
    Ok(format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"))
}

fn random_delimiter() -> String {
    let suffix: String = (0..20).map(|_| fastrand::alphanumeric()).collect();
    format!("ghadelimiter_{suffix}")
}

/// True when running as a GitHub Actions step (`GITHUB_ACTIONS=true`).
pub fn in_actions(env: &dyn EnvSource) -> bool {
    env.var("GITHUB_ACTIONS")
        .is_some_and(|value| value.trim() == "true")
}

/// What one command hands the runner when it ends: step outputs, a job summary and annotations.
/// Built by each command from its typed result; written by [`StepReport::publish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub outputs: Vec<(String, String)>,
    pub summary: String,
    /// Whole workflow-command lines (see [`annotation`]).
    pub annotations: Vec<String>,
}

impl StepReport {
    pub fn output(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.outputs.push((key.to_owned(), value.into()));
        self
    }

    /// Under `GITHUB_ACTIONS=true`: append the outputs to `$GITHUB_OUTPUT`, the summary to
    /// `$GITHUB_STEP_SUMMARY`, and print the annotations on stderr (the runner reads workflow
    /// commands there too; stdout stays the command's result). Outside Actions it does nothing.
    /// A file that cannot be written is a warning, not a failed command. Returns whether it ran.
    pub fn publish(&self, env: &dyn EnvSource) -> bool {
        if !in_actions(env) {
            return false;
        }
        let files = ActionsFiles::from_env(env);
        for (key, value) in &self.outputs {
            if let Err(error) = files.set_output(key, value) {
                tracing::warn!("cannot write the step output `{key}`: {error}");
            }
        }
        if !self.summary.trim().is_empty()
            && let Err(error) = files.append_summary(&self.summary)
        {
            tracing::warn!("cannot write the job summary: {error}");
        }
        for line in &self.annotations {
            eprintln!("{line}");
        }
        true
    }
}

/// Escape a command's message per the runner's rules.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a command property value (`file=…`, `title=…`), which also may not hold `:` or `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Notice,
}

impl Severity {
    fn command(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }
}

/// Where an annotation points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    pub title: Option<String>,
}

/// `::error file=…,line=…,endLine=…,title=…::message` (one line, redacted, escaped).
pub fn annotation(severity: Severity, location: &Location, message: &str) -> String {
    let mut properties = Vec::new();
    if let Some(file) = &location.file {
        properties.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = location.line {
        properties.push(format!("line={line}"));
    }
    if let Some(end_line) = location.end_line {
        properties.push(format!("endLine={end_line}"));
    }
    if let Some(title) = &location.title {
        properties.push(format!(
            "title={}",
            escape_property(&crate::redact::redact(title))
        ));
    }
    let message = escape_data(&crate::redact::redact(message));
    if properties.is_empty() {
        format!("::{}::{message}", severity.command())
    } else {
        format!(
            "::{} {}::{message}",
            severity.command(),
            properties.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_outputs_are_plain_and_multi_line_ones_use_a_fresh_delimiter() {
        assert_eq!(output_entry("count", "3").unwrap(), "count=3\n");
        let entry = output_entry("summary", "line one\nline two").unwrap();
        let mut lines = entry.lines();
        let header = lines.next().unwrap();
        let delimiter = header.strip_prefix("summary<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        assert_eq!(lines.next(), Some("line one"));
        assert_eq!(lines.next(), Some("line two"));
        assert_eq!(lines.next(), Some(delimiter));
        assert!(output_entry("bad=key", "x").is_err());
    }

    #[test]
    fn annotations_escape_data_and_properties() {
        let location = Location {
            file: Some("src/a,b:c.py".into()),
            line: Some(12),
            end_line: Some(14),
            title: Some("Type error".into()),
        };
        assert_eq!(
            annotation(Severity::Error, &location, "100% wrong\nsecond line"),
            "::error file=src/a%2Cb%3Ac.py,line=12,endLine=14,title=Type error::100%25 wrong%0Asecond line"
        );
        assert_eq!(
            annotation(Severity::Warning, &Location::default(), "plain"),
            "::warning::plain"
        );
    }

    #[test]
    fn a_step_report_writes_outputs_and_summary_only_in_actions() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let summary = dir.path().join("summary.md");
        let mut env = std::collections::HashMap::new();
        env.insert("GITHUB_OUTPUT".to_owned(), output.display().to_string());
        env.insert(
            "GITHUB_STEP_SUMMARY".to_owned(),
            summary.display().to_string(),
        );
        let mut report = StepReport {
            summary: "## done".into(),
            ..StepReport::default()
        };
        report.output("changed", "true").output("files", "a\nb");
        assert!(!report.publish(&env));
        assert!(!output.exists());
        env.insert("GITHUB_ACTIONS".to_owned(), "true".to_owned());
        assert!(report.publish(&env));
        let written = std::fs::read_to_string(&output).unwrap();
        assert!(
            written.starts_with("changed=true\nfiles<<ghadelimiter_"),
            "{written}"
        );
        assert_eq!(std::fs::read_to_string(&summary).unwrap(), "## done\n");
    }

    #[test]
    fn annotations_are_redacted() {
        let text = annotation(
            Severity::Error,
            &Location::default(),
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
        );
        assert!(!text.contains("ghp_"), "{text}");
    }
}
