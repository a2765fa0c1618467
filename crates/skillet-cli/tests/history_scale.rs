//! `skillet history` over a big history: rows stream at constant memory, filters and id
//! prefixes answer from indexes, and retention (`[history]`, `history prune`) keeps the file in
//! bounds without touching live sessions or breakers.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;

use common::World;
use serde_json::json;
use skillet_store::{
    BreakerRecord, ExecutionRecord, SessionRecord, SqliteStore, Store, TurnRecord, now_ms,
};

const DAY: i64 = 86_400_000;

fn db(w: &World) -> PathBuf {
    w.path("~/.local/share/skillet/skillet.db")
}

/// The `n`th execution, as UUIDv7 text sorts: later `n`, later id.
fn execution(n: u64, started: i64) -> ExecutionRecord {
    let mut r = ExecutionRecord::new(
        format!("0190{:08x}-0000-7000-8000-{n:012x}", n),
        if n.is_multiple_of(2) { "even" } else { "odd" },
        if n % 100 == 7 { "failed" } else { "ok" },
    );
    r.started_at_ms = started;
    r.finished_at_ms = started + 3;
    r.duration_ms = 3;
    r.params_hash = Some(format!("sha256:{n:064x}"));
    r
}

/// `rows` executions, one per second up to a minute ago, straight into the store.
fn fill(w: &World, rows: u64) -> SqliteStore {
    let store = SqliteStore::open(&db(w)).unwrap();
    let newest = now_ms() - 60_000;
    let first = newest - i64::try_from(rows).unwrap() * 1000;
    let added = store
        .import(&mut (0..rows).map(|n| execution(n, first + i64::try_from(n).unwrap() * 1000)))
        .unwrap();
    assert_eq!(added, rows);
    store
}

/// Runs `skillet args`, reading its stdout as it comes and sampling its peak resident set
/// (`VmHWM`) while it writes: (exit code, stdout, peak KiB).
fn run_measured(w: &World, args: &[&str]) -> (i32, Vec<u8>, u64) {
    let mut child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let peak = || -> Option<u64> {
        let status = std::fs::read_to_string(&status_file).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let mut stdout = child.stdout.take().unwrap();
    let (mut out, mut buf, mut max_kb) = (Vec::new(), vec![0; 1 << 16], 0);
    loop {
        // The child blocks on a full pipe until this reads, so a sample taken here sees its
        // memory while it is still writing, at any point of the output.
        max_kb = max_kb.max(peak().unwrap_or(0));
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    max_kb = max_kb.max(peak().unwrap_or(0));
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, out, max_kb)
}

#[test]
fn a_full_dump_of_200k_rows_streams_within_a_memory_bound() {
    let w = World::new();
    let rows = 200_000;
    drop(fill(&w, rows));
    // What the process needs with twenty rows is its floor; a full dump may add a little
    // (buffers, SQLite's page cache), never memory in proportion to the rows.
    let (code, _, floor_kb) = run_measured(&w, &["history", "--json", "--limit", "20"]);
    assert_eq!(code, 0);
    // A process that prints twenty rows can exit between two samples, leaving only the
    // sample taken before it ran; a skillet process never needs less than ~16 MiB anyway.
    // Collected, 200k rows would take ~235 MB, so the bound still tells the two apart.
    let floor_kb = floor_kb.max(16 * 1024);
    let bound_kb = floor_kb + 16 * 1024;
    for args in [
        &["history", "--limit", "0", "--json"][..],
        &["history", "--limit", "0"][..],
    ] {
        let (code, out, peak_kb) = run_measured(&w, args);
        eprintln!("{args:?}: peak {peak_kb} KiB, floor {floor_kb} KiB");
        assert_eq!(code, 0, "{args:?}");
        assert!(
            peak_kb > 0 && peak_kb <= bound_kb,
            "{args:?} peaked at {peak_kb} KiB for {rows} rows; the bound is {bound_kb} KiB \
             (the process's floor is {floor_kb} KiB): rows must stream, not be collected"
        );
        let text = String::from_utf8(out).unwrap();
        if args.contains(&"--json") {
            let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
            assert_eq!(all.len(), rows as usize, "every row, valid JSON");
            assert_eq!(all[0]["id"], execution(rows - 1, 0).id, "newest first");
            assert_eq!(all[rows as usize - 1]["id"], execution(0, 0).id);
            assert!(all[0]["started_at"].as_str().unwrap().ends_with('Z'));
        } else {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), rows as usize + 1, "a header and every row");
            assert!(lines[0].starts_with("STARTED"), "{}", lines[0]);
            assert!(
                lines[1].ends_with(&execution(rows - 1, 0).id),
                "{}",
                lines[1]
            );
        }
    }
}

