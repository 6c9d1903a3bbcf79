//! Git source references as users write them: URLs, scp-like remotes, Dagger's module-ref form,
//! with a subpath and a ref.

use std::path::Path;

/// Hosts whose repositories are always `host/owner/repo`, so everything after is a subpath.
const OWNER_REPO_HOSTS: &[&str] = &["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"];

/// A git repository holding Dagger modules, as a user wrote it on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// What is handed to git: `https://github.com/acme/dagger-modules`, `git@host:o/r.git`,
    /// `file:///srv/modules.git`.
    pub clone_url: String,
    /// The repository without scheme, user or `.git`: `github.com/acme/dagger-modules`.
    pub repository: String,
    /// A directory inside the repository to scan instead of its root.
    pub subpath: Option<String>,
    /// A version (`v1.2.0`), tag, branch or commit the user asked for.
    pub requested_ref: Option<String>,
}

/// Recognise a git source; `None` means the text is a local directory (or nothing git knows).
///
/// Accepted: `https://github.com/o/r[.git]`, `http://…`, `github.com/o/r[/subpath][@ref]`,
/// `url#ref[:subpath]`, `git@host:o/r.git`, `ssh://[user@]host/o/r.git`, `file:///abs/repo.git`.
pub fn parse_source(text: &str) -> Option<GitSource> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    // `url#ref[:subpath]` (the form Dagger uses for directory arguments).
    let (text, fragment) = match text.split_once('#') {
        Some((url, fragment)) => (url, Some(fragment)),
        None => (text, None),
    };
    let (fragment_ref, fragment_subpath) = match fragment {
        Some(fragment) => match fragment.split_once(':') {
            Some((reference, subpath)) => (non_empty(reference), non_empty(subpath)),
            None => (non_empty(fragment), None),
        },
        None => (None, None),
    };

    let parsed = if let Some((scheme, rest)) = text.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "https" | "http" | "ssh" | "git" => parse_remote(&scheme, rest)?,
            "file" => parse_file(rest)?,
            _ => return None,
        }
    } else if let Some(parsed) = parse_scp_like(text) {
        parsed
    } else {
        parse_schemeless(text)?
    };

    let subpath = fragment_subpath
        .map(normalise_subpath)
        .or(parsed.subpath)
        .filter(|subpath| !subpath.is_empty());
    let requested_ref = fragment_ref.or(parsed.requested_ref);
    Some(GitSource {
        clone_url: parsed.clone_url,
        repository: parsed.repository,
        subpath,
        requested_ref,
    })
}

struct Parsed {
    clone_url: String,
    repository: String,
    subpath: Option<String>,
    requested_ref: Option<String>,
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn normalise_subpath(text: String) -> String {
    text.trim_matches('/').to_owned()
}

/// `host[:port]/path` after a network scheme, with an optional `user[:password]@` in front.
fn parse_remote(scheme: &str, rest: &str) -> Option<Parsed> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    if host_port.is_empty() {
        return None;
    }
    let host = host_port.split(':').next().unwrap_or(host_port);
    let split = split_repository_path(host, path)?;
    // Credentials in a URL would end up in `.git/config` of the cache; keep only a user name.
    let user = userinfo.map(|info| info.split(':').next().unwrap_or(info));
    let authority = match user {
        Some(user) if !user.is_empty() => format!("{user}@{host_port}"),
        _ => host_port.to_owned(),
    };
    let clone_url = format!("{scheme}://{authority}/{}", split.clone_path);
    Some(split.on_host(host, clone_url))
}

/// Whether `text` is an scp-like remote (`git@host:owner/repo.git`).
pub(super) fn is_scp_like(text: &str) -> bool {
    parse_scp_like(text).is_some()
}

/// `git@host:owner/repo.git` (scp-like syntax, no scheme).
fn parse_scp_like(text: &str) -> Option<Parsed> {
    let (user, rest) = text.split_once('@')?;
    let (host, path) = rest.split_once(':')?;
    if user.is_empty() || user.contains('/') || host.is_empty() || host.contains('/') {
        return None;
    }
    let split = split_repository_path(host, path)?;
    let clone_url = format!("{user}@{host}:{}", split.clone_path);
    Some(split.on_host(host, clone_url))
}

