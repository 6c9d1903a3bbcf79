//! The `dagger.json` model (engine v0.16 – v0.21): lenient when reading (legacy string forms,
//! legacy toolchain `arguments`, unknown fields kept), strict when writing (object `sdk`,
//! `customizations` keyed by `argument`, `default` always a string, `exclude` folded into
//! `include`, Dagger's own key order, 2-space JSON with a trailing newline).
//!
//! Building a toolchain-only file, as daggie renders it:
//! ```
//! use agentci::scan::dagger_json::{self, Customization, DaggerJson, Dependency};
//! let mut file = DaggerJson::new("app", "v0.20.3");
//! file.toolchains.push(
//!     Dependency::new("acme-backend", "github.com/acme/dagger-modules/acme-backend@acme-backend/v1.0.0")
//!         .with_pin("303ec6a0000000000000000000000000000000aa")
//!         .with_customization(Customization::new("source").on(["test"]).with_default_path("/backend")),
//! );
//! let text = dagger_json::to_string_pretty(&file);
//! assert_eq!(dagger_json::parse(&text).unwrap(), file);
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Why a `dagger.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DaggerJsonError {
    #[error("invalid dagger.json at line {line}, column {column}: {message}")]
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
}

impl From<serde_json::Error> for DaggerJsonError {
    fn from(error: serde_json::Error) -> Self {
        let message = error.to_string();
        // serde_json appends " at line L column C" to its message; keep the message short.
        let message = match message.rfind(" at line ") {
            Some(position) => message[..position].to_string(),
            None => message,
        };
        DaggerJsonError::Invalid {
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}

/// One `dagger.json`. Field order is the order Dagger itself writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaggerJson {
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    /// Required by Dagger; read as `""` when absent so the rest of a broken file is still usable.
    #[serde(default)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub engine_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sdk: Option<Sdk>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub blueprint: Option<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub toolchains: Vec<Dependency>,
    /// Paths relative to `dagger.json`; a `!` prefix excludes.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dependencies: Vec<Dependency>,
    /// The SDK source directory, relative to `dagger.json` (see [`DaggerJson::source_dir`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub codegen: Option<Codegen>,
    /// Deprecated: read, but written as `!`-prefixed `include` entries.
    #[serde(skip_serializing, default)]
    pub exclude: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub clients: Vec<Client>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub disable_default_function_caching: Option<bool>,
    /// Fields this model does not know (newer engines), kept so that a rewrite loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DaggerJson {
    /// A file with only a name and an engine version: the start of a toolchain host.
    pub fn new(name: impl Into<String>, engine_version: impl Into<String>) -> Self {
        DaggerJson {
            name: name.into(),
            engine_version: Some(engine_version.into()),
            ..DaggerJson::default()
        }
    }

    /// The SDK source directory relative to `dagger.json`: `source`, else `.`.
    pub fn source_dir(&self) -> &str {
        match self.source.as_deref() {
            Some(source) if !source.trim().is_empty() => source,
            _ => ".",
        }
    }

    /// The SDK's source (`python`, `go`, a path or a git ref), if the module has one.
    pub fn sdk_source(&self) -> Option<&str> {
        self.sdk.as_ref().map(|sdk| sdk.source.as_str())
    }

    /// The toolchain with this name.
    pub fn toolchain(&self, name: &str) -> Option<&Dependency> {
        self.toolchains
            .iter()
            .find(|toolchain| toolchain.name == name)
    }

    /// `include` with the deprecated `exclude` entries folded in, as the engine does on load.
    pub fn effective_include(&self) -> Vec<String> {
        let mut include = self.include.clone();
        for pattern in &self.exclude {
            let folded = match pattern.strip_prefix('!') {
                Some(kept) => kept.to_string(),
                None => format!("!{pattern}"),
            };
            if !include.contains(&folded) {
                include.push(folded);
            }
        }
        include
    }
}

/// `sdk`: `{"source": …, "config": …}`, or the legacy string `"go"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "SdkForm")]
pub struct Sdk {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub config: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub debug: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub experimental: Option<Map<String, Value>>,
}

