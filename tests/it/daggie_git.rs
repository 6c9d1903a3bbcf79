//! daggie on the article's case with the library in git: a repository of three modules tagged
//! `<module>/v1.0.0`, served as a `file://` URL, gives one toolchain per module pinned to its tag,
//! a `source` customization per check pointing at `/backend` or `/frontend`, and the deploy
//! module's scan check following the backend. `modules scan` reads the same URL.

use std::path::Path;

use crate::cli::agentci;
use crate::scan_git::Remote;

fn copy(from: &Path, remote: &Remote, prefix: &str) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .flatten()
        .filter(|entry| entry.file_type().is_file())
    {
        let relative = entry
            .path()
            .strip_prefix(from)
            .unwrap()
            .display()
            .to_string();
        remote.write(
            &format!("{prefix}/{relative}"),
            &std::fs::read_to_string(entry.path()).unwrap(),
        );
    }
}

fn library() -> (Remote, String) {
    let remote = Remote::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan/acme");
    for module in ["acme-backend", "acme-frontend", "acme-deploy"] {
        copy(&fixtures.join(module), &remote, module);
    }
    let commit = remote.commit("modules");
    for module in ["acme-backend", "acme-frontend", "acme-deploy"] {
        remote.tag(&format!("{module}/v1.0.0"), commit);
    }
    (remote, commit.to_string())
}

fn monorepo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("backend")).unwrap();
    std::fs::write(
        dir.path().join("backend/pyproject.toml"),
        "[project]\nname = \"api\"\ndependencies = [\"fastapi\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("frontend")).unwrap();
    std::fs::write(
        dir.path().join("frontend/angular.json"),
        "{\"projects\": {}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("frontend/package.json"),
        "{\"name\": \"web\"}\n",
    )
    .unwrap();
    dir
}

#[test]
fn the_article_case_from_a_git_library() {
    let (remote, pin) = library();
    let project = monorepo();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().display().to_string();
    let output = agentci(project.path(), &[("XDG_CACHE_HOME", &cache_dir)])
        .args([
            "daggie",
            "assist",
            "--offline",
            "--source",
            ".",
            "--module-url",
            &remote.url,
            "--assignment",
            "Checks on PRs for backend and frontend; deploy on main.",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let start = stdout.find("+{").unwrap();
    let end = stdout[start..].find("\n+}").unwrap() + start + 3;
    let json: String = stdout[start..end]
        .lines()
        .map(|line| line.strip_prefix('+').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let config: serde_json::Value = serde_json::from_str(&json).unwrap();
    let toolchains = config["toolchains"].as_array().unwrap();
    let mut seen = Vec::new();
    for toolchain in toolchains {
        let name = toolchain["name"].as_str().unwrap();
        let source = toolchain["source"].as_str().unwrap();
        assert!(
            source.ends_with(&format!("/{name}@{name}/v1.0.0")),
            "{source}"
        );
        assert_eq!(toolchain["pin"], pin.as_str(), "{name}");
        for customization in toolchain["customizations"].as_array().unwrap() {
            assert_eq!(customization["argument"], "source");
            let function = customization["function"][0].as_str().unwrap().to_owned();
            seen.push((
                name.to_owned(),
                function,
                customization["defaultPath"].as_str().unwrap().to_owned(),
            ));
        }
    }
    seen.sort();
    let expected: Vec<(String, String, String)> = [
        ("acme-backend", "lint", "/backend"),
        ("acme-backend", "test", "/backend"),
        ("acme-deploy", "scan", "/backend"),
        ("acme-frontend", "audit", "/frontend"),
        ("acme-frontend", "lint", "/frontend"),
        ("acme-frontend", "test", "/frontend"),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(seen, expected);
}

#[test]
fn modules_scan_reads_a_git_url_and_reports_a_broken_one() {
    let (remote, pin) = library();
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().display().to_string();
    let missing = format!("{}-missing", remote.url);
    let output = agentci(project.path(), &[("XDG_CACHE_HOME", &cache_dir)])
        .args(["modules", "scan", &remote.url, &missing, "--json"])
        .output()
        .unwrap();
    // The broken library fails the command (exit 2, named); the good one is still reported.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&missing), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let backend = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == "acme-backend")
        .unwrap();
    assert_eq!(backend["version"], "v1.0.0");
    assert_eq!(backend["pin"], pin.as_str());
    assert_eq!(backend["checks"], serde_json::json!(["lint", "test"]));
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["source"], serde_json::json!(missing));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot fetch module library"),
        "{errors:?}"
    );
}

#[test]
fn an_unreachable_library_is_a_usage_error_and_nothing_is_written() {
    let project = monorepo();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().display().to_string();
    let output = agentci(project.path(), &[("XDG_CACHE_HOME", &cache_dir)])
        .args([
            "daggie",
            "assist",
            "--offline",
            "--source",
            ".",
            "--module-url",
            "file:///nonexistent/agentci-modules.git",
            "--assignment",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot fetch module library"));
    assert!(!project.path().join("dagger.json").exists());
    assert!(!project.path().join(".github").exists());
}
