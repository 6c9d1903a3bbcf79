//! `install.sh` against a fake release served from a local HTTP server: archives built here, the
//! script run with `sh` (dash on Debian, so no bashisms), nothing from the network.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool the test needs: fail loudly when it is missing instead of skipping.
fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .expect("sh runs");
    assert!(
        found.status.success(),
        "this test needs `{tool}` on PATH (install it)"
    );
}

/// The release target `install.sh` picks on this machine.
fn this_target() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no release target for architecture {other}"),
    };
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("install.sh is not tested on {other}"),
    }
}

/// Serves the files under `root` over HTTP/1.0 on 127.0.0.1 (404 for anything missing) from a
/// background thread until the test process ends.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
                header.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let relative = path.trim_start_matches('/');
            let file = root.join(relative);
            let response = if !relative.contains("..") && file.is_file() {
                let body = std::fs::read(&file).unwrap();
                let mut head = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                head.extend(body);
                head
            } else {
                b"HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                    .to_vec()
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{address}")
}

/// A fake release `v<version>` under `root`: `agentci-<target>.tar.gz` holding a tiny script named
/// `agentci`, and its `.sha256` in `sha256sum` format. Returns the archive's path.
fn fake_release(root: &Path, version: &str, target: &str) -> PathBuf {
    let directory = root.join(format!("v{version}"));
    let staging = root.join(format!("staging-{version}"));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    let script = staging.join("agentci");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf 'agentci %s' '{version}'\nfor word in \"$@\"; do printf ' [%s]' \"$word\"; done\necho\n"
        ),
    )
    .unwrap();
    std::fs::write(staging.join("README.md"), "agentci\n").unwrap();
    make_executable(&script);
    let archive_name = format!("agentci-{target}.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(directory.join(&archive_name))
        .arg("-C")
        .arg(&staging)
        .args(["agentci", "README.md"])
        .status()
        .unwrap();
    assert!(status.success(), "tar failed");
    let sum = Command::new("sha256sum")
        .arg(&archive_name)
        .current_dir(&directory)
        .output()
        .unwrap();
    assert!(sum.status.success(), "sha256sum failed");
    std::fs::write(
        directory.join(format!("{archive_name}.sha256")),
        &sum.stdout,
    )
    .unwrap();
    directory.join(archive_name)
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Run `sh install.sh` with the given base URL, version and install directory.
fn install(base: &str, version: Option<&str>, install_dir: &Path, path: Option<&str>) -> Output {
    let mut command = Command::new("sh");
    command
        .arg(repository().join("install.sh"))
        .env("AGENTCI_DOWNLOAD_URL", base)
        .env("AGENTCI_INSTALL_DIR", install_dir)
        .env("HOME", install_dir.parent().unwrap())
        .env_remove("AGENTCI_VERSION");
    if let Some(version) = version {
        command.env("AGENTCI_VERSION", version);
    }
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn setup() -> (tempfile::TempDir, String, PathBuf) {
    for tool in ["sh", "tar", "sha256sum", "curl"] {
        require(tool);
    }
    let temp = tempfile::tempdir().unwrap();
    let releases = temp.path().join("releases");
    std::fs::create_dir_all(&releases).unwrap();
    let base = serve(releases);
    let install_dir = temp.path().join("home").join("bin");
    (temp, base, install_dir)
}

#[test]
fn install_sh_downloads_verifies_and_installs_a_binary_that_runs() {
    let (temp, base, install_dir) = setup();
    let releases = temp.path().join("releases");
    fake_release(&releases, "1.2.3", &this_target());

    let output = install(&base, Some("v1.2.3"), &install_dir, None);
    assert!(
        output.status.success(),
        "install failed: {}",
        stderr(&output)
    );
    let installed = install_dir.join("agentci");
    assert!(
        stderr(&output).contains(&format!("installed `{}`", installed.display())),
        "the installer says where: {}",
        stderr(&output)
    );
    let run = Command::new(&installed).output().unwrap();
    assert!(run.status.success());
    assert_eq!(String::from_utf8_lossy(&run.stdout), "agentci 1.2.3\n");

    // The version without the `v` works too, and replaces the installed binary.
    fake_release(&releases, "1.2.4", &this_target());
    let output = install(&base, Some("1.2.4"), &install_dir, None);
    assert!(output.status.success(), "{}", stderr(&output));
    let run = Command::new(&installed).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "agentci 1.2.4\n");
    let leftovers: Vec<_> = std::fs::read_dir(&install_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("agentci")]);
}