impl Sdk {
    pub fn new(source: impl Into<String>) -> Self {
        Sdk {
            source: source.into(),
            ..Sdk::default()
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SdkForm {
    Legacy(String),
    Object {
        #[serde(default)]
        source: String,
        #[serde(default)]
        config: Option<Map<String, Value>>,
        #[serde(default)]
        debug: Option<bool>,
        #[serde(default)]
        experimental: Option<Map<String, Value>>,
    },
}

impl From<SdkForm> for Sdk {
    fn from(form: SdkForm) -> Self {
        match form {
            SdkForm::Legacy(source) => Sdk::new(source),
            SdkForm::Object {
                source,
                config,
                debug,
                experimental,
            } => Sdk {
                source,
                config,
                debug,
                experimental,
            },
        }
    }
}

/// A dependency, toolchain or blueprint: `{"name", "source", "pin"?, …}`, or a legacy plain
/// source string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "DependencyForm")]
pub struct Dependency {
    pub name: String,
    pub source: String,
    /// The commit a git source resolved to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub customizations: Vec<Customization>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignore_checks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignore_generators: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignore_services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub port_mappings: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Dependency {
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Self {
        Dependency {
            name: name.into(),
            source: source.into(),
            ..Dependency::default()
        }
    }

    pub fn with_pin(mut self, pin: impl Into<String>) -> Self {
        self.pin = Some(pin.into());
        self
    }

    pub fn with_customization(mut self, customization: Customization) -> Self {
        self.customizations.push(customization);
        self
    }

    pub fn with_ignore_checks<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore_checks
            .extend(patterns.into_iter().map(Into::into));
        self
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DependencyForm {
    Legacy(String),
    Object(Box<DependencyObject>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DependencyObject {
    #[serde(default)]
    name: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    customizations: Vec<Customization>,
    /// v0.19.5 – v0.19.9 called `customizations` `arguments`.
    #[serde(default)]
    arguments: Vec<Customization>,
    #[serde(default)]
    ignore_checks: Vec<String>,
    #[serde(default)]
    ignore_generators: Vec<String>,
    #[serde(default)]
    ignore_services: Vec<String>,
    #[serde(default)]
    port_mappings: Option<Map<String, Value>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<DependencyForm> for Dependency {
    fn from(form: DependencyForm) -> Self {
        match form {
            DependencyForm::Legacy(source) => Dependency {
                name: dependency_name(&source),
                source,
                ..Dependency::default()
            },
            DependencyForm::Object(object) => {
                let object = *object;
                let mut customizations = object.customizations;
                customizations.extend(object.arguments);
                Dependency {
                    name: object.name,
                    source: object.source,
                    pin: object.pin,
                    customizations,
                    ignore_checks: object.ignore_checks,
                    ignore_generators: object.ignore_generators,
                    ignore_services: object.ignore_services,
                    port_mappings: object.port_mappings,
                    extra: object.extra,
                }
            }
        }
    }
}

/// The name Dagger gives a dependency without one (a legacy string dependency, a
/// `dagger-module.toml` entry without `name`): the module it loads is named after the last path
/// segment of its source, without the ref (`../engine-dev` → `engine-dev`,
/// `github.com/dagger/go@abc` → `go`).
pub(super) fn dependency_name(source: &str) -> String {
    let without_ref = source.split('@').next().unwrap_or(source);
    without_ref
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(without_ref)
        .to_string()
}

/// One entry of a toolchain's `customizations`: override an argument's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customization {
    /// The function chain from the main object; empty means the constructor.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub function: Vec<String>,
    /// The argument to override (v0.19.5 – v0.19.7 wrote it as `name`).
    #[serde(alias = "name", default)]
    pub argument: String,
    /// Always a string in the file; the engine converts it to the argument's type.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "lenient_string"
    )]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ignore: Vec<String>,
}

impl Customization {
    /// A constructor-level customization of `argument`; chain [`Customization::on`] for a function.
    pub fn new(argument: impl Into<String>) -> Self {
        Customization {
            argument: argument.into(),
            ..Customization::default()
        }
    }

    /// The function chain from the main object (`["test"]`, `["test", "lint"]`).
    pub fn on<I, S>(mut self, function: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.function = function.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_default(mut self, default: impl Into<String>) -> Self {
        self.default = Some(default.into());
        self
    }

    pub fn with_default_path(mut self, path: impl Into<String>) -> Self {
        self.default_path = Some(path.into());
        self
    }

    pub fn with_ignore<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore = patterns.into_iter().map(Into::into).collect();
        self
    }
}

/// A hand-written `"default": 3` or `true` is read as its JSON text, which is what the engine
/// would have needed as a string.
fn lenient_string<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Codegen {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub automatic_gitignore: Option<bool>,
}

/// A generated client (`dagger client install`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Client {
    #[serde(default)]
    pub generator: String,
    #[serde(default)]
    pub directory: String,
}

/// Read a `dagger.json`, accepting every form engines since v0.12 have written.
pub fn parse(text: &str) -> Result<DaggerJson, DaggerJsonError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(serde_json::from_str(text)?)
}

/// Write a `dagger.json` the way Dagger does: 2-space indentation, Dagger's key order, a trailing
/// newline; `exclude` folded into `include`.
pub fn to_string_pretty(file: &DaggerJson) -> String {
    let mut value = match serde_json::to_value(file) {
        Ok(value) => value,
        // Every field is a string, bool, list or JSON map, which always serialise.
        Err(_) => Value::Object(Map::new()),
    };
    if !file.exclude.is_empty()
        && let Value::Object(object) = &mut value
    {
        let include: Vec<Value> = file
            .effective_include()
            .into_iter()
            .map(Value::String)
            .collect();
        // `include` keeps its place in Dagger's key order: rebuild the map in order.
        let mut ordered = Map::new();
        let mut placed = false;
        for (key, entry) in std::mem::take(object) {
            if key == "include" {
                ordered.insert(key, Value::Array(include.clone()));
                placed = true;
            } else {
                if !placed && matches!(key.as_str(), "dependencies" | "source" | "codegen") {
                    ordered.insert("include".to_string(), Value::Array(include.clone()));
                    placed = true;
                }
                ordered.insert(key, entry);
            }
        }
        if !placed {
            ordered.insert("include".to_string(), Value::Array(include));
        }
        *object = ordered;
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_legacy_string_forms() {
        let file = parse(
            r#"{"name":"old","sdk":"go","dependencies":["github.com/x/daggerverse/trivy@v0.6.0"]}"#,
        )
        .unwrap();
        assert_eq!(file.sdk_source(), Some("go"));
        assert_eq!(file.dependencies[0].name, "trivy");
        assert_eq!(
            file.dependencies[0].source,
            "github.com/x/daggerverse/trivy@v0.6.0"
        );
        let written = to_string_pretty(&file);
        assert!(written.contains("\"sdk\": {\n    \"source\": \"go\"\n  }"));
        assert!(written.contains("\"name\": \"trivy\""));
    }

    #[test]
    fn reads_legacy_toolchain_arguments_and_non_string_defaults() {
        let file = parse(
            r#"{"name":"app","engineVersion":"v0.19.6","toolchains":[{"name":"py","source":"../py",
                "arguments":[{"name":"version","default":3}]}]}"#,
        )
        .unwrap();
        let customization = &file.toolchains[0].customizations[0];
        assert_eq!(customization.argument, "version");
        assert_eq!(customization.default.as_deref(), Some("3"));
        let written = to_string_pretty(&file);
        assert!(written.contains("\"customizations\""));
        assert!(written.contains("\"argument\": \"version\""));
        assert!(written.contains("\"default\": \"3\""));
        assert!(!written.contains("arguments"));
    }

