//! The scanner's output: modules, their functions and arguments, in the JSON shape of
//! CONTRACTS §4.1. Field order here is the order in the JSON.

use serde::{Deserialize, Serialize};

/// The result of scanning one or more sources. A broken module or source does not stop a scan:
/// it becomes a `problems` entry on its module, or an `errors` entry here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub modules: Vec<Module>,
    pub errors: Vec<ScanError>,
    /// What the scanned directory's `dagger.toml` installs (Dagger 1.0), when it has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub workspace: Option<super::workspace::Workspace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanError {
    pub source: String,
    pub message: String,
}

/// The file a module is defined by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConfigFormat {
    /// `dagger.json`: engines v0.x, still read by 1.0 with a warning.
    #[default]
    #[serde(rename = "dagger.json")]
    DaggerJson,
    /// `dagger-module.toml`: Dagger 1.0.
    #[serde(rename = "dagger-module.toml")]
    ModuleToml,
}

impl ConfigFormat {
    pub fn file_name(self) -> &'static str {
        match self {
            ConfigFormat::DaggerJson => "dagger.json",
            ConfigFormat::ModuleToml => "dagger-module.toml",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A library module: what a project would install.
    #[default]
    Module,
    /// A module under an `examples/` directory.
    Example,
    /// A test module or test data.
    Test,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The module's name from `dagger.json`.
    pub name: String,
    /// The directory holding `dagger.json`, relative to the scanned root (`""` for the root).
    pub path: String,
    /// For git sources: `github.com/owner/repo` (no scheme, no `.git`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repository: Option<String>,
    /// For git sources: the ref a `dagger.json` would install, `<repository>/<path>@<tag or branch>`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub r#ref: Option<String>,
    /// For git sources: the resolved version tag (`v1.10.0`), or the branch name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// For git sources: the commit the ref resolved to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<String>,
    /// `python`, `typescript`, `go`, `java`, … (`None` for a module with no SDK).
    pub sdk: Option<String>,
    pub engine_version: Option<String>,
    /// Which file defines the module: `dagger.json` (legacy) or `dagger-module.toml` (1.0).
    #[serde(default)]
    pub config_format: ConfigFormat,
    /// The main object's doc (or the module's), first paragraph.
    pub description: Option<String>,
    pub role: Role,
    /// The PascalCase name of the main object (Dagger's rules).
    pub main_object: String,
    /// The main object's functions, in source order.
    pub functions: Vec<Function>,
    /// The constructor's arguments (what a toolchain customization without `function` sets).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub constructor: Vec<Argument>,
    /// The cli names of check functions that need no required argument, sorted; checks on
    /// objects the main object returns are named by path, as `dagger check` names them
    /// (`test:lint`).
    pub checks: Vec<String>,
    /// The cli names of generator functions (`@generate`) that need no required argument, sorted.
    #[serde(default)]
    pub generators: Vec<String>,
    /// What was odd or unreadable about this module; the rest of it is still reported.
    pub problems: Vec<String>,
}

impl Module {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|function| function.name == name || function.cli_name == name)
    }

    /// The argument a toolchain customization (`function` chain + `argument`) would change,
    /// matched as the engine matches it: case-insensitively, in any of the SDK, API
    /// (lowerCamel) or CLI (kebab) spellings. An empty chain means the constructor. Chains
    /// through other objects (`["test", "lint"]`) are not resolvable from a scan: `None`.
    pub fn customization_target(&self, function: &[String], argument: &str) -> Option<&Argument> {
        let arguments = match function {
            [] => &self.constructor,
            [name] => {
                &self
                    .functions
                    .iter()
                    .find(|candidate| same_name(&candidate.name, name))?
                    .args
            }
            _ => return None,
        };
        arguments
            .iter()
            .find(|candidate| same_name(&candidate.name, argument))
    }
}

/// Names equal once case, `_` and `-` are ignored (`scan_source` = `scanSource` = `scan-source`).
pub fn same_name(left: &str, right: &str) -> bool {
    let normalise = |name: &str| -> String {
        name.chars()
            .filter(|character| *character != '_' && *character != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    normalise(left) == normalise(right)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// The name as written in the source.
    pub name: String,
    /// The kebab-case name the Dagger CLI uses.
    pub cli_name: String,
    pub check: bool,
    /// A generator (`@generate`, `+generate`): returns a changeset `dagger generate` applies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generate: bool,
    pub doc: Option<String>,
    /// The return type in Dagger's names (`String`, `Container`, `[String]`, `Void`…).
    pub returns: String,
    pub args: Vec<Argument>,
}

impl Function {
    pub fn argument(&self, name: &str) -> Option<&Argument> {
        self.args
            .iter()
            .find(|argument| argument.name == name || argument.cli_name == name)
    }

    /// Arguments a caller must give: not optional, no default, no default path or address.
    pub fn required_args(&self) -> impl Iterator<Item = &Argument> {
        self.args.iter().filter(|argument| argument.is_required())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Argument {
    pub name: String,
    pub cli_name: String,
    /// Dagger's type name.
    pub r#type: String,
    pub optional: bool,
    /// The default value as source text, JSON-encoded where it is a literal (`"\"3.12\""`, `"3"`).
    pub default: Option<String>,
    /// `DefaultPath` / `+defaultPath` / `defaultPath`: a contextual directory or file.
    pub default_path: Option<String>,
    /// `Ignore` patterns that come with a default path.
    pub ignore: Vec<String>,
    pub doc: Option<String>,
    /// `DefaultAddress` / `+defaultAddress`: a contextual container image address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_address: Option<String>,
}

impl Argument {
    pub fn is_required(&self) -> bool {
        !self.optional
            && self.default.is_none()
            && self.default_path.is_none()
            && self.default_address.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument(name: &str) -> Argument {
        crate::scan::test_support::argument(name, "String")
    }

    #[test]
    fn customizations_match_names_the_way_the_engine_does() {
        let module = Module {
            name: "demo".into(),
            main_object: "Demo".into(),
            functions: vec![Function {
                name: "scan_source".into(),
                cli_name: "scan-source".into(),
                check: true,
                generate: false,
                doc: None,
                returns: "String".into(),
                args: vec![argument("source_dir")],
            }],
            constructor: vec![argument("base_image")],
            ..Module::default()
        };
        for function in ["scanSource", "ScanSource", "scan_source", "scan-source"] {
            let target = module.customization_target(&[function.to_string()], "sourceDir");
            assert_eq!(target.map(|a| a.name.as_str()), Some("source_dir"));
        }
        assert!(module.customization_target(&[], "base-image").is_some());
        assert!(
            module
                .customization_target(&["lint".into()], "source")
                .is_none()
        );
        assert!(
            module
                .customization_target(&["scan".into(), "lint".into()], "source")
                .is_none()
        );
    }
}
