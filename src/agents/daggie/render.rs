//! Rendering a validated plan: the toolchain-only `dagger.json` and `.github/workflows/ci.yml`,
//! plus the repository variables and secrets the workflow needs.
//!
//! Both outputs are deterministic (stable key order, fixed formatting), so regenerating is a
//! no-op and `--check` can compare bytes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Context;
use serde::Serialize;

use super::catalog::Catalog;
use super::offline::environment_name;
use super::plan::{DeployStep, Plan};
use super::project::Project;

/// `dagger/dagger-for-github` release used when `--action-version` is not given: the newest
/// release in the research snapshot (v8.4.1, 2026-03-17). v8+ is published as an immutable
/// action, so the full version is pinned, as Dagger's own docs do; the GitHub layer can look up
/// a newer one.
pub const DAGGER_ACTION_VERSION: &str = "v8.4.1";

/// The first majors of each action that run on Node 24: GitHub removes the Node 20 runtime in
/// September 2026 and actionlint flags the older majors (`upload-artifact@v5` and
/// `download-artifact@v6` still declare `node20`).
pub const CHECKOUT_ACTION: &str = "actions/checkout@v5";
pub const UPLOAD_ARTIFACT_ACTION: &str = "actions/upload-artifact@v6";
pub const DOWNLOAD_ARTIFACT_ACTION: &str = "actions/download-artifact@v7";

/// Where `dagger check` writes its output in the workflow, and the artifact that carries it to
/// the fix job.
pub const CHECK_LOG: &str = "dagger-check.log";
pub const CHECK_LOG_ARTIFACT: &str = "dagger-check-log";

/// Environment variables GitHub sets itself in a job with `id-token: write`.
const OIDC_VARIABLES: &[&str] = &[
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
];

#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// `engineVersion` for `dagger.json`; default: the newest among the chosen modules.
    pub engine_version: Option<String>,
    /// The `dagger/dagger-for-github` version (`v8.4.1`).
    pub action_version: String,
    /// The branch pushes to which deploy.
    pub default_branch: String,
    /// The shell command that installs agentci in the fix job.
    pub agentci_install: String,
    /// The secret holding the LLM key for the fix agents (`ANTHROPIC_API_KEY`); `None` for a
    /// provider without a key (Ollama).
    pub provider_key: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            engine_version: None,
            action_version: DAGGER_ACTION_VERSION.to_string(),
            default_branch: "main".to_string(),
            agentci_install: default_agentci_install(),
            provider_key: Some("ANTHROPIC_API_KEY".to_string()),
        }
    }
}

