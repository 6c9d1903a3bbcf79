//! The pull-request branch: commit exactly the changed paths and push them to a local bare remote;
//! the token goes only through the credentials callback.

use std::path::{Path, PathBuf};

use agentci::github::GitHubError;
use agentci::github::git::{BotIdentity, Changes, LocalRepository};
use git2::{Oid, Repository, RepositoryInitOptions, Signature};
use secrecy::SecretString;

const TOKEN: &str = "ghs_pushTokenThatMustNeverBeStored0123456789";
const BRANCH: &str = "agentci/monty/issue-42-fix-the-parser";

struct Setup {
    directory: tempfile::TempDir,
    remote: PathBuf,
    base: Oid,
}

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A bare remote whose `main` has `README.md`, `src/app.py`, `old.txt`.
fn setup() -> Setup {
    let directory = tempfile::tempdir().unwrap();
    let remote = directory.path().join("remote.git");
    let mut options = RepositoryInitOptions::new();
    options.bare(true).initial_head("main");
    Repository::init_opts(&remote, &options).unwrap();

    let seed_path = directory.path().join("seed");
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main");
    let seed = Repository::init_opts(&seed_path, &options).unwrap();
    write(&seed_path, "README.md", "# project\n");
    write(&seed_path, "src/app.py", "print('hello')\n");
    write(&seed_path, "old.txt", "obsolete\n");
    let mut index = seed.index().unwrap();
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = seed.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = Signature::now("Human", "human@example.com").unwrap();
    let base = seed
        .commit(Some("HEAD"), &signature, &signature, "initial", &tree, &[])
        .unwrap();
    seed.remote("origin", remote.to_str().unwrap()).unwrap();
    seed.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    Setup {
        directory,
        remote,
        base,
    }
}

impl Setup {
    /// A fresh clone, as a CI job would have.
    fn clone(&self, name: &str) -> PathBuf {
        let path = self.directory.path().join(name);
        Repository::clone(self.remote.to_str().unwrap(), &path).unwrap();
        path
    }

    fn remote_files(&self, branch: &str) -> Vec<(String, String)> {
        let remote = Repository::open_bare(&self.remote).unwrap();
        let tree = remote
            .find_reference(&format!("refs/heads/{branch}"))
            .unwrap()
            .peel_to_tree()
            .unwrap();
        let mut files = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                let blob = remote.find_blob(entry.id()).unwrap();
                files.push((
                    format!("{parent}{}", entry.name().unwrap()),
                    String::from_utf8_lossy(blob.content()).into_owned(),
                ));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
        files
    }

    fn remote_commit(&self, branch: &str) -> (Oid, Vec<Oid>, String) {
        let remote = Repository::open_bare(&self.remote).unwrap();
        let commit = remote
            .find_reference(&format!("refs/heads/{branch}"))
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let parents = commit.parent_ids().collect();
        let author = commit.author().name().unwrap().to_owned();
        (commit.id(), parents, author)
    }
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

fn files(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(path, content)| ((*path).to_owned(), (*content).to_owned()))
        .collect()
}

fn assert_token_absent(git_dir: &Path) {
    for entry in walkdir::WalkDir::new(git_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            !bytes
                .windows(TOKEN.len())
                .any(|window| window == TOKEN.as_bytes()),
            "token found in {}",
            entry.path().display()
        );
    }
}

#[test]
fn exactly_the_listed_paths_are_pushed_and_deletions_propagate() {
    let setup = setup();
    let work = setup.clone("work");
    write(&work, "src/app.py", "print('fixed')\n");
    write(&work, "docs/new.md", "new\n");
    std::fs::remove_file(work.join("old.txt")).unwrap();
    write(&work, "stray.log", "build output\n");
    write(&work, "README.md", "# edited by a human, not listed\n");

    let repository = LocalRepository::discover(&work.join("src")).unwrap();
    assert_eq!(
        repository.prepare_branch(BRANCH, "main").unwrap(),
        setup.base
    );
    let changes = Changes {
        changed: vec!["src/app.py".into(), "docs/new.md".into()],
        deleted: vec!["old.txt".into()],
    };
    let commit = repository
        .commit(
            &changes,
            "fix(parser): handle empty input",
            &BotIdentity::default(),
        )
        .unwrap();
    let token = token();
    let outcome = repository
        .push("origin", BRANCH, Some(&token), None)
        .unwrap();
    assert_eq!(outcome.commit, commit.to_string());
    assert_eq!(outcome.remote_ref, format!("refs/heads/{BRANCH}"));
    assert_eq!(outcome.replaced, None);

    assert_eq!(
        setup.remote_files(BRANCH),
        files(&[
            ("README.md", "# project\n"),
            ("docs/new.md", "new\n"),
            ("src/app.py", "print('fixed')\n"),
        ])
    );
    let (id, parents, author) = setup.remote_commit(BRANCH);
    assert_eq!(id, commit);
    assert_eq!(parents, vec![setup.base]);
    assert_eq!(author, "agentci[bot]");
    // `main` is untouched.
    assert_eq!(setup.remote_commit("main").0, setup.base);
    assert_token_absent(&work.join(".git"));
    assert_token_absent(&setup.remote);
}