/// `github.com/owner/repo[/subpath][@ref]`: the Dagger module-ref form, cloned over https.
fn parse_schemeless(text: &str) -> Option<Parsed> {
    if text.starts_with(['.', '/', '~', '\\']) {
        return None;
    }
    let (host, path) = text.split_once('/')?;
    // A host has a dot and no path-like oddities; `src/modules` is a relative directory.
    if !host.contains('.') || host.contains(['\\', '@', ':']) {
        return None;
    }
    // An existing directory with that name is the user's local directory, not a host.
    if Path::new(text).is_dir() {
        return None;
    }
    let split = split_repository_path(host, path)?;
    let clone_url = format!("https://{host}/{}", split.clone_path);
    Some(split.on_host(host, clone_url))
}

/// `file:///abs/path/repo.git[/subpath]`. The repository name is the path itself.
fn parse_file(rest: &str) -> Option<Parsed> {
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    // Paths may hold `@`, so a file URL takes its ref only from `#ref`; a `.git` segment marks
    // the end of the repository when a subpath follows.
    let (repository_path, subpath) = match trimmed.find(".git/") {
        Some(index) => (&trimmed[..index + 4], Some(trimmed[index + 5..].to_owned())),
        None => (trimmed, None),
    };
    if repository_path.is_empty() {
        return None;
    }
    Some(Parsed {
        clone_url: format!("file://{repository_path}"),
        repository: repository_path
            .strip_suffix(".git")
            .unwrap_or(repository_path)
            .to_owned(),
        subpath: subpath.map(normalise_subpath),
        requested_ref: None,
    })
}

struct SplitPath {
    /// The repository part as the clone URL spells it (keeps a `.git` the user wrote).
    clone_path: String,
    /// The repository part without `.git`.
    repository_path: String,
    subpath: Option<String>,
    requested_ref: Option<String>,
}

impl SplitPath {
    /// The source this path names on a network `host`, cloned from `clone_url`.
    fn on_host(self, host: &str, clone_url: String) -> Parsed {
        Parsed {
            clone_url,
            repository: format!("{}/{}", host.to_ascii_lowercase(), self.repository_path),
            subpath: self.subpath,
            requested_ref: self.requested_ref,
        }
    }
}

