//! Matching library modules and their checks to the project: the words a module declares, how
//! well they fit a directory's stack, and which directory a check or deploy function is about.

use std::collections::BTreeSet;

use super::deploy::is_deploy;
use super::toolchains::display_directory;
use super::{Match, Planner};
use crate::agents::daggie::catalog::{LibraryModule, is_check};
use crate::agents::daggie::project::{Stack, StackDirectory};
use crate::agents::daggie::words;
use crate::scan::Function;

/// A check that talks about a container or image is about the service whose module builds one.
pub(super) const CONTAINER_WORDS: &[&str] = &["container", "image", "docker", "oci"];

/// Weights: a stack keyword says what technology a module handles; the directory's own name
/// (`backend`, `frontend`) is a weaker hint because libraries reuse such words loosely; an
/// assignment that places a function next to a directory is the strongest hint.
pub(super) const STACK_WEIGHT: u32 = 3;
pub(super) const LABEL_WEIGHT: u32 = 2;
pub(super) const CONTAINER_WEIGHT: u32 = 2;
pub(super) const ASSIGNMENT_WEIGHT: u32 = 4;

/// How far after a function's mention in the assignment a directory name still belongs to it
/// ("Cloud Run (backend)").
pub(super) const MENTION_WINDOW: usize = 40;

impl<'a> Planner<'a> {
    /// The project directories whose stack the module declares, best first.
    pub(super) fn fitting_directories(&self, library: &LibraryModule) -> Vec<&'a StackDirectory> {
        let text = declared_words(library);
        let mut found: Vec<(&'a StackDirectory, u32)> = self
            .project
            .stacks
            .iter()
            .filter_map(|directory| {
                stack_fit(&text, directory.stack).map(|score| (directory, score))
            })
            .collect();
        found.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        found.into_iter().map(|(directory, _)| directory).collect()
    }

