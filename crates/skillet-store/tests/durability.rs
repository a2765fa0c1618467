//! The fast path keeps every row: a process that closes the store leaves its write-ahead log
//! for the next one instead of checkpointing it into the database and deleting it (two of the
//! four `fsync`s every `skillet run` used to pay), and a row whose `record` returned is there
//! after the process is killed, however it was killed.
//!
//! The writer is this test binary run again with `SKILLET_DURABILITY_WRITER` set.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use skillet_store::{ExecutionQuery, ExecutionRecord, SqliteStore, Store};

fn wal(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// Not a test when run normally; when `SKILLET_DURABILITY_WRITER=path` is set, records rows
/// until killed and prints each id once its `record` has returned.
#[test]
fn writer() {
    let Ok(path) = std::env::var("SKILLET_DURABILITY_WRITER") else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let id = format!("row-{i:06}");
        store
            .record(&ExecutionRecord::new(id.clone(), "s", "ok"))
            .unwrap();
        writeln!(out, "{id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_closed_store_leaves_its_log_for_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    drop(SqliteStore::open(&db).unwrap()); // the database made whole, as on a first run
    let store = SqliteStore::open(&db).unwrap();
    store
        .record(&ExecutionRecord::new("kept", "s", "ok"))
        .unwrap();
    drop(store);
    // Before: closing the last connection checkpointed the log into the database (an fsync of
    // each) and deleted it, and the next run made it again (two more).
    let len = std::fs::metadata(wal(&db)).map_or(0, |m| m.len());
    assert!(
        len > 0,
        "closing the store checkpointed and removed its log ({} is {len} bytes or absent)",
        wal(&db).display()
    );
    let again = SqliteStore::open(&db).unwrap();
    assert!(again.get("kept").unwrap().is_some(), "the row is not there");
}

#[test]
fn the_log_of_many_short_lived_openers_stays_small() {
    // Each `skillet run` opens the store, records one execution and exits. A fresh opener
    // rebuilds the log's index and no longer knows what was copied, so the log must start over
    // now and then or it grows without end (and every run copies all of it again, with fsyncs).
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    let mut largest = 0;
    for i in 0..400 {
        let store = SqliteStore::open(&db).unwrap();
        store
            .record(&ExecutionRecord::new(format!("run-{i:04}"), "s", "ok"))
            .unwrap();
        drop(store);
        largest = largest.max(std::fs::metadata(wal(&db)).map_or(0, |m| m.len()));
    }
    assert!(
        largest < 2 << 20,
        "the log grew to {largest} bytes over 400 one-run processes"
    );
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.list(&ExecutionQuery::default()).unwrap().len(), 400);
}

#[test]
fn every_row_recorded_before_a_sigkill_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "writer", "--quiet", "--test-threads", "1"])
            .env("SKILLET_DURABILITY_WRITER", &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acknowledged = Vec::new();
        while acknowledged.len() < 40 + round * 25 {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("row-") => acknowledged.push(line),
                Some(_) => {}
                None => panic!("the writer stopped after {} rows", acknowledged.len()),
            }
        }
        child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no close
        child.wait().unwrap();
        let store = SqliteStore::open(&db).unwrap();
        for id in &acknowledged {
            assert!(
                store.get(id).unwrap().is_some(),
                "round {round}: {id} was recorded before the kill and is gone"
            );
        }
        drop(store);
        std::fs::rename(&db, dir.path().join(format!("round-{round}.db"))).unwrap();
        for suffix in ["-wal", "-shm"] {
            let mut side = db.as_os_str().to_owned();
            side.push(suffix);
            let _ = std::fs::rename(&side, dir.path().join(format!("round-{round}.db{suffix}")));
        }
    }
    // Every round's database is sound, read with its log beside it.
    for round in 0..3 {
        let path = dir.path().join(format!("round-{round}.db"));
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        let store = SqliteStore::open(&path).unwrap();
        assert!(!store.list(&ExecutionQuery::default()).unwrap().is_empty());
    }
}
