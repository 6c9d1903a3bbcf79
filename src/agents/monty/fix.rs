//! The model-free half of monty's and angie's verbs: the prompts, turning a checked submission
//! into review findings on repository paths, the `suggest-fix` result (CONTRACTS §4.3) and its
//! human, Actions and JSON renderings.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::agents::prompt::render;
use crate::github::actions::{Location, Severity as AnnotationSeverity, annotation};
use crate::github::review::{Finding, Placement as ReviewPlacement, ReviewOutcome};

use super::failures::{Failure, Layout};
use super::packs::LanguagePack;
use super::review::ReviewSubmission;
use super::suggest::{Output, OutputSuggestion, Placement, Published, Suggestion};

const SYSTEM: &str = include_str!("prompts/system.md");
const SUGGEST_FIX: &str = include_str!("prompts/suggest_fix.md");
const REVIEW: &str = include_str!("prompts/review.md");
const ASSIST: &str = include_str!("prompts/assist.md");
const WRITE_TESTS: &str = include_str!("prompts/write_tests.md");
const BUILD: &str = include_str!("prompts/build.md");
const UPGRADE: &str = include_str!("prompts/upgrade.md");

/// The build runs `build` may make, as its prompt states.
pub const BUILD_ATTEMPTS: u32 = 3;

fn filled(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    render(template, values).map_err(|error| anyhow::anyhow!("prompt template: {error}"))
}

/// The agent's system prompt: who it is, how it works, and its stack knowledge.
pub fn system_prompt(pack: &LanguagePack) -> anyhow::Result<String> {
    let base = filled(
        SYSTEM,
        &[
            ("display_name", pack.display_name),
            ("language", pack.language),
        ],
    )?;
    Ok(format!(
        "{}\n\n{}",
        base.trim_end(),
        pack.knowledge.trim_end()
    ))
}

/// The directory a user named, for prompts and messages.
pub fn source_label(source: &Path) -> String {
    source.display().to_string()
}

/// `--source` must be a directory.
pub(crate) fn require_directory(source: &Path) -> anyhow::Result<()> {
    if source.is_dir() {
        Ok(())
    } else {
        Err(crate::exit::usage(format!(
            "`--source {}` is not a directory",
            source.display()
        )))
    }
}

/// The failures of the log that belong to `source`, and where the source sits in its repository.
pub fn failures_for(
    pack: &LanguagePack,
    source: &Path,
    log: &str,
) -> anyhow::Result<(Layout, Vec<Failure>)> {
    require_directory(source)?;
    let layout = Layout::discover(source).map_err(|error| {
        crate::exit::usage(format!("cannot read `{}`: {error}", source.display()))
    })?;
    let failures = super::failures::read(log, pack.parsers, &layout);
    Ok((layout, failures))
}

/// What `suggest-fix` says when the log holds nothing for this agent.
pub fn nothing_message(pack: &LanguagePack, source: &Path) -> String {
    format!("nothing for {} in {}", pack.agent, source.display())
}

pub fn suggest_fix_prompt(
    source: &Path,
    failures: &[Failure],
    max_suggestions: usize,
) -> anyhow::Result<String> {
    filled(
        SUGGEST_FIX,
        &[
            ("source", &source_label(source)),
            ("max_suggestions", &max_suggestions.to_string()),
            ("failures", &super::suggest::describe(failures, source)),
        ],
    )
}

pub fn review_prompt(
    pack: &LanguagePack,
    source: &Path,
    focus: Option<&str>,
    diff: Option<&str>,
) -> anyhow::Result<String> {
    let focus = focus
        .map(|focus| format!("\nFocus especially on: {}\n", focus.trim()))
        .unwrap_or_default();
    let diff = match diff {
        Some(diff) if !diff.trim().is_empty() => format!(
            "Review this change (a unified diff); read the files it touches for context:\n\n```diff\n{}\n```",
            crate::redact::redact(diff.trim_end())
        ),
        _ => {
            "No diff was given: review the workspace, starting with its entry points and the code \
              most likely to break."
                .to_owned()
        }
    };
    filled(
        REVIEW,
        &[
            ("language", pack.language),
            ("source", &source_label(source)),
            ("focus", &focus),
            ("diff", &diff),
        ],
    )
}

