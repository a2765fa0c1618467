//! MCP over HTTP served by the daemon (`skillet serve --http`): each tool call that runs a
//! skill waits in the daemon's one job queue, so `[jobs] max_running` bounds agents' calls as it
//! bounds detached jobs, the wait is in the history, and cancelling or a timeout still kills the
//! process. The agent's side lives in tests/mcp/queue_http.py (the official Python SDK).

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::served::Served;
use common::{World, interpreter};
use serde_json::{Value, json};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/queue_http.py");

/// Live `sleep MARKER` processes.
fn sleeps_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c).replace('\0', " ").trim() == format!("sleep {marker}")
            }) && common::alive(i32::try_from(*pid).unwrap())
        })
        .collect()
}

fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ok()
}

fn code_skill(w: &World, name: &str, command: &str, args: &[&str], timeout: u64) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": command, "args": args, "timeout": timeout}),
    );
}

/// A world serving `slow`, `sleeper`, `limited` and `echo`, with `jobs` as `[jobs]`.
fn world(jobs: &str) -> World {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[jobs]\n{jobs}\n"),
    );
    let bash = interpreter("bash");
    code_skill(&w, "slow", &bash, &["-c", "sleep 1.5; echo done"], 30);
    code_skill(&w, "sleeper", "sleep", &["49.125"], 60);
    code_skill(&w, "limited", "sleep", &["48.125"], 1);
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo", "type": "code_inline",
               "command": "echo", "args": ["{word}"],
               "parameters": [{"name": "word", "type": "string", "required": true}]}),
    );
    let (code, _, stderr) = w.run(&["trust"]);
    assert_eq!(code, 0, "{stderr}");
    w
}

/// Runs queue_http.py's `scenario` against `served`: its JSON summary.
fn client(w: &World, served: &Served, scenario: &str) -> Value {
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--url", &served.url, "--token", &served.token])
        .args(["--scenario", scenario])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn http_tool_calls_wait_their_turn_in_the_daemons_queue() {
    let w = world("max_running = 1");
    let served = Served::start(&w);
    let summary = client(&w, &served, "turns");

    // One at a time: the two calls sent together took two runs' time, not one.
    assert!(summary["both_s"].as_f64().unwrap() >= 2.9, "{summary}");
    // Neither the call abandoned while waiting nor the one abandoned while running kept its
    // place or its slot: the next call ran at once.
    assert!(summary["echo_s"].as_f64().unwrap() < 1.5, "{summary}");
    assert_eq!(summary["limited_status"], "timeout", "{summary}");
    // Cancelling and the timeout killed the processes.
    for marker in ["49.125", "48.125"] {
        assert!(
            eventually(Duration::from_secs(5), || sleeps_with(marker).is_empty()),
            "`sleep {marker}` still runs"
        );
    }

    let (code, out, err) = w.run(&["history", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let of = |skill: &str| -> Vec<&Value> {
        let mut rows: Vec<&Value> = rows
            .iter()
            .filter(|r| r["skill"] == skill && r["origin"] == "mcp")
            .collect();
        rows.sort_by_key(|r| r["started_at_ms"].as_i64().unwrap());
        rows
    };
    // The call abandoned while it waited never ran: two runs of `slow`, not three.
    let slow = of("slow");
    assert_eq!(slow.len(), 2, "{slow:?}");
    let (first, second) = (slow[0], slow[1]);
    assert!(
        second["started_at_ms"].as_i64().unwrap() >= first["finished_at_ms"].as_i64().unwrap(),
        "they overlapped: {first} {second}"
    );
    // The second waited for the first's whole run, and its row says so.
    let waited = second["queue_wait_ms"].as_i64().unwrap();
    assert!(waited >= 1400, "{second}");
    assert!(first["queue_wait_ms"].as_i64().unwrap() < 1000, "{first}");
    let sleeper = of("sleeper");
    assert_eq!(sleeper.len(), 1, "{sleeper:?}");
    assert_eq!(sleeper[0]["status"], "cancelled", "{}", sleeper[0]);
    // Calls are not detached jobs: `skillet jobs` lists none of them.
    let (code, out, err) = w.run(&["jobs", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!([]));
}

#[test]
fn a_full_queue_answers_an_http_tool_call_busy_at_once() {
    let w = world("max_running = 1\nmax_queued = 1");
    // Its own marker: the other test's sleeper may run meanwhile.
    code_skill(&w, "sleeper", "sleep", &["49.375"], 60);
    let served = Served::start(&w);
    let summary = client(&w, &served, "busy");
    assert!(summary["refused_s"].as_f64().unwrap() < 1.0, "{summary}");
    let refused = summary["refused"].as_str().unwrap();
    assert!(refused.contains("max_queued"), "{refused}");
    assert!(
        eventually(Duration::from_secs(5), || sleeps_with("49.375").is_empty()),
        "the abandoned call's process still runs"
    );
    // The refused call never ran; the one that waited was abandoned before it could.
    let (code, out, err) = w.run(&["history", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let ran = |skill: &str| rows.iter().filter(|r| r["skill"] == skill).count();
    assert_eq!(
        (ran("echo"), ran("slow"), ran("sleeper")),
        (1, 0, 1),
        "{rows:?}"
    );
}
