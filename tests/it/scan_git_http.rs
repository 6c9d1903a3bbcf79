//! Module libraries over smart HTTP, the transport of every GitHub URL: the fetch is shallow
//! (only the tips the scanner reads), refreshing a shallow cache still finds new releases, and a
//! server that does not offer shallow fetches gets a full one.

use agentci::scan::git;

use crate::scan_git::{fixture, module, options, read};
use crate::support::git_http::{GitHttpServer, publish, republish};

/// Whether an upload-pack request asked for a shallow history.
fn deepens(body: &str) -> bool {
    body.contains("deepen 1")
}

#[test]
fn a_library_over_http_is_fetched_shallow_and_a_refresh_finds_new_releases() {
    let fixture = fixture();
    let served = tempfile::tempdir().unwrap();
    let bare = publish(fixture.remote.path(), served.path());
    let server = GitHttpServer::start(served.path(), false);
    let source = git::parse_source(&format!("{}/acme/modules.git", server.url)).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let first = git::fetch(&source, &options(cache.path())).unwrap();
    assert!(first.fetched);
    let negotiations = server.upload_packs();
    assert!(
        !negotiations.is_empty() && negotiations.iter().all(|body| deepens(body)),
        "every negotiation asks for depth 1: {negotiations:?}"
    );
    assert!(
        first.git_dir.join("shallow").is_file(),
        "the cache holds a shallow clone"
    );
    // Each module's release, read from its own tag's tree, though older commits were not
    // fetched.
    assert_eq!(first.version_for("mod-a").version, "v1.10.0");
    assert_eq!(read(&first.root, "mod-a/VERSION"), "1.10.0");
    assert_eq!(first.version_for("mod-b").version, "v0.1.0");
    assert_eq!(read(&first.root, "mod-b/VERSION"), "0.1.0");
    assert_eq!(read(&first.root, "VERSION"), "root 0.3.0");
    assert_eq!(read(&first.root, "mod-c/VERSION"), "main");

    // A new release upstream; a refresh fetches into the shallow clone.
    module(&fixture.remote, "mod-a", "1.11.0");
    let newer = fixture.remote.commit("mod-a 1.11");
    fixture.remote.tag("mod-a/v1.11.0", newer);
    republish(fixture.remote.path(), &bare);
    let mut refresh = options(cache.path());
    refresh.refresh = true;
    let second = git::fetch(&source, &refresh).unwrap();
    assert!(second.fetched);
    assert_eq!(
        second.git_dir, first.git_dir,
        "the cache is updated, not cloned again"
    );
    assert_eq!(second.version_for("mod-a").version, "v1.11.0");
    assert_eq!(second.version_for("mod-a").pin, newer.to_string());
    assert_eq!(read(&second.root, "mod-a/VERSION"), "1.11.0");
    assert_eq!(read(&second.root, "mod-b/VERSION"), "0.1.0");
}

#[test]
fn a_server_without_shallow_fetches_gets_a_full_fetch() {
    let fixture = fixture();
    let served = tempfile::tempdir().unwrap();
    publish(fixture.remote.path(), served.path());
    let server = GitHttpServer::start(served.path(), true);
    let source = git::parse_source(&format!("{}/acme/modules.git", server.url)).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    assert!(checkout.fetched);
    let negotiations = server.upload_packs();
    assert!(
        !negotiations.is_empty() && negotiations.iter().all(|body| !deepens(body)),
        "no shallow request reaches a server that does not offer it: {negotiations:?}"
    );
    assert!(!checkout.git_dir.join("shallow").exists());
    assert_eq!(checkout.version_for("mod-a").version, "v1.10.0");
    assert_eq!(read(&checkout.root, "mod-a/VERSION"), "1.10.0");
    assert_eq!(read(&checkout.root, "mod-b/VERSION"), "0.1.0");
}