/// Split `owner/repo[.git][/subpath][@ref]` into its parts.
fn split_repository_path(host: &str, path: &str) -> Option<SplitPath> {
    let path = path.trim_matches('/');
    let (path, requested_ref) = match path.rsplit_once('@') {
        Some((path, reference)) => (path, non_empty(reference)),
        None => (path, None),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Where the repository ends: after a segment ending in `.git`, else after owner/repo on the
    // well-known hosts, else the whole path (a self-hosted server with nested groups).
    let repository_len = match segments.iter().position(|s| s.ends_with(".git")) {
        Some(index) => index + 1,
        None if OWNER_REPO_HOSTS.contains(&host.to_ascii_lowercase().as_str()) => 2,
        None => segments.len(),
    };
    if segments.len() < repository_len || repository_len < 2 {
        return None;
    }
    let clone_path = segments[..repository_len].join("/");
    let repository_path = clone_path
        .strip_suffix(".git")
        .unwrap_or(&clone_path)
        .to_owned();
    let subpath = non_empty(&segments[repository_len..].join("/"));
    Some(SplitPath {
        clone_path,
        repository_path,
        subpath,
        requested_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> GitSource {
        parse_source(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn https_urls_with_and_without_dot_git() {
        let source = parsed("https://github.com/acme/dagger-modules.git");
        assert_eq!(
            source.clone_url,
            "https://github.com/acme/dagger-modules.git"
        );
        assert_eq!(source.repository, "github.com/acme/dagger-modules");
        assert_eq!(source.subpath, None);
        assert_eq!(source.requested_ref, None);

        let source = parsed("https://github.com/acme/dagger-modules");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("https://github.com/acme/dagger-modules/python@v1.2.0");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.subpath.as_deref(), Some("python"));
        assert_eq!(source.requested_ref.as_deref(), Some("v1.2.0"));
    }

    #[test]
    fn credentials_in_an_https_url_are_dropped() {
        let source = parsed("https://bot:ghp_secret@github.com/acme/mods.git");
        assert_eq!(source.clone_url, "https://bot@github.com/acme/mods.git");
        assert_eq!(source.repository, "github.com/acme/mods");
    }

    #[test]
    fn dagger_module_ref_form() {
        let source = parsed("github.com/acme/dagger-modules");
        assert_eq!(source.clone_url, "https://github.com/acme/dagger-modules");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("github.com/acme/dagger-modules/tools/python@python/v0.4.1");
        assert_eq!(source.subpath.as_deref(), Some("tools/python"));
        assert_eq!(source.requested_ref.as_deref(), Some("python/v0.4.1"));

        let source = parsed("github.com/acme/dagger-modules@main");
        assert_eq!(source.subpath, None);
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
    }

    #[test]
    fn fragment_form_gives_ref_and_subpath() {
        let source = parsed("https://github.com/acme/dagger-modules.git#v1.0.0:backend/");
        assert_eq!(
            source.clone_url,
            "https://github.com/acme/dagger-modules.git"
        );
        assert_eq!(source.requested_ref.as_deref(), Some("v1.0.0"));
        assert_eq!(source.subpath.as_deref(), Some("backend"));

        let source = parsed("https://github.com/acme/dagger-modules#main");
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
        assert_eq!(source.subpath, None);
    }

    #[test]
    fn scp_like_and_ssh_urls() {
        let source = parsed("git@github.com:acme/dagger-modules.git");
        assert_eq!(source.clone_url, "git@github.com:acme/dagger-modules.git");
        assert_eq!(source.repository, "github.com/acme/dagger-modules");

        let source = parsed("ssh://git@git.example.com:2222/platform/ci/modules.git/go@v2.0.0");
        assert_eq!(
            source.clone_url,
            "ssh://git@git.example.com:2222/platform/ci/modules.git"
        );
        assert_eq!(source.repository, "git.example.com/platform/ci/modules");
        assert_eq!(source.subpath.as_deref(), Some("go"));
        assert_eq!(source.requested_ref.as_deref(), Some("v2.0.0"));
    }

    #[test]
    fn self_hosted_without_dot_git_keeps_the_whole_path() {
        let source = parsed("https://git.example.com/group/sub/modules");
        assert_eq!(source.repository, "git.example.com/group/sub/modules");
        assert_eq!(source.subpath, None);
    }

    #[test]
    fn file_urls() {
        let source = parsed("file:///srv/git/modules.git");
        assert_eq!(source.clone_url, "file:///srv/git/modules.git");
        assert_eq!(source.repository, "/srv/git/modules");

        let source = parsed("file:///srv/git/modules.git/mod-a#mod-a/v1.2.0");
        assert_eq!(source.clone_url, "file:///srv/git/modules.git");
        assert_eq!(source.subpath.as_deref(), Some("mod-a"));
        assert_eq!(source.requested_ref.as_deref(), Some("mod-a/v1.2.0"));

        let source = parsed("file:///srv/repo#main:mod-b");
        assert_eq!(source.clone_url, "file:///srv/repo");
        assert_eq!(source.subpath.as_deref(), Some("mod-b"));
        assert_eq!(source.requested_ref.as_deref(), Some("main"));
    }

    #[test]
    fn local_directories_are_not_git_sources() {
        for text in [
            "./local-modules",
            "local-modules",
            "/abs/modules",
            "src/modules",
            "..",
            "",
            "ftp://x/y/z",
        ] {
            assert_eq!(parse_source(text), None, "{text}");
        }
        let directory = tempfile::tempdir().unwrap();
        let looks_remote = directory.path().join("example.com").join("o").join("r");
        std::fs::create_dir_all(&looks_remote).unwrap();
        // An absolute path is local even when its segments look like `host/owner/repo`.
        assert_eq!(parse_source(&looks_remote.to_string_lossy()), None);
    }

    #[test]
    fn incomplete_repository_paths_are_rejected() {
        assert_eq!(parse_source("https://github.com/acme"), None);
        assert_eq!(parse_source("github.com/acme"), None);
    }
}
