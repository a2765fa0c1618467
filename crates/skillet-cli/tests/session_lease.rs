//! One owner per session: two real daemons on two sockets share one history store, and only the
//! one holding a session's lease drives it; a restarted daemon answers the first input sent to a
//! session it is still replaying.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{World, interpreter};
use serde_json::{Value, json};

/// `skillet ARGS` talking to the daemon on `socket`: (exit code, stdout, stderr).
fn on(w: &World, socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = w
        .skillet()
        .env("SKILLET_SOCKET", socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sockets(w: &World) -> (PathBuf, PathBuf) {
    let dir = w.tmp.path().join("sockets");
    (dir.join("a.sock"), dir.join("b.sock"))
}

fn replay_skill(w: &World) {
    w.skill(
        "kept",
        json!({"name": "kept", "description": "d", "type": "code_session",
               "command": interpreter("python3"),
               "session_config": {"restore": "replay"}}),
    );
}

fn start(w: &World, socket: &Path) -> String {
    let (code, out, err) = on(w, socket, &["session", "start", "kept"]);
    assert_eq!(code, 0, "start failed: {err}");
    out.trim().to_owned()
}

fn status(w: &World, socket: &Path) -> Value {
    let (code, out, err) = on(w, socket, &["daemon", "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out).unwrap()["daemon"].clone()
}

fn session_in_list(w: &World, socket: &Path, id: &str) -> Value {
    let (code, out, err) = on(w, socket, &["session", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ok()
}

fn stop(w: &World, socket: &Path) {
    let (code, _, err) = on(w, socket, &["daemon", "stop"]);
    assert_eq!(code, 0, "{err}");
}

/// Stops both daemons even when an assertion failed.
struct Daemons<'w>(&'w World, PathBuf, PathBuf);

impl Drop for Daemons<'_> {
    fn drop(&mut self) {
        for socket in [&self.1, &self.2] {
            if socket.exists() {
                let _ = on(self.0, socket, &["daemon", "stop"]);
            }
        }
    }
}

#[test]
fn a_second_daemon_on_another_socket_neither_restores_nor_drives_a_session_the_first_holds() {
    let w = World::new();
    replay_skill(&w);
    let (a, b) = sockets(&w);
    let _stop = Daemons(&w, a.clone(), b.clone());
    let id = start(&w, &a);
    assert_eq!(on(&w, &a, &["session", "send", &id, "y = 41"]).0, 0);
    // Stopped in order, the session is restorable: both daemons started next would replay it.
    stop(&w, &a);
    // A session command starts a daemon (`daemon status` does not).
    assert!(eventually(Duration::from_secs(10), || session_in_list(
        &w, &a, &id
    )["status"]
        == "live"));
    let a_pid = status(&w, &a)["pid"].as_i64().unwrap();

    assert!(eventually(Duration::from_secs(3), || {
        session_in_list(&w, &b, &id)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("driven by"))
    }));
    let seen_by_b = session_in_list(&w, &b, &id);
    assert_eq!(seen_by_b["status"], "live", "{seen_by_b}");
    let reason = seen_by_b["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("pid {a_pid}")), "{reason}");
    assert!(reason.contains(&a.display().to_string()), "{reason}");
    let b_status = status(&w, &b);
    assert_ne!(b_status["pid"].as_i64().unwrap(), a_pid);
    assert_eq!(b_status["live_sessions"], 0, "b replayed it too");

    for input in ["y = 1000", "y"] {
        let (code, _, err) = on(&w, &b, &["session", "send", &id, input]);
        assert_ne!(code, 0, "b drove a session a holds");
        assert!(err.contains(&format!("pid {a_pid}")), "{err}");
        assert!(err.contains(&a.display().to_string()), "{err}");
    }
    let (code, _, err) = on(&w, &b, &["session", "close", &id]);
    assert_ne!(code, 0, "b closed a session a holds");
    assert!(err.contains(&format!("pid {a_pid}")), "{err}");

    let (code, out, err) = on(&w, &a, &["session", "send", &id, "y += 1"]);
    assert_eq!(code, 0, "{err}");
    let (code, out2, err) = on(&w, &a, &["session", "send", &id, "y"]);
    assert_eq!((code, out2.as_str()), (0, "42\n"), "{out}{err}");

    // Once a stops, a restart of b takes the session over, state intact.
    stop(&w, &a);
    stop(&w, &b);
    assert!(eventually(Duration::from_secs(10), || session_in_list(
        &w, &b, &id
    )["status"]
        == "live"));
    let (code, out, err) = on(&w, &b, &["session", "send", &id, "y"]);
    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
}

#[test]
fn two_daemons_started_together_restore_a_session_once() {
    let w = World::new();
    replay_skill(&w);
    let (a, b) = sockets(&w);
    let _stop = Daemons(&w, a.clone(), b.clone());
    let id = start(&w, &a);
    assert_eq!(on(&w, &a, &["session", "send", &id, "y = 7"]).0, 0);
    stop(&w, &a);
    // Both start at the same moment and race for the session (a session command starts a
    // daemon).
    let bin = assert_cmd::cargo::cargo_bin("skillet");
    let both: Vec<_> = [&a, &b]
        .iter()
        .map(|s| {
            let s = (*s).clone();
            let w_cmd = w.command(&bin);
            std::thread::spawn(move || {
                let mut cmd = w_cmd;
                cmd.env("SKILLET_SOCKET", &s)
                    .args(["session", "list", "--json"]);
                cmd.output().unwrap()
            })
        })
        .collect();
    for t in both {
        assert!(t.join().unwrap().status.success());
    }
    assert!(eventually(Duration::from_secs(10), || {
        let live = |s: &Path| status(&w, s)["live_sessions"].as_i64().unwrap_or(0);
        live(&a) + live(&b) == 1
    }));
    std::thread::sleep(Duration::from_millis(500));
    let live_a = status(&w, &a)["live_sessions"].as_i64().unwrap();
    let live_b = status(&w, &b)["live_sessions"].as_i64().unwrap();
    assert_eq!(live_a + live_b, 1, "a: {live_a}, b: {live_b}");
    let (owner, other) = if live_a == 1 { (&a, &b) } else { (&b, &a) };
    let (code, out, err) = on(&w, owner, &["session", "send", &id, "y"]);
    assert_eq!((code, out.as_str()), (0, "7\n"), "{err}");
    let (code, _, err) = on(&w, other, &["session", "send", &id, "y"]);
    assert_ne!(code, 0);
    assert!(err.contains("holds its lease"), "{err}");
}

#[test]
fn a_daemon_killed_hard_does_not_keep_its_sessions_from_the_next_one() {
    let w = World::new();
    replay_skill(&w);
    let (a, b) = sockets(&w);
    let _stop = Daemons(&w, a.clone(), b.clone());
    let id = start(&w, &a);
    assert_eq!(on(&w, &a, &["session", "send", &id, "y = 5"]).0, 0);
    let pid = status(&w, &a)["pid"].as_i64().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || !common::alive(
        i32::try_from(pid).unwrap()
    )));
    // Well inside the lease time: the holder is known to be gone, so the lease is taken over.
    let started = Instant::now();
    assert!(eventually(Duration::from_secs(8), || session_in_list(
        &w, &b, &id
    )["status"]
        == "live"));
    assert!(
        started.elapsed() < skillet_lease_ttl(),
        "waited {:?} for the dead daemon's lease",
        started.elapsed()
    );
    let (code, out, err) = on(&w, &b, &["session", "send", &id, "y"]);
    assert_eq!((code, out.as_str()), (0, "5\n"), "{err}");
}

/// The lease time the daemon uses (15 s; see docs/sessions.md).
fn skillet_lease_ttl() -> Duration {
    Duration::from_secs(15)
}

/// A replay that takes a while: each recorded input sleeps.
fn slow_session(w: &World, socket: &Path) -> String {
    let id = start(w, socket);
    for input in [
        "import time",
        "time.sleep(1.5); y = 41",
        "time.sleep(1.5); y += 1",
    ] {
        let (code, _, err) = on(w, socket, &["session", "send", &id, input]);
        assert_eq!(code, 0, "{err}");
    }
    id
}

#[test]
fn the_first_send_after_a_restart_waits_for_the_replay() {
    let w = World::new();
    replay_skill(&w);
    let (a, _) = sockets(&w);
    let _stop = Daemons(&w, a.clone(), PathBuf::new());
    let id = slow_session(&w, &a);
    stop(&w, &a);
    // This starts the daemon, whose replay takes about 3 s; the input waits behind it.
    let started = Instant::now();
    let (code, out, err) = on(&w, &a, &["session", "send", &id, "y"]);
    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Again with the start of the id, and a close.
    stop(&w, &a);
    let short = &id[..13];
    let (code, out, err) = on(&w, &a, &["session", "send", short, "y * 2"]);
    assert_eq!((code, out.as_str()), (0, "84\n"), "{err}");
    // `run --session` checks the session's skill first, which waits for the replay too.
    stop(&w, &a);
    let (code, out, err) = on(
        &w,
        &a,
        &["run", "kept", "--session", &id, "--stdin", "y + 1"],
    );
    assert_eq!((code, out.as_str()), (0, "43\n"), "{err}");
    stop(&w, &a);
    let (code, _, err) = on(&w, &a, &["session", "close", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(session_in_list(&w, &a, &id)["status"], "closed");
}

#[test]
fn the_owner_renews_its_lease_so_it_outlives_the_lease_time() {
    let w = World::new();
    replay_skill(&w);
    let (a, b) = sockets(&w);
    let _stop = Daemons(&w, a.clone(), b.clone());
    let id = start(&w, &a);
    assert_eq!(on(&w, &a, &["session", "send", &id, "y = 3"]).0, 0);
    // Past the lease time with no input: only the owner's renewals keep the lease in force.
    std::thread::sleep(skillet_lease_ttl() + Duration::from_secs(2));
    assert_eq!(session_in_list(&w, &b, &id)["status"], "live");
    assert_eq!(
        status(&w, &b)["live_sessions"],
        0,
        "b took over a renewed lease"
    );
    let (code, _, err) = on(&w, &b, &["session", "send", &id, "y"]);
    assert_ne!(code, 0);
    assert!(err.contains("holds its lease"), "{err}");
    let (code, out, err) = on(&w, &a, &["session", "send", &id, "y"]);
    assert_eq!((code, out.as_str()), (0, "3\n"), "{err}");
}
