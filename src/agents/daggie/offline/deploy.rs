//! Deploy steps: which functions deploy, which of them the assignment asks for, the service
//! each is about, and where its arguments come from (the assignment, repository variables and
//! secrets, GitHub OIDC).

use std::collections::{BTreeMap, BTreeSet};

use super::Planner;
use super::matching::{function_words, mentions, named_words};
use super::toolchains::display_directory;
use crate::agents::daggie::catalog::{LibraryModule, is_check};
use crate::agents::daggie::plan::{DeployStep, SECRET_PROVIDERS};
use crate::agents::daggie::project::StackDirectory;
use crate::agents::daggie::quote_list;
use crate::agents::daggie::words;
use crate::scan::{Argument, Function};

/// Words that say a function deploys.
pub(super) const DEPLOY_WORDS: &[&str] = &[
    "deploy",
    "deploys",
    "deployment",
    "publish",
    "publishes",
    "release",
    "releases",
    "rollout",
    "hosting",
];

/// Words in a deploy function's signature that name where it deploys to, or with what.
pub(super) const TARGET_WORDS: &[&str] = &[
    "project",
    "region",
    "zone",
    "location",
    "service",
    "registry",
    "repository",
    "cluster",
    "namespace",
    "site",
    "bucket",
    "host",
    "environment",
    "channel",
    "target",
    "account",
    "credentials",
    "token",
    "kubeconfig",
];

impl<'a> Planner<'a> {
    /// The deploy functions the assignment asks for, with their modules. Nothing when it asks
    /// for no deployment. Functions it names win; without any named, the dedicated deploy
    /// modules' functions are used (a stack module's `publish` only when asked by name).
    pub(super) fn deploy_candidates(
        &mut self,
        fits: &[(&'a LibraryModule, Vec<&'a StackDirectory>)],
    ) -> Vec<(&'a LibraryModule, &'a Function)> {
        let all: Vec<(&'a LibraryModule, &'a Function, bool)> = fits
            .iter()
            .flat_map(|(library, directories)| {
                let stack_module = !directories.is_empty();
                deploy_functions(library).map(move |function| (*library, function, stack_module))
            })
            .collect();
        if !self.intent.wants_deploy() {
            return Vec::new();
        }
        let named: Vec<(&'a LibraryModule, &'a Function)> = all
            .iter()
            .filter(|(_, function, _)| {
                // A function called `deploy` is not named by "deploy the backend".
                !["deploy", "deploys", "deployment"].contains(&function.cli_name.as_str())
                    && (mentions(&self.assignment, &function.cli_name)
                        || mentions(&self.assignment, &function.cli_name.replace('-', " ")))
            })
            .map(|(library, function, _)| (*library, *function))
            .collect();
        if !named.is_empty() {
            for (library, function, _) in &all {
                if !named
                    .iter()
                    .any(|(_, other)| std::ptr::eq(*other, *function))
                {
                    self.reasons.push(format!(
                        "`{} {}` deploys, but the assignment does not ask for it: not called",
                        library.module.name, function.cli_name
                    ));
                }
            }
            return named;
        }
        let mut chosen = Vec::new();
        for (library, function, stack_module) in all {
            if stack_module {
                self.reasons.push(format!(
                    "`{} {}` deploys, but the assignment does not name it: not called",
                    library.module.name, function.cli_name
                ));
            } else {
                chosen.push((library, function));
            }
        }
        chosen
    }

    /// One repository variable serves every step that has an argument of that name (a shared
    /// project id is the common case); say so, since some (a service name) may need to differ.
    pub(super) fn note_shared_variables(&mut self, deploy: &[DeployStep]) {
        let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for step in deploy {
            for value in step.args.values() {
                if let Some(name) = value
                    .strip_prefix("${{ vars.")
                    .and_then(|rest| rest.strip_suffix(" }}"))
                {
                    users.entry(name).or_default().push(&step.function);
                }
            }
        }
        for (name, functions) in users {
            if functions.len() > 1 {
                self.reasons.push(format!(
                    "the repository variable `{name}` serves {}; to set them apart, give \
                     `<function>.<argument>: value` in the assignment",
                    quote_list(functions.into_iter())
                ));
            }
        }
    }

    /// The step for one deploy function the assignment asks for, at the service it is about;
    /// none when it names no service or the assignment refuses to deploy that one.
    pub(super) fn deploy_step(
        &mut self,
        library: &LibraryModule,
        function: &Function,
        toolchain: String,
    ) -> Option<DeployStep> {
        let text = function_words(function);
        let Some(directory) = self.best_directory(&text, Some(function)) else {
            self.reasons.push(format!(
                "deploy function `{} {}` names no service of the project: not called",
                library.module.name, function.cli_name
            ));
            return None;
        };
        if self
            .intent
            .not_deployed
            .contains(&directory.directory.directory)
        {
            self.reasons.push(format!(
                "deploy `{} {}` → `{}`: the assignment says not to deploy it, not called",
                library.module.name,
                function.cli_name,
                display_directory(directory.directory)
            ));
            return None;
        }
        self.reasons.push(format!(
            "deploy `{} {}` → `{}`: it mentions {}",
            library.module.name,
            function.cli_name,
            display_directory(directory.directory),
            directory.evidence.join(", ")
        ));
        self.decisions.push(format!(
            "deploy `{}` with `{toolchain} {}`",
            display_directory(directory.directory),
            function.cli_name
        ));
        let args = self.deploy_arguments(function, directory.directory);
        Some(DeployStep {
            toolchain,
            function: function.cli_name.clone(),
            args,
        })
    }