fn exec_hint(allowed: Option<&[String]>) -> String {
    match allowed {
        Some(commands) if !commands.is_empty() => format!(
            "You may run these commands with `exec` to check your work: {}.",
            commands
                .iter()
                .map(|command| format!("`{command}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "You cannot run commands in this run; check your changes by reading them again."
            .to_owned(),
    }
}

/// An optional extra assignment appended to a verb's own task (`speck run` passes one).
fn with_assignment(task: String, assignment: Option<&str>) -> String {
    match assignment {
        Some(text) if !text.trim().is_empty() => {
            format!("{task}\n\n## Assignment\n\n{}\n", text.trim())
        }
        _ => task,
    }
}

pub fn assist_prompt(
    source: &Path,
    assignment: &str,
    allowed: Option<&[String]>,
) -> anyhow::Result<String> {
    filled(
        ASSIST,
        &[
            ("source", &source_label(source)),
            ("assignment", assignment.trim()),
            ("exec_hint", &exec_hint(allowed)),
        ],
    )
}

/// The test framework `write-tests` uses: the one asked for, when the pack knows it, else the
/// pack's first.
pub fn test_framework(pack: &LanguagePack, requested: Option<&str>) -> anyhow::Result<String> {
    match requested {
        Some(framework) if pack.test_frameworks.contains(&framework) => Ok(framework.to_owned()),
        Some(framework) => Err(crate::exit::usage(format!(
            "{} writes tests with {}; `{framework}` is not one of them",
            pack.agent,
            pack.test_frameworks.join(", ")
        ))),
        None => Ok(pack
            .test_frameworks
            .first()
            .copied()
            .unwrap_or("the project's framework")
            .to_owned()),
    }
}

pub fn write_tests_prompt(
    pack: &LanguagePack,
    source: &Path,
    target: Option<&str>,
    framework: &str,
    assignment: Option<&str>,
    allowed: Option<&[String]>,
) -> anyhow::Result<String> {
    let target = target
        .map(|target| format!("`{}`", target.trim()))
        .unwrap_or_else(|| "the code in this workspace that has the weakest tests".to_owned());
    let task = filled(
        WRITE_TESTS,
        &[
            ("target", &target),
            ("source", &source_label(source)),
            ("framework", framework),
            ("conventions", pack.test_conventions),
            ("exec_hint", &exec_hint(allowed)),
        ],
    )?;
    Ok(with_assignment(task, assignment))
}

pub fn build_prompt(
    source: &Path,
    command: &str,
    assignment: Option<&str>,
) -> anyhow::Result<String> {
    let task = filled(
        BUILD,
        &[
            ("source", &source_label(source)),
            ("command", command),
            ("attempts", &BUILD_ATTEMPTS.to_string()),
        ],
    )?;
    Ok(with_assignment(task, assignment))
}

pub fn upgrade_prompt(
    source: &Path,
    target: &str,
    dry_run: bool,
    assignment: Option<&str>,
) -> anyhow::Result<String> {
    let mode = if dry_run {
        "This is a dry run: do not edit anything. Write down the exact changes you would make, file \
         by file."
    } else {
        "Make the changes with `edit_file` and `write_file`: the version declarations first, then \
         the code that uses APIs which changed."
    };
    let task = filled(
        UPGRADE,
        &[
            ("target", target),
            ("source", &source_label(source)),
            ("mode", mode),
        ],
    )?;
    Ok(with_assignment(task, assignment))
}

/// What an upgrade targets, as the prompt names it.
pub fn upgrade_target(
    pack: &LanguagePack,
    package: Option<&str>,
    version: &str,
) -> anyhow::Result<String> {
    match (pack.agent, package) {
        ("angie", Some(_)) => Err(crate::exit::usage(
            "angie upgrades Angular itself: pass only `--target-version`",
        )),
        ("angie", None) => Ok(format!(
            "Angular (all `@angular/*` packages) to version {version}"
        )),
        (_, Some(package)) => Ok(format!("`{package}` to version {version}")),
        (agent, None) => Err(crate::exit::usage(format!(
            "{agent} upgrade needs `--target-package NAME` and `--target-version VERSION`"
        ))),
    }
}

/// A path relative to `--source`, as the repository (and so the pull request) names it.
pub fn repository_path(layout: &Layout, path: &str) -> String {
    let prefix = layout
        .source
        .strip_prefix(&layout.root)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let joined: PathBuf = prefix.join(path.trim_start_matches("./"));
    joined.to_string_lossy().replace('\\', "/")
}

/// A repository path as `--source` names it; `None` when the file is outside the source.
pub fn source_path(layout: &Layout, repository_path: &str) -> Option<String> {
    let prefix = layout.source.strip_prefix(&layout.root).ok()?;
    let relative = Path::new(repository_path).strip_prefix(prefix).ok()?;
    let relative = relative.to_string_lossy().replace('\\', "/");
    (!relative.is_empty()).then_some(relative)
}

/// The pull request's changes under `--source`, with new-side line numbers, for `review`.
pub fn pull_diff_text(layout: &Layout, diff: &crate::github::diff::PullDiff) -> String {
    let mut text = String::new();
    for file in &diff.files {
        let Some(path) = source_path(layout, &file.path) else {
            continue;
        };
        let _ = writeln!(text, "diff -- {path} ({:?})", file.status);
        text.push_str(&file.numbered_hunks());
    }
    text
}

fn read_source(layout: &Layout, path: &str) -> Option<String> {
    std::fs::read_to_string(layout.source.join(path)).ok()
}

/// The suggestions as review findings: repository paths, quoting the code they replace.
pub fn suggestion_findings(layout: &Layout, suggestions: &[Suggestion]) -> Vec<Finding> {
    suggestions
        .iter()
        .map(|suggestion| {
            let finding = Finding {
                path: repository_path(layout, &suggestion.path),
                start_line: suggestion.start_line,
                end_line: suggestion.end_line,
                replacement: Some(suggestion.replacement.clone()),
                body: suggestion.explanation.clone(),
                original_text: None,
            };
            match read_source(layout, &suggestion.path) {
                Some(text) => finding.quoting(&text),
                None => finding,
            }
        })
        .collect()
}

/// The suggestions as findings with their verification: each verified one says so, the note for
/// the review body counts them, and with `only_verified` the unverified ones are left out.
pub fn verified_findings(
    layout: &Layout,
    suggestions: &[Suggestion],
    verified: &[Option<bool>],
    how: Option<&str>,
    only_verified: bool,
) -> (Vec<Finding>, Option<String>) {
    let mut findings = Vec::new();
    let mut count = 0;
    for (index, mut finding) in suggestion_findings(layout, suggestions)
        .into_iter()
        .enumerate()
    {
        let passed = verified.get(index).copied().flatten() == Some(true);
        if passed {
            count += 1;
            finding.body.push_str(&format!(
                "\n\n✅ Verified: `{}` passes with this suggestion applied.",
                how.unwrap_or("the failing check")
            ));
        } else if only_verified {
            continue;
        }
        findings.push(finding);
    }
    let note = match how {
        Some(how) if !verified.is_empty() => Some(format!(
            "✅ Verified {count} of {} suggestion(s) by running `{how}` on a scratch copy with them applied.",
            suggestions.len()
        )),
        _ => None,
    };
    (findings, note)
}

/// A review as findings: located issues without a replacement, suggestions with one. Issues
/// without a path stay in the summary.
pub fn review_findings(layout: &Layout, review: &ReviewSubmission) -> Vec<Finding> {
    let mut findings = Vec::new();
    for issue in &review.issues {
        let (Some(path), Some(line)) = (&issue.path, issue.line) else {
            continue;
        };
        let severity = format!("{:?}", issue.severity).to_lowercase();
        let finding = Finding {
            path: repository_path(layout, path),
            start_line: line,
            end_line: line,
            replacement: None,
            body: format!("**{severity}**: {}", issue.text.trim()),
            original_text: None,
        };
        findings.push(match read_source(layout, path) {
            Some(text) => finding.quoting(&text),
            None => finding,
        });
    }
    for suggestion in &review.suggestions {
        let finding = Finding {
            path: repository_path(layout, &suggestion.path),
            start_line: suggestion.start_line,
            end_line: suggestion.end_line,
            replacement: Some(suggestion.replacement.trim_end_matches('\n').to_owned()),
            body: suggestion.explanation.trim().to_owned(),
            original_text: None,
        };
        findings.push(match read_source(layout, &suggestion.path) {
            Some(text) => finding.quoting(&text),
            None => finding,
        });
    }
    findings
}

/// The review body text for a review without its located issues (issues that name no line).
pub fn review_summary(review: &ReviewSubmission) -> String {
    let mut text = review.summary.trim().to_owned();
    let general: Vec<_> = review
        .issues
        .iter()
        .filter(|issue| issue.path.is_none() || issue.line.is_none())
        .collect();
    if !general.is_empty() {
        text.push_str("\n\n");
        for issue in general {
            let severity = format!("{:?}", issue.severity).to_lowercase();
            let place = issue
                .path
                .as_deref()
                .map(|path| format!(" `{path}`"))
                .unwrap_or_default();
            let _ = writeln!(text, "- **{severity}**{place}: {}", issue.text.trim());
        }
    }
    if !review.positives.is_empty() {
        text.push_str("\n\n**Done well**\n\n");
        for positive in &review.positives {
            let _ = writeln!(text, "- {}", positive.trim());
        }
    }
    text
}

/// The `--json` result of `suggest-fix`. `verified` is one entry per suggestion (or empty when
/// nothing was verified); `outcome` is the publication (or its dry run), if any. `published`
/// stays null on a dry run, while the placements still say where each suggestion would go.
pub fn output(
    summary: &str,
    suggestions: &[Suggestion],
    verified: &[Option<bool>],
    outcome: Option<&ReviewOutcome>,
    dry_run: bool,
) -> Output {
    let suggestions = suggestions
        .iter()
        .enumerate()
        .map(|(index, suggestion)| {
            let placement = outcome
                .and_then(|outcome| outcome.placement_of(index))
                .map(|placed| match placed.placement {
                    ReviewPlacement::Inline => Placement::Inline,
                    ReviewPlacement::File => Placement::File,
                    ReviewPlacement::Summary => Placement::Summary,
                })
                // Not published: the suggestion lives only in this run's summary.
                .unwrap_or(Placement::Summary);
            OutputSuggestion {
                path: suggestion.path.clone(),
                start_line: suggestion.start_line,
                end_line: suggestion.end_line,
                replacement: suggestion.replacement.clone(),
                explanation: suggestion.explanation.clone(),
                placement,
                verified: verified.get(index).copied().flatten(),
            }
        })
        .collect();
    let published = outcome.filter(|_| !dry_run).map(|outcome| {
        let published = outcome.published();
        Published {
            review_id: published.review_id,
            inline: published.inline,
            file_level: published.file_level,
            in_summary: published.in_summary,
        }
    });
    Output {
        summary: summary.trim().to_owned(),
        suggestions,
        published,
    }
}

/// The suggestions as a human reads them on a terminal or in a job summary.
pub fn to_markdown(output: &Output, pack: &LanguagePack) -> String {
    let mut text = format!(
        "## {} suggest-fix\n\n{}\n",
        pack.display_name, output.summary
    );
    for (at, suggestion) in output.suggestions.iter().enumerate() {
        let verified = match suggestion.verified {
            Some(true) => " (verified: the check passes with it)",
            Some(false) => " (verification failed: the check still fails with it)",
            None => "",
        };
        let range = if suggestion.start_line == suggestion.end_line {
            format!("line {}", suggestion.start_line)
        } else {
            format!("lines {}-{}", suggestion.start_line, suggestion.end_line)
        };
        let fence = crate::github::review::fence_for(&suggestion.replacement);
        let _ = write!(
            text,
            "\n### {}. `{}` {range}{verified}\n\n{}\n\n{fence}\n{}\n{fence}\n",
            at + 1,
            suggestion.path,
            suggestion.explanation,
            suggestion.replacement
        );
    }
    if let Some(published) = &output.published {
        let _ = write!(
            text,
            "\nPublished: {} inline, {} file-level, {} in the review body{}.\n",
            published.inline,
            published.file_level,
            published.in_summary,
            published
                .review_id
                .map(|id| format!(" (review {id})"))
                .unwrap_or_default()
        );
    }
    crate::redact::redact(&text).into_owned()
}

/// `::error` annotations for the failures, on repository paths, so the runner marks the lines.
pub fn failure_annotations(layout: &Layout, failures: &[Failure]) -> Vec<String> {
    failures
        .iter()
        .map(|failure| {
            let location = Location {
                file: failure
                    .path
                    .as_deref()
                    .map(|path| repository_path(layout, path)),
                line: failure.line,
                end_line: None,
                title: Some(format!(
                    "{} ({})",
                    failure.tool,
                    failure.check.as_deref().unwrap_or("check")
                )),
            };
            annotation(AnnotationSeverity::Error, &location, &failure.message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::monty::packs::{ANGULAR, PYTHON};
    use crate::agents::monty::review::{ReviewIssue, Severity};
    use crate::agents::monty::suggest::SubmittedSuggestion;

    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("backend/app")).unwrap();
        std::fs::write(
            dir.path().join("backend/app/auth.py"),
            "import time\n\ndef validate(payload):\n    return True\n",
        )
        .unwrap();
        dir
    }

    fn suggestion() -> Suggestion {
        Suggestion {
            path: "app/auth.py".into(),
            start_line: 4,
            end_line: 4,
            replacement: "    return payload[\"exp\"] > time.time()".into(),
            explanation: "Expired tokens passed.".into(),
            original: "    return True".into(),
        }
    }

    #[test]
    fn findings_use_repository_paths_and_quote_the_code() {
        let dir = repository();
        let layout = Layout::discover(&dir.path().join("backend")).unwrap();
        let findings = suggestion_findings(&layout, &[suggestion()]);
        assert_eq!(findings[0].path, "backend/app/auth.py");
        assert_eq!(
            findings[0].original_text.as_deref(),
            Some("    return True")
        );
        assert_eq!(findings[0].body, "Expired tokens passed.");
        let root = Layout::discover(dir.path()).unwrap();
        assert_eq!(repository_path(&root, "./x.py"), "x.py");
        assert_eq!(
            source_path(&layout, "backend/app/auth.py").as_deref(),
            Some("app/auth.py")
        );
        assert_eq!(source_path(&layout, "frontend/main.ts"), None);
        assert_eq!(source_path(&root, "x.py").as_deref(), Some("x.py"));
    }

    #[test]
    fn review_issues_with_a_line_become_findings_without_replacement() {
        let dir = repository();
        let layout = Layout::discover(&dir.path().join("backend")).unwrap();
        let review = ReviewSubmission {
            issues: vec![
                ReviewIssue {
                    path: Some("app/auth.py".into()),
                    line: Some(4),
                    severity: Severity::Critical,
                    text: "Accepts every token.".into(),
                },
                ReviewIssue {
                    path: None,
                    line: None,
                    severity: Severity::Minor,
                    text: "No changelog.".into(),
                },
            ],
            suggestions: vec![SubmittedSuggestion {
                path: "app/auth.py".into(),
                start_line: 1,
                end_line: 1,
                replacement: "import time as clock\n".into(),
                explanation: "Clearer.".into(),
            }],
            positives: vec!["Small functions.".into()],
            summary: "One serious bug.".into(),
        };
        let findings = review_findings(&layout, &review);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].replacement, None);
        assert_eq!(findings[0].body, "**critical**: Accepts every token.");
        assert_eq!(
            findings[0].original_text.as_deref(),
            Some("    return True")
        );
        assert_eq!(
            findings[1].replacement.as_deref(),
            Some("import time as clock")
        );
        let summary = review_summary(&review);
        assert!(summary.contains("- **minor**: No changelog."), "{summary}");
        assert!(summary.contains("- Small functions."), "{summary}");
    }

    #[test]
    fn unpublished_output_has_no_published_block() {
        let output = output("Broken.", &[suggestion()], &[Some(true)], None, false);
        assert_eq!(output.published, None);
        assert_eq!(output.suggestions[0].placement, Placement::Summary);
        assert_eq!(output.suggestions[0].verified, Some(true));
        let text = to_markdown(&output, &PYTHON);
        assert!(
            text.contains("### 1. `app/auth.py` line 4 (verified"),
            "{text}"
        );
        assert!(text.contains("```\n    return payload[\"exp\"] > time.time()\n```"));
    }

    #[test]
    fn prompts_render_every_placeholder() {
        let source = Path::new("backend");
        assert!(system_prompt(&ANGULAR).unwrap().contains("You are Angie"));
        let build = build_prompt(source, "npx ng build", Some("Also keep it fast.")).unwrap();
        assert!(build.contains("most 3 runs of the build"), "{build}");
        assert!(build.ends_with("Also keep it fast.\n"));
        let review = review_prompt(&PYTHON, source, Some("errors"), None).unwrap();
        assert!(review.contains("Focus especially on: errors"));
        let upgrade = upgrade_prompt(source, "`fastapi` to version 0.115", true, None).unwrap();
        assert!(upgrade.contains("do not edit anything"));
        let tests =
            write_tests_prompt(&PYTHON, source, Some("app/auth.py"), "pytest", None, None).unwrap();
        assert!(tests.contains("You cannot run commands"));
        let assist = assist_prompt(source, "Add a route", Some(&["pytest".to_owned()])).unwrap();
        assert!(assist.contains("`pytest`"));
    }

    #[test]
    fn upgrade_targets_follow_the_pack() {
        assert!(upgrade_target(&PYTHON, None, "2").is_err());
        assert!(upgrade_target(&ANGULAR, Some("x"), "19").is_err());
        assert_eq!(
            upgrade_target(&PYTHON, Some("pydantic"), "2.9").unwrap(),
            "`pydantic` to version 2.9"
        );
    }

    #[test]
    fn annotations_point_at_repository_paths() {
        let dir = repository();
        let layout = Layout::discover(&dir.path().join("backend")).unwrap();
        let failure = Failure {
            tool: "pytest",
            check: None,
            path: Some("app/auth.py".into()),
            line: Some(4),
            column: None,
            code: None,
            message: "assert 200 == 401".into(),
            detail: vec![],
        };
        let lines = failure_annotations(&layout, &[failure]);
        assert_eq!(
            lines[0],
            "::error file=backend/app/auth.py,line=4,title=pytest (check)::assert 200 == 401"
        );
    }
}
