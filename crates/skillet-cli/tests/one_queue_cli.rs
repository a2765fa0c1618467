//! `skillet batch` and `skillet mcp` on stdio run skills in their own process, but each run
//! first takes a turn in the daemon's job queue: one `max_running` for detached jobs, batches
//! and every agent's calls. A process that dies gives its turns back; a daemon that cannot be
//! reached leaves the command's own cap in charge, and says so.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::World;
use common::mcp_stdio::RawStdio;
use common::queue::{bash_skill, detach, gate_skill, global_config, history, wait};
use serde_json::{Value, json};

/// `skillet batch FILE` started in the background.
fn batch(w: &World, file: &str, extra: &[&str]) -> Child {
    w.command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["batch", file])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Whether `child` is still running after `wait`.
fn still_running_after(child: &mut Child, wait: Duration) -> bool {
    std::thread::sleep(wait);
    child.try_wait().unwrap().is_none()
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits (at most 30 s) for `path` to exist.
fn appears(path: &std::path::Path) -> bool {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_batch_waits_in_the_daemons_queue_behind_a_detached_job() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo quick");
    let job = detach(&w, "gate", &[]);
    w.write(
        "calls.jsonl",
        "{\"skill\": \"quick\"}\n{\"skill\": \"quick\"}\n",
    );

    let mut running = batch(&w, "calls.jsonl", &["--jobs", "2", "--json"]);

    // The one slot is the job's: the batch's calls wait for it, however many --jobs allows.
    assert!(
        still_running_after(&mut running, Duration::from_millis(1500)),
        "the batch ran beside the job: {:?}",
        finish(running)
    );
    w.write("release", "");
    assert_eq!(wait(&w, &job)["job"]["outcome"], "ok");
    let (code, out, err) = finish(running);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    // Their history rows say how long they waited, the job's whole run included.
    let waits: Vec<i64> = history(&w)
        .into_iter()
        .filter(|r| r["origin"] == "batch")
        .map(|r| r["queue_wait_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(waits.len(), 2);
    assert!(waits.iter().all(|ms| *ms >= 1400), "{waits:?}");
}

#[test]
fn a_stdio_mcp_servers_runs_wait_in_the_same_queue() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo quick");
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    let job = detach(&w, "gate", &[]);
    let mut agent = RawStdio::start(&w, &[]);

    agent.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": {"name": "quick", "arguments": {}}}));

    assert!(
        agent.reply_within(Duration::from_millis(1500)).is_none(),
        "the call ran beside the job"
    );
    // The agent's server answers other requests meanwhile: only the run waits.
    agent.still_serving(8);
    w.write("release", "");
    let reply = agent.reply_within(Duration::from_secs(30)).unwrap();
    assert_eq!(reply["id"], 7, "{reply}");
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(wait(&w, &job)["job"]["outcome"], "ok");
    let row = history(&w)
        .into_iter()
        .find(|r| r["origin"] == "mcp")
        .unwrap();
    assert!(row["queue_wait_ms"].as_i64().unwrap() >= 1400, "{row}");
}

#[test]
fn a_batch_killed_while_it_runs_gives_its_turn_back() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    bash_skill(&w, "hold", "touch marks/started; sleep 60");
    bash_skill(&w, "quick", "echo quick");
    w.write("marks/.keep", "");
    // The first call holds the one slot and the second waits for it, on the same connection:
    // the daemon must see that connection close while its wait is pending.
    w.write(
        "calls.jsonl",
        "{\"skill\": \"hold\"}\n{\"skill\": \"hold\"}\n",
    );
    let mut running = batch(
        &w,
        "calls.jsonl",
        &["--jobs", "2", "--allow-write", "marks"],
    );
    assert!(
        appears(&w.path("marks/started")),
        "the batch's call never started"
    );

    running.kill().unwrap();
    running.wait().unwrap();

    // The slot the dead batch held is free: a job starts long before its call would have
    // ended.
    let started = Instant::now();
    let job = detach(&w, "quick", &[]);
    let done = wait(&w, &job);
    assert_eq!(done["job"]["outcome"], "ok", "{done}");
    assert!(started.elapsed() < Duration::from_secs(30), "{done}");
}

#[test]
fn without_a_daemon_to_ask_a_batch_runs_under_its_own_cap_and_says_so() {
    let w = World::new();
    bash_skill(&w, "quick", "echo quick");
    w.write("calls.jsonl", &"{\"skill\": \"quick\"}\n".repeat(3));
    // A socket in a directory that cannot be made: no daemon can start there.
    let blocked = w.write("not-a-dir", "");
    let socket = blocked.join("skillet.sock");

    let out = w
        .skillet()
        .env("SKILLET_SOCKET", &socket)
        .args(["batch", "calls.jsonl", "--json"])
        .output()
        .unwrap();

    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("warning: runs wait under this process's own cap only"))
        .collect();
    assert_eq!(warnings.len(), 1, "said once: {err}");
    let results: Vec<Value> = history(&w);
    assert_eq!(results.len(), 3);
}

