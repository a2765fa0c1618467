//! Skill state, end to end: what one run writes the next reads; a run that fails, is killed or
//! times out commits nothing; concurrent runs lose no update; a failed migration keeps the old
//! state; a skill never reaches another's state; the size limit holds.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::process::Stdio;

use common::state::export;
use common::{World, interpreter};
use serde_json::{Value, json};

/// Python that adds one to `count` in the state document, after `pause` seconds between
/// reading and writing (to make concurrent runs overlap), and prints the new count.
fn counter_code(pause: f64) -> String {
    format!(
        "import json, os, time\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
         time.sleep({pause})\ns['count'] = s.get('count', 0) + 1\n\
         open(p, 'w').write(json.dumps(s))\nprint(s['count'])"
    )
}

fn counter(w: &World, name: &str, pause: f64, state: Value) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline",
               "command": interpreter("python3"), "args": ["-c", counter_code(pause)],
               "state": state}),
    );
}

#[test]
fn state_written_by_one_run_is_read_by_the_next_and_the_cli_shows_and_changes_it() {
    let w = World::new();
    counter(&w, "counter", 0.0, json!({"version": 1}));
    for expected in 1..=3 {
        let (code, r) = w.run_json(&["counter"]);
        assert_eq!(
            (code, r["stdout"].as_str()),
            (0, Some(&*format!("{expected}\n"))),
            "{r}"
        );
    }
    assert_eq!(w.run(&["state", "get", "counter", "count"]).1.trim(), "3");
    let (code, listed) = {
        let (code, out, _) = w.run(&["state", "ls", "--json"]);
        (code, serde_json::from_str::<Value>(&out).unwrap())
    };
    assert_eq!(code, 0);
    assert_eq!(listed[0]["skill"], "counter", "{listed}");
    assert_eq!(listed[0]["keys"], json!(["count"]));
    assert_eq!(listed[0]["scope"], "workspace");
    assert_eq!(listed[0]["version"], 1);

    // The CLI's changes are what the next run reads.
    assert_eq!(w.run(&["state", "set", "counter", "count", "41"]).0, 0);
    assert_eq!(
        w.run(&["state", "set", "counter", "note", "hello there"]).0,
        0
    );
    assert_eq!(w.run_json(&["counter"]).1["stdout"], "42\n");
    assert_eq!(
        export(&w, "counter"),
        json!({"count": 42, "note": "hello there"})
    );
    assert_eq!(w.run(&["state", "rm", "counter", "note"]).0, 0);
    let (code, _, err) = w.run(&["state", "get", "counter", "note"]);
    assert_eq!(code, 1, "{err}");

    // export | import round-trips, and clear starts over.
    let saved = export(&w, "counter");
    assert_eq!(w.run(&["state", "clear", "counter"]).0, 0);
    assert_eq!(export(&w, "counter"), json!({}));
    let mut import = w.skillet();
    let out = import
        .args(["state", "import", "counter"])
        .write_stdin(saved.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(w.run_json(&["counter"]).1["stdout"], "43\n");
}

#[test]
fn a_run_that_fails_times_out_or_is_killed_commits_nothing() {
    let w = World::new();
    counter(&w, "counter", 0.0, json!({"version": 1}));
    assert_eq!(w.run_json(&["counter"]).1["stdout"], "1\n");
    let writes_then = |tail: &str| {
        format!(
            "import json, os, signal, sys, time\np = os.environ['SKILLET_STATE']\n\
             open(p, 'w').write(json.dumps({{'count': 1000}}))\n{tail}"
        )
    };
    for (name, tail, status) in [
        ("fails", "sys.exit(3)", "failed"),
        ("killed", "os.kill(os.getpid(), signal.SIGKILL)", "failed"),
        ("slow", "time.sleep(30)", "timeout"),
    ] {
        // The same skill identity: the runs write `counter`'s state.
        w.skill(
            "counter",
            json!({"name": "counter", "description": "d", "type": "code_inline",
                   "command": interpreter("python3"), "args": ["-c", writes_then(tail)],
                   "timeout": 2, "state": {"version": 1}}),
        );
        let (_, r) = w.run_json(&["counter"]);
        assert_eq!(r["status"], status, "{name}: {r}");
        assert_eq!(
            export(&w, "counter"),
            json!({"count": 1}),
            "{name} committed"
        );
    }
}

#[test]
fn eight_concurrent_writers_lose_no_update() {
    let w = World::new();
    counter(
        &w,
        "counter",
        0.3,
        json!({"version": 1, "on_conflict": "retry"}),
    );
    // Half as scripts read them (`n=$(skillet run counter)`), half as JSON.
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
            cmd.args(["run", "counter"])
                .args((i % 2 == 0).then_some("--json"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (i % 2 == 0, cmd.spawn().unwrap())
        })
        .collect();
    let mut printed: Vec<u64> = children
        .into_iter()
        .map(|(json, c)| {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if !json {
                // Only the run that was saved is shown, not the ones that lost to another.
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
                return stdout.trim().parse().unwrap();
            }
            let r: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!(r["status"], "ok", "{r}");
            r["stdout"].as_str().unwrap().trim().parse().unwrap()
        })
        .collect();
    printed.sort_unstable();
    // Each committed run saw the one before it: every count from 1 to 8, once.
    assert_eq!(printed, (1..=8).collect::<Vec<u64>>());
    assert_eq!(export(&w, "counter"), json!({"count": 8}));
}

#[test]
fn on_conflict_fail_says_so_and_commits_nothing() {
    let w = World::new();
    counter(
        &w,
        "counter",
        1.5,
        json!({"version": 1, "on_conflict": "fail"}),
    );
    let mut slow = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
    let slow = slow
        .args(["run", "counter", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The CLI commits while the run sleeps between its read and its write.
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(w.run(&["state", "set", "counter", "count", "100"]).0, 0);
    let out = slow.wait_with_output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "error", "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(
        error.contains("another run of `counter` saved its state"),
        "{error}"
    );
    assert!(error.contains("on_conflict"), "{error}");
    assert_eq!(export(&w, "counter"), json!({"count": 100}));
}

#[test]
fn a_migration_that_fails_leaves_the_old_state_and_one_that_works_lifts_it() {
    let w = World::new();
    let skill = |version: u32, migration: &str| {
        w.write(".skillet/skills/notes/migrate_v1_v2.py", migration);
        let mut state = json!({"version": version});
        if version > 1 {
            state["migrate"] = json!({"1": [interpreter("python3"), "migrate_v1_v2.py"]});
        }
        w.write(
            ".skillet/skills/notes/skill.json",
            &json!({"name": "notes", "description": "d", "type": "code_inline",
                    "command": interpreter("python3"),
                    "args": ["-c", "import os; print(open(os.environ['SKILLET_STATE']).read())"],
                    "state": state})
            .to_string(),
        );
    };
    skill(1, "");
    assert_eq!(w.run(&["state", "set", "notes", "n", "5"]).0, 0);
    skill(
        2,
        "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
         s['total'] = s.pop('n') * 10\nopen(p, 'w').write(json.dumps(s))\nraise SystemExit(4)\n",
    );
    let (_, r) = w.run_json(&["notes"]);
    assert_eq!(r["status"], "error", "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(
        error.contains("migration of `notes`'s state from version 1 to 2"),
        "{error}"
    );
    assert!(error.contains("stays at version 1"), "{error}");
    assert_eq!(export(&w, "notes"), json!({"n": 5}));
    let (_, out, _) = w.run(&["state", "ls", "notes", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()[0]["version"],
        1
    );

    skill(
        2,
        "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
         s['total'] = s.pop('n') * 10\nopen(p, 'w').write(json.dumps(s))\n",
    );
    let (_, r) = w.run_json(&["notes"]);
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(
        serde_json::from_str::<Value>(r["stdout"].as_str().unwrap()).unwrap(),
        json!({"total": 50})
    );
    let (_, out, _) = w.run(&["state", "ls", "notes", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()[0]["version"],
        2
    );
}

#[test]
fn a_document_past_the_size_limit_or_not_json_is_refused_and_nothing_is_committed() {
    let w = World::new();
    counter(&w, "counter", 0.0, json!({"version": 1}));
    assert_eq!(w.run_json(&["counter"]).1["stdout"], "1\n");
    let write = |text: &str, max_kb: Option<u64>| {
        let mut state = json!({"version": 1});
        if let Some(kb) = max_kb {
            state["max_kb"] = kb.into();
        }
        w.skill(
            "counter",
            json!({"name": "counter", "description": "d", "type": "code_inline",
                   "command": interpreter("python3"),
                   "args": ["-c", format!("import os\nopen(os.environ['SKILLET_STATE'], 'w').write({text})")],
                   "state": state}),
        );
        w.run_json(&["counter"]).1
    };
    // 2 MiB: over the default limit of 1024 KiB.
    let r = write("'\"' + 'x' * (2 << 20) + '\"'", None);
    assert_eq!(r["status"], "error", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("over the state limit of 1024 KiB"),
        "{r}"
    );
    // A skill may ask for less, and is held to it.
    let r = write("'\"' + 'x' * 3000 + '\"'", Some(2));
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("over the state limit of 2 KiB"),
        "{r}"
    );
    // It cannot ask for more than the user allows: held at 1024 KiB, with a word.
    let r = write("'\"' + 'x' * (2 << 20) + '\"'", Some(1 << 20));
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("over the state limit of 1024 KiB"),
        "{r}"
    );
    let r = write("'{not json'", None);
    assert!(
        r["error"].as_str().unwrap().contains("not valid JSON"),
        "{r}"
    );
    assert_eq!(export(&w, "counter"), json!({"count": 1}));
    // The user raises the cap in the global file.
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nmax_state_kb = 4096\n",
    );
    let r = write("'\"' + 'x' * (2 << 20) + '\"'", Some(1 << 20));
    assert_eq!(r["status"], "ok", "{r}");
}

#[test]
fn state_is_checked_where_it_is_declared() {
    let w = World::new();
    w.write(
        ".skillet/skills/bad.json",
        "{\"name\": \"bad\", \"description\": \"d\", \"type\": \"code_inline\", \"command\": \"true\",\n \"state\": {\"version\": 1, \"on_conflcit\": \"retry\", \"migrate\": {\"7\": []}}}\n",
    );
    let (code, out, err) = w.run(&["validate"]);
    let all = format!("{out}{err}");
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("bad.json:2:"), "{all}");
    assert!(all.contains("on_conflict"), "did you mean: {all}");
}