/// Installs the same agentci version that generated the workflow, so the fix job's flags match.
pub fn default_agentci_install() -> String {
    format!(
        "cargo install --locked agentci@{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The secret a provider's API key lives in (CONTRACTS §2); `None` for key-less providers.
pub fn provider_key(provider: &str) -> anyhow::Result<Option<String>> {
    let key = match provider {
        "anthropic" => "ANTHROPIC_API_KEY",
        "openai" | "openai-compatible" => "OPENAI_API_KEY",
        "gemini" => "GEMINI_API_KEY",
        "mistral" => "MISTRAL_API_KEY",
        "deepseek" => "DEEPSEEK_API_KEY",
        "ollama" => return Ok(None),
        other => {
            return Err(crate::exit::usage(format!(
                "unknown provider `{other}` (anthropic, openai, gemini, ollama, mistral, deepseek, \
                 openai-compatible)"
            )));
        }
    };
    Ok(Some(key.to_string()))
}

/// The files daggie writes and what the user must configure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub dagger_json: String,
    pub workflow: String,
    pub engine_version: String,
    /// Repository variables (`Settings → Secrets and variables → Actions → Variables`).
    pub variables: Vec<String>,
    /// Repository secrets.
    pub secrets: Vec<String>,
}

pub fn render(
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
    options: &RenderOptions,
) -> anyhow::Result<Rendered> {
    validate_branch(&options.default_branch)?;
    let action_version = normalize_action_version(&options.action_version)?;
    let options = &RenderOptions {
        action_version,
        ..options.clone()
    };
    let engine_version = match &options.engine_version {
        Some(version) => normalize_version(version)?,
        None => newest_engine_version(plan, catalog)?,
    };
    let dagger_json = render_dagger_json(plan, catalog, project, &engine_version)?;
    let mut needs = Needs::default();
    let workflow = render_workflow(plan, catalog, options, &engine_version, &mut needs)?;
    Ok(Rendered {
        dagger_json,
        workflow,
        engine_version,
        variables: needs.variables.into_iter().collect(),
        secrets: needs.secrets.into_iter().collect(),
    })
}

/// `0.20.3` and `v0.20.3` both give `v0.20.3`; anything that is not semver is refused.
pub fn normalize_version(version: &str) -> anyhow::Result<String> {
    let bare = version.trim().trim_start_matches('v');
    semver::Version::parse(bare).map_err(|error| {
        crate::exit::usage(format!(
            "`{version}` is not a version like `v0.20.3`: {error}"
        ))
    })?;
    Ok(format!("v{bare}"))
}

/// Whether `candidate` is a newer version than `current` (both `vX.Y.Z`); anything that is not
/// semver is never newer.
pub fn is_newer(candidate: &str, current: &str) -> bool {
    let parse = |text: &str| semver::Version::parse(text.trim().trim_start_matches('v')).ok();
    match (parse(candidate), parse(current)) {
        (Some(candidate), Some(current)) => candidate > current,
        _ => false,
    }
}

/// A `dagger/dagger-for-github` version: `v8`, `v8.4`, `v8.4.1` or a 40-hex commit.
pub fn normalize_action_version(version: &str) -> anyhow::Result<String> {
    let version = version.trim();
    let is_commit = version.len() == 40 && version.chars().all(|c| c.is_ascii_hexdigit());
    if is_commit {
        return Ok(version.to_string());
    }
    let bare = version.trim_start_matches('v');
    let parts: Vec<&str> = bare.split('.').collect();
    let numeric = !bare.is_empty()
        && parts.len() <= 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if !numeric {
        return Err(crate::exit::usage(format!(
            "`{version}` is not an action version like `v8.4.1` or a commit SHA"
        )));
    }
    Ok(format!("v{bare}"))
}

/// A branch name safe to put in the workflow's expressions and YAML.
pub fn validate_branch(branch: &str) -> anyhow::Result<()> {
    let valid = !branch.is_empty()
        && !branch.starts_with(['-', '/'])
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(crate::exit::usage(format!(
            "`{branch}` is not a branch name daggie can write into a workflow (letters, digits, \
             `.`, `_`, `/`, `-`)"
        )))
    }
}

/// The newest `engineVersion` among the plan's modules, compared as semver (not as text:
/// `v0.9.0` is older than `v0.20.0`).
pub fn newest_engine_version(plan: &Plan, catalog: &Catalog) -> anyhow::Result<String> {
    let mut newest: Option<(semver::Version, String)> = None;
    for toolchain in &plan.toolchains {
        let Some(library) = catalog.module(&toolchain.module) else {
            continue;
        };
        let Some(text) = &library.module.engine_version else {
            continue;
        };
        let Ok(version) = semver::Version::parse(text.trim().trim_start_matches('v')) else {
            tracing::warn!(
                module = %library.module.name,
                "ignoring engineVersion `{text}`: not semver"
            );
            continue;
        };
        if newest
            .as_ref()
            .is_none_or(|(current, _)| version > *current)
        {
            newest = Some((version.clone(), format!("v{version}")));
        }
    }
    newest.map(|(_, text)| text).ok_or_else(|| {
        crate::exit::usage(
            "none of the chosen modules declares an `engineVersion`; pass `--engine-version`",
        )
    })
}

#[derive(Serialize)]
struct DaggerJson<'a> {
    name: &'a str,
    #[serde(rename = "engineVersion")]
    engine_version: &'a str,
    toolchains: Vec<ToolchainJson>,
}

#[derive(Serialize)]
struct ToolchainJson {
    name: String,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pin: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    customizations: Vec<CustomizationJson>,
}

#[derive(Serialize)]
struct CustomizationJson {
    function: Vec<String>,
    argument: String,
    #[serde(rename = "defaultPath", skip_serializing_if = "Option::is_none")]
    default_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<String>,
}

