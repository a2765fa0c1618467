//! The daemon that owns sessions, end to end: stopping and restarting it, its private socket,
//! a stale socket, idle exit, and how its errors read.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::sessions::{eventually, processes_with, send, session_skill, start, status_of};
use common::{World, interpreter};
use serde_json::{Value, json};

#[test]
fn closing_and_stopping_leave_no_process_behind() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let marker = format!("skillet-orphan-{}", std::process::id());
    let closed = start(&w, &["sh"]);
    let stopped = start(&w, &["sh"]);
    for id in [&closed, &stopped] {
        let (code, _, err) = send(
            &w,
            id,
            &format!("(exec -a {marker} sleep 600) & disown; echo started"),
        );
        assert_eq!(code, 0, "{err}");
    }
    // `echo started` can come before the background subshell has exec'd the renamed sleep.
    assert!(
        eventually(Duration::from_secs(5), || processes_with(&marker).len()
            == 2),
        "the test's sleepers run: {:?}",
        processes_with(&marker)
    );
    let (code, _, _) = w.run(&["session", "close", &closed]);
    assert_eq!(code, 0);
    assert!(eventually(Duration::from_secs(5), || processes_with(
        &marker
    )
    .len()
        == 1));
    let (code, _, _) = w.run(&["daemon", "stop"]);
    assert_eq!(code, 0);
    assert!(
        eventually(Duration::from_secs(5), || processes_with(&marker)
            .is_empty()),
        "left behind: {:?}",
        processes_with(&marker)
    );
    let (code, _, _) = w.run(&["daemon", "status"]);
    assert_eq!(code, 1, "the daemon is gone");
}

#[test]
fn history_survives_a_daemon_restart_and_replay_sessions_come_back() {
    let w = World::new();
    let py = interpreter("python3");
    session_skill(&w, "plain", &py, json!({}));
    session_skill(
        &w,
        "kept",
        &py,
        json!({"session_config": {"restore": "replay"}}),
    );
    let plain = start(&w, &["plain"]);
    let kept = start(&w, &["kept"]);
    send(&w, &plain, "x = 1");
    send(&w, &kept, "y = 41");
    send(&w, &kept, "y += 1");
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);

    // The next command starts a new daemon, which replays `kept` and ends `plain`.
    let r = status_of(&w, &plain);
    assert_eq!(
        (r["status"].as_str(), r["turns"].as_i64()),
        (Some("ended"), Some(1)),
        "{r}"
    );
    assert!(eventually(Duration::from_secs(10), || status_of(&w, &kept)
        ["status"]
        == "live"));
    let (code, out, err) = send(&w, &kept, "y");
    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
    let (code, _, err) = send(&w, &plain, "x");
    assert_eq!(code, 125);
    assert!(err.contains("ended"), "{err}");
    let (code, logs, _) = w.run(&["session", "logs", &plain]);
    assert_eq!(code, 0);
    assert!(logs.contains("> x = 1"), "{logs}");
    let (_, logs) = (0, w.run(&["session", "logs", &kept, "--json"]).1);
    let logs: Value = serde_json::from_str(&logs).unwrap();
    let inputs: Vec<&str> = logs["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        ["y = 41", "y += 1", "y"],
        "replayed inputs are not recorded twice"
    );
}

#[test]
fn the_socket_is_private_and_other_users_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    assert_eq!(w.run(&["session", "list"]).0, 0, "starts the daemon");
    let sock = w.tmp.path().join("run/skillet/skillet.sock");
    let dir = sock.parent().unwrap();
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    if !rustix::process::geteuid().is_root() || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("SKIPPED the other-user half: it needs root and setpriv");
        return;
    }
    // Suppose the permissions were loosened: the peer check still refuses another user.
    for p in [
        w.tmp.path().to_path_buf(),
        w.tmp.path().join("run"),
        dir.to_path_buf(),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = format!(
        // The daemon may refuse (answer and hang up) before the request is written, so a
        // broken pipe on sending is expected; the refusal is still there to read.
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({:?})\ntry:\n    s.sendall(b'{{\"method\":\"session.list\"}}\\n')\nexcept OSError:\n    pass\nprint(s.recv(4096).decode())",
        sock.display().to_string()
    );
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            &interpreter("python3"),
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer.contains("serves only the user that started it"),
        "{answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_stale_socket_is_replaced_and_a_second_daemon_refuses_to_start() {
    let w = World::new();
    let dir = w.tmp.path().join("run/skillet");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // A socket file nobody listens on, as a crashed daemon leaves.
    drop(std::os::unix::net::UnixListener::bind(dir.join("skillet.sock")).unwrap());
    assert!(dir.join("skillet.sock").exists());
    let (code, _, err) = w.run(&["session", "list"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = w.run(&["serve"]);
    assert_eq!(code, 125);
    assert!(err.contains("already running"), "{err}");
    let (code, out, _) = w.run(&["daemon", "status", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["running"],
        true
    );
}

#[test]
fn the_daemon_exits_when_idle() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[daemon]\nidle_timeout = 1\n",
    );
    assert_eq!(w.run(&["session", "list"]).0, 0);
    assert_eq!(w.run(&["daemon", "status"]).0, 0, "running at first");
    // Watch the socket file rather than asking: a question is activity and keeps it up.
    let sock = w.tmp.path().join("run/skillet/skillet.sock");
    assert!(
        eventually(Duration::from_secs(10), || !sock.exists()),
        "still running"
    );
    assert_eq!(w.run(&["daemon", "status"]).0, 1);
}

#[test]
fn an_error_and_its_cause_are_each_said_once() {
    let w = World::new();
    let open = w.tmp.path().join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let socket = open.join("s.sock");
    let (code, _, err) = w.run(&["serve", "--socket", socket.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert_eq!(err.matches("refusing to use it").count(), 1, "{err}");
}

/// Listens on the world's daemon socket as a daemon on its way out does: it accepts `n`
/// connections and lets each go without reading it. When `then_go` it stops listening and
/// removes the socket before letting the last one go, so a command that retries finds nobody.
fn departing_daemon(w: &World, n: usize, then_go: bool) -> std::thread::JoinHandle<()> {
    let socket = w.tmp.path().join("run/skillet/skillet.sock");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(socket.parent().unwrap())
        .unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // Accepting gives up after a while, so a client that never retries fails the test
    // instead of hanging it.
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        for i in 0..n {
            let Some(stream) = accept_within(&listener, Duration::from_secs(10)) else {
                break;
            };
            // The request unread when the connection goes: the client sees a reset or EPIPE.
            std::thread::sleep(Duration::from_millis(50));
            if then_go && i + 1 == n {
                // A daemon on its way out stops listening before its last connections close,
                // so the client's retry cannot reach it (a retry queued on the old listener
                // would be closed unanswered too, and fail the test by chance).
                std::fs::remove_file(&socket).unwrap();
                drop(listener);
                drop(stream);
                return;
            }
            drop(stream);
        }
        drop(listener);
    })
}

fn accept_within(
    listener: &std::os::unix::net::UnixListener,
    limit: Duration,
) -> Option<std::os::unix::net::UnixStream> {
    let mut stream = None;
    eventually(limit, || {
        stream = listener.accept().ok().map(|(s, _)| s);
        stream.is_some()
    });
    stream
}

#[test]
fn a_command_that_reaches_a_daemon_on_its_way_out_starts_another() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let departing = departing_daemon(&w, 1, true);
    let id = start(&w, &["sh"]);
    departing.join().unwrap();
    let (code, out, err) = send(&w, &id, "echo still here");
    assert_eq!((code, out.trim()), (0, "still here"), "{err}");
}

