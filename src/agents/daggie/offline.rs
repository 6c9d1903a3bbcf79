//! The deterministic planner behind `daggie assist --offline`. It decides from the catalog and
//! the project, not from keywords alone:
//!
//! - the assignment's intent is parsed into explicit decisions (deploy or not, which services
//!   not to deploy, which directories it names or "every service"), negations included;
//! - a module serves a directory only when its declared stack (name, description, what its
//!   checks and builds say) fits the stack found in the directory's manifests; a module that
//!   fits several directories the assignment asks for is installed once per directory;
//! - a function is a deploy step only when the assignment asks for deployments, and the
//!   function's name or doc says it deploys and its signature has a target (a project, region,
//!   service, registry, credentials…); a module's checks never turn into deploy steps;
//! - every check with a default path is routed to a project directory or ignored with a reason
//!   (the completeness rule of [`super::plan::validate`]).

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::catalog::{Catalog, LibraryModule, is_check};
use super::plan::{
    AgentName, Customization, DeployStep, FixAgent, Plan, Proposal, SECRET_PROVIDERS, ToolchainPlan,
};
use super::project::{PathKind, Project, Stack, StackDirectory};
use crate::scan::{Argument, Function};

/// Words that say a function deploys.
const DEPLOY_WORDS: &[&str] = &[
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
const TARGET_WORDS: &[&str] = &[
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

/// Words in an assignment that ask for deployments (or refuse them, when negated).
const DEPLOY_REQUEST_WORDS: &[&str] = &[
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
const NEGATIONS: &[&str] = &["not", "no", "never", "without", "skip", "nothing", "dont"];

/// Phrases that limit the set-up to checks.
const CHECKS_ONLY: &[&str] = &[
    "only checks",
    "checks only",
    "just checks",
    "only the checks",
    "only run checks",
    "only run the checks",
];

/// Phrases that ask for every service of the project.
const EVERY_SERVICE: &[&str] = &[
    "every service",
    "all services",
    "each service",
    "all the services",
    "every directory",
    "all directories",
    "every app",
    "all apps",
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

/// The modules the planner model sees in full: those the assignment names, those with checks
/// whose declared stack fits a project directory, and those the offline planner installs (they
/// deploy what the assignment asks). A module without checks that only fits a stack (an agent,
/// a build helper) is one line: `dagger check` has nothing to run from it.
pub fn relevant_modules(
    assignment: &str,
    project: &Project,
    catalog: &Catalog,
) -> BTreeSet<String> {
    let lower = assignment.to_lowercase();
    let mut relevant: BTreeSet<String> = catalog
        .modules
        .iter()
        .filter(|library| mentions(&lower, &library.module.name) && has_work(library))
        .map(|library| library.module.name.clone())
        .collect();
    relevant.extend(
        catalog
            .modules
            .iter()
            .filter(|library| {
                let text = declared_words(library);
                library.checks().next().is_some()
                    && project
                        .stacks
                        .iter()
                        .any(|directory| stack_fit(&text, directory.stack).is_some())
            })
            .map(|library| library.module.name.clone()),
    );
    let proposal = plan(assignment, project, catalog);
    relevant.extend(
        proposal
            .plan
            .toolchains
            .into_iter()
            .map(|toolchain| toolchain.module),
    );
    relevant
}

/// What the assignment asks for deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DeployIntent {
    /// A sentence asks for deployments.
    Requested,
    /// A sentence refuses them ("Do not deploy anything", "only checks").
    Refused(String),
    /// Nothing is said.
    NotAsked,
}

/// The assignment's decisions, parsed before any module is looked at.
#[derive(Debug, Clone)]
struct Intent {
    deploy: DeployIntent,
    /// Directories a negated deploy sentence names ("do not deploy the frontend").
    not_deployed: BTreeSet<String>,
    /// Directories the assignment names.
    named_directories: BTreeSet<String>,
    /// "every service", "all services".
    every_service: bool,
}

impl Intent {
    fn parse(assignment: &str, project: &Project) -> Intent {
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

    fn wants_deploy(&self) -> bool {
        self.deploy == DeployIntent::Requested
    }
}

struct Planner<'a> {
    assignment: String,
    intent: Intent,
    values: AssignmentValues,
    project: &'a Project,
    catalog: &'a Catalog,
    reasons: Vec<String>,
    /// The decisions the plan's notes list.
    decisions: Vec<String>,
}

/// A module's best directory and why.
struct Match<'a> {
    directory: &'a StackDirectory,
    score: u32,
    evidence: Vec<String>,
}

/// One toolchain being planned: the module and the directory its checks go to.
struct Install<'a> {
    library: &'a LibraryModule,
    name: String,
    directory: Option<&'a StackDirectory>,
}

impl<'a> Planner<'a> {
    fn new(assignment: &str, project: &'a Project, catalog: &'a Catalog) -> Self {
        Planner {
            assignment: assignment.to_lowercase(),
            intent: Intent::parse(assignment, project),
            values: AssignmentValues::parse(assignment),
            project,
            catalog,
            reasons: Vec::new(),
            decisions: Vec::new(),
        }
    }

    fn run(mut self) -> Proposal {
        if self.project.stacks.is_empty() {
            self.reasons
                .push("no stack found in the project; no check can be routed".to_string());
        }
        let named: Vec<&LibraryModule> = self
            .catalog
            .modules
            .iter()
            .filter(|library| mentions(&self.assignment, &library.module.name))
            .collect();
        // A name the assignment uses for something else (an agent, a framework) installs
        // nothing when the module has neither checks nor deployments.
        let (named, idle): (Vec<&LibraryModule>, Vec<&LibraryModule>) =
            named.into_iter().partition(|library| has_work(library));
        for library in idle {
            self.reasons.push(format!(
                "module `{}` is named in the assignment but has no checks and no deploy \
                 functions: left out",
                library.module.name
            ));
        }
        let is_named = |library: &LibraryModule| {
            named
                .iter()
                .any(|other| other.module.name == library.module.name)
        };
        if !named.is_empty() {
            self.reasons.push(format!(
                "the assignment names {}: installed even where no stack matches",
                quote_list(named.iter().map(|library| library.module.name.as_str()))
            ));
        }
        self.note_intent();

        // Which directories each stack module serves.
        let fits: Vec<(&LibraryModule, Vec<&'a StackDirectory>)> = self
            .catalog
            .modules
            .iter()
            .map(|library| (library, self.fitting_directories(library)))
            .collect();
        let deploy_candidates = self.deploy_candidates(&fits);

        let mut installs: Vec<Install<'a>> = Vec::new();
        let mut deploy_modules: Vec<&LibraryModule> = Vec::new();
        for (library, directories) in &fits {
            let name = &library.module.name;
            if !directories.is_empty() {
                if library.checks().next().is_none() && !is_named(library) {
                    self.reasons
                        .push(format!("module `{name}` has no checks: left out"));
                    continue;
                }
                let named_fit = directories
                    .iter()
                    .any(|directory| self.intent.named_directories.contains(&directory.directory));
                if !self.intent.every_service
                    && !self.intent.named_directories.is_empty()
                    && !named_fit
                    && !is_named(library)
                {
                    self.reasons.push(format!(
                        "module `{name}` fits only {}, which the assignment does not ask for: \
                         left out",
                        quote_list(
                            directories
                                .iter()
                                .map(|directory| directory.directory.as_str())
                        )
                    ));
                    continue;
                }
                let chosen = self.choose_directories(library, directories);
                let several = chosen.len() > 1;
                for directory in chosen {
                    let toolchain = if several {
                        self.directory_toolchain_name(library, directory, &installs)
                    } else {
                        toolchain_name(name)
                    };
                    installs.push(Install {
                        library,
                        name: toolchain,
                        directory: Some(directory),
                    });
                }
                continue;
            }
            let deploys_here = deploy_candidates
                .iter()
                .any(|(owner, _)| owner.module.name == *name);
            if deploys_here || (is_named(library) && deploy_functions(library).next().is_some()) {
                self.reasons.push(format!(
                    "module `{name}` deploys ({}): installed for its deploy steps, its checks \
                     follow the services they are about",
                    quote_list(deploy_functions(library).map(|f| f.cli_name.as_str()))
                ));
                deploy_modules.push(library);
                continue;
            }
            if deploy_functions(library).next().is_some() {
                let why = match &self.intent.deploy {
                    DeployIntent::Refused(sentence) => {
                        format!("the assignment refuses deployments (\"{sentence}\")")
                    }
                    _ => "the assignment asks for none of its deployments".to_string(),
                };
                self.reasons
                    .push(format!("module `{name}` deploys, but {why}: left out"));
                continue;
            }
            if is_named(library) {
                self.reasons.push(format!(
                    "module `{name}` fits no directory of the project: installed because the \
                     assignment names it"
                ));
                installs.push(Install {
                    library,
                    name: toolchain_name(name),
                    directory: None,
                });
                continue;
            }
            if library.checks().next().is_none() {
                self.reasons
                    .push(format!("module `{name}` has no checks: left out"));
            } else {
                self.reasons.push(format!(
                    "module `{name}` matches no stack of the project: left out"
                ));
            }
        }

        let mut toolchains = Vec::new();
        for install in &installs {
            toolchains.push(self.route_checks(install));
        }
        let stack_installs: Vec<(&LibraryModule, Option<&'a StackDirectory>)> = installs
            .iter()
            .map(|install| (install.library, install.directory))
            .collect();
        let mut deploy = Vec::new();
        for library in &deploy_modules {
            let mut customizations = Vec::new();
            let mut ignore_checks = Vec::new();
            for check in library.checks() {
                match self.check_directory(check, &stack_installs) {
                    Some((directory, evidence)) => {
                        self.reasons.push(format!(
                            "check `{}:{}` → `{}`: it mentions {}",
                            library.module.name,
                            check.cli_name,
                            directory.default_path(),
                            evidence.join(", ")
                        ));
                        match self.check_customizations(check, directory) {
                            Ok(found) => customizations.extend(found),
                            Err(why) => {
                                self.ignore(&library.module.name, check, &why);
                                ignore_checks.push(check.cli_name.clone());
                            }
                        }
                    }
                    None if has_default_path(check) => {
                        self.ignore(
                            &library.module.name,
                            check,
                            "it names no service of the project, and its default path would \
                             be the repository root",
                        );
                        ignore_checks.push(check.cli_name.clone());
                    }
                    None => {}
                }
            }
            toolchains.push(ToolchainPlan {
                module: library.module.name.clone(),
                name: toolchain_name(&library.module.name),
                customizations,
                ignore_checks,
            });
        }
        for (library, function) in &deploy_candidates {
            let Some(toolchain) = toolchains
                .iter()
                .find(|toolchain| toolchain.module == library.module.name)
                .map(|toolchain| toolchain.name.clone())
            else {
                self.reasons.push(format!(
                    "`{} {}` deploys, but its module is not installed: not called",
                    library.module.name, function.cli_name
                ));
                continue;
            };
            if let Some(step) = self.deploy_step(library, function, toolchain) {
                deploy.push(step);
            }
        }
        self.note_shared_variables(&deploy);

        let fix_agents = self.fix_agents(&toolchains);
        self.note_uncovered(&toolchains);

        let mut notes = format!(
            "Planned offline from the catalog and the project ({} toolchain(s), {} deploy \
             step(s), {} fix agent(s)).",
            toolchains.len(),
            deploy.len(),
            fix_agents.len()
        );
        if !self.decisions.is_empty() {
            notes.push_str(" Decisions: ");
            notes.push_str(&self.decisions.join("; "));
            notes.push('.');
        }
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

    fn note_intent(&mut self) {
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

    /// The project directories whose stack the module declares, best first.
    fn fitting_directories(&self, library: &LibraryModule) -> Vec<&'a StackDirectory> {
        let text = declared_words(library);
        let mut found: Vec<(&'a StackDirectory, u32)> = self
            .project
            .stacks
            .iter()
            .filter_map(|directory| {
                stack_fit(&text, directory.stack).map(|score| (directory, score))
            })
            .collect();
        found.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        found.into_iter().map(|(directory, _)| directory).collect()
    }

    /// Which of the fitting directories get a toolchain: every one with "every service", those
    /// the assignment names, else the best one (the others are noted).
    fn choose_directories(
        &mut self,
        library: &LibraryModule,
        directories: &[&'a StackDirectory],
    ) -> Vec<&'a StackDirectory> {
        let name = &library.module.name;
        let describe = |directory: &StackDirectory| {
            let framework = directory
                .framework
                .as_deref()
                .map(|framework| format!(", {framework}"))
                .unwrap_or_default();
            format!(
                "`{}` ({}{framework}, {})",
                display_directory(directory),
                directory.stack,
                directory.markers.join(", ")
            )
        };
        let chosen: Vec<&'a StackDirectory> = if self.intent.every_service {
            directories.to_vec()
        } else {
            let named: Vec<&'a StackDirectory> = directories
                .iter()
                .copied()
                .filter(|directory| self.intent.named_directories.contains(&directory.directory))
                .collect();
            if named.is_empty() {
                let text = module_words(library);
                let best = self
                    .best_directory_among(&text, None, directories)
                    .map(|best| best.directory)
                    .unwrap_or(directories[0]);
                vec![best]
            } else {
                named
            }
        };
        for directory in &chosen {
            self.reasons.push(format!(
                "module `{name}` → {}: its declared stack fits ({})",
                describe(directory),
                stack_evidence(&declared_words(library), directory.stack).join(", ")
            ));
        }
        let others: Vec<String> = directories
            .iter()
            .filter(|directory| !chosen.contains(directory))
            .map(|directory| format!("`{}`", display_directory(directory)))
            .collect();
        if !others.is_empty() {
            self.reasons.push(format!(
                "module `{name}` also fits {}: name those directories (or \"every service\") in \
                 the assignment to check them too",
                others.join(", ")
            ));
        }
        chosen
    }

    /// A toolchain name for one of several installs of a module: the directory's name, unless
    /// a module or another toolchain has it.
    fn directory_toolchain_name(
        &self,
        library: &LibraryModule,
        directory: &StackDirectory,
        installs: &[Install<'a>],
    ) -> String {
        let label = toolchain_name(directory.label());
        let taken = |candidate: &str| {
            self.catalog.module(candidate).is_some()
                || installs.iter().any(|install| install.name == candidate)
        };
        if taken(&label) {
            toolchain_name(&format!("{}-{}", library.module.name, directory.label()))
        } else {
            label
        }
    }

    /// A stack module's toolchain: each check routed to the install's directory, or ignored
    /// with the reason when it cannot be.
    fn route_checks(&mut self, install: &Install<'a>) -> ToolchainPlan {
        let mut customizations = Vec::new();
        let mut ignore_checks = Vec::new();
        for check in install.library.checks() {
            let routed = match install.directory {
                Some(directory) => self.check_customizations(check, directory),
                None if has_default_path(check) => Err(
                    "the module fits no directory of the project, and its default path would \
                     be the repository root"
                        .to_string(),
                ),
                None => Ok(Vec::new()),
            };
            match routed {
                Ok(found) => customizations.extend(found),
                Err(why) => {
                    self.ignore(&install.name, check, &why);
                    ignore_checks.push(check.cli_name.clone());
                }
            }
        }
        ToolchainPlan {
            module: install.library.module.name.clone(),
            name: install.name.clone(),
            customizations,
            ignore_checks,
        }
    }

    /// The customizations that point a check at `directory`: every Directory argument, and
    /// each File argument with a default path to the same file name in the directory. A File
    /// that does not exist there makes the check unroutable.
    fn check_customizations(
        &self,
        check: &Function,
        directory: &StackDirectory,
    ) -> Result<Vec<Customization>, String> {
        let mut customizations = Vec::new();
        for argument in &check.args {
            match argument.r#type.as_str() {
                "Directory" => customizations.push(Customization {
                    function: vec![check.name.clone()],
                    argument: argument.name.clone(),
                    default_path: Some(directory.default_path()),
                    default: None,
                }),
                "File" => {
                    let Some(default_path) = &argument.default_path else {
                        continue;
                    };
                    let file_name = default_path.rsplit('/').next().unwrap_or(default_path);
                    let path = format!(
                        "{}/{file_name}",
                        directory.default_path().trim_end_matches('/')
                    );
                    if self.project.path_kind(&path) != Some(PathKind::File) {
                        return Err(format!(
                            "its file argument `{}` defaults to `{default_path}`, and `{path}` \
                             does not exist",
                            argument.cli_name
                        ));
                    }
                    customizations.push(Customization {
                        function: vec![check.name.clone()],
                        argument: argument.name.clone(),
                        default_path: Some(path),
                        default: None,
                    });
                }
                _ => {}
            }
        }
        Ok(customizations)
    }

    fn ignore(&mut self, toolchain: &str, check: &Function, why: &str) {
        let text = format!("check `{toolchain}:{}` ignored: {why}", check.cli_name);
        self.reasons.push(text.clone());
        self.decisions.push(text);
    }

    /// The deploy functions the assignment asks for, with their modules. Nothing when it asks
    /// for no deployment. Functions it names win; without any named, the dedicated deploy
    /// modules' functions are used (a stack module's `publish` only when asked by name).
    fn deploy_candidates(
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

    /// Which directories get a fix agent: those whose checks run (a toolchain routes to them)
    /// and whose stack an agent knows.
    fn fix_agents(&mut self, toolchains: &[ToolchainPlan]) -> Vec<FixAgent> {
        let routed: BTreeSet<String> = toolchains
            .iter()
            .flat_map(|toolchain| &toolchain.customizations)
            .filter_map(|customization| customization.default_path.clone())
            .collect();
        let mut fix_agents = Vec::new();
        for stack in &self.project.stacks {
            let Some(agent) = agent_for(stack.stack) else {
                continue;
            };
            let checked = routed.iter().any(|path| {
                path == &stack.default_path()
                    || path.starts_with(&format!("{}/", stack.default_path().trim_end_matches('/')))
            });
            if !checked {
                self.reasons.push(format!(
                    "`{}` is {}, but no check runs there: no fix agent",
                    display_directory(stack),
                    stack.stack
                ));
                continue;
            }
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
        fix_agents
    }

    /// Directories no toolchain checks: said in the notes, so the workflow does not pretend.
    fn note_uncovered(&mut self, toolchains: &[ToolchainPlan]) {
        for stack in &self.project.stacks {
            let checked = toolchains
                .iter()
                .flat_map(|toolchain| &toolchain.customizations)
                .any(|customization| {
                    customization.default_path.as_deref() == Some(stack.default_path().as_str())
                });
            if !checked {
                let text = format!(
                    "not checked: `{}` ({}): nothing in the library fits it",
                    display_directory(stack),
                    stack.stack
                );
                self.reasons.push(text.clone());
                self.decisions.push(text);
            }
        }
    }

    /// The directory whose stack keywords and name best match `text`.
    fn best_directory(
        &self,
        text: &BTreeSet<String>,
        function: Option<&Function>,
    ) -> Option<Match<'a>> {
        let all: Vec<&'a StackDirectory> = self.project.stacks.iter().collect();
        self.best_directory_among(text, function, &all)
    }

    /// The directory among `candidates` whose stack keywords and name best match `text`.
    fn best_directory_among(
        &self,
        text: &BTreeSet<String>,
        function: Option<&Function>,
        candidates: &[&'a StackDirectory],
    ) -> Option<Match<'a>> {
        let mut best: Option<Match<'a>> = None;
        for directory in candidates.iter().copied() {
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

    /// The step for one deploy function the assignment asks for, at the service it is about;
    /// none when it names no service or the assignment refuses to deploy that one.
    fn deploy_step(
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

/// Whether a module gives `dagger check` or the deploy job anything to run.
fn has_work(library: &LibraryModule) -> bool {
    library.checks().next().is_some() || deploy_functions(library).next().is_some()
}

/// Whether a check has an argument whose default path `dagger check` would resolve.
fn has_default_path(check: &Function) -> bool {
    check.args.iter().any(|argument| {
        argument.default_path.is_some() && matches!(argument.r#type.as_str(), "Directory" | "File")
    })
}

/// The agent that fixes a stack, if any.
fn agent_for(stack: Stack) -> Option<AgentName> {
    match stack {
        Stack::Python => Some(AgentName::Monty),
        Stack::Angular => Some(AgentName::Angie),
        _ => None,
    }
}

/// A function is a deploy step when its name or doc says it deploys and its signature has a
/// target to deploy to (a project, region, service, registry, credentials…): a `publish`
/// without anywhere to publish to is not one, nor is anything a check.
fn deploy_functions(library: &LibraryModule) -> impl Iterator<Item = &Function> {
    library
        .other_functions()
        .filter(|function| !is_check(function) && is_deploy(function))
}

fn is_deploy(function: &Function) -> bool {
    let says_so = words_of_function_name_and_doc(function)
        .iter()
        .any(|word| DEPLOY_WORDS.contains(&word.as_str()));
    let has_target = function.args.iter().any(|argument| {
        argument.r#type == "Secret" || {
            let mut text = argument.name.clone();
            text.push(' ');
            text.push_str(argument.doc.as_deref().unwrap_or_default());
            words(&text)
                .iter()
                .any(|word| TARGET_WORDS.contains(&word.as_str()))
        }
    });
    says_so && has_target
}

fn words_of_function_name_and_doc(function: &Function) -> BTreeSet<String> {
    let mut text = function.name.clone();
    text.push(' ');
    text.push_str(function.doc.as_deref().unwrap_or_default());
    words(&text)
}

/// What a module says it is about: its name, description, checks and the functions that are
/// not deployments (a deploy function's target, "a Python service on Cloud Run", does not make
/// a deploy module a Python module).
fn declared_words(library: &LibraryModule) -> BTreeSet<String> {
    let module = &library.module;
    let mut text = format!(
        "{} {}",
        module.name,
        module.description.as_deref().unwrap_or_default()
    );
    for function in &module.functions {
        if is_check(function) || !is_deploy(function) {
            text.push(' ');
            text.push_str(&function_text(function));
        }
    }
    words(&text)
}

/// Keywords only an Angular module uses; a Node module without them is generic Node.
const ANGULAR_IDENTITY: &[&str] = &["angular", "ng", "karma"];

/// How well a module's declared words fit a stack, if they do. An Angular module (it says
/// `angular`, `ng`, `karma`) fits Angular directories only, never a plain Node app; a generic
/// Node module fits both.
fn stack_fit(text: &BTreeSet<String>, stack: Stack) -> Option<u32> {
    let angular = ANGULAR_IDENTITY.iter().any(|word| text.contains(*word));
    match stack {
        Stack::Angular if !angular => None,
        Stack::Node if angular => None,
        _ => {
            let score = stack
                .keywords()
                .iter()
                .filter(|keyword| text.contains(**keyword))
                .count() as u32;
            (score > 0).then_some(score * STACK_WEIGHT)
        }
    }
}

fn stack_evidence(text: &BTreeSet<String>, stack: Stack) -> Vec<String> {
    stack
        .keywords()
        .iter()
        .filter(|keyword| text.contains(**keyword))
        .map(|keyword| format!("`{keyword}`"))
        .collect()
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
