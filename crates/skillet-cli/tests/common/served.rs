//! `skillet serve --http` in a test's world: its URL and token, and stopping it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::World;

/// `skillet serve --http` in the world, stopped when dropped.
pub struct Served {
    child: Child,
    /// Where MCP is served: `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// The bearer token it printed.
    pub token: String,
}

impl Served {
    /// Starts it on a free loopback port and waits until it says where and with which token.
    pub fn start(w: &World) -> Served {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(["serve", "--http", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut url, mut token) = (None, None);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("Authorization: Bearer ") {
                    let rest = &line[at + "Authorization: Bearer ".len()..];
                    token = rest.split('`').next().map(str::to_owned);
                }
                if let Some(at) = line.find("serving MCP on ") {
                    let rest = &line[at + "serving MCP on ".len()..];
                    url = rest.split(' ').next().map(str::to_owned);
                }
                if let (Some(u), Some(t)) = (&url, &token) {
                    let _ = tx.send((u.clone(), t.clone()));
                    url = None;
                }
            }
        });
        let (url, token) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server never said where it serves and with which token");
        Served { child, url, token }
    }
}

impl Served {
    /// Kills it with SIGKILL, as a crash or the OOM killer would: nothing is cleaned up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let _ = self.child.wait();
    }
}

impl Served {
    /// `http://127.0.0.1:PORT`, without `/mcp`.
    pub fn base(&self) -> &str {
        self.url.trim_end_matches("/mcp")
    }
}

/// One raw HTTP/1.1 request to `base` (`http://127.0.0.1:PORT`) with exactly `headers` (a test
/// sets `Host`, `Authorization` and `Origin` as it means to); (status, body).
pub fn raw_http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
