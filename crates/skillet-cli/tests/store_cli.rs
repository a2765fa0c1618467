//! `[store] url`: several machines on one PostgreSQL store, as a team runs them. Each `World`
//! is a machine of its own (its own home, configuration, data directory and workspace); what
//! they share is only the database.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;
use skillet_store_postgres::test_server::fresh_url;

/// A machine whose global skillet.toml points at `url`.
fn machine(url: &str) -> World {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[store]\nurl = \"{url}\"\n"),
    );
    w
}

/// A skill that fails while `state/broken` exists in its workspace.
fn fragile(w: &World) {
    std::fs::create_dir_all(w.path("state")).unwrap();
    w.skill(
        "fragile",
        json!({"name": "fragile", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "if [ -e \"$SKILLET_WORKSPACE/state/broken\" ]; then exit 1; fi; echo fine"],
            "circuit_breaker": {"failure_threshold": 2, "reset_after_s": 60}}),
    );
}

#[test]
fn a_breaker_opened_on_one_machine_refuses_calls_on_another() {
    let Some(url) = fresh_url() else { return };
    let (a, b) = (machine(&url), machine(&url));
    fragile(&a);
    fragile(&b);
    std::fs::write(a.path("state/broken"), "").unwrap();
    for _ in 0..2 {
        let (code, r) = a.run_json(&["fragile"]);
        assert_eq!((code, r["status"].as_str()), (1, Some("failed")), "{r}");
    }
    // B's own copy of the skill works, but the circuit the team shares is open.
    let (code, r) = b.run_json(&["fragile"]);
    assert_eq!(
        (code, r["status"].as_str()),
        (75, Some("circuit_open")),
        "{r}"
    );
    // Reset on B, and A may call again.
    let (code, _, stderr) = b.run(&["breaker", "reset", "fragile"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_file(a.path("state/broken")).unwrap();
    let (code, r) = a.run_json(&["fragile"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("fine\n")), "{r}");
    // Both machines' runs are in one history.
    let (_, stdout, _) = b.run(&["history", "fragile", "--json", "--limit", "0"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 4, "{stdout}");
}

#[test]
fn skill_state_written_on_one_machine_is_read_on_another() {
    let Some(url) = fresh_url() else { return };
    let (a, b) = (machine(&url), machine(&url));
    // The user's own skill (global scope), with state kept for every workspace: the same
    // document on both machines.
    let code = "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
                s['count'] = s.get('count', 0) + 1\nopen(p, 'w').write(json.dumps(s))\nprint(s['count'])";
    for w in [&a, &b] {
        w.write(
            "~/.config/skillet/skills/counter.json",
            &json!({"name": "counter", "description": "d", "type": "code_inline",
                "command": common::interpreter("python3"), "args": ["-c", code],
                "state": {"scope": "global"}})
            .to_string(),
        );
    }
    let (code, ra) = a.run_json(&["counter"]);
    assert_eq!(code, 0, "{ra}");
    let (code, rb) = b.run_json(&["counter"]);
    assert_eq!(code, 0, "{rb}");
    assert_eq!(
        (ra["stdout"].as_str(), rb["stdout"].as_str()),
        (Some("1\n"), Some("2\n")),
        "B must see what A committed"
    );
}

#[test]
fn status_migrate_and_copy_move_a_users_history_into_the_team_store() {
    let Some(url) = fresh_url() else { return };
    let w = World::new();
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline", "command": "echo", "args": ["hi"]}),
    );
    for _ in 0..3 {
        assert_eq!(w.run_json(&["hello"]).0, 0);
    }
    // A skill with state, which the copy carries along.
    let counter = "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
                   s['count'] = s.get('count', 0) + 1\nopen(p, 'w').write(json.dumps(s))\nprint(s['count'])";
    w.skill(
        "counter",
        json!({"name": "counter", "description": "d", "type": "code_inline",
            "command": common::interpreter("python3"), "args": ["-c", counter],
            "state": {"version": 1}}),
    );
    let (code, r) = w.run_json(&["counter"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("1\n")), "{r}");
    let (code, stdout, stderr) = w.run(&["store", "status", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            status["backend"].as_str(),
            status["rows"]["executions"].as_i64()
        ),
        (Some("sqlite"), Some(4)),
        "{status}"
    );

    let (code, stdout, stderr) =
        w.run(&["store", "copy", "--from", "sqlite", "--to", &url, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            report["executions"].as_u64(),
            report["executions_present"].as_u64(),
            report["states"].as_u64()
        ),
        (Some(4), Some(0), Some(1)),
        "{report}"
    );
    // Again: nothing is added twice.
    let (_, stdout, _) = w.run(&["store", "copy", "--to", &url, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            report["executions"].as_u64(),
            report["executions_present"].as_u64(),
            report["states_present"].as_u64()
        ),
        (Some(0), Some(4), Some(1)),
        "{report}"
    );

    // Now point this machine at the team store: its history is there.
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[store]\nurl = \"{url}\"\n"),
    );
    let (code, stdout, stderr) = w.run(&["store", "migrate", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let migrated: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        migrated["from_version"], migrated["to_version"],
        "copy made the schema"
    );
    let (_, stdout, _) = w.run(&["history", "--json", "--limit", "0"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.len(), 4, "{stdout}");
    // The state came along: the next run counts on from it.
    let (code, r) = w.run_json(&["counter"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("2\n")), "{r}");
    let (code, stdout, _) = w.run(&["store", "status"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("backend    postgres") && stdout.contains("up to date"),
        "{stdout}"
    );
}

#[test]
fn a_store_that_cannot_be_reached_says_so_and_runs_still_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[store]\nurl = \"postgres://team:s3cret-pw@127.0.0.1:{port}/skillet?connect_timeout=2\"\n"),
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline", "command": "echo", "args": ["hi"]}),
    );
    let (code, stdout, stderr) = w.run(&["run", "hello"]);
    assert_eq!((code, stdout.as_str()), (0, "hi\n"), "{stderr}");
    assert!(
        stderr.contains("cannot reach the store at postgres://team:***@127.0.0.1"),
        "the run should warn that it was not recorded, and why: {stderr}"
    );
    let (code, stdout, stderr) = w.run(&["store", "status"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("reachable  no"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains("s3cret-pw"), "the password is shown: {text}");
    }
}

#[test]
fn a_workspace_cannot_point_the_store_elsewhere() {
    let Some(url) = fresh_url() else { return };
    let w = World::new();
    // A cloned repository's configuration names a database its author reads.
    w.write(
        ".skillet/skillet.toml",
        &format!("[store]\nurl = \"{url}\"\n"),
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline", "command": "echo", "args": ["hi"]}),
    );
    let (code, _, stderr) = w.run(&["run", "hello"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("[store]"),
        "the ignored section should be named: {stderr}"
    );
    let (_, stdout, _) = w.run(&["store", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["backend"].as_str(), Some("sqlite"), "{status}");
}

#[test]
fn no_skill_reads_the_store_password_file_wherever_it_is() {
    let Some(url) = fresh_url() else { return };
    let w = World::new();
    // Kept where a skill can otherwise read (the workspace), under a name no rule masks.
    w.write("db-pass.txt", "correct-horse-battery\n");
    // Another name for it, made before the run (the user's, or an earlier run's doing).
    std::fs::create_dir_all(w.path("notes")).unwrap();
    std::fs::hard_link(w.path("db-pass.txt"), w.path("notes/linked.txt")).unwrap();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[store]\nurl = \"{url}\"\npassword_file = \"{}\"\n",
            w.path("db-pass.txt").display()
        ),
    );
    w.skill(
        "peek",
        json!({"name": "peek", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "cat \"$SKILLET_WORKSPACE/db-pass.txt\"; cat \"$SKILLET_WORKSPACE/notes/linked.txt\"; ln \"$SKILLET_WORKSPACE/db-pass.txt\" \"$HOME/x\" && cat \"$HOME/x\"; true"]}),
    );
    for extra in [
        &[][..],
        &["--allow-read", "db-pass.txt"][..],
        &["--allow-write", "."][..],
    ] {
        let mut args = vec!["run", "peek"];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = w.run(&args);
        assert!(
            !stdout.contains("correct-horse") && !stderr.contains("correct-horse"),
            "{extra:?}: the password was read (exit {code}): {stdout}{stderr}"
        );
    }
    // And the store itself was reached with it (trust authentication ignores it, but the file
    // was read by skillet).
    let (code, _, stderr) = w.run(&["store", "status"]);
    assert_eq!(code, 0, "{stderr}");
}
