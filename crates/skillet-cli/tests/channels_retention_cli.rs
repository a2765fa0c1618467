//! Channel messages and the history's retention: `history prune` removes messages past their
//! week and keeps fresh ones, and every recorded run drops expired ones a few channels at a
//! time, even when `[history]` keeps every run.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::channels::{call, client_skill, world};
use common::{World, interpreter};
use serde_json::{Value, json};

/// Runs `sql` on the test's database with Python's sqlite3 (a real second process, as another
/// skillet would be); prints the first column of each row.
fn sql(w: &World, sql: &str) -> String {
    let db = w.path("~/.local/share/skillet/skillet.db");
    let out = std::process::Command::new(interpreter("python3"))
        .args([
            "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n\
             rows = c.execute(sys.argv[2]).fetchall()\nc.commit()\n\
             print('\\n'.join(str(r[0]) for r in rows))",
        ])
        .arg(&db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

const EIGHT_DAYS_MS: i64 = 8 * 24 * 3600 * 1000;

#[test]
fn history_prune_removes_channel_messages_past_their_week_and_keeps_fresh_ones() {
    let w = world();
    client_skill(&w, "pub", Some(json!({})));
    for body in ["old one", "old two", "fresh"] {
        let (code, _, err) = w.run(&["channel", "send", "pub/news", body]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = w.run(&["channel", "send", "pub/other", "old three"]);
    assert_eq!(code, 0, "{err}");
    sql(
        &w,
        &format!(
            "UPDATE channel_messages SET sent_at = sent_at - {EIGHT_DAYS_MS} WHERE body LIKE 'old%'"
        ),
    );
    let rows = || sql(&w, "SELECT body FROM channel_messages ORDER BY body");

    let (code, out, err) = w.run(&["history", "prune", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{err}");
    let dry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["channel_messages"], 3, "{dry}");
    assert_eq!(
        rows(),
        "fresh\nold one\nold three\nold two",
        "a dry run keeps them"
    );

    let (code, out, err) = w.run(&["history", "prune", "--json"]);
    assert_eq!(code, 0, "{err}");
    let done: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["channel_messages"], 3, "{done}");
    assert_eq!(rows(), "fresh");
    let (code, out, err) = w.run(&["history", "prune"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("channel message"),
        "nothing left to say: {out}"
    );
    // Numbering goes on: the channel is kept, only its old messages went.
    let (code, _, err) = w.run(&["channel", "send", "pub/news", "next"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sent message 4"), "{err}");

    // The text says how many, and keep_days = 0 (keep all history) does not keep them. (A
    // channel's messages are numbered in the order they were sent: all of them are aged here.)
    sql(
        &w,
        &format!("UPDATE channel_messages SET sent_at = sent_at - {EIGHT_DAYS_MS}"),
    );
    w.write(
        "~/.config/skillet/skillet.toml",
        "[history]\nkeep_days = 0\nmax_rows = 0\n",
    );
    let (code, out, err) = w.run(&["history", "prune"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Removed 2 channel messages older than 7 days"),
        "{out}"
    );
    assert_eq!(rows(), "");
}

#[test]
fn each_recorded_run_also_drops_expired_channel_messages() {
    let w = world();
    client_skill(&w, "pub", Some(json!({})));
    for body in ["old", "fresh"] {
        let (code, _, err) = w.run(&["channel", "send", "pub/news", body]);
        assert_eq!(code, 0, "{err}");
    }
    sql(
        &w,
        &format!(
            "UPDATE channel_messages SET sent_at = sent_at - {EIGHT_DAYS_MS} WHERE body = 'old'"
        ),
    );
    // Any recorded run does a bounded prune, even when `[history]` keeps every run: a
    // channel's messages are not history.
    let config =
        std::fs::read_to_string(w.path("~/.config/skillet/skillet.toml")).unwrap_or_default();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("{config}\n[history]\nkeep_days = 0\nmax_rows = 0\n"),
    );
    call(&w, "pub", json!([]));
    assert_eq!(sql(&w, "SELECT body FROM channel_messages"), "fresh");
}
