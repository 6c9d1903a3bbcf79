//! goose as a language pack for the shared `suggest-fix` machinery (monty's): GCP deployment
//! knowledge, and parsers for the failures a deploy job prints — Docker builds, hadolint,
//! `gcloud` and `firebase` errors.

use std::sync::LazyLock;

use regex::Regex;

use crate::agents::monty::packs::LanguagePack;
use crate::agents::monty::parsers::RawFailure;

pub static GOOSE: LanguagePack = LanguagePack {
    agent: "goose",
    display_name: "Goose",
    language: "Google Cloud deployment",
    context_file: "GOOSE.md",
    knowledge: include_str!("prompts/knowledge.md"),
    parsers: &[docker_build, hadolint, gcloud_error, firebase_error],
    check_commands: &["hadolint", "docker build"],
    install_commands: &[],
    source_extensions: &["yaml", "yml", "json", "toml", "dockerfile"],
    test_conventions: "Deployment configuration has no unit tests; check it by building the image (`docker build`) and linting the Dockerfile (`hadolint`).",
    test_frameworks: &[],
    default_build_command: "docker build .",
};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern)
        .unwrap_or_else(|_| Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!()))
}

static DOCKERFILE_AT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*(?:#\d+ )?((?:[\w./-]*/)?[\w.-]*Dockerfile[\w.-]*):(\d+)\s*$"));
static BUILD_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^\s*(?:#\d+ )?ERROR: failed to (?:solve|build|compute cache key)[^:]*: (.+)$")
});
static HADOLINT: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^((?:[\w./-]*/)?[\w.-]*Dockerfile[\w.-]*):(\d+) ((?:DL|SC)\d+) (\w+): (.+)$")
});
static GCLOUD_ERROR: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^ERROR: \((gcloud\.[\w.-]+)\) (.+)$"));
static FIREBASE_ERROR: LazyLock<Regex> = LazyLock::new(|| regex(r"^Error: (.*firebase\.json.*)$"));

/// BuildKit: `ERROR: failed to solve: …`, at the `Dockerfile:N` printed just before it.
pub fn docker_build(lines: &[&str]) -> Vec<RawFailure> {
    let mut failures = Vec::new();
    let mut at: Option<(String, u32)> = None;
    for line in lines {
        if let Some(found) = DOCKERFILE_AT.captures(line) {
            at = Some((found[1].to_owned(), found[2].parse().unwrap_or(0)));
        } else if let Some(found) = BUILD_ERROR.captures(line) {
            let (path, number) = match at.take() {
                Some((path, number)) => (Some(path), Some(number).filter(|n| *n > 0)),
                None => (None, None),
            };
            failures.push(RawFailure {
                path,
                line: number,
                ..RawFailure::new("docker", &found[1])
            });
        }
    }
    failures
}

/// `hadolint` default output: `Dockerfile:3 DL3007 warning: …`.
pub fn hadolint(lines: &[&str]) -> Vec<RawFailure> {
    lines
        .iter()
        .filter_map(|line| HADOLINT.captures(line.trim()))
        .map(|found| {
            let message = format!("{}: {}", &found[4], found[5].trim());
            RawFailure::at("hadolint", &found[1], found[2].parse().ok(), None, &message)
                .with_code(Some(found[3].to_owned()))
        })
        .collect()
}

/// `ERROR: (gcloud.run.deploy) …`: no file, the model finds the configuration behind it.
pub fn gcloud_error(lines: &[&str]) -> Vec<RawFailure> {
    lines
        .iter()
        .filter_map(|line| GCLOUD_ERROR.captures(line.trim()))
        .map(|found| RawFailure::new("gcloud", &found[2]).with_code(Some(found[1].to_owned())))
        .collect()
}

/// firebase-tools errors that name `firebase.json`.
pub fn firebase_error(lines: &[&str]) -> Vec<RawFailure> {
    lines
        .iter()
        .filter_map(|line| FIREBASE_ERROR.captures(line.trim()))
        .map(|found| RawFailure::at("firebase", "firebase.json", None, None, &found[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_hadolint_gcloud_and_firebase_failures() {
        let log = [
            "#8 [4/6] RUN npm ci",
            "Dockerfile:7",
            "--------------------",
            "   7 | >>> RUN npm ci",
            "ERROR: failed to solve: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 1",
            "Dockerfile:1 DL3007 warning: Using latest is prone to errors",
            "ERROR: (gcloud.run.deploy) Revision 'api-00002' is not ready and cannot serve traffic.",
            "Error: Cannot understand what targets to deploy/serve. No targets in firebase.json match '--only hosting'.",
        ];
        let build = docker_build(&log);
        assert_eq!(build.len(), 1);
        assert_eq!(build[0].path.as_deref(), Some("Dockerfile"));
        assert_eq!(build[0].line, Some(7));
        let lint = hadolint(&log);
        assert_eq!(lint[0].code.as_deref(), Some("DL3007"));
        assert_eq!(lint[0].line, Some(1));
        let gcloud = gcloud_error(&log);
        assert_eq!(gcloud[0].code.as_deref(), Some("gcloud.run.deploy"));
        assert!(gcloud[0].path.is_none());
        assert_eq!(
            firebase_error(&log)[0].path.as_deref(),
            Some("firebase.json")
        );
    }
}