    /// Which of the fitting directories get a toolchain: every one with "every service", those
    /// the assignment names, else the best one (the others are noted).
    pub(super) fn choose_directories(
        &mut self,
        library: &LibraryModule,
        directories: &[&'a StackDirectory],
    ) -> Vec<&'a StackDirectory> {
        let name = &library.module.name;
        let describe = |directory: &StackDirectory| {
            let framework = directory
                .framework
                .as_deref()
                .map(|framework| format!(", {framework}"))
                .unwrap_or_default();
            format!(
                "`{}` ({}{framework}, {})",
                display_directory(directory),
                directory.stack,
                directory.markers.join(", ")
            )
        };
        let chosen: Vec<&'a StackDirectory> = if self.intent.every_service {
            directories.to_vec()
        } else {
            let named: Vec<&'a StackDirectory> = directories
                .iter()
                .copied()
                .filter(|directory| self.intent.named_directories.contains(&directory.directory))
                .collect();
            if named.is_empty() {
                let text = module_words(library);
                let best = self
                    .best_directory_among(&text, None, directories)
                    .map(|best| best.directory)
                    .unwrap_or(directories[0]);
                vec![best]
            } else {
                named
            }
        };
        for directory in &chosen {
            self.reasons.push(format!(
                "module `{name}` → {}: its declared stack fits ({})",
                describe(directory),
                stack_evidence(&declared_words(library), directory.stack).join(", ")
            ));
        }
        let others: Vec<String> = directories
            .iter()
            .filter(|directory| !chosen.contains(directory))
            .map(|directory| format!("`{}`", display_directory(directory)))
            .collect();
        if !others.is_empty() {
            self.reasons.push(format!(
                "module `{name}` also fits {}: name those directories (or \"every service\") in \
                 the assignment to check them too",
                others.join(", ")
            ));
        }
        chosen
    }

    /// The directory whose stack keywords and name best match `text`.
    pub(super) fn best_directory(
        &self,
        text: &BTreeSet<String>,
        function: Option<&Function>,
    ) -> Option<Match<'a>> {
        let all: Vec<&'a StackDirectory> = self.project.stacks.iter().collect();
        self.best_directory_among(text, function, &all)
    }

    /// The directory among `candidates` whose stack keywords and name best match `text`.
    pub(super) fn best_directory_among(
        &self,
        text: &BTreeSet<String>,
        function: Option<&Function>,
        candidates: &[&'a StackDirectory],
    ) -> Option<Match<'a>> {
        let mut best: Option<Match<'a>> = None;
        for directory in candidates.iter().copied() {
            let mut score = 0;
            let mut evidence = Vec::new();
            for keyword in directory.stack.keywords() {
                if text.contains(*keyword) {
                    score += STACK_WEIGHT;
                    evidence.push(format!("`{keyword}`"));
                }
            }
            let label = directory.label().to_lowercase();
            if text.contains(&label) {
                score += LABEL_WEIGHT;
                evidence.push(format!("`{label}`"));
            }
            if let Some(function) = function
                && self.assignment_places(function, &label)
            {
                score += ASSIGNMENT_WEIGHT;
                evidence.push(format!("the assignment pairs it with `{label}`"));
            }
            if score > best.as_ref().map_or(0, |best| best.score) {
                best = Some(Match {
                    directory,
                    score,
                    evidence,
                });
            }
        }
        best
    }

    /// Which service a deploy module's check is about: its own words, plus the services whose
    /// module builds a container when the check talks about containers.
    pub(super) fn check_directory(
        &self,
        check: &Function,
        assigned: &[(&LibraryModule, Option<&'a StackDirectory>)],
    ) -> Option<(&'a StackDirectory, Vec<String>)> {
        let text = function_words(check);
        let mut best = self.best_directory(&text, None);
        if CONTAINER_WORDS.iter().any(|word| text.contains(*word)) {
            for (library, directory) in assigned {
                let Some(directory) = directory else { continue };
                let builds_container = library
                    .other_functions()
                    .any(|function| function.returns == "Container");
                if !builds_container {
                    continue;
                }
                let current = best
                    .as_ref()
                    .filter(|best| best.directory.directory == directory.directory)
                    .map_or(0, |best| best.score);
                let mut evidence = best
                    .as_ref()
                    .filter(|best| best.directory.directory == directory.directory)
                    .map(|best| best.evidence.clone())
                    .unwrap_or_default();
                evidence.push(format!(
                    "a container, which module `{}` builds",
                    library.module.name
                ));
                let score = current + CONTAINER_WEIGHT;
                if score > best.as_ref().map_or(0, |best| best.score)
                    || best
                        .as_ref()
                        .is_some_and(|best| best.directory.directory == directory.directory)
                {
                    best = Some(Match {
                        directory,
                        score,
                        evidence,
                    });
                }
            }
        }
        match best {
            Some(best) => Some((best.directory, best.evidence)),
            None if self.project.stacks.len() == 1 => Some((
                &self.project.stacks[0],
                vec!["nothing specific, and the project has one stack".to_string()],
            )),
            None => None,
        }
    }

    /// Whether the assignment mentions the function with the directory's name right after it.
    pub(super) fn assignment_places(&self, function: &Function, label: &str) -> bool {
        let phrases = [
            function.cli_name.clone(),
            function.cli_name.replace('-', " "),
        ];
        phrases.iter().any(|phrase| {
            self.assignment
                .match_indices(phrase.as_str())
                .any(|(index, _)| {
                    let start = index + phrase.len();
                    let window: String = self.assignment[start..]
                        .chars()
                        .take(MENTION_WINDOW)
                        .take_while(|character| *character != '\n' && *character != '.')
                        .collect();
                    // The window stops at the next mention of another function's name.
                    let window = window.split(" and ").next().unwrap_or_default();
                    words(window).contains(label)
                })
        })
    }
}

/// What a module says it is about: its name, description, checks and the functions that are
/// not deployments (a deploy function's target, "a Python service on Cloud Run", does not make
/// a deploy module a Python module).
pub(super) fn declared_words(library: &LibraryModule) -> BTreeSet<String> {
    words_of_module(library, |function| {
        is_check(function) || !is_deploy(function)
    })
}

/// Keywords only an Angular module uses; a Node module without them is generic Node.
pub(super) const ANGULAR_IDENTITY: &[&str] = &["angular", "ng", "karma"];

/// How well a module's declared words fit a stack, if they do. An Angular module (it says
/// `angular`, `ng`, `karma`) fits Angular directories only, never a plain Node app; a generic
/// Node module fits both.
pub(super) fn stack_fit(text: &BTreeSet<String>, stack: Stack) -> Option<u32> {
    let angular = ANGULAR_IDENTITY.iter().any(|word| text.contains(*word));
    match stack {
        Stack::Angular if !angular => None,
        Stack::Node if angular => None,
        _ => {
            let score = stack
                .keywords()
                .iter()
                .filter(|keyword| text.contains(**keyword))
                .count() as u32;
            (score > 0).then_some(score * STACK_WEIGHT)
        }
    }
}

pub(super) fn stack_evidence(text: &BTreeSet<String>, stack: Stack) -> Vec<String> {
    stack
        .keywords()
        .iter()
        .filter(|keyword| text.contains(**keyword))
        .map(|keyword| format!("`{keyword}`"))
        .collect()
}

/// Everything a module says: its name, description and every function.
pub(super) fn module_words(library: &LibraryModule) -> BTreeSet<String> {
    words_of_module(library, |_| true)
}

/// The words of a module's name, description and the functions `include` keeps.
fn words_of_module(
    library: &LibraryModule,
    include: impl Fn(&Function) -> bool,
) -> BTreeSet<String> {
    let module = &library.module;
    let mut text = format!(
        "{} {}",
        module.name,
        module.description.as_deref().unwrap_or_default()
    );
    for function in module.functions.iter().filter(|function| include(function)) {
        text.push(' ');
        text.push_str(&function_text(function));
    }
    words(&text)
}

/// The words of a name and its doc.
pub(super) fn named_words(name: &str, doc: Option<&str>) -> BTreeSet<String> {
    words(&format!("{name} {}", doc.unwrap_or_default()))
}

pub(super) fn function_words(function: &Function) -> BTreeSet<String> {
    words(&function_text(function))
}

pub(super) fn function_text(function: &Function) -> String {
    let mut text = format!(
        "{} {}",
        function.name,
        function.doc.as_deref().unwrap_or_default()
    );
    for argument in &function.args {
        text.push(' ');
        text.push_str(argument.doc.as_deref().unwrap_or_default());
    }
    text
}

/// Whether `text` (lower-case) mentions `name` as a whole word.
pub(super) fn mentions(text: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    text.match_indices(&name).any(|(index, _)| {
        let before = text[..index].chars().next_back();
        let after = text[index + name.len()..].chars().next();
        let boundary =
            |character: Option<char>| character.is_none_or(|c| !c.is_alphanumeric() && c != '-');
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_needs_whole_words() {
        assert!(mentions(
            "install acme-backend and acme-deploy",
            "acme-backend"
        ));
        assert!(!mentions("install acme-backend", "backend"));
        assert!(mentions("deploy to cloud run (backend)", "cloud run"));
        assert!(!mentions("firebased", "firebase"));
    }
}
