//! A fake GitHub for the GitHub-layer tests: wiremock plus realistic REST payloads (shapes from
//! GitHub's REST reference), and helpers to read back what was sent.

use std::path::PathBuf;

use agentci::github::client::{ClientSettings, GitHub};
use agentci::github::encoding::base64_encode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const OWNER: &str = "acme";
pub const NAME: &str = "shop";
pub const HEAD_SHA: &str = "9f3c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e";

pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github")
        .join(relative)
}

pub fn fixture_text(relative: &str) -> String {
    std::fs::read_to_string(fixture(relative)).unwrap()
}

pub fn fixture_json(relative: &str) -> Value {
    serde_json::from_str(&fixture_text(relative)).unwrap()
}

pub fn client(server: &MockServer) -> GitHub {
    GitHub::new(ClientSettings::for_server(server.uri())).unwrap()
}

pub fn dry_run_client(server: &MockServer) -> GitHub {
    GitHub::new(ClientSettings::for_server(server.uri()).with_dry_run(true)).unwrap()
}

pub fn user(login: &str, id: u64) -> Value {
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_kgDO{id:08}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false
    })
}

/// The contents API's answer for a file (base64 wrapped at 60 columns, as GitHub does).
pub fn contents(path: &str, text: &str) -> Value {
    let encoded = base64_encode(text.as_bytes());
    let wrapped: Vec<String> = encoded
        .as_bytes()
        .chunks(60)
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect();
    let name = path.rsplit('/').next().unwrap();
    let sha = agentci::github::pulls::blob_id(text.as_bytes());
    json!({
        "type": "file",
        "encoding": "base64",
        "size": text.len(),
        "name": name,
        "path": path,
        "content": format!("{}\n", wrapped.join("\n")),
        "sha": sha,
        "url": format!("https://api.github.com/repos/{OWNER}/{NAME}/contents/{path}?ref={HEAD_SHA}"),
        "git_url": format!("https://api.github.com/repos/{OWNER}/{NAME}/git/blobs/{sha}"),
        "html_url": format!("https://github.com/{OWNER}/{NAME}/blob/{HEAD_SHA}/{path}"),
        "download_url": format!("https://raw.githubusercontent.com/{OWNER}/{NAME}/{HEAD_SHA}/{path}"),
        "_links": {
            "self": format!("https://api.github.com/repos/{OWNER}/{NAME}/contents/{path}?ref={HEAD_SHA}"),
            "git": format!("https://api.github.com/repos/{OWNER}/{NAME}/git/blobs/{sha}"),
            "html": format!("https://github.com/{OWNER}/{NAME}/blob/{HEAD_SHA}/{path}")
        }
    })
}

pub fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404"
    }))
}

/// An issue comment as the issues API returns it.
pub fn issue_comment(id: u64, number: u64, login: &str, body: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/{OWNER}/{NAME}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{OWNER}/{NAME}/issues/{number}#issuecomment-{id}"),
        "issue_url": format!("https://api.github.com/repos/{OWNER}/{NAME}/issues/{number}"),
        "id": id,
        "node_id": format!("IC_kwDOAbCd{id:08}"),
        "user": user(login, 41898282),
        "created_at": "2026-11-23T08:10:00Z",
        "updated_at": "2026-11-23T08:10:00Z",
        "author_association": "NONE",
        "body": body,
        "reactions": {"url": format!("https://api.github.com/repos/{OWNER}/{NAME}/issues/comments/{id}/reactions"), "total_count": 0}
    })
}

/// A pull request review comment as the pulls API returns it.
pub fn review_comment(id: u64, path: &str, line: Option<u64>, body: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/{OWNER}/{NAME}/pulls/comments/{id}"),
        "pull_request_review_id": 4200 + id,
        "id": id,
        "node_id": format!("PRRC_kwDOAbCd{id:08}"),
        "diff_hunk": "@@ -28,8 +29,8 @@ def shutdown():",
        "path": path,
        "commit_id": HEAD_SHA,
        "original_commit_id": HEAD_SHA,
        "user": user("github-actions[bot]", 41898282),
        "body": body,
        "created_at": "2026-11-23T08:10:00Z",
        "updated_at": "2026-11-23T08:10:00Z",
        "html_url": format!("https://github.com/{OWNER}/{NAME}/pull/7#discussion_r{id}"),
        "pull_request_url": format!("https://api.github.com/repos/{OWNER}/{NAME}/pulls/7"),
        "author_association": "NONE",
        "line": line,
        "side": "RIGHT",
        "subject_type": if line.is_some() { "line" } else { "file" }
    })
}

/// A review as the reviews API returns it.
pub fn review(id: u64, body: &str, state: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("PRR_kwDOAbCd{id:08}"),
        "user": user("github-actions[bot]", 41898282),
        "body": body,
        "state": state,
        "html_url": format!("https://github.com/{OWNER}/{NAME}/pull/7#pullrequestreview-{id}"),
        "pull_request_url": format!("https://api.github.com/repos/{OWNER}/{NAME}/pulls/7"),
        "author_association": "NONE",
        "_links": {
            "html": {"href": format!("https://github.com/{OWNER}/{NAME}/pull/7#pullrequestreview-{id}")},
            "pull_request": {"href": format!("https://api.github.com/repos/{OWNER}/{NAME}/pulls/7")}
        },
        "submitted_at": "2026-11-23T08:10:00Z",
        "commit_id": HEAD_SHA
    })
}

/// Every write to the fake server fails the test when the server is verified (dry runs).
pub async fn forbid_writes(server: &MockServer) {
    for verb in ["POST", "PATCH", "PUT", "DELETE"] {
        Mock::given(method(verb))
            .and(path_regex(".*"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .named(format!("no {verb} in a dry run"))
            .mount(server)
            .await;
    }
}

/// The requests received with this method, in order.
pub async fn requests(server: &MockServer, verb: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.method.as_str() == verb)
        .collect()
}

pub fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}
