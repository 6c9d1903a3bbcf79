//! The catalog daggie plans from: the library modules of the scanned sources (examples and test
//! modules left out), and its compact rendering for a model, far smaller than the raw sources.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::scan::{Argument, Function, Module, Role};

/// One library module and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryModule {
    pub module: Module,
    /// The module's directory when it was scanned from a local directory; `None` for git
    /// sources, which carry a `ref` instead.
    pub location: Option<PathBuf>,
}

impl LibraryModule {
    /// The check functions `dagger check` runs: marked as checks and callable with no argument.
    pub fn checks(&self) -> impl Iterator<Item = &Function> {
        self.module
            .functions
            .iter()
            .filter(|function| is_check(function))
    }

    /// Every function that is not a check.
    pub fn other_functions(&self) -> impl Iterator<Item = &Function> {
        self.module
            .functions
            .iter()
            .filter(|function| !is_check(function))
    }

    /// What a toolchain's `source` says: the git ref when there is one, else the path from the
    /// project root to the local module directory.
    pub fn install_source(&self, project_root: &Path) -> String {
        if let Some(reference) = &self.module.r#ref {
            return reference.clone();
        }
        match (&self.location, &self.module.repository) {
            (Some(location), _) => relative_path(project_root, location),
            (None, Some(repository)) if self.module.path.is_empty() => repository.clone(),
            (None, Some(repository)) => format!("{repository}/{}", self.module.path),
            (None, None) => self.module.path.clone(),
        }
    }
}

/// A check in Dagger's sense: marked as one, and without required arguments (the engine drops
/// a check that has one, silently).
pub fn is_check(function: &Function) -> bool {
    function.check && function.required_args().next().is_none()
}

/// The modules a plan may use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub modules: Vec<LibraryModule>,
    /// What was left out or odd, for the summary (duplicates, scan errors).
    pub warnings: Vec<String>,
}

impl Catalog {
    /// Add the library modules of one scanned source. `root` is the scanned directory for a
    /// local source. Examples and test modules are left out; a second module with a name already
    /// in the catalog is left out with a warning (toolchain names must be unique).
    pub fn add(&mut self, source: &str, root: Option<&Path>, modules: Vec<Module>) {
        for module in modules {
            if module.role != Role::Module {
                continue;
            }
            if self.module(&module.name).is_some() {
                self.warnings.push(format!(
                    "module `{}` from `{source}` left out: a module of that name is already in \
                     the catalog",
                    module.name
                ));
                continue;
            }
            for problem in &module.problems {
                self.warnings
                    .push(format!("module `{}`: {problem}", module.name));
            }
            let location = root.map(|root| {
                if module.path.is_empty() {
                    root.to_path_buf()
                } else {
                    root.join(&module.path)
                }
            });
            self.modules.push(LibraryModule { module, location });
        }
    }

    pub fn from_modules(modules: Vec<Module>) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.add("catalog", None, modules);
        catalog
    }

    pub fn module(&self, name: &str) -> Option<&LibraryModule> {
        self.modules
            .iter()
            .find(|library| library.module.name == name)
    }

    pub fn has_checks(&self) -> bool {
        self.modules
            .iter()
            .any(|library| library.checks().next().is_some())
    }

    /// The compact view a model sees.
    pub fn compact(&self) -> Vec<CompactModule> {
        self.modules.iter().map(CompactModule::from).collect()
    }

    /// The compact view as short text, one line per function.
    pub fn render_text(&self) -> String {
        render_modules(self.compact())
    }

    /// One module's compact view, as `describe_module` answers it.
    pub fn describe(&self, name: &str) -> Option<String> {
        self.module(name)
            .map(|library| render_modules(vec![CompactModule::from(library)]))
    }

    /// The tiered view the planner model starts from: the modules in `full` with every check
    /// and argument, every other module as one line (name, one-line description, check names),
    /// to be read in full with `describe_module` when needed.
    pub fn render_tiered(&self, full: &std::collections::BTreeSet<String>) -> String {
        let detailed: Vec<CompactModule> = self
            .modules
            .iter()
            .filter(|library| full.contains(&library.module.name))
            .map(CompactModule::from)
            .collect();
        let mut text = render_modules(detailed);
        let others: Vec<&LibraryModule> = self
            .modules
            .iter()
            .filter(|library| !full.contains(&library.module.name))
            .collect();
        if !others.is_empty() {
            text.push_str(
                "## Other modules (one line each; `describe_module` gives one in full)\n",
            );
            for library in others {
                let module = &library.module;
                text.push_str(&format!("- {}", module.name));
                if let Some(description) = module.description.as_deref().map(first_line)
                    && !description.is_empty()
                {
                    text.push_str(&format!(": {}", truncate_line(&description, 100)));
                }
                let checks: Vec<&str> = library
                    .checks()
                    .map(|check| check.cli_name.as_str())
                    .collect();
                if !checks.is_empty() {
                    text.push_str(&format!(" [checks: {}]", checks.join(", ")));
                }
                text.push('\n');
            }
        }
        text
    }
}

