//! Context files: what a repository tells its agents (CONTRACTS §6). The agent's own file,
//! `AGENTS.md` (else `AGENT.md`, else `CLAUDE.md`) and per-agent extras, from the repository root
//! and from `--source`, each capped, appended to the system prompt under headings.

use std::path::{Path, PathBuf};

/// Per file: larger files are cut with a notice, so one huge file cannot crowd out the task.
pub const MAX_CONTEXT_BYTES: usize = 16 * 1024;

/// The text to pass to `Agent::context` ("" when no context file exists).
pub fn load_context(source: &Path, agent_file: &str, extras: &[&str]) -> String {
    let source = source
        .canonicalize()
        .unwrap_or_else(|_| source.to_path_buf());
    let root = source
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| source.clone());
    let mut directories = vec![root.clone()];
    if source != root {
        directories.push(source);
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut sections = Vec::new();
    for directory in &directories {
        let shared = ["AGENTS.md", "AGENT.md", "CLAUDE.md"]
            .iter()
            .map(|name| directory.join(name))
            .find(|path| path.is_file());
        let candidates = std::iter::once(directory.join(agent_file))
            .chain(shared)
            .chain(extras.iter().map(|name| directory.join(name)));
        for path in candidates {
            if !path.is_file() || seen.contains(&path) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            seen.push(path.clone());
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let mut body = text.trim_end().to_owned();
            if body.len() > MAX_CONTEXT_BYTES {
                let mut cut = MAX_CONTEXT_BYTES;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
                body.push_str(&format!("\n\n[… `{shown}` is longer than {MAX_CONTEXT_BYTES} bytes; the rest was left out. Read it with `read_file` if you need it.]"));
            }
            sections.push(format!("## Project context: `{shown}`\n\n{body}"));
        }
    }
    crate::redact::redact(&sections.join("\n\n")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_md_wins_over_claude_md_and_files_are_deduplicated_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::create_dir(dir.path().join("backend")).unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "shared rules").unwrap();
        std::fs::write(dir.path().join("CLAUDE.md"), "claude rules").unwrap();
        std::fs::write(
            dir.path().join("backend/MONTY.md"),
            "x".repeat(MAX_CONTEXT_BYTES + 10),
        )
        .unwrap();
        let text = load_context(&dir.path().join("backend"), "MONTY.md", &["DAGGER.md"]);
        assert!(
            text.contains("## Project context: `AGENTS.md`\n\nshared rules"),
            "{text}"
        );
        assert!(!text.contains("claude rules"));
        assert!(text.contains("## Project context: `backend/MONTY.md`"));
        assert!(text.contains("is longer than 16384 bytes"));
        assert_eq!(text.matches("shared rules").count(), 1);
        assert_eq!(
            load_context(&dir.path().join("backend"), "ANGIE.md", &[])
                .matches("## Project context")
                .count(),
            1
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(load_context(empty.path(), "MONTY.md", &[]), "");
    }
}
