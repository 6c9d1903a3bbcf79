//! Knowing the project daggie sets up: which stacks live in which directories, the context files
//! (`DAGGIE.md`, `DAGGER.md`, `AGENTS.md`), any `dagger.json` already there, and a compact summary.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

/// How deep below `--source` stack markers are looked for. Monorepos put services one or two
/// levels down (`backend/`, `services/api/`); deeper hits are nearly always vendored code.
const MAX_DEPTH: usize = 4;

/// Directories never searched: dependencies, virtual environments, build output, VCS data, test data.
const SKIPPED_DIRECTORIES: &[&str] = &[
    "node_modules",
    ".git",
    "venv",
    ".venv",
    "env",
    ".env",
    "dist",
    "build",
    "target",
    "out",
    "__pycache__",
    ".tox",
    ".nox",
    ".angular",
    ".dagger",
    "vendor",
    "site-packages",
    // Test data: sample projects a test suite builds on are not services to check.
    "testdata",
    "fixtures",
    "__fixtures__",
];

/// Context files daggie reads, in the order they are shown to the planner (CONTRACTS §6).
const CONTEXT_FILES: &[&str] = &[
    "DAGGIE.md",
    "DAGGER.md",
    "AGENTS.md",
    "AGENT.md",
    "CLAUDE.md",
];

/// Context files are summaries for a planner, not documents to reproduce in full.
const CONTEXT_LIMIT: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stack {
    Python,
    Angular,
    Node,
    Go,
    Rust,
    Java,
}

impl Stack {
    pub fn as_str(self) -> &'static str {
        match self {
            Stack::Python => "python",
            Stack::Angular => "angular",
            Stack::Node => "node",
            Stack::Go => "go",
            Stack::Rust => "rust",
            Stack::Java => "java",
        }
    }

    /// Words a module library uses when it is about this stack. Matching a module's own text
    /// against them is how the offline planner pairs directories with modules.
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            Stack::Python => &[
                "python",
                "pytest",
                "ruff",
                "pip",
                "pyproject",
                "fastapi",
                "flask",
                "django",
                "uvicorn",
                "mypy",
                "poetry",
                "flake8",
                "black",
                "pylint",
                "cyclonedx",
            ],
            Stack::Angular => &[
                "angular",
                "ng",
                "npm",
                "node",
                "karma",
                "vitest",
                "jest",
                "eslint",
                "typescript",
                "npx",
            ],
            Stack::Node => &[
                "node",
                "npm",
                "npx",
                "yarn",
                "pnpm",
                "javascript",
                "typescript",
                "jest",
                "vitest",
                "eslint",
            ],
            Stack::Go => &["go", "golang", "gofmt", "golangci", "gotest"],
            Stack::Rust => &["rust", "cargo", "clippy", "rustfmt"],
            Stack::Java => &["java", "maven", "gradle", "junit", "spring", "mvn"],
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One stack found in one directory of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackDirectory {
    pub stack: Stack,
    /// Relative to the project root with `/` separators; `""` for the root itself.
    pub directory: String,
    /// The files that gave the stack away (`pyproject.toml`, `angular.json`, …).
    pub markers: Vec<String>,
    /// The framework its manifests declare (`fastapi`, `django`, `flask`, `react`, `vue`,
    /// `express`, and `jest`/`vitest` for a plain Node app's tests); `None` when plain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
}

impl StackDirectory {
    /// The path a toolchain customization uses: absolute from the project root (`/backend`).
    pub fn default_path(&self) -> String {
        format!("/{}", self.directory)
    }

    /// The path a `dagger call` argument uses, relative to the working directory (`./backend`).
    pub fn call_path(&self) -> String {
        if self.directory.is_empty() {
            ".".to_string()
        } else {
            format!("./{}", self.directory)
        }
    }

