//! Several real processes writing one database at once, and one killed in the middle.
//!
//! The writers are this test binary run again with `SKILLET_STORE_WRITER` set, so they use the
//! store exactly as skillet does.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use skillet_store::{
    ExecutionQuery, ExecutionRecord, LeaseGrant, LeaseRequest, SqliteStore, Store,
};

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
        // libtest prints a failed test's panic on stdout, so both are kept for the report.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// How a child ended: its exit code, or the signal that killed it (and whether it dumped core).
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!(
            "killed by signal {signal}{}",
            if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            }
        ),
        (None, None) => format!("{status}"),
    }
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
            "a writer failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            describe(out.status),
            String::from_utf8_lossy(&out.stdout),
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

/// Not a test when run normally; when `SKILLET_STORE_LEASER=path:session:owner:ttl_ms` is set,
/// asks once for the session's lease and exits 0 when it got it, 3 (printing the holder's pid)
/// when another owner holds it.
#[test]
fn leaser() {
    let Ok(spec) = std::env::var("SKILLET_STORE_LEASER") else {
        return;
    };
    let mut parts = spec.rsplitn(4, ':');
    let ttl_ms: i64 = parts.next().unwrap().parse().unwrap();
    let owner = parts.next().unwrap().to_owned();
    let session = parts.next().unwrap().to_owned();
    let path = parts.next().unwrap().to_owned();
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    let request = LeaseRequest {
        owner: owner.clone(),
        pid: i64::from(std::process::id()),
        host: "test".into(),
        holder: format!("leaser {owner}"),
        ttl_ms,
    };
    match store.lease_session(&session, &request, &|_| false).unwrap() {
        LeaseGrant::Acquired { .. } => {}
        LeaseGrant::Held(other) => {
            println!("held by pid {}", other.pid);
            std::process::exit(3);
        }
        LeaseGrant::NoSession => std::process::exit(4),
    }
}

fn lease_in_child(db: &Path, session: &str, owner: &str, ttl_ms: i64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "leaser",
            "--quiet",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(
            "SKILLET_STORE_LEASER",
            format!("{}:{session}:{owner}:{ttl_ms}", db.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn session_row(store: &SqliteStore, id: &str) {
    store
        .save_session(&skillet_store::SessionRecord {
            id: id.into(),
            skill: "py".into(),
            label: None,
            status: "live".into(),
            start: "{}".into(),
            replay: true,
            pid: None,
            created_at_ms: 1,
            last_used_at_ms: 1,
            ended_at_ms: None,
            exit_code: None,
            reason: None,
            turns: 0,
        })
        .unwrap();
}

#[test]
fn eight_processes_asking_for_one_lease_at_once_get_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    session_row(&SqliteStore::open(&db).unwrap(), "s1");
    let children: Vec<Child> = (0..8)
        .map(|i| lease_in_child(&db, "s1", &format!("owner-{i}"), 60_000))
        .collect();
    let mut codes = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        codes.push(out.status.code());
    }
    let won = codes.iter().filter(|c| **c == Some(0)).count();
    let refused = codes.iter().filter(|c| **c == Some(3)).count();
    assert_eq!((won, refused), (1, 7), "exit codes: {codes:?}");
}

#[test]
fn a_lease_left_by_a_process_that_exited_is_refused_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    session_row(&SqliteStore::open(&db).unwrap(), "s1");
    let first = lease_in_child(&db, "s1", "first", 1_500);
    let first_pid = first.id();
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", describe(out.status));
    let out = lease_in_child(&db, "s1", "second", 60_000)
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(out.status));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("held by pid {first_pid}")), "{said}");
    std::thread::sleep(Duration::from_millis(1_700));
    let out = lease_in_child(&db, "s1", "second", 60_000)
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(out.status));
    let lease = SqliteStore::open(&db)
        .unwrap()
        .session_lease("s1")
        .unwrap()
        .unwrap();
    assert_eq!(lease.owner, "second");
}

/// The first open by several processes at once used to fail now and then with "database is
/// locked" (about 1 open in 350 on a loaded 2-core machine): each process switched the new,
/// empty file to WAL mode and migrated it itself. A new database is now built whole and linked
/// into place. Many rounds, since one round rarely hit it.
#[test]
fn processes_creating_the_database_at_once_all_open_it() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..40 {
        let db = dir.path().join(format!("r{round}/skillet.db"));
        let writers: Vec<Child> = (0..8)
            .map(|i| spawn_writer(&db, &format!("w{i}"), 1))
            .collect();
        for w in writers {
            let out = w.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: a writer failed ({}):\n{}",
                describe(out.status),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

#[test]
fn a_new_database_appears_whole_in_wal_mode_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skillet.db");
    drop(SqliteStore::open(&db).unwrap());
    let bytes = std::fs::read(&db).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"), "no header");
    // Offsets 18 and 19: read and write versions, 2 in WAL mode; 60: user_version.
    assert_eq!((bytes[18], bytes[19]), (2, 2), "not in WAL mode");
    let version = i64::from(u32::from_be_bytes([
        bytes[60], bytes[61], bytes[62], bytes[63],
    ]));
    assert_eq!(version, skillet_store::SCHEMA_VERSION);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".new-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