    #[test]
    fn keeps_unknown_fields_and_folds_exclude_into_include() {
        let file = parse(
            r#"{"name":"m","engineVersion":"v0.20.0","sdk":{"source":"python"},"exclude":["tmp","!keep"],
                "include":["src"],"futureField":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(
            file.extra.get("futureField"),
            Some(&serde_json::json!({"a":1}))
        );
        let written = to_string_pretty(&file);
        let reread: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(
            reread["include"],
            serde_json::json!(["src", "!tmp", "keep"])
        );
        assert!(reread.get("exclude").is_none());
        assert_eq!(reread["futureField"], serde_json::json!({"a":1}));
    }

    #[test]
    fn writes_dagger_key_order_with_a_trailing_newline() {
        let mut file = DaggerJson::new("app", "v0.20.3");
        file.toolchains.push(
            Dependency::new(
                "acme-backend",
                "github.com/acme/m/acme-backend@acme-backend/v1.0.0",
            )
            .with_pin("303ec6a")
            .with_customization(
                Customization::new("source")
                    .on(["test"])
                    .with_default_path("/backend")
                    .with_ignore(["node_modules"]),
            ),
        );
        let text = to_string_pretty(&file);
        assert_eq!(
            text,
            r#"{
  "name": "app",
  "engineVersion": "v0.20.3",
  "toolchains": [
    {
      "name": "acme-backend",
      "source": "github.com/acme/m/acme-backend@acme-backend/v1.0.0",
      "pin": "303ec6a",
      "customizations": [
        {
          "function": [
            "test"
          ],
          "argument": "source",
          "defaultPath": "/backend",
          "ignore": [
            "node_modules"
          ]
        }
      ]
    }
  ]
}
"#
        );
        assert_eq!(parse(&text).unwrap(), file);
    }

    #[test]
    fn reports_where_a_file_is_broken() {
        let error = parse("{\n  \"name\": \"x\",\n  \"sdk\": \n}").unwrap_err();
        let DaggerJsonError::Invalid { line, .. } = error;
        assert_eq!(line, 4);
        assert!(parse(r#"{"name": 3}"#).is_err());
    }

    #[test]
    fn source_defaults_to_the_file_directory() {
        let file = parse(r#"{"name":"m","sdk":{"source":"go"},"source":".dagger"}"#).unwrap();
        assert_eq!(file.source_dir(), ".dagger");
        let file = parse(r#"{"name":"m","sdk":{"source":"go"}}"#).unwrap();
        assert_eq!(file.source_dir(), ".");
    }
}
