//! `agentci.toml`, `--config` and `.env` through the real binary: what is read, what wins, and
//! the exit code and message of every configuration error.

use crate::cli::{agentci, transcript};

#[test]
fn unknown_key_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentci.toml"),
        "[budget]\nmax_turns = 10\nmax_cost = 2.0\n",
    )
    .unwrap();
    let output = agentci(dir.path(), &[]).arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!("config_unknown_key", transcript(&output, dir.path()));
}

#[test]
fn explicit_config_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let output = agentci(dir.path(), &[])
        .args(["--config", "ci/agentci.toml", "doctor"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!("config_missing_explicit", transcript(&output, dir.path()));
}

#[test]
fn explicit_config_replaces_the_default_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentci.toml"),
        "[provider]\nname = \"gemini\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    std::fs::write(
        dir.path().join("ci/agentci.toml"),
        "[provider]\nname = \"deepseek\"\n",
    )
    .unwrap();
    let output = agentci(
        dir.path(),
        &[("DEEPSEEK_API_KEY", "test-deepseek-key-000001")],
    )
    .args(["--config", "ci/agentci.toml", "doctor", "--json"])
    .output()
    .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["provider"]["name"], "deepseek");
    assert!(
        report["config"]
            .as_str()
            .unwrap()
            .ends_with("ci/agentci.toml")
    );
}

#[test]
fn invalid_value_exits_2_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentci.toml"),
        "[mcp.files]\ncommand = \"x\"\nstartup_timeout = \"whenever\"\n",
    )
    .unwrap();
    let output = agentci(dir.path(), &[]).arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("startup_timeout"), "{stderr}");
    assert!(stderr.contains("whenever"), "{stderr}");
}

#[test]
fn dotenv_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# local development\nANTHROPIC_API_KEY=test-dotenv-key-000001\nANTHROPIC_MODEL=claude-haiku-4-5\n",
    )
    .unwrap();
    let output = agentci(dir.path(), &[])
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["provider"]["name"], "anthropic");
    assert_eq!(report["provider"]["model"], "claude-haiku-4-5");
    assert!(report["dotenv"].as_str().unwrap().ends_with(".env"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("test-dotenv-key"));

    let output = agentci(dir.path(), &[("ANTHROPIC_MODEL", "claude-opus-4-5")])
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["provider"]["model"], "claude-opus-4-5");
}

#[test]
fn malformed_dotenv_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "GOOD=1\nthis is not a pair\n").unwrap();
    let output = agentci(dir.path(), &[]).arg("doctor").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains(".env"));
}
