//! Sessions end to end: the real daemon started in the background by the CLI, real
//! interpreters in the sandbox, the real history database.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::{World, interpreter};
use serde_json::{Value, json};

fn session_skill(w: &World, name: &str, command: &str, extra: Value) {
    let mut skill =
        json!({"name": name, "description": "d", "type": "code_session", "command": command});
    if let (Value::Object(s), Value::Object(e)) = (&mut skill, extra) {
        s.extend(e);
    }
    w.skill(name, skill);
}

fn start(w: &World, args: &[&str]) -> String {
    let mut all = vec!["session", "start"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "start failed: {stderr}");
    stdout.trim().to_owned()
}

/// `session send ID INPUT`: (exit code, stdout, stderr).
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

fn status_of(w: &World, id: &str) -> Value {
    list(w)
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap_or(Value::Null)
}

/// Polls until `ok` holds or `limit` passes; returns whether it held.
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

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
                && common::alive(*pid as i32)
        })
        .collect()
}

#[test]
fn a_python_session_keeps_state_and_reports_each_input_status() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    let id = start(&w, &["py"]);
    assert_eq!(send(&w, &id, "x = 21").0, 0);
    let (code, out, _) = send(&w, &id, "x * 2");
    assert_eq!((code, out.as_str()), (0, "42\n"));
    let (code, out, _) = send(
        &w,
        &id,
        "def double(n):\n    return n * 2\n\nprint(double(x))",
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "42\n"),
        "a multi-line input runs as one"
    );
    let (code, _, err) = send(&w, &id, "1/0");
    assert_eq!(code, 1);
    assert!(err.contains("ZeroDivisionError"), "{err}");
    assert!(
        !err.contains("__skillet"),
        "skillet's helper frames are hidden: {err}"
    );
    let (code, out, _) = send(
        &w,
        &id,
        "sorted(k for k in globals() if not k.startswith('__'))",
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "['double', 'x']\n"),
        "the namespace holds only the user's names"
    );
    // Input may come on stdin.
    let out = w
        .skillet()
        .args(["session", "send", &id])
        .write_stdin("print(x + 1)")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "22\n");
}

#[test]
fn a_bash_session_keeps_variables_and_directory() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let id = start(&w, &["sh", "--name", "mine"]);
    let (code, _, err) = send(&w, &id, "cd /tmp; X=5; echo warn >&2; false");
    assert_eq!(code, 1, "the input's status is the exit code");
    assert_eq!(err, "warn\n");
    let (code, out, _) = send(&w, &id, "echo $X $PWD");
    assert_eq!((code, out.as_str()), (0, "5 /tmp\n"));
    let (code, out, _) = send(&w, &id, "for i in 1 2; do\n  echo $i\ndone");
    assert_eq!((code, out.as_str()), (0, "1\n2\n"));
    let (_, r) = (0, status_of(&w, &id));
    assert_eq!(
        (
            r["status"].as_str(),
            r["label"].as_str(),
            r["turns"].as_i64()
        ),
        (Some("live"), Some("mine"), Some(3))
    );
}

#[test]
fn a_node_session_keeps_state() {
    let node = interpreter("node");
    if !std::path::Path::new(&node).is_file() {
        eprintln!("SKIPPED: node is not installed");
        return;
    }
    let w = World::new();
    session_skill(&w, "js", &node, json!({}));
    let id = start(&w, &["js"]);
    assert_eq!(send(&w, &id, "let x = 20").0, 0);
    assert_eq!(send(&w, &id, "x + 22").1, "42\n");
    let (code, _, err) = send(&w, &id, "nope()");
    assert_eq!(code, 1);
    assert!(err.contains("ReferenceError"), "{err}");
}

#[test]
fn an_interpreter_killed_from_outside_makes_the_session_dead() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    let id = start(&w, &["py"]);
    let pid = status_of(&w, &id)["pid"].as_i64().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || status_of(&w, &id)["status"]
            == "dead"),
        "{}",
        status_of(&w, &id)
    );
    let (code, _, err) = send(&w, &id, "1");
    assert_eq!(code, 125);
    assert!(
        err.contains("is dead") && err.contains("status 137"),
        "{err}"
    );
}

#[test]
fn an_input_that_ends_the_interpreter_says_so_and_later_sends_are_refused() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let id = start(&w, &["sh"]);
    let (code, _, err) = send(&w, &id, "echo bye; exit 3");
    assert_eq!(code, 125);
    assert!(err.contains("exited with status 3"), "{err}");
    let (code, _, err) = send(&w, &id, "echo again");
    assert_eq!(code, 125);
    assert!(err.contains("skillet session start sh"), "{err}");
}

