//! The one task → verb mapping of speck: which entrypoints of agentci's own agents `speck run`
//! can start, the inputs each needs (the task's text as assignment, focus, question or error
//! output; an upgrade's target package and version), whether it needs `--allow-exec`, and the
//! exact arguments that start it. `decompose` asks it whether an assignment can run; `run` and
//! `--dry-run` ask it for the command.

use std::fmt::Write as _;
use std::path::Path;

use super::tasks::{RegistryAgent, Task};

/// The source of the agents this binary ships and `speck run` can start.
pub const AGENTCI: &str = "agentci";

/// The flag that carries the task's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFlag {
    Assignment,
    Focus,
    Question,
    /// `debug` starts from the failing output (`error_text`), not from the task's text.
    None,
}

/// An input the task must carry in its own typed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    TargetPackage,
    TargetVersion,
    ErrorText,
}

impl Input {
    /// The task field that holds it.
    pub fn field(self) -> &'static str {
        match self {
            Input::TargetPackage => "target_package",
            Input::TargetVersion => "target_version",
            Input::ErrorText => "error_text",
        }
    }
}

/// One entrypoint of one of agentci's agents.
#[derive(Debug)]
pub struct Entrypoint {
    pub agents: &'static [&'static str],
    pub name: &'static str,
    pub text: TextFlag,
    /// Runs commands: started only with `speck run --allow-exec`, which it is passed.
    pub needs_exec: bool,
    /// Prints review findings rather than a report.
    pub findings: bool,
}

const CODERS: &[&str] = &["monty", "angie"];
const DAGGIE: &[&str] = &["daggie"];

/// Every entrypoint `speck run` can start.
pub const ENTRYPOINTS: &[Entrypoint] = &[
    Entrypoint {
        agents: CODERS,
        name: "assist",
        text: TextFlag::Assignment,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: CODERS,
        name: "write-tests",
        text: TextFlag::Assignment,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: CODERS,
        name: "build",
        text: TextFlag::Assignment,
        needs_exec: true,
        findings: false,
    },
    Entrypoint {
        agents: CODERS,
        name: "upgrade",
        text: TextFlag::Assignment,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: CODERS,
        name: "review",
        text: TextFlag::Focus,
        needs_exec: false,
        findings: true,
    },
    Entrypoint {
        agents: DAGGIE,
        name: "assist",
        text: TextFlag::Assignment,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: DAGGIE,
        name: "explain",
        text: TextFlag::Question,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: DAGGIE,
        name: "debug",
        text: TextFlag::None,
        needs_exec: false,
        findings: false,
    },
    Entrypoint {
        agents: DAGGIE,
        name: "review",
        text: TextFlag::Focus,
        needs_exec: false,
        findings: true,
    },
];

/// The entrypoint `name` of agentci's agent `agent`.
pub fn find(agent: &str, name: &str) -> Option<&'static Entrypoint> {
    let name = name.replace('_', "-");
    ENTRYPOINTS
        .iter()
        .find(|entrypoint| entrypoint.name == name && entrypoint.agents.contains(&agent))
}

impl Entrypoint {
    /// The inputs `agent`'s entrypoint needs in the task's typed fields.
    pub fn required(&self, agent: &str) -> &'static [Input] {
        match (self.name, agent) {
            ("upgrade", "angie") => &[Input::TargetVersion],
            ("upgrade", _) => &[Input::TargetPackage, Input::TargetVersion],
            ("debug", _) => &[Input::ErrorText],
            _ => &[],
        }
    }
}

/// Can `speck run` start `entrypoint` of `agent`? Agents from other sources are for the CI
/// matrix and are not judged here.
pub fn startable(agent: &RegistryAgent, entrypoint: &str) -> bool {
    agent.source != AGENTCI || find(&agent.name, entrypoint).is_some()
}

/// The typed inputs a task carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub target_package: Option<&'a str>,
    pub target_version: Option<&'a str>,
    pub error_text: Option<&'a str>,
}

impl<'a> Inputs<'a> {
    pub fn of(task: &'a Task) -> Self {
        Self {
            target_package: task.target_package.as_deref(),
            target_version: task.target_version.as_deref(),
            error_text: task.error_text.as_deref(),
        }
    }

    fn get(&self, input: Input) -> Option<&'a str> {
        match input {
            Input::TargetPackage => self.target_package,
            Input::TargetVersion => self.target_version,
            Input::ErrorText => self.error_text,
        }
        .map(str::trim)
        .filter(|value| !value.is_empty())
    }
}