    /// The last path segment (`backend` for `services/backend`), or the stack name at the root.
    pub fn label(&self) -> &str {
        self.directory
            .rsplit('/')
            .next()
            .filter(|segment| !segment.is_empty())
            .unwrap_or(self.stack.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextFile {
    pub name: String,
    pub text: String,
}

/// What daggie knows about the project in `--source`.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    #[serde(skip)]
    pub root: PathBuf,
    /// The name for the generated `dagger.json`: the existing file's name, else the directory's.
    pub name: String,
    pub stacks: Vec<StackDirectory>,
    pub context: Vec<ContextFile>,
    /// The `engineVersion` of a `dagger.json` already in the project root, if any.
    pub existing_engine_version: Option<String>,
    /// The toolchains (name, source) that `dagger.json` already installs.
    #[serde(skip)]
    pub existing_toolchains: Vec<(String, String)>,
    /// Set when `--source` sits inside a larger git repository: the path from that repository's
    /// root. Dagger resolves absolute default paths from the git root, so the user must know.
    pub repository_prefix: Option<String>,
}

impl Project {
    /// Look at the project in `root`. Fails when `root` is not a directory or when its
    /// `dagger.json` is an SDK module, which a toolchain-only file would silently destroy.
    pub fn detect(root: &Path) -> anyhow::Result<Project> {
        if !root.is_dir() {
            return Err(crate::exit::usage(format!(
                "the source `{}` is not a directory",
                root.display()
            )));
        }
        let mut stacks = detect_stacks(root);
        stacks.sort_by(|left, right| {
            (left.directory.as_str(), left.stack).cmp(&(right.directory.as_str(), right.stack))
        });
        let context = read_context_files(root)?;
        let existing = read_existing_dagger_json(root)?;
        let name = existing
            .as_ref()
            .and_then(|existing| existing.name.clone())
            .unwrap_or_else(|| directory_name(root));
        Ok(Project {
            root: root.to_path_buf(),
            name,
            stacks,
            context,
            existing_toolchains: existing
                .as_ref()
                .map(|existing| existing.toolchains.clone())
                .unwrap_or_default(),
            existing_engine_version: existing.and_then(|existing| existing.engine_version),
            repository_prefix: repository_prefix(root),
        })
    }

    /// The stacks found in one directory.
    pub fn stacks_in(&self, directory: &str) -> impl Iterator<Item = &StackDirectory> {
        self.stacks
            .iter()
            .filter(move |stack| stack.directory == directory)
    }

    /// Whether a path given relative to the project root (`/backend`, `backend`, `./backend`)
    /// exists, and what it is.
    pub fn path_kind(&self, path: &str) -> Option<PathKind> {
        let relative = normalize_relative(path)?;
        let full = self.root.join(relative);
        if full.is_dir() {
            Some(PathKind::Directory)
        } else if full.is_file() {
            Some(PathKind::File)
        } else {
            None
        }
    }

    /// A compact, human- and model-readable description of the project.
    pub fn summary(&self) -> String {
        let mut text = format!("Project `{}`\n", self.name);
        if self.stacks.is_empty() {
            text.push_str("No known stack found (Python, Angular, Node, Go, Rust, Java).\n");
        }
        for stack in &self.stacks {
            let directory = if stack.directory.is_empty() {
                "(root)".to_string()
            } else {
                format!("{}/", stack.directory)
            };
            let framework = stack
                .framework
                .as_deref()
                .map(|framework| format!(" {framework}"))
                .unwrap_or_default();
            text.push_str(&format!(
                "- {directory}: {}{framework} ({})\n",
                stack.stack,
                stack.markers.join(", ")
            ));
        }
        if let Some(version) = &self.existing_engine_version {
            text.push_str(&format!("Existing dagger.json engineVersion: {version}\n"));
        }
        if !self.context.is_empty() {
            let names: Vec<&str> = self.context.iter().map(|file| file.name.as_str()).collect();
            text.push_str(&format!("Context files: {}\n", names.join(", ")));
        }
        text
    }

    /// The summary followed by the context files' text: what a model plans from.
    pub fn context_summary(&self) -> String {
        let mut text = self.summary();
        for file in &self.context {
            text.push_str(&format!("\n## {}\n{}\n", file.name, file.text.trim_end()));
        }
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Directory,
    File,
}

/// `"/backend"`, `"./backend"` and `"backend"` all name `backend` under the root; `".."`
/// segments are refused because a default path cannot leave the project.
pub fn normalize_relative(path: &str) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            other => relative.push(other),
        }
    }
    Some(relative)
}

fn detect_stacks(root: &Path) -> Vec<StackDirectory> {
    let walker = walkdir::WalkDir::new(root)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0
                || !entry.file_type().is_dir()
                || !is_skipped(&entry.file_name().to_string_lossy())
        });
    let mut found: Vec<StackDirectory> = Vec::new();
    for entry in walker.filter_map(Result::ok) {
        if !entry.file_type().is_dir() {
            continue;
        }
        let directory = entry.path();
        let Some(relative) = relative_slash_path(root, directory) else {
            continue;
        };
        let has = |name: &str| directory.join(name).is_file();
        // The stack, when any of its manifests is in the directory.
        let mut add = |stack: Stack, manifests: &[&str]| {
            let markers: Vec<&str> = manifests.iter().copied().filter(|name| has(name)).collect();
            if markers.is_empty() {
                return;
            }
            let framework = detect_framework(directory, stack, &markers);
            found.push(StackDirectory {
                stack,
                directory: relative.clone(),
                markers: markers.into_iter().map(str::to_string).collect(),
                framework,
            });
        };
        add(
            Stack::Python,
            &["pyproject.toml", "requirements.txt", "setup.py"],
        );
        // An Angular workspace also has a package.json; it is one Angular stack, not two.
        if has("angular.json") {
            add(Stack::Angular, &["angular.json"]);
        } else {
            add(Stack::Node, &["package.json"]);
        }
        add(Stack::Go, &["go.mod"]);
        add(Stack::Rust, &["Cargo.toml"]);
        add(
            Stack::Java,
            &["pom.xml", "build.gradle", "build.gradle.kts"],
        );
    }
    // A stack nested inside another directory of the same stack is part of it (a Rust
    // workspace's member crates, a Python package's sub-projects): keep the outermost.
    let outer: Vec<StackDirectory> = found.clone();
    found.retain(|candidate| {
        !outer.iter().any(|other| {
            other.stack == candidate.stack
                && other.directory != candidate.directory
                && is_ancestor(&other.directory, &candidate.directory)
        })
    });
    found
}