#[test]
fn idle_and_old_sessions_expire() {
    let w = World::new();
    let sh = interpreter("bash");
    session_skill(
        &w,
        "idle",
        &sh,
        json!({"session_config": {"idle_timeout": 1}}),
    );
    session_skill(
        &w,
        "old",
        &sh,
        json!({"session_config": {"session_timeout": 2}}),
    );
    let idle = start(&w, &["idle"]);
    let old = start(&w, &["old"]);
    // Kept busy, `old` is never idle, but it still reaches its age.
    let busy = eventually(Duration::from_secs(6), || {
        send(&w, &old, "true");
        status_of(&w, &old)["status"] == "expired"
    });
    assert!(busy, "{}", status_of(&w, &old));
    assert!(
        status_of(&w, &old)["reason"]
            .as_str()
            .unwrap()
            .contains("session_timeout")
    );
    let r = status_of(&w, &idle);
    assert_eq!(r["status"], "expired", "{r}");
    assert!(
        r["reason"].as_str().unwrap().contains("idle_timeout"),
        "{r}"
    );
}

#[test]
fn max_sessions_refuses_or_replaces_the_oldest() {
    let w = World::new();
    session_skill(
        &w,
        "two",
        &interpreter("bash"),
        json!({"session_config": {"max_sessions": 2}}),
    );
    let first = start(&w, &["two"]);
    let _second = start(&w, &["two"]);
    let (code, _, err) = w.run(&["session", "start", "two"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("max_sessions") && err.contains("--replace-oldest"),
        "{err}"
    );
    let third = start(&w, &["two", "--replace-oldest"]);
    assert_eq!(status_of(&w, &first)["status"], "closed");
    assert_eq!(status_of(&w, &third)["status"], "live");
}

#[test]
fn fifty_sessions_run_at_once_each_with_its_own_state() {
    let w = World::new();
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"session_config": {"max_sessions": 50}}),
    );
    // Above skillet's own cap of 8: the user raises it.
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nmax_sessions = 50\n",
    );
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50).map(|_| s.spawn(|| start(&w, &["py"]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    std::thread::scope(|s| {
        for (i, id) in ids.iter().enumerate() {
            let w = &w;
            s.spawn(move || assert_eq!(send(w, id, &format!("n = {i}")).0, 0));
        }
    });
    std::thread::scope(|s| {
        for (i, id) in ids.iter().enumerate() {
            let w = &w;
            s.spawn(move || assert_eq!(send(w, id, "n * 10").1, format!("{}\n", i * 10)));
        }
    });
    let live = list(&w).iter().filter(|s| s["status"] == "live").count();
    assert_eq!(live, 50);
}

#[test]
fn inputs_to_one_session_take_turns_while_other_sessions_answer() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    let a = start(&w, &["py"]);
    let b = start(&w, &["py"]);
    send(&w, &a, "seen = []");
    let answers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (w, a) = (&w, &a);
                s.spawn(move || {
                    send(
                        w,
                        a,
                        &format!("import time; time.sleep(0.05); seen.append({i}); len(seen)"),
                    )
                    .1
                })
            })
            .collect();
        // While `a` is busy, `b` answers at once.
        let (code, out, _) = send(&w, &b, "'b'");
        assert_eq!((code, out.as_str()), (0, "'b'\n"));
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut lengths: Vec<u32> = answers.iter().map(|a| a.trim().parse().unwrap()).collect();
    lengths.sort_unstable();
    assert_eq!(
        lengths,
        (1..=8).collect::<Vec<_>>(),
        "each input saw the ones before it, none at once"
    );
}

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
fn output_goes_from_one_session_to_another() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let a = start(&w, &["sh"]);
    let b = start(&w, &["sh"]);
    send(&w, &a, "echo 'echo from-a'");
    let (code, out, _) = w.run(&["session", "send", &b, "--from", &a]);
    assert_eq!((code, out.as_str()), (0, "from-a\n"));
    assert_eq!(w.run(&["session", "pipe", &a, &b]).0, 0);
    let (_, _, notes) = send(&w, &a, "echo 'V=piped'");
    assert!(notes.contains("sent on to session"), "{notes}");
    assert_eq!(send(&w, &b, "echo $V").1, "piped\n");
    assert_eq!(w.run(&["session", "pipe", &a, &b, "--stop"]).0, 0);
    send(&w, &a, "echo 'V=again'");
    assert_eq!(send(&w, &b, "echo $V").1, "piped\n", "the pipe is gone");
}

