//! Git module sources: a repository built here with git2, served as a `file://` URL, resolved to
//! per-module semver tags and laid out for the scanner.

use std::path::Path;
use std::time::Duration;

use agentci::scan::git::{self, FetchOptions, GitError, GitSource};
use git2::{Oid, Repository, RepositoryInitOptions, Signature};

pub struct Remote {
    _directory: tempfile::TempDir,
    repository: Repository,
    pub url: String,
}

impl Remote {
    pub fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("modules");
        let mut options = RepositoryInitOptions::new();
        options.initial_head("main");
        let repository = Repository::init_opts(&path, &options).unwrap();
        let url = format!("file://{}", path.display());
        Self {
            _directory: directory,
            repository,
            url,
        }
    }

    pub fn write(&self, relative: &str, content: &str) {
        let path = self.repository.workdir().unwrap().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn commit(&self, message: &str) -> Oid {
        let mut index = self.repository.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = self
            .repository
            .find_tree(index.write_tree().unwrap())
            .unwrap();
        let signature = Signature::now("Test", "test@example.com").unwrap();
        let parent = self
            .repository
            .head()
            .ok()
            .and_then(|head| head.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repository
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .unwrap()
    }

    pub fn tag(&self, name: &str, commit: Oid) {
        let object = self.repository.find_object(commit, None).unwrap();
        self.repository
            .tag_lightweight(name, &object, false)
            .unwrap();
    }

    pub fn annotated_tag(&self, name: &str, commit: Oid) {
        let object = self.repository.find_object(commit, None).unwrap();
        let signature = Signature::now("Test", "test@example.com").unwrap();
        self.repository
            .tag(name, &object, &signature, "release", false)
            .unwrap();
    }

    /// The repository's work tree.
    pub fn path(&self) -> &Path {
        self.repository.workdir().unwrap()
    }

    pub fn source(&self) -> GitSource {
        git::parse_source(&self.url).unwrap()
    }
}

pub fn module(remote: &Remote, directory: &str, version: &str) {
    let prefix = if directory.is_empty() {
        String::new()
    } else {
        format!("{directory}/")
    };
    let name = if directory.is_empty() {
        "root"
    } else {
        directory
    };
    remote.write(
        &format!("{prefix}dagger.json"),
        &format!("{{\"name\": \"{name}\", \"sdk\": {{\"source\": \"python\"}}}}\n"),
    );
    remote.write(&format!("{prefix}VERSION"), version);
}

/// The fixture: `mod-a` tagged v1.2.0, v1.10.0 (annotated), v2.0.0-rc1; `mod-b` tagged v0.1.0
/// (annotated); `mod-c` untagged; a root module tagged v0.3.0.
pub struct Fixture {
    pub remote: Remote,
    first: Oid,
    second: Oid,
    head: Oid,
}

pub fn fixture() -> Fixture {
    let remote = Remote::new();
    module(&remote, "", "root 0.3.0");
    module(&remote, "mod-a", "1.2.0");
    module(&remote, "mod-b", "0.1.0");
    let first = remote.commit("first");
    remote.tag("v0.3.0", first);
    remote.tag("mod-a/v1.2.0", first);
    remote.annotated_tag("mod-b/v0.1.0", first);
    // Tagged before the module existed there: not a release of it.
    remote.tag("mod-d/v1.0.0", first);

    module(&remote, "mod-a", "1.10.0");
    let second = remote.commit("mod-a 1.10");
    remote.annotated_tag("mod-a/v1.10.0", second);

    module(&remote, "mod-a", "2.0.0-rc1");
    let third = remote.commit("mod-a 2.0 rc");
    remote.tag("mod-a/v2.0.0-rc1", third);

    module(&remote, "", "root main");
    module(&remote, "mod-a", "main");
    module(&remote, "mod-b", "main");
    module(&remote, "mod-c", "main");
    module(&remote, "mod-d", "main");
    let head = remote.commit("work in progress");
    Fixture {
        remote,
        first,
        second,
        head,
    }
}

pub fn options(cache: &Path) -> FetchOptions {
    FetchOptions {
        cache_dir: cache.to_owned(),
        refresh: false,
        max_age: Duration::from_secs(3600),
        token: None,
    }
}

pub fn read(root: &Path, relative: &str) -> String {
    std::fs::read_to_string(root.join(relative)).unwrap()
}

#[test]
fn modules_resolve_to_their_newest_release_tag() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let source = fixture.remote.source();
    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    let repository = source.repository;
    assert!(checkout.fetched);
    assert_eq!(checkout.default_branch, "main");

    let a = checkout.version_for("mod-a");
    assert_eq!(a.version, "v1.10.0", "semver order, pre-release skipped");
    assert_eq!(a.r#ref, format!("{repository}/mod-a@mod-a/v1.10.0"));
    assert_eq!(a.pin, fixture.second.to_string(), "annotated tag peeled");

    let b = checkout.version_for("mod-b");
    assert_eq!(b.version, "v0.1.0");
    assert_eq!(b.r#ref, format!("{repository}/mod-b@mod-b/v0.1.0"));
    assert_eq!(b.pin, fixture.first.to_string());

    let c = checkout.version_for("mod-c");
    assert_eq!(c.version, "main");
    assert_eq!(c.r#ref, format!("{repository}/mod-c@main"));
    assert_eq!(c.pin, fixture.head.to_string());

    let d = checkout.version_for("mod-d");
    assert_eq!(d.version, "main", "a tag without the module is skipped");
    assert_eq!(d.pin, fixture.head.to_string());

    let root = checkout.version_for("");
    assert_eq!(root.r#ref, format!("{repository}@v0.3.0"));
    assert_eq!(root.pin, fixture.first.to_string());
}

#[test]
fn scanned_files_are_those_at_each_modules_version() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let checkout = git::fetch(&fixture.remote.source(), &options(cache.path())).unwrap();
    assert_eq!(read(&checkout.root, "VERSION"), "root 0.3.0");
    assert_eq!(read(&checkout.root, "mod-a/VERSION"), "1.10.0");
    assert_eq!(read(&checkout.root, "mod-b/VERSION"), "0.1.0");
    // Not in the root module's tag, but a module of its own on the default branch.
    assert_eq!(read(&checkout.root, "mod-c/VERSION"), "main");
    assert_eq!(read(&checkout.root, "mod-d/VERSION"), "main");
    assert!(!checkout.root.join(".git").exists());
}

#[test]
fn annotate_fills_the_scanned_module() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let source = fixture.remote.source();
    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    let mut module = agentci::scan::Module {
        name: "mod-a".into(),
        path: "mod-a".into(),
        repository: None,
        r#ref: None,
        version: None,
        pin: None,
        sdk: Some("python".into()),
        engine_version: None,
        description: None,
        role: agentci::scan::Role::Module,
        main_object: "ModA".into(),
        functions: Vec::new(),
        checks: Vec::new(),
        problems: Vec::new(),
        constructor: Vec::new(),
        ..agentci::scan::Module::default()
    };
    checkout.annotate(&mut module);
    assert_eq!(
        module.repository.as_deref(),
        Some(source.repository.as_str())
    );
    assert_eq!(module.version.as_deref(), Some("v1.10.0"));
    assert_eq!(
        module.pin.as_deref(),
        Some(fixture.second.to_string().as_str())
    );
}

#[test]
fn the_cache_is_reused_and_refresh_sees_new_tags() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let source = fixture.remote.source();
    let first = git::fetch(&source, &options(cache.path())).unwrap();
    assert!(first.fetched);
    let git_dir_created = std::fs::metadata(first.git_dir.join("config"))
        .unwrap()
        .modified()
        .unwrap();

    module(&fixture.remote, "mod-a", "1.11.0");
    let newer = fixture.remote.commit("mod-a 1.11");
    fixture.remote.tag("mod-a/v1.11.0", newer);

    let second = git::fetch(&source, &options(cache.path())).unwrap();
    assert!(!second.fetched, "a fresh cache is not fetched again");
    assert_eq!(second.git_dir, first.git_dir);
    assert_eq!(
        std::fs::metadata(second.git_dir.join("config"))
            .unwrap()
            .modified()
            .unwrap(),
        git_dir_created,
        "no re-clone"
    );
    assert_eq!(second.version_for("mod-a").version, "v1.10.0");
    assert_eq!(second.root, first.root, "the same layout is reused");

    let mut refresh = options(cache.path());
    refresh.refresh = true;
    let third = git::fetch(&source, &refresh).unwrap();
    assert!(third.fetched);
    assert_eq!(third.version_for("mod-a").version, "v1.11.0");
    assert_eq!(third.version_for("mod-a").pin, newer.to_string());
    assert_eq!(read(&third.root, "mod-a/VERSION"), "1.11.0");
    assert_eq!(read(&third.root, "mod-b/VERSION"), "0.1.0");

    // A layout unused for days is pruned once a newer one is built.
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 60 * 60);
    std::fs::File::open(&first.root)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    module(&fixture.remote, "mod-b", "0.2.0");
    let newest = fixture.remote.commit("mod-b 0.2");
    fixture.remote.tag("mod-b/v0.2.0", newest);
    let mut expired = options(cache.path());
    expired.max_age = Duration::ZERO;
    let fourth = git::fetch(&source, &expired).unwrap();
    assert!(fourth.fetched);
    assert_eq!(read(&fourth.root, "mod-b/VERSION"), "0.2.0");
    assert!(!first.root.exists(), "the stale layout is pruned");
    assert!(third.root.exists(), "a recent layout is kept");
}

