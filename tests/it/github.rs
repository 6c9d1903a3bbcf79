//! The review publisher against a fake GitHub: where each kind of finding lands, the exact review
//! request, 422 isolation, idempotent re-runs and dry runs.

use agentci::github::client::{GitHub, Method};
use agentci::github::context::Repository;
use agentci::github::review::{
    Finding, Footer, Placement, ReviewInput, ReviewOptions, ReviewOutcome, publish_review,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use crate::github_support::*;

const PULL: &str = "/repos/acme/shop/pulls/7";

fn finding(
    path: &str,
    lines: (u32, u32),
    original: Option<&str>,
    replacement: Option<&str>,
    body: &str,
) -> Finding {
    Finding {
        path: path.into(),
        start_line: lines.0,
        end_line: lines.1,
        replacement: replacement.map(str::to_owned),
        body: body.into(),
        original_text: original.map(str::to_owned),
    }
}

/// One finding per rule the publisher follows.
fn findings() -> Vec<Finding> {
    vec![
        // 0: a multi-line range inside the second hunk.
        finding(
            "app/service.py",
            (34, 35),
            Some("    config = load_config(os.environ[\"CONFIG\"])\n    port = parse_port(config)"),
            Some(
                "    config = load_config(os.environ[\"CONFIG\"]).strip()\n    port = parse_port(config)",
            ),
            "The config file ends with a newline, so `int()` sees `8080\\n`.",
        ),
        // 1: one line inside the first hunk, deleted by an empty suggestion.
        finding(
            "app/service.py",
            (3, 3),
            Some("import sys"),
            Some(""),
            "`sys` is imported but never used.",
        ),
        // 2: a range spanning both hunks: a file-level comment.
        finding(
            "./app/service.py",
            (5, 30),
            None,
            None,
            "Logging is configured at import time; move it into `main()`.",
        ),
        // 3: outside the diff, in a file the PR changes: a file-level comment.
        finding(
            "app/service.py",
            (13, 14),
            Some("def parse_port(value):\n    return int(value)"),
            Some("def parse_port(value):\n    return int(value.strip())"),
            "Strip whitespace before parsing.",
        ),
        // 4: a file the PR deletes: the review body.
        finding(
            "app/legacy.py",
            (1, 2),
            Some("def legacy():\n    return None"),
            None,
            "Callers of `legacy()` remain in `app/cli.py`.",
        ),
        // 5: a file the PR does not touch: the review body.
        finding(
            "app/untouched.py",
            (2, 2),
            Some("    return \"same as on main\""),
            Some("    return \"changed\""),
            "This string is stale.",
        ),
        // 6: a stale line number; the text moved 5 lines down, into the second hunk.
        finding(
            "app/service.py",
            (31, 31),
            Some("    return connect(\"localhost\", port)"),
            Some("    return connect(os.environ.get(\"HOST\", \"localhost\"), port)"),
            "Let the host be configured.",
        ),
        // 7: an added file, multi-line, with backticks in the replacement.
        finding(
            "app/new_module.py",
            (6, 7),
            Some("def add(user, item):\n    FAVORITES.setdefault(user, []).append(item)"),
            Some(
                "def add(user, item):\n    \"\"\"Add ``item``; see ```docs```.\"\"\"\n    FAVORITES.setdefault(user, []).append(item)",
            ),
            "Document the function.",
        ),
        // 8: a finding made against a renamed file's old path.
        finding(
            "app/old_name.py",
            (2, 2),
            Some("    return value * 2"),
            Some("    return 2 * value"),
            "Keep the literal first, as elsewhere.",
        ),
        // 9: a file that exists nowhere.
        finding(
            "app/missing.py",
            (1, 1),
            Some("x = 1"),
            None,
            "A hallucinated path.",
        ),
    ]
}

fn input() -> ReviewInput {
    ReviewInput {
        repository: Repository::new(OWNER, NAME),
        pr_number: 7,
        head_sha: HEAD_SHA.into(),
        agent: "monty".into(),
        summary: "`pytest` failed: `ValueError: invalid literal for int()` in `parse_port`.".into(),
        footer: Footer {
            model: "claude-sonnet-4-5".into(),
            version: "0.1.0".into(),
        },
        findings: findings(),
    }
}

/// The reads every publication makes: files, existing review comments and reviews, file
/// contents at the head commit, the PR conversation.
async fn mount_reads(
    server: &MockServer,
    review_comments: Value,
    reviews: Value,
    issue_comments: Value,
) {
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/files")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture_json("pull_files.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(review_comments))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(ResponseTemplate::new(200).set_body_json(reviews))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_comments))
        .mount(server)
        .await;
    for file in [
        "app/service.py",
        "app/new_module.py",
        "app/renamed.py",
        "app/untouched.py",
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/shop/contents/{file}")))
            .and(query_param("ref", HEAD_SHA))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(contents(file, &fixture_text(&format!("repo/{file}")))),
            )
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(
            "^/repos/acme/shop/contents/app/(missing|legacy)\\.py$",
        ))
        .respond_with(not_found())
        .mount(server)
        .await;
}