#[test]
fn a_jsonl_program_and_a_prompt_framed_repl_answer_one_input_at_a_time() {
    let w = World::new();
    w.write(
        ".skillet/skills/echo.py",
        "import json, sys\nfor line in sys.stdin:\n    req = json.loads(line)\n    print('log line', flush=True)\n    print(json.dumps({'id': req['id'], 'output': req['input'].upper(), 'status': 0 if req['input'] else 2}), flush=True)\n",
    );
    session_skill(
        &w,
        "upper",
        &interpreter("python3"),
        json!({"args": ["echo.py"], "working_dir": ".", "session_config": {"protocol": "jsonl"}}),
    );
    let id = start(&w, &["upper"]);
    let (code, out, err) = send(&w, &id, "hello");
    assert_eq!((code, out.as_str()), (0, "HELLO"), "{err}");
    assert!(
        err.contains("log line"),
        "stray lines are not the answer: {err}"
    );
    assert_eq!(
        send(&w, &id, "").0,
        2,
        "the response's status is the exit code"
    );

    w.write(
        ".skillet/skills/calc.sh",
        "printf 'calc> '\nwhile IFS= read -r line; do echo $((line)); printf 'calc> '; done\n",
    );
    session_skill(
        &w,
        "calc",
        &interpreter("bash"),
        json!({"args": ["calc.sh"], "working_dir": ".", "session_config": {"prompt": "calc> "}}),
    );
    let id = start(&w, &["calc"]);
    assert_eq!(send(&w, &id, "6 * 7").1, "42\n");
    assert_eq!(send(&w, &id, "1 + 1").1, "2\n");
}

#[test]
fn an_unknown_repl_without_a_prompt_is_refused_with_what_to_do() {
    let w = World::new();
    session_skill(&w, "cat", "cat", json!({}));
    let (code, _, err) = w.run(&["session", "start", "cat"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("session_config.prompt") && err.contains("jsonl"),
        "{err}"
    );
}

#[test]
fn run_with_session_sends_to_it_and_checks_the_skill() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    session_skill(&w, "other", &interpreter("python3"), json!({}));
    let id = start(&w, &["py"]);
    let (code, out, _) = w.run(&["run", "py", "--session", &id, "--stdin", "print(6 * 7)"]);
    assert_eq!((code, out.as_str()), (0, "42\n"));
    let (code, _, err) = w.run(&["run", "other", "--session", &id, "--stdin", "1"]);
    assert_eq!(code, 125);
    assert!(err.contains("not `other`"), "{err}");
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
fn a_session_runs_in_the_skills_sandbox() {
    let w = World::new();
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    w.write("~/secret.txt", "top secret");
    let id = start(&w, &["sh"]);
    let (code, _, _) = send(&w, &id, "echo x > \"$SKILLET_WORKSPACE/planted\"");
    assert_ne!(code, 0, "the workspace is read-only to a session");
    assert!(!w.path("planted").exists());
    let (code, out, _) = send(&w, &id, "echo ok > \"$HOME/mine\" && cat \"$HOME/mine\"");
    assert_eq!(
        (code, out.as_str()),
        (0, "ok\n"),
        "its scratch HOME is writable"
    );
    let secret = w.path("~/secret.txt").display().to_string();
    let (code, out, _) = send(&w, &id, &format!("cat {secret}"));
    assert!(
        code != 0 && !out.contains("top secret"),
        "the real home is out of reach"
    );
}

#[test]
fn an_input_past_the_timeout_kills_the_session_and_leaves_nothing() {
    let w = World::new();
    session_skill(&w, "slow", &interpreter("bash"), json!({"timeout": 1}));
    let marker = format!("skillet-slow-{}", std::process::id());
    let id = start(&w, &["slow"]);
    let (code, _, err) = send(&w, &id, &format!("exec -a {marker} sleep 30"));
    assert_eq!(code, 124, "{err}");
    assert!(err.contains("timeout of 1 s"), "{err}");
    assert_eq!(status_of(&w, &id)["status"], "dead");
    assert!(eventually(Duration::from_secs(5), || processes_with(
        &marker
    )
    .is_empty()));
}

#[test]
fn cleanup_on_exit_false_keeps_the_scratch_directory() {
    let w = World::new();
    session_skill(
        &w,
        "keep",
        &interpreter("bash"),
        json!({"session_config": {"cleanup_on_exit": false}}),
    );
    let id = start(&w, &["keep"]);
    send(&w, &id, "echo note > \"$HOME/notes.txt\"");
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);
    let reason = status_of(&w, &id)["reason"].as_str().unwrap().to_owned();
    let dir = reason
        .split("kept in ")
        .nth(1)
        .unwrap_or_else(|| panic!("{reason}"));
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(dir).join("notes.txt")).unwrap(),
        "note\n"
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
