//! `skillet serve --http`, spoken to over raw TCP as another local user, a browser page or a
//! broken client would: the bearer token is required by default (and kept in a 0600 file),
//! origins are compared with their port, bad bodies are 400 with a JSON-RPC error, `DELETE`
//! ends a session, and sessions are capped and ended when idle.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::World;
use common::mcp_http::{Answer, Server, http};
use serde_json::{Value, json};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn world() -> World {
    let w = World::new();
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo", "type": "code_inline",
               "command": "echo", "args": ["{word}"],
               "parameters": [{"name": "word", "type": "string", "required": true}]}),
    );
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    w
}

/// Opens an MCP session; its id.
fn open_session(addr: &str, auth: &[(&str, &str)]) -> String {
    let mut headers = vec![JSON];
    headers.extend_from_slice(auth);
    let answer = http(addr, "POST", &headers, INITIALIZE.as_bytes());
    assert_eq!(answer.status, 200, "{answer:?}");
    let id = answer
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("no session id: {answer:?}"));
    headers.push(("Mcp-Session-Id", &id));
    let initialized = http(
        addr,
        "POST",
        &headers,
        br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!(initialized.status, 202, "{initialized:?}");
    id
}

/// A `ping` in session `id`; the HTTP status.
fn ping(addr: &str, auth: &[(&str, &str)], id: &str) -> u16 {
    let mut headers = vec![JSON, ("Mcp-Session-Id", id)];
    headers.extend_from_slice(auth);
    http(
        addr,
        "POST",
        &headers,
        br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    )
    .status
}

/// Checks a refusal: its status, a JSON-RPC error body with an id member, and the code.
fn assert_refused(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{answer:?}"
    );
    let body: Value =
        serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("not JSON ({e}): {answer:?}"));
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body.as_object().unwrap().contains_key("id"), "{body}");
}

#[test]
fn a_token_is_made_printed_and_required_by_default() {
    let w = world();
    // A link planted where the token file goes must be replaced, not written through.
    let run = w.tmp.path().join("run/skillet");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let victim = w.tmp.path().join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    std::os::unix::fs::symlink(&victim, run.join("skillet.mcp-token")).unwrap();

    let server = Server::start(&w, "127.0.0.1:0", &[]);
    let token = server.token();
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    let file = run.join("skillet.mcp-token");
    let meta = std::fs::symlink_metadata(&file).unwrap();
    assert!(
        meta.is_file(),
        "the token file is a file, not the planted link"
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(server.stderr().contains(&file.display().to_string()));
    // The daemon serving HTTP never exits when idle, and `daemon status` says so in words.
    let (code, out, err) = w.run(&["daemon", "status"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("idle exit:     never"), "{out}");

    let addr = &server.addr;
    let wrong = format!("Bearer {}", "0".repeat(64));
    let longer = format!("Bearer {token}0");
    let shorter = format!("Bearer {}", &token[..63]);
    let basic = format!("Basic {token}");
    let bare = token.clone();
    for auth in [
        None,
        Some(&wrong),
        Some(&longer),
        Some(&shorter),
        Some(&basic),
        Some(&bare),
    ] {
        let mut headers = vec![JSON];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let answer = http(addr, "POST", &headers, INITIALIZE.as_bytes());
        assert_refused(&answer, 401, -32001);
        assert_eq!(answer.header("www-authenticate").as_deref(), Some("Bearer"));
        for method in ["GET", "DELETE"] {
            assert_eq!(
                http(addr, method, &headers, b"").status,
                401,
                "{method} {auth:?}"
            );
        }
    }
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme}  {token} ");
        let id = open_session(addr, &[("Authorization", &auth)]);
        assert_eq!(ping(addr, &[("Authorization", &auth)], &id), 200);
    }
}