fn render_dagger_json(
    plan: &Plan,
    catalog: &Catalog,
    project: &Project,
    engine_version: &str,
) -> anyhow::Result<String> {
    let mut toolchains = Vec::new();
    for toolchain in &plan.toolchains {
        let library = catalog
            .module(&toolchain.module)
            .with_context(|| format!("module `{}` is not in the catalog", toolchain.module))?;
        toolchains.push(ToolchainJson {
            name: toolchain.name.clone(),
            source: library.install_source(&project.root),
            pin: library.module.pin.clone(),
            customizations: toolchain
                .customizations
                .iter()
                .map(|customization| CustomizationJson {
                    function: customization.function.clone(),
                    argument: customization.argument.clone(),
                    default_path: customization.default_path.clone(),
                    default: customization.default.clone(),
                })
                .collect(),
        });
    }
    let file = DaggerJson {
        name: &project.name,
        engine_version,
        toolchains,
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// Repository variables and secrets the workflow reads.
#[derive(Default)]
struct Needs {
    variables: BTreeSet<String>,
    secrets: BTreeSet<String>,
}

fn render_workflow(
    plan: &Plan,
    catalog: &Catalog,
    options: &RenderOptions,
    engine_version: &str,
    needs: &mut Needs,
) -> anyhow::Result<String> {
    let cli_version = engine_version.trim_start_matches('v');
    let action = format!("dagger/dagger-for-github@{}", options.action_version);
    let branch = yaml_scalar(&options.default_branch);
    let mut out = String::new();
    writeln!(
        out,
        "# Generated by `agentci daggie assist`. Regenerate rather than edit: the same command with"
    )?;
    writeln!(out, "# `--check` fails when this file is stale.")?;
    writeln!(out, "name: CI")?;
    writeln!(out)?;
    writeln!(out, "on:")?;
    writeln!(out, "  pull_request:")?;
    writeln!(out, "  push:")?;
    writeln!(out, "    branches:")?;
    writeln!(out, "      - {branch}")?;
    writeln!(out)?;
    writeln!(
        out,
        "# One run per pull request or branch. A new push to a pull request cancels its older run;"
    )?;
    writeln!(
        out,
        "# runs on {branch} finish, so that no deployment is cut short."
    )?;
    writeln!(out, "concurrency:")?;
    writeln!(
        out,
        "  group: ${{{{ github.workflow }}}}-${{{{ github.event.pull_request.number || github.ref }}}}"
    )?;
    writeln!(
        out,
        "  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "# Read-only by default; each job asks for the little more it needs."
    )?;
    writeln!(out, "permissions:")?;
    writeln!(out, "  contents: read")?;
    writeln!(out)?;
    writeln!(out, "jobs:")?;

    // The check job: deterministic, no model, no secrets.
    writeln!(out, "  check:")?;
    writeln!(out, "    name: dagger check")?;
    writeln!(out, "    runs-on: ubuntu-latest")?;
    writeln!(out, "    permissions:")?;
    writeln!(out, "      contents: read")?;
    writeln!(out, "    steps:")?;
    writeln!(out, "      - uses: {CHECKOUT_ACTION}")?;
    writeln!(out)?;
    write_install_dagger(&mut out, &action, cli_version)?;
    writeln!(out)?;
    writeln!(out, "      - name: Run the checks")?;
    writeln!(
        out,
        "        # The action exposes stdout only, so the full output (stderr included) goes to a"
    )?;
    writeln!(
        out,
        "        # log file; pipefail keeps the exit code of `dagger check`, not of `tee`."
    )?;
    writeln!(out, "        shell: bash")?;
    writeln!(out, "        run: |")?;
    writeln!(out, "          set -o pipefail")?;
    writeln!(out, "          dagger check 2>&1 | tee {CHECK_LOG}")?;
    writeln!(out)?;
    writeln!(out, "      - name: Keep the check log")?;
    writeln!(out, "        if: ${{{{ !cancelled() }}}}")?;
    writeln!(out, "        uses: {UPLOAD_ARTIFACT_ACTION}")?;
    writeln!(out, "        with:")?;
    writeln!(out, "          name: {CHECK_LOG_ARTIFACT}")?;
    writeln!(out, "          path: {CHECK_LOG}")?;
    writeln!(out, "          if-no-files-found: ignore")?;
    writeln!(out, "          retention-days: 7")?;

    if !plan.fix_agents.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  # When a check fails on a pull request, the fix agents read the log and post inline"
        )?;
        writeln!(
            out,
            "  # suggestions. Pull requests from forks get no secrets, so they are skipped."
        )?;
        writeln!(out, "  suggest-fixes:")?;
        writeln!(out, "    name: suggest fixes")?;
        writeln!(out, "    needs: check")?;
        writeln!(
            out,
            "    if: ${{{{ failure() && github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository }}}}"
        )?;
        writeln!(out, "    runs-on: ubuntu-latest")?;
        writeln!(out, "    permissions:")?;
        writeln!(out, "      contents: read")?;
        writeln!(out, "      pull-requests: write")?;
        writeln!(out, "    steps:")?;
        writeln!(out, "      - uses: {CHECKOUT_ACTION}")?;
        writeln!(out, "        with:")?;
        writeln!(
            out,
            "          # Suggestions anchor on the pull request's own commit, not the merge commit."
        )?;
        writeln!(
            out,
            "          ref: ${{{{ github.event.pull_request.head.sha }}}}"
        )?;
        writeln!(out)?;
        writeln!(out, "      - uses: {DOWNLOAD_ARTIFACT_ACTION}")?;
        writeln!(out, "        with:")?;
        writeln!(out, "          name: {CHECK_LOG_ARTIFACT}")?;
        writeln!(out)?;
        writeln!(out, "      - name: Install agentci")?;
        writeln!(
            out,
            "        run: {}",
            yaml_scalar(&options.agentci_install)
        )?;
        needs.secrets.insert("GITHUB_TOKEN".to_string());
        for fix in &plan.fix_agents {
            let directory = if fix.directory == "." || fix.directory.is_empty() {
                ".".to_string()
            } else {
                format!("./{}", fix.directory.trim_start_matches("./"))
            };
            writeln!(out)?;
            writeln!(
                out,
                "      - name: Suggest fixes in {} ({})",
                fix.directory,
                fix.agent.as_str()
            )?;
            writeln!(
                out,
                "        run: agentci {} suggest-fix --source {} --error-file {CHECK_LOG}",
                fix.agent.as_str(),
                shell_word(&directory)
            )?;
            writeln!(out, "        env:")?;
            writeln!(
                out,
                "          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}"
            )?;
            if let Some(key) = &options.provider_key {
                writeln!(out, "          {key}: ${{{{ secrets.{key} }}}}")?;
                needs.secrets.insert(key.clone());
            }
        }
    }

    if !plan.deploy.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  # Deployments are explicit function calls, never checks, and only after the checks"
        )?;
        writeln!(out, "  # pass on a push to {branch}.")?;
        writeln!(out, "  deploy:")?;
        writeln!(out, "    name: deploy")?;
        writeln!(out, "    needs: check")?;
        writeln!(
            out,
            "    if: ${{{{ github.event_name == 'push' && github.ref == 'refs/heads/{}' }}}}",
            options.default_branch
        )?;
        writeln!(out, "    runs-on: ubuntu-latest")?;
        writeln!(
            out,
            "    # Deployments queue rather than cancel each other."
        )?;
        writeln!(out, "    concurrency:")?;
        writeln!(out, "      group: deploy-${{{{ github.ref }}}}")?;
        writeln!(out, "      cancel-in-progress: false")?;
        writeln!(out, "    permissions:")?;
        writeln!(out, "      contents: read")?;
        writeln!(
            out,
            "      id-token: write # GitHub OIDC for cloud authentication, no stored keys"
        )?;
        writeln!(out, "    steps:")?;
        writeln!(out, "      - uses: {CHECKOUT_ACTION}")?;
        writeln!(out)?;
        write_install_dagger(&mut out, &action, cli_version)?;
        for step in &plan.deploy {
            writeln!(out)?;
            write_deploy_step(&mut out, step, plan, catalog, needs)?;
        }
    }
    Ok(out)
}

