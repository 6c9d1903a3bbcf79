//! The `dagger-module.toml` model (Dagger 1.0, beta.3 onward): a module's own config with `name`,
//! `engineVersion`, `source`, `include`, `[runtime]` and `[[dependencies]]`. Read leniently and
//! turned into the [`DaggerJson`] shape the rest of the scanner already understands.

use serde::Deserialize;

use super::dagger_json::{DaggerJson, Dependency, Sdk, dependency_name};

/// The module config file of Dagger 1.0.
pub const FILE_NAME: &str = "dagger-module.toml";

/// Why a `dagger-module.toml` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModuleTomlError {
    #[error("invalid dagger-module.toml: {0}")]
    Invalid(String),
}

/// One `dagger-module.toml` (Dagger's `dagger-module.schema.json`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleToml {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub engine_version: Option<String>,
    /// The implementation directory, relative to the config file.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub include: Vec<String>,
    /// Deprecated in favour of `!` entries in `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub runtime: Option<Runtime>,
    #[serde(default)]
    pub dependencies: Vec<ModuleDependency>,
}

/// `[runtime]`: the SDK the module is written with (`go`, `python`, `typescript`, `dang`, a ref).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Runtime {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub pin: Option<String>,
}

/// One `[[dependencies]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModuleDependency {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub pin: Option<String>,
}

/// Parse the text of a `dagger-module.toml`.
pub fn parse(text: &str) -> Result<ModuleToml, ModuleTomlError> {
    toml::from_str(text).map_err(|error| ModuleTomlError::Invalid(error.message().to_string()))
}

impl ModuleToml {
    /// The same facts in the legacy `dagger.json` shape, so both formats share one scan path.
    pub fn to_dagger_json(&self) -> DaggerJson {
        let mut include = self.include.clone();
        include.extend(
            self.exclude
                .iter()
                .map(|pattern| format!("!{}", pattern.trim_start_matches('!'))),
        );
        DaggerJson {
            name: self.name.clone(),
            engine_version: self.engine_version.clone(),
            sdk: self
                .runtime
                .as_ref()
                .filter(|runtime| !runtime.source.trim().is_empty())
                .map(|runtime| Sdk::new(runtime.source.clone())),
            include,
            dependencies: self
                .dependencies
                .iter()
                .map(|dependency| {
                    let name = dependency
                        .name
                        .clone()
                        .unwrap_or_else(|| dependency_name(&dependency.source));
                    let mut converted = Dependency::new(name, dependency.source.clone());
                    converted.pin = dependency.pin.clone();
                    converted
                })
                .collect(),
            source: self.source.clone(),
            ..DaggerJson::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runtime_dependencies_and_include() {
        let file = parse(
            "name = \"cli-dev\"\nengineVersion = \"v1.0.0-0\"\ninclude = [\"../../../go.mod\"]\n\n[runtime]\n  source = \"go\"\n\n[[dependencies]]\n  name = \"alpine\"\n  source = \"../../../modules/alpine\"\n\n[[dependencies]]\n  source = \"github.com/dagger/go@5683fb4\"\n  pin = \"5683fb4f7e2e909a453eba727fb982077d5d11b5\"\n\n[codegen]\n  automaticGitignore = false\n",
        )
        .unwrap();
        let json = file.to_dagger_json();
        assert_eq!(json.name, "cli-dev");
        assert_eq!(json.engine_version.as_deref(), Some("v1.0.0-0"));
        assert_eq!(json.sdk_source(), Some("go"));
        assert_eq!(json.include, ["../../../go.mod"]);
        let names: Vec<&str> = json.dependencies.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["alpine", "go"]);
        assert_eq!(
            json.dependencies[1].pin.as_deref(),
            Some("5683fb4f7e2e909a453eba727fb982077d5d11b5")
        );
        assert_eq!(json.source_dir(), ".");
    }

    #[test]
    fn rejects_broken_toml() {
        assert!(parse("name = ").is_err());
    }
}
