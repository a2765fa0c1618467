//! The daemon's one queue end to end: how long a call waited is kept in its history row, one
//! client flooding the queue does not lock out another, and the running jobs' memory limits
//! stay within the budget.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::queue::{
    bash_skill, detach, execution, gate_skill, global_config, history, stop, wait,
};
use common::{World, interpreter};
use serde_json::{Value, json};

#[test]
fn a_job_queued_behind_another_has_its_wait_in_the_history() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo quick");
    let blocker = detach(&w, "gate", &[]);
    let queued = detach(&w, "quick", &[]);
    std::thread::sleep(Duration::from_millis(1500));
    w.write("release", "");
    let first = wait(&w, &blocker)["job"].clone();
    let second = wait(&w, &queued)["job"].clone();
    assert_eq!(second["outcome"], "ok", "{second}");
    let row = execution(&w, second["execution_id"].as_str().unwrap());
    let waited = row["queue_wait_ms"]
        .as_i64()
        .unwrap_or_else(|| panic!("{row}"));
    // It waited from its submission until the blocker ended, which was held 1.5 s.
    let blocked_for =
        first["finished_at_ms"].as_i64().unwrap() - second["submitted_at_ms"].as_i64().unwrap();
    assert!(
        waited >= 1500 && waited + 50 >= blocked_for,
        "waited {waited} ms, blocked for {blocked_for} ms: {row}"
    );
    assert_eq!(Some(waited), second["queue_wait_ms"].as_i64(), "{second}");
    assert_eq!(row["origin"], "job");
    // The blocker started at once: a wait, and a short one.
    let row = execution(&w, first["execution_id"].as_str().unwrap());
    assert!(row["queue_wait_ms"].as_i64().unwrap() < 1500, "{row}");
    // `history show` says it in words too.
    let (_, shown, _) = w.run(&["history", "show", second["execution_id"].as_str().unwrap()]);
    assert!(
        shown.contains(&format!("queue wait:  {waited} ms")),
        "{shown}"
    );
    // A command-line run never queued: no wait.
    let (code, _, stderr) = w.run(&["run", "quick"]);
    assert_eq!(code, 0, "{stderr}");
    let newest = history(&w).into_iter().next().unwrap();
    assert_eq!(newest["origin"], Value::Null, "{newest}");
    assert_eq!(newest["queue_wait_ms"], Value::Null, "{newest}");
    stop(&w);
}

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");

#[test]
fn mcp_calls_held_by_the_concurrency_cap_have_their_wait_in_the_history() {
    let w = World::new();
    global_config(&w, "[mcp]\nmax_concurrent_calls = 1\n");
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
               "command": "echo", "args": ["{word}", "{times}"],
               "parameters": [
                   {"name": "word", "type": "string", "required": true, "pattern": "[a-z]+"},
                   {"name": "times", "type": "integer", "default": 1}]}),
    );
    // An agent sees a workspace's skills once the user trusts it.
    let (code, _, stderr) = w.run(&["trust"]);
    assert_eq!(code, 0, "{stderr}");
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--target", skillet.to_str().unwrap(), "--ws"])
        .arg(&w.ws)
        .args(["--calls", "12", "load"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = history(&w)
        .into_iter()
        .filter(|r| r["origin"] == "mcp")
        .collect();
    assert_eq!(rows.len(), 12, "{rows:?}");
    let shortest_run = rows
        .iter()
        .map(|r| r["duration_ms"].as_i64().unwrap())
        .min()
        .unwrap();
    let waits: Vec<i64> = rows
        .iter()
        .map(|r| r["queue_wait_ms"].as_i64().unwrap_or_else(|| panic!("{r}")))
        .collect();
    // One call at a time: all but the first few to arrive waited for at least one whole run.
    let held = waits.iter().filter(|w| **w >= shortest_run.max(1)).count();
    assert!(held >= 8, "waits {waits:?}, shortest run {shortest_run} ms");
}

/// Every job in the daemon, as `skillet jobs --json` lists them.
fn jobs(w: &World) -> Vec<Value> {
    let (code, stdout, stderr) = w.run(&["jobs", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The job id a submission printed.
fn submitted(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.trim().to_owned()
}

#[test]
fn one_client_flooding_the_queue_does_not_lock_out_another() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo quick");
    let blocker = detach(&w, "gate", &[]);
    // Client A (this test's session) queues 50 jobs behind the blocker.
    for _ in 0..50 {
        detach(&w, "quick", &[]);
    }
    // Client B: a command from another terminal (session), as the daemon sees it.
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    let other_session = submitted(
        &w.command(std::path::Path::new("setsid"))
            .arg("-w")
            .arg(&skillet)
            .args(["run", "quick", "--detach"])
            .output()
            .unwrap(),
    );
    // Client C: from A's terminal, but naming itself (an agent whose calls each start a
    // session of their own would do this).
    let named = submitted(
        &w.skillet()
            .env("SKILLET_CLIENT", "agent-c")
            .args(["run", "quick", "--detach"])
            .output()
            .unwrap(),
    );
    w.write("release", "");
    wait(&w, &blocker);
    wait(&w, &other_session);
    wait(&w, &named);
    let mut after: Vec<(i64, String)> = jobs(&w)
        .into_iter()
        .filter(|j| j["skill"] == "quick")
        .filter_map(|j| Some((j["started_at_ms"].as_i64()?, j["id"].as_str()?.to_owned())))
        .collect();
    after.sort();
    let slot = |id: &str| after.iter().position(|(_, j)| j == id).unwrap();
    // Without fair share they would wait for all 50 of A's.
    assert!(
        slot(&other_session) <= 2 && slot(&named) <= 2,
        "B ran in slot {} and C in slot {} of the {} after the blocker",
        slot(&other_session),
        slot(&named),
        after.len()
    );
    stop(&w);
}

/// A gate skill whose runs are limited to `mb` MiB.
fn gate_of(w: &World, name: &str, mb: u64) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": interpreter("bash"),
               "args": ["-c", "while [ ! -e release ]; do sleep 0.05; done; echo released"],
               "timeout": 120,
               "security": {"resource_limits": {"max_memory_mb": mb}}}),
    );
}

