//! The real binary: `--help`, `doctor` under a matrix of environments, shell completions, and
//! the guarantee that secrets never reach the log output.

use std::path::Path;

use assert_cmd::Command;

/// The binary in `dir`, with exactly `variables` as its environment.
pub fn agentci(dir: &Path, variables: &[(&str, &str)]) -> Command {
    let mut command = Command::cargo_bin("agentci").unwrap();
    command.current_dir(dir).env_clear();
    for (name, value) in variables {
        command.env(name, value);
    }
    command
}

/// Exit code, stdout and stderr in one text, with the temp directory replaced.
pub fn transcript(output: &std::process::Output, dir: &Path) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    text.replace(&dir.display().to_string(), "[DIR]")
}

#[test]
fn help_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let output = agentci(dir.path(), &[]).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        !help.contains("mcp-test-server"),
        "the test server is hidden"
    );
    insta::assert_snapshot!("help", help);
}

#[test]
fn doctor_help_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let output = agentci(dir.path(), &[])
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!("doctor_help", String::from_utf8(output.stdout).unwrap());
}

/// One row of the doctor matrix: a name, the variables, an optional `agentci.toml`, extra args.
struct Case {
    name: &'static str,
    variables: &'static [(&'static str, &'static str)],
    config: Option<&'static str>,
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "nothing_set",
        variables: &[],
        config: None,
        args: &[],
    },
    Case {
        name: "openai_alone",
        variables: &[("OPENAI_API_KEY", "test-openai-key-000001")],
        config: None,
        args: &[],
    },
    Case {
        name: "anthropic_alone",
        variables: &[("ANTHROPIC_API_KEY", "test-anthropic-key-000001")],
        config: None,
        args: &[],
    },
    Case {
        name: "gemini_alone",
        variables: &[("GEMINI_API_KEY", "test-gemini-key-000001")],
        config: None,
        args: &[],
    },
    Case {
        name: "mistral_alone",
        variables: &[("MISTRAL_API_KEY", "test-mistral-key-000001")],
        config: None,
        args: &[],
    },
    Case {
        name: "deepseek_alone",
        variables: &[("DEEPSEEK_API_KEY", "test-deepseek-key-000001")],
        config: None,
        args: &[],
    },
    Case {
        name: "ollama_host_without_scheme",
        variables: &[
            ("OLLAMA_HOST", "gpu-box:11434"),
            ("OLLAMA_MODEL", "llama3.1:8b"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "several_keys_first_in_order_wins",
        variables: &[
            ("DEEPSEEK_API_KEY", "test-deepseek-key-000001"),
            ("GEMINI_API_KEY", "test-gemini-key-000001"),
            ("ANTHROPIC_API_KEY", "test-anthropic-key-000001"),
            ("OLLAMA_HOST", "http://localhost:11434"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "model_variable_routes_by_prefix",
        variables: &[
            ("OPENAI_API_KEY", "test-openai-key-000001"),
            ("GEMINI_API_KEY", "test-gemini-key-000001"),
            ("ANTHROPIC_MODEL", "gemini-2.5-pro"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "openai_model_outranks_anthropic_model",
        variables: &[
            ("ANTHROPIC_API_KEY", "test-anthropic-key-000001"),
            ("ANTHROPIC_MODEL", "claude-opus-4-5"),
            ("OPENAI_MODEL", "o4-mini"),
            ("OPENAI_API_KEY", "test-openai-key-000001"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "unknown_model_goes_to_compatible_server",
        variables: &[
            ("OPENAI_MODEL", "qwen2.5-coder-7b-instruct"),
            ("OPENAI_BASE_URL", "http://localhost:1234/v1/"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "unknown_model_without_base_url",
        variables: &[("OPENAI_MODEL", "qwen2.5-coder-7b-instruct")],
        config: None,
        args: &[],
    },
    Case {
        name: "azure",
        variables: &[
            ("OPENAI_API_KEY", "test-azure-key-000001"),
            ("OPENAI_BASE_URL", "https://acme.openai.azure.com"),
            ("OPENAI_AZURE_VERSION", "2024-10-21"),
            ("OPENAI_MODEL", "gpt-4o"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "config_file_overrides_environment",
        variables: &[("OPENAI_API_KEY", "test-openai-key-000001")],
        config: Some(
            "[provider]\nname = \"mistral\"\nmodel = \"codestral-latest\"\n\n[mcp.files]\ncommand = \"mcp-files\"\n",
        ),
        args: &[],
    },
    Case {
        name: "provider_flag_overrides_config",
        variables: &[
            ("OPENAI_API_KEY", "test-openai-key-000001"),
            ("ANTHROPIC_API_KEY", "test-anthropic-key-000001"),
        ],
        config: Some("[provider]\nname = \"openai\"\nmodel = \"gpt-4.1-mini\"\n"),
        args: &["--provider", "anthropic"],
    },
    Case {
        name: "model_flag_routes_by_prefix",
        variables: &[("ANTHROPIC_API_KEY", "test-anthropic-key-000001")],
        config: None,
        args: &["--model", "claude-haiku-4-5"],
    },
    Case {
        name: "agentci_provider_variable",
        variables: &[
            ("AGENTCI_PROVIDER", "ollama"),
            ("OPENAI_API_KEY", "test-openai-key-000001"),
        ],
        config: None,
        args: &[],
    },
    Case {
        name: "provider_chosen_without_its_key",
        variables: &[],
        config: None,
        args: &["--provider", "gemini"],
    },
    Case {
        name: "github_actions_context",
        variables: &[
            ("ANTHROPIC_API_KEY", "test-anthropic-key-000001"),
            ("GITHUB_TOKEN", "test-github-token-000001"),
            ("GITHUB_API_URL", "https://github.example.com/api/v3"),
            ("GITHUB_REPOSITORY", "acme/backend"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            (
                "GITHUB_EVENT_PATH",
                "/home/runner/work/_temp/_github_workflow/event.json",
            ),
        ],
        config: None,
        args: &[],
    },
];

#[test]
fn doctor_matrix() {
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        if let Some(config) = case.config {
            std::fs::write(dir.path().join("agentci.toml"), config).unwrap();
        }
        let output = agentci(dir.path(), case.variables)
            .arg("doctor")
            .args(case.args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", case.name);
        let text = transcript(&output, dir.path());
        for (name, value) in case.variables {
            if name.ends_with("_KEY") || name.ends_with("_TOKEN") {
                assert!(!text.contains(value), "{}: {name} leaked", case.name);
            }
        }
        insta::assert_snapshot!(format!("doctor_{}", case.name), text);
    }
}

#[test]
fn doctor_json_has_the_same_facts() {
    let dir = tempfile::tempdir().unwrap();
    let output = agentci(
        dir.path(),
        &[
            ("GEMINI_API_KEY", "test-gemini-key-000001"),
            ("GITHUB_REPOSITORY", "acme/backend"),
        ],
    )
    .args(["doctor", "--json"])
    .output()
    .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["provider"]["name"], "gemini");
    assert_eq!(report["provider"]["key_variable"], "GEMINI_API_KEY");
    assert_eq!(report["provider"]["key_present"], true);
    assert_eq!(report["github"]["GITHUB_REPOSITORY"], "acme/backend");
    insta::assert_json_snapshot!("doctor_json_gemini", report);

    let output = agentci(dir.path(), &[])
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["provider"].is_null());
    assert!(
        report["problem"]
            .as_str()
            .unwrap()
            .contains("ANTHROPIC_API_KEY")
    );
}

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, start) in [
        ("bash", "_agentci()"),
        ("zsh", "#compdef agentci"),
        ("fish", "# Print an optspec for argparse"),
        ("powershell", "using namespace System.Management.Automation"),
    ] {
        let output = agentci(dir.path(), &[])
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.trim_start().starts_with(start),
            "{shell}: {script:.80}"
        );
        assert!(
            script.contains("doctor"),
            "{shell} completes the doctor command"
        );
    }
    let output = agentci(dir.path(), &[])
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn secrets_never_reach_verbose_logs() {
    let dir = tempfile::tempdir().unwrap();
    let environment_key = "planted-environment-key-7f3a9c21";
    let config_secret = "planted-config-secret-44b8e0d1";
    std::fs::write(
        dir.path().join("agentci.toml"),
        format!(
            "[mcp.remote]\nurl = \"https://mcp.example.com/mcp\"\n\
             headers = {{ Authorization = \"Bearer {config_secret}\" }}\n"
        ),
    )
    .unwrap();
    for args in [&["-vvv", "doctor"][..], &["-vvv", "doctor", "--json"][..]] {
        let output = agentci(dir.path(), &[("ANTHROPIC_API_KEY", environment_key)])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The trace log prints the parsed configuration, header values included: they must
        // arrive masked.
        assert!(stderr.contains("configuration:"), "{stderr}");
        assert!(stderr.contains("[REDACTED]"), "{stderr}");
        for secret in [environment_key, config_secret] {
            assert!(
                !stderr.contains(secret),
                "{secret} leaked into the log: {stderr}"
            );
            assert!(
                !stdout.contains(secret),
                "{secret} leaked into stdout: {stdout}"
            );
        }
    }
}

#[test]
fn every_long_input_reads_stdin_for_dash_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["daggie", "debug", "--error-output", "-"], "error output"),
        (&["daggie", "debug", "-"], "error output"),
        (
            &["daggie", "assist", "--assignment-file", "-"],
            "assignment",
        ),
        (
            &["monty", "suggest-fix", "--error-output", "-"],
            "failed check's output",
        ),
        (&["monty", "assist", "-"], "assignment"),
        (
            &["speck", "specify", "--prompt-file", "-"],
            "feature request",
        ),
        (&["goose", "troubleshoot", "--issue", "-"], "problem"),
    ];
    for (args, what) in cases {
        // Blank stdin: each command reads it, finds it empty, and stops before anything else.
        let output = agentci(dir.path(), &[])
            .args(args)
            .write_stdin(" \n")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("the {what} is empty")),
            "{args:?}: {stderr}"
        );
    }
}
