//! Several real processes writing one database at once, and one killed in the middle.
//!
//! The writers are this test binary run again with `SKILLET_STORE_WRITER` set, so they use the
//! store exactly as skillet does.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use skillet_store::{ExecutionQuery, ExecutionRecord, SqliteStore, Store};

/// Not a test when run normally; the writer when `SKILLET_STORE_WRITER=path:tag:count` is set
/// (`count` 0 writes until killed).
#[test]
fn writer() {
    let Ok(spec) = std::env::var("SKILLET_STORE_WRITER") else {
        return;
    };
    let mut parts = spec.rsplitn(3, ':');
    let count: usize = parts.next().unwrap().parse().unwrap();
    let tag = parts.next().unwrap().to_owned();
    let path = parts.next().unwrap().to_owned();
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    let mut i = 0;
    while count == 0 || i < count {
        let mut r = ExecutionRecord::new(format!("{tag}-{i:06}"), format!("skill-{tag}"), "ok");
        r.started_at_ms = skillet_store::now_ms();
        r.error = Some("x".repeat(200));
        store.record(&r).unwrap();
        i += 1;
    }
}

fn spawn_writer(db: &Path, tag: &str, count: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer", "--quiet", "--test-threads", "1"])
        .env(
            "SKILLET_STORE_WRITER",
            format!("{}:{tag}:{count}", db.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn eight_processes_writing_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    // No database yet: the writers also race to create and migrate it.
    let writers: Vec<Child> = (0..8)
        .map(|i| spawn_writer(&db, &format!("w{i}"), 200))
        .collect();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = SqliteStore::open(&db).unwrap();
    let all = store.list(&ExecutionQuery::default()).unwrap();
    assert_eq!(all.len(), 1600);
    for i in 0..8 {
        let q = ExecutionQuery {
            skill: Some(format!("skill-w{i}")),
            ..Default::default()
        };
        assert_eq!(store.list(&q).unwrap().len(), 200, "writer {i}");
    }
}

#[test]
fn a_writer_killed_mid_write_leaves_a_readable_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    for round in 0..3 {
        let mut w = spawn_writer(&db, &format!("k{round}"), 0);
        std::thread::sleep(Duration::from_millis(300 + round * 70));
        w.kill().unwrap(); // SIGKILL
        w.wait().unwrap();
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let store = SqliteStore::open(&db).unwrap();
    let before = store.list(&ExecutionQuery::default()).unwrap().len();
    assert!(before > 0, "the writers wrote nothing before being killed");
    store
        .record(&ExecutionRecord::new("after", "s", "ok"))
        .unwrap();
    assert_eq!(
        store.list(&ExecutionQuery::default()).unwrap().len(),
        before + 1
    );
}
