//! Retries: a flaky skill recovers, each attempt is recorded, and only transient failures are
//! retried.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;

/// A skill that fails until it has been called `succeed_on` times (counted in a granted file).
fn flaky(w: &World, succeed_on: u32, retry: serde_json::Value) {
    std::fs::create_dir_all(w.path("state")).unwrap();
    let script = format!(
        "f=\"$SKILLET_WORKSPACE/state/count\"; n=$(( $(cat \"$f\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$f\"; echo attempt $n; [ $n -ge {succeed_on} ]"
    );
    w.skill(
        "flaky",
        json!({"name": "flaky", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", script], "retry": retry}),
    );
}

#[test]
fn a_flaky_skill_recovers_and_every_attempt_is_recorded() {
    let w = World::new();
    flaky(
        &w,
        3,
        json!({"max_attempts": 4, "initial_backoff_ms": 20, "max_backoff_ms": 50}),
    );
    let (code, r) = w.run_json(&["flaky", "--allow-write", "state"]);
    assert_eq!(
        (code, r["status"].as_str(), r["attempt"].as_u64()),
        (0, Some("ok"), Some(3)),
        "{r}"
    );
    assert_eq!(r["stdout"], "attempt 3\n");
    let notes = r["warnings"].to_string();
    assert!(
        notes.contains("attempt 1 of 4 failed (exit code 1); retried after"),
        "{notes}"
    );
    let (_, stdout, _) = w.run(&["history", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let seen: Vec<(i64, &str)> = rows
        .iter()
        .rev()
        .map(|r| {
            (
                r["attempt"].as_i64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(1, "failed"), (2, "failed"), (3, "ok")]);
    assert!(
        rows.iter()
            .all(|row| row["correlation_id"] == r["correlation_id"])
    );
    assert_eq!(
        rows.last().unwrap()["id"],
        r["correlation_id"],
        "the first attempt's id correlates them"
    );
}

#[test]
fn retries_stop_at_max_attempts() {
    let w = World::new();
    flaky(
        &w,
        10,
        json!({"max_attempts": 2, "initial_backoff_ms": 10, "max_backoff_ms": 10}),
    );
    let (code, r) = w.run_json(&["flaky", "--allow-write", "state"]);
    assert_eq!(
        (code, r["status"].as_str(), r["attempt"].as_u64()),
        (1, Some("failed"), Some(2)),
        "{r}"
    );
    assert_eq!(
        std::fs::read_to_string(w.path("state/count"))
            .unwrap()
            .trim(),
        "2"
    );
}

#[test]
fn only_listed_exit_codes_are_retried_when_a_list_is_given() {
    let w = World::new();
    flaky(
        &w,
        3,
        json!({"max_attempts": 3, "initial_backoff_ms": 10, "retry_on_exit_codes": [75]}),
    );
    let (_, r) = w.run_json(&["flaky", "--allow-write", "state"]);
    assert_eq!(
        (r["status"].as_str(), r["attempt"].as_u64()),
        (Some("failed"), Some(1)),
        "exit 1 is not listed: {r}"
    );
}

#[test]
fn invalid_parameters_and_sandbox_refusals_are_never_retried() {
    let w = World::new();
    w.skill(
        "typed",
        json!({"name": "typed", "description": "d", "type": "code_inline", "command": "true",
        "retry": {"max_attempts": 5, "initial_backoff_ms": 10},
        "parameters": [{"name": "n", "type": "integer", "required": true}]}),
    );
    let (code, r) = w.run_json(&["typed", "-p", "n=x"]);
    assert_eq!((code, r["attempt"].as_u64()), (2, Some(1)));
    w.skill("escape", json!({"name": "escape", "description": "d", "type": "code_inline", "command": "perl",
        "args": ["-e", "my $p = \"\\0\" x 64; syscall(425, 8, $p)"], "retry": {"max_attempts": 5, "initial_backoff_ms": 10}}));
    let (code, r) = w.run_json(&["escape"]);
    assert_eq!(
        (code, r["status"].as_str(), r["attempt"].as_u64()),
        (159, Some("sandbox_denied"), Some(1)),
        "{r}"
    );
}