async fn mount_writes(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(|request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            let state = if sent.get("event").is_some() {
                "COMMENTED"
            } else {
                "PENDING"
            };
            ResponseTemplate::new(200).set_body_json(review(
                80_000 + request.body.len() as u64,
                sent["body"].as_str().unwrap_or(""),
                state,
            ))
        })
        .mount(server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex(format!("^{PULL}/reviews/\\d+$")))
        .respond_with(ResponseTemplate::new(200).set_body_json(review(1, "", "PENDING")))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/comments")))
        .respond_with(|request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(201).set_body_json(review_comment(
                5_000,
                sent["path"].as_str().unwrap(),
                None,
                sent["body"].as_str().unwrap(),
            ))
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/issues/7/comments"))
        .respond_with(|request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(201).set_body_json(issue_comment(
                9_100,
                7,
                "github-actions[bot]",
                sent["body"].as_str().unwrap(),
            ))
        })
        .mount(server)
        .await;
}

fn placement_of(outcome: &ReviewOutcome, index: usize) -> Placement {
    outcome.placements[index].placement
}

fn final_review(requests: &[Request]) -> Value {
    let reviews: Vec<Value> = requests
        .iter()
        .filter(|request| request.url.path() == format!("{PULL}/reviews"))
        .map(body)
        .filter(|sent| sent.get("event").is_some())
        .collect();
    reviews.last().cloned().unwrap()
}

