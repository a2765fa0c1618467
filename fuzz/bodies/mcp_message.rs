//! One MCP JSON-RPC message as an HTTP body, POSTed to the real `skillet serve` MCP service
//! (`skillet_mcp::http_service`, on 127.0.0.1, no token) over a real socket, inside an MCP
//! session opened once (`initialize`, then the input with its `Mcp-Session-Id`): the body is
//! screened (JSON, JSON-RPC shape, known methods' params) and handed to rmcp, and a
//! `tools/call` of a skill has its arguments checked against the tool's input schema. The
//! server must answer every body, a refusal always as a JSON-RPC error object, and keep
//! serving. The stdio transport screens each line with the same function.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use skillet_mcp::{HttpAuth, HttpOptions, McpOptions, SkillServer, http_service};
use skillet_registry::Environment;

/// The MCP session the inputs are sent in.
static SESSION: Mutex<Option<String>> = Mutex::new(None);

/// The service, started once for every input (a fresh one per input would measure startup).
pub fn server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory").keep();
        let workspace = dir.join("ws");
        std::fs::create_dir_all(&workspace).expect("the workspace");
        // Global skills: trusted, so they are offered as tools and prompts.
        let skills = dir.join("home/.config/skillet/skills");
        std::fs::create_dir_all(&skills).expect("the skills folder");
        std::fs::write(
            skills.join("greet.json"),
            r#"{"name": "greet", "description": "Say hi", "type": "prompt_inline",
                "prompt_template": "Hello {who}!",
                "parameters": [{"name": "who", "type": "string", "required": true}]}"#,
        )
        .expect("a skill");
        std::fs::write(
            skills.join("typed.json"),
            r#"{"name": "typed", "description": "Every parameter type", "type": "prompt_inline",
                "prompt_template": "{n} {x} {b} {e} {p} {s}",
                "parameters": [
                  {"name": "n", "type": "integer", "min": -3, "max": 3},
                  {"name": "x", "type": "number", "min": 0.5},
                  {"name": "b", "type": "boolean"},
                  {"name": "e", "type": "enum", "values": ["a", "b"]},
                  {"name": "p", "type": "path"},
                  {"name": "s", "type": "string", "pattern": "[a-z]+", "max": 8}]}"#,
        )
        .expect("a skill");
        let env = Environment {
            cwd: workspace,
            home: Some(dir.join("home")),
            config_home: Some(dir.join("home/.config")),
            data_home: Some(dir.join("home/.local/share")),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                let addr = listener.local_addr().expect("its address");
                let server = SkillServer::new(McpOptions {
                    env,
                    store: None,
                    sessions: Arc::new(skillet_engine::session::SessionManager::new(None)),
                    max_concurrent_calls: 2,
                })
                .expect("the MCP server");
                let options = HttpOptions {
                    addr,
                    auth: HttpAuth::None,
                    allowed_origins: Vec::new(),
                    max_sessions: 16,
                    session_idle_timeout: Duration::from_secs(60),
                    token_file: None,
                    shutdown: tokio_util::sync::CancellationToken::new(),
                };
                let router = http_service(server, &options).expect("the HTTP service");
                tx.send(addr).expect("the address reaches the caller");
                axum::serve(listener, router).await.expect("serving");
            });
        });
        rx.recv().expect("the server starts")
    })
}

/// Status, head and body of one POST of `body` to `/mcp`, in `session` when given.
pub fn post(addr: SocketAddr, body: &[u8], session: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let session = session.map_or(String::new(), |id| format!("Mcp-Session-Id: {id}\r\n"));
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("the request head");
    stream.write_all(body).expect("the request body");
    let mut response = Vec::new();
    // A streamed answer (SSE) may stay open; what came before the timeout is enough.
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no HTTP status in the answer to b\"{}\": {text:?}",
                body.escape_ascii()
            )
        });
    let split = text.find("\r\n\r\n").map_or(text.len(), |at| at + 4);
    let head = text[..split].to_ascii_lowercase();
    let body = &response[split.min(response.len())..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    (status, head, body)
}

/// The MCP session the inputs are sent in, opened when there is none: at the start, and after
/// an input ended it.
pub fn session(addr: SocketAddr) -> String {
    let mut slot = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = &*slot {
        return id.clone();
    }
    let id = open_session(addr);
    *slot = Some(id.clone());
    id
}

/// A new MCP session (`initialize`, `initialized`) of the caller's own. A check that runs beside
/// the fuzzing uses one: in the shared session a mutated input may reuse the check's request id,
/// and the server then answers one of the two on the other's stream.
pub fn open_session(addr: SocketAddr) -> String {
    let initialize = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#;
    let (status, head, _) = post(addr, initialize, None);
    assert_eq!(status, 200, "initialize: {head}");
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no session id in {head}"));
    let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let (status, head, _) = post(addr, initialized, Some(&id));
    assert!(status < 300, "initialized: {head}");
    id
}

/// Forgets the session, so the next input opens a new one.
fn end_session() {
    *SESSION.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The payload of an HTTP/1.1 chunked body (as much as arrived).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        let start = line_end + 2;
        if size == 0 || start + size > body.len() {
            break;
        }
        out.extend_from_slice(&body[start..start + size]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

pub fn run(data: &[u8]) {
    let addr = server();
    let id = session(addr);
    let (status, _, body) = post(addr, data, Some(&id));
    assert_ne!(
        status,
        500,
        "the server failed on b\"{}\"",
        data.escape_ascii()
    );
    if status == 404 {
        // The input ended the session (or it expired): the next one opens another.
        end_session();
    }
    if status >= 400 && !body.is_empty() {
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "refusal {status} is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&body)
            )
        });
        assert_eq!(answer["jsonrpc"], "2.0", "refusal {status}: {answer}");
        assert!(
            answer["error"]["code"].is_i64(),
            "refusal {status}: {answer}"
        );
    }
}
