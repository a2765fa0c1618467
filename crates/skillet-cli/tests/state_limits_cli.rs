//! A skill's state directory is bounded while the run goes on, not only when its document is
//! read back: a run that writes many files, big files, a deep tree or files from several
//! processes beside `$SKILLET_STATE` is killed (`resource_limit`, exit 137), the directory
//! never holds much more than twice the state limit, and nothing is saved. Replacing the
//! document by writing a new file beside it and renaming it over still works.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::{World, interpreter};
use serde_json::{Value, json};

/// The skill's `state.max_kb`: the directory may hold twice that and 64 KiB (192 KiB).
const MAX_KB: u64 = 64;
const BOUND: u64 = (2 * MAX_KB + 64) * 1024;

/// How far past the bound a run may be seen before it is killed: the supervisor looks every
/// 10 ms, and what fast writers add meanwhile (and while a loaded machine delays the look) is
/// the overshoot. Measured at 3-15 MiB for one writer and up to 52 MiB for four at once as an
/// unprivileged user on a loaded 2-core machine (each attack prints what it saw); unbounded
/// before the directory was capped, and every attack here writes well past this.
const SLACK: u64 = 96 << 20;

fn sh_skill(w: &World, script: &str) {
    w.skill(
        "keeper",
        json!({"name": "keeper", "description": "d", "type": "code_inline",
               "command": interpreter("sh"), "args": ["-c", script],
               "state": {"version": 1, "max_kb": MAX_KB}}),
    );
}

fn export(w: &World) -> Value {
    let (code, out, err) = w.run(&["state", "export", "keeper"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Bytes on disk under `dir` (blocks), not following links.
fn usage(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        total += meta.blocks() * 512;
        if meta.is_dir() {
            total += usage(&e.path());
        }
    }
    total
}

/// The largest a `skillet-state-*` directory under `dir` is seen holding now.
fn largest_state_dir(dir: &Path) -> u64 {
    let mut most = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let path = e.path();
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let name = e.file_name();
        most = most.max(if name.to_string_lossy().starts_with("skillet-state-") {
            usage(&path)
        } else if name.to_string_lossy().starts_with(".tmp") || name == ".root" {
            // A run's scratch: not the state directory.
            0
        } else {
            largest_state_dir(&path)
        });
    }
    most
}

/// Runs the skill while another thread measures its state directory as often as it can;
/// returns the result and the most the directory was seen holding.
fn run_watched(w: &World) -> (i32, Value, u64) {
    let runtime = w.tmp.path().join("run");
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(largest_state_dir(&runtime), Ordering::Relaxed);
            }
        })
    };
    let (code, r) = w.run_json(&["keeper"]);
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    (code, r, peak.load(Ordering::Relaxed))
}

fn start(w: &World) {
    sh_skill(w, r#"printf '{"v":"start"}' > "$SKILLET_STATE""#);
    let (code, r) = w.run_json(&["keeper"]);
    assert_eq!((code, &r["status"]), (0, &json!("ok")), "{r}");
    assert_eq!(export(w), json!({"v": "start"}));
}

#[test]
fn a_run_that_fills_its_state_directory_is_killed_and_saves_nothing() {
    let w = World::new();
    start(&w);
    // Each writes a new document first, so a commit would show.
    let prefix = r#"d=$(dirname "$SKILLET_STATE"); printf '{"v":"attack"}' > "$SKILLET_STATE"; "#;
    let attacks = [
        (
            "big files",
            "for i in 1 2 3 4 5 6 7 8; do head -c 40000000 /dev/zero > $d/f$i; done",
        ),
        (
            "many small files",
            "i=0; while [ $i -lt 100000 ]; do echo x > $d/f$i; i=$((i+1)); done",
        ),
        (
            "a deep tree",
            "mkdir -p $d/a/b/c/d/e && for i in 1 2 3 4 5 6 7 8; do head -c 40000000 /dev/zero > $d/a/b/c/d/e/f$i; done",
        ),
        (
            "several writers at once",
            "for i in 1 2 3 4; do head -c 100000000 /dev/zero > $d/p$i & done; wait",
        ),
        (
            "the document itself, grown",
            r#"head -c 200000000 /dev/zero >> "$SKILLET_STATE""#,
        ),
        (
            "a big file written just before a clean exit",
            "head -c 3000000 /dev/zero > $d/x; exit 0",
        ),
        (
            "empty files, which cost memory too",
            "i=0; while [ $i -lt 100000 ]; do : > $d/e$i; i=$((i+1)); done",
        ),
        // A folder its own user cannot list hides what is in it from a walk (red team 4, F2).
        (
            "a folder it cannot list",
            "mkdir $d/h && chmod 300 $d/h && for i in 1 2 3 4; do head -c 40000000 /dev/zero > $d/h/f$i; done",
        ),
        (
            "a folder closed after filling it",
            "mkdir $d/h && head -c 3000000 /dev/zero > $d/h/f && chmod 0 $d/h; sleep 5",
        ),
    ];
    for (what, body) in attacks {
        sh_skill(&w, &format!("{prefix}{body}"));
        let (code, r, peak) = run_watched(&w);
        eprintln!(
            "{what}: seen holding at most {} KiB (bound {} KiB)",
            peak / 1024,
            BOUND / 1024
        );
        assert_eq!(code, 137, "{what}: {r}");
        assert_eq!(r["status"], "resource_limit", "{what}: {r}");
        assert_eq!(r["limit"], "write_cap", "{what}: {r}");
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("state directory") && error.contains("192 KiB"),
            "{what}: {r}"
        );
        assert!(
            peak <= BOUND + SLACK,
            "{what}: the state directory held {peak} bytes, past {BOUND} + {SLACK}"
        );
        assert_eq!(export(&w), json!({"v": "start"}), "{what}: nothing saved");
        assert_eq!(
            state_dirs(&w.tmp.path().join("run")),
            Vec::<std::path::PathBuf>::new(),
            "{what}: removed after the run"
        );
    }
}

/// The `skillet-state-*` directories under `dir`, wherever they are.
fn state_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if e.file_name()
            .to_string_lossy()
            .starts_with("skillet-state-")
        {
            found.push(path);
        } else {
            found.extend(state_dirs(&path));
        }
    }
    found
}

#[test]
fn replacing_the_document_by_a_rename_and_a_few_small_files_still_work() {
    let w = World::new();
    start(&w);
    // A document near the limit, written beside the old one and renamed over it.
    let big = "x".repeat(60 * 1024);
    sh_skill(
        &w,
        &format!(
            r#"d=$(dirname "$SKILLET_STATE"); printf '{{"v":"%s"}}' {big} > "$d/new.json" && echo note > "$d/lock" && mv "$d/new.json" "$SKILLET_STATE""#
        ),
    );
    let (code, r, _) = run_watched(&w);
    assert_eq!((code, &r["status"]), (0, &json!("ok")), "{r}");
    assert_eq!(export(&w), json!({"v": big}));
    // Written in place.
    sh_skill(&w, r#"printf '{"v":"again"}' > "$SKILLET_STATE""#);
    assert_eq!(w.run_json(&["keeper"]).1["status"], "ok");
    assert_eq!(export(&w), json!({"v": "again"}));
}
