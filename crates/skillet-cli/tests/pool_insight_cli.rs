//! `skillet run NAME --debug/--profile` of a pooled `code_session` skill: the call is still
//! served by the daemon's warm pool (as without the flags), which measures it; the command
//! adds reaching the daemon, and says which daemon served it.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::pool::{pool, pooled};
use serde_json::{Value, json};

#[test]
fn debug_and_profile_of_a_pooled_call_come_from_the_pool_that_served_it() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    let slow = "import time; time.sleep(0.05); print(6 * 7)";

    let (code, out, err) = w.run(&["run", "py", "--stdin", slow, "--debug", "--profile"]);

    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
    for part in [
        "skillet debug: skill",
        "name:     py",
        "skillet debug: process and sandbox",
        "skillet debug: attempts",
        "#1 py: ok",
        "skillet debug: served by the daemon",
        "daemon:   ",
        "a warm interpreter of the skill's pool",
        "skillet profile: wall ",
        "outlives the call",
        "  connect ",
        "  resolve ",
        "  sandbox_setup ",
        "  process ",
        "  teardown ",
        "  store ",
        "  other ",
    ] {
        assert!(err.contains(part), "{part:?} missing from:\n{err}");
    }
    // The interpreter got the daemon's environment, and the report says so (never a value).
    assert!(
        err.contains("PATH=<from the daemon's environment, "),
        "{err}"
    );
    assert!(!err.contains("from your environment"), "{err}");
    // It was the pool that answered, not a process the command started itself.
    assert_eq!(pool(&w, "py")["calls"], 1, "{}", pool(&w, "py"));

    let (code, out, err) = w.run(&["run", "py", "--stdin", slow, "--profile", "--json"]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["stdout"], "42\n");
    let profile = &shown["profile"];
    let phases = &profile["phases_us"];
    let process = phases["process"].as_u64().unwrap();
    let wall = profile["wall_us"].as_u64().unwrap();
    let connect = profile["connect_us"].as_u64().unwrap();
    // The input sleeps 50 ms in the interpreter: that is the process, not skillet's.
    assert!(process >= 50_000 && process <= wall, "{profile}");
    let counted: u64 = phases
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum::<u64>()
        + connect;
    assert!(
        counted <= wall,
        "the phases fit in the wall time: {profile}"
    );
    assert_eq!(
        profile["other_us"].as_u64().unwrap(),
        wall - counted,
        "{profile}"
    );
    assert!(shown.get("debug").is_none(), "only what was asked: {shown}");
    assert_eq!(pool(&w, "py")["calls"], 2);

    // A failing call still reports, and the debug report names the error.
    let (code, _, err) = w.run(&["run", "py", "--stdin", "raise SystemExit(3)", "--debug"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("#1 py: failed (exit code 3)"), "{err}");

    // Without the flags the answer is as it was.
    let (code, out, err) = w.run(&["run", "py", "--stdin", "print(1)"]);
    assert_eq!(
        (code, out.as_str(), err.contains("skillet debug")),
        (0, "1\n", false)
    );
}
