//! `skillet logs` as a user runs it: the tails of runs' output and the daemon's own lines,
//! found by skill, execution, level, time and pattern; credentials never kept; `--follow`;
//! `--log-format json`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};

fn sh_skill(w: &World, name: &str, script: &str) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", script]}),
    );
}

/// `skillet logs ARGS --json`, parsed line by line.
fn logs(w: &World, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["logs", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = w.run(&all);
    assert_eq!(code, 0, "{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect()
}

#[test]
fn a_runs_output_is_found_by_skill_execution_and_pattern() {
    let w = World::new();
    sh_skill(
        &w,
        "chatty",
        "for i in $(seq 1 60); do echo \"step $i\"; done; echo 'Connection REFUSED by 10.0.0.7' >&2; exit 2",
    );
    sh_skill(&w, "quiet", "echo 'all good'");
    let (_, first) = w.run_json(&["chatty"]);
    w.run_json(&["quiet"]);
    w.run_json(&["chatty"]);
    let id = first["execution_id"].as_str().unwrap();

    let chatty = logs(&w, &["--skill", "chatty", "--lines", "0"]);
    // The tail: the last 40 lines of stdout (steps 21-60) and stderr, per run.
    assert_eq!(chatty.len(), 2 * 41, "{chatty:#?}");
    assert!(!messages(&chatty).contains(&"step 20"));
    assert!(messages(&chatty).contains(&"step 21"));
    assert!(chatty.iter().all(|l| l["skill"] == "chatty"));

    // A prefix as long as `history` needs to tell runs apart (UUIDv7: time first).
    let one = logs(&w, &["--execution", &id[..23], "--lines", "0"]);
    assert_eq!(one.len(), 41);
    assert!(one.iter().all(|l| l["execution_id"] == id));
    let last = one.last().unwrap();
    assert_eq!(
        (last["source"].as_str(), last["level"].as_str()),
        (Some("stderr"), Some("info"))
    );

    // A pattern with a literal (looked up in the index) and one without.
    let refused = logs(&w, &["--grep", "(?i)refused by \\d+\\.", "--lines", "0"]);
    assert_eq!(messages(&refused), ["Connection REFUSED by 10.0.0.7"; 2]);
    let digits = logs(
        &w,
        &["--grep", "^step 5\\d$", "--skill", "chatty", "-n", "0"],
    );
    assert_eq!(digits.len(), 2 * 10);
    assert!(
        logs(&w, &["--grep", "refused by"]).is_empty(),
        "case-sensitive"
    );

    // The newest N, oldest first; --level: a run's output is info.
    let newest = logs(&w, &["-n", "3"]);
    assert_eq!(messages(&newest)[2], "Connection REFUSED by 10.0.0.7");
    assert!(newest[0]["id"].as_i64() < newest[1]["id"].as_i64());
    assert!(logs(&w, &["--level", "warn"]).is_empty());
    assert_eq!(logs(&w, &["--since", "1h", "--skill", "quiet"]).len(), 1);

    // As text: time, level, source, skill, the execution id, the message.
    let (code, text, _) = w.run(&["logs", "--execution", id, "-n", "1"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("INFO") && text.contains("stderr") && text.contains(id),
        "{text}"
    );
}

#[test]
fn credentials_in_output_are_not_kept() {
    let w = World::new();
    // A credential of the user's environment, by value, wherever a skill got it from.
    w.write("notes.txt", "db pass hunter2-Very-Secret-42\n");
    sh_skill(
        &w,
        "leaky",
        "cat notes.txt; echo 'using ghp_abcdefghijklmnopqrstuvwxyz0123456789 and https://bob:pw123456@db.example/x'; \
         echo 'commit 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e'",
    );
    let out = w
        .skillet()
        .args(["run", "leaky"])
        .env("DEPLOY_PASSWORD", "hunter2-Very-Secret-42")
        .output()
        .unwrap();
    // The run itself answers in full: the caller asked for it.
    assert!(String::from_utf8_lossy(&out.stdout).contains("hunter2-Very-Secret-42"));
    let kept = logs(&w, &["-n", "0"]);
    let text = messages(&kept).join("\n");
    for secret in ["hunter2-Very-Secret-42", "ghp_abcdef", "pw123456"] {
        assert!(!text.contains(secret), "{secret} kept:\n{text}");
    }
    assert!(text.contains("db pass [redacted]"), "{text}");
    // A commit hash is not a credential.
    assert!(
        text.contains("commit 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e"),
        "{text}"
    );

    // Whatever the punctuation around a token, and whatever form a secret takes.
    sh_skill(
        &w,
        "leaky2",
        "echo '(ghp_0123456789abcdefghijklmnopqrstuvwxyzAB)'; echo 'key:`sk-abcdefghijklmnop0123`'; \
         echo '> Authorization: Bearer abcdefOPAQUEbearer1234567890'; echo 'Password=hunter2x;Server=db'; \
         echo 'postgres://app:pa/ss@word@db/app'",
    );
    w.run(&["run", "leaky2"]);
    let text = messages(&logs(&w, &["--skill", "leaky2", "-n", "0"])).join("\n");
    for secret in [
        "0123456789abcdef",
        "sk-abcdef",
        "OPAQUE",
        "hunter2x",
        "pa/ss",
    ] {
        assert!(!text.contains(secret), "{secret} kept:\n{text}");
    }

    // The byte bound cuts no secret in half: a line it would split is left out.
    sh_skill(
        &w,
        "cut",
        "printf 'my token is ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\\n'; head -c 4055 /dev/zero | tr '\\0' x; echo",
    );
    w.run(&["run", "cut"]);
    let text = messages(&logs(&w, &["--skill", "cut", "-n", "0"])).join("\n");
    assert!(!text.contains("0123456789abcdef"), "{text}");

    // A value quoted in a parameter error is not kept either ([history] store_params is off).
    w.skill(
        "pin",
        json!({"name": "pin", "description": "d", "type": "code_inline", "command": "true",
               "parameters": [{"name": "pin", "type": "integer", "required": true}]}),
    );
    let (code, _, stderr) = w.run(&["run", "pin", "-p", "pin=hunter2secret"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("hunter2secret"),
        "the caller is told: {stderr}"
    );
    let (_, history, _) = w.run(&["history", "--json", "--limit", "1"]);
    assert!(!history.contains("hunter2secret"), "{history}");
}

#[test]
fn store_output_false_keeps_no_output() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[history]\nstore_output = false\n",
    );
    sh_skill(&w, "said", "echo something");
    w.run_json(&["said"]);
    assert!(logs(&w, &["-n", "0"]).is_empty());
    assert_eq!(w.run(&["history", "--json"]).0, 0);
}

#[test]
fn the_daemons_lines_are_kept_with_their_skill_and_execution() {
    let w = World::new();
    sh_skill(&w, "bg", "echo from the background; exit 4");
    let (code, job, stderr) = w.run(&["run", "bg", "--detach"]);
    assert_eq!(code, 0, "{stderr}");
    let job = job.trim().to_owned();
    w.run(&["jobs", "wait", &job]);
    // The daemon keeps its lines every half second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let found = logs(&w, &["--skill", "bg", "--grep", "^job "]);
        if let Some(l) = found.first() {
            break l.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no job line; daemon log:\n{}",
            w.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(line["source"], "skillet");
    assert_eq!(line["target"], "skillet::daemon");
    assert!(line["message"].as_str().unwrap().contains(&job), "{line}");
    let execution = line["execution_id"].as_str().unwrap();
    // The same execution's output is found by the id the daemon's line carries.
    let output = logs(&w, &["--execution", execution, "--grep", "background"]);
    assert_eq!(output.len(), 1, "{output:#?}");
}

#[test]
fn follow_prints_lines_as_they_are_kept() {
    let w = World::new();
    sh_skill(&w, "tick", "echo tick-$$");
    w.run_json(&["tick"]);
    let mut follower = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["logs", "--follow", "--json", "--skill", "tick", "-n", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    w.run_json(&["tick"]);
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    // The end of its input stops it.
    drop(follower.stdin.take());
    let status = follower.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(second["id"].as_i64() > first["id"].as_i64());
    assert_ne!(second["execution_id"], first["execution_id"]);
}

#[test]
fn bad_filters_are_usage_errors_that_say_what_to_write() {
    let w = World::new();
    for (args, says) in [
        (
            &["logs", "--grep", "(unclosed"][..],
            "not a regular expression",
        ),
        (
            &["logs", "--level", "loud"][..],
            "write error, warn, info or debug",
        ),
        (&["logs", "--since", "yesterday"][..], "like 90s, 15m"),
    ] {
        let (code, _, stderr) = w.run(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn log_format_json_writes_json_lines() {
    let w = World::new();
    sh_skill(&w, "bg", "true");
    let (_, _, stderr) = w.run(&["-v", "--log-format", "json", "list"]);
    let events: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!events.is_empty(), "{stderr}");
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["target"].is_string())
    );
    // The daemon's log follows SKILLET_LOG_FORMAT.
    let out = w
        .skillet()
        .args(["run", "bg", "--detach"])
        .env("SKILLET_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let job = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    w.run(&["jobs", "wait", &job]);
    let log = w.daemon_log();
    let daemon: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        daemon
            .iter()
            .any(|e| e["target"] == "skillet::daemon" && e["ts"].is_string()),
        "{log}"
    );
}
