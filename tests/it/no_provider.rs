//! With no provider configured, every command that needs a model exits 2 before doing anything,
//! with a message naming the variables to set.

use crate::cli::agentci;

#[test]
fn agent_commands_without_a_provider_exit_2_naming_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), "print('x')\n").unwrap();
    let commands: [&[&str]; 3] = [
        &["daggie", "explain", "--question", "Why?"],
        &["speck", "specify", "--prompt", "Add favorites"],
        &["daggie", "review"],
    ];
    for command in commands {
        let output = agentci(dir.path(), &[("PATH", "/usr/bin:/bin")])
            .args(command)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("no LLM provider configured: set one of OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY"), "{command:?}: {stderr}");
        assert!(stderr.contains("OLLAMA_HOST"), "{stderr}");
        assert!(output.stdout.is_empty(), "{command:?}");
    }
}
