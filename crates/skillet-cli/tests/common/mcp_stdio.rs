//! `skillet mcp` on stdio driven with raw JSON-RPC lines, for tests that need exact bytes or
//! exact timing (the official client is in tests/mcp).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use super::World;

/// A running `skillet mcp`, its replies read line by line.
pub struct RawStdio {
    pub child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
}

impl RawStdio {
    pub fn start(w: &World, extra: &[&str]) -> RawStdio {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .arg("mcp")
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut server = RawStdio {
            child,
            stdin,
            replies,
        };
        server.send(
            &json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        );
        assert_eq!(server.reply()["id"], "init");
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        server
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        self.raw(&line);
    }

    /// The next reply; failing (not hanging) when none comes.
    pub fn reply(&mut self) -> Value {
        let line = self
            .replies
            .recv_timeout(Duration::from_secs(20))
            .expect("no reply within 20 s: the message was met with silence");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a reply that is not JSON ({e}): {line}"))
    }

    /// The next reply, if one comes within `wait`.
    pub fn reply_within(&mut self, wait: Duration) -> Option<Value> {
        let line = self.replies.recv_timeout(wait).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
    }

    /// A request that must be answered, so the server is known to be serving still.
    pub fn still_serving(&mut self, id: i64) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}));
        let reply = self.reply();
        assert_eq!(reply["id"], id, "{reply}");
        assert!(reply["result"]["tools"].is_array(), "{reply}");
    }

    pub fn call(&mut self, id: i64, tool: &str, arguments: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": arguments}}));
        let reply = self.reply();
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }
}

impl Drop for RawStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
