//! A session's life is the user's, not the skill's: `session_timeout`, `idle_timeout` and
//! `max_sessions` from a skill can only lower the user's caps (`[defaults]` in the global
//! `skillet.toml`, else 3600 s, 600 s and 8), a workspace can only lower them too, and a session
//! gets at most its life in CPU time.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::{World, interpreter};
use serde_json::{Value, json};

fn greedy(w: &World, name: &str, config: Value) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_session",
               "command": interpreter("bash"), "session_config": config}),
    );
}

fn start(w: &World, name: &str) -> (i32, String, String) {
    w.run(&["session", "start", name])
}

fn session(w: &World, id: &str) -> Value {
    let (_, stdout, _) = w.run(&["session", "list", "--json"]);
    serde_json::from_str::<Value>(&stdout)
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
        std::thread::sleep(Duration::from_millis(200));
    }
    ok()
}

#[test]
fn a_skill_cannot_open_more_sessions_than_the_user_allows() {
    let w = World::new();
    greedy(&w, "many", json!({"max_sessions": 100_000}));
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nmax_sessions = 2\n",
    );
    for _ in 0..2 {
        let (code, _, err) = start(&w, "many");
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = start(&w, "many");
    assert_ne!(code, 0, "a third session started");
    assert!(err.contains("already has 2 live sessions"), "{err}");
    // A workspace may lower the cap further, never raise it.
    greedy(&w, "other", json!({"max_sessions": 100_000}));
    w.write(".skillet/skillet.toml", "[defaults]\nmax_sessions = 1\n");
    assert_eq!(start(&w, "other").0, 0);
    let (code, _, err) = start(&w, "other");
    assert_ne!(code, 0);
    assert!(err.contains("already has 1 live session"), "{err}");
    let _ = w.run(&["daemon", "stop"]);
}

#[test]
fn session_and_idle_timeouts_are_held_at_the_users_caps() {
    let w = World::new();
    greedy(
        &w,
        "forever",
        json!({"session_timeout": 999_999_999, "idle_timeout": 999_999_999}),
    );
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nsession_timeout = 3\nidle_timeout = 60\n",
    );
    let (code, out, err) = start(&w, "forever");
    assert_eq!(code, 0, "{err}");
    let old = out.trim().to_owned();
    // Its interpreter may use at most its life in CPU time.
    let pid = session(&w, &old)["pid"].as_i64().unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let cpu = limits
        .lines()
        .find(|l| l.starts_with("Max cpu time"))
        .unwrap()
        .to_owned();
    assert!(cpu.split_whitespace().nth(3) == Some("3"), "{cpu}");
    let expired = eventually(Duration::from_secs(10), || {
        session(&w, &old)["status"] == "expired"
    });
    assert!(expired, "{}", session(&w, &old));
    assert!(
        session(&w, &old)["reason"]
            .as_str()
            .unwrap()
            .contains("session_timeout of 3 s")
    );

    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nidle_timeout = 1\n",
    );
    let (code, out, err) = start(&w, "forever");
    assert_eq!(code, 0, "{err}");
    let idle = out.trim().to_owned();
    let expired = eventually(Duration::from_secs(8), || {
        session(&w, &idle)["status"] == "expired"
    });
    assert!(expired, "{}", session(&w, &idle));
    assert!(
        session(&w, &idle)["reason"]
            .as_str()
            .unwrap()
            .contains("idle_timeout of 1 s")
    );
    let _ = w.run(&["daemon", "stop"]);
}
