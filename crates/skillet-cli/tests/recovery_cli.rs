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

/// A skill that fails while `state/broken` exists.
fn fragile(w: &World, breaker: serde_json::Value, fallback: Option<&str>) {
    std::fs::create_dir_all(w.path("state")).unwrap();
    let mut spec = json!({"name": "fragile", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "if [ -e \"$SKILLET_WORKSPACE/state/broken\" ]; then echo broken >&2; exit 1; fi; echo fine"],
        "circuit_breaker": breaker});
    if let Some(f) = fallback {
        spec["fallback"] = json!(f);
    }
    w.skill("fragile", spec);
}

#[test]
fn permanent_failure_opens_the_circuit_until_a_trial_succeeds() {
    let w = World::new();
    fragile(
        &w,
        json!({"failure_threshold": 2, "reset_after_s": 1}),
        None,
    );
    std::fs::write(w.path("state/broken"), "").unwrap();
    for _ in 0..2 {
        let (code, r) = w.run_json(&["fragile"]);
        assert_eq!((code, r["status"].as_str()), (1, Some("failed")), "{r}");
    }
    let started = std::time::Instant::now();
    let (code, r) = w.run_json(&["fragile"]);
    assert_eq!(
        (code, r["status"].as_str()),
        (75, Some("circuit_open")),
        "{r}"
    );
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("circuit open after 2 failed calls in a row"),
        "{r}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "a refusal is immediate"
    );
    let (_, stdout, _) = w.run(&["breaker", "--json"]);
    let breakers: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (breakers[0]["skill"].as_str(), breakers[0]["state"].as_str()),
        (Some("fragile"), Some("open"))
    );

    // After the reset time one trial goes through; it fails, so the circuit opens again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, _) = w.run_json(&["fragile"]);
    assert_eq!(code, 1, "the trial ran and failed");
    assert_eq!(
        w.run_json(&["fragile"]).0,
        75,
        "and the circuit is open again"
    );

    // Fixed: the next trial succeeds and closes it.
    std::fs::remove_file(w.path("state/broken")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, r) = w.run_json(&["fragile"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("fine\n")), "{r}");
    let (_, stdout, _) = w.run(&["breaker", "fragile", "--json"]);
    assert!(stdout.contains("\"closed\""), "{stdout}");
}

#[test]
fn a_breaker_can_be_reset_by_hand() {
    let w = World::new();
    fragile(
        &w,
        json!({"failure_threshold": 1, "reset_after_s": 3600}),
        None,
    );
    std::fs::write(w.path("state/broken"), "").unwrap();
    w.run_json(&["fragile"]);
    assert_eq!(w.run_json(&["fragile"]).0, 75);
    std::fs::remove_file(w.path("state/broken")).unwrap();
    let (code, stdout, _) = w.run(&["breaker", "reset", "fragile"]);
    assert_eq!(
        (code, stdout.trim()),
        (0, "closed the circuit of `fragile`")
    );
    assert_eq!(w.run_json(&["fragile"]).0, 0);
}

#[test]
fn a_fallback_answers_for_a_failed_call_and_for_an_open_circuit() {
    let w = World::new();
    fragile(
        &w,
        json!({"failure_threshold": 1, "reset_after_s": 3600}),
        Some("backup"),
    );
    w.skill("backup", json!({"name": "backup", "description": "d", "type": "prompt_inline", "prompt_template": "from backup"}));
    std::fs::write(w.path("state/broken"), "").unwrap();
    for expected_first in ["failed", "circuit_open"] {
        let (code, r) = w.run_json(&["fragile"]);
        assert_eq!(
            (code, r["skill"].as_str(), r["stdout"].as_str()),
            (0, Some("backup"), Some("from backup")),
            "{r}"
        );
        assert_eq!(r["fallback_from"], "fragile");
        assert!(
            r["warnings"][0].as_str().unwrap().contains(&format!(
                "`fragile` ended {expected_first}; its fallback `backup` answered"
            )),
            "{r}"
        );
    }
    // The fallback's execution is recorded under the primary's correlation id, with it as parent.
    let (_, stdout, _) = w.run(&["history", "--json", "--limit", "2"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (rows[0]["skill"].as_str(), rows[1]["skill"].as_str()),
        (Some("backup"), Some("fragile"))
    );
    assert_eq!(rows[0]["correlation_id"], rows[1]["correlation_id"]);
    assert_eq!(rows[0]["parent_id"], rows[1]["id"]);
}
