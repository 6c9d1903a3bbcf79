//! Modules the project already installs, and the names it gives them. A plan that installs one of
//! them again under another name (`java-client-dev` for the `java-client` a person installed)
//! would make Dagger load the module twice and run its checks twice; the planned toolchain takes
//! the installed name instead, wherever the plan names it.

use std::path::Path;

use crate::scan::{git, workspace};

use super::catalog::Catalog;
use super::plan::Plan;
use super::project::Project;

/// One module a config file of the project installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    /// Where the module comes from, whatever its version: see [`identity`].
    pub identity: String,
}

/// The toolchains the root `dagger.json` installs (as [`Project::detect`] read them) and the
/// modules of every `dagger.toml` under the project. Workspaces that do not parse are passed
/// over: the merge reports them.
pub fn read(project: &Project) -> Vec<Installed> {
    let mut found: Vec<Installed> = project
        .existing_toolchains
        .iter()
        .map(|(name, source)| Installed {
            name: name.clone(),
            identity: identity(source, Path::new("")),
        })
        .collect();
    for (directory, config) in workspace::find_workspaces(&project.root) {
        let relative = directory
            .strip_prefix(&project.root)
            .unwrap_or(Path::new(""));
        for (name, module) in &config.modules {
            found.push(Installed {
                name: name.clone(),
                identity: identity(&module.source, relative),
            });
        }
    }
    found
}

/// A module source without its version: `github.com/acme/lib/python` for
/// `https://github.com/acme/lib.git/python@v1.2.0` (lower case), or a local path relative to the
/// project root (`.dagger/modules/ci` for `./modules/ci` in `.dagger/dagger.toml`).
pub fn identity(source: &str, config_directory: &Path) -> String {
    if let Some(parsed) = git::parse_source(source) {
        let mut text = parsed.repository.to_ascii_lowercase();
        if let Some(subpath) = parsed.subpath.filter(|subpath| !subpath.is_empty()) {
            text.push('/');
            text.push_str(subpath.trim_matches('/'));
        }
        return text;
    }
    let mut parts: Vec<String> = config_directory
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect();
    for part in source.trim().split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_owned()),
        }
    }
    parts.join("/")
}

