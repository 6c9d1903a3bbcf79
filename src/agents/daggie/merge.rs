//! Regenerating `dagger.json` without losing what a person added: the new plan's toolchains are
//! merged into the file on disk. daggie owns each planned toolchain's `source` and `pin`, the
//! customizations and ignored checks the plan sets, and toolchains an earlier plan installed;
//! everything else (hand-added `ignoreChecks`, extra customizations, other toolchains, unknown
//! keys) is kept. A hand edit of a value the new plan sets is a conflict. For Dagger 1.x the same
//! holds for each `dagger.toml` ([`merge_workspace`]).

use crate::scan::dagger_json::{self, Customization, DaggerJson, Dependency};
use crate::scan::workspace::WorkspaceConfig;

use super::plan::Plan;

/// The merged file and the hand edits the new plan overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub text: String,
    /// One line per conflicting value; empty when the merge kept every hand edit.
    pub conflicts: Vec<String>,
}

/// Merge `generated` (the new plan rendered alone) into `existing` (the file on disk).
/// `previous` is the plan the project's workflow records (what daggie wrote last time), so
/// that values daggie itself set earlier are updated silently rather than taken for hand edits.
/// With no record, every differing value is taken as a hand edit.
pub fn merge(
    existing: &str,
    generated: &str,
    previous: Option<&Plan>,
) -> Result<Merged, dagger_json::DaggerJsonError> {
    let existing = dagger_json::parse(existing)?;
    let generated = dagger_json::parse(generated)?;
    let mut conflicts = Vec::new();
    let mut merged = DaggerJson {
        engine_version: generated.engine_version.clone(),
        toolchains: Vec::new(),
        ..existing.clone()
    };
    if merged.name.trim().is_empty() {
        merged.name = generated.name.clone();
    }
    let previous_toolchain = |name: &str| {
        previous.and_then(|plan| {
            plan.toolchains
                .iter()
                .find(|toolchain| toolchain.name == name)
        })
    };

    for new in &generated.toolchains {
        let Some(old) = existing.toolchain(&new.name) else {
            merged.toolchains.push(new.clone());
            continue;
        };
        let earlier = previous_toolchain(&new.name);
        let earlier_customization = |entry: &Customization| {
            earlier.and_then(|toolchain| {
                toolchain.customizations.iter().find(|planned| {
                    planned.function == entry.function && planned.argument == entry.argument
                })
            })
        };
        let mut toolchain = Dependency {
            source: new.source.clone(),
            pin: new.pin.clone(),
            customizations: Vec::new(),
            ..old.clone()
        };
        for wanted in &new.customizations {
            let on_disk = old
                .customizations
                .iter()
                .find(|entry| same_target(entry, wanted));
            if let Some(on_disk) = on_disk
                && !same_value(on_disk, wanted)
            {
                let daggie_wrote_it = earlier_customization(on_disk).is_some_and(|planned| {
                    planned.default_path == on_disk.default_path
                        && planned.default == on_disk.default
                });
                if !daggie_wrote_it {
                    conflicts.push(format!(
                        "toolchain `{}`: `{}` argument `{}` is {} in `dagger.json`, the plan sets {}",
                        new.name,
                        wanted.function.join("."),
                        wanted.argument,
                        describe(on_disk),
                        describe(wanted)
                    ));
                }
            }
            // Keep what the plan does not own in an entry it rewrites (`ignore` patterns).
            let mut entry = wanted.clone();
            if let Some(on_disk) = on_disk
                && entry.ignore.is_empty()
            {
                entry.ignore = on_disk.ignore.clone();
            }
            toolchain.customizations.push(entry);
        }
        for entry in &old.customizations {
            let planned_now = new
                .customizations
                .iter()
                .any(|wanted| same_target(entry, wanted));
            if !planned_now && earlier_customization(entry).is_none() {
                toolchain.customizations.push(entry.clone());
            }
        }
        let mut ignored = new.ignore_checks.clone();
        for pattern in &old.ignore_checks {
            let daggie_ignored_it =
                earlier.is_some_and(|toolchain| toolchain.ignore_checks.contains(pattern));
            if !ignored.contains(pattern) && !daggie_ignored_it {
                ignored.push(pattern.clone());
            }
        }
        toolchain.ignore_checks = ignored;
        merged.toolchains.push(toolchain);
    }
    for old in &existing.toolchains {
        let planned = generated.toolchain(&old.name).is_some();
        let installed_earlier = previous_toolchain(&old.name).is_some();
        if !planned && !installed_earlier {
            merged.toolchains.push(old.clone());
        }
    }
    Ok(Merged {
        text: dagger_json::to_string_pretty(&merged),
        conflicts,
    })
}

