//! `[telemetry] otlp_endpoint`: the daemon exports each execution as a trace over OTLP/HTTP
//! (protobuf), received on loopback by a Python receiver that decodes it with the OpenTelemetry
//! project's own types (tests/mcp/otlp_receiver.py).

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::World;
use common::daemon::Daemon;
use serde_json::{Value, json};

const RECEIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/otlp_receiver.py");

/// The receiver, its port, and the spans it prints as they come; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    spans: mpsc::Receiver<Value>,
}

impl Receiver {
    fn start(w: &World) -> Receiver {
        let mut child = w
            .command(&common::mcp::python())
            .arg(RECEIVER)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("listening ").unwrap().parse().unwrap();
        let (tx, spans) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str::<Value>(&line).unwrap());
            }
        });
        Receiver { child, port, spans }
    }

    /// Spans received until `enough` says so (or 20 s pass), and the rest of the request that
    /// made it so (its spans are printed one by one).
    fn collect(&self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !enough(&got) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.spans.recv_timeout(left) {
                Ok(span) => got.push(span),
                Err(_) => return got,
            }
        }
        while let Ok(span) = self.spans.recv_timeout(Duration::from_millis(500)) {
            got.push(span);
        }
        got
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn each_execution_is_exported_as_a_trace_with_its_phases() {
    let w = World::new();
    let receiver = Receiver::start(&w);
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:{}\"\nservice_name = \"skillet-test\"\n",
            receiver.port
        ),
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", "echo hi"]}),
    );
    w.skill(
        "broken",
        json!({"name": "broken", "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", "exit 4"]}),
    );
    let daemon = Daemon::start_saying(&w, "telemetry: exporting each execution's trace to");
    let (_, ok) = w.run_json(&["hello"]);
    let (_, failed) = w.run_json(&["broken"]);
    let ids = [ok["execution_id"].clone(), failed["execution_id"].clone()];
    // Each execution's span and its phases' (which follow it in the request).
    let spans = receiver.collect(|got| {
        ids.iter().all(|id| {
            got.iter().any(|root| {
                root["name"] == "skillet.execution"
                    && root["attributes"]["skillet.execution_id"] == *id
                    && got.iter().any(|s| s["parent_span_id"] == root["span_id"])
            })
        })
    });
    drop(daemon);
    let root = |id: &Value| {
        spans
            .iter()
            .find(|s| {
                s["name"] == "skillet.execution" && s["attributes"]["skillet.execution_id"] == *id
            })
            .unwrap_or_else(|| panic!("no span for {id}: {spans:#?}"))
    };
    let hello = root(&ids[0]);
    assert_eq!(hello["service"], "skillet-test");
    assert_eq!(hello["path"], "/v1/traces");
    assert_eq!(hello["content_type"], "application/x-protobuf");
    assert_eq!(hello["attributes"]["skillet.skill"], "hello");
    assert_eq!(hello["attributes"]["skillet.status"], "ok");
    // The trace is the call's: its id is the correlation id's 128 bits.
    let correlation = ok["correlation_id"].as_str().unwrap().replace('-', "");
    assert_eq!(hello["trace_id"], correlation);
    // Its phases are its children, within it.
    let phases: Vec<&Value> = spans
        .iter()
        .filter(|s| s["parent_span_id"] == hello["span_id"])
        .collect();
    let names: Vec<&str> = phases.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"process") && names.contains(&"sandbox_setup"),
        "{names:?}"
    );
    for p in &phases {
        assert_eq!(p["trace_id"], hello["trace_id"]);
        assert!(p["start_ns"].as_u64() >= hello["start_ns"].as_u64(), "{p}");
    }
    let broken = root(&ids[1]);
    assert_eq!(broken["attributes"]["skillet.exit_code"], 4);
    assert_eq!(broken["status"], 2, "STATUS_CODE_ERROR: {broken}");
}

#[test]
fn a_bad_endpoint_is_said_in_the_log_and_runs_go_on() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[telemetry]\notlp_endpoint = \"collector:4318\"\n",
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline",
               "command": "true"}),
    );
    let daemon = Daemon::start_saying(&w, "is not an OTLP/HTTP address");
    assert_eq!(w.run_json(&["hello"]).0, 0);
    drop(daemon);
    // A workspace cannot point the export anywhere.
    w.write(
        ".skillet/skillet.toml",
        "[telemetry]\notlp_endpoint = \"http://evil.example\"\n",
    );
    let (_, _, stderr) = w.run(&["list"]);
    assert!(
        stderr.contains("[telemetry]") && stderr.contains("ignored"),
        "{stderr}"
    );
}
