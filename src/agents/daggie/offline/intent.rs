//! What the assignment asks, read before any module is looked at: whether to deploy (negations
//! included), which directories it names, and the argument values it gives.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::Planner;
use super::matching::mentions;
use crate::agents::daggie::project::{Project, StackDirectory};
use crate::agents::daggie::quote_list;
use crate::agents::daggie::words;
use crate::scan::{Argument, Function};

/// Words in an assignment that ask for deployments (or refuse them, when negated).
pub(super) const DEPLOY_REQUEST_WORDS: &[&str] = &[
    "deploy",
    "deploys",
    "deploying",
    "deployed",
    "deployment",
    "deployments",
    "publish",
    "publishing",
    "release",
    "releases",
];

/// Words that negate a sentence's request.
pub(super) const NEGATIONS: &[&str] = &["not", "no", "never", "without", "skip", "nothing", "dont"];

/// Phrases that limit the set-up to checks.
pub(super) const CHECKS_ONLY: &[&str] = &[
    "only checks",
    "checks only",
    "just checks",
    "only the checks",
    "only run checks",
    "only run the checks",
];

/// Phrases that ask for every service of the project.
pub(super) const EVERY_SERVICE: &[&str] = &[
    "every service",
    "all services",
    "each service",
    "all the services",
    "every directory",
    "all directories",
    "every app",
    "all apps",
];

/// What the assignment asks for deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DeployIntent {
    /// A sentence asks for deployments.
    Requested,
    /// A sentence refuses them ("Do not deploy anything", "only checks").
    Refused(String),
    /// Nothing is said.
    NotAsked,
}

/// The assignment's decisions, parsed before any module is looked at.
#[derive(Debug, Clone)]
pub(super) struct Intent {
    pub(super) deploy: DeployIntent,
    /// Directories a negated deploy sentence names ("do not deploy the frontend").
    pub(super) not_deployed: BTreeSet<String>,
    /// Directories the assignment names.
    pub(super) named_directories: BTreeSet<String>,
    /// "every service", "all services".
    pub(super) every_service: bool,
}

impl Intent {
    pub(super) fn parse(assignment: &str, project: &Project) -> Intent {
        let lower = assignment.to_lowercase();
        let mut requested = false;
        let mut refused: Option<String> = None;
        let mut not_deployed = BTreeSet::new();
        for sentence in lower.split(['.', '\n', ';', '!']) {
            let sentence = sentence.trim();
            let found = words(&sentence.replace("n't", " not"));
            let asks = DEPLOY_REQUEST_WORDS
                .iter()
                .any(|word| found.contains(*word));
            let negated = NEGATIONS.iter().any(|word| found.contains(*word));
            if CHECKS_ONLY.iter().any(|phrase| sentence.contains(phrase)) && !asks {
                refused.get_or_insert_with(|| sentence.to_string());
                continue;
            }
            if !asks {
                continue;
            }
            if negated {
                let named: Vec<&StackDirectory> = project
                    .stacks
                    .iter()
                    .filter(|directory| {
                        !directory.directory.is_empty()
                            && (mentions(sentence, &directory.directory)
                                || mentions(sentence, &directory.label().to_lowercase()))
                    })
                    .collect();
                if named.is_empty() {
                    refused.get_or_insert_with(|| sentence.to_string());
                } else {
                    not_deployed.extend(named.iter().map(|directory| directory.directory.clone()));
                }
            } else {
                requested = true;
            }
        }
        let deploy = match (refused, requested) {
            (Some(sentence), _) => DeployIntent::Refused(sentence),
            (None, true) => DeployIntent::Requested,
            (None, false) => DeployIntent::NotAsked,
        };
        let named_directories = project
            .stacks
            .iter()
            .filter(|directory| {
                !directory.directory.is_empty()
                    && (mentions(&lower, &directory.directory)
                        || mentions(&lower, &directory.label().to_lowercase()))
            })
            .map(|directory| directory.directory.clone())
            .collect();
        Intent {
            deploy,
            not_deployed,
            named_directories,
            every_service: EVERY_SERVICE.iter().any(|phrase| lower.contains(phrase)),
        }
    }

    pub(super) fn wants_deploy(&self) -> bool {
        self.deploy == DeployIntent::Requested
    }
}

