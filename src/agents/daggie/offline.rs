//! The deterministic planner behind `daggie assist --offline`: pairs the project's stack
//! directories with catalog modules using only the catalog's own words (names, descriptions,
//! check names, docs), customizes every check's Directory arguments, derives deploy steps and fix
//! agents, and explains each choice.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::catalog::{Catalog, LibraryModule, is_check};
use super::plan::{
    AgentName, Customization, DeployStep, FixAgent, Plan, Proposal, SECRET_PROVIDERS, ToolchainPlan,
};
use super::project::{Project, Stack, StackDirectory};
use crate::scan::{Argument, Function};

/// Words that make a non-check function a deployment.
const DEPLOY_WORDS: &[&str] = &[
    "deploy",
    "deploys",
    "deployment",
    "publish",
    "publishes",
    "release",
    "rollout",
    "hosting",
];

/// Words in an assignment that ask for deployments.
const DEPLOY_REQUEST_WORDS: &[&str] = &[
    "deploy",
    "deploys",
    "deployment",
    "deployments",
    "publish",
    "release",
];

/// A check that talks about a container or image is about the service whose module builds one.
const CONTAINER_WORDS: &[&str] = &["container", "image", "docker", "oci"];

/// Weights: a stack keyword says what technology a module handles; the directory's own name
/// (`backend`, `frontend`) is a weaker hint because libraries reuse such words loosely; an
/// assignment that places a function next to a directory is the strongest hint.
const STACK_WEIGHT: u32 = 3;
const LABEL_WEIGHT: u32 = 2;
const CONTAINER_WEIGHT: u32 = 2;
const ASSIGNMENT_WEIGHT: u32 = 4;

/// How far after a function's mention in the assignment a directory name still belongs to it
/// ("Cloud Run (backend)").
const MENTION_WINDOW: usize = 40;

/// Plan from the assignment, the project and the catalog, without a model.
pub fn plan(assignment: &str, project: &Project, catalog: &Catalog) -> Proposal {
    Planner::new(assignment, project, catalog).run()
}

struct Planner<'a> {
    assignment: String,
    assignment_words: BTreeSet<String>,
    values: AssignmentValues,
    project: &'a Project,
    catalog: &'a Catalog,
    reasons: Vec<String>,
}

/// A module's best directory and why.
struct Match<'a> {
    directory: &'a StackDirectory,
    score: u32,
    evidence: Vec<String>,
}

impl<'a> Planner<'a> {
    fn new(assignment: &str, project: &'a Project, catalog: &'a Catalog) -> Self {
        Planner {
            assignment: assignment.to_lowercase(),
            assignment_words: words(assignment),
            values: AssignmentValues::parse(assignment),
            project,
            catalog,
            reasons: Vec::new(),
        }
    }

