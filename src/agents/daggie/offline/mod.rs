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
//!
//! This file runs the steps in order; `intent` reads the assignment, `matching` fits modules and
//! checks to directories, `toolchains` routes checks into toolchains and chooses the fix agents,
//! `deploy` makes the deploy steps and their arguments.

mod deploy;
mod intent;
mod matching;
mod toolchains;

use std::collections::BTreeSet;

use super::catalog::{Catalog, LibraryModule};
use super::plan::{Plan, Proposal};
use super::project::{Project, StackDirectory};
use super::quote_list;
use deploy::deploy_functions;
pub use deploy::environment_name;
use intent::{AssignmentValues, DeployIntent, Intent};
use matching::{declared_words, mentions, stack_fit};
use toolchains::{has_work, toolchain_name};

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
            toolchains.push(self.deploy_module_toolchain(library, &stack_installs));
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
        let root_installed = installs.iter().any(|install| {
            install
                .directory
                .is_some_and(|directory| directory.directory.is_empty())
        });
        self.note_uncovered(&toolchains, root_installed);

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::tests::{argument, function, module};
    use crate::scan::{Argument, Function, Role};

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
}
