//! The rest of the GitHub layer against a fake GitHub: event contexts, pagination, Enterprise
//! base URLs, issues and sticky comments, pull requests, Git Data API commits, releases and
//! Actions output files.

use std::collections::BTreeMap;

use agentci::github::actions::ActionsFiles;
use agentci::github::client::{ClientSettings, GitHub, Method};
use agentci::github::context::{ContextOverrides, EventKind, Repository, detect};
use agentci::github::diff::{FileStatus, pull_diff};
use agentci::github::issues::{CommentUpsert, read_issue, upsert_marked_comment};
use agentci::github::pulls::{
    FileChange, NewPull, blob_id, commit_changes, open_or_update_pull, read_file,
};
use agentci::github::releases::{VersionSource, latest_release_or};
use agentci::github::{GitHubError, releases};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::github_support::*;

fn repository() -> Repository {
    Repository::new(OWNER, NAME)
}

fn actions_env(event: &str, fixture_name: &str) -> BTreeMap<String, String> {
    [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_REPOSITORY", "acme/shop".to_owned()),
        (
            "GITHUB_SHA",
            "3333333333333333333333333333333333333333".to_owned(),
        ),
        ("GITHUB_EVENT_NAME", event.to_owned()),
        (
            "GITHUB_EVENT_PATH",
            fixture(&format!("events/{fixture_name}.json"))
                .display()
                .to_string(),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

#[test]
fn event_payloads_give_the_right_context() {
    let none = ContextOverrides::default();
    for event in ["pull_request", "pull_request_target"] {
        let context = detect(&actions_env(event, event), &none).unwrap();
        assert_eq!(context.repository, Some(repository()));
        assert_eq!(context.pr_number, Some(7), "{event}");
        assert_eq!(
            context.head_sha.as_deref(),
            Some(HEAD_SHA),
            "{event}: not the merge commit"
        );
        assert_eq!(context.head_ref.as_deref(), Some("parse-port"));
        assert_eq!(context.base_ref.as_deref(), Some("main"));
        assert!(context.in_actions);
    }
    assert_eq!(
        detect(
            &actions_env("pull_request_target", "pull_request_target"),
            &none
        )
        .unwrap()
        .event,
        EventKind::PullRequestTarget
    );

    let issue = detect(&actions_env("issues", "issues"), &none).unwrap();
    assert_eq!((issue.issue_number, issue.pr_number), (Some(42), None));
    assert_eq!(issue.event, EventKind::Issues);

    let on_issue = detect(
        &actions_env("issue_comment", "issue_comment_on_issue"),
        &none,
    )
    .unwrap();
    assert_eq!(
        (on_issue.issue_number, on_issue.pr_number),
        (Some(42), None)
    );

    let on_pull = detect(
        &actions_env("issue_comment", "issue_comment_on_pull_request"),
        &none,
    )
    .unwrap();
    assert_eq!(
        (on_pull.issue_number, on_pull.pr_number),
        (Some(7), Some(7))
    );
    assert_eq!(
        on_pull.head_sha, None,
        "GITHUB_SHA is the default branch here"
    );

    let run = detect(&actions_env("workflow_run", "workflow_run"), &none).unwrap();
    assert_eq!(run.event, EventKind::WorkflowRun);
    assert_eq!(run.pr_number, Some(7));
    assert_eq!(run.head_sha.as_deref(), Some(HEAD_SHA));
    assert_eq!(run.head_ref.as_deref(), Some("parse-port"));
}

#[test]
fn flags_override_the_event() {
    let overrides = ContextOverrides {
        repository: Some("https://github.com/other/repo.git".into()),
        pr_number: Some(12),
        commit_sha: Some("abcdefabcdefabcdefabcdefabcdefabcdefabcd".into()),
        issue_number: None,
    };
    let context = detect(&actions_env("pull_request", "pull_request"), &overrides).unwrap();
    assert_eq!(context.repository, Some(Repository::new("other", "repo")));
    assert_eq!(context.pr_number, Some(12));
    assert_eq!(context.issue_number, Some(12));
    assert_eq!(
        context.head_sha.as_deref(),
        Some("abcdefabcdefabcdefabcdefabcdefabcdefabcd")
    );
    // Another PR than the event's, without a SHA: the event's head no longer applies.
    let other_pr = ContextOverrides {
        pr_number: Some(12),
        ..ContextOverrides::default()
    };
    let context = detect(&actions_env("pull_request", "pull_request"), &other_pr).unwrap();
    assert_eq!(context.head_sha, None);
}

#[test]
fn a_broken_payload_is_a_clear_context_error() {
    let mut env = actions_env("pull_request", "pull_request");
    env.insert("GITHUB_EVENT_PATH".into(), "/nonexistent/event.json".into());
    let error = detect(&env, &ContextOverrides::default()).unwrap_err();
    assert!(matches!(error, GitHubError::Context(_)));
    assert!(error.to_string().contains("GITHUB_EVENT_PATH"), "{error}");
}

fn diff_entry(index: usize) -> Value {
    json!({
        "sha": format!("{index:040x}"),
        "filename": format!("src/module_{index:03}.py"),
        "status": "added",
        "additions": 1,
        "deletions": 0,
        "changes": 1,
        "blob_url": format!("https://github.com/acme/shop/blob/{HEAD_SHA}/src/module_{index:03}.py"),
        "raw_url": format!("https://github.com/acme/shop/raw/{HEAD_SHA}/src/module_{index:03}.py"),
        "contents_url": format!("https://api.github.com/repos/acme/shop/contents/src/module_{index:03}.py?ref={HEAD_SHA}"),
        "patch": format!("@@ -0,0 +1 @@\n+VALUE = {index}")
    })
}

/// Mount a two-page file list under `prefix` (empty for GitHub.com, `/api/v3` for Enterprise).
async fn mount_paged_files(server: &MockServer, prefix: &str, total: usize) {
    let route = format!("{prefix}/repos/acme/shop/pulls/8/files");
    let next = format!("{}{route}?per_page=100&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!((100..total).map(diff_entry).collect::<Vec<_>>()))
                .insert_header(
                    "link",
                    format!("<{}{route}?per_page=100&page=1>; rel=\"prev\", <{}{route}?per_page=100&page=1>; rel=\"first\"", server.uri(), server.uri()),
                ),
        )
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("per_page", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!((0..100).map(diff_entry).collect::<Vec<_>>()))
                .insert_header(
                    "link",
                    format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""),
                ),
        )
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn more_than_a_hundred_files_are_read_across_pages() {
    let server = MockServer::start().await;
    mount_paged_files(&server, "", 130).await;
    let diff = pull_diff(&client(&server), &repository(), 8).await.unwrap();
    assert_eq!(diff.files.len(), 130);
    assert_eq!(diff.files[129].path, "src/module_129.py");
    assert_eq!(diff.files[129].hunk_of(1), Some(0));
    server.verify().await;
}

#[tokio::test]
async fn the_fixture_pull_parses_every_kind_of_file() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls/7/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture_json("pull_files.json")))
        .mount(&server)
        .await;
    let diff = pull_diff(&client(&server), &repository(), 7).await.unwrap();
    let service = diff.file("app/service.py").unwrap();
    assert_eq!(service.hunks.len(), 2);
    assert_eq!(service.hunks[0].right_range(), Some((1, 7)));
    assert_eq!(service.hunks[1].right_range(), Some((29, 36)));
    assert_eq!(service.hunks[1].added, vec![35]);
    let removed = diff.file("app/legacy.py").unwrap();
    assert_eq!(removed.status, FileStatus::Removed);
    assert!(!removed.exists_at_head());
    assert_eq!(removed.hunk_of(1), None);
    let renamed = diff.renamed_from("app/old_name.py").unwrap();
    assert_eq!(renamed.path, "app/renamed.py");
    let binary = diff.file("assets/logo.png").unwrap();
    assert!(!binary.has_patch && binary.hunks.is_empty());
}