    pub(super) fn deploy_arguments(
        &mut self,
        function: &Function,
        directory: &StackDirectory,
    ) -> BTreeMap<String, String> {
        let has_oidc = function.args.iter().any(is_oidc);
        let mut args = BTreeMap::new();
        for argument in &function.args {
            let label = format!("`{} --{}`", function.cli_name, argument.cli_name);
            if let Some(value) = self.values.lookup(function, argument) {
                let secret_literal = argument.r#type == "Secret"
                    && !SECRET_PROVIDERS
                        .iter()
                        .any(|prefix| value.starts_with(prefix));
                if secret_literal {
                    // The workflow is committed: a secret written into it would leak.
                    self.reasons.push(format!(
                        "{label}: the assignment's value is not used, a Secret comes from a \
                         repository secret"
                    ));
                } else {
                    self.reasons
                        .push(format!("{label} = `{value}`, from the assignment"));
                    args.insert(argument.cli_name.clone(), value);
                    continue;
                }
            }
            let value = match argument.r#type.as_str() {
                "Directory" if argument.is_required() || argument.name == "source" => {
                    Some((directory.call_path(), "the service's directory".to_string()))
                }
                "Secret" if is_oidc(argument) => {
                    let variable = if words(&argument.name).contains("url")
                        || argument.name.to_lowercase().ends_with("url")
                    {
                        "ACTIONS_ID_TOKEN_REQUEST_URL"
                    } else {
                        "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
                    };
                    Some((
                        format!("env:{variable}"),
                        "GitHub OIDC (the deploy job has `id-token: write`)".to_string(),
                    ))
                }
                "Secret" if argument.is_required() || (!has_oidc && is_credential(argument)) => {
                    let name = environment_name(&argument.name);
                    Some((
                        format!("env:{name}"),
                        format!("the repository secret `{name}`"),
                    ))
                }
                "Directory" | "File" | "Secret" | "Container" | "Service" | "Socket"
                | "CacheVolume" => None,
                _ if argument.is_required() => {
                    let name = environment_name(&argument.name);
                    Some((
                        format!("${{{{ vars.{name} }}}}"),
                        format!("the repository variable `{name}`"),
                    ))
                }
                _ => None,
            };
            if let Some((value, why)) = value {
                self.reasons.push(format!("{label} = `{value}`: {why}"));
                args.insert(argument.cli_name.clone(), value);
            }
        }
        args
    }
}

/// A function is a deploy step when its name or doc says it deploys and its signature has a
/// target to deploy to (a project, region, service, registry, credentials…): a `publish`
/// without anywhere to publish to is not one, nor is anything a check.
pub(super) fn deploy_functions(library: &LibraryModule) -> impl Iterator<Item = &Function> {
    library
        .other_functions()
        .filter(|function| !is_check(function) && is_deploy(function))
}

pub(super) fn is_deploy(function: &Function) -> bool {
    let says_so = named_words(&function.name, function.doc.as_deref())
        .iter()
        .any(|word| DEPLOY_WORDS.contains(&word.as_str()));
    let has_target = function.args.iter().any(|argument| {
        argument.r#type == "Secret"
            || argument_words(argument)
                .iter()
                .any(|word| TARGET_WORDS.contains(&word.as_str()))
    });
    says_so && has_target
}

/// The words of an argument's name and doc.
fn argument_words(argument: &Argument) -> BTreeSet<String> {
    named_words(&argument.name, argument.doc.as_deref())
}

pub(super) fn is_oidc(argument: &Argument) -> bool {
    argument.r#type == "Secret"
        && (argument_words(argument).contains("oidc")
            || argument.name.to_lowercase().contains("oidc"))
}

pub(super) fn is_credential(argument: &Argument) -> bool {
    let found = argument_words(argument);
    [
        "credentials",
        "credential",
        "token",
        "key",
        "auth",
        "password",
    ]
    .iter()
    .any(|word| found.contains(*word))
}

/// `projectId`, `project_id`, `project-id` → `PROJECT_ID`.
pub fn environment_name(name: &str) -> String {
    let mut result = String::new();
    let mut previous_lower = false;
    for character in name.chars() {
        if character.is_uppercase() && previous_lower {
            result.push('_');
        }
        if character.is_alphanumeric() {
            result.push(character.to_ascii_uppercase());
        } else if !result.ends_with('_') {
            result.push('_');
        }
        previous_lower = character.is_lowercase() || character.is_ascii_digit();
    }
    result.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_upper_snake_case() {
        for (argument, variable) in [
            ("project", "PROJECT"),
            ("project_id", "PROJECT_ID"),
            ("serviceName", "SERVICE_NAME"),
            ("gcp-credentials", "GCP_CREDENTIALS"),
        ] {
            assert_eq!(environment_name(argument), variable);
        }
    }
}