#[test]
fn filters_prefixes_and_an_empty_history_answer_as_before() {
    let w = World::new();
    let (code, stdout, _) = w.run(&["history"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "No executions recorded yet.\n")
    );
    let (code, stdout, _) = w.run(&["history", "--json"]);
    assert_eq!((code, stdout.trim()), (0, "[]"));
    drop(fill(&w, 1_000));

    let (code, stdout, _) = w.run(&["history", "--status", "timeout"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "No executions recorded that match.\n")
    );
    let (code, stdout, _) = w.run(&[
        "history", "odd", "--status", "failed", "--json", "--limit", "0",
    ]);
    assert_eq!(code, 0);
    let failed: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(failed.len(), 10, "n % 100 == 7, all odd");
    assert!(
        failed
            .iter()
            .all(|r| r["status"] == "failed" && r["skill"] == "odd")
    );
    let (_, stdout, _) = w.run(&["history", "--limit", "3"]);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");

    // One row by the start of its id, in either case; the start of several says so.
    let id = execution(777, 0).id;
    let (code, stdout, stderr) = w.run(&["history", "show", &id[..30].to_uppercase()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("id:          {id}")), "{stdout}");
    let (code, _, stderr) = w.run(&["history", "show", "0190"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("`0190` matches at least 1000 executions; give more of the id"),
        "{stderr}"
    );
    let (code, _, stderr) = w.run(&["history", "show", "0190ffff"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no execution with id `0190ffff`"),
        "{stderr}"
    );
}

fn ended_session(id: &str, status: &str, ended: Option<i64>) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        skill: "py".into(),
        label: None,
        status: status.into(),
        start: "{}".into(),
        replay: false,
        pid: None,
        created_at_ms: 1,
        last_used_at_ms: 1,
        ended_at_ms: ended,
        exit_code: None,
        reason: None,
        turns: 0,
    }
}

fn turn(session: &str) -> TurnRecord {
    TurnRecord {
        session_id: session.into(),
        seq: 1,
        source: "user".into(),
        input: "x".repeat(50_000),
        stdout: String::new(),
        stderr: String::new(),
        exit_status: Some(0),
        outcome: "ok".into(),
        started_at_ms: 1,
        duration_ms: 1,
        truncated: false,
    }
}

/// A history of `old` executions a hundred days old and `new` recent ones, an old closed
/// session, an old-looking live one, and an open breaker from long ago.
fn aged(w: &World, old: u64, new: u64) -> SqliteStore {
    let store = SqliteStore::open(&db(w)).unwrap();
    let now = now_ms();
    store
        .import(&mut (0..old + new).map(|n| {
            let age = if n < old { 100 * DAY } else { DAY };
            let mut r = execution(n, now - age);
            r.params = Some("p".repeat(300));
            r
        }))
        .unwrap();
    store
        .save_session(&ended_session("s-closed", "closed", Some(now - 100 * DAY)))
        .unwrap();
    store.add_turn(&turn("s-closed")).unwrap();
    store
        .save_session(&ended_session("s-live", "live", None))
        .unwrap();
    store.add_turn(&turn("s-live")).unwrap();
    store
        .update_breaker("flaky", &mut |_| {
            Some(BreakerRecord {
                skill: "flaky".into(),
                state: "open".into(),
                consecutive_failures: 9,
                opened_at_ms: Some(now - 300 * DAY),
                updated_at_ms: now - 300 * DAY,
                trial_started_ms: None,
                recent: String::new(),
            })
        })
        .unwrap();
    store
}