#[test]
fn a_daemon_that_never_reads_is_an_error_that_names_its_log() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    // Two: the request and the one retry.
    let departing = departing_daemon(&w, 2, false);
    let (code, _, err) = w.run(&["session", "start", "sh"]);
    departing.join().unwrap();
    // Not 141, as if stdout had closed: the daemon went away, and the user is told so.
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("closed the connection without answering") && err.contains("skillet.log"),
        "{err}"
    );
}

/// A command racing `daemon stop` is served, whatever the moment: the stopping daemon answers
/// what it read before it began to stop, says "stopping" (having done nothing) to what it reads
/// after, and stops listening, and the command asks the next daemon. None fails, none is served
/// twice.
#[test]
fn commands_racing_a_daemon_stop_are_all_served_once() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let rounds = 25;
    let mut started = Vec::new();
    for round in 0..rounds {
        start(&w, &["sh"]);
        let stopper = {
            let mut cmd = w.skillet();
            cmd.args(["daemon", "stop"]);
            std::thread::spawn(move || cmd.output().unwrap())
        };
        // Spread over the stop's course: before it, during the drain, after the listener.
        std::thread::sleep(Duration::from_millis((round % 5) * 3));
        let (code, out, err) = w.run(&["session", "start", "sh", "--json"]);
        assert_eq!(
            code,
            0,
            "round {round}: {err}\ndaemon log:\n{}",
            w.daemon_log()
        );
        let session: Value = serde_json::from_str(&out).unwrap();
        started.push(session["id"].as_str().unwrap().to_owned());
        assert!(stopper.join().unwrap().status.success());
    }
    // Each start made one session: the history knows each id once, and no other.
    let (code, out, err) = w.run(&["session", "list", "--limit", "0", "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    for id in &started {
        assert_eq!(
            listed.iter().filter(|s| s["id"] == id.as_str()).count(),
            1,
            "{id}"
        );
    }
    assert_eq!(listed.len(), 2 * rounds as usize, "{out}");
}

/// A stopping daemon answers what it is serving before it ends its sessions: an input under
/// way when `daemon stop` comes finishes and its answer arrives.
#[test]
fn a_daemon_stopped_mid_input_answers_it_first() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let id = start(&w, &["sh"]);
    let sender = {
        let mut cmd = w.skillet();
        cmd.args(["session", "send", &id, "sleep 1; echo finished"]);
        std::thread::spawn(move || cmd.output().unwrap())
    };
    std::thread::sleep(Duration::from_millis(300));
    // Two stops at once: the second finds the daemon already on its way out, and says so.
    let second = {
        let mut cmd = w.skillet();
        cmd.args(["daemon", "stop"]);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            cmd.output().unwrap()
        })
    };
    let (code, _, err) = w.run(&["daemon", "stop"]);
    assert_eq!(code, 0, "{err}");
    let second = second.join().unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let out = sender.join().unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        (Some(0), "finished"),
        "{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        w.daemon_log()
    );
}

/// In a container, every process's session may have begun outside its pid namespace, where
/// the kernel reads its session as 0: the daemon must still serve such commands (it once
/// panicked taking that 0 for a pid, and every command got "closed the connection").
#[test]
fn commands_whose_session_began_outside_the_pid_namespace_are_served() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    let script = format!(
        "set -e; cut -d' ' -f6 /proc/self/stat; id=$('{0}' session start sh); \
         '{0}' session send \"$id\" 'echo $((6*7))'; '{0}' daemon stop",
        skillet.display()
    );
    let out = w
        .command(std::path::Path::new("unshare"))
        .args([
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .args(["sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stdout}\n{stderr}\ndaemon log:\n{}",
        w.daemon_log()
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("0"), "the session reads as 0 in there");
    assert!(stdout.contains("42"), "{stdout}");
}