/// The fields `agent`'s `entrypoint` needs that `inputs` lacks (empty for agents of other
/// sources, and for entrypoints that need nothing more).
pub fn missing(agent: &str, entrypoint: &str, inputs: &Inputs<'_>) -> Vec<&'static str> {
    let Some(found) = find(agent, entrypoint) else {
        return Vec::new();
    };
    found
        .required(agent)
        .iter()
        .filter(|input| inputs.get(**input).is_none())
        .map(|input| input.field())
        .collect()
}

/// Why a task cannot be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoAgent,
    Foreign {
        agent: String,
        source: String,
    },
    Unknown {
        agent: String,
        entrypoint: String,
    },
    Missing {
        entrypoint: String,
        fields: Vec<String>,
    },
    NeedsExec,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NoAgent => write!(formatter, "no agent is suggested for this task"),
            Refusal::Foreign { agent, source } => write!(
                formatter,
                "agent `{agent}` comes from `{source}`, which speck run cannot start; run it from the CI matrix"
            ),
            Refusal::Unknown { agent, entrypoint } => {
                write!(formatter, "`{agent}` has no entrypoint `{entrypoint}`")
            }
            Refusal::Missing { entrypoint, fields } => write!(
                formatter,
                "`{entrypoint}` needs `{}` in the task",
                fields.join("`, `")
            ),
            Refusal::NeedsExec => write!(formatter, "needs --allow-exec"),
        }
    }
}

/// How to start one task: the arguments after `agentci` (and the global flags the run adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub arguments: Vec<String>,
    pub findings: bool,
}

impl Invocation {
    /// The command as a shell line, for `--dry-run` and messages.
    pub fn command_line(&self) -> String {
        let mut line = String::from("agentci");
        for argument in &self.arguments {
            line.push(' ');
            line.push_str(&crate::support::quote_word(argument));
        }
        line
    }
}

/// The task's text for the agent: title, description, definition of done, files.
pub fn task_text(task: &Task) -> String {
    let mut text = format!("{}\n\n{}", task.title, task.description);
    if !task.definition_of_done.is_empty() {
        text.push_str("\n\nDefinition of done:\n");
        for item in &task.definition_of_done {
            let _ = writeln!(text, "- {item}");
        }
    }
    if !task.files_to_modify.is_empty() {
        let _ = writeln!(text, "\nFiles: {}", task.files_to_modify.join(", "));
    }
    text
}

/// The arguments that run `task` in `workspace`, or why it cannot run.
pub fn invocation(task: &Task, workspace: &Path, allow_exec: bool) -> Result<Invocation, Refusal> {
    let agent = task.suggested_agent.as_ref().ok_or(Refusal::NoAgent)?;
    if agent.source != AGENTCI {
        return Err(Refusal::Foreign {
            agent: agent.name.clone(),
            source: agent.source.clone(),
        });
    }
    let entrypoint = find(&agent.name, &agent.entrypoint).ok_or_else(|| Refusal::Unknown {
        agent: agent.name.clone(),
        entrypoint: agent.entrypoint.clone(),
    })?;
    let inputs = Inputs::of(task);
    let lacking = missing(&agent.name, entrypoint.name, &inputs);
    if !lacking.is_empty() {
        return Err(Refusal::Missing {
            entrypoint: entrypoint.name.to_owned(),
            fields: lacking.into_iter().map(str::to_owned).collect(),
        });
    }
    if entrypoint.needs_exec && !allow_exec {
        return Err(Refusal::NeedsExec);
    }
    let mut arguments = vec![
        agent.name.clone(),
        entrypoint.name.to_owned(),
        "--source".to_owned(),
        workspace.display().to_string(),
    ];
    let text = task_text(task);
    match entrypoint.text {
        TextFlag::Assignment => arguments.extend(["--assignment".to_owned(), text]),
        TextFlag::Focus => arguments.extend(["--focus".to_owned(), text]),
        TextFlag::Question => arguments.extend(["--question".to_owned(), text]),
        TextFlag::None => {}
    }
    for input in entrypoint.required(&agent.name) {
        let flag = match input {
            Input::TargetPackage => "--target-package",
            Input::TargetVersion => "--target-version",
            Input::ErrorText => "--error-output",
        };
        if let Some(value) = inputs.get(*input) {
            arguments.extend([flag.to_owned(), value.to_owned()]);
        }
    }
    if entrypoint.needs_exec {
        arguments.push("--allow-exec".to_owned());
    }
    Ok(Invocation {
        arguments,
        findings: entrypoint.findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::speck::tasks::builtin_registry;

    #[test]
    fn every_builtin_capability_is_startable() {
        for agent in builtin_registry() {
            for capability in &agent.capabilities {
                assert!(startable(&agent, capability), "{} {capability}", agent.name);
            }
        }
    }

    #[test]
    fn upgrade_needs_its_target() {
        let none = Inputs::default();
        assert_eq!(
            missing("monty", "upgrade", &none),
            ["target_package", "target_version"]
        );
        assert_eq!(missing("angie", "upgrade", &none), ["target_version"]);
        assert_eq!(missing("daggie", "debug", &none), ["error_text"]);
        assert!(missing("monty", "assist", &none).is_empty());
    }

    #[test]
    fn quoting() {
        assert_eq!(crate::support::quote_word("--source"), "--source");
        assert_eq!(crate::support::quote_word("it's here"), r"'it'\''s here'");
    }
}