    fn run(mut self) -> Proposal {
        if self.project.stacks.is_empty() {
            self.reasons.push(
                "no stack found in the project; checks keep their modules' default paths"
                    .to_string(),
            );
        }
        let named: Vec<&LibraryModule> = self
            .catalog
            .modules
            .iter()
            .filter(|library| mentions(&self.assignment, &library.module.name))
            .collect();
        let wants_deploy = DEPLOY_REQUEST_WORDS
            .iter()
            .any(|word| self.assignment_words.contains(*word));
        if !named.is_empty() {
            self.reasons.push(format!(
                "the assignment names {}: installed even where no stack matches",
                quote_list(named.iter().map(|library| library.module.name.as_str()))
            ));
        }

        // Stack modules first, so that deploy checks can follow the services they build.
        let mut assigned: Vec<(&LibraryModule, Option<&StackDirectory>)> = Vec::new();
        let mut deploy_modules: Vec<&LibraryModule> = Vec::new();
        for library in &self.catalog.modules {
            let is_named = named
                .iter()
                .any(|other| other.module.name == library.module.name);
            let name = &library.module.name;
            if deploy_functions(library).next().is_some() {
                if wants_deploy || is_named {
                    self.reasons.push(format!(
                        "module `{name}` deploys ({}): installed for its checks and deploy steps",
                        quote_list(deploy_functions(library).map(|f| f.cli_name.as_str()))
                    ));
                    deploy_modules.push(library);
                } else {
                    self.reasons.push(format!(
                        "module `{name}` deploys, but the assignment asks for no deployment: \
                         left out"
                    ));
                }
                continue;
            }
            if library.checks().next().is_none() && !is_named {
                self.reasons
                    .push(format!("module `{name}` has no checks: left out"));
                continue;
            }
            match self.best_directory(&module_words(library), None) {
                Some(best) => {
                    self.reasons.push(format!(
                        "module `{name}` → `{}` ({}, {}): it mentions {}",
                        display_directory(best.directory),
                        best.directory.stack,
                        best.directory.markers.join(", "),
                        best.evidence.join(", ")
                    ));
                    self.note_other_directories(library, &best);
                    assigned.push((library, Some(best.directory)));
                }
                None if is_named => {
                    self.reasons.push(format!(
                        "module `{name}` matches no directory of the project: installed with its \
                         own default paths"
                    ));
                    assigned.push((library, None));
                }
                None => self.reasons.push(format!(
                    "module `{name}` matches no stack of the project: left out"
                )),
            }
        }

        let mut toolchains = Vec::new();
        for (library, directory) in &assigned {
            let mut customizations = Vec::new();
            if let Some(directory) = directory {
                for check in library.checks() {
                    customizations.extend(directory_customizations(check, directory));
                }
            }
            toolchains.push(ToolchainPlan {
                module: library.module.name.clone(),
                name: toolchain_name(&library.module.name),
                customizations,
            });
        }

        let mut deploy = Vec::new();
        for library in &deploy_modules {
            let mut customizations = Vec::new();
            for check in library.checks() {
                match self.check_directory(check, &assigned) {
                    Some((directory, evidence)) => {
                        self.reasons.push(format!(
                            "check `{}:{}` → `{}`: it mentions {}",
                            library.module.name,
                            check.cli_name,
                            directory.default_path(),
                            evidence.join(", ")
                        ));
                        customizations.extend(directory_customizations(check, directory));
                    }
                    None => self.reasons.push(format!(
                        "check `{}:{}` names no service of the project: it keeps its default path",
                        library.module.name, check.cli_name
                    )),
                }
            }
            toolchains.push(ToolchainPlan {
                module: library.module.name.clone(),
                name: toolchain_name(&library.module.name),
                customizations,
            });
            deploy.extend(self.deploy_steps(library));
        }
        self.note_shared_variables(&deploy);

        let mut fix_agents = Vec::new();
        for stack in &self.project.stacks {
            let agent = match stack.stack {
                Stack::Python => AgentName::Monty,
                Stack::Angular => AgentName::Angie,
                _ => continue,
            };
            self.reasons.push(format!(
                "`{}` is {}: {} suggests fixes there when a check fails on a pull request",
                display_directory(stack),
                stack.stack,
                agent.as_str()
            ));
            fix_agents.push(FixAgent {
                agent,
                directory: if stack.directory.is_empty() {
                    ".".to_string()
                } else {
                    stack.directory.clone()
                },
            });
        }

        let notes = format!(
            "Planned offline from the catalog's own descriptions ({} toolchain(s), {} deploy \
             step(s), {} fix agent(s)).",
            toolchains.len(),
            deploy.len(),
            fix_agents.len()
        );
        Proposal {
            plan: Plan {
                toolchains,
                deploy,
                fix_agents,
                notes,
            },
            reasons: self.reasons,
        }
    }

