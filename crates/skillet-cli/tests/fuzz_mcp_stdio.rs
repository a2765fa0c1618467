//! No panic on any input (issue 18), for `skillet mcp` on stdio: one real server process is fed
//! the committed MCP seeds (`fuzz/corpus/mcp_message/`) and a bounded number of mutations of
//! them, each written as it is (its own newlines cut it into lines) and followed by a `ping`.
//! Every ping must be answered and nothing but JSON-RPC may reach stdout: a line that killed
//! or wedged the server, or broke its framing, fails here. The HTTP transport screens bodies
//! with the same function (crates/skillet-mcp/tests/robustness.rs); see docs/robustness.md.

mod common;

#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};

/// The longest a ping may wait for its answer behind the fuzzed line.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    probes: u64,
    _world: World,
}

impl Server {
    fn start() -> Server {
        let world = World::new();
        world.skill(
            "greet",
            json!({"name": "greet", "description": "Say hi", "type": "prompt_inline",
                   "prompt_template": "Hello {who}!",
                   "parameters": [{"name": "who", "type": "string", "required": true}]}),
        );
        world.skill(
            "echo",
            json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
                   "command": "echo", "args": ["{word}"],
                   "parameters": [{"name": "word", "type": "string", "required": true}]}),
        );
        // The workspace is trusted, so its tools are offered and callable.
        let (code, _, stderr) = world.run(&["trust"]);
        assert_eq!(code, 0, "skillet trust: {stderr}");
        let mut child = world
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(["mcp", "--max-line-bytes", "65536"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("skillet mcp starts");
        let stdin = child.stdin.take().expect("its stdin");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            lines,
            probes: 0,
            _world: world,
        };
        server.send(
            &json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "fuzz", "version": "1"}}})
            .to_string(),
        );
        server
            .answer_to(&json!("init"))
            .expect("an answer to initialize");
        server.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        server
    }

    fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("the server reads its stdin");
    }

    /// Reads answers until the one to `id`; every line on stdout must be a JSON-RPC message.
    fn answer_to(&mut self, id: &Value) -> Result<Value, String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("no answer to {id} in {PATIENCE:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.try_wait().ok().flatten();
                    return Err(format!("skillet mcp closed its stdout (exit: {status:?})"));
                }
            };
            let message: Value = serde_json::from_str(&line)
                .map_err(|e| format!("stdout carried a line that is not JSON ({e}): {line:?}"))?;
            if message["jsonrpc"] != "2.0" {
                return Err(format!("stdout carried a non-JSON-RPC line: {line}"));
            }
            if message["id"] == *id && message.get("method").is_none() {
                return Ok(message);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> &'static Mutex<Option<Server>> {
    static SERVER: OnceLock<Mutex<Option<Server>>> = OnceLock::new();
    SERVER.get_or_init(|| Mutex::new(None))
}

fn run(data: &[u8]) {
    let mut slot = server().lock().unwrap_or_else(|e| e.into_inner());
    let server = slot.get_or_insert_with(Server::start);
    server.probes += 1;
    let probe = json!(format!("probe-{}", server.probes));
    let written = server
        .stdin
        .write_all(data)
        .and_then(|()| server.stdin.write_all(b"\n"));
    if let Err(e) = written {
        *slot = None;
        panic!("skillet mcp stopped reading its stdin: {e}");
    }
    server.send(&json!({"jsonrpc": "2.0", "id": probe, "method": "ping"}).to_string());
    let answer = server.answer_to(&probe);
    match answer {
        Ok(answer) => assert!(answer.get("result").is_some(), "ping failed: {answer}"),
        Err(why) => {
            // A fresh server for the next case, so shrinking measures each input alone.
            *slot = None;
            panic!("{why}");
        }
    }
}

#[test]
fn mcp_on_stdio_answers_after_every_hostile_line() {
    seeded::check("mcp_message", 1500, run);
}

/// The fuzzing found this: a second `initialize` naming a newer protocol was taken by rmcp, and
/// the session's `ping` became "method not found". A repeat is refused; the session is unchanged.
#[test]
fn a_connection_is_initialized_once() {
    let mut server = Server::start();
    for (n, version) in ["2026-07-28", "9025-06-18", "2025-06-18", "garbage"]
        .into_iter()
        .enumerate()
    {
        let id = json!(format!("again-{n}"));
        server.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": {},
                "clientInfo": {"name": "x", "version": "1"}}})
            .to_string(),
        );
        let answer = server.answer_to(&id).expect("an answer");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        server.send(r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#);
        let pong = server.answer_to(&json!("p")).expect("a pong");
        assert!(pong.get("result").is_some(), "ping after {version}: {pong}");
    }
}

/// The fuzzing above proves something only if the server it talks to offers the skills.
#[test]
fn the_harness_reaches_a_serving_server() {
    let mut server = Server::start();
    server.send(r#"{"jsonrpc":"2.0","id":"list","method":"tools/list"}"#);
    let tools = server.answer_to(&json!("list")).expect("a tool list");
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"greet"),
        "{tools}"
    );
    server.send("{not json");
    server.send(r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#);
    server.answer_to(&json!("p")).expect("serving goes on");
}