#[tokio::test]
async fn an_enterprise_base_url_with_api_v3_works() {
    let server = MockServer::start().await;
    mount_paged_files(&server, "/api/v3", 101).await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/acme/shop/contents/app/untouched.py"))
        .and(header("authorization", "Bearer test-token-not-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(contents(
            "app/untouched.py",
            &fixture_text("repo/app/untouched.py"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v3/repos/acme/shop/issues/5/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(issue_comment(1, 5, "bot", "hi")))
        .expect(1)
        .mount(&server)
        .await;
    let env: BTreeMap<String, String> = [
        (
            "GITHUB_API_URL".to_owned(),
            format!("{}/api/v3/", server.uri()),
        ),
        (
            "GITHUB_TOKEN".to_owned(),
            "test-token-not-secret".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let settings = ClientSettings::from_env(None, &env)
        .unwrap()
        .with_write_spacing(std::time::Duration::ZERO);
    let enterprise = GitHub::new(ClientSettings {
        retry: false,
        ..settings
    })
    .unwrap();
    let diff = pull_diff(&enterprise, &repository(), 8).await.unwrap();
    assert_eq!(diff.files.len(), 101);
    let text = read_file(&enterprise, &repository(), "app/untouched.py", HEAD_SHA)
        .await
        .unwrap();
    assert_eq!(
        text.as_deref(),
        Some(fixture_text("repo/app/untouched.py").as_str())
    );
    agentci::github::issues::create_comment(&enterprise, &repository(), 5, "hi")
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn errors_map_to_auth_not_found_and_http() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/2"))
        .respond_with(not_found())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/3"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})))
        .mount(&server)
        .await;
    let github = client(&server);
    let repository = repository();
    let issue = |number| agentci::github::issues::get_issue(&github, &repository, number);
    assert!(matches!(issue(1).await.unwrap_err(), GitHubError::Auth(_)));
    assert!(matches!(
        issue(2).await.unwrap_err(),
        GitHubError::NotFound(_)
    ));
    let error = issue(3).await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(
        error.to_string().contains("GET /repos/acme/shop/issues/3"),
        "{error}"
    );
    let code = agentci::cli::exit_for(&anyhow::Error::from(error));
    assert_eq!(code, agentci::exit::Exit::GitHub);
}

fn issue_json(number: u64) -> Value {
    let mut issue = fixture_json("events/issues.json")["issue"].clone();
    issue["number"] = json!(number);
    issue["labels"] = json!([
        {"id": 11, "node_id": "LA_kwDOAbCdEf8AAAAB", "url": "https://api.github.com/repos/acme/shop/labels/enhancement", "name": "enhancement", "color": "a2eeef", "default": true, "description": "New feature or request"},
        {"id": 12, "node_id": "LA_kwDOAbCdEf8AAAAC", "url": "https://api.github.com/repos/acme/shop/labels/api", "name": "api", "color": "0e8a16", "default": false, "description": null}
    ]);
    issue
}

#[tokio::test]
async fn an_issue_is_read_with_labels_and_every_comment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_json(42)))
        .mount(&server)
        .await;
    let route = "/repos/acme/shop/issues/42/comments";
    let next = format!("{}{route}?per_page=100&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([issue_comment(
                2,
                42,
                "maintainer",
                "Use the existing `Favorite` model."
            )])),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([issue_comment(1, 42, "shopper", "Any news?")]))
                .insert_header(
                    "link",
                    format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""),
                ),
        )
        .mount(&server)
        .await;
    let thread = read_issue(&client(&server), &repository(), 42)
        .await
        .unwrap();
    assert_eq!(thread.issue.title, "Add a favorites list endpoint");
    assert_eq!(thread.issue.label_names(), ["enhancement", "api"]);
    assert!(!thread.issue.is_pull_request());
    let bodies: Vec<&str> = thread
        .comments
        .iter()
        .map(|comment| comment.body_text())
        .collect();
    assert_eq!(bodies, ["Any news?", "Use the existing `Favorite` model."]);
}