/// Give each planned toolchain that installs a module the project already installs under another
/// name that name, when the match is one to one and the name is free in the plan; the notes
/// say what was renamed.
pub fn adopt_names(
    plan: &mut Plan,
    installed: &[Installed],
    catalog: &Catalog,
    root: &Path,
) -> Vec<String> {
    let planned: Vec<Option<String>> = plan
        .toolchains
        .iter()
        .map(|toolchain| {
            catalog
                .module(&toolchain.module)
                .map(|module| identity(&module.install_source(root), Path::new("")))
        })
        .collect();
    let mut notes = Vec::new();
    for index in 0..plan.toolchains.len() {
        let Some(wanted) = &planned[index] else {
            continue;
        };
        let same_source = |other: &Option<String>| other.as_ref() == Some(wanted);
        let matches: Vec<&Installed> = installed
            .iter()
            .filter(|entry| &entry.identity == wanted)
            .collect();
        let [existing] = matches.as_slice() else {
            continue;
        };
        let current = plan.toolchains[index].name.clone();
        if existing.name == current
            || planned.iter().filter(|other| same_source(other)).count() != 1
            || plan
                .toolchains
                .iter()
                .any(|toolchain| toolchain.name == existing.name)
        {
            continue;
        }
        for step in &mut plan.deploy {
            if step.toolchain == current {
                step.toolchain.clone_from(&existing.name);
            }
        }
        plan.toolchains[index].name.clone_from(&existing.name);
        notes.push(format!(
            "toolchain `{current}` keeps the name `{}` under which the project already installs \
             that module, so Dagger loads it once",
            existing.name
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::tests::{function, module};
    use crate::agents::daggie::plan::{DeployStep, ToolchainPlan};
    use crate::scan::Role;

    #[test]
    fn a_source_is_identified_without_its_version() {
        let root = Path::new("");
        assert_eq!(
            identity("github.com/Acme/lib/python@v1.2.0", root),
            "github.com/acme/lib/python"
        );
        assert_eq!(
            identity("https://github.com/acme/lib.git#main:python", root),
            identity("github.com/acme/lib/python", root)
        );
        assert_eq!(
            identity("./modules/ci/", Path::new(".dagger")),
            ".dagger/modules/ci"
        );
        assert_eq!(identity("../shared", Path::new("backend")), "shared");
    }

    fn toolchain(module: &str, name: &str) -> ToolchainPlan {
        ToolchainPlan {
            module: module.into(),
            name: name.into(),
            customizations: Vec::new(),
            ignore_checks: Vec::new(),
        }
    }

    fn catalog() -> Catalog {
        let mut python = module("python", Role::Module, vec![function("test", true, vec![])]);
        python.repository = Some("github.com/acme/lib".into());
        python.path = "python".into();
        let mut node = module("node", Role::Module, vec![function("test", true, vec![])]);
        node.repository = Some("github.com/acme/lib".into());
        node.path = "node".into();
        Catalog::from_modules(vec![python, node])
    }

    #[test]
    fn a_module_installed_under_another_name_keeps_that_name() {
        let mut plan = Plan {
            toolchains: vec![toolchain("python", "python-dev"), toolchain("node", "node")],
            deploy: vec![DeployStep {
                toolchain: "python-dev".into(),
                function: "publish".into(),
                args: Default::default(),
            }],
            ..Plan::default()
        };
        let installed = vec![Installed {
            name: "backend".into(),
            identity: "github.com/acme/lib/python".into(),
        }];
        let notes = adopt_names(&mut plan, &installed, &catalog(), Path::new("/p"));
        assert_eq!(plan.toolchains[0].name, "backend");
        assert_eq!(plan.toolchains[1].name, "node");
        assert_eq!(plan.deploy[0].toolchain, "backend");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("`python-dev` keeps the name `backend`"),
            "{notes:?}"
        );
    }

    #[test]
    fn no_rename_when_the_match_is_not_one_to_one_or_the_name_is_taken() {
        let installed = vec![Installed {
            name: "node".into(),
            identity: "github.com/acme/lib/python".into(),
        }];
        // The installed name is the plan's name for another toolchain.
        let mut plan = Plan {
            toolchains: vec![toolchain("python", "python"), toolchain("node", "node")],
            ..Plan::default()
        };
        assert!(adopt_names(&mut plan, &installed, &catalog(), Path::new("/p")).is_empty());
        assert_eq!(plan.toolchains[0].name, "python");
        // The plan installs the module twice (two directories): names stay as planned.
        let mut plan = Plan {
            toolchains: vec![toolchain("python", "api"), toolchain("python", "worker")],
            ..Plan::default()
        };
        let installed = vec![Installed {
            name: "backend".into(),
            identity: "github.com/acme/lib/python".into(),
        }];
        assert!(adopt_names(&mut plan, &installed, &catalog(), Path::new("/p")).is_empty());
        assert_eq!(plan.toolchains[0].name, "api");
    }

    #[test]
    fn installed_modules_come_from_dagger_json_and_every_dagger_toml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dagger.json"),
            r#"{"name": "p", "toolchains": [{"name": "py", "source": "github.com/acme/lib/python@v1"}]}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(
            dir.path().join("web/dagger.toml"),
            "[modules.lint]\nsource = \"../tools/lint\"\n",
        )
        .unwrap();
        let project = Project::detect(dir.path()).unwrap();
        assert_eq!(
            read(&project),
            vec![
                Installed {
                    name: "py".into(),
                    identity: "github.com/acme/lib/python".into()
                },
                Installed {
                    name: "lint".into(),
                    identity: "tools/lint".into()
                },
            ]
        );
    }
}
