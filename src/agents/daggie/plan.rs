//! The plan daggie renders from (the `submit_plan` tool's parameters, CONTRACTS §7) and its
//! validation against the catalog and the project, with messages precise enough for a model to
//! correct itself.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, is_check};
use super::project::{PathKind, Project, Stack};
use super::quote_list;
use crate::scan::Argument;

/// Which toolchains to install, how to customize them, what to deploy and who fixes failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// One entry per module to install as a toolchain.
    pub toolchains: Vec<ToolchainPlan>,
    /// Functions the deploy job calls on pushes to the default branch, in order.
    #[serde(default)]
    pub deploy: Vec<DeployStep>,
    /// Agents that suggest fixes on a pull request when a check fails.
    #[serde(default)]
    pub fix_agents: Vec<FixAgent>,
    /// Anything the user should know about the choices.
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolchainPlan {
    /// The catalog module to install.
    pub module: String,
    /// The toolchain's name in `dagger.json`: check names are prefixed with it, and
    /// `dagger call <name> <function>` calls it.
    pub name: String,
    #[serde(default)]
    pub customizations: Vec<Customization>,
    /// Checks of this toolchain that `dagger check` skips (Dagger's `ignoreChecks`): those
    /// with a default path that no project directory fits. Give the reason in `notes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Customization {
    /// The function chain from the module's main object, e.g. `["test"]`.
    pub function: Vec<String>,
    /// The argument whose default changes.
    pub argument: String,
    /// For a Directory or File argument: a path from the project root, e.g. `/backend`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_path: Option<String>,
    /// For any other argument: the new default, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeployStep {
    /// The name of a toolchain in this plan.
    pub toolchain: String,
    /// A non-check function of that toolchain's module.
    pub function: String,
    /// Argument values: literals, `${{ vars.NAME }}`, `${{ secrets.NAME }}`, `env:NAME` for
    /// secrets, `./dir` for directories.
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AgentName {
    /// Python.
    Monty,
    /// Angular and TypeScript.
    Angie,
}

impl AgentName {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentName::Monty => "monty",
            AgentName::Angie => "angie",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FixAgent {
    pub agent: AgentName,
    /// The directory the agent works in, relative to the project root (`backend`).
    pub directory: String,
}

/// A plan with the reasons behind each choice, as a planner (offline or model) returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub plan: Plan,
    pub reasons: Vec<String>,
}

/// The JSON Schema of [`Plan`], for the `submit_plan` tool.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
}