fn write_install_dagger(out: &mut String, action: &str, cli_version: &str) -> anyhow::Result<()> {
    writeln!(out, "      - name: Install Dagger")?;
    writeln!(out, "        uses: {action}")?;
    writeln!(out, "        with:")?;
    writeln!(
        out,
        "          version: \"{cli_version}\" # the engineVersion in dagger.json"
    )?;
    Ok(())
}

fn write_deploy_step(
    out: &mut String,
    step: &DeployStep,
    plan: &Plan,
    catalog: &Catalog,
    needs: &mut Needs,
) -> anyhow::Result<()> {
    // Arguments follow the function's own order; the plan's map is sorted by name.
    let function = plan
        .toolchains
        .iter()
        .find(|toolchain| toolchain.name == step.toolchain)
        .and_then(|toolchain| catalog.module(&toolchain.module))
        .and_then(|library| library.module.function(&step.function));
    let mut ordered: Vec<(&String, &String)> = Vec::new();
    if let Some(function) = function {
        for argument in &function.args {
            if let Some(entry) = step
                .args
                .iter()
                .find(|(name, _)| **name == argument.cli_name || **name == argument.name)
            {
                ordered.push(entry);
            }
        }
    }
    for entry in &step.args {
        if !ordered.iter().any(|(name, _)| *name == entry.0) {
            ordered.push(entry);
        }
    }

    let mut environment: Vec<(String, String)> = Vec::new();
    let mut lines = vec![format!("dagger call {} {}", step.toolchain, step.function)];
    for (name, value) in ordered {
        let cli_name = name.replace('_', "-");
        let rendered = if let Some(variable) = value.strip_prefix("env:") {
            if !OIDC_VARIABLES.contains(&variable) {
                push_environment(
                    &mut environment,
                    variable,
                    &format!("${{{{ secrets.{variable} }}}}"),
                );
                needs.secrets.insert(variable.to_string());
            }
            format!("env:{variable}")
        } else if value.contains("${{") {
            let variable = expression_variable(value).unwrap_or_else(|| environment_name(name));
            if let Some(secret) = context_name(value, "secrets") {
                needs.secrets.insert(secret);
            }
            if let Some(repository_variable) = context_name(value, "vars") {
                needs.variables.insert(repository_variable);
            }
            push_environment(&mut environment, &variable, value);
            format!("\"${variable}\"")
        } else {
            shell_word(value)
        };
        lines.push(format!("  --{cli_name} {rendered}"));
    }
    writeln!(out, "      - name: {} {}", step.toolchain, step.function)?;
    writeln!(out, "        run: |")?;
    let last = lines.len() - 1;
    for (index, line) in lines.iter().enumerate() {
        let continuation = if index < last { " \\" } else { "" };
        writeln!(out, "          {line}{continuation}")?;
    }
    if !environment.is_empty() {
        writeln!(out, "        env:")?;
        for (name, value) in environment {
            writeln!(out, "          {name}: {value}")?;
        }
    }
    Ok(())
}

