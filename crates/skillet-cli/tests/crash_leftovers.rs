//! A daemon killed with `kill -9` while sessions are open: the next command leaves none of
//! their scratch behind, and the sessions that come back by replay are shown `restoring`
//! (never `ended`) until they answer, with their old state, the first input sent to them.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{World, interpreter};
use serde_json::{Value, json};

const TEN_MB: u64 = 10 * 1024 * 1024;

fn world() -> World {
    // World::new makes `run`: where the daemon's files and every scratch directory live.
    World::new()
}

fn session_skill(w: &World, name: &str, command: &str, extra: Value) {
    let mut skill =
        json!({"name": name, "description": "d", "type": "code_session", "command": command});
    if let (Value::Object(s), Value::Object(e)) = (&mut skill, extra) {
        s.extend(e);
    }
    w.skill(name, skill);
}

fn start(w: &World, skill: &str) -> String {
    let (code, stdout, stderr) = w.run(&["session", "start", skill]);
    assert_eq!(code, 0, "start failed: {stderr}");
    stdout.trim().to_owned()
}

fn send(w: &World, id: &str, input: &str) -> (i32, String, String) {
    w.run(&["session", "send", id, input])
}

fn list(w: &World) -> Vec<Value> {
    let (code, stdout, stderr) = w.run(&["session", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Kills the daemon with SIGKILL and waits until it is gone.
fn kill_daemon(w: &World) {
    let lock = w.tmp.path().join("run/skillet/skillet.lock");
    let pid: i32 = std::fs::read_to_string(&lock)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let start = Instant::now();
    while common::alive(pid) {
        assert!(start.elapsed() < Duration::from_secs(10), "{pid} survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every entry under `dir`, links not followed.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, std::fs::Metadata)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if meta.is_dir() {
            walk(&e.path(), out);
        }
        out.push((e.path(), meta));
    }
}

/// Scratch directories (`run-*`) anywhere under the world's runtime directory, and files of
/// 10 MB or more anywhere in the world.
fn leftovers(w: &World) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut runtime = Vec::new();
    walk(&w.tmp.path().join("run"), &mut runtime);
    let dirs = runtime
        .into_iter()
        .filter(|(p, m)| {
            m.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("run-"))
        })
        .map(|(p, _)| p)
        .collect();
    let mut all = Vec::new();
    walk(w.tmp.path(), &mut all);
    let big = all
        .into_iter()
        .filter(|(_, m)| m.is_file() && m.blocks() * 512 >= TEN_MB)
        .map(|(p, _)| p)
        .collect();
    (dirs, big)
}

#[test]
fn a_killed_daemon_leaves_no_scratch_after_the_next_command() {
    let w = world();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let ids: Vec<String> = (0..3).map(|_| start(&w, "sh")).collect();
    for id in &ids {
        let (code, out, err) = send(
            &w,
            id,
            "head -c 10485760 /dev/zero > \"$HOME/big\" && wc -c < \"$HOME/big\"",
        );
        assert_eq!((code, out.trim()), (0, "10485760"), "{err}");
    }
    let (dirs, _) = leftovers(&w);
    assert_eq!(dirs.len(), 3, "one scratch directory per session: {dirs:?}");

    kill_daemon(&w);
    // One command: it starts a new daemon, which ends the sessions (they are not restorable).
    let sessions = list(&w);
    for id in &ids {
        let s = sessions.iter().find(|s| s["id"] == id.as_str()).unwrap();
        assert_eq!(s["status"], "ended", "{s}");
    }
    let (dirs, big) = leftovers(&w);
    assert!(dirs.is_empty(), "scratch left behind: {dirs:?}");
    assert!(big.is_empty(), "files left behind: {big:?}");

    // And again after a second crash, with a session of the new daemon open meanwhile.
    let id = start(&w, "sh");
    send(&w, &id, "head -c 10485760 /dev/zero > \"$HOME/big\"");
    kill_daemon(&w);
    assert_eq!(w.run(&["daemon", "status"]).0, 1, "no daemon is running");
    assert_eq!(w.run(&["session", "list"]).0, 0);
    let (dirs, big) = leftovers(&w);
    assert!(
        dirs.is_empty() && big.is_empty(),
        "{dirs:?} {big:?} after the second crash"
    );
}

#[test]
fn a_restored_session_answers_its_first_send_with_its_old_state() {
    let w = world();
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"session_config": {"restore": "replay"}}),
    );
    let id = start(&w, "py");
    assert_eq!(send(&w, &id, "x = 41").0, 0);
    // Makes the replay take a while, so the restart is seen while it is under way.
    assert_eq!(send(&w, &id, "import time; time.sleep(3)").0, 0);
    let (code, _, err) = send(
        &w,
        &id,
        "open(__import__('os').environ['HOME'] + '/big', 'wb').write(b'0' * 10485760)",
    );
    assert_eq!(code, 0, "{err}");
    kill_daemon(&w);

    let restarted = Instant::now();
    let shown = list(&w)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert!(
        restarted.elapsed() < Duration::from_secs(2),
        "list waited for the replay"
    );
    assert_eq!(shown["status"], "restoring", "{shown}");
    let (code, only, err) = w.run(&["session", "list", "--status", "restoring", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(only.contains(&id), "--status restoring finds it: {only}");
    let (code, logs, _) = w.run(&["session", "logs", &id]);
    assert_eq!(code, 0);
    assert!(
        logs.contains("restoring") && !logs.contains("ended"),
        "{logs}"
    );

    // The first send after the crash waits for the replay and sees the old state.
    let (code, out, err) = send(&w, &id, "x + 1");
    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
    assert!(!err.contains("new"), "{err}");
    let shown = list(&w)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert_eq!(shown["status"], "live", "{shown}");
    // The dead daemon's scratch is gone; the restored session has its own.
    let (dirs, _) = leftovers(&w);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
}

#[test]
fn sessions_are_restored_in_parallel() {
    let w = world();
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"session_config": {"restore": "replay", "max_sessions": 8}}),
    );
    let ids: Vec<String> = (0..6).map(|_| start(&w, "py")).collect();
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(send(&w, id, &format!("n = {n}")).0, 0);
        assert_eq!(send(&w, id, "import time; time.sleep(2)").0, 0);
    }
    kill_daemon(&w);
    let restarted = Instant::now();
    for (n, id) in ids.iter().enumerate() {
        let (code, out, err) = send(&w, id, "n");
        // The daemon's log says what it did, should a send fail here.
        assert_eq!(
            (code, out.trim()),
            (0, n.to_string().as_str()),
            "{err}\ndaemon log:\n{}",
            w.daemon_log()
        );
    }
    // One after another, six replays of 2 s each would take 12 s.
    let took = restarted.elapsed();
    assert!(took < Duration::from_secs(8), "restored in {took:?}");
}