#[test]
fn a_requested_version_uses_the_subpath_tag() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let source = git::parse_source(&format!("{}#v1.2.0:mod-a", fixture.remote.url)).unwrap();
    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    assert_eq!(read(&checkout.root, "VERSION"), "1.2.0");
    assert_eq!(checkout.repository_path(""), "mod-a");
    let version = checkout.version_for("mod-a");
    assert_eq!(
        version.r#ref,
        format!("{}/mod-a@mod-a/v1.2.0", source.repository)
    );
    assert_eq!(version.version, "v1.2.0");
    assert_eq!(version.pin, fixture.first.to_string());
}

#[test]
fn a_requested_branch_or_unknown_ref() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let source = git::parse_source(&format!("{}#main", fixture.remote.url)).unwrap();
    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    assert_eq!(read(&checkout.root, "mod-a/VERSION"), "main");
    assert_eq!(checkout.version_for("mod-a").pin, fixture.head.to_string());

    // A tag made after the cache was filled is found by asking the remote again.
    module(&fixture.remote, "mod-b", "0.5.0");
    let later = fixture.remote.commit("mod-b 0.5");
    fixture.remote.tag("mod-b/v0.5.0", later);
    let source = git::parse_source(&format!("{}/mod-b#v0.5.0", fixture.remote.url)).unwrap();
    assert_eq!(
        source.subpath.as_deref(),
        None,
        "file URLs take a subpath only after `.git`"
    );
    let source = git::parse_source(&format!("{}#v0.5.0:mod-b", fixture.remote.url)).unwrap();
    let checkout = git::fetch(&source, &options(cache.path())).unwrap();
    assert!(checkout.fetched);
    assert_eq!(read(&checkout.root, "VERSION"), "0.5.0");
    assert_eq!(checkout.version_for("mod-b").pin, later.to_string());

    let missing = git::parse_source(&format!("{}#v9.9.9", fixture.remote.url)).unwrap();
    let error = git::fetch(&missing, &options(cache.path())).unwrap_err();
    assert!(matches!(error, GitError::RefNotFound { .. }), "{error}");
    assert!(error.to_string().contains("v9.9.9"), "{error}");
}