impl<'a> Planner<'a> {
    pub(super) fn note_intent(&mut self) {
        let deploy = match &self.intent.deploy {
            DeployIntent::Requested => "deploy: as the assignment asks".to_string(),
            DeployIntent::Refused(sentence) => {
                format!("deploy: nothing (the assignment says \"{sentence}\")")
            }
            DeployIntent::NotAsked => {
                "deploy: nothing (the assignment asks for no deployment)".to_string()
            }
        };
        self.reasons.push(deploy.clone());
        self.decisions.push(deploy);
        if !self.intent.not_deployed.is_empty() {
            let text = format!(
                "not deployed: {}",
                quote_list(self.intent.not_deployed.iter().map(String::as_str))
            );
            self.reasons.push(text.clone());
            self.decisions.push(text);
        }
        let services = if self.intent.every_service {
            "services: every directory of the project".to_string()
        } else if self.intent.named_directories.is_empty() {
            "services: the directories each module fits best".to_string()
        } else {
            format!(
                "services: {}",
                quote_list(self.intent.named_directories.iter().map(String::as_str))
            )
        };
        self.reasons.push(services.clone());
        self.decisions.push(services);
    }
}

/// Values an assignment gives for arguments: `key: value`, `key = value`, `--key value`,
/// `--key=value`, optionally scoped to a function (`cloud-run.service: api`). Keys are compared
/// in kebab-case, so `Project ID`, `project_id` and `project-id` are the same key.
#[derive(Debug, Default)]
pub(super) struct AssignmentValues {
    values: BTreeMap<String, String>,
}

impl AssignmentValues {
    pub(super) fn parse(assignment: &str) -> Self {
        let flag = Regex::new(r"--([A-Za-z][A-Za-z0-9_.-]*)(?:=|\s+)(\S+)").ok();
        let pair = Regex::new(
            r"^\s*(?:[-*+>]\s+)?`?([A-Za-z][A-Za-z0-9 _.-]{0,40}?)`?\s*[:=]\s*(.+?)\s*$",
        )
        .ok();
        let mut values = BTreeMap::new();
        for line in assignment.lines() {
            if let Some(pair) = &pair
                && let Some(captures) = pair.captures(line)
                && let Some(value) = clean_value(&captures[2])
            {
                values.insert(normalize_key(&captures[1]), value);
            }
            if let Some(flag) = &flag {
                for captures in flag.captures_iter(line) {
                    if let Some(value) = clean_value(&captures[2]) {
                        values.insert(normalize_key(&captures[1]), value);
                    }
                }
            }
        }
        AssignmentValues { values }
    }

    pub(super) fn lookup(&self, function: &Function, argument: &Argument) -> Option<String> {
        let names = [
            normalize_key(&argument.cli_name),
            normalize_key(&argument.name),
        ];
        let scopes = [
            normalize_key(&function.cli_name),
            normalize_key(&function.name),
        ];
        for scope in &scopes {
            for name in &names {
                if let Some(value) = self.values.get(&format!("{scope}.{name}")) {
                    return Some(value.clone());
                }
            }
        }
        names.iter().find_map(|name| self.values.get(name).cloned())
    }
}

pub(super) fn normalize_key(key: &str) -> String {
    let mut normalized = String::new();
    let mut previous_lower = false;
    for character in key.trim().chars() {
        if character.is_uppercase() && previous_lower {
            normalized.push('-');
        }
        if character.is_alphanumeric() || character == '.' {
            normalized.push(character.to_ascii_lowercase());
        } else if !normalized.ends_with('-') {
            normalized.push('-');
        }
        previous_lower = character.is_lowercase();
    }
    normalized.trim_matches('-').to_string()
}

/// One token, with surrounding backticks or quotes removed; sentences are not values.
pub(super) fn clean_value(raw: &str) -> Option<String> {
    let value = raw
        .trim()
        .trim_end_matches([',', ';'])
        .trim_matches(|c| c == '`' || c == '"' || c == '\'');
    if value.starts_with("${{") && value.ends_with("}}") {
        return Some(value.to_string());
    }
    if value.is_empty() || value.contains(char::is_whitespace) || value.ends_with(':') {
        return None;
    }
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_values_from_pairs_and_flags() {
        let values = AssignmentValues::parse(
            "Deploy on main.\n\
             - Region: europe-west1\n\
             - `cloud-run.service`: `orders-api`\n\
             - Project ID = shop-prod\n\
             Note: this is a sentence, not a value\n\
             Run it with --environment production and --min-instances=1\n",
        );
        assert_eq!(values.values.get("region").unwrap(), "europe-west1");
        assert_eq!(
            values.values.get("cloud-run.service").unwrap(),
            "orders-api"
        );
        assert_eq!(values.values.get("project-id").unwrap(), "shop-prod");
        assert_eq!(values.values.get("environment").unwrap(), "production");
        assert_eq!(values.values.get("min-instances").unwrap(), "1");
        assert!(!values.values.contains_key("note"));
    }
}
