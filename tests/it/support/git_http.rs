//! A git smart-HTTP server on loopback: each request is handed to the real `git http-backend`
//! as a CGI program, so libgit2 talks to it as it talks to GitHub (protocol v0/v1 with its
//! `shallow` capability). It records what each upload-pack request asked for, and can drop the
//! `shallow` capability from the advertisement, as some self-hosted servers do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT`: a repository at `ROOT/a/b.git` is `URL/a/b.git`.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

/// What one request asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The body, as text (pkt-lines of an upload-pack request: `want`, `deepen`, `have`, …).
    pub body: String,
}

impl GitHttpServer {
    /// Serve the repositories under `root` until the test ends.
    pub fn start(root: &Path, without_shallow: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_owned();
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || serve(stream, &root, without_shallow, &recorded));
            }
        });
        Self { url, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The bodies of the upload-pack requests (one per fetch negotiation round).
    pub fn upload_packs(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|request| {
                request.method == "POST" && request.path.ends_with("/git-upload-pack")
            })
            .map(|request| request.body)
            .collect()
    }
}

fn serve(stream: TcpStream, root: &Path, without_shallow: bool, recorded: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    // Keep-alive: serve requests on this connection until the client closes it.
    while let Some((request, headers)) = read_request(&mut reader) {
        let (path, query) = request
            .path
            .split_once('?')
            .map(|(path, query)| (path.to_owned(), query.to_owned()))
            .unwrap_or_else(|| (request.path.clone(), String::new()));
        recorded.lock().unwrap().push(request.clone());
        let (status, content_type, mut body) = run_backend(root, &request, &path, &query, &headers);
        if without_shallow && path.ends_with("/info/refs") {
            body = drop_capability(&body, "shallow");
        }
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

type Headers = Vec<(String, String)>;

fn header<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// One request from the connection: its line, headers and body (`Content-Length` or chunked,
/// as libgit2 sends larger negotiation bodies).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Request, Headers)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    let mut headers = Headers::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut body = Vec::new();
    if header(&headers, "transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = header(&headers, "content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    }
    let request = Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    Some((request, headers))
}

/// Run `git http-backend` for one request; its status, content type and body.
fn run_backend(
    root: &Path,
    request: &Request,
    path: &str,
    query: &str,
    headers: &Headers,
) -> (String, String, Vec<u8>) {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env(
            "CONTENT_TYPE",
            header(headers, "content-type").unwrap_or_default(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(protocol) = header(headers, "git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command.spawn().expect("`git http-backend` runs");
    // The body was read as bytes and kept as text for the record; upload-pack requests are
    // pkt-lines of ASCII, so the round trip is exact.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let split = output
        .stdout
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| {
            output
                .stdout
                .windows(2)
                .position(|window| window == b"\n\n")
                .map(|at| (at, 2))
        })
        .expect("CGI headers");
    let head = String::from_utf8_lossy(&output.stdout[..split.0]).into_owned();
    let body = output.stdout[split.0 + split.1..].to_vec();
    let mut status = "200 OK".to_owned();
    let mut content_type = "text/plain".to_owned();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "status" => status = value.trim().to_owned(),
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    (status, content_type, body)
}

/// The ref advertisement with `capability` removed from the capability list of its first ref
/// line (after the NUL), each pkt-line's length prefix rewritten.
fn drop_capability(body: &[u8], capability: &str) -> Vec<u8> {
    let mut output = Vec::with_capacity(body.len());
    let mut rest = body;
    while rest.len() >= 4 {
        let length = usize::from_str_radix(std::str::from_utf8(&rest[..4]).unwrap(), 16).unwrap();
        if length < 4 {
            // A flush (`0000`) or delimiter packet.
            output.extend_from_slice(&rest[..4]);
            rest = &rest[4..];
            continue;
        }
        let payload = &rest[4..length];
        rest = &rest[length..];
        let payload = match payload.iter().position(|byte| *byte == 0) {
            Some(nul) => {
                let capabilities = String::from_utf8_lossy(&payload[nul + 1..]);
                let kept: Vec<&str> = capabilities
                    .trim_end_matches('\n')
                    .split(' ')
                    .filter(|word| *word != capability)
                    .collect();
                let mut line = payload[..=nul].to_vec();
                line.extend_from_slice(kept.join(" ").as_bytes());
                line.push(b'\n');
                line
            }
            None => payload.to_vec(),
        };
        output.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
        output.extend_from_slice(&payload);
    }
    output.extend_from_slice(rest);
    output
}

/// A bare copy of `repository`'s work tree repository at `ROOT/acme/modules.git`, served; and
/// the root to refresh it from.
pub fn publish(repository: &Path, root: &Path) -> PathBuf {
    let bare = root.join("acme/modules.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    let status = Command::new("git")
        .args(["clone", "--quiet", "--bare", "--no-local"])
        .arg(repository)
        .arg(&bare)
        .status()
        .unwrap();
    assert!(status.success(), "git clone --bare");
    bare
}

/// Push the work tree repository's branches and tags to the served bare copy again.
pub fn republish(repository: &Path, bare: &Path) {
    let status = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["push", "--quiet", "--force", "--tags"])
        .arg(bare)
        .arg("+refs/heads/*:refs/heads/*")
        .status()
        .unwrap();
    assert!(status.success(), "git push");
}