    /// The directory whose stack keywords and name best match `text`.
    fn best_directory(
        &self,
        text: &BTreeSet<String>,
        function: Option<&Function>,
    ) -> Option<Match<'a>> {
        let mut best: Option<Match<'a>> = None;
        for directory in &self.project.stacks {
            let mut score = 0;
            let mut evidence = Vec::new();
            for keyword in directory.stack.keywords() {
                if text.contains(*keyword) {
                    score += STACK_WEIGHT;
                    evidence.push(format!("`{keyword}`"));
                }
            }
            let label = directory.label().to_lowercase();
            if text.contains(&label) {
                score += LABEL_WEIGHT;
                evidence.push(format!("`{label}`"));
            }
            if let Some(function) = function
                && self.assignment_places(function, &label)
            {
                score += ASSIGNMENT_WEIGHT;
                evidence.push(format!("the assignment pairs it with `{label}`"));
            }
            if score > best.as_ref().map_or(0, |best| best.score) {
                best = Some(Match {
                    directory,
                    score,
                    evidence,
                });
            }
        }
        best
    }

    /// One repository variable serves every step that has an argument of that name (a shared
    /// project id is the common case); say so, since some (a service name) may need to differ.
    fn note_shared_variables(&mut self, deploy: &[DeployStep]) {
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

    fn note_other_directories(&mut self, library: &LibraryModule, best: &Match<'a>) {
        let others: Vec<String> = self
            .project
            .stacks
            .iter()
            .filter(|other| {
                other.stack == best.directory.stack && other.directory != best.directory.directory
            })
            .map(|other| format!("`{}`", display_directory(other)))
            .collect();
        if !others.is_empty() {
            self.reasons.push(format!(
                "module `{}` also fits {}: install it again under another toolchain name to \
                 check those too",
                library.module.name,
                others.join(", ")
            ));
        }
    }

    /// Which service a deploy module's check is about: its own words, plus the services whose
    /// module builds a container when the check talks about containers.
    fn check_directory(
        &self,
        check: &Function,
        assigned: &[(&LibraryModule, Option<&'a StackDirectory>)],
    ) -> Option<(&'a StackDirectory, Vec<String>)> {
        let text = function_words(check);
        let mut best = self.best_directory(&text, None);
        if CONTAINER_WORDS.iter().any(|word| text.contains(*word)) {
            for (library, directory) in assigned {
                let Some(directory) = directory else { continue };
                let builds_container = library
                    .other_functions()
                    .any(|function| function.returns == "Container");
                if !builds_container {
                    continue;
                }
                let current = best
                    .as_ref()
                    .filter(|best| best.directory.directory == directory.directory)
                    .map_or(0, |best| best.score);
                let mut evidence = best
                    .as_ref()
                    .filter(|best| best.directory.directory == directory.directory)
                    .map(|best| best.evidence.clone())
                    .unwrap_or_default();
                evidence.push(format!(
                    "a container, which module `{}` builds",
                    library.module.name
                ));
                let score = current + CONTAINER_WEIGHT;
                if score > best.as_ref().map_or(0, |best| best.score)
                    || best
                        .as_ref()
                        .is_some_and(|best| best.directory.directory == directory.directory)
                {
                    best = Some(Match {
                        directory,
                        score,
                        evidence,
                    });
                }
            }
        }
        match best {
            Some(best) => Some((best.directory, best.evidence)),
            None if self.project.stacks.len() == 1 => Some((
                &self.project.stacks[0],
                vec!["nothing specific, and the project has one stack".to_string()],
            )),
            None => None,
        }
    }

    /// Whether the assignment mentions the function with the directory's name right after it.
    fn assignment_places(&self, function: &Function, label: &str) -> bool {
        let phrases = [
            function.cli_name.clone(),
            function.cli_name.replace('-', " "),
        ];
        phrases.iter().any(|phrase| {
            self.assignment
                .match_indices(phrase.as_str())
                .any(|(index, _)| {
                    let start = index + phrase.len();
                    let window: String = self.assignment[start..]
                        .chars()
                        .take(MENTION_WINDOW)
                        .take_while(|character| *character != '\n' && *character != '.')
                        .collect();
                    // The window stops at the next mention of another function's name.
                    let window = window.split(" and ").next().unwrap_or_default();
                    words(window).contains(label)
                })
        })
    }

    fn deploy_steps(&mut self, library: &LibraryModule) -> Vec<DeployStep> {
        let functions: Vec<&Function> = deploy_functions(library).collect();
        let mentioned: Vec<&Function> = functions
            .iter()
            .copied()
            .filter(|function| {
                mentions(&self.assignment, &function.cli_name)
                    || mentions(&self.assignment, &function.cli_name.replace('-', " "))
            })
            .collect();
        let selected = if mentioned.is_empty() {
            functions
        } else {
            mentioned
        };
        let mut steps = Vec::new();
        for function in selected {
            let text = function_words(function);
            let directory = self.best_directory(&text, Some(function));
            let Some(directory) = directory else {
                self.reasons.push(format!(
                    "deploy function `{} {}` names no service of the project: not called",
                    library.module.name, function.cli_name
                ));
                continue;
            };
            self.reasons.push(format!(
                "deploy `{} {}` → `{}`: it mentions {}",
                library.module.name,
                function.cli_name,
                display_directory(directory.directory),
                directory.evidence.join(", ")
            ));
            let args = self.deploy_arguments(function, directory.directory);
            steps.push(DeployStep {
                toolchain: toolchain_name(&library.module.name),
                function: function.cli_name.clone(),
                args,
            });
        }
        steps
    }

    fn deploy_arguments(
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

/// A toolchain customization per Directory argument of a check, pointing at the directory.
fn directory_customizations(check: &Function, directory: &StackDirectory) -> Vec<Customization> {
    check
        .args
        .iter()
        .filter(|argument| argument.r#type == "Directory")
        .map(|argument| Customization {
            function: vec![check.name.clone()],
            argument: argument.name.clone(),
            default_path: Some(directory.default_path()),
            default: None,
        })
        .collect()
}

fn deploy_functions(library: &LibraryModule) -> impl Iterator<Item = &Function> {
    library.other_functions().filter(|function| {
        !is_check(function)
            && !function.args.is_empty()
            && words_of_function_name_and_doc(function)
                .iter()
                .any(|word| DEPLOY_WORDS.contains(&word.as_str()))
    })
}

fn words_of_function_name_and_doc(function: &Function) -> BTreeSet<String> {
    let mut text = function.name.clone();
    text.push(' ');
    text.push_str(function.doc.as_deref().unwrap_or_default());
    words(&text)
}

fn is_oidc(argument: &Argument) -> bool {
    argument.r#type == "Secret" && {
        let text = format!(
            "{} {}",
            argument.name,
            argument.doc.as_deref().unwrap_or_default()
        );
        words(&text).contains("oidc") || argument.name.to_lowercase().contains("oidc")
    }
}

fn is_credential(argument: &Argument) -> bool {
    let text = format!(
        "{} {}",
        argument.name,
        argument.doc.as_deref().unwrap_or_default()
    );
    let found = words(&text);
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

fn module_words(library: &LibraryModule) -> BTreeSet<String> {
    let module = &library.module;
    let mut text = format!(
        "{} {}",
        module.name,
        module.description.as_deref().unwrap_or_default()
    );
    for function in &module.functions {
        text.push(' ');
        text.push_str(&function_text(function));
    }
    words(&text)
}

fn function_words(function: &Function) -> BTreeSet<String> {
    words(&function_text(function))
}

fn function_text(function: &Function) -> String {
    let mut text = format!(
        "{} {}",
        function.name,
        function.doc.as_deref().unwrap_or_default()
    );
    for argument in &function.args {
        text.push(' ');
        text.push_str(argument.doc.as_deref().unwrap_or_default());
    }
    text
}

/// Lower-case words, split on anything that is not a letter or digit (so `cloud_run`,
/// `acme-backend` and `ruff.toml` give their parts).
fn words(text: &str) -> BTreeSet<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `text` (lower-case) mentions `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    text.match_indices(&name).any(|(index, _)| {
        let before = text[..index].chars().next_back();
        let after = text[index + name.len()..].chars().next();
        let boundary =
            |character: Option<char>| character.is_none_or(|c| !c.is_alphanumeric() && c != '-');
        boundary(before) && boundary(after)
    })
}

/// A toolchain name Dagger and `dagger call` accept: the module name in kebab-case
/// (`my_checks` → `my-checks`).
fn toolchain_name(module: &str) -> String {
    let name = normalize_key(&module.replace('.', "-"));
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name
    } else {
        format!("m-{name}")
    }
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

fn display_directory(directory: &StackDirectory) -> String {
    if directory.directory.is_empty() {
        "/".to_string()
    } else {
        format!("{}/", directory.directory)
    }
}

fn quote_list<'b>(names: impl Iterator<Item = &'b str>) -> String {
    names
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values an assignment gives for arguments: `key: value`, `key = value`, `--key value`,
/// `--key=value`, optionally scoped to a function (`cloud-run.service: api`). Keys are compared
/// in kebab-case, so `Project ID`, `project_id` and `project-id` are the same key.
#[derive(Debug, Default)]
struct AssignmentValues {
    values: BTreeMap<String, String>,
}

impl AssignmentValues {
    fn parse(assignment: &str) -> Self {
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

    fn lookup(&self, function: &Function, argument: &Argument) -> Option<String> {
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

fn normalize_key(key: &str) -> String {
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
fn clean_value(raw: &str) -> Option<String> {
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
    use crate::agents::daggie::catalog::tests::{argument, function, module};
    use crate::scan::Role;

    fn project(files: &[&str]) -> (Project, tempfile::TempDir) {
        let temp = tempfile::tempdir().unwrap();
        for file in files {
            let path = temp.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        (Project::detect(temp.path()).unwrap(), temp)
    }

    fn documented(mut function: Function, doc: &str) -> Function {
        function.doc = Some(doc.to_string());
        function
    }

    fn source() -> Argument {
        Argument {
            default_path: Some(".".to_string()),
            ..argument("source", "Directory")
        }
    }

    #[test]
    fn modules_pair_with_directories_by_their_own_words() {
        let (project, _temp) = project(&["api/pyproject.toml", "tools/go.mod"]);
        let catalog = Catalog::from_modules(vec![
            module(
                "checks-a",
                Role::Module,
                vec![documented(
                    function("test", true, vec![source()]),
                    "Run go test ./...",
                )],
            ),
            module(
                "checks-b",
                Role::Module,
                vec![documented(
                    function("lint", true, vec![source()]),
                    "Lint with ruff",
                )],
            ),
            module(
                "checks-c",
                Role::Module,
                vec![documented(
                    function("lint", true, vec![source()]),
                    "Lint Rust with clippy",
                )],
            ),
        ]);
        let proposal = plan("Set up CI checks.", &project, &catalog);
        let chosen: Vec<(&str, &str)> = proposal
            .plan
            .toolchains
            .iter()
            .map(|toolchain| {
                (
                    toolchain.module.as_str(),
                    toolchain.customizations[0].default_path.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(chosen, vec![("checks-a", "/tools"), ("checks-b", "/api")]);
        assert!(
            proposal.reasons.contains(
                &"module `checks-c` matches no stack of the project: left out".to_string()
            ),
            "{:?}",
            proposal.reasons
        );
        assert!(proposal.plan.deploy.is_empty());
        let agents: Vec<&str> = proposal
            .plan
            .fix_agents
            .iter()
            .map(|fix| fix.directory.as_str())
            .collect();
        assert_eq!(agents, vec!["api"]);
    }

    #[test]
    fn deploy_modules_need_a_request_and_take_secrets_and_variables() {
        let (project, _temp) = project(&["pyproject.toml"]);
        let deploy = module(
            "ship",
            Role::Module,
            vec![
                documented(function("scan", true, vec![source()]), "Scan the image"),
                documented(
                    function(
                        "release",
                        false,
                        vec![
                            argument("source", "Directory"),
                            argument("cluster_name", "String"),
                            Argument {
                                optional: true,
                                doc: Some("Kubeconfig credentials".to_string()),
                                ..argument("kubeconfig", "Secret")
                            },
                            Argument {
                                optional: true,
                                default: Some("3".to_string()),
                                ..argument("replicas", "Int")
                            },
                        ],
                    ),
                    "Deploy the Python app to Kubernetes",
                ),
            ],
        );
        let catalog = Catalog::from_modules(vec![deploy]);

        let quiet = plan("Run the checks on pull requests.", &project, &catalog);
        assert!(quiet.plan.toolchains.is_empty());
        assert!(quiet.plan.deploy.is_empty());

        let proposal = plan(
            "Deploy on every push to main.\n- replicas: 5\n- kubeconfig: c2VjcmV0\n",
            &project,
            &catalog,
        );
        assert_eq!(proposal.plan.toolchains.len(), 1);
        // One stack only: the scan check follows it.
        assert_eq!(
            proposal.plan.toolchains[0].customizations[0]
                .default_path
                .as_deref(),
            Some("/")
        );
        let args = &proposal.plan.deploy[0].args;
        assert_eq!(args["source"], ".");
        assert_eq!(args["cluster-name"], "${{ vars.CLUSTER_NAME }}");
        assert_eq!(args["kubeconfig"], "env:KUBECONFIG");
        assert_eq!(args["replicas"], "5");
        assert!(
            proposal
                .reasons
                .iter()
                .any(|reason| reason.contains("the assignment's value is not used")),
            "{:?}",
            proposal.reasons
        );
    }

    #[test]
    fn toolchain_names_are_kebab_case() {
        assert_eq!(toolchain_name("python-service"), "python-service");
        assert_eq!(toolchain_name("My_Checks.v2"), "my-checks-v2");
        assert_eq!(toolchain_name("2fa"), "m-2fa");
    }

    #[test]
    fn environment_names_are_upper_snake_case() {
        assert_eq!(environment_name("project"), "PROJECT");
        assert_eq!(environment_name("project_id"), "PROJECT_ID");
        assert_eq!(environment_name("serviceName"), "SERVICE_NAME");
        assert_eq!(environment_name("gcp-credentials"), "GCP_CREDENTIALS");
    }

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

    #[test]
    fn mentions_needs_whole_words() {
        assert!(mentions(
            "install acme-backend and acme-deploy",
            "acme-backend"
        ));
        assert!(!mentions("install acme-backend", "backend"));
        assert!(mentions("deploy to cloud run (backend)", "cloud run"));
        assert!(!mentions("firebased", "firebase"));
    }
}
