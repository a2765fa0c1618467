//! `skillet run NAME --session ID --debug/--profile`: one exchange with a session in the
//! daemon, its phases as the daemon measured them (finding the session, waiting for the input
//! before it, the interpreter's answer, the state and the history) beside the command's own
//! time.

#![allow(clippy::unwrap_used)]

mod common;

use common::sessions::{session_skill, start};
use common::{World, interpreter};
use serde_json::{Value, json};

#[test]
fn debug_and_profile_of_a_session_exchange_say_where_its_time_went() {
    let w = World::new();
    session_skill(&w, "py", &interpreter("python3"), json!({}));
    let id = start(&w, &["py"]);
    let slow = "import time; time.sleep(0.05); print(6 * 7)";

    let (code, out, err) = w.run(&[
        "run",
        "py",
        "--session",
        &id,
        "--stdin",
        slow,
        "--debug",
        "--profile",
    ]);

    assert_eq!((code, out.as_str()), (0, "42\n"), "{err}");
    for part in [
        "skillet debug: session",
        &format!("session:  {id}, input 1: ok"),
        "daemon:   ",
        "skillet profile: wall ",
        "  connect ",
        "  resolve ",
        "  queue ",
        "  process ",
        "  store ",
        "  other ",
    ] {
        assert!(err.contains(part), "{part:?} missing from:\n{err}");
    }

    let (code, out, err) = w.run(&[
        "run",
        "py",
        "--session",
        &id,
        "--stdin",
        slow,
        "--profile",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["stdout"], "42\n");
    assert_eq!(shown["seq"], 2);
    let profile = &shown["profile"];
    let process = profile["phases_us"]["process"].as_u64().unwrap();
    let wall = profile["wall_us"].as_u64().unwrap();
    // The input sleeps 50 ms in the interpreter: that is the process, not skillet's.
    assert!(process >= 50_000 && process <= wall, "{profile}");
    assert_eq!(
        profile["skillet_us"].as_u64().unwrap(),
        wall - process,
        "{profile}"
    );
    assert!(shown.get("debug").is_none(), "only what was asked: {shown}");

    // Without the flags the reply is as it was.
    let (code, out, _) = w.run(&["run", "py", "--session", &id, "--stdin", "print(1)"]);
    assert_eq!((code, out.as_str()), (0, "1\n"));
}