/// Frameworks by the dependency names their manifests list, most specific first.
const PYTHON_FRAMEWORKS: &[&str] = &["fastapi", "django", "flask"];
const NODE_FRAMEWORKS: &[(&str, &str)] = &[
    ("\"react\"", "react"),
    ("\"vue\"", "vue"),
    ("\"express\"", "express"),
    ("\"jest\"", "jest"),
    ("\"vitest\"", "vitest"),
];

/// The framework a directory's manifests declare, from their text (dependency names).
fn detect_framework(directory: &Path, stack: Stack, markers: &[&str]) -> Option<String> {
    let text = |name: &str| {
        std::fs::read_to_string(directory.join(name))
            .unwrap_or_default()
            .to_lowercase()
    };
    match stack {
        Stack::Python => {
            let manifests: String = markers.iter().map(|name| text(name)).collect();
            let found = super::words(&manifests);
            PYTHON_FRAMEWORKS
                .iter()
                .find(|framework| found.contains(**framework))
                .map(|framework| framework.to_string())
        }
        Stack::Node => {
            let manifest = text("package.json");
            NODE_FRAMEWORKS
                .iter()
                .find(|(needle, _)| manifest.contains(needle))
                .map(|(_, framework)| framework.to_string())
        }
        _ => None,
    }
}

fn is_ancestor(ancestor: &str, descendant: &str) -> bool {
    ancestor.is_empty() || descendant.starts_with(&format!("{ancestor}/"))
}

fn is_skipped(name: &str) -> bool {
    SKIPPED_DIRECTORIES.contains(&name) || (name.starts_with('.') && name != ".")
}

fn relative_slash_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn read_context_files(root: &Path) -> anyhow::Result<Vec<ContextFile>> {
    let mut files = Vec::new();
    let mut shared_seen = false;
    for name in CONTEXT_FILES {
        // AGENTS.md is the shared file; AGENT.md and CLAUDE.md only stand in for it.
        let shared = matches!(*name, "AGENTS.md" | "AGENT.md" | "CLAUDE.md");
        if shared && shared_seen {
            continue;
        }
        let path = root.join(name);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        shared_seen |= shared;
        files.push(ContextFile {
            name: (*name).to_string(),
            text: truncate(&text, CONTEXT_LIMIT),
        });
    }
    Ok(files)
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… (truncated)", &text[..end])
}

#[derive(Debug, Default, serde::Deserialize)]
struct ExistingDaggerJson {
    name: Option<String>,
    #[serde(rename = "engineVersion")]
    engine_version: Option<String>,
    /// Read from the `toolchains` array, entries without a name and a source passed over.
    #[serde(skip)]
    toolchains: Vec<(String, String)>,
}

/// Fields a toolchain-only `dagger.json` may hold. Anything else (an SDK, dependencies, a
/// source directory) belongs to a module that rewriting the file would destroy.
const TOOLCHAIN_ONLY_FIELDS: &[&str] = &["$schema", "name", "engineVersion", "toolchains"];

