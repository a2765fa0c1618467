//! Background jobs end to end: `skillet run --detach` hands a run to the real daemon, which
//! queues it (priorities, aging, a bounded queue), runs it in the sandbox as `skillet run`
//! would, and keeps its output in the store for `skillet jobs`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::process::Command;
use std::time::Duration;

use common::sessions::{eventually, processes_with};
use common::{World, interpreter};
use serde_json::{Value, json};

/// A code skill running `bash -c SCRIPT`.
fn bash_skill(w: &World, name: &str, script: &str) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": interpreter("bash"), "args": ["-c", script], "timeout": 120}),
    );
}

/// A skill that runs until the test creates `release` in the workspace (which skills read):
/// jobs queue behind it for exactly as long as the test needs, however loaded the machine.
fn gate_skill(w: &World) {
    bash_skill(
        w,
        "gate",
        "while [ ! -e release ]; do sleep 0.05; done; echo released",
    );
}

fn release(w: &World) {
    w.write("release", "");
}

/// The global `[jobs]` settings.
fn jobs_config(w: &World, toml: &str) {
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[jobs]\n{toml}\n"),
    );
}

/// `skillet run NAME --detach ARGS…`: the job's id.
fn detach(w: &World, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", name, "--detach"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "submitting {name} failed: {stderr}");
    let id = stdout.trim().to_owned();
    assert_eq!(id.len(), 36, "a job id: {stdout}");
    id
}