#[test]
fn install_sh_without_a_version_takes_the_latest_directory() {
    let (temp, base, install_dir) = setup();
    let releases = temp.path().join("releases");
    let archive = fake_release(&releases, "2.0.0", &this_target());
    std::fs::rename(archive.parent().unwrap(), releases.join("latest")).unwrap();

    let output = install(&base, None, &install_dir, None);
    assert!(output.status.success(), "{}", stderr(&output));
    let run = Command::new(install_dir.join("agentci")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "agentci 2.0.0\n");
}

#[test]
fn install_sh_refuses_a_tampered_archive_and_installs_nothing() {
    let (temp, base, install_dir) = setup();
    let archive = fake_release(&temp.path().join("releases"), "1.2.3", &this_target());
    // Replace the archive with another valid archive: only the checksum can tell.
    let other = fake_release(&temp.path().join("other"), "6.6.6", &this_target());
    std::fs::copy(&other, &archive).unwrap();

    let output = install(&base, Some("1.2.3"), &install_dir, None);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(message.contains("nothing was installed"), "{message}");
    assert!(!install_dir.join("agentci").exists());
}

#[test]
fn install_sh_refuses_an_archive_without_its_checksum() {
    let (temp, base, install_dir) = setup();
    let archive = fake_release(&temp.path().join("releases"), "1.2.3", &this_target());
    std::fs::remove_file(format!("{}.sha256", archive.display())).unwrap();

    let output = install(&base, Some("1.2.3"), &install_dir, None);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("refusing to install an unverified archive"),
        "{}",
        stderr(&output)
    );
    assert!(!install_dir.join("agentci").exists());
}

#[test]
fn install_sh_fails_clearly_for_an_unknown_version() {
    let (temp, base, install_dir) = setup();
    fake_release(&temp.path().join("releases"), "1.2.3", &this_target());

    let output = install(&base, Some("9.9.9"), &install_dir, None);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("no agentci v9.9.9 for `{}`", this_target())),
        "{message}"
    );
    assert!(!install_dir.exists() || !install_dir.join("agentci").exists());
}

#[test]
fn install_sh_fails_clearly_on_an_unknown_platform() {
    let (temp, base, install_dir) = setup();
    fake_release(&temp.path().join("releases"), "1.2.3", &this_target());
    // A `uname` that reports a platform no release exists for, first on PATH.
    let fake_bin = temp.path().join("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let uname = fake_bin.join("uname");
    std::fs::write(
        &uname,
        "#!/bin/sh\ncase \"$1\" in -s) echo SunOS ;; -m) echo sparc64 ;; esac\n",
    )
    .unwrap();
    make_executable(&uname);
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let output = install(&base, Some("1.2.3"), &install_dir, Some(&path));
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("unsupported CPU architecture `sparc64`"),
        "{}",
        stderr(&output)
    );
    assert!(!install_dir.join("agentci").exists());
}

