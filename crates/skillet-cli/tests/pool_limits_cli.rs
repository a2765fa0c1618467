//! A pooled call is held to the limits of a run of the same skill: output past the skill's
//! `max_output_kb` stops it at once, as it stops a run, instead of letting it flood its member
//! until the timeout. (A session's input is not stopped for it: see sessions.md.)

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::World;
use common::pool::{call, idle};
use common::sessions::{eventually, session_skill};
use serde_json::{Value, json};

/// A python pool whose calls may take 20 s but write at most 16 KiB per stream.
fn capped_pool(w: &World) {
    session_skill(
        w,
        "py",
        &common::interpreter("python3"),
        json!({
            "timeout": 20,
            "security": {"resource_limits": {"max_output_kb": 16}},
            "session_config": {"pool": {"min_idle": 1, "max": 2}},
        }),
    );
}

/// `skillet run py --json` with `input`: the execution, and how long the command took.
fn run_json(w: &World, input: &str) -> (Value, Duration) {
    let started = Instant::now();
    let out = w
        .skillet()
        .args(["run", "py", "--json"])
        .write_stdin(input)
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let result = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\n{}", w.daemon_log()));
    (result, took)
}

#[test]
fn output_past_the_limit_stops_a_pooled_call_as_it_stops_a_run() {
    let w = World::new();
    capped_pool(&w);
    // Warm: the flood below meets a started member, not the cost of starting one.
    assert_eq!(call(&w, "py", "print(1)").1, "1\n");
    // An endless flood on either stream, and one that would end by itself after writing far
    // more than the limit: each is stopped at the limit, long before its 20 s timeout.
    let floods = [
        "import os\nwhile True: os.write(1, b'x' * 65536)",
        "import sys\nwhile True: sys.stderr.write('e' * 4096)",
        "print('y' * 400000)",
    ];
    for flood in floods {
        let (result, took) = run_json(&w, flood);
        let seen = (&result["status"], &result["limit"], &result["truncated"]);
        assert_eq!(
            seen,
            (&json!("resource_limit"), &json!("output"), &json!(true)),
            "{flood}: {}",
            result["error"]
        );
        let kept = |s: &str| result[s].as_str().unwrap_or_default().len();
        assert!(
            kept("stdout") <= 16 * 1024 && kept("stderr") <= 16 * 1024,
            "{flood}: more than the limit kept: {} and {} bytes",
            kept("stdout"),
            kept("stderr")
        );
        assert!(
            result["error"]
                .as_str()
                .unwrap_or_default()
                .contains("16 KiB"),
            "{}",
            result["error"]
        );
        assert!(took < Duration::from_secs(10), "{flood}: took {took:?}");
    }
    // An answer that ended within the limit is answered, whatever a thread it left behind
    // writes after it (the member dies with the call).
    let (result, _) = run_json(
        &w,
        "import os, threading, time\n\
         def flood():\n    time.sleep(0.05)\n    while True: os.write(1, b'x' * 65536)\n\
         threading.Thread(target=flood, daemon=True).start()\nprint('done')",
    );
    assert_eq!(result["status"], "ok", "{}", result["error"]);
    assert!(result["stdout"].as_str().unwrap().starts_with("done\n"));
    // Output up to the limit is an answer like any other.
    let (result, _) = run_json(&w, "print('z' * 8000)");
    assert_eq!(result["status"], "ok", "{result}");
    assert_eq!(result["stdout"].as_str().unwrap().len(), 8001);
    // The stopped members were replaced: the pool is whole again and answers.
    assert!(eventually(Duration::from_secs(20), || idle(&w, "py", 1)));
    assert_eq!(call(&w, "py", "print(2)").1, "2\n");
}
