//! The toolchains of the plan: one per install of a module, each check routed to the install's
//! directory (its customizations) or ignored with the reason, and the fix agents of the
//! directories whose checks run.

use std::collections::BTreeSet;

use super::deploy::deploy_functions;
use super::intent::normalize_key;
use super::{Install, Planner};
use crate::agents::daggie::catalog::LibraryModule;
use crate::agents::daggie::plan::{AgentName, Customization, FixAgent, ToolchainPlan};
use crate::agents::daggie::project::{PathKind, Stack, StackDirectory};
use crate::scan::{Argument, Function};

impl<'a> Planner<'a> {
    /// A toolchain name for one of several installs of a module: the directory's name, unless
    /// a module or another toolchain has it.
    pub(super) fn directory_toolchain_name(
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
    pub(super) fn route_checks(&mut self, install: &Install<'a>) -> ToolchainPlan {
        let mut customizations = Vec::new();
        let mut ignore_checks = Vec::new();
        // Checks that take no directory of their own read the one the constructor was given.
        let mut reads_constructor_source = false;
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
                Ok(found) => {
                    reads_constructor_source |= found.is_empty();
                    customizations.extend(found);
                }
                Err(why) => {
                    self.ignore(&install.name, check, &why);
                    ignore_checks.push(check.cli_name.clone());
                }
            }
        }
        if let Some(directory) = install.directory
            && reads_constructor_source
        {
            let scoped = constructor_customizations(install.library, directory);
            let bound = install
                .library
                .module
                .constructor
                .iter()
                .filter(|argument| is_directory_with_default_path(argument))
                .find_map(|argument| layout_pattern(argument).map(|pattern| (argument, pattern)));
            if let (true, Some((argument, pattern))) = (scoped.is_empty(), bound) {
                let text = format!(
                    "toolchain `{}`: its constructor's `{}` picks paths of its own from the \
                     repository root (`{pattern}`), so it stays there",
                    install.name, argument.name
                );
                self.reasons.push(text.clone());
                self.decisions.push(text);
            } else if scoped.is_empty() && !directory.directory.is_empty() {
                // A `Workspace` or a hard-coded path: the plan has no way to move it.
                let text = format!(
                    "toolchain `{}`: nothing scopes its checks to `{}` (no directory argument \
                     with a default path), so they read the repository root",
                    install.name,
                    display_directory(directory)
                );
                self.reasons.push(text.clone());
                self.decisions.push(text);
            }
            customizations.extend(scoped);
        }
        ToolchainPlan {
            module: install.library.module.name.clone(),
            name: install.name.clone(),
            customizations,
            ignore_checks,
        }
    }

    /// A deploy module's toolchain: each check routed to the service it is about, or ignored
    /// with the reason when it names none.
    pub(super) fn deploy_module_toolchain(
        &mut self,
        library: &LibraryModule,
        stack_installs: &[(&LibraryModule, Option<&'a StackDirectory>)],
    ) -> ToolchainPlan {
        let mut customizations = Vec::new();
        let mut ignore_checks = Vec::new();
        for check in library.checks() {
            let routed = match self.check_directory(check, stack_installs) {
                Some((directory, evidence)) => {
                    self.reasons.push(format!(
                        "check `{}:{}` → `{}`: it mentions {}",
                        library.module.name,
                        check.cli_name,
                        directory.default_path(),
                        evidence.join(", ")
                    ));
                    self.check_customizations(check, directory)
                }
                None if has_default_path(check) => Err(
                    "it names no service of the project, and its default path would be the \
                     repository root"
                        .to_string(),
                ),
                None => Ok(Vec::new()),
            };
            match routed {
                Ok(found) => customizations.extend(found),
                Err(why) => {
                    self.ignore(&library.module.name, check, &why);
                    ignore_checks.push(check.cli_name.clone());
                }
            }
        }
        ToolchainPlan {
            module: library.module.name.clone(),
            name: toolchain_name(&library.module.name),
            customizations,
            ignore_checks,
        }
    }

    /// The customizations that point a check at `directory`: every Directory argument, and
    /// each File argument with a default path to the same file name in the directory. A File
    /// that does not exist there makes the check unroutable.
    pub(super) fn check_customizations(
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

    pub(super) fn ignore(&mut self, toolchain: &str, check: &Function, why: &str) {
        let text = format!("check `{toolchain}:{}` ignored: {why}", check.cli_name);
        self.reasons.push(text.clone());
        self.decisions.push(text);
    }

    /// Which directories get a fix agent: those whose checks run (a toolchain routes to them)
    /// and whose stack an agent knows.
    pub(super) fn fix_agents(&mut self, toolchains: &[ToolchainPlan]) -> Vec<FixAgent> {
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
    /// `root_installed`: a toolchain was installed for the repository root, which its checks
    /// read with no customization (default paths and workspaces start there).
    pub(super) fn note_uncovered(&mut self, toolchains: &[ToolchainPlan], root_installed: bool) {
        for stack in &self.project.stacks {
            let checked = (root_installed && stack.directory.is_empty())
                || toolchains
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
}

/// The constructor's directory arguments with a default path (`source` defaulting to `/`), each
/// pointed at `directory`: how a module whose checks take no directory is scoped to one.
fn constructor_customizations(
    library: &LibraryModule,
    directory: &StackDirectory,
) -> Vec<Customization> {
    library
        .module
        .constructor
        .iter()
        .filter(|argument| is_directory_with_default_path(argument))
        .filter(|argument| layout_pattern(argument).is_none())
        .map(|argument| Customization {
            function: Vec::new(),
            argument: argument.name.clone(),
            default_path: Some(directory.default_path()),
            default: None,
        })
        .collect()
}

fn is_directory_with_default_path(argument: &Argument) -> bool {
    argument.r#type == "Directory" && argument.default_path.is_some()
}

/// An ignore pattern that names a path of a particular repository (`!sdk/java/pom.xml`: a
/// literal first segment and more after it), not a generic one (`**/node_modules`, `/dist`):
/// such an argument expects the repository root, whatever directory its checks are about.
fn layout_pattern(argument: &Argument) -> Option<&str> {
    argument
        .ignore
        .iter()
        .find(|pattern| {
            let path = pattern.trim_start_matches('!').trim_start_matches('/');
            let mut segments = path.split('/').filter(|segment| !segment.is_empty());
            match (segments.next(), segments.next()) {
                (Some(first), Some(_)) => !first.contains(['*', '?', '[', '{']),
                _ => false,
            }
        })
        .map(String::as_str)
}

/// Whether a module gives `dagger check` or the deploy job anything to run.
pub(super) fn has_work(library: &LibraryModule) -> bool {
    library.checks().next().is_some() || deploy_functions(library).next().is_some()
}

/// Whether a check has an argument whose default path `dagger check` would resolve.
pub(super) fn has_default_path(check: &Function) -> bool {
    check.args.iter().any(|argument| {
        argument.default_path.is_some() && matches!(argument.r#type.as_str(), "Directory" | "File")
    })
}

/// The agent that fixes a stack, if any.
pub(super) fn agent_for(stack: Stack) -> Option<AgentName> {
    match stack {
        Stack::Python => Some(AgentName::Monty),
        Stack::Angular => Some(AgentName::Angie),
        _ => None,
    }
}

/// A toolchain name Dagger and `dagger call` accept: the module name in kebab-case
/// (`my_checks` → `my-checks`).
pub(super) fn toolchain_name(module: &str) -> String {
    let name = normalize_key(&module.replace('.', "-"));
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name
    } else {
        format!("m-{name}")
    }
}

pub(super) fn display_directory(directory: &StackDirectory) -> String {
    if directory.directory.is_empty() {
        "/".to_string()
    } else {
        format!("{}/", directory.directory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_names_are_kebab_case() {
        for (module, toolchain) in [
            ("python-service", "python-service"),
            ("My_Checks.v2", "my-checks-v2"),
            ("2fa", "m-2fa"),
        ] {
            assert_eq!(toolchain_name(module), toolchain);
        }
    }
}