fn truncate_line(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit).collect();
    format!("{}…", cut.trim_end())
}

fn render_modules(modules: Vec<CompactModule>) -> String {
    let mut text = String::new();
    for module in modules {
        text.push_str(&format!("## {}", module.module));
        if let Some(version) = &module.version {
            text.push_str(&format!(" {version}"));
        }
        text.push('\n');
        if let Some(description) = &module.description {
            text.push_str(&format!("{description}\n"));
        }
        text.push_str(&format!("source: {}\n", module.source));
        if let Some(engine) = &module.engine_version {
            text.push_str(&format!("engineVersion: {engine}\n"));
        }
        for (label, functions) in [("check", &module.checks), ("fn", &module.functions)] {
            for function in functions {
                let args: Vec<String> = function.args.iter().map(render_argument).collect();
                text.push_str(&format!(
                    "- {label} {}({}) -> {}",
                    function.name,
                    args.join(", "),
                    function.returns
                ));
                if let Some(doc) = &function.doc {
                    text.push_str(&format!(": {doc}"));
                }
                text.push('\n');
            }
        }
        text.push('\n');
    }
    text
}

fn render_argument(argument: &CompactArgument) -> String {
    let mut text = format!("{}: {}", argument.name, argument.r#type);
    if argument.required {
        text.push('!');
    }
    if let Some(path) = &argument.default_path {
        text.push_str(&format!(" = path {path}"));
    } else if let Some(default) = &argument.default {
        text.push_str(&format!(" = {default}"));
    }
    if let Some(doc) = &argument.doc {
        text.push_str(&format!(" \"{doc}\""));
    }
    text
}

/// A module as the planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompactModule {
    pub module: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The git ref, or the local path of the module.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// Checks with all their arguments (each can be customized).
    pub checks: Vec<CompactFunction>,
    /// Other functions with their required arguments, and the Directory/File/Secret ones.
    pub functions: Vec<CompactFunction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompactFunction {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    pub returns: String,
    pub args: Vec<CompactArgument>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompactArgument {
    pub name: String,
    pub r#type: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

impl From<&LibraryModule> for CompactModule {
    fn from(library: &LibraryModule) -> Self {
        let module = &library.module;
        CompactModule {
            module: module.name.clone(),
            description: module.description.as_deref().map(first_line),
            source: module
                .r#ref
                .clone()
                .unwrap_or_else(|| match &library.location {
                    Some(location) => location.display().to_string(),
                    None => module.path.clone(),
                }),
            version: module.version.clone(),
            engine_version: module.engine_version.clone(),
            checks: library
                .checks()
                .map(|function| compact_function(function, true))
                .collect(),
            functions: library
                .other_functions()
                .map(|function| compact_function(function, false))
                .collect(),
        }
    }
}

fn compact_function(function: &Function, all_arguments: bool) -> CompactFunction {
    let keep = |argument: &&Argument| {
        all_arguments
            || argument.is_required()
            || matches!(argument.r#type.as_str(), "Directory" | "File" | "Secret")
    };
    CompactFunction {
        name: function.cli_name.clone(),
        doc: function.doc.as_deref().map(first_line),
        returns: function.returns.clone(),
        args: function
            .args
            .iter()
            .filter(keep)
            .map(|argument| CompactArgument {
                name: argument.cli_name.clone(),
                r#type: argument.r#type.clone(),
                required: argument.is_required(),
                default_path: argument.default_path.clone(),
                default: argument.default.clone(),
                doc: argument.doc.as_deref().map(first_line),
            })
            .collect(),
    }
}

fn first_line(text: &str) -> String {
    text.trim()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `to` relative to `from`, with `/` separators (`../modules/backend`). Both are made absolute
/// first so that `examples/monorepo` and `examples/modules` relate as siblings.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let absolute = |path: &Path| {
        path.canonicalize().unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|current| current.join(path))
                .unwrap_or_else(|_| path.to_path_buf())
        })
    };
    let from = absolute(from);
    let to = absolute(to);
    let from_parts: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from_parts
        .iter()
        .zip(&to_parts)
        .take_while(|(left, right)| left == right)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); from_parts.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|part| part.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub use crate::scan::test_support::argument;

    pub fn function(name: &str, check: bool, args: Vec<Argument>) -> Function {
        Function {
            name: name.to_string(),
            cli_name: name.replace('_', "-"),
            check,
            generate: false,
            doc: None,
            returns: "String".to_string(),
            args,
        }
    }

    pub fn module(name: &str, role: Role, functions: Vec<Function>) -> Module {
        Module {
            name: name.to_string(),
            path: name.to_string(),
            repository: None,
            r#ref: None,
            version: None,
            pin: None,
            sdk: Some("python".to_string()),
            engine_version: Some("v0.20.3".to_string()),
            description: None,
            role,
            main_object: name.to_string(),
            checks: functions
                .iter()
                .filter(|function| is_check(function))
                .map(|function| function.cli_name.clone())
                .collect(),
            functions,
            problems: Vec::new(),
            constructor: Vec::new(),
            ..Module::default()
        }
    }

    fn source() -> Argument {
        Argument {
            default_path: Some(".".to_string()),
            doc: Some("Source directory\nwith more lines".to_string()),
            ..argument("source", "Directory")
        }
    }

    #[test]
    fn keeps_library_modules_only_and_splits_checks_from_functions() {
        let library = module(
            "backend",
            Role::Module,
            vec![
                function("test", true, vec![source()]),
                function("needs_input", true, vec![argument("name", "String")]),
                function(
                    "build",
                    false,
                    vec![
                        argument("source", "Directory"),
                        Argument {
                            optional: true,
                            default: Some("8080".to_string()),
                            ..argument("port", "Int")
                        },
                    ],
                ),
            ],
        );
        let example = module("backend-example", Role::Example, vec![]);
        let catalog = Catalog::from_modules(vec![library, example]);
        assert_eq!(catalog.modules.len(), 1);
        let compact = catalog.compact();
        let checks: Vec<&str> = compact[0].checks.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(checks, vec!["test"]);
        let functions: Vec<&str> = compact[0]
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(functions, vec!["needs-input", "build"]);
        // Optional scalars of non-check functions are left out of the compact view.
        assert_eq!(compact[0].functions[1].args.len(), 1);
        let text = catalog.render_text();
        assert!(
            text.contains(
                "- check test(source: Directory = path . \"Source directory\") -> String"
            )
        );
        assert!(text.contains("- fn build(source: Directory!) -> String"));
    }

    #[test]
    fn duplicate_module_names_are_reported() {
        let mut catalog = Catalog::default();
        catalog.add("a", None, vec![module("deploy", Role::Module, vec![])]);
        catalog.add("b", None, vec![module("deploy", Role::Module, vec![])]);
        assert_eq!(catalog.modules.len(), 1);
        assert!(catalog.warnings[0].contains("`deploy` from `b`"));
    }

    #[test]
    fn relative_paths_between_siblings() {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("examples/monorepo");
        let modules = temp.path().join("examples/modules/backend");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(&modules).unwrap();
        assert_eq!(relative_path(&project, &modules), "../modules/backend");
        assert_eq!(relative_path(&project, &project), ".");
    }
}
