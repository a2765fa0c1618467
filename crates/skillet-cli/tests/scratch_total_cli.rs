//! One bound on all live scratch together (`[sandbox] max_scratch_total_mb` of the global
//! skillet.toml), end to end with real sessions and runs: a run past it is stopped, a run
//! started at it is refused with what holds the space, and a workspace file cannot lift it.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::sessions::{send, session_skill, start};
use common::{World, interpreter};
use serde_json::json;

fn global_bound(w: &World, mib: u64) {
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[sandbox]\nmax_scratch_total_mb = {mib}\n"),
    );
}

fn filler(w: &World, mib: u64) {
    let script = format!(
        "dd if=/dev/zero of=\"$HOME/big\" bs=1M count={mib} 2>/dev/null || exit 1; echo wrote everything"
    );
    w.skill(
        "fill",
        json!({"name": "fill", "description": "d", "type": "code_inline",
               "command": "/bin/sh", "args": ["-c", script]}),
    );
}

fn assert_stopped_at_the_bound(w: &World, what: &str) {
    let (code, r) = w.run_json(&["fill"]);
    assert_ne!(code, 0, "{what}: {r}");
    assert_eq!(r["status"], "resource_limit", "{what}: {r}");
    assert_eq!(r["limit"], "scratch_disk", "{what}: {r}");
    let error = r["error"].as_str().unwrap_or("");
    assert!(error.contains("scratch-disk limit"), "{what}: {r}");
}

#[test]
fn a_run_writing_past_the_total_bound_is_stopped_below_its_own_cap() {
    let w = World::new();
    // 40 MiB fits the run's own 256 MiB cap, not the 12 MiB bound on all scratch.
    global_bound(&w, 12);
    filler(&w, 40);
    assert_stopped_at_the_bound(&w, "global bound");

    // Without the bound the same run goes through: the bound is what stopped it.
    global_bound(&w, 0);
    let (code, r) = w.run_json(&["fill"]);
    assert_eq!((code, &r["status"]), (0, &json!("ok")), "{r}");
}

#[test]
fn a_workspace_file_or_the_skill_cannot_lift_the_bound() {
    let w = World::new();
    global_bound(&w, 12);
    filler(&w, 40);
    for (name, text) in [
        ("sandbox", "[sandbox]\nmax_scratch_total_mb = 1000000\n"),
        ("zero", "[sandbox]\nmax_scratch_total_mb = 0\n"),
        ("defaults", "[defaults]\nmax_scratch_mb = 1000000\n"),
    ] {
        w.write(".skillet/skillet.toml", text);
        assert_stopped_at_the_bound(&w, name);
    }
    // A skill asking for more scratch (and a user grant to raise its own limits) raises
    // only its own cap, never the bound on all of them.
    std::fs::remove_file(w.path(".skillet/skillet.toml")).unwrap();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[sandbox]\nmax_scratch_total_mb = 12\n[defaults]\nmax_scratch_mb = 1024\n{}",
            w.grant_toml("fill", "raise_limits = true\n")
        ),
    );
    assert_stopped_at_the_bound(&w, "raised per-run cap");
}

#[test]
fn a_run_is_refused_while_live_sessions_hold_the_bound_and_runs_again_once_they_end() {
    let w = World::new();
    global_bound(&w, 16);
    filler(&w, 1);
    session_skill(&w, "sh", &interpreter("bash"), json!({}));
    let id = start(&w, &["sh"]);
    // The session fills what the bound leaves it; its write stops there (ENOSPC).
    let (_, out, _) = send(
        &w,
        &id,
        "dd if=/dev/zero of=\"$HOME/big\" bs=1M count=64 2>/dev/null; echo written",
    );
    assert!(out.contains("written"), "{out}");

    // Another process (this `skillet run`) sees what the daemon's session holds.
    let (code, stdout, stderr) = w.run(&["run", "fill"]);
    assert_ne!(code, 0, "{stdout}");
    for needle in [
        "scratch space is full",
        "max_scratch_total_mb",
        "skillet session list",
        "1 scratch directory",
        "skillet",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing: {stderr}");
    }
    assert!(!stdout.contains("wrote everything"), "{stdout}");
    // A refusal before anything ran is not the skill's failure.
    let (_, r) = w.run_json(&["fill"]);
    assert_eq!(r["status"], "error", "{r}");

    // So is a new session.
    let (code, _, stderr) = w.run(&["session", "start", "sh"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("scratch space is full"), "{stderr}");

    // Ending the session gives the space back.
    assert_eq!(w.run(&["session", "close", &id]).0, 0);
    let (code, stdout, stderr) = w.run(&["run", "fill"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("wrote everything"), "{stdout}");
}