#[test]
fn install_sh_downloads_from_the_repository_named_in_cargo_toml() {
    let manifest = std::fs::read_to_string(repository().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let url = manifest["package"]["repository"].as_str().unwrap();
    let slug = url.strip_prefix("https://github.com/").unwrap();
    let script = std::fs::read_to_string(repository().join("install.sh")).unwrap();
    assert!(
        script.contains(&format!("\nAGENTCI_REPOSITORY=\"{slug}\"\n")),
        "install.sh's AGENTCI_REPOSITORY must be `{slug}` (Cargo.toml's repository)"
    );
    let action = std::fs::read_to_string(repository().join("action.yml")).unwrap();
    assert!(
        action.contains(&format!("AGENTCI_REPOSITORY: {slug}")),
        "action.yml's AGENTCI_REPOSITORY must be `{slug}`"
    );
}

/// `action.yml`'s steps, parsed.
fn action() -> serde_json::Value {
    let text = std::fs::read_to_string(repository().join("action.yml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

fn action_step(action: &serde_json::Value, name_prefix: &str) -> serde_json::Value {
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| {
            step["name"]
                .as_str()
                .is_some_and(|name| name.starts_with(name_prefix))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no step `{name_prefix}…` in action.yml"))
}

#[test]
fn the_action_is_composite_never_compiles_and_maps_every_documented_output() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let outputs = action["outputs"].as_object().unwrap();
    let expected = [
        "changed",
        "files",
        "failures",
        "suggestions",
        "published",
        "review_url",
        "total_tasks",
        "phases",
        "plan_file",
    ];
    assert_eq!(outputs.len(), expected.len());
    for name in expected {
        assert_eq!(
            outputs[name]["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "output `{name}`"
        );
    }
    for input in [
        "version",
        "command",
        "args",
        "github-token",
        "working-directory",
    ] {
        assert!(action["inputs"].get(input).is_some(), "input `{input}`");
    }
    assert_eq!(
        action["inputs"]["github-token"]["default"],
        "${{ github.token }}"
    );
    for step in action["runs"]["steps"].as_array().unwrap() {
        let script = step["run"].as_str().unwrap_or_default();
        assert!(!script.contains("cargo"), "a step compiles: {script}");
    }
}

/// The action's two scripts, run with bash as the runner would: the install step fills the tool
/// cache from the (fake) release and reuses it; the run step passes the inputs as words.
#[test]
fn the_action_installs_into_the_tool_cache_once_and_runs_the_command() {
    require("bash");
    require("xargs");
    let (temp, base, _) = setup();
    let releases = temp.path().join("releases");
    fake_release(&releases, "1.2.3", &this_target());
    let action = action();
    let install_step = action_step(&action, "Install");
    let script = install_step["run"].as_str().unwrap();
    let repository_slug = install_step["env"]["AGENTCI_REPOSITORY"].as_str().unwrap();
    let tool_cache = temp.path().join("tool-cache");
    let github_path = temp.path().join("github-path");
    let install = || {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            // No version input: the action's own tag decides.
            .env("INPUT_VERSION", "")
            .env("ACTION_REF", "v1.2.3")
            .env("AGENTCI_REPOSITORY", repository_slug)
            .env("AGENTCI_DOWNLOAD_URL", &base)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", &tool_cache)
            .env("GITHUB_ACTION_PATH", repository())
            .env("GITHUB_PATH", &github_path)
            .env("HOME", temp.path())
            .output()
            .unwrap()
    };
    let first = install();
    assert!(first.status.success(), "{}", stderr(&first));
    let directory = tool_cache.join("agentci").join("1.2.3").join("X64");
    assert!(directory.join("agentci").is_file());
    assert_eq!(
        std::fs::read_to_string(&github_path).unwrap(),
        format!("{}\n", directory.display())
    );
    // The release disappears: the second run still works, from the cache.
    std::fs::remove_dir_all(releases.join("v1.2.3")).unwrap();
    let second = install();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("from the tool cache"),
        "{second:?}"
    );

    let run_step = action_step(&action, "agentci");
    let output = Command::new("bash")
        .arg("-c")
        .arg(run_step["run"].as_str().unwrap())
        .env("INPUT_COMMAND", "monty suggest-fix")
        .env(
            "INPUT_ARGS",
            "--error-file \"my log.txt\" --source './back end' $HOME",
        )
        .env(
            "PATH",
            format!(
                "{}:{}",
                directory.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "agentci 1.2.3 [monty] [suggest-fix] [--error-file] [my log.txt] [--source] [./back end] [$HOME]\n"
    );
}
