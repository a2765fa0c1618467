//! Limits are the user's: a skill and a workspace `skillet.toml` can only lower the global caps;
//! raising one takes the user's grant. Real runs, real clocks.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::World;
use serde_json::json;

/// A skill that sleeps `secs` seconds and asks for `asks` (merged into its JSON).
fn sleeper(w: &World, secs: u32, asks: serde_json::Value) {
    let mut skill = json!({"name": "slow", "description": "d", "type": "code_inline",
        "command": "sleep", "args": [secs.to_string()]});
    skill
        .as_object_mut()
        .unwrap()
        .extend(asks.as_object().unwrap().clone());
    w.skill("slow", skill);
}

/// Runs `slow` with `extra` flags; returns the result, stderr and how long it took.
fn run_slow(w: &World, extra: &[&str]) -> (serde_json::Value, String, Duration) {
    let mut args = vec!["run", "slow", "--json"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let (_, stdout, stderr) = w.run(&args);
    let took = started.elapsed();
    let result = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (result, stderr, took)
}

fn warnings(r: &serde_json::Value) -> String {
    r["warnings"].to_string()
}

#[test]
fn a_skill_cannot_raise_the_global_wall_clock_cap() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\ntimeout = 2\n",
    );
    for asks in [
        json!({"timeout": 60}),
        json!({"security": {"resource_limits": {"max_execution_time": 60}}}),
        json!({"timeout": 60, "security": {"resource_limits": {"max_execution_time": 99999}}}),
    ] {
        sleeper(&w, 10, asks.clone());
        let (r, _, took) = run_slow(&w, &[]);
        assert_eq!(r["status"], "timeout", "{asks}: {r}");
        assert!(
            took < Duration::from_secs(6),
            "{asks}: killed at the 2 s cap, not the skill's 60 s: took {took:?}"
        );
        assert!(
            warnings(&r).contains("above the cap of 2 s"),
            "{asks}: the run says it was capped: {r}"
        );
    }
}

#[test]
fn a_workspace_cannot_raise_the_caps_but_can_lower_them() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\ntimeout = 2\n",
    );
    w.write(
        ".skillet/skillet.toml",
        "[defaults]\ntimeout = 99999\nmax_output_kb = 99999999\n",
    );
    sleeper(&w, 10, json!({}));
    let (r, _, took) = run_slow(&w, &[]);
    assert_eq!(r["status"], "timeout", "{r}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let warned = warnings(&r);
    assert!(
        warned.contains("timeout = 99999 s, above the cap of 2 s")
            && warned.contains("max_output_kb = 99999999 KiB, above the cap of 1024 KiB")
            && warned.contains("a workspace can only lower limits"),
        "{r}"
    );

    // Lowering is the workspace's right: 1 s, and no warning about it.
    w.write(".skillet/skillet.toml", "[defaults]\ntimeout = 1\n");
    let (r, _, took) = run_slow(&w, &[]);
    assert_eq!(r["status"], "timeout", "{r}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(!warnings(&r).contains("cap"), "{r}");
}

#[test]
fn the_users_grant_raises_a_cap() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\ntimeout = 1\n",
    );
    sleeper(&w, 2, json!({"timeout": 20}));
    let (r, _, _) = run_slow(&w, &[]);
    assert_eq!(r["status"], "timeout", "without the grant: {r}");
    let (r, _, _) = run_slow(&w, &["--allow-raise-limits"]);
    assert_eq!(r["status"], "ok", "with --allow-raise-limits: {r}");
    assert!(!warnings(&r).contains("cap"), "{r}");
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[defaults]\ntimeout = 1\n{}",
            w.grant_toml("slow", "raise_limits = true\n")
        ),
    );
    let (r, _, _) = run_slow(&w, &[]);
    assert_eq!(r["status"], "ok", "with [grants.slow] raise_limits: {r}");
}

#[test]
fn memory_and_output_asks_are_held_at_the_caps() {
    let w = World::new();
    w.skill(
        "greedy",
        json!({"name": "greedy", "description": "d", "type": "code_inline", "command": "true",
            "security": {"resource_limits": {"max_memory_mb": 999_999_999_u64, "max_output_kb": 999_999_999_u64,
                "max_processes": 1_000_000, "max_file_size_mb": 999_999_999_u64}}}),
    );
    let (code, stdout, stderr) = w.run(&["info", "greedy", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    for field in [
        "max_memory_mb 999999999 MiB is above the cap of 512 MiB",
        "max_output_kb 999999999 KiB is above the cap of 1024 KiB",
        "max_processes 1000000 is above the cap of 64",
        "max_file_size_mb 999999999 MiB is above the cap of 256 MiB",
    ] {
        assert!(stdout.contains(field), "{field}: {stdout}");
    }
}