#[tokio::test]
async fn a_marked_comment_is_created_then_updated() {
    let marker = "<!-- agentci:speck -->";
    let route = "/repos/acme/shop/issues/42/comments";

    let empty = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([issue_comment(1, 42, "shopper", "hello")])),
        )
        .mount(&empty)
        .await;
    Mock::given(method("POST"))
        .and(path(route))
        .and(body_json(
            json!({"body": format!("Plan: 3 tasks\n\n{marker}")}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(issue_comment(77, 42, "bot", "x")))
        .expect(1)
        .mount(&empty)
        .await;
    let created =
        upsert_marked_comment(&client(&empty), &repository(), 42, marker, "Plan: 3 tasks")
            .await
            .unwrap();
    assert_eq!(created, CommentUpsert::Created { id: 77 });
    empty.verify().await;

    let existing = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            issue_comment(1, 42, "shopper", "hello"),
            issue_comment(77, 42, "bot", &format!("Plan: 3 tasks\n\n{marker}")),
        ])))
        .mount(&existing)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/77"))
        .and(body_json(
            json!({"body": format!("Plan: 4 tasks\n\n{marker}")}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_comment(77, 42, "bot", "x")))
        .expect(1)
        .mount(&existing)
        .await;
    let github = client(&existing);
    let updated = upsert_marked_comment(&github, &repository(), 42, marker, "Plan: 4 tasks")
        .await
        .unwrap();
    assert_eq!(updated, CommentUpsert::Updated { id: 77 });
    let unchanged = upsert_marked_comment(&github, &repository(), 42, marker, "Plan: 3 tasks")
        .await
        .unwrap();
    assert_eq!(unchanged, CommentUpsert::Unchanged { id: 77 });
    existing.verify().await;
}