fn push_environment(environment: &mut Vec<(String, String)>, name: &str, value: &str) {
    if !environment.iter().any(|(existing, _)| existing == name) {
        environment.push((name.to_string(), value.to_string()));
    }
}

/// `${{ vars.PROJECT }}` → `PROJECT`: the expression's own name makes the clearest variable.
fn expression_variable(value: &str) -> Option<String> {
    context_name(value, "vars").or_else(|| context_name(value, "secrets"))
}

fn context_name(value: &str, context: &str) -> Option<String> {
    let inner = value.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let name = inner.strip_prefix(context)?.strip_prefix('.')?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then(|| name.to_string())
}

/// A word the shell passes through unchanged, quoted only when it has to be.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@=+-,".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// A YAML plain scalar when it is safe, else a double-quoted one.
fn yaml_scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./@=+-".contains(c))
        && !value.starts_with(['-', ' ', '@'])
        && !value.ends_with(' ');
    if plain {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::daggie::catalog::tests::module;
    use crate::agents::daggie::plan::ToolchainPlan;
    use crate::scan::Role;

    #[test]
    fn engine_version_is_the_newest_by_semver_not_by_text() {
        let mut old = module("a", Role::Module, vec![]);
        old.engine_version = Some("v0.9.9".to_string());
        let mut new = module("b", Role::Module, vec![]);
        new.engine_version = Some("v0.20.3".to_string());
        let catalog = Catalog::from_modules(vec![old, new]);
        let plan = Plan {
            toolchains: ["a", "b"]
                .into_iter()
                .map(|name| ToolchainPlan {
                    module: name.into(),
                    name: name.into(),
                    customizations: vec![],
                })
                .collect(),
            ..Plan::default()
        };
        assert_eq!(newest_engine_version(&plan, &catalog).unwrap(), "v0.20.3");
        assert_eq!(normalize_version("0.21.1").unwrap(), "v0.21.1");
        assert!(normalize_version("latest").is_err());
    }

    #[test]
    fn a_plan_without_deploys_or_fix_agents_renders_only_the_check_job() {
        let temp = tempfile::tempdir().unwrap();
        let project = Project::detect(temp.path()).unwrap();
        let catalog = Catalog::from_modules(vec![module("lint", Role::Module, vec![])]);
        let plan = Plan {
            toolchains: vec![ToolchainPlan {
                module: "lint".into(),
                name: "lint".into(),
                customizations: vec![],
            }],
            ..Plan::default()
        };
        let options = RenderOptions {
            default_branch: "trunk".to_string(),
            action_version: "8.4.0".to_string(),
            ..RenderOptions::default()
        };
        let rendered = render(&plan, &catalog, &project, &options).unwrap();
        let workflow: serde_json::Value = yaml_serde::from_str(&rendered.workflow).unwrap();
        let jobs: Vec<&String> = workflow["jobs"].as_object().unwrap().keys().collect();
        assert_eq!(jobs, vec!["check"]);
        assert_eq!(workflow["on"]["push"]["branches"][0], "trunk");
        assert!(
            rendered
                .workflow
                .contains("dagger/dagger-for-github@v8.4.0")
        );
        assert!(!rendered.workflow.contains("id-token"));
        assert!(!rendered.workflow.contains("pull-requests"));
        assert!(rendered.variables.is_empty() && rendered.secrets.is_empty());
        let dagger_json: serde_json::Value = serde_json::from_str(&rendered.dagger_json).unwrap();
        assert_eq!(
            dagger_json["toolchains"][0],
            serde_json::json!({"name": "lint", "source": "lint"})
        );
        assert!(rendered.dagger_json.ends_with("}\n"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_word("europe-west1"), "europe-west1");
        assert_eq!(shell_word("it's here"), r"'it'\''s here'");
        assert_eq!(yaml_scalar("main"), "main");
        assert_eq!(yaml_scalar("release/*"), "\"release/*\"");
        assert_eq!(
            context_name("${{ vars.GCP_PROJECT }}", "vars").as_deref(),
            Some("GCP_PROJECT")
        );
        assert_eq!(context_name("${{ github.sha }}", "vars"), None);
    }

    #[test]
    fn provider_keys_follow_the_contract() {
        assert_eq!(
            provider_key("gemini").unwrap().as_deref(),
            Some("GEMINI_API_KEY")
        );
        assert_eq!(provider_key("ollama").unwrap(), None);
        assert!(provider_key("acme").is_err());
    }

    #[test]
    fn action_versions_and_branches_are_checked() {
        assert_eq!(normalize_action_version("8.4.1").unwrap(), "v8.4.1");
        assert_eq!(normalize_action_version("v8").unwrap(), "v8");
        let commit = "27b130b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";
        assert_eq!(normalize_action_version(commit).unwrap(), commit);
        assert!(normalize_action_version("latest").is_err());
        assert!(normalize_action_version("v8.4.1.2").is_err());
        assert!(validate_branch("release/2026").is_ok());
        assert!(validate_branch("main' || true").is_err());
        assert!(is_newer("v0.21.0", "v0.20.3"));
        assert!(!is_newer("v0.9.0", "v0.20.3"));
        assert!(!is_newer("latest", "v0.20.3"));
    }
}