#[test]
fn a_rerun_updates_its_branch_instead_of_failing() {
    let setup = setup();
    let first_clone = setup.clone("first");
    write(&first_clone, "src/app.py", "print('attempt 1')\n");
    let first = LocalRepository::discover(&first_clone).unwrap();
    first.prepare_branch(BRANCH, "main").unwrap();
    let first_commit = first
        .commit(
            &Changes {
                changed: vec!["src/app.py".into()],
                deleted: Vec::new(),
            },
            "attempt 1",
            &BotIdentity::default(),
        )
        .unwrap();
    first.push("origin", BRANCH, None, None).unwrap();

    // A second run starts from a fresh clone that knows nothing of the branch.
    let second_clone = setup.clone("second");
    write(&second_clone, "src/app.py", "print('attempt 2')\n");
    std::fs::remove_file(second_clone.join("old.txt")).unwrap();
    let second = LocalRepository::discover(&second_clone).unwrap();
    second.prepare_branch(BRANCH, "main").unwrap();
    let identity = BotIdentity {
        name: "custom-bot".into(),
        email: "custom@example.com".into(),
    };
    let second_commit = second
        .commit(
            &Changes {
                changed: vec!["src/app.py".into()],
                deleted: vec!["old.txt".into()],
            },
            "attempt 2",
            &identity,
        )
        .unwrap();
    let outcome = second.push("origin", BRANCH, None, None).unwrap();
    assert_eq!(outcome.replaced, Some(first_commit.to_string()));
    let (id, parents, author) = setup.remote_commit(BRANCH);
    assert_eq!(id, second_commit);
    assert_eq!(
        parents,
        vec![setup.base],
        "rebuilt from the base, not stacked"
    );
    assert_eq!(author, "custom-bot");
    assert_eq!(
        setup.remote_files(BRANCH),
        files(&[
            ("README.md", "# project\n"),
            ("src/app.py", "print('attempt 2')\n"),
        ])
    );

    // The first clone leased the branch at its own commit; the second run moved it since, so a
    // third push from the first clone must not overwrite that.
    write(&first_clone, "src/app.py", "print('attempt 3')\n");
    first.prepare_branch(BRANCH, "main").unwrap();
    first
        .commit(
            &Changes {
                changed: vec!["src/app.py".into()],
                deleted: Vec::new(),
            },
            "attempt 3",
            &BotIdentity::default(),
        )
        .unwrap();
    let error = first.push("origin", BRANCH, None, None).unwrap_err();
    assert!(matches!(error, GitHubError::Git(_)), "{error}");
    assert!(error.to_string().contains("moved"), "{error}");
    assert_eq!(setup.remote_commit(BRANCH).0, second_commit);
    // With the lease given explicitly (the caller knows what it replaces), it goes through.
    let outcome = first
        .push("origin", BRANCH, None, Some(second_commit))
        .unwrap();
    assert_eq!(outcome.replaced, Some(second_commit.to_string()));
}

#[test]
fn bad_changes_are_refused() {
    let setup = setup();
    let work = setup.clone("work");
    let repository = LocalRepository::discover(&work).unwrap();
    repository.prepare_branch(BRANCH, "main").unwrap();
    let identity = BotIdentity::default();
    let cases = [
        (vec!["missing.py"], vec![], "is not a file"),
        (vec![], vec!["README.md"], "still exists"),
        (vec!["../outside.txt"], vec![], "not a path inside"),
        (vec!["README.md"], vec![], "nothing to commit"),
        (vec![], vec![], "nothing to commit"),
    ];
    for (changed, deleted, expected) in cases {
        let changes = Changes {
            changed: changed.into_iter().map(PathBuf::from).collect(),
            deleted: deleted.into_iter().map(PathBuf::from).collect(),
        };
        let error = repository
            .commit(&changes, "x", &identity)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error} should say {expected}");
    }
    let error = repository.prepare_branch("bad..name", "main").unwrap_err();
    assert!(
        error.to_string().contains("not a valid branch name"),
        "{error}"
    );
    let error = repository
        .prepare_branch(BRANCH, "no-such-base")
        .unwrap_err();
    assert!(error.to_string().contains("no-such-base"), "{error}");
}

/// A remote that demands credentials and rejects them: the token is sent once, as
/// `x-access-token`, and the push fails instead of asking again.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_is_sent_once_and_fails() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Basic realm=\"GitHub\""),
        )
        .mount(&server)
        .await;

    let setup = setup();
    let work = setup.clone("work");
    write(&work, "src/app.py", "print('fixed')\n");
    let url = format!("{}/acme/app.git", server.uri());
    let result = tokio::task::spawn_blocking(move || {
        let repository = LocalRepository::discover(&work).unwrap();
        repository.repository().remote("github", &url).unwrap();
        repository.prepare_branch(BRANCH, "main").unwrap();
        repository
            .commit(
                &Changes {
                    changed: vec!["src/app.py".into()],
                    deleted: Vec::new(),
                },
                "fix",
                &BotIdentity::default(),
            )
            .unwrap();
        let token = token();
        let result = repository.push("github", BRANCH, Some(&token), None);
        assert_token_absent(&work.join(".git"));
        let config = std::fs::read_to_string(work.join(".git/config")).unwrap();
        assert!(config.contains(&format!("url = {url}")), "{config}");
        result
    })
    .await
    .unwrap();
    let error = result.unwrap_err();
    assert!(matches!(error, GitHubError::Auth(_)), "{error}");
    assert!(!error.to_string().contains(TOKEN));

    let requests = server.received_requests().await.unwrap();
    let authorizations: Vec<String> = requests
        .iter()
        .filter_map(|request| request.headers.get("authorization"))
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let expected = format!("Basic {}", base64(&format!("x-access-token:{TOKEN}")));
    assert_eq!(authorizations, vec![expected]);
    assert!(
        requests
            .iter()
            .all(|request| request.url.query() == Some("service=git-receive-pack")),
        "{:?}",
        requests
            .iter()
            .map(|r| r.url.to_string())
            .collect::<Vec<_>>()
    );
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut output = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                output.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                output.push('=');
            }
        }
    }
    output
}