#[tokio::test]
async fn comment_writes_in_a_dry_run_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let upsert = upsert_marked_comment(&dry, &repository(), 42, "<!-- agentci:x -->", "body")
        .await
        .unwrap();
    assert_eq!(upsert, CommentUpsert::Planned);
    let created = agentci::github::issues::create_comment(&dry, &repository(), 42, "plain")
        .await
        .unwrap();
    assert!(created.is_none());
    let planned = dry.take_planned();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].method, Method::Post);
    assert_eq!(
        planned[0].body,
        Some(json!({"body": "body\n\n<!-- agentci:x -->"}))
    );
    assert_eq!(planned[1].body, Some(json!({"body": "plain"})));
    server.verify().await;
}

fn pull_json(number: u64, head: &str, title: &str) -> Value {
    let mut pull = fixture_json("events/pull_request.json")["pull_request"].clone();
    pull["number"] = json!(number);
    pull["title"] = json!(title);
    pull["html_url"] = json!(format!("https://github.com/acme/shop/pull/{number}"));
    pull["head"]["ref"] = json!(head);
    pull["head"]["label"] = json!(format!("acme:{head}"));
    pull
}

fn new_pull() -> NewPull {
    NewPull {
        title: "Add a favorites list endpoint".into(),
        head: "agentci/issue-42".into(),
        base: "main".into(),
        body: "Implements the endpoint and its tests.".into(),
        closes_issue: Some(42),
        draft: true,
    }
}

