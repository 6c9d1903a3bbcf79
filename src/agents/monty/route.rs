//! develop-issue's router: the model picks one verb and its parameters (`submit_route`); code
//! checks them against what that verb takes before anything runs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::packs::LanguagePack;

pub use super::request::Verb;

/// The verbs an issue may be routed to, in the order the model sees them.
pub const ROUTABLE: [Verb; 5] = [
    Verb::Assist,
    Verb::WriteTests,
    Verb::Build,
    Verb::Upgrade,
    Verb::Review,
];

/// `verb`'s schema: one of [`ROUTABLE`] by name.
fn routable_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = ROUTABLE.iter().map(|verb| verb.name()).collect();
    schemars::json_schema!({"type": "string", "enum": names})
}

/// The `submit_route` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSubmission {
    #[schemars(schema_with = "routable_schema")]
    pub verb: Verb,
    /// Only what the verb needs besides the issue text.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Why this verb, in one sentence.
    #[serde(default)]
    pub reason: String,
}

/// A checked route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Assist,
    WriteTests {
        target: Option<String>,
        framework: Option<String>,
    },
    Build {
        command: Option<String>,
    },
    Upgrade {
        package: Option<String>,
        version: String,
    },
    Review,
}

impl Route {
    pub fn verb(&self) -> Verb {
        match self {
            Route::Assist => Verb::Assist,
            Route::WriteTests { .. } => Verb::WriteTests,
            Route::Build { .. } => Verb::Build,
            Route::Upgrade { .. } => Verb::Upgrade,
            Route::Review => Verb::Review,
        }
    }
}

/// Check a route against the verb's inputs for this pack: known parameters only, required ones
/// present, a test framework the pack knows.
pub fn check(route: &RouteSubmission, pack: &LanguagePack) -> Result<Route, Vec<String>> {
    let allowed: &[&str] = match route.verb {
        Verb::Assist | Verb::Review => &[],
        Verb::WriteTests => &["target", "test_framework"],
        Verb::Build => &["command"],
        Verb::Upgrade if pack.language == "python" => &["target_package", "target_version"],
        Verb::Upgrade => &["target_version"],
        Verb::SuggestFix | Verb::DevelopIssue => {
            return Err(vec![format!(
                "`{}` cannot implement an issue",
                route.verb.name()
            )]);
        }
    };
    let mut errors: Vec<String> = route
        .params
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()))
        .map(|key| {
            let accepted = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            format!(
                "`{}` takes no parameter `{key}` (it takes: {accepted})",
                route.verb.name()
            )
        })
        .collect();
    let param = |key: &str| {
        route
            .params
            .get(key)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let checked = match route.verb {
        // Refused above.
        Verb::SuggestFix | Verb::DevelopIssue => return Err(errors),
        Verb::Assist => Route::Assist,
        Verb::Review => Route::Review,
        Verb::Build => Route::Build {
            command: param("command"),
        },
        Verb::WriteTests => {
            let framework = param("test_framework");
            if let Some(name) = &framework
                && !pack.test_frameworks.contains(&name.as_str())
            {
                errors.push(format!(
                    "`test_framework` must be one of {} for {}",
                    pack.test_frameworks.join(", "),
                    pack.agent
                ));
            }
            Route::WriteTests {
                target: param("target"),
                framework,
            }
        }
        Verb::Upgrade => {
            let version = param("target_version");
            let package = param("target_package");
            if version.is_none() {
                errors.push("`upgrade` needs `target_version`".to_owned());
            }
            if pack.language == "python" && package.is_none() {
                errors.push("`upgrade` needs `target_package` for monty".to_owned());
            }
            Route::Upgrade {
                package,
                version: version.unwrap_or_default(),
            }
        }
    };
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::monty::packs::{ANGULAR, PYTHON};

    /// `check` on a route to `verb` with `params`.
    fn check_route(
        verb: Verb,
        params: &[(&str, &str)],
        pack: &LanguagePack,
    ) -> Result<Route, Vec<String>> {
        let route = RouteSubmission {
            verb,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            reason: String::new(),
        };
        check(&route, pack)
    }

    #[test]
    fn the_model_sees_the_routable_verbs_only() {
        let spec = crate::agent::Submit::<RouteSubmission>::new("submit_route", "d").spec();
        assert_eq!(
            spec.parameters["properties"]["verb"],
            serde_json::json!({
                "type": "string",
                "enum": ["assist", "write-tests", "build", "upgrade", "review"]
            })
        );
    }

    #[test]
    fn verbs_that_cannot_implement_an_issue_are_refused() {
        assert_eq!(
            check_route(Verb::SuggestFix, &[], &PYTHON),
            Err(vec!["`suggest-fix` cannot implement an issue".to_owned()])
        );
    }

    #[test]
    fn write_tests_with_a_known_framework() {
        let checked = check_route(
            Verb::WriteTests,
            &[("target", "app/auth.py"), ("test_framework", "pytest")],
            &PYTHON,
        );
        assert_eq!(
            checked,
            Ok(Route::WriteTests {
                target: Some("app/auth.py".into()),
                framework: Some("pytest".into())
            })
        );
    }

    #[test]
    fn unknown_parameters_and_frameworks_are_refused() {
        let errors = check_route(
            Verb::WriteTests,
            &[("test_framework", "mocha"), ("depth", "3")],
            &ANGULAR,
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "`write-tests` takes no parameter `depth` (it takes: target, test_framework)"
                    .to_owned(),
                "`test_framework` must be one of jasmine, jest, vitest for angie".to_owned(),
            ]
        );
        let errors = check_route(Verb::Assist, &[("x", "1")], &PYTHON).unwrap_err();
        assert_eq!(
            errors,
            vec!["`assist` takes no parameter `x` (it takes: none)".to_owned()]
        );
    }

    #[test]
    fn upgrade_needs_what_the_pack_needs() {
        assert_eq!(
            check_route(Verb::Upgrade, &[("target_version", "20")], &ANGULAR),
            Ok(Route::Upgrade {
                package: None,
                version: "20".into()
            })
        );
        let errors = check_route(Verb::Upgrade, &[("target_version", "2.0")], &PYTHON).unwrap_err();
        assert_eq!(
            errors,
            vec!["`upgrade` needs `target_package` for monty".to_owned()]
        );
    }
}