#[tokio::test]
async fn every_finding_lands_where_the_rules_say_and_the_review_request_is_exact() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    mount_writes(&server).await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();

    let expected = [
        Placement::Inline,
        Placement::Inline,
        Placement::File,
        Placement::File,
        Placement::Summary,
        Placement::Summary,
        Placement::Inline,
        Placement::Inline,
        Placement::Inline,
        Placement::Summary,
    ];
    for (index, placement) in expected.iter().enumerate() {
        assert_eq!(
            placement_of(&outcome, index),
            *placement,
            "finding {index}: {:?}",
            outcome.placements[index]
        );
    }
    assert_eq!(
        (
            outcome.inline,
            outcome.file_level,
            outcome.in_summary,
            outcome.skipped_duplicates
        ),
        (5, 2, 3, 0)
    );
    let published = serde_json::to_value(outcome.published()).unwrap();
    assert_eq!(
        published,
        json!({"review_id": outcome.review_id, "inline": 5, "file_level": 2, "in_summary": 3})
    );
    assert!(outcome.review_id.is_some());
    assert_eq!(outcome.placement_of(8).unwrap().path, "app/renamed.py");
    let stale = outcome.placements[6].anchor.unwrap();
    assert_eq!((stale.start_line, stale.end_line), (36, 36));
    assert!(
        outcome.placements[4].reason.contains("deleted"),
        "{}",
        outcome.placements[4].reason
    );
    assert!(outcome.placements[5].reason.contains("not changed"));
    assert!(outcome.placements[9].reason.contains("does not exist"));
    assert!(outcome.planned.is_empty());

    let posts = requests(&server, "POST").await;
    let review = final_review(&posts);
    assert_eq!(review["commit_id"], HEAD_SHA);
    assert_eq!(review["event"], "COMMENT");
    let comments = review["comments"].as_array().unwrap();
    let anchors: Vec<(String, Value, Value, Value, Value)> = comments
        .iter()
        .map(|comment| {
            (
                comment["path"].as_str().unwrap().to_owned(),
                comment["line"].clone(),
                comment.get("start_line").cloned().unwrap_or(Value::Null),
                comment["side"].clone(),
                comment.get("start_side").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        anchors,
        vec![
            (
                "app/service.py".into(),
                json!(35),
                json!(34),
                json!("RIGHT"),
                json!("RIGHT")
            ),
            (
                "app/service.py".into(),
                json!(3),
                Value::Null,
                json!("RIGHT"),
                Value::Null
            ),
            (
                "app/service.py".into(),
                json!(36),
                Value::Null,
                json!("RIGHT"),
                Value::Null
            ),
            (
                "app/new_module.py".into(),
                json!(7),
                json!(6),
                json!("RIGHT"),
                json!("RIGHT")
            ),
            (
                "app/renamed.py".into(),
                json!(2),
                Value::Null,
                json!("RIGHT"),
                Value::Null
            ),
        ]
    );
    let first_body = comments[0]["body"].as_str().unwrap();
    assert!(first_body.contains("```suggestion\n    config = load_config(os.environ[\"CONFIG\"]).strip()\n    port = parse_port(config)\n```"), "{first_body}");
    assert!(
        comments[1]["body"]
            .as_str()
            .unwrap()
            .contains("```suggestion\n```")
    );
    assert!(
        comments[3]["body"]
            .as_str()
            .unwrap()
            .contains("````suggestion\n")
    );
    let review_body = review["body"].as_str().unwrap();
    for entry in ["`app/legacy.py`", "`app/untouched.py`", "`app/missing.py`"] {
        assert!(
            review_body.contains(entry),
            "{entry} missing from {review_body}"
        );
    }
    assert!(review_body.contains("agentci 0.1.0 with `claude-sonnet-4-5`"));

    let file_comments: Vec<Value> = posts
        .iter()
        .filter(|request| request.url.path() == format!("{PULL}/comments"))
        .map(body)
        .collect();
    assert_eq!(file_comments.len(), 2);
    for comment in &file_comments {
        assert_eq!(comment["subject_type"], "file");
        assert_eq!(comment["path"], "app/service.py");
        assert_eq!(comment["commit_id"], HEAD_SHA);
        assert!(comment.get("line").is_none());
    }
    let summary: Vec<Value> = posts
        .iter()
        .filter(|request| request.url.path() == "/repos/acme/shop/issues/7/comments")
        .map(body)
        .collect();
    assert_eq!(summary.len(), 1);
    assert!(
        summary[0]["body"]
            .as_str()
            .unwrap()
            .contains("<!-- agentci:summary:monty -->")
    );

    insta::assert_json_snapshot!("github_review_request", review);
    insta::assert_json_snapshot!("github_file_level_comments", file_comments);
}

/// The reads a second run sees: what the first run posted, as GitHub would list it.
fn as_listed(posts: &[Request]) -> (Value, Value, Value) {
    let mut review_comments = Vec::new();
    let mut reviews = Vec::new();
    let mut issue_comments = Vec::new();
    for (index, request) in posts.iter().enumerate() {
        let sent = body(request);
        let id = 100 + index as u64;
        let route = request.url.path();
        if route == format!("{PULL}/reviews") {
            reviews.push(review(id, sent["body"].as_str().unwrap(), "COMMENTED"));
            for comment in sent["comments"].as_array().unwrap() {
                review_comments.push(review_comment(
                    id * 100 + review_comments.len() as u64,
                    comment["path"].as_str().unwrap(),
                    comment["line"].as_u64(),
                    comment["body"].as_str().unwrap(),
                ));
            }
        } else if route == format!("{PULL}/comments") {
            review_comments.push(review_comment(
                id,
                sent["path"].as_str().unwrap(),
                None,
                sent["body"].as_str().unwrap(),
            ));
        } else if route == "/repos/acme/shop/issues/7/comments" {
            issue_comments.push(issue_comment(
                id,
                7,
                "github-actions[bot]",
                sent["body"].as_str().unwrap(),
            ));
        }
    }
    (
        json!(review_comments),
        json!(reviews),
        json!(issue_comments),
    )
}

#[tokio::test]
async fn a_second_run_posts_nothing_new() {
    let first = MockServer::start().await;
    mount_reads(&first, json!([]), json!([]), json!([])).await;
    mount_writes(&first).await;
    publish_review(&client(&first), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    let (review_comments, reviews, issue_comments) = as_listed(&requests(&first, "POST").await);

    let second = MockServer::start().await;
    mount_reads(&second, review_comments, reviews, issue_comments).await;
    forbid_writes(&second).await;
    let outcome = publish_review(&client(&second), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.skipped_duplicates, 10);
    assert_eq!(
        (outcome.inline, outcome.file_level, outcome.in_summary),
        (0, 0, 0)
    );
    assert!(outcome.review_id.is_none());
    assert!(matches!(
        outcome.summary_comment,
        Some(agentci::github::issues::CommentUpsert::Unchanged { .. })
    ));
    assert!(
        outcome
            .placements
            .iter()
            .all(|placement| placement.duplicate)
    );
    second.verify().await;
}

#[tokio::test]
async fn a_changed_summary_is_edited_in_place() {
    let server = MockServer::start().await;
    let old = issue_comment(
        9_001,
        7,
        "github-actions[bot]",
        "old summary\n\n<!-- agentci:summary:monty -->",
    );
    mount_reads(&server, json!([]), json!([]), json!([old])).await;
    mount_writes(&server).await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/9001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_comment(
            9_001,
            7,
            "github-actions[bot]",
            "new",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!(
        outcome.summary_comment,
        Some(agentci::github::issues::CommentUpsert::Updated { id: 9_001 })
    );
    let summary_posts = requests(&server, "POST")
        .await
        .into_iter()
        .filter(|request| request.url.path() == "/repos/acme/shop/issues/7/comments")
        .count();
    assert_eq!(summary_posts, 0);
    server.verify().await;
}

/// Matches a review request carrying a comment on `path`.
struct HasCommentOn(&'static str);

impl Match for HasCommentOn {
    fn matches(&self, request: &Request) -> bool {
        let Ok(sent) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        sent["comments"]
            .as_array()
            .is_some_and(|comments| comments.iter().any(|comment| comment["path"] == self.0))
    }
}

#[tokio::test]
async fn a_422_on_one_comment_still_posts_the_others() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .and(HasCommentOn("app/new_module.py"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Unprocessable Entity",
            "errors": ["Pull request review thread line must be part of the diff"],
            "documentation_url": "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
            "status": "422"
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_writes(&server).await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();

    assert_eq!(placement_of(&outcome, 7), Placement::Summary);
    assert!(outcome.placements[7].reason.contains("422"));
    assert_eq!((outcome.inline, outcome.in_summary), (4, 4));
    assert!(outcome.review_id.is_some());
    let posts = requests(&server, "POST").await;
    let review = final_review(&posts);
    let paths: Vec<&str> = review["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|comment| comment["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "app/service.py",
            "app/service.py",
            "app/service.py",
            "app/renamed.py"
        ]
    );
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .contains("#### `app/new_module.py` lines 6-7")
    );
    // Every pending probe that GitHub accepted was deleted again.
    let probes_accepted = posts
        .iter()
        .filter(|request| request.url.path() == format!("{PULL}/reviews"))
        .map(body)
        .filter(|sent| {
            sent.get("event").is_none()
                && !sent["comments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|comment| comment["path"] == "app/new_module.py")
        })
        .count();
    assert!(probes_accepted > 0);
    assert_eq!(requests(&server, "DELETE").await.len(), probes_accepted);
}

#[tokio::test]
async fn over_thirty_inline_comments_overflow_into_the_body() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    mount_writes(&server).await;
    let mut many = input();
    many.findings = (0..33)
        .map(|index| {
            finding(
                "app/new_module.py",
                (1, 1),
                None,
                Some(&format!("\"\"\"Favourites storage, take {index}.\"\"\"")),
                "Say more in the docstring.",
            )
        })
        .collect();
    let outcome = publish_review(&client(&server), &many, &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!((outcome.inline, outcome.in_summary), (30, 3));
    assert!(
        outcome.placements[32]
            .reason
            .contains("more than 30 inline")
    );
    let review = final_review(&requests(&server, "POST").await);
    assert_eq!(review["comments"].as_array().unwrap().len(), 30);
}

#[tokio::test]
async fn a_dry_run_sends_nothing_and_returns_the_exact_requests() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let outcome = publish_review(&dry, &input(), &ReviewOptions::default())
        .await
        .unwrap();
    server.verify().await;
    assert!(outcome.review_id.is_none());
    assert_eq!(
        outcome.summary_comment,
        Some(agentci::github::issues::CommentUpsert::Planned)
    );
    let routes: Vec<(Method, &str)> = outcome
        .planned
        .iter()
        .map(|planned| (planned.method, planned.path.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            (Method::Post, "/repos/acme/shop/pulls/7/comments"),
            (Method::Post, "/repos/acme/shop/pulls/7/comments"),
            (Method::Post, "/repos/acme/shop/pulls/7/reviews"),
            (Method::Post, "/repos/acme/shop/issues/7/comments"),
        ]
    );

    // The planned review is byte for byte what a live run sends.
    let live = MockServer::start().await;
    mount_reads(&live, json!([]), json!([]), json!([])).await;
    mount_writes(&live).await;
    publish_review(&client(&live), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    let sent = final_review(&requests(&live, "POST").await);
    assert_eq!(outcome.planned[2].body.as_ref().unwrap(), &sent);
}

#[tokio::test]
async fn secrets_in_findings_never_reach_github() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    forbid_writes(&server).await;
    let dry: GitHub = dry_run_client(&server);
    let mut leaky = input();
    leaky.findings = vec![finding(
        "app/service.py",
        (3, 3),
        Some("import sys"),
        Some("TOKEN = \"ghp_abcdefghijklmnopqrstuvwxyz0123456789\""),
        "Use the token ghp_abcdefghijklmnopqrstuvwxyz0123456789.",
    )];
    let outcome = publish_review(&dry, &leaky, &ReviewOptions::default())
        .await
        .unwrap();
    let planned = serde_json::to_string(&outcome.planned).unwrap();
    assert!(!planned.contains("ghp_"), "{planned}");
    assert!(planned.contains("[REDACTED]"));
}

#[tokio::test]
async fn a_leftover_pending_review_is_deleted_and_the_review_retried() {
    let server = MockServer::start().await;
    mount_reads(
        &server,
        json!([]),
        json!([review(4_242, "", "PENDING")]),
        json!([]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Unprocessable Entity",
            "errors": ["User can only have one pending review per pull request"],
            "documentation_url": "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
            "status": "422"
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_writes(&server).await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.inline, 5);
    assert!(outcome.review_id.is_some());
    let deleted: Vec<String> = requests(&server, "DELETE")
        .await
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect();
    assert_eq!(deleted[0], format!("{PULL}/reviews/4242"));
    let review = final_review(&requests(&server, "POST").await);
    assert_eq!(review["comments"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_replacement_that_changes_nothing_is_posted_without_a_suggestion() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let mut same = input();
    same.findings = vec![finding(
        "app/service.py",
        (35, 35),
        Some("    port = parse_port(config)"),
        Some("    port = parse_port(config)\n"),
        "Looks right already.",
    )];
    let outcome = publish_review(&dry, &same, &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.placements[0].placement, Placement::Inline);
    assert!(outcome.placements[0].reason.contains("no suggestion"));
    let review = outcome.planned[0].body.clone().unwrap();
    let comment = review["comments"][0]["body"].as_str().unwrap();
    assert!(!comment.contains("suggestion"), "{comment}");
    assert!(comment.starts_with("Looks right already."));
    server.verify().await;
}

/// A fake GitHub whose review endpoint creates the review and then answers `status` once, the
/// way a load balancer in front of GitHub does under load; listing reviews shows what exists.
async fn mount_flaky_review_endpoint(
    server: &MockServer,
    status: u16,
) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    let created = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let listed = created.clone();
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(Value::Array(listed.lock().unwrap().clone()))
        })
        .with_priority(1)
        .mount(server)
        .await;
    let store = created.clone();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(move |request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            let mut created = store.lock().unwrap();
            let id = 90_000 + created.len() as u64;
            let made = review(id, sent["body"].as_str().unwrap_or(""), "COMMENTED");
            created.push(made.clone());
            if answered.swap(true, std::sync::atomic::Ordering::SeqCst) {
                ResponseTemplate::new(200).set_body_json(made)
            } else {
                ResponseTemplate::new(status).set_body_string("<html>502 Bad Gateway</html>")
            }
        })
        .with_priority(1)
        .mount(server)
        .await;
    created
}

#[tokio::test]
async fn a_review_created_before_a_502_is_found_and_not_posted_again() {
    let server = MockServer::start().await;
    let created = mount_flaky_review_endpoint(&server, 502).await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    mount_writes(&server).await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    let created = created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "exactly one review exists");
    assert_eq!(outcome.review_id, created[0]["id"].as_u64());
    let posts: Vec<Request> = requests(&server, "POST")
        .await
        .into_iter()
        .filter(|request| request.url.path() == format!("{PULL}/reviews"))
        .collect();
    assert_eq!(posts.len(), 1, "the review POST was not retried blindly");
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out_and_the_review_posted_once() {
    let server = MockServer::start().await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    Mock::given(method("POST"))
        .and(path(format!("{PULL}/reviews")))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(json!({
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                    "status": "403"
                })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_writes(&server).await;
    let started = std::time::Instant::now();
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert!(outcome.review_id.is_some());
    let posts: Vec<Request> = requests(&server, "POST")
        .await
        .into_iter()
        .filter(|request| request.url.path() == format!("{PULL}/reviews"))
        .collect();
    assert_eq!(posts.len(), 2, "one refused, one posted");
}

#[tokio::test]
async fn a_file_whose_patch_does_not_parse_sends_its_findings_to_the_body() {
    let server = MockServer::start().await;
    let mut files = fixture_json("pull_files.json");
    let broken = files
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|file| file["filename"] == "app/service.py")
        .unwrap();
    broken["patch"] = json!("this is not a unified diff");
    Mock::given(method("GET"))
        .and(path(format!("{PULL}/files")))
        .respond_with(ResponseTemplate::new(200).set_body_json(files))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_reads(&server, json!([]), json!([]), json!([])).await;
    mount_writes(&server).await;
    let outcome = publish_review(&client(&server), &input(), &ReviewOptions::default())
        .await
        .unwrap();
    assert_eq!(placement_of(&outcome, 0), Placement::Summary);
    let review = final_review(&requests(&server, "POST").await);
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .contains("could not be parsed"),
        "{review}"
    );
    assert!(outcome.review_id.is_some());
}
