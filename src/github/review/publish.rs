//! Publishing: plan each finding, cap what goes inline, post one review (idempotent across
//! retries), isolate comments GitHub refuses, and keep one sticky summary comment.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::github::GitHubError;
use crate::github::client::{GitHub, Method};
use crate::github::diff::{DiffEntry, PullDiff};
use crate::github::encoding::fingerprint;
use crate::github::issues::{marker, upsert_marked_comment};
use crate::github::pulls::read_file;

use super::markup::{
    code_block, finding_fingerprint, fingerprint_marker, fingerprints_in, review_marker,
    suggestion_block,
};
use super::{
    Anchor, Finding, FindingPlacement, MAX_BODY_CHARS, Placement, ReviewInput, ReviewOptions,
    ReviewOutcome,
};

/// A review comment as sent in the review request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ReviewComment {
    path: String,
    body: String,
    line: u32,
    side: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_side: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct NewReview<'a> {
    commit_id: &'a str,
    body: &'a str,
    /// Absent for the pending reviews used to probe comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'static str>,
    comments: &'a [ReviewComment],
}

#[derive(Debug, Deserialize)]
struct ExistingReviewComment {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExistingReview {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// A finding on its way to GitHub.
struct Planned {
    index: usize,
    path: String,
    placement: Placement,
    anchor: Option<Anchor>,
    fingerprint: String,
    reason: String,
    /// False when the replacement equals the code it would replace: a suggestion that changes
    /// nothing is noise, so the finding is posted as a plain comment.
    suggest: bool,
}

fn normalise_path(path: &str) -> String {
    path.trim()
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_owned()
}

/// Publish the findings as one review, plus the sticky summary comment.
pub async fn publish_review(
    client: &GitHub,
    input: &ReviewInput,
    options: &ReviewOptions,
) -> Result<ReviewOutcome, GitHubError> {
    let repository = &input.repository;
    let pulls_route = format!("{}/pulls/{}", repository.route(), input.pr_number);
    let (diff, malformed) = lenient_pull_diff(client, &pulls_route).await?;
    let existing = existing_posts(client, &pulls_route).await?;
    let posted = &existing.fingerprints;

    let mut contents: HashMap<String, Option<String>> = HashMap::new();
    let mut placements: Vec<FindingPlacement> = Vec::new();
    let mut pending: Vec<Planned> = Vec::new();
    let mut seen_this_run: BTreeSet<String> = BTreeSet::new();
    for (index, finding) in input.findings.iter().enumerate() {
        let mut planned = plan_finding(client, input, &diff, &mut contents, index, finding).await?;
        if malformed.contains(&planned.path) && planned.placement != Placement::Summary {
            planned.placement = Placement::Summary;
            planned.reason =
                "GitHub's patch for this file could not be parsed; moved to the review body".into();
        }
        let duplicate = posted.contains(&planned.fingerprint)
            || !seen_this_run.insert(planned.fingerprint.clone());
        if duplicate {
            placements.push(FindingPlacement {
                index,
                path: planned.path,
                placement: planned.placement,
                anchor: planned.anchor,
                fingerprint: planned.fingerprint,
                duplicate: true,
                reason: "already posted by an earlier run".into(),
            });
        } else {
            pending.push(planned);
        }
    }

    // Caps: past them, findings go to the body, in input order.
    let mut inline_count = 0usize;
    let mut file_count = 0usize;
    for planned in &mut pending {
        match planned.placement {
            Placement::Inline if inline_count >= options.max_inline => {
                planned.placement = Placement::Summary;
                planned.reason = format!(
                    "more than {} inline comments in one review",
                    options.max_inline
                );
            }
            Placement::Inline => inline_count += 1,
            Placement::File if file_count >= options.max_file_level => {
                planned.placement = Placement::Summary;
                planned.reason = format!(
                    "more than {} file-level comments in one run",
                    options.max_file_level
                );
            }
            Placement::File => file_count += 1,
            Placement::Summary => {}
        }
    }

    // File-level comments are separate requests (the review endpoint takes only line comments).
    for planned in pending
        .iter_mut()
        .filter(|planned| planned.placement == Placement::File)
    {
        let finding = &input.findings[planned.index];
        let body = file_comment_body(finding, planned);
        let request = json!({
            "body": body,
            "commit_id": input.head_sha,
            "path": planned.path,
            "subject_type": "file",
        });
        match client
            .write(
                Method::Post,
                &format!("{pulls_route}/comments"),
                Some(&request),
            )
            .await
        {
            Ok(_) => {}
            Err(error) if error.is_unprocessable() => {
                tracing::warn!(
                    "GitHub rejected a file-level comment on `{}`: {error}",
                    planned.path
                );
                planned.placement = Placement::Summary;
                planned.reason = format!("GitHub rejected the file-level comment: {error}");
            }
            Err(error) => return Err(error),
        }
    }

    let mut inline: Vec<(usize, ReviewComment)> = pending
        .iter()
        .enumerate()
        .filter(|(_, planned)| planned.placement == Placement::Inline)
        .filter_map(|(position, planned)| {
            inline_comment(&input.findings[planned.index], planned)
                .map(|comment| (position, comment))
        })
        .collect();

    let mut review_id = None;
    let needs_review = !pending.is_empty();
    if needs_review {
        let route = format!("{pulls_route}/reviews");
        let comments: Vec<ReviewComment> =
            inline.iter().map(|(_, comment)| comment.clone()).collect();
        let body = review_body(input, options, &pending);
        match send_review(client, &route, &input.head_sha, &body, &comments).await {
            Ok(id) => review_id = id,
            Err(error) if error.is_unprocessable() => {
                tracing::warn!(
                    "GitHub rejected the review ({error}); finding the comments it refuses"
                );
                // A pending review left by an interrupted run blocks new reviews (one pending
                // review per user and PR); pending reviews are visible only to their author, so
                // every one listed is ours to delete.
                for id in &existing.pending_reviews {
                    client
                        .write(Method::Delete, &format!("{route}/{id}"), None)
                        .await?;
                }
                let rejected = if comments.is_empty() {
                    Vec::new()
                } else {
                    find_rejected(client, &route, &input.head_sha, &comments).await?
                };
                if rejected.is_empty() && existing.pending_reviews.is_empty() {
                    return Err(error);
                }
                for comment_index in rejected.iter().rev() {
                    let (position, _) = inline.remove(*comment_index);
                    let planned = &mut pending[position];
                    planned.placement = Placement::Summary;
                    planned.reason =
                        "GitHub refused the inline comment (422); moved to the review body".into();
                }
                let comments: Vec<ReviewComment> =
                    inline.iter().map(|(_, comment)| comment.clone()).collect();
                let body = review_body(input, options, &pending);
                review_id = send_review(client, &route, &input.head_sha, &body, &comments).await?;
            }
            Err(error) => return Err(error),
        }
    }

    let summary_comment = if options.summary_comment {
        let body = format!("{}\n\n{}", input.summary.trim(), input.footer.render());
        Some(
            upsert_marked_comment(
                client,
                repository,
                input.pr_number,
                &marker(&format!("summary:{}", input.agent)),
                &body,
            )
            .await?,
        )
    } else {
        None
    };

    for planned in pending {
        placements.push(FindingPlacement {
            index: planned.index,
            path: planned.path,
            placement: planned.placement,
            anchor: planned.anchor,
            fingerprint: planned.fingerprint,
            duplicate: false,
            reason: planned.reason,
        });
    }
    placements.sort_by_key(|placement| placement.index);
    let count = |which: Placement| {
        placements
            .iter()
            .filter(|placement| !placement.duplicate && placement.placement == which)
            .count()
    };
    Ok(ReviewOutcome {
        review_id,
        summary_comment,
        inline: count(Placement::Inline),
        file_level: count(Placement::File),
        in_summary: count(Placement::Summary),
        skipped_duplicates: placements
            .iter()
            .filter(|placement| placement.duplicate)
            .count(),
        placements,
        planned: client.planned(),
    })
}

/// Decide where one finding goes (before caps and GitHub's answer).
async fn plan_finding(
    client: &GitHub,
    input: &ReviewInput,
    diff: &PullDiff,
    contents: &mut HashMap<String, Option<String>>,
    index: usize,
    finding: &Finding,
) -> Result<Planned, GitHubError> {
    let (path, file) = super::super::placement::diff_entry(diff, &normalise_path(&finding.path));
    if !contents.contains_key(&path) {
        let text = if file.is_some_and(|file| !file.exists_at_head()) {
            None
        } else {
            read_file(client, &input.repository, &path, &input.head_sha).await?
        };
        contents.insert(path.clone(), text);
    }
    let text = contents.get(&path).cloned().flatten();
    let decision = super::super::placement::decide(path, file, text.as_deref(), finding);
    // The fingerprint's "what code": the quoted text when there is one, else the lines found
    // at the head commit, else (nothing to read) the stated range.
    let quoted = finding
        .original_text
        .as_deref()
        .filter(|original| !original.trim().is_empty());
    let anchored_text = match (quoted, &decision.anchor, &text) {
        (Some(original), _, _) => original.to_owned(),
        (None, Some(anchor), Some(text)) => text
            .lines()
            .skip(anchor.start_line as usize - 1)
            .take((anchor.end_line - anchor.start_line + 1) as usize)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => format!("lines {}-{}", finding.start_line, finding.end_line),
    };
    let hash = finding_fingerprint(&decision.path, &anchored_text, finding);
    let (path, placement, anchor, reason) = (
        decision.path,
        decision.placement,
        decision.anchor,
        decision.reason,
    );
    let current = match (&anchor, &text) {
        (Some(anchor), Some(text)) => Some(
            text.lines()
                .skip(anchor.start_line as usize - 1)
                .take((anchor.end_line - anchor.start_line + 1) as usize)
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    let no_op = match (&finding.replacement, &current) {
        (Some(replacement), Some(current)) => replacement.lines().eq(current.iter().copied()),
        _ => false,
    };
    let reason = if no_op {
        format!("{reason}; the replacement equals the current code, so no suggestion is attached")
    } else {
        reason
    };
    Ok(Planned {
        index,
        path,
        placement,
        anchor,
        fingerprint: hash,
        reason,
        suggest: !no_op,
    })
}

fn inline_comment(finding: &Finding, planned: &Planned) -> Option<ReviewComment> {
    let anchor = planned.anchor?;
    let mut body = finding.body.trim().to_owned();
    if let Some(replacement) = finding.replacement.as_ref().filter(|_| planned.suggest) {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&suggestion_block(replacement));
    }
    body.push_str("\n\n");
    body.push_str(&fingerprint_marker(&planned.fingerprint));
    let multi_line = anchor.start_line < anchor.end_line;
    Some(ReviewComment {
        path: planned.path.clone(),
        body,
        line: anchor.end_line,
        side: "RIGHT",
        start_line: multi_line.then_some(anchor.start_line),
        start_side: multi_line.then_some("RIGHT"),
    })
}

fn lines_label(finding: &Finding, anchor: Option<&Anchor>) -> String {
    let (start, end) = anchor
        .map(|anchor| (anchor.start_line, anchor.end_line))
        .unwrap_or((finding.start_line, finding.end_line));
    if start == end {
        format!("line {start}")
    } else {
        format!("lines {start}-{end}")
    }
}

fn file_comment_body(finding: &Finding, planned: &Planned) -> String {
    let mut body = format!(
        "**{}** ({})\n\n{}",
        lines_label(finding, planned.anchor.as_ref()),
        planned.reason,
        finding.body.trim()
    );
    if let Some(replacement) = finding.replacement.as_ref().filter(|_| planned.suggest) {
        body.push_str("\n\nSuggested replacement:\n\n");
        body.push_str(&code_block(replacement));
    }
    body.push_str("\n\n");
    body.push_str(&fingerprint_marker(&planned.fingerprint));
    body
}

fn summary_entry(finding: &Finding, planned: &Planned) -> String {
    let mut entry = format!(
        "#### `{}` {}\n\n_{}_\n\n{}",
        planned.path,
        lines_label(finding, planned.anchor.as_ref()),
        planned.reason,
        finding.body.trim()
    );
    if let Some(replacement) = finding.replacement.as_ref().filter(|_| planned.suggest) {
        entry.push_str("\n\nSuggested replacement:\n\n");
        entry.push_str(&code_block(replacement));
    }
    entry.push_str("\n\n");
    entry.push_str(&fingerprint_marker(&planned.fingerprint));
    entry
}

fn review_body(input: &ReviewInput, options: &ReviewOptions, pending: &[Planned]) -> String {
    let count = |which: Placement| {
        pending
            .iter()
            .filter(|planned| planned.placement == which)
            .count()
    };
    let (inline, file_level, in_body) = (
        count(Placement::Inline),
        count(Placement::File),
        count(Placement::Summary),
    );
    let mut body = format!(
        "**agentci {}**: {inline} inline suggestion(s), {file_level} file-level comment(s), {in_body} below.",
        input.agent
    );
    if let Some(note) = options
        .body_note
        .as_deref()
        .filter(|note| !note.trim().is_empty())
    {
        body.push_str("\n\n");
        body.push_str(note.trim());
    }
    if !options.summary_comment && !input.summary.trim().is_empty() {
        body.push_str("\n\n");
        body.push_str(input.summary.trim());
    }
    let entries: Vec<String> = pending
        .iter()
        .filter(|planned| planned.placement == Placement::Summary)
        .map(|planned| summary_entry(&input.findings[planned.index], planned))
        .collect();
    if !entries.is_empty() {
        body.push_str("\n\n### Not placed on the diff\n\n");
        // GitHub refuses bodies over 65,536 characters; what does not fit is counted instead
        // (and, carrying no fingerprint, is offered again by the next run).
        let mut kept = 0usize;
        for entry in &entries {
            if body.chars().count() + entry.chars().count() > MAX_BODY_CHARS {
                break;
            }
            if kept > 0 {
                body.push_str("\n\n");
            }
            body.push_str(entry);
            kept += 1;
        }
        if kept < entries.len() {
            body.push_str(&format!(
                "\n\n_{} more finding(s) did not fit in this review._",
                entries.len() - kept
            ));
        }
    }
    body.push_str("\n\n");
    body.push_str(&input.footer.render());
    body
}

/// How often a review POST is sent when GitHub's answer leaves unclear whether it was created.
const REVIEW_POST_ATTEMPTS: u32 = 3;

/// The pull request's files with their parsed patches. A file whose patch does not parse is kept
/// without hunks and named in the returned set, so its findings go to the review body instead of
/// aborting the publish.
async fn lenient_pull_diff(
    client: &GitHub,
    pulls_route: &str,
) -> Result<(PullDiff, BTreeSet<String>), GitHubError> {
    let entries: Vec<DiffEntry> = client.get_all(&format!("{pulls_route}/files")).await?;
    let mut files = Vec::with_capacity(entries.len());
    let mut malformed = BTreeSet::new();
    for entry in entries {
        match entry.clone().into_file_diff() {
            Ok(file) => files.push(file),
            Err(error) => {
                tracing::warn!("{error}; its findings go to the review body");
                malformed.insert(entry.filename.clone());
                files.push(
                    DiffEntry {
                        patch: None,
                        ..entry
                    }
                    .into_file_diff()?,
                );
            }
        }
    }
    Ok((PullDiff { files }, malformed))
}

/// Post the review. Its body carries a fingerprint of its content; when GitHub answers a 5xx or
/// the request fails in transit (GitHub may have created the review anyway, as a load balancer's
/// 502 does), the pull request's reviews are listed and a review with that fingerprint is taken
/// as ours instead of posting a second one.
async fn send_review(
    client: &GitHub,
    route: &str,
    commit_id: &str,
    body: &str,
    comments: &[ReviewComment],
) -> Result<Option<u64>, GitHubError> {
    let encoded = serde_json::to_string(comments).unwrap_or_default();
    let mark = review_marker(&fingerprint(&[commit_id, body, &encoded]));
    let body = format!("{body}\n{mark}");
    let request = NewReview {
        commit_id,
        body: &body,
        event: Some("COMMENT"),
        comments,
    };
    let value = serde_json::to_value(&request)
        .map_err(|error| GitHubError::Transport(format!("cannot encode the review: {error}")))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match client.write(Method::Post, route, Some(&value)).await {
            Ok(answer) => {
                return Ok(
                    answer.and_then(|review| review.get("id").and_then(serde_json::Value::as_u64))
                );
            }
            Err(error) => error,
        };
        let unclear = matches!(error, GitHubError::Transport(_))
            || error.status().is_some_and(|status| status >= 500);
        if !unclear {
            return Err(error);
        }
        tracing::warn!("the review POST failed ({error}); looking for it before posting again");
        let reviews: Vec<ExistingReview> = match client.get_all(route).await {
            Ok(reviews) => reviews,
            Err(list_error) => {
                tracing::warn!("cannot list the reviews: {list_error}");
                return Err(error);
            }
        };
        if let Some(review) = reviews.iter().find(|review| {
            review
                .body
                .as_deref()
                .is_some_and(|text| text.contains(&mark))
        }) {
            tracing::info!(
                "GitHub created the review (#{}) despite the error",
                review.id
            );
            return Ok(Some(review.id));
        }
        if attempt >= REVIEW_POST_ATTEMPTS {
            return Err(error);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(attempt))).await;
    }
}

/// Find the comments GitHub refuses by bisection: a group is tried as a *pending* review (no
/// `event`, so nobody is notified), which is deleted again when accepted. Returns indices into
/// `comments`, ascending.
async fn find_rejected(
    client: &GitHub,
    route: &str,
    commit_id: &str,
    comments: &[ReviewComment],
) -> Result<Vec<usize>, GitHubError> {
    let mut rejected = Vec::new();
    let mut groups: Vec<Vec<usize>> = vec![(0..comments.len()).collect()];
    while let Some(group) = groups.pop() {
        let subset: Vec<ReviewComment> =
            group.iter().map(|&index| comments[index].clone()).collect();
        let request = NewReview {
            commit_id,
            body: "",
            event: None,
            comments: &subset,
        };
        let value = serde_json::to_value(&request).map_err(|error| {
            GitHubError::Transport(format!("cannot encode the review: {error}"))
        })?;
        match client.write(Method::Post, route, Some(&value)).await {
            Ok(answer) => {
                if let Some(id) =
                    answer.and_then(|review| review.get("id").and_then(serde_json::Value::as_u64))
                {
                    client
                        .write(Method::Delete, &format!("{route}/{id}"), None)
                        .await?;
                }
            }
            Err(error) if error.is_unprocessable() => {
                if group.len() == 1 {
                    rejected.push(group[0]);
                } else {
                    let (left, right) = group.split_at(group.len() / 2);
                    groups.push(right.to_vec());
                    groups.push(left.to_vec());
                }
            }
            Err(error) => return Err(error),
        }
    }
    rejected.sort_unstable();
    Ok(rejected)
}

/// What earlier runs left on the PR.
struct ExistingPosts {
    /// Fingerprints in review comments (inline and file-level) and review bodies.
    fingerprints: BTreeSet<String>,
    /// Our own pending (unsubmitted) reviews.
    pending_reviews: Vec<u64>,
}

async fn existing_posts(client: &GitHub, pulls_route: &str) -> Result<ExistingPosts, GitHubError> {
    let comments: Vec<ExistingReviewComment> =
        client.get_all(&format!("{pulls_route}/comments")).await?;
    let reviews: Vec<ExistingReview> = client.get_all(&format!("{pulls_route}/reviews")).await?;
    let fingerprints = comments
        .iter()
        .filter_map(|comment| comment.body.as_deref())
        .chain(reviews.iter().filter_map(|review| review.body.as_deref()))
        .flat_map(fingerprints_in)
        .collect();
    let pending_reviews = reviews
        .iter()
        .filter(|review| review.state.as_deref() == Some("PENDING"))
        .map(|review| review.id)
        .collect();
    Ok(ExistingPosts {
        fingerprints,
        pending_reviews,
    })
}