#[tokio::test]
async fn a_pull_request_is_opened_when_none_exists() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls"))
        .and(query_param("state", "open"))
        .and(query_param("head", "acme:agentci/issue-42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/pulls"))
        .and(body_json(json!({
            "title": "Add a favorites list endpoint",
            "head": "agentci/issue-42",
            "base": "main",
            "body": "Implements the endpoint and its tests.\n\nCloses #42",
            "draft": true,
            "maintainer_can_modify": true
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull_json(
            31,
            "agentci/issue-42",
            "Add a favorites list endpoint",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = open_or_update_pull(&client(&server), &repository(), &new_pull())
        .await
        .unwrap();
    assert_eq!(outcome.number, Some(31));
    assert!(outcome.created);
    assert_eq!(
        outcome.html_url.as_deref(),
        Some("https://github.com/acme/shop/pull/31")
    );
    server.verify().await;
}

#[tokio::test]
async fn the_open_pull_request_of_the_same_branch_is_updated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([pull_json(
            30,
            "agentci/issue-42",
            "Old title"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/pulls/30"))
        .and(body_json(json!({
            "title": "Add a favorites list endpoint",
            "body": "Implements the endpoint and its tests.\n\nCloses #42"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull_json(
            30,
            "agentci/issue-42",
            "Add a favorites list endpoint",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let outcome = open_or_update_pull(&client(&server), &repository(), &new_pull())
        .await
        .unwrap();
    assert_eq!((outcome.number, outcome.created), (Some(30), false));
    server.verify().await;
}

#[tokio::test]
async fn opening_a_pull_request_in_a_dry_run_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let outcome = open_or_update_pull(&dry, &repository(), &new_pull())
        .await
        .unwrap();
    assert_eq!((outcome.number, outcome.created), (None, true));
    let planned = dry.planned();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].path, "/repos/acme/shop/pulls");
    assert_eq!(
        planned[0].body.as_ref().unwrap()["head"],
        "agentci/issue-42"
    );
    server.verify().await;
}

const BASE_SHA: &str = "2222222222222222222222222222222222222222";
const BASE_TREE: &str = "4444444444444444444444444444444444444444";

async fn mount_git_reads(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/agentci/issue-42"))
        .respond_with(not_found())
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ref": "refs/heads/main",
            "node_id": "REF_kwDOAbCdEfA",
            "url": "https://api.github.com/repos/acme/shop/git/refs/heads/main",
            "object": {"sha": BASE_SHA, "type": "commit", "url": format!("https://api.github.com/repos/acme/shop/git/commits/{BASE_SHA}")}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/git/commits/{BASE_SHA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": BASE_SHA,
            "node_id": "C_kwDOAbCdEfA",
            "url": format!("https://api.github.com/repos/acme/shop/git/commits/{BASE_SHA}"),
            "html_url": format!("https://github.com/acme/shop/commit/{BASE_SHA}"),
            "author": {"name": "Octo Cat", "email": "octo@example.com", "date": "2026-11-20T09:00:00Z"},
            "committer": {"name": "Octo Cat", "email": "octo@example.com", "date": "2026-11-20T09:00:00Z"},
            "tree": {"sha": BASE_TREE, "url": format!("https://api.github.com/repos/acme/shop/git/trees/{BASE_TREE}")},
            "message": "Initial commit",
            "parents": [],
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/git/trees/{BASE_TREE}")))
        .and(query_param("recursive", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sha": BASE_TREE,
            "url": format!("https://api.github.com/repos/acme/shop/git/trees/{BASE_TREE}"),
            "tree": [
                {"path": "app", "mode": "040000", "type": "tree", "sha": "5555555555555555555555555555555555555555"},
                {"path": "app/service.py", "mode": "100644", "type": "blob", "sha": "6666666666666666666666666666666666666666", "size": 700},
                {"path": "scripts/run.sh", "mode": "100755", "type": "blob", "sha": "7777777777777777777777777777777777777777", "size": 40}
            ],
            "truncated": false
        })))
        .mount(server)
        .await;
}

fn changes() -> Vec<FileChange> {
    vec![
        FileChange {
            path: "scripts/run.sh".into(),
            content: Some(b"#!/bin/sh\nexec python -m app\n".to_vec()),
        },
        FileChange {
            path: "app/favorites.py".into(),
            content: Some(b"FAVORITES = {}\n".to_vec()),
        },
        FileChange {
            path: "app/legacy.py".into(),
            content: None,
        },
    ]
}

#[tokio::test]
async fn changes_are_committed_through_the_git_data_api() {
    let server = MockServer::start().await;
    mount_git_reads(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/git/blobs"))
        .respond_with(|request: &wiremock::Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            let bytes = agentci::github::encoding::base64_decode(sent["content"].as_str().unwrap())
                .unwrap();
            let sha = blob_id(&bytes);
            ResponseTemplate::new(201).set_body_json(json!({
                "url": format!("https://api.github.com/repos/acme/shop/git/blobs/{sha}"),
                "sha": sha
            }))
        })
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/git/trees"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sha": "8888888888888888888888888888888888888888",
            "url": "https://api.github.com/repos/acme/shop/git/trees/8888888888888888888888888888888888888888",
            "tree": [],
            "truncated": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/git/commits"))
        .and(body_json(json!({
            "message": "feat: favorites (#42)",
            "tree": "8888888888888888888888888888888888888888",
            "parents": [BASE_SHA]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "sha": "9999999999999999999999999999999999999999",
            "node_id": "C_kwDOAbCdEfB",
            "url": "https://api.github.com/repos/acme/shop/git/commits/9999999999999999999999999999999999999999",
            "tree": {"sha": "8888888888888888888888888888888888888888"},
            "message": "feat: favorites (#42)",
            "parents": [{"sha": BASE_SHA}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/git/refs"))
        .and(body_json(json!({
            "ref": "refs/heads/agentci/issue-42",
            "sha": "9999999999999999999999999999999999999999"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "ref": "refs/heads/agentci/issue-42",
            "object": {"sha": "9999999999999999999999999999999999999999", "type": "commit"}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = commit_changes(
        &client(&server),
        &repository(),
        "agentci/issue-42",
        "main",
        "feat: favorites (#42)",
        &changes(),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.commit_sha.as_deref(),
        Some("9999999999999999999999999999999999999999")
    );
    assert!(outcome.created_branch);
    let tree = requests(&server, "POST")
        .await
        .into_iter()
        .find(|request| request.url.path() == "/repos/acme/shop/git/trees")
        .map(|request| body(&request))
        .unwrap();
    assert_eq!(
        tree,
        json!({
            "base_tree": BASE_TREE,
            "tree": [
                {"path": "scripts/run.sh", "mode": "100755", "type": "blob", "sha": blob_id(b"#!/bin/sh\nexec python -m app\n")},
                {"path": "app/favorites.py", "mode": "100644", "type": "blob", "sha": blob_id(b"FAVORITES = {}\n")},
                {"path": "app/legacy.py", "mode": "100644", "type": "blob", "sha": null}
            ]
        })
    );
    server.verify().await;
}

#[tokio::test]
async fn committing_in_a_dry_run_sends_nothing_and_plans_every_step() {
    let server = MockServer::start().await;
    mount_git_reads(&server).await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let outcome = commit_changes(
        &dry,
        &repository(),
        "agentci/issue-42",
        "main",
        "feat: favorites (#42)",
        &changes(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.commit_sha, None);
    let routes: Vec<String> = dry
        .planned()
        .iter()
        .map(|planned| format!("{} {}", planned.method.as_str(), planned.path))
        .collect();
    assert_eq!(
        routes,
        [
            "POST /repos/acme/shop/git/blobs",
            "POST /repos/acme/shop/git/blobs",
            "POST /repos/acme/shop/git/trees",
            "POST /repos/acme/shop/git/commits",
            "POST /repos/acme/shop/git/refs",
        ]
    );
    let tree = dry.planned()[2].body.clone().unwrap();
    assert_eq!(tree["tree"][1]["sha"], blob_id(b"FAVORITES = {}\n"));
    server.verify().await;
}

fn release(tag: &str, draft: bool, prerelease: bool) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/dagger/dagger-for-github/releases/{}", tag.len()),
        "html_url": format!("https://github.com/dagger/dagger-for-github/releases/tag/{tag}"),
        "id": 100 + tag.len(),
        "node_id": "RE_kwDOAbCdEf4Abc",
        "tag_name": tag,
        "target_commitish": "main",
        "name": tag,
        "draft": draft,
        "prerelease": prerelease,
        "created_at": "2026-10-01T00:00:00Z",
        "published_at": if draft { Value::Null } else { json!("2026-10-01T00:00:00Z") },
        "author": user("dagger-bot", 99),
        "assets": [],
        "body": "Changes."
    })
}

#[tokio::test]
async fn the_newest_stable_release_is_picked_by_semver() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/dagger/dagger-for-github/releases"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            release("v2.0.0-beta.1", false, true),
            release("v1.11.0", true, false),
            release("v1.9.0", false, false),
            release("v1.10.0", false, false),
            release("v1.8.3", false, false),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let repository = Repository::new("dagger", "dagger-for-github");
    let found = latest_release_or(&client(&server), &repository, "v8.0.0")
        .await
        .unwrap();
    assert_eq!(found.tag, "v1.10.0");
    assert_eq!(found.source, VersionSource::Api);
    server.verify().await;
}

#[tokio::test]
async fn an_unreachable_api_falls_back_to_the_offline_version() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/dagger/dagger-for-github/releases"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"message": "Service Unavailable"})),
        )
        .mount(&server)
        .await;
    let repository = Repository::new("dagger", "dagger-for-github");
    let github = client(&server);
    let found = latest_release_or(&github, &repository, "v8.0.0")
        .await
        .unwrap();
    assert_eq!(
        (found.tag.as_str(), found.source),
        ("v8.0.0", VersionSource::Fallback)
    );
    assert!(
        releases::latest_release(&github, &repository)
            .await
            .is_err()
    );
    assert!(
        latest_release_or(&github, &repository, "latest")
            .await
            .is_err()
    );
}

#[test]
fn actions_outputs_and_summary_are_written_to_the_runner_files() {
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("output");
    let summary = directory.path().join("summary.md");
    let env: BTreeMap<String, String> = [
        ("GITHUB_OUTPUT".to_owned(), output.display().to_string()),
        (
            "GITHUB_STEP_SUMMARY".to_owned(),
            summary.display().to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let files = ActionsFiles::from_env(&env);
    assert!(files.set_output("suggestions", "2").unwrap());
    assert!(
        files
            .set_output(
                "result",
                "Fixed `parse_port`.\nEOF\nsecond=line ghp_abcdefghijklmnopqrstuvwxyz0123456789"
            )
            .unwrap()
    );
    assert!(files.append_summary("## monty\n\n2 suggestions").unwrap());
    assert!(files.append_summary("| a | b |").unwrap());

    let written = std::fs::read_to_string(&output).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("suggestions=2"));
    let header = lines.next().unwrap();
    let delimiter = header.strip_prefix("result<<").unwrap();
    let value: Vec<&str> = lines
        .by_ref()
        .take_while(|line| *line != delimiter)
        .collect();
    assert_eq!(
        value,
        ["Fixed `parse_port`.", "EOF", "second=line [REDACTED]"]
    );
    assert_eq!(lines.next(), None);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "## monty\n\n2 suggestions\n| a | b |\n"
    );

    let outside = ActionsFiles::from_env(&BTreeMap::new());
    assert!(!outside.set_output("x", "y").unwrap());
    assert!(!outside.append_summary("x").unwrap());
}

#[tokio::test]
async fn a_comment_on_a_pull_request_gets_its_head_from_the_pull() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pull_json(
            7,
            "parse-port",
            "Parse the port from the configuration",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let mut context = detect(
        &actions_env("issue_comment", "issue_comment_on_pull_request"),
        &ContextOverrides::default(),
    )
    .unwrap();
    let head = context
        .resolve_head_sha(&client(&server))
        .await
        .unwrap()
        .to_owned();
    assert_eq!(head, HEAD_SHA);
    assert_eq!(context.head_ref.as_deref(), Some("parse-port"));
    // Known already: no second request.
    context.resolve_head_sha(&client(&server)).await.unwrap();
    server.verify().await;
}

#[test]
fn github_flags_parse_and_override_the_context() {
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        github: agentci::cli::GitHubArgs,
    }
    let parsed = Command::try_parse_from([
        "agentci",
        "--github-token",
        "env:MY_TOKEN",
        "--repo",
        "acme/other",
        "--pr-number",
        "9",
    ])
    .unwrap();
    let env = actions_env("pull_request", "pull_request");
    let context = parsed.github.options().context(&env).unwrap();
    assert_eq!(context.repository, Some(Repository::new("acme", "other")));
    assert_eq!(context.pr_number, Some(9));
    let error = parsed.github.options().client(&env, false).unwrap_err();
    assert!(error.to_string().contains("env:MY_TOKEN"), "{error}");
}

#[tokio::test]
async fn updates_in_a_dry_run_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([pull_json(
            30,
            "agentci/issue-42",
            "Old title"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/issues/42/comments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([issue_comment(
                77,
                42,
                "bot",
                "old\n\n<!-- agentci:speck -->"
            )])),
        )
        .mount(&server)
        .await;
    forbid_writes(&server).await;
    let dry = dry_run_client(&server);
    let pull = open_or_update_pull(&dry, &repository(), &new_pull())
        .await
        .unwrap();
    assert_eq!((pull.number, pull.created), (Some(30), false));
    let comment = upsert_marked_comment(&dry, &repository(), 42, "<!-- agentci:speck -->", "new")
        .await
        .unwrap();
    assert_eq!(comment, CommentUpsert::Planned);
    let routes: Vec<String> = dry
        .planned()
        .iter()
        .map(|planned| format!("{} {}", planned.method.as_str(), planned.path))
        .collect();
    assert_eq!(
        routes,
        [
            "PATCH /repos/acme/shop/pulls/30",
            "PATCH /repos/acme/shop/issues/comments/77"
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_fork_workflow_run_finds_its_pull_request_from_the_head_commit() {
    let server = MockServer::start().await;
    let mut closed = pull_json(3, "old-branch", "Closed one");
    closed["state"] = json!("closed");
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/commits/{HEAD_SHA}/pulls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            closed,
            pull_json(7, "parse-port", "Parse the port from the configuration"),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let directory = tempfile::tempdir().unwrap();
    let mut payload = fixture_json("events/workflow_run.json");
    payload["workflow_run"]["pull_requests"] = json!([]);
    let event = directory.path().join("event.json");
    std::fs::write(&event, payload.to_string()).unwrap();
    let mut env = actions_env("workflow_run", "workflow_run");
    env.insert("GITHUB_EVENT_PATH".into(), event.display().to_string());
    let mut context = detect(&env, &ContextOverrides::default()).unwrap();
    assert_eq!(context.pr_number, None);
    let found = context
        .resolve_pr_from_head(&client(&server))
        .await
        .unwrap();
    assert_eq!(found, Some(7));
    assert_eq!(context.issue_number, Some(7));
    assert_eq!(context.base_ref.as_deref(), Some("main"));
    server.verify().await;
}
