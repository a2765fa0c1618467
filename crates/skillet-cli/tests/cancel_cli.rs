//! A `skillet run` stopped by SIGINT or SIGTERM still ends as a result: `cancelled`, recorded in
//! the history with the time spent and what the skill had written, its processes killed, and
//! the exit code a shell gives that signal.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};

/// A skill that says something, then sleeps; `marker` tells its sleep apart from others'.
fn sleeper(w: &World, marker: &str) {
    sleeper_with(w, marker, json!({}));
}

/// [`sleeper`], with `extra` fields (`state`, say).
fn sleeper_with(w: &World, marker: &str, extra: Value) {
    let mut skill = json!({"name": "sleeper", "description": "d", "type": "code_inline",
           "command": "sh", "args": ["-c", format!("echo started; echo warming >&2; exec sleep {marker}")],
           "timeout": 60});
    if let (Value::Object(s), Value::Object(e)) = (&mut skill, extra) {
        s.extend(e);
    }
    w.skill("sleeper", skill);
}

fn sleeps_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c).replace('\0', " ").trim() == format!("sleep {marker}")
            }) && common::alive(*pid as i32)
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

fn spawn_run(w: &World, json: bool) -> Child {
    let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
    cmd.args(["run", "sleeper"]);
    if json {
        cmd.arg("--json");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the sleeper, sends `signal` once it sleeps, and returns (exit code, stdout, stderr).
fn interrupted(
    w: &World,
    marker: &str,
    signal: rustix::process::Signal,
    json: bool,
) -> (i32, String, String) {
    let mut child = spawn_run(w, json);
    assert!(
        eventually(Duration::from_secs(10), || !sleeps_with(marker).is_empty()),
        "the skill never started"
    );
    std::thread::sleep(Duration::from_millis(300));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        signal,
    )
    .unwrap();
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "skillet took {:?} to stop",
        started.elapsed()
    );
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), out, err)
}