fn read_existing_dagger_json(root: &Path) -> anyhow::Result<Option<ExistingDaggerJson>> {
    let path = root.join("dagger.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        crate::exit::usage(format!(
            "`{}` is not valid JSON ({error}); fix or remove it first",
            path.display()
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(crate::exit::usage(format!(
            "`{}` is not a JSON object; fix or remove it first",
            path.display()
        )));
    };
    let foreign: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| !TOOLCHAIN_ONLY_FIELDS.contains(key))
        .collect();
    if !foreign.is_empty() {
        return Err(crate::exit::usage(format!(
            "`{}` is a Dagger module (it has {}); daggie writes a toolchain-only `dagger.json` \
             and will not overwrite it. Move the module to `.dagger/` or remove those fields",
            path.display(),
            super::quote_list(&foreign)
        )));
    }
    let toolchains = object
        .get("toolchains")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|toolchain| {
            Some((
                toolchain.get("name")?.as_str()?.to_owned(),
                toolchain.get("source")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let existing: ExistingDaggerJson = serde_json::from_value(value).unwrap_or_default();
    Ok(Some(ExistingDaggerJson {
        toolchains,
        ..existing
    }))
}

/// A name Dagger accepts for the project module: the directory name, lower-case, with anything
/// but letters, digits and `-` turned into `-`.
fn directory_name(root: &Path) -> String {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let raw = canonical
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = String::new();
    for character in raw.chars() {
        if character.is_ascii_alphanumeric() {
            name.push(character.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "project".to_string()
    } else {
        name
    }
}

fn repository_prefix(root: &Path) -> Option<String> {
    let canonical = root.canonicalize().ok()?;
    let mut current = canonical.as_path();
    loop {
        if current.join(".git").exists() {
            return if current == canonical {
                None
            } else {
                relative_slash_path(current, &canonical)
            };
        }
        current = current.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, path: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, "").unwrap();
    }

    #[test]
    fn detects_each_stack_in_its_directory_and_skips_dependencies() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        touch(root, "backend/pyproject.toml");
        touch(root, "backend/requirements.txt");
        touch(root, "frontend/angular.json");
        touch(root, "frontend/package.json");
        touch(root, "frontend/node_modules/left-pad/package.json");
        touch(root, "tools/cli/go.mod");
        touch(root, "backend/.venv/lib/setup.py");
        touch(root, "web/package.json");
        touch(root, "tests/fixtures/sample/pyproject.toml");
        touch(root, "testdata/app/package.json");
        let project = Project::detect(root).unwrap();
        let found: Vec<(Stack, &str)> = project
            .stacks
            .iter()
            .map(|stack| (stack.stack, stack.directory.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (Stack::Python, "backend"),
                (Stack::Angular, "frontend"),
                (Stack::Go, "tools/cli"),
                (Stack::Node, "web"),
            ]
        );
        assert_eq!(
            project.stacks[0].markers,
            vec!["pyproject.toml", "requirements.txt"]
        );
        assert_eq!(project.stacks[0].default_path(), "/backend");
        assert_eq!(project.stacks[0].call_path(), "./backend");
    }

    #[test]
    fn nested_directories_of_the_same_stack_belong_to_the_outer_one() {
        let temp = tempfile::tempdir().unwrap();
        touch(temp.path(), "Cargo.toml");
        touch(temp.path(), "crates/core/Cargo.toml");
        let project = Project::detect(temp.path()).unwrap();
        assert_eq!(project.stacks.len(), 1);
        assert_eq!(project.stacks[0].directory, "");
        assert_eq!(project.stacks[0].default_path(), "/");
        assert_eq!(project.stacks[0].call_path(), ".");
    }

    #[test]
    fn reads_context_files_and_keeps_the_name_of_an_existing_toolchain_file() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("DAGGER.md"), "Deploy to europe-west1").unwrap();
        std::fs::write(temp.path().join("AGENTS.md"), "Shared").unwrap();
        std::fs::write(temp.path().join("CLAUDE.md"), "Ignored").unwrap();
        std::fs::write(
            temp.path().join("dagger.json"),
            r#"{"name": "shop", "engineVersion": "v0.20.1"}"#,
        )
        .unwrap();
        let project = Project::detect(temp.path()).unwrap();
        assert_eq!(project.name, "shop");
        assert_eq!(project.existing_engine_version.as_deref(), Some("v0.20.1"));
        let names: Vec<&str> = project.context.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["DAGGER.md", "AGENTS.md"]);
        assert!(project.context_summary().contains("Deploy to europe-west1"));
        assert!(
            project
                .summary()
                .contains("Context files: DAGGER.md, AGENTS.md")
        );
    }

    #[test]
    fn refuses_to_replace_an_sdk_module() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(
            temp.path().join("dagger.json"),
            r#"{"name": "ci", "engineVersion": "v0.20.1", "sdk": {"source": "python"}}"#,
        )
        .unwrap();
        let error = Project::detect(temp.path()).unwrap_err();
        assert_eq!(
            crate::exit::coded_exit(&error),
            Some(crate::exit::Exit::Usage)
        );
        assert!(format!("{error:#}").contains("`sdk`"));
    }

    #[test]
    fn path_kind_refuses_parent_segments() {
        let temp = tempfile::tempdir().unwrap();
        touch(temp.path(), "backend/app.py");
        let project = Project::detect(temp.path()).unwrap();
        assert_eq!(project.path_kind("/backend"), Some(PathKind::Directory));
        assert_eq!(project.path_kind("./backend/app.py"), Some(PathKind::File));
        assert_eq!(project.path_kind("/missing"), None);
        assert_eq!(project.path_kind("/../etc"), None);
    }
}