#[test]
fn no_auth_is_an_explicit_opt_out_with_a_warning() {
    let w = world();
    let server = Server::start(&w, "127.0.0.1:0", &["--no-auth"]);
    assert!(
        server.stderr().contains("warning: --no-auth"),
        "{}",
        server.stderr()
    );
    assert!(!server.stderr().contains("Authorization: Bearer"));
    assert!(!w.tmp.path().join("run/skillet/skillet.mcp-token").exists());
    let id = open_session(&server.addr, &[]);
    assert_eq!(ping(&server.addr, &[], &id), 200);
    let (code, _, err) = w.run(&[
        "serve",
        "--http",
        "127.0.0.1:0",
        "--no-auth",
        "--auth-token",
        "0123456789abcdef0123",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_given_token_is_used_and_not_written_down() {
    let w = world();
    let token = "a-token-of-my-own-choosing";
    let server = Server::start(&w, "127.0.0.1:0", &["--auth-token", token]);
    assert!(!server.stderr().contains(token));
    assert!(!w.tmp.path().join("run/skillet/skillet.mcp-token").exists());
    let auth = format!("bearer {token}");
    open_session(&server.addr, &[("Authorization", &auth)]);
}

#[test]
fn origins_are_matched_with_their_port() {
    let w = world();
    let server = Server::start(
        &w,
        "127.0.0.1:0",
        &[
            "--no-auth",
            "--allow-origin",
            "http://localhost:8080",
            "--allow-origin",
            "https://app.example",
        ],
    );
    let port = server.port();
    let own_v4 = format!("http://127.0.0.1:{port}");
    let own_name = format!("http://localhost:{port}");
    let other_port = format!("http://localhost:{}", port.parse::<u16>().unwrap() ^ 1);
    for (origin, status) in [
        ("http://localhost:8080", 200),
        ("https://app.example", 200),
        ("https://app.example:443", 200),
        (own_v4.as_str(), 200),
        (own_name.as_str(), 200),
        ("http://localhost:9999", 403),
        ("http://localhost", 403),
        ("http://127.0.0.1:8080", 403),
        ("https://localhost:8080", 403),
        ("https://app.example:8443", 403),
        ("http://app.example", 403),
        (other_port.as_str(), 403),
        ("http://evil.example", 403),
        ("null", 403),
    ] {
        let answer = http(
            &server.addr,
            "POST",
            &[JSON, ("Origin", origin)],
            INITIALIZE.as_bytes(),
        );
        if status == 403 {
            assert_refused(&answer, 403, -32001);
        } else {
            assert_eq!(answer.status, status, "{origin}: {answer:?}");
        }
    }
    drop(server);
    let (code, _, err) = w.run(&[
        "serve",
        "--http",
        "127.0.0.1:0",
        "--allow-origin",
        "localhost:8080",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("is not an origin"), "{err}");
}

#[test]
fn http_takes_localhost_and_a_port() {
    let w = world();
    let server = Server::start(&w, "localhost:0", &["--no-auth"]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    let localhost = format!("localhost:{}", server.port());
    let answer = http(&localhost, "POST", &[JSON], INITIALIZE.as_bytes());
    assert_eq!(answer.status, 200, "{answer:?}");
    for bad in ["nowhere.example:80", "localhost", "localhost:http", ":80"] {
        let (code, _, err) = w.run(&["serve", "--http", bad]);
        assert_ne!(code, 0, "{bad}");
        assert!(err.contains("IP:PORT or localhost:PORT"), "{bad}: {err}");
    }
}

#[test]
fn bad_bodies_are_400_with_a_json_rpc_error() {
    let w = world();
    let server = Server::start(&w, "127.0.0.1:0", &[]);
    let token = format!("Bearer {}", server.token());
    let auth = ("Authorization", token.as_str());
    let nested = "[".repeat(100_000);
    let cases: Vec<(Vec<u8>, Option<&str>, i64)> = vec![
        (b"garbage".to_vec(), Some("application/json"), -32700),
        (b"{\"jsonrpc\":".to_vec(), Some("application/json"), -32700),
        (b"\xff\xfe".to_vec(), Some("application/json"), -32700),
        (nested.into_bytes(), Some("application/json"), -32700),
        (b"".to_vec(), Some("application/json"), -32700),
        (b"[]".to_vec(), Some("application/json"), -32600),
        (
            format!("[{INITIALIZE}]").into_bytes(),
            Some("application/json"),
            -32600,
        ),
        (b"7".to_vec(), Some("application/json"), -32600),
        (
            br#"{"id":1,"method":"initialize"}"#.to_vec(),
            Some("application/json"),
            -32600,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.to_vec(),
            Some("application/json"),
            -32602,
        ),
        (INITIALIZE.as_bytes().to_vec(), None, -32600),
        (INITIALIZE.as_bytes().to_vec(), Some("text/plain"), -32600),
        (
            INITIALIZE.as_bytes().to_vec(),
            Some("application/x-www-form-urlencoded"),
            -32600,
        ),
    ];
    for (body, content_type, code) in &cases {
        let mut headers = vec![auth];
        if let Some(t) = content_type {
            headers.push(("Content-Type", t));
        }
        let answer = http(&server.addr, "POST", &headers, body);
        assert_refused(&answer, 400, *code);
        if *code == -32700 {
            assert!(answer.json()["id"].is_null(), "{answer:?}");
        }
    }
    let huge = vec![b' '; 5 << 20];
    let answer = http(&server.addr, "POST", &[auth, JSON], &huge);
    assert_refused(&answer, 413, -32600);
    // A body that only says it is huge is refused at once, not waited for.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nAuthorization: {}\r\nContent-Length: 99999999999\r\n\r\n",
        server.addr, auth.1
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(
        &answer,
        b"HTTP/1.1 413",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // And the server still serves.
    open_session(&server.addr, &[auth]);
}

#[test]
fn delete_ends_a_session() {
    let w = world();
    let server = Server::start(&w, "127.0.0.1:0", &[]);
    let token = format!("Bearer {}", server.token());
    let auth = [("Authorization", token.as_str())];
    let id = open_session(&server.addr, &auth);
    assert_eq!(ping(&server.addr, &auth, &id), 200);
    let headers = [auth[0], ("Mcp-Session-Id", id.as_str())];
    let deleted = http(&server.addr, "DELETE", &headers, b"");
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_refused(&http(&server.addr, "DELETE", &headers, b""), 404, -32600);
    assert_eq!(ping(&server.addr, &auth, &id), 404);
}

#[test]
fn sessions_are_capped_and_idle_ones_make_room() {
    let w = world();
    let server = Server::start(&w, "127.0.0.1:0", &["--max-sessions", "3"]);
    let token = format!("Bearer {}", server.token());
    let auth = [("Authorization", token.as_str())];
    let ids: Vec<String> = (0..10).map(|_| open_session(&server.addr, &auth)).collect();
    // The seven least recently used gave way; the last three live.
    for id in &ids[..7] {
        assert_eq!(
            ping(&server.addr, &auth, id),
            404,
            "{id} should have been evicted"
        );
    }
    for id in &ids[7..] {
        assert_eq!(ping(&server.addr, &auth, id), 200);
    }
    // With a stream open on each live session, none is idle: a new one is refused.
    let mut streams = Vec::new();
    for id in &ids[7..] {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        write!(
            stream,
            "GET /mcp HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nAuthorization: {token}\r\nMcp-Session-Id: {id}\r\n\r\n",
            server.addr
        )
        .unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first[9..12], b"200", "{}", String::from_utf8_lossy(&first));
        streams.push(stream);
    }
    let answer = http(
        &server.addr,
        "POST",
        &[auth[0], JSON],
        INITIALIZE.as_bytes(),
    );
    assert_refused(&answer, 503, -32000);
    assert!(answer.body.contains("--max-sessions"), "{answer:?}");
    // Closing one stream makes its session idle, and so evictable.
    drop(streams.pop());
    std::thread::sleep(Duration::from_millis(300));
    open_session(&server.addr, &auth);
}

#[test]
fn an_idle_session_is_ended() {
    let w = world();
    let server = Server::start(&w, "127.0.0.1:0", &["--session-idle-timeout", "1"]);
    let token = format!("Bearer {}", server.token());
    let auth = [("Authorization", token.as_str())];
    let id = open_session(&server.addr, &auth);
    assert_eq!(ping(&server.addr, &auth, &id), 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(ping(&server.addr, &auth, &id), 404);
}
