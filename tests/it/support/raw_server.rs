//! A scripted HTTP/1.1 server on loopback for what wiremock cannot do: answers that never start,
//! streams that stall mid-way, bodies cut off. Each connection gets the next scripted reply;
//! Ollama's `/api/show` is answered 404 outside the script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One piece of a scripted reply.
#[derive(Debug, Clone)]
pub enum Part {
    Send(String),
    Pause(Duration),
    /// Send nothing more, keeping the connection open.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `false`: not even the status line is sent (the answer never starts).
    pub starts: bool,
    pub parts: Vec<Part>,
}

impl Reply {
    /// A 200 answer with `content_type` whose body is `parts`, ended by closing the connection.
    pub fn ok(content_type: &str, parts: Vec<Part>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            starts: true,
            parts,
        }
    }

    /// A whole 200 answer.
    pub fn body(content_type: &str, body: String) -> Self {
        Self::ok(content_type, vec![Part::Send(body)])
    }

    /// An error answer with a JSON body and extra headers.
    pub fn error(status: u16, body: String, headers: &[(&str, &str)]) -> Self {
        let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
        all.extend(
            headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        Self {
            status,
            headers: all,
            starts: true,
            parts: vec![Part::Send(body)],
        }
    }

    /// Accepts the request and never answers.
    pub fn never_starts() -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            starts: false,
            parts: vec![Part::Hang],
        }
    }
}

/// What the server saw of one scripted request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

pub struct RawServer {
    pub origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl RawServer {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (seen_by_server, script_of_server) = (Arc::clone(&seen), Arc::clone(&script));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let seen = Arc::clone(&seen_by_server);
                let script = Arc::clone(&script_of_server);
                tokio::spawn(serve(socket, seen, script));
            }
        });
        Self {
            origin,
            seen,
            script,
        }
    }

    /// The scripted requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many scripted replies were never asked for.
    pub fn unused(&self) -> usize {
        self.script.lock().unwrap().len()
    }
}

async fn serve(
    mut socket: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
) {
    let Some((path, body)) = read_request(&mut socket).await else {
        return;
    };
    if path.starts_with("/api/show") {
        let _ = socket
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    }
    seen.lock().unwrap().push(Seen {
        path,
        body,
        at: Instant::now(),
    });
    let reply = script.lock().unwrap().pop_front();
    let Some(reply) = reply else {
        let _ = socket
            .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"error\":{\"message\":\"the test script has no more replies\",\"type\":\"script\"}}")
            .await;
        return;
    };
    if reply.starts {
        let mut head = format!(
            "HTTP/1.1 {} Scripted\r\nconnection: close\r\n",
            reply.status
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
    for part in reply.parts {
        match part {
            Part::Send(text) => {
                if socket.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
            }
            Part::Pause(wait) => tokio::time::sleep(wait).await,
            Part::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        }
    }
    let _ = socket.shutdown().await;
}

/// The path and body of one request (`content-length` bodies only, as reqwest sends JSON).
async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let read = socket.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..read]);
        if let Some(end) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let read = socket.read(&mut buffer).await.ok()?;
        if read == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..read]);
    }
    Some((path, data[head_end..].to_vec()))
}