/// Check the plan against the catalog and the project. Every problem is reported, not just the
/// first, so that a model can fix them all in one retry.
pub fn validate(plan: &Plan, catalog: &Catalog, project: &Project) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if plan.toolchains.is_empty() {
        problems.push("the plan installs no toolchain".to_string());
    }
    let known_modules = || quote_list(catalog.modules.iter().map(|library| &library.module.name));
    let mut names = BTreeSet::new();
    for toolchain in &plan.toolchains {
        let label = format!("toolchain `{}`", toolchain.name);
        if !is_valid_name(&toolchain.name) {
            problems.push(format!(
                "{label}: the name must be lower-case letters, digits and `-`, starting with a \
                 letter"
            ));
        }
        if !names.insert(toolchain.name.as_str()) {
            problems.push(format!(
                "{label}: the name is used by more than one toolchain"
            ));
        }
        let Some(library) = catalog.module(&toolchain.module) else {
            problems.push(format!(
                "{label}: module `{}` is not in the catalog (known: {})",
                toolchain.module,
                known_modules()
            ));
            continue;
        };
        let module = &library.module;
        let mut seen = BTreeSet::new();
        for customization in &toolchain.customizations {
            if customization.function.len() > 1 {
                problems.push(format!(
                    "{label}: function chain `{}` is not supported; name one function of module \
                     `{}`",
                    customization.function.join("."),
                    module.name
                ));
                continue;
            }
            // No function: a constructor argument (what a module-wide setting changes).
            let (owner, argument) = match customization.function.first() {
                None => {
                    let Some(argument) = module.customization_target(&[], &customization.argument)
                    else {
                        problems.push(format!(
                            "{label}: the constructor of module `{}` has no argument `{}` \
                             (arguments: {})",
                            module.name,
                            customization.argument,
                            quote_list(
                                module.constructor.iter().map(|argument| &argument.cli_name)
                            )
                        ));
                        continue;
                    };
                    (None, argument)
                }
                Some(function_name) => {
                    let Some(function) = module.function(function_name) else {
                        problems.push(format!(
                            "{label}: module `{}` has no function `{function_name}` (functions: {})",
                            module.name,
                            quote_list(module.functions.iter().map(|function| &function.cli_name))
                        ));
                        continue;
                    };
                    let Some(argument) = function.argument(&customization.argument) else {
                        problems.push(format!(
                            "{label}: function `{}` has no argument `{}` (arguments: {})",
                            function.cli_name,
                            customization.argument,
                            quote_list(function.args.iter().map(|argument| &argument.cli_name))
                        ));
                        continue;
                    };
                    (Some(function), argument)
                }
            };
            let target = match owner {
                Some(function) => format!(
                    "{label}: `{}` argument `{}`",
                    function.cli_name, argument.name
                ),
                None => format!("{label}: constructor argument `{}`", argument.name),
            };
            let function_name = owner
                .map(|function| function.name.clone())
                .unwrap_or_default();
            if !seen.insert((function_name, argument.name.clone())) {
                problems.push(format!("{target} is customized more than once"));
            }
            match (&customization.default_path, &customization.default) {
                (Some(_), Some(_)) => problems.push(format!(
                    "{target}: set either `default_path` or `default`, not both"
                )),
                (None, None) => problems.push(format!(
                    "{target}: the customization sets neither `default_path` nor `default`"
                )),
                (Some(path), None) => {
                    let expected = match argument.r#type.as_str() {
                        "Directory" => Some(PathKind::Directory),
                        "File" => Some(PathKind::File),
                        _ => None,
                    };
                    match (expected, project.path_kind(path)) {
                        (None, _) => problems.push(format!(
                            "{target} is a {}; a default path only applies to a Directory or \
                             File argument (use `default`)",
                            argument.r#type
                        )),
                        (Some(_), None) => problems.push(format!(
                            "{target}: default path `{path}` does not exist in the project"
                        )),
                        (Some(expected), Some(actual)) if expected != actual => {
                            problems.push(format!(
                                "{target}: default path `{path}` is a {}, the argument takes a {}",
                                kind_name(actual),
                                argument.r#type
                            ))
                        }
                        _ => {}
                    }
                }
                (None, Some(_)) => {
                    if matches!(
                        argument.r#type.as_str(),
                        "Directory" | "File" | "Secret" | "Container"
                    ) {
                        problems.push(format!(
                            "{target} is a {}; it cannot take a literal `default`",
                            argument.r#type
                        ));
                    }
                }
            }
        }
    }

    for step in &plan.deploy {
        let label = format!("deploy `{} {}`", step.toolchain, step.function);
        let Some(toolchain) = plan
            .toolchains
            .iter()
            .find(|toolchain| toolchain.name == step.toolchain)
        else {
            problems.push(format!(
                "{label}: no toolchain named `{}` in the plan",
                step.toolchain
            ));
            continue;
        };
        let Some(library) = catalog.module(&toolchain.module) else {
            continue;
        };
        let Some(function) = library.module.function(&step.function) else {
            problems.push(format!(
                "{label}: module `{}` has no function `{}` (functions: {})",
                library.module.name,
                step.function,
                quote_list(library.other_functions().map(|function| &function.cli_name))
            ));
            continue;
        };
        if is_check(function) {
            problems.push(format!(
                "{label}: `{}` is a check; `dagger check` runs it, a deploy step should not",
                function.cli_name
            ));
        }
        for (name, value) in &step.args {
            match function.argument(name) {
                None => problems.push(format!(
                    "{label}: function `{}` has no argument `{name}`",
                    function.cli_name
                )),
                Some(_) if value.trim().is_empty() => {
                    problems.push(format!("{label}: argument `{name}` has an empty value"))
                }
                Some(argument) => {
                    if let Some(problem) = check_value(argument, value, project) {
                        problems.push(format!("{label}: argument `{name}` {problem}"));
                    }
                }
            }
        }
        for argument in function.required_args() {
            let given = step.args.keys().any(|name| {
                function
                    .argument(name)
                    .is_some_and(|found| found.name == argument.name)
            });
            if !given {
                problems.push(format!(
                    "{label}: required argument `{}` ({}) is not provided",
                    argument.cli_name, argument.r#type
                ));
            }
        }
    }

    problems.extend(completeness(plan, catalog));

    let mut agents = BTreeSet::new();
    for fix in &plan.fix_agents {
        let label = format!("fix agent `{}`", fix.agent.as_str());
        if !agents.insert((fix.agent, fix.directory.as_str())) {
            problems.push(format!(
                "{label}: directory `{}` is listed twice",
                fix.directory
            ));
        }
        match project.path_kind(&fix.directory) {
            Some(PathKind::Directory) => {
                if let Some(problem) = agent_stack_problem(fix, project) {
                    problems.push(format!("{label}: {problem}"));
                }
            }
            Some(PathKind::File) => problems.push(format!(
                "{label}: `{}` is a file, not a directory",
                fix.directory
            )),
            None => problems.push(format!(
                "{label}: directory `{}` does not exist in the project",
                fix.directory
            )),
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The completeness rule: every check of every installed toolchain that takes a Directory or
/// File with a default path is either customized to a project path (checked above) or listed
/// in the toolchain's `ignore_checks`. A check left on its default path would run against the
/// repository root, where a monorepo's service is not.
pub fn completeness(plan: &Plan, catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    for toolchain in &plan.toolchains {
        let Some(library) = catalog.module(&toolchain.module) else {
            continue;
        };
        for check in library.checks() {
            let ignored = toolchain
                .ignore_checks
                .iter()
                .any(|pattern| matches_check(pattern, &check.cli_name, &check.name));
            if ignored {
                continue;
            }
            for argument in &check.args {
                let Some(default_path) = &argument.default_path else {
                    continue;
                };
                if !matches!(argument.r#type.as_str(), "Directory" | "File") {
                    continue;
                }
                let customized = toolchain.customizations.iter().any(|customization| {
                    customization.default_path.is_some()
                        && customization.function.len() == 1
                        && (customization.function[0] == check.name
                            || customization.function[0] == check.cli_name)
                        && (customization.argument == argument.name
                            || customization.argument == argument.cli_name)
                });
                if !customized {
                    problems.push(format!(
                        "toolchain `{}`: check `{}` leaves its {} argument `{}` on its default \
                         path `{default_path}`, the repository root's; customize it to the \
                         project directory the check is for (`default_path`), or list `{}` in \
                         `ignore_checks` and say why in `notes`",
                        toolchain.name,
                        check.cli_name,
                        argument.r#type,
                        argument.cli_name,
                        check.cli_name
                    ));
                }
            }
        }
        for pattern in &toolchain.ignore_checks {
            let known = library
                .checks()
                .any(|check| matches_check(pattern, &check.cli_name, &check.name));
            if !known {
                problems.push(format!(
                    "toolchain `{}`: `ignore_checks` names `{pattern}`, which is not a check of \
                     module `{}` (checks: {})",
                    toolchain.name,
                    library.module.name,
                    quote_list(library.checks().map(|check| &check.cli_name))
                ));
            }
        }
    }
    problems
}

/// Whether an `ignoreChecks` pattern (a check name, or a `*` glob) names a check.
fn matches_check(pattern: &str, cli_name: &str, name: &str) -> bool {
    let pattern = pattern.trim();
    if let Some(prefix) = pattern.strip_suffix('*') {
        return cli_name.starts_with(prefix) || name.starts_with(prefix);
    }
    pattern == cli_name || pattern == name
}

/// A fix agent works only on the stack it knows: monty on Python, angie on Angular and
/// TypeScript (a Node directory).
fn agent_stack_problem(fix: &FixAgent, project: &Project) -> Option<String> {
    let directory = fix.directory.trim_start_matches("./").trim_matches('/');
    let directory = if directory == "." { "" } else { directory };
    let stacks: Vec<Stack> = project
        .stacks_in(directory)
        .map(|stack| stack.stack)
        .collect();
    let fits = |stack: &Stack| match fix.agent {
        AgentName::Monty => *stack == Stack::Python,
        AgentName::Angie => matches!(stack, Stack::Angular | Stack::Node),
    };
    if stacks.iter().any(fits) {
        return None;
    }
    let knows = match fix.agent {
        AgentName::Monty => "Python",
        AgentName::Angie => "Angular and TypeScript",
    };
    let found = if stacks.is_empty() {
        "no stack was found there".to_string()
    } else {
        format!(
            "it is a {} directory",
            stacks
                .iter()
                .map(|stack| stack.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        )
    };
    let better = match stacks.first() {
        Some(Stack::Python) => " (use monty)",
        Some(Stack::Angular) => " (use angie)",
        _ => "",
    };
    Some(format!(
        "`{}`: {found}, and {} fixes {knows} only{better}",
        fix.directory,
        fix.agent.as_str()
    ))
}

/// Dagger's secret providers; a Secret argument takes one of these, never the secret itself.
pub const SECRET_PROVIDERS: &[&str] =
    &["env:", "file:", "cmd:", "op://", "vault://", "libsecret://"];

/// What is wrong with a deploy argument's value for its type, if anything.
fn check_value(argument: &Argument, value: &str, project: &Project) -> Option<String> {
    let value = value.trim();
    match argument.r#type.as_str() {
        "Secret"
            if !SECRET_PROVIDERS
                .iter()
                .any(|prefix| value.starts_with(prefix)) =>
        {
            Some(format!(
                "is a Secret: pass a provider such as `env:NAME` (mapped from the repository \
                 secret NAME), not `{}`",
                if value.contains("${{") {
                    value
                } else {
                    "a literal value"
                }
            ))
        }
        "Directory" | "File" if !value.contains("://") && !value.contains("${{") => {
            let expected = if argument.r#type == "Directory" {
                PathKind::Directory
            } else {
                PathKind::File
            };
            match project.path_kind(value) {
                Some(kind) if kind == expected => None,
                Some(kind) => Some(format!(
                    "is a {}, but `{value}` is a {}",
                    argument.r#type,
                    kind_name(kind)
                )),
                None => Some(format!("path `{value}` does not exist in the project")),
            }
        }
        _ => None,
    }
}

fn kind_name(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Directory => "directory",
        PathKind::File => "file",
    }
}

