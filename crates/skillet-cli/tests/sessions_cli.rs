//! Sessions end to end: the real daemon started in the background by the CLI, real
//! interpreters in the sandbox, the real history database.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::sessions::{eventually, list, processes_with, send, session_skill, start, status_of};
use common::{World, interpreter};
use serde_json::json;

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
fn an_empty_session_id_names_no_session_even_when_only_one_is_live() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    let id = start(&w, &["py"]);
    assert_eq!(send(&w, &id, "secret = 'mine'").0, 0);
    // A script's unset `$SID`: any prefix of the only live id would name it, but "" does not.
    let (code, out, err) = send(&w, "", "print(secret)");
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains("mine"), "{out}");
    assert!(err.contains("empty session id"), "{err}");
    for verb in ["close", "logs"] {
        let (code, out, err) = w.run(&["session", verb, ""]);
        assert_ne!(code, 0, "session {verb} \"\": {out}");
        assert!(err.contains("empty session id"), "session {verb}: {err}");
    }
    // The session was not touched, and a real prefix still names it.
    let (code, out, err) = send(&w, &id[..8], "print(secret)");
    assert_eq!((code, out.as_str()), (0, "mine\n"), "{err}");
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