fn status(w: &World, id: &str) -> String {
    jobs(w)
        .into_iter()
        .find(|j| j["id"] == id)
        .map(|j| j["status"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[test]
fn running_jobs_stay_within_the_memory_budget_and_a_job_that_never_fits_is_refused() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 4\nmemory_budget_mb = 300\n");
    gate_of(&w, "two-hundred", 200);
    gate_of(&w, "hundred", 100);
    gate_of(&w, "huge", 400);
    let first = detach(&w, "two-hundred", &[]);
    let second = detach(&w, "two-hundred", &[]);
    let small = detach(&w, "hundred", &[]);
    // 200 + 100 fit in 300, a second 200 does not: it waits (first in line, so the small one
    // submitted after it waits too rather than pass it for ever).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while status(&w, &first) != "running" {
        assert!(std::time::Instant::now() < deadline, "the first never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(status(&w, &second), "queued");
    assert_eq!(status(&w, &small), "queued");
    // A job larger than the whole budget is refused at once, with what to do.
    let (code, stdout, stderr) = w.run(&["run", "huge", "--detach"]);
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains("400 MiB")
            && stderr.contains("300 MiB")
            && stderr.contains("max_memory_mb"),
        "{stderr}"
    );
    assert!(
        !jobs(&w).iter().any(|j| j["skill"] == "huge"),
        "nothing queued"
    );
    w.write("release", "");
    let first = wait(&w, &first)["job"].clone();
    let second = wait(&w, &second)["job"].clone();
    wait(&w, &small);
    assert_eq!(second["outcome"], "ok", "{second}");
    assert!(
        second["started_at_ms"].as_i64().unwrap() >= first["finished_at_ms"].as_i64().unwrap(),
        "{first} {second}"
    );
    stop(&w);
}

#[test]
fn batch_calls_waiting_for_a_slot_have_their_wait_in_the_history() {
    let w = World::new();
    bash_skill(&w, "nap", "sleep 0.3");
    w.write("calls.jsonl", &"{\"skill\": \"nap\"}\n".repeat(4));
    let (code, _, stderr) = w.run(&["batch", "calls.jsonl", "--jobs", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let mut rows: Vec<(String, i64)> = history(&w)
        .into_iter()
        .map(|r| {
            assert_eq!(r["origin"], "batch", "{r}");
            (
                r["request_id"].as_str().unwrap().to_owned(),
                r["queue_wait_ms"].as_i64().unwrap_or_else(|| panic!("{r}")),
            )
        })
        .collect();
    rows.sort();
    let lines: Vec<&str> = rows.iter().map(|(line, _)| line.as_str()).collect();
    assert_eq!(lines, ["line 1", "line 2", "line 3", "line 4"]);
    // One at a time: the fourth waited for the three before it, each asleep 300 ms.
    assert!(rows[0].1 < 300, "{rows:?}");
    assert!(rows[3].1 >= 900, "{rows:?}");
}

#[test]
fn a_run_waiting_for_its_skills_concurrency_slot_has_the_wait_in_the_history() {
    let w = World::new();
    w.skill(
        "single",
        json!({"name": "single", "description": "d", "type": "code_inline",
               "command": interpreter("bash"), "args": ["-c", "sleep 1"],
               "concurrency": {"max": 1}}),
    );
    bash_skill(&w, "free", "true");
    let runs: Vec<std::process::Child> = (0..2)
        .map(|_| {
            w.command(&assert_cmd::cargo::cargo_bin("skillet"))
                .args(["run", "single"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    let (code, _, stderr) = w.run(&["run", "free"]);
    assert_eq!(code, 0, "{stderr}");
    let rows = history(&w);
    let mut waits: Vec<i64> = rows
        .iter()
        .filter(|r| r["skill"] == "single")
        .map(|r| r["queue_wait_ms"].as_i64().unwrap_or_else(|| panic!("{r}")))
        .collect();
    waits.sort_unstable();
    // Started together: one ran at once, the other waited for most of its second.
    assert_eq!(waits.len(), 2);
    assert!(waits[0] < 700 && waits[1] >= 700, "{waits:?}");
    // A skill with no bound, run from a terminal, never queued.
    let free = rows.iter().find(|r| r["skill"] == "free").unwrap();
    assert_eq!(free["queue_wait_ms"], Value::Null, "{free}");
}

#[test]
fn a_job_whose_skill_raised_its_memory_limit_while_it_waited_is_not_run() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\nmemory_budget_mb = 1000\n");
    gate_skill(&w);
    gate_of(&w, "grows", 100);
    let blocker = detach(&w, "gate", &[]);
    let queued = detach(&w, "grows", &[]);
    // While it waits, the skill asks for more than the budget counted for it.
    gate_of(&w, "grows", 400);
    w.write("release", "");
    wait(&w, &blocker);
    let (code, _, stderr) = w.run(&["jobs", "wait", &queued]);
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("400 MiB") && stderr.contains("submit it again"),
        "{stderr}"
    );
    // Submitted again, it is counted as it is now, and runs.
    let again = detach(&w, "grows", &[]);
    assert_eq!(wait(&w, &again)["job"]["outcome"], "ok");
    stop(&w);
}