fn same_target(left: &Customization, right: &Customization) -> bool {
    left.function == right.function && left.argument == right.argument
}

fn same_value(left: &Customization, right: &Customization) -> bool {
    left.default_path == right.default_path
        && left.default == right.default
        && left.default_address == right.default_address
}

fn describe(entry: &Customization) -> String {
    match (&entry.default_path, &entry.default, &entry.default_address) {
        (Some(path), _, _) => format!("`defaultPath: {path}`"),
        (None, Some(value), _) => format!("`default: {value}`"),
        (None, None, Some(address)) => format!("`defaultAddress: {address}`"),
        (None, None, None) => "unset".to_string(),
    }
}

/// Merge a generated `dagger.toml` into the one on disk, for Dagger 1.x: daggie owns the modules
/// the new plan installs (their `source`, `pin`, settings it sets and `check` skips) and modules
/// an earlier plan installed (`previous`), which go when the new plan drops them; everything else
/// a person wrote is kept — other modules, settings the plan does not set, `generate`/`up` skips,
/// `ignore`, `[env.*]`, `[ports]` and keys this model does not know.
pub fn merge_workspace(
    existing: &WorkspaceConfig,
    generated: &WorkspaceConfig,
    previous: Option<&Plan>,
) -> WorkspaceConfig {
    let earlier: Vec<&str> = previous
        .map(|plan| {
            plan.toolchains
                .iter()
                .map(|toolchain| toolchain.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut merged = WorkspaceConfig {
        check_generated: generated.check_generated.or(existing.check_generated),
        ignore: existing.ignore.clone(),
        defaults_from_dotenv: existing.defaults_from_dotenv,
        modules: generated.modules.clone(),
        env: existing.env.clone(),
        ports: existing.ports.clone(),
        extra: existing.extra.clone(),
    };
    for (name, theirs) in &existing.modules {
        match merged.modules.get_mut(name) {
            Some(ours) => {
                for (key, value) in &theirs.settings {
                    ours.settings
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
                for (key, value) in &theirs.extra {
                    ours.extra
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
                ours.entrypoint = ours.entrypoint.or(theirs.entrypoint);
                if ours.generate.is_none() {
                    ours.generate = theirs.generate.clone();
                }
                if ours.up.is_none() {
                    ours.up = theirs.up.clone();
                }
            }
            None if earlier.contains(&name.as_str()) => {}
            None => {
                merged.modules.insert(name.clone(), theirs.clone());
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::plan::{Customization as Planned, ToolchainPlan};

    const GENERATED: &str = r#"{
  "name": "shop",
  "engineVersion": "v0.20.3",
  "toolchains": [
    {
      "name": "backend",
      "source": "github.com/acme/modules/python@python/v1.1.0",
      "pin": "bbbb",
      "customizations": [
        {"function": ["test"], "argument": "source", "defaultPath": "/backend"}
      ]
    }
  ]
}"#;

    fn previous() -> Plan {
        Plan {
            toolchains: vec![
                ToolchainPlan {
                    module: "python".into(),
                    name: "backend".into(),
                    customizations: vec![Planned {
                        function: vec!["test".into()],
                        argument: "source".into(),
                        default_path: Some("/app".into()),
                        default: None,
                    }],
                    ignore_checks: vec![],
                },
                ToolchainPlan {
                    module: "old".into(),
                    name: "old".into(),
                    customizations: vec![],
                    ignore_checks: vec![],
                },
            ],
            ..Plan::default()
        }
    }

    #[test]
    fn hand_edits_survive_and_daggie_values_update() {
        let existing = r#"{
  "name": "shop",
  "engineVersion": "v0.20.1",
  "toolchains": [
    {
      "name": "backend",
      "source": "github.com/acme/modules/python@python/v1.0.0",
      "pin": "aaaa",
      "customizations": [
        {"function": ["test"], "argument": "source", "defaultPath": "/app"},
        {"function": ["test"], "argument": "coverage", "default": "false"}
      ],
      "ignoreChecks": ["lint"],
      "futureKey": 1
    },
    {"name": "old", "source": "github.com/acme/modules/old@old/v1.0.0"},
    {"name": "mine", "source": "github.com/me/tools@v1.0.0"}
  ]
}"#;
        let merged = merge(existing, GENERATED, Some(&previous())).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        let value: serde_json::Value = serde_json::from_str(&merged.text).unwrap();
        let toolchains = value["toolchains"].as_array().unwrap();
        let names: Vec<&str> = toolchains
            .iter()
            .map(|toolchain| toolchain["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["backend", "mine"]);
        assert_eq!(value["engineVersion"], "v0.20.3");
        let backend = &toolchains[0];
        assert_eq!(backend["pin"], "bbbb");
        assert_eq!(backend["ignoreChecks"], serde_json::json!(["lint"]));
        assert_eq!(backend["futureKey"], 1);
        assert_eq!(
            backend["customizations"],
            serde_json::json!([
                {"function": ["test"], "argument": "source", "defaultPath": "/backend"},
                {"function": ["test"], "argument": "coverage", "default": "false"}
            ])
        );
    }

    #[test]
    fn a_hand_changed_value_the_plan_sets_is_a_conflict() {
        let existing = GENERATED.replace("\"/backend\"", "\"/services/api\"");
        let merged = merge(&existing, GENERATED, Some(&previous())).unwrap();
        assert_eq!(
            merged.conflicts,
            vec![
                "toolchain `backend`: `test` argument `source` is `defaultPath: /services/api` in \
                 `dagger.json`, the plan sets `defaultPath: /backend`"
            ]
        );
        // The merged text carries the plan's value; the caller decides whether to write it.
        assert!(merged.text.contains("\"/backend\""));
    }

    #[test]
    fn a_workspace_keeps_what_a_person_added_and_drops_what_daggie_dropped() {
        let existing = crate::scan::workspace::parse(
            r#"
check-generated = false
ignore = ["vendor/**"]

[modules.python-service]
source = "github.com/acme/modules/python-service@v1.0.0"
entrypoint = true

[modules.python-service.settings]
pythonVersion = "3.11"
fastMode = true

[modules.old-toolchain]
source = "github.com/acme/modules/old@v1.0.0"

[modules.my-linter]
source = "github.com/me/my-linter@v1.0.0"
"#,
        )
        .unwrap();
        let generated = crate::scan::workspace::parse(
            r#"
check-generated = true

[modules.python-service]
source = "github.com/acme/modules/python-service@v1.2.0"
pin = "4f1c2a9b7e3d5f6a8b0c1d2e3f4a5b6c7d8e9f01"

[modules.python-service.settings]
pythonVersion = "3.12"

[modules.python-service.check]
skip = ["lint"]
"#,
        )
        .unwrap();
        let earlier = Plan {
            toolchains: vec![ToolchainPlan {
                module: "old".into(),
                name: "old-toolchain".into(),
                customizations: Vec::new(),
                ignore_checks: Vec::new(),
            }],
            ..Plan::default()
        };
        let merged = merge_workspace(&existing, &generated, Some(&earlier));
        // daggie's values win where it sets them …
        assert_eq!(merged.check_generated, Some(true));
        let service = &merged.modules["python-service"];
        assert!(service.source.ends_with("@v1.2.0"));
        assert_eq!(
            service.settings.get("pythonVersion"),
            Some(&toml::Value::String("3.12".into()))
        );
        assert_eq!(
            service.check.as_ref().map(|check| check.skip.clone()),
            Some(vec!["lint".to_string()])
        );
        // … a person's stay where it does not …
        assert_eq!(
            service.settings.get("fastMode"),
            Some(&toml::Value::Boolean(true))
        );
        assert_eq!(service.entrypoint, Some(true));
        assert_eq!(merged.ignore, ["vendor/**"]);
        assert!(merged.modules.contains_key("my-linter"));
        // … and a toolchain an earlier plan installed and this one dropped goes.
        assert!(!merged.modules.contains_key("old-toolchain"));
        // With no record, nothing is taken for daggie's: the old toolchain is kept.
        let unrecorded = merge_workspace(&existing, &generated, None);
        assert!(unrecorded.modules.contains_key("old-toolchain"));
    }
}