fn is_valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::tests::{argument, function, module};
    use crate::scan::{Argument, Role};

    fn fixture() -> (Catalog, Project, tempfile::TempDir) {
        let temp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(temp.path().join("backend")).unwrap();
        std::fs::write(temp.path().join("backend/pyproject.toml"), "").unwrap();
        let project = Project::detect(temp.path()).unwrap();
        let source = Argument {
            default_path: Some(".".to_string()),
            ..argument("source", "Directory")
        };
        let coverage = Argument {
            optional: true,
            default: Some("true".to_string()),
            ..argument("coverage", "Boolean")
        };
        let catalog = Catalog::from_modules(vec![
            module(
                "backend",
                Role::Module,
                vec![function("test", true, vec![source.clone(), coverage])],
            ),
            module(
                "deploy",
                Role::Module,
                vec![
                    function("scan", true, vec![source]),
                    function(
                        "cloud_run",
                        false,
                        vec![
                            argument("source", "Directory"),
                            argument("project", "String"),
                            argument("region", "String"),
                        ],
                    ),
                ],
            ),
        ]);
        (catalog, project, temp)
    }

    fn customization(function: &str, argument: &str, path: Option<&str>) -> Customization {
        Customization {
            function: vec![function.to_string()],
            argument: argument.to_string(),
            default_path: path.map(str::to_string),
            default: None,
        }
    }

    fn valid_plan() -> Plan {
        Plan {
            toolchains: vec![
                ToolchainPlan {
                    module: "backend".into(),
                    name: "backend".into(),
                    customizations: vec![customization("test", "source", Some("/backend"))],
                    ignore_checks: vec![],
                },
                ToolchainPlan {
                    module: "deploy".into(),
                    name: "deploy".into(),
                    customizations: vec![customization("scan", "source", Some("/backend"))],
                    ignore_checks: vec![],
                },
            ],
            deploy: vec![DeployStep {
                toolchain: "deploy".into(),
                function: "cloud-run".into(),
                args: BTreeMap::from([
                    ("source".into(), "./backend".into()),
                    ("project".into(), "${{ vars.PROJECT }}".into()),
                    ("region".into(), "europe-west1".into()),
                ]),
            }],
            fix_agents: vec![FixAgent {
                agent: AgentName::Monty,
                directory: "backend".into(),
            }],
            notes: String::new(),
        }
    }

    #[test]
    fn a_consistent_plan_is_valid() {
        let (catalog, project, _temp) = fixture();
        assert_eq!(validate(&valid_plan(), &catalog, &project), Ok(()));
    }

    #[test]
    fn reports_every_problem_precisely() {
        let (catalog, project, _temp) = fixture();
        let mut plan = valid_plan();
        plan.toolchains[0].customizations = vec![
            customization("tests", "source", Some("/backend")),
            customization("test", "coverage", Some("/backend")),
            customization("test", "src", Some("/backend")),
        ];
        plan.toolchains[1].customizations = vec![customization("scan", "source", Some("/web"))];
        plan.deploy[0].args.remove("project");
        plan.fix_agents[0].directory = "frontend".into();
        let problems = validate(&plan, &catalog, &project).unwrap_err();
        assert_eq!(
            problems,
            vec![
                "toolchain `backend`: module `backend` has no function `tests` (functions: `test`)",
                "toolchain `backend`: `test` argument `coverage` is a Boolean; a default path only \
                 applies to a Directory or File argument (use `default`)",
                "toolchain `backend`: function `test` has no argument `src` (arguments: \
                 `source`, `coverage`)",
                "toolchain `deploy`: `scan` argument `source`: default path `/web` does not exist \
                 in the project",
                "deploy `deploy cloud-run`: required argument `project` (String) is not provided",
                "toolchain `backend`: check `test` leaves its Directory argument `source` on its \
                 default path `.`, the repository root's; customize it to the project directory \
                 the check is for (`default_path`), or list `test` in `ignore_checks` and say \
                 why in `notes`",
                "fix agent `monty`: directory `frontend` does not exist in the project",
            ]
        );
    }

    #[test]
    fn constructor_arguments_can_be_customized_and_are_checked() {
        let (mut catalog, project, _temp) = fixture();
        catalog.modules[0].module.constructor = vec![
            Argument {
                default_path: Some("/".to_string()),
                ..argument("source", "Directory")
            },
            argument("version", "String"),
        ];
        let constructor =
            |argument: &str, path: Option<&str>, default: Option<&str>| Customization {
                function: Vec::new(),
                argument: argument.to_string(),
                default_path: path.map(str::to_string),
                default: default.map(str::to_string),
            };
        let mut plan = valid_plan();
        plan.toolchains[0].customizations = vec![
            customization("test", "source", Some("/backend")),
            constructor("source", Some("/backend"), None),
            constructor("version", None, Some("3.12")),
        ];
        assert_eq!(validate(&plan, &catalog, &project), Ok(()));
        plan.toolchains[0].customizations = vec![
            customization("test", "source", Some("/backend")),
            constructor("src", Some("/backend"), None),
            constructor("version", Some("/backend"), None),
        ];
        assert_eq!(
            validate(&plan, &catalog, &project).unwrap_err(),
            vec![
                "toolchain `backend`: the constructor of module `backend` has no argument `src` \
                 (arguments: `source`, `version`)",
                "toolchain `backend`: constructor argument `version` is a String; a default path \
                 only applies to a Directory or File argument (use `default`)",
            ]
        );
    }

    #[test]
    fn unknown_modules_toolchains_and_check_deploys_are_refused() {
        let (catalog, project, _temp) = fixture();
        let mut plan = valid_plan();
        plan.toolchains[0].module = "python".into();
        plan.toolchains.push(ToolchainPlan {
            module: "deploy".into(),
            name: "deploy".into(),
            customizations: vec![],
            ignore_checks: vec![],
        });
        plan.deploy.push(DeployStep {
            toolchain: "deploy".into(),
            function: "scan".into(),
            args: BTreeMap::new(),
        });
        plan.deploy.push(DeployStep {
            toolchain: "ship".into(),
            function: "cloud-run".into(),
            args: BTreeMap::new(),
        });
        let problems = validate(&plan, &catalog, &project).unwrap_err();
        assert_eq!(
            problems,
            vec![
                "toolchain `backend`: module `python` is not in the catalog (known: `backend`, \
                 `deploy`)",
                "toolchain `deploy`: the name is used by more than one toolchain",
                "deploy `deploy scan`: `scan` is a check; `dagger check` runs it, a deploy step \
                 should not",
                "deploy `ship cloud-run`: no toolchain named `ship` in the plan",
                "toolchain `deploy`: check `scan` leaves its Directory argument `source` on its \
                 default path `.`, the repository root's; customize it to the project directory \
                 the check is for (`default_path`), or list `scan` in `ignore_checks` and say \
                 why in `notes`",
            ]
        );
    }

    #[test]
    fn deploy_values_must_fit_their_types() {
        let (mut catalog, project, _temp) = fixture();
        let deploy = &mut catalog.modules[1].module.functions[1];
        deploy.args.push(argument("token", "Secret"));
        let mut plan = valid_plan();
        plan.deploy[0]
            .args
            .insert("token".into(), "${{ secrets.TOKEN }}".into());
        plan.deploy[0].args.insert("source".into(), "./web".into());
        let problems = validate(&plan, &catalog, &project).unwrap_err();
        assert_eq!(
            problems,
            vec![
                "deploy `deploy cloud-run`: argument `source` path `./web` does not exist in the \
                 project",
                "deploy `deploy cloud-run`: argument `token` is a Secret: pass a provider such as \
                 `env:NAME` (mapped from the repository secret NAME), not `${{ secrets.TOKEN }}`",
            ]
        );
        plan.deploy[0]
            .args
            .insert("token".into(), "env:TOKEN".into());
        plan.deploy[0]
            .args
            .insert("source".into(), "./backend/pyproject.toml".into());
        let problems = validate(&plan, &catalog, &project).unwrap_err();
        assert_eq!(
            problems,
            vec![
                "deploy `deploy cloud-run`: argument `source` is a Directory, but \
                 `./backend/pyproject.toml` is a file"
            ]
        );
    }

    #[test]
    fn the_schema_names_the_contract_fields() {
        let schema = schema().to_string();
        for field in [
            "toolchains",
            "customizations",
            "default_path",
            "deploy",
            "fix_agents",
            "monty",
            "angie",
            "notes",
        ] {
            assert!(schema.contains(field), "{field} missing from {schema}");
        }
    }
}