fn jobs(w: &World) -> Vec<Value> {
    let (code, stdout, stderr) = w.run(&["jobs", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn job(w: &World, id: &str) -> Value {
    jobs(w)
        .into_iter()
        .find(|j| j["id"] == id)
        .unwrap_or(Value::Null)
}

/// `jobs wait ID --json`, which must succeed.
fn wait(w: &World, id: &str) -> Value {
    let (_, stdout, stderr) = w.run(&["jobs", "wait", id, "--json", "--timeout", "120"]);
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("wait {id}: {stdout} {stderr}"))
}

fn started_at(w: &World, id: &str) -> i64 {
    job(w, id)["started_at_ms"].as_i64().unwrap()
}

fn stop(w: &World) {
    w.run(&["daemon", "stop"]);
}

#[test]
fn a_detached_job_outlives_its_command_and_its_output_is_kept() {
    let w = World::new();
    bash_skill(
        &w,
        "slow",
        "echo first; echo warn >&2; sleep 2; echo second",
    );
    let id = detach(&w, "slow", &[]);
    // The command that submitted it has exited; the job has not ended.
    let now = job(&w, &id);
    assert!(
        now["status"] == "queued" || now["status"] == "running",
        "{now}"
    );
    let done = wait(&w, &id);
    assert_eq!(done["job"]["status"], "finished", "{done}");
    assert_eq!(done["job"]["outcome"], "ok", "{done}");
    assert_eq!(done["stdout"], "first\nsecond\n");
    assert_eq!(done["stderr"], "warn\n");
    // Text output is the skill's, and the exit code the run's.
    let (code, stdout, stderr) = w.run(&["jobs", "wait", &id[..13]]);
    assert_eq!((code, stdout.as_str()), (0, "first\nsecond\n"), "{stderr}");
    // The run is in the history, like any other.
    let execution = done["job"]["execution_id"].as_str().unwrap();
    let (code, shown, _) = w.run(&["history", "show", execution, "--json"]);
    assert_eq!(code, 0);
    assert!(shown.contains("\"slow\""), "{shown}");
    // Kept in the store: a new daemon still has it.
    stop(&w);
    let (code, logs, _) = w.run(&["jobs", "logs", &id]);
    assert_eq!((code, logs.as_str()), (0, "first\nsecond\n"));
    stop(&w);
}

#[test]
fn a_failed_job_exits_as_its_run_would() {
    let w = World::new();
    bash_skill(&w, "fails", "echo oops >&2; exit 3");
    let id = detach(&w, "fails", &[]);
    let (code, _, stderr) = w.run(&["jobs", "wait", &id]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("oops"), "{stderr}");
    let (code, _, stderr) = w.run(&["run", "no-such-skill", "--detach"]);
    assert_eq!(
        code, 127,
        "an unknown skill is refused before queueing: {stderr}"
    );
    stop(&w);
}

#[test]
fn with_one_slot_high_priority_runs_before_earlier_low_ones() {
    let w = World::new();
    jobs_config(&w, "max_running = 1");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo done");
    let blocker = detach(&w, "gate", &[]);
    assert!(eventually(
        Duration::from_secs(20),
        || job(&w, &blocker)["status"] == "running"
    ));
    let low1 = detach(&w, "quick", &["--priority", "low"]);
    let low2 = detach(&w, "quick", &["--priority", "low"]);
    let normal = detach(&w, "quick", &[]);
    let high = detach(&w, "quick", &["--priority", "high"]);
    release(&w);
    for id in [&blocker, &low1, &low2, &normal, &high] {
        assert_eq!(wait(&w, id)["job"]["outcome"], "ok");
    }
    let mut order = [
        ("low1", started_at(&w, &low1)),
        ("low2", started_at(&w, &low2)),
        ("normal", started_at(&w, &normal)),
        ("high", started_at(&w, &high)),
    ];
    order.sort_by_key(|(_, t)| *t);
    let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["high", "normal", "low1", "low2"]);
    assert!(started_at(&w, &blocker) < started_at(&w, &high));
    // Queue wait is recorded: the high one waited for the blocker.
    assert!(job(&w, &high)["queue_wait_ms"].as_i64().unwrap() > 0);
    stop(&w);
}

#[test]
fn a_low_job_that_waited_long_enough_goes_before_a_newer_high_one() {
    let w = World::new();
    // One level per second of waiting: the low job submitted 2.5 s before the high one
    // has reached its level by the time the gate opens.
    jobs_config(&w, "max_running = 1\naging_s = 1");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo done");
    let blocker = detach(&w, "gate", &[]);
    assert!(eventually(
        Duration::from_secs(20),
        || job(&w, &blocker)["status"] == "running"
    ));
    let low = detach(&w, "quick", &["--priority", "low"]);
    std::thread::sleep(Duration::from_millis(2_500));
    let high = detach(&w, "quick", &["--priority", "high"]);
    release(&w);
    for id in [&blocker, &low, &high] {
        assert_eq!(wait(&w, id)["job"]["outcome"], "ok");
    }
    assert!(
        started_at(&w, &low) < started_at(&w, &high),
        "the low job starved: {} {}",
        job(&w, &low),
        job(&w, &high)
    );
    stop(&w);
}

#[test]
fn a_full_queue_refuses_as_busy_and_loses_nothing_it_accepted() {
    let w = World::new();
    jobs_config(&w, "max_running = 1\nmax_queued = 2");
    gate_skill(&w);
    bash_skill(&w, "quick", "echo done");
    let blocker = detach(&w, "gate", &[]);
    assert!(eventually(
        Duration::from_secs(20),
        || job(&w, &blocker)["status"] == "running"
    ));
    let a = detach(&w, "quick", &[]);
    let b = detach(&w, "quick", &[]);
    let (code, _, stderr) = w.run(&["run", "quick", "--detach"]);
    assert_eq!(code, 75, "{stderr}");
    assert!(stderr.contains("busy"), "{stderr}");
    assert!(stderr.contains("try again"), "{stderr}");
    let (code, stdout, _) = w.run(&["run", "quick", "--detach", "--json"]);
    assert_eq!(code, 75);
    assert!(stdout.contains("busy"), "{stdout}");
    assert_eq!(jobs(&w).len(), 3, "nothing was queued for the refused ones");
    release(&w);
    for id in [&blocker, &a, &b] {
        let done = wait(&w, id);
        assert_eq!(done["job"]["outcome"], "ok", "{done}");
    }
    // Room again.
    let c = detach(&w, "quick", &[]);
    assert_eq!(wait(&w, &c)["stdout"], "done\n");
    stop(&w);
}

#[test]
fn cancel_kills_the_whole_process_tree_and_takes_waiting_jobs_off_the_queue() {
    let w = World::new();
    jobs_config(&w, "max_running = 1");
    let marker = format!("skillet-job-tree-{}", std::process::id());
    bash_skill(
        &w,
        "tree",
        &format!("(exec -a {marker}-child sleep 600) & exec -a {marker}-parent sleep 600"),
    );
    bash_skill(&w, "quick", "echo done");
    let id = detach(&w, "tree", &[]);
    let waiting = detach(&w, "quick", &[]);
    assert!(
        eventually(Duration::from_secs(20), || processes_with(&marker).len()
            == 2),
        "parent and child run: {:?}",
        processes_with(&marker)
    );
    let (code, stdout, stderr) = w.run(&["jobs", "cancel", &waiting]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cancelled"), "{stdout}");
    assert_eq!(job(&w, &waiting)["started_at_ms"], Value::Null, "never ran");
    let (code, stdout, stderr) = w.run(&["jobs", "cancel", &id, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let cancelled: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert!(
        eventually(Duration::from_secs(10), || processes_with(&marker)
            .is_empty()),
        "left behind: {:?}",
        processes_with(&marker)
    );
    let (code, _, _) = w.run(&["jobs", "wait", &id]);
    assert_eq!(code, 130, "a cancelled job exits as a cancelled run");
    stop(&w);
}

/// Python that confines itself (no_new_privs), connects to `$SOCK`, sends `$REQ` and prints
/// the answer line.
const CONFINED_CLIENT: &str = r#"import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0, "prctl failed"
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SOCK"])
s.sendall(os.environ["REQ"].encode() + b"\n")
print(s.makefile().readline().strip())
"#;

#[test]
fn a_confined_process_cannot_submit_or_drive_jobs() {
    let w = World::new();
    bash_skill(&w, "quick", "echo done");
    let mine = detach(&w, "quick", &[]);
    wait(&w, &mine);
    let socket = w.tmp.path().join("run/skillet/skillet.sock");
    let submit = |overrides: Value| {
        json!({"id": 1, "method": "job.submit", "params": {"skill": "quick", "caller_dir": w.ws,
            "priority": "high", "overrides": overrides}})
        .to_string()
    };
    let requests = [
        (
            submit(json!({})),
            "cannot drive the daemon's sessions or jobs",
        ),
        (
            submit(json!({"unsandboxed": true})),
            "cannot weaken confinement",
        ),
        (
            submit(json!({"grant": {"write": ["/"]}})),
            "cannot weaken confinement",
        ),
        (submit(json!("not overrides")), "cannot weaken confinement"),
        (
            json!({"id": 2, "method": "job.cancel", "params": {"id": mine}}).to_string(),
            "cannot drive",
        ),
        (
            json!({"id": 3, "method": "job.logs", "params": {"id": mine}}).to_string(),
            "cannot drive",
        ),
        (
            json!({"id": 4, "method": "job.list"}).to_string(),
            "cannot drive",
        ),
    ];
    for (request, said) in requests {
        let out = Command::new(interpreter("python3"))
            .args(["-c", CONFINED_CLIENT])
            .env("SOCK", &socket)
            .env("REQ", &request)
            .output()
            .unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "{request}: {} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(answer["error"]["code"], "forbidden", "{request}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(said),
            "{request}: {answer}"
        );
    }
    assert_eq!(jobs(&w).len(), 1, "no job was queued by a confined process");
    stop(&w);
}

#[test]
fn a_job_running_when_the_daemon_is_killed_is_lost_not_run_again() {
    let w = World::new();
    let marker = format!("skillet-job-lost-{}", std::process::id());
    bash_skill(&w, "long", &format!("exec -a {marker} sleep 600"));
    let id = detach(&w, "long", &[]);
    assert!(
        eventually(Duration::from_secs(20), || !processes_with(&marker)
            .is_empty()),
        "the job runs"
    );
    let (code, status, _) = w.run(&["daemon", "status", "--json"]);
    assert_eq!(code, 0);
    let status: Value = serde_json::from_str(&status).unwrap();
    let pid = status["daemon"]["pid"].as_i64().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(10), || !common::alive(
        i32::try_from(pid).unwrap()
    )));
    // Whatever the killed daemon left running is not what this test is about.
    for leftover in processes_with(&marker) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(leftover as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
    }
    assert!(eventually(Duration::from_secs(10), || processes_with(
        &marker
    )
    .is_empty()));
    // The next command starts a new daemon, which finds the job it cannot vouch for.
    let lost = job(&w, &id);
    assert_eq!(lost["status"], "lost", "{lost}");
    assert!(
        lost["error"].as_str().unwrap().contains("not run again"),
        "{lost}"
    );
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(processes_with(&marker).is_empty(), "it was not run again");
    let (code, _, stderr) = w.run(&["jobs", "wait", &id]);
    assert_eq!(code, 125, "{stderr}");
    assert!(stderr.contains("lost"), "{stderr}");
    stop(&w);
}

#[test]
fn stopping_the_daemon_cancels_its_jobs_and_leaves_no_process_behind() {
    let w = World::new();
    jobs_config(&w, "max_running = 1");
    let marker = format!("skillet-job-stop-{}", std::process::id());
    bash_skill(&w, "long", &format!("exec -a {marker} sleep 600"));
    bash_skill(&w, "quick", "echo done");
    let running = detach(&w, "long", &[]);
    let waiting = detach(&w, "quick", &[]);
    assert!(
        eventually(Duration::from_secs(20), || !processes_with(&marker)
            .is_empty()),
        "the job runs"
    );
    let (code, _, stderr) = w.run(&["daemon", "stop"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        eventually(Duration::from_secs(10), || processes_with(&marker)
            .is_empty()),
        "left behind: {:?}",
        processes_with(&marker)
    );
    // A new daemon answers from the store: both were cancelled, neither is lost or re-run.
    let (r, q) = (job(&w, &running), job(&w, &waiting));
    assert_eq!(
        (r["status"].as_str(), q["status"].as_str()),
        (Some("cancelled"), Some("cancelled")),
        "{r} {q}"
    );
    assert!(
        r["error"].as_str().unwrap().contains("daemon stopped"),
        "{r}"
    );
    assert_eq!(q["started_at_ms"], Value::Null, "{q}");
    stop(&w);
}