fn last_history(w: &World) -> Value {
    let (code, out, err) = w.run(&["history", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    rows[0].clone()
}

#[test]
fn sigint_cancels_a_run_records_it_and_kills_the_skill() {
    let w = World::new();
    let marker = "41.25";
    sleeper(&w, marker);
    let (code, out, err) = interrupted(&w, marker, rustix::process::Signal::INT, true);
    assert_eq!(code, 130, "{out}{err}");
    let result: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(result["status"], "cancelled", "{result}");
    assert_eq!(result["stdout"], "started\n", "{result}");
    assert_eq!(result["stderr"], "warming\n", "{result}");
    assert!(result["duration_ms"].as_u64().unwrap() >= 300, "{result}");
    assert!(
        eventually(Duration::from_secs(3), || sleeps_with(marker).is_empty()),
        "the skill outlived skillet"
    );
    let row = last_history(&w);
    assert_eq!(row["status"], "cancelled", "{row}");
    assert_eq!(row["id"], result["execution_id"], "{row}");
    assert!(row["duration_ms"].as_i64().unwrap() >= 300, "{row}");
    let error = row["error"].as_str().unwrap();
    assert!(error.contains("SIGINT"), "{error}");
    assert!(
        error.contains("8 bytes to stdout and 8 to stderr"),
        "{error}"
    );
}

#[test]
fn a_cancelled_stateful_run_still_shows_what_it_wrote() {
    // A stateful skill's output is held back from the terminal until its state is saved (a
    // run that must run again is not shown); cancelled, it is passed on all the same.
    let w = World::new();
    let marker = "41.75";
    sleeper_with(&w, marker, json!({"state": {"version": 1}}));
    for json in [true, false] {
        let (code, out, err) = interrupted(&w, marker, rustix::process::Signal::INT, json);
        assert_eq!(code, 130, "{out}{err}");
        if json {
            let result: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(result["status"], "cancelled", "{result}");
            assert_eq!(result["stdout"], "started\n", "{result}");
            assert_eq!(result["stderr"], "warming\n", "{result}");
        } else {
            assert_eq!(out, "started\n", "{err}");
            assert!(err.contains("warming"), "{err}");
        }
        let error = last_history(&w)["error"].as_str().unwrap().to_owned();
        assert!(
            error.contains("8 bytes to stdout and 8 to stderr"),
            "{error}"
        );
    }
}

#[test]
fn sigterm_cancels_a_run_with_exit_code_143_and_says_so() {
    let w = World::new();
    let marker = "42.75";
    sleeper(&w, marker);
    let (code, out, err) = interrupted(&w, marker, rustix::process::Signal::TERM, false);
    assert_eq!(code, 143, "{out}{err}");
    assert_eq!(out, "started\n", "live output reached the terminal");
    assert!(
        err.contains("skillet: cancelled: cancelled (SIGTERM)"),
        "{err}"
    );
    assert!(
        eventually(Duration::from_secs(3), || sleeps_with(marker).is_empty()),
        "the skill outlived skillet"
    );
    let row = last_history(&w);
    assert_eq!(row["status"], "cancelled", "{row}");
    assert!(row["error"].as_str().unwrap().contains("SIGTERM"), "{row}");
    let (code, out, _) = w.run(&["history", "--status", "cancelled"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("sleeper") && out.contains("cancelled"),
        "{out}"
    );
}

#[test]
fn a_second_signal_during_the_first_does_not_lose_the_record() {
    let w = World::new();
    let marker = "43.5";
    sleeper(&w, marker);
    let mut child = spawn_run(&w, true);
    assert!(eventually(Duration::from_secs(10), || !sleeps_with(marker).is_empty()));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    let status = child.wait().unwrap();
    assert!(matches!(status.code(), Some(130 | 143)), "{status:?}");
    assert_eq!(last_history(&w)["status"], "cancelled");
    assert!(eventually(Duration::from_secs(3), || sleeps_with(marker).is_empty()));
}

const CANCEL_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/cancel.py");

#[test]
fn an_mcp_call_cancelled_by_the_client_is_recorded_and_its_process_killed() {
    for (mode, marker) in [("auto", "44.125"), ("legacy", "45.125")] {
        let w = World::new();
        sleeper(&w, marker);
        w.skill(
            "echo",
            json!({"name": "echo", "description": "Echo", "type": "code_inline",
                   "command": "echo", "args": ["{word}"],
                   "parameters": [{"name": "word", "type": "string", "required": true}]}),
        );
        assert_eq!(w.run(&["trust"]).0, 0);
        let out = w
            .command(&common::mcp::python())
            .arg(CANCEL_CLIENT)
            .arg("--target")
            .arg(assert_cmd::cargo::cargo_bin("skillet"))
            .args(["--mode", mode, "--after", "1.5", "--ws"])
            .arg(&w.ws)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(summary["finished"], false, "{mode}: {summary}");
        assert_eq!(
            summary["echo"].as_str().map(str::trim),
            Some("still"),
            "{mode}: {summary}"
        );
        assert!(
            eventually(Duration::from_secs(5), || sleeps_with(marker).is_empty()),
            "{mode}: the cancelled call's process is still running"
        );
        let (code, out, err) = w.run(&["history", "sleeper", "--json"]);
        assert_eq!(code, 0, "{err}");
        let rows: Value = serde_json::from_str(&out).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{mode}: {rows:?}");
        let row = &rows[0];
        assert_eq!(row["status"], "cancelled", "{mode}: {row}");
        assert_eq!(row["origin"], "mcp", "{mode}: {row}");
        assert!(
            row["duration_ms"].as_i64().unwrap() >= 1000,
            "{mode}: {row}"
        );
        let error = row["error"].as_str().unwrap();
        assert!(
            error.contains("cancelled by the MCP client"),
            "{mode}: {error}"
        );
        assert!(error.contains("8 bytes to stdout"), "{mode}: {error}");
    }
}