/// `skillet batch` of `calls` calls of `tick` for `client`, in the background.
fn batch_for(w: &World, client: &str, calls: usize) -> Child {
    let file = format!("{client}.jsonl");
    w.write(
        &file,
        &format!("{{\"skill\": \"tick\", \"params\": {{\"who\": \"{client}\"}}}}\n").repeat(calls),
    );
    w.command(&assert_cmd::cargo::cargo_bin("skillet"))
        .env("SKILLET_CLIENT", client)
        .args(["batch", &file, "--jobs", "4", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_batches_share_the_queue_fairly() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    w.skill(
        "tick",
        json!({"name": "tick", "description": "d", "type": "code_inline",
               "command": common::interpreter("bash"),
               "args": ["-c", "date +%s%N; echo \"$SKILL_PARAM_WHO\"; sleep 0.15"],
               "parameters": [{"name": "who", "type": "string", "required": true}]}),
    );
    let a = batch_for(&w, "a", 6);
    std::thread::sleep(Duration::from_millis(300));
    let b = batch_for(&w, "b", 6);
    let mut ran: Vec<(u128, String)> = Vec::new();
    for child in [a, b] {
        let (code, out, err) = finish(child);
        assert_eq!(code, 0, "{err}");
        for line in out.lines() {
            let result: Value = serde_json::from_str(line).unwrap();
            let stdout = result["stdout"].as_str().unwrap();
            let mut parts = stdout.lines();
            let at: u128 = parts.next().unwrap().parse().unwrap();
            ran.push((at, parts.next().unwrap().to_owned()));
        }
    }
    ran.sort();
    let order: Vec<&str> = ran.iter().map(|(_, who)| who.as_str()).collect();
    // Once both wait, turns alternate: `b` never runs two in a row while `a` waits, nor the
    // other way round (a batch that came first does not keep the slot to itself).
    let first_b = order.iter().position(|w| *w == "b").unwrap();
    let last_a = order.iter().rposition(|w| *w == "a").unwrap();
    for pair in order[first_b..=last_a.max(first_b)].windows(2) {
        assert_ne!(pair[0], pair[1], "not alternating: {order:?}");
    }
    assert!(first_b <= 3, "b waited behind most of a: {order:?}");
}

#[test]
fn ctrl_c_ends_a_batch_waiting_for_its_turn_at_once() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo quick");
    let job = detach(&w, "gate", &[]);
    w.write("calls.jsonl", &"{\"skill\": \"quick\"}\n".repeat(3));
    let mut running = batch(&w, "calls.jsonl", &["--jobs", "3"]);
    assert!(still_running_after(
        &mut running,
        Duration::from_millis(800)
    ));

    let sent = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(running.id()).unwrap()).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let (code, _, err) = finish(running);

    assert_eq!(code, 130, "{err}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    // Its withdrawn waits left the queue: the job is alone, and nothing of the batch ran
    // (each call is in the history as cancelled before it started).
    w.write("release", "");
    assert_eq!(wait(&w, &job)["job"]["outcome"], "ok");
    let quick: Vec<Value> = history(&w)
        .into_iter()
        .filter(|r| r["skill"] == "quick")
        .collect();
    assert_eq!(quick.len(), 3, "{quick:?}");
    assert!(
        quick.iter().all(|r| r["status"] == "cancelled"
            && r["error"]
                .as_str()
                .is_some_and(|e| e.contains("not started"))),
        "{quick:?}"
    );
}

#[test]
fn an_idle_stdio_mcp_server_holds_no_connection_to_the_daemon() {
    let w = World::new();
    global_config(&w, "[daemon]\nidle_timeout = 1\n");
    bash_skill(&w, "quick", "echo quick");
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    let mut agent = RawStdio::start(&w, &[]);
    let reply = agent.call(7, "quick", json!({}));
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    // The call took its turn in a daemon started for it; that daemon now goes when idle, as
    // no connection is left open by the idle agent (which would otherwise keep it up, and
    // take one of the 64 connections the daemon serves for as long as the agent lives).
    // (Asked rarely: asking is activity, which keeps a daemon up.)
    let gone = (0..4).any(|_| {
        std::thread::sleep(Duration::from_millis(2500));
        w.run(&["daemon", "status"]).0 != 0
    });
    assert!(gone, "the daemon stayed up: {}", w.daemon_log());
    // The agent's next call starts one again.
    let reply = agent.call(8, "quick", json!({}));
    assert_eq!(reply["result"]["isError"], false, "{reply}");
}

/// A batch's `--priority` orders its calls in the daemon's queue as a job's would: a high one
/// goes before a normal job that was waiting first, a low line after it.
#[test]
fn a_batchs_priority_orders_its_calls_among_the_jobs() {
    let w = World::new();
    global_config(&w, "[jobs]\nmax_running = 1\n");
    gate_skill(&w);
    bash_skill(&w, "queued-job", "echo job");
    bash_skill(&w, "urgent", "echo urgent");
    bash_skill(&w, "bulk", "echo bulk");
    let gate = detach(&w, "gate", &[]);
    let job = detach(&w, "queued-job", &[]);
    w.write(
        "calls.jsonl",
        "{\"skill\": \"urgent\"}\n{\"skill\": \"bulk\", \"priority\": \"low\"}\n",
    );
    let mut running = batch(
        &w,
        "calls.jsonl",
        &["--jobs", "2", "--priority", "high", "--json"],
    );
    // Both of the batch's calls are waiting behind the gate, after the job.
    assert!(
        still_running_after(&mut running, Duration::from_millis(1500)),
        "{:?}",
        finish(running)
    );
    w.write("release", "");
    assert_eq!(wait(&w, &gate)["job"]["outcome"], "ok");
    assert_eq!(wait(&w, &job)["job"]["outcome"], "ok");
    let (code, out, err) = finish(running);
    assert_eq!(code, 0, "{out}{err}");
    let started = |skill: &str| -> i64 {
        history(&w)
            .into_iter()
            .find(|r| r["skill"] == skill)
            .and_then(|r| r["started_at_ms"].as_i64())
            .unwrap_or_else(|| panic!("no run of {skill}"))
    };
    let (urgent, queued, bulk) = (started("urgent"), started("queued-job"), started("bulk"));
    assert!(urgent <= queued, "high after normal: {urgent} {queued}");
    assert!(queued <= bulk, "low before normal: {queued} {bulk}");
}