#[test]
fn a_bad_url_is_a_clear_error_and_leaves_no_cache_entry() {
    let cache = tempfile::tempdir().unwrap();
    let source = git::parse_source("file:///nonexistent/agentci-modules.git").unwrap();
    let error = git::fetch(&source, &options(cache.path())).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, GitError::Fetch { .. }), "{message}");
    assert!(
        message.contains("could not fetch `file:///nonexistent/agentci-modules.git`"),
        "{message}"
    );
    let leftovers: Vec<_> = walkdir::WalkDir::new(cache.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() == "repo.git" || entry.file_name() == "HEAD")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_subpath_outside_the_repository_is_rejected() {
    let fixture = fixture();
    let cache = tempfile::tempdir().unwrap();
    let mut source = fixture.remote.source();
    source.subpath = Some("../escape".into());
    let error = git::fetch(&source, &options(cache.path())).unwrap_err();
    assert!(matches!(error, GitError::InvalidSubpath(_)), "{error}");

    source.subpath = Some("no-such-dir".into());
    let error = git::fetch(&source, &options(cache.path())).unwrap_err();
    assert!(matches!(error, GitError::InvalidSubpath(_)), "{error}");
}

/// A remote that demands credentials and rejects them: the token is offered once, as
/// `x-access-token`, the fetch fails with an auth error, and the token is stored nowhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_is_sent_once_and_never_stored() {
    use secrecy::SecretString;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "ghs_fetchTokenThatMustNeverBeStored012345678";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Basic realm=\"GitHub\""),
        )
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_owned();
    let url = format!("{}/acme/private-modules.git", server.uri());
    let source = git::parse_source(&url).unwrap();
    assert_eq!(source.clone_url, url);

    let (with_token, without_token) = tokio::task::spawn_blocking(move || {
        let mut options = options(&cache_dir);
        options.token = Some(SecretString::from(TOKEN.to_owned()));
        let with_token = git::fetch(&source, &options).unwrap_err();
        options.token = None;
        let without_token = git::fetch(&source, &options).unwrap_err();
        (with_token, without_token)
    })
    .await
    .unwrap();
    assert!(
        matches!(
            with_token,
            GitError::Auth {
                token_given: true,
                ..
            }
        ),
        "{with_token}"
    );
    assert!(with_token.to_string().contains("rejected the token"));
    assert!(!with_token.to_string().contains(TOKEN));
    assert!(
        matches!(
            without_token,
            GitError::Auth {
                token_given: false,
                ..
            }
        ),
        "{without_token}"
    );

    let requests = server.received_requests().await.unwrap();
    let authorizations: Vec<String> = requests
        .iter()
        .filter_map(|request| request.headers.get("authorization"))
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(authorizations.len(), 1, "{authorizations:?}");
    assert!(authorizations[0].starts_with("Basic "));
    assert!(
        requests
            .iter()
            .all(|request| request.url.path() == "/acme/private-modules.git/info/refs")
    );
    for entry in walkdir::WalkDir::new(cache.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            !bytes
                .windows(TOKEN.len())
                .any(|window| window == TOKEN.as_bytes()),
            "token in {}",
            entry.path().display()
        );
    }
}

#[test]
fn an_unfetchable_module_source_exits_2_naming_it_and_the_others_are_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("file://{}/missing.git", dir.path().display());
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/modules");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_agentci"))
        .current_dir(dir.path())
        .args(["modules", "scan", "--json"])
        .arg(&library)
        .arg(&missing)
        .env_remove("GITHUB_TOKEN")
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&missing), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["modules"].as_array().unwrap().len() >= 3, "{report}");
    assert_eq!(report["errors"][0]["source"], serde_json::json!(missing));
}

#[test]
fn a_git_server_that_never_answers_fails_the_fetch_instead_of_hanging() {
    // A server that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{address}/acme/lib.git");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agentci"))
        .current_dir(dir.path())
        .args(["modules", "scan", "--json", &url])
        .env("AGENTCI_GIT_TIMEOUT", "1s")
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("GITHUB_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Not a timing assertion: only a guard so that a regression fails instead of hanging CI.
    let mut waited = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(waited < 600, "the fetch hung");
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
}
