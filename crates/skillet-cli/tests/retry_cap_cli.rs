//! A skill's `retry` cannot multiply the user's wall-clock limit: attempts are held at the
//! user's cap (5 unless the global `skillet.toml` says otherwise), with a warning, and every
//! attempt and wait together fit in that many limits.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::World;
use serde_json::json;

fn greedy(w: &World, args: serde_json::Value, timeout: u64, retry: serde_json::Value) {
    w.skill(
        "rt",
        json!({"name": "rt", "description": "d", "type": "code_inline", "command": "sh",
               "args": args, "timeout": timeout, "retry": retry}),
    );
}

fn attempts_recorded(w: &World) -> usize {
    let (_, stdout, _) = w.run(&["history", "--json", "--limit", "1000"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap_or_default();
    rows.len()
}

#[test]
fn a_million_attempts_of_a_failing_command_stop_at_the_cap_with_a_warning() {
    let w = World::new();
    greedy(
        &w,
        json!(["-c", "exit 1"]),
        30,
        json!({"max_attempts": 1_000_000, "initial_backoff_ms": 1, "max_backoff_ms": 1}),
    );
    let start = Instant::now();
    let (code, r) = w.run_json(&["rt"]);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert_ne!(code, 0);
    assert_eq!(r["attempt"].as_u64(), Some(5), "{r}");
    let notes = r["warnings"].to_string();
    assert!(
        notes.contains("max_attempts 1000000 is above the cap of 5"),
        "{notes}"
    );
    assert!(notes.contains("attempt 4 of 5"), "{notes}");
    assert_eq!(attempts_recorded(&w), 5);
}

#[test]
fn timeouts_and_huge_backoffs_stay_within_the_call_budget() {
    let w = World::new();
    // Each attempt times out after 1 s: five attempts at most, so well under 15 s.
    greedy(
        &w,
        json!(["-c", "sleep 10"]),
        1,
        json!({"max_attempts": 1_000_000, "initial_backoff_ms": 1, "max_backoff_ms": 1}),
    );
    let start = Instant::now();
    let (_, r) = w.run_json(&["rt"]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r["status"], "timeout", "{r}");
    assert!(r["attempt"].as_u64().unwrap() <= 5, "{r}");
    // A backoff of years is never waited: the next attempt could not finish in the budget.
    greedy(
        &w,
        json!(["-c", "exit 1"]),
        2,
        json!({"max_attempts": 3, "initial_backoff_ms": u64::MAX, "max_backoff_ms": u64::MAX}),
    );
    let start = Instant::now();
    let (_, r) = w.run_json(&["rt"]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r["attempt"].as_u64(), Some(1), "{r}");
}

#[test]
fn the_user_sets_the_cap_and_a_workspace_can_only_lower_it() {
    let w = World::new();
    greedy(
        &w,
        json!(["-c", "exit 1"]),
        30,
        json!({"max_attempts": 100, "initial_backoff_ms": 1, "max_backoff_ms": 1}),
    );
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nmax_attempts = 7\n",
    );
    let (_, r) = w.run_json(&["rt"]);
    assert_eq!(r["attempt"].as_u64(), Some(7), "{r}");
    w.write(".skillet/skillet.toml", "[defaults]\nmax_attempts = 2\n");
    let (_, r) = w.run_json(&["rt"]);
    assert_eq!(r["attempt"].as_u64(), Some(2), "{r}");
    w.write(".skillet/skillet.toml", "[defaults]\nmax_attempts = 50\n");
    let (_, r) = w.run_json(&["rt"]);
    assert_eq!(r["attempt"].as_u64(), Some(7), "{r}");
    // A skill asking for fewer gets fewer.
    greedy(
        &w,
        json!(["-c", "exit 1"]),
        30,
        json!({"max_attempts": 3, "initial_backoff_ms": 1, "max_backoff_ms": 1}),
    );
    let (_, r) = w.run_json(&["rt"]);
    assert_eq!(r["attempt"].as_u64(), Some(3), "{r}");
}