fn count(w: &World) -> usize {
    let (code, stdout, stderr) = w.run(&["history", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout)
        .unwrap()
        .len()
}

fn file_size(w: &World) -> u64 {
    std::fs::metadata(db(w)).unwrap().len()
}

#[test]
fn prune_removes_what_keep_days_says_and_shrinks_the_file_but_a_dry_run_changes_nothing() {
    let w = World::new();
    let store = aged(&w, 20_000, 500);
    drop(store);

    let before_bytes = file_size(&w);
    let (code, stdout, stderr) = w.run(&["history", "prune", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let dry: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            &dry["dry_run"],
            &dry["executions"],
            &dry["sessions"],
            &dry["turns"]
        ),
        (&json!(true), &json!(20_000), &json!(1), &json!(1)),
        "{dry}"
    );
    assert_eq!(count(&w), 20_500, "a dry run removes nothing");
    assert_eq!(file_size(&w), before_bytes, "nor rewrites the file");
    let (_, text, _) = w.run(&["history", "prune", "--dry-run"]);
    assert!(
        text.starts_with("Would remove 20000 executions and 1 ended session (1 transcript turn)"),
        "{text}"
    );

    let (code, stdout, stderr) = w.run(&["history", "prune", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let done: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(done["executions"], 20_000, "{done}");
    assert_eq!(count(&w), 500);
    let after = done["bytes_after"].as_u64().unwrap();
    assert!(
        after * 5 < done["bytes_before"].as_u64().unwrap(),
        "the file shrinks: {done}"
    );
    assert!(
        file_size(&w) * 5 < before_bytes,
        "{} of {before_bytes}",
        file_size(&w)
    );

    let store = SqliteStore::open(&db(&w)).unwrap();
    assert!(store.session("s-closed").unwrap().is_none());
    assert!(store.turns("s-closed").unwrap().is_empty());
    assert!(
        store.session("s-live").unwrap().is_some(),
        "a live session stays"
    );
    assert_eq!(
        store.turns("s-live").unwrap().len(),
        1,
        "with its transcript"
    );
    assert_eq!(
        store.breakers().unwrap().len(),
        1,
        "breakers are never pruned"
    );

    // --before takes an age or a date; max_rows caps the count.
    w.write(
        "~/.config/skillet/skillet.toml",
        "[history]\nmax_rows = 100\nkeep_days = 0\n",
    );
    let (code, stdout, _) = w.run(&["history", "prune"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("Removed 400 executions"), "{stdout}");
    assert_eq!(count(&w), 100);
    let (code, stdout, _) = w.run(&["history", "prune", "--before", "12h", "--json"]);
    assert_eq!(code, 0);
    let all: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(all["executions"], 100, "{all}");
    let (code, _, stderr) = w.run(&["history", "prune", "--before", "2026-02-30"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a date"), "{stderr}");
}

#[test]
fn each_recorded_run_prunes_a_bounded_batch() {
    let w = World::new();
    drop(aged(&w, 1_000, 0));
    w.skill(
        "p",
        json!({"name": "p", "description": "d", "type": "prompt_inline", "prompt_template": "hi"}),
    );
    let (code, _, stderr) = w.run(&["run", "p"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        count(&w),
        1_000 - 200 + 1,
        "one run removes at most 200 due rows"
    );
    let store = SqliteStore::open(&db(&w)).unwrap();
    assert!(store.session("s-live").unwrap().is_some());
    assert_eq!(store.breakers().unwrap().len(), 1);

    // With retention off, a run removes nothing.
    w.write(
        "~/.config/skillet/skillet.toml",
        "[history]\nkeep_days = 0\nmax_rows = 0\n",
    );
    w.run(&["run", "p"]);
    assert_eq!(count(&w), 802);
}

#[test]
fn prune_has_help_with_examples() {
    let w = World::new();
    let (code, stdout, _) = w.run(&["history", "prune", "--help"]);
    assert_eq!(code, 0);
    for part in [
        "--before",
        "--dry-run",
        "--json",
        "keep_days",
        "max_rows",
        "Examples:",
    ] {
        assert!(stdout.contains(part), "{part}: {stdout}");
    }
}
