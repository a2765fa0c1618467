//! Session leases in one process, and databases that are not sound.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::Path;

use skillet_store::{
    ExecutionQuery, ExecutionRecord, LeaseGrant, LeaseRequest, SessionRecord, SqliteStore, Store,
    StoreError,
};

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        skill: "py".into(),
        label: None,
        status: "live".into(),
        start: "{}".into(),
        replay: true,
        pid: Some(42),
        created_at_ms: 1,
        last_used_at_ms: 1,
        ended_at_ms: None,
        exit_code: None,
        reason: None,
        turns: 0,
    }
}

fn request(owner: &str, pid: i64, ttl_ms: i64) -> LeaseRequest {
    LeaseRequest {
        owner: owner.into(),
        pid,
        host: "h".into(),
        holder: format!("daemon {owner}"),
        ttl_ms,
    }
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    store.save_session(&session("s1")).unwrap();
    (dir, store)
}

#[test]
fn a_lease_is_acquired_renewed_refused_to_others_and_released() {
    let (_dir, store) = store();
    let never = |_: &skillet_store::SessionLease| false;
    assert_eq!(
        store
            .lease_session("s1", &request("a", 100, 60_000), &never)
            .unwrap(),
        LeaseGrant::Acquired { previous: None }
    );
    // Its owner asks again: extended, not refused.
    assert!(matches!(
        store
            .lease_session("s1", &request("a", 100, 60_000), &never)
            .unwrap(),
        LeaseGrant::Acquired { previous: None }
    ));
    assert!(store.renew_session_lease("s1", "a", 60_000).unwrap());
    match store
        .lease_session("s1", &request("b", 200, 60_000), &never)
        .unwrap()
    {
        LeaseGrant::Held(held) => {
            assert_eq!((held.owner.as_str(), held.pid), ("a", 100));
            assert_eq!(held.holder, "daemon a");
        }
        other => panic!("a second owner got {other:?}"),
    }
    assert!(
        !store.renew_session_lease("s1", "b", 60_000).unwrap(),
        "only the owner renews"
    );
    // Saving the session's row keeps the lease.
    store.save_session(&session("s1")).unwrap();
    assert_eq!(store.session_lease("s1").unwrap().unwrap().owner, "a");
    store.release_session_lease("s1", "b").unwrap();
    assert_eq!(
        store.session_lease("s1").unwrap().unwrap().owner,
        "a",
        "another owner cannot release it"
    );
    store.release_session_lease("s1", "a").unwrap();
    assert_eq!(store.session_lease("s1").unwrap(), None);
    assert!(matches!(
        store
            .lease_session("s1", &request("b", 200, 60_000), &never)
            .unwrap(),
        LeaseGrant::Acquired { previous: None }
    ));
}

#[test]
fn an_expired_lease_is_taken_over_and_a_live_one_only_when_its_holder_is_gone() {
    let (_dir, store) = store();
    let never = |_: &skillet_store::SessionLease| false;
    store
        .lease_session("s1", &request("a", 100, 300), &never)
        .unwrap();
    assert!(matches!(
        store
            .lease_session("s1", &request("b", 200, 60_000), &never)
            .unwrap(),
        LeaseGrant::Held(_)
    ));
    std::thread::sleep(std::time::Duration::from_millis(400));
    match store
        .lease_session("s1", &request("b", 200, 60_000), &never)
        .unwrap()
    {
        LeaseGrant::Acquired {
            previous: Some(old),
        } => assert_eq!(old.owner, "a"),
        other => panic!("an expired lease was not taken over: {other:?}"),
    }
    assert!(
        !store.renew_session_lease("s1", "a", 60_000).unwrap(),
        "the old owner learns it lost the lease"
    );
    // Not expired, but its holder is known to be gone.
    let gone = |l: &skillet_store::SessionLease| l.pid == 200;
    assert!(matches!(
        store
            .lease_session("s1", &request("c", 300, 60_000), &gone)
            .unwrap(),
        LeaseGrant::Acquired { previous: Some(_) }
    ));
    assert_eq!(
        store
            .lease_session("nope", &request("c", 300, 60_000), &never)
            .unwrap(),
        LeaseGrant::NoSession
    );
}

fn assert_corrupt(path: &Path, what: &str) {
    let err = SqliteStore::open(path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{what}: {err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    // What to do is said, but which command does it is the caller's to add.
    assert!(text.contains("Move it aside"), "{text}");
    assert!(!text.contains("`skillet "), "{text}");
}

#[test]
fn an_empty_file_is_reported_not_turned_into_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    std::fs::write(&path, b"").unwrap();
    assert_corrupt(&path, "empty");
    assert!(
        SqliteStore::open(&path)
            .unwrap_err()
            .to_string()
            .contains("0 bytes"),
        "the size is named"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
}

#[test]
fn a_file_that_is_not_a_database_is_reported_with_sqlites_words() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("garbage.db", vec![0x5a_u8; 8192]),
        ("text.db", b"this is not a database at all\n".repeat(300)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        assert_corrupt(&path, name);
        let text = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(text.contains("file is not a database"), "{text}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name} left as it was"
        );
    }
}

#[test]
fn a_damaged_page_is_reported_as_damage_when_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..400 {
            let mut r = ExecutionRecord::new(format!("id-{i:04}"), "s", "ok");
            r.error = Some("x".repeat(300));
            store.record(&r).unwrap();
        }
    }
    // Overwrite everything after the first pages (schema intact, data pages garbage).
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 64 * 1024, "{}", bytes.len());
    for b in &mut bytes[32 * 1024..] {
        *b = 0xa5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let result = SqliteStore::open(&path).and_then(|s| s.list(&ExecutionQuery::default()));
    match result {
        Err(StoreError::Corrupt { path: p, problem }) => {
            assert_eq!(p, path);
            assert!(problem.contains("malformed"), "{problem}");
        }
        other => panic!("damage was not reported: {other:?}"),
    }
}

#[test]
fn moving_a_bad_file_aside_keeps_it_and_lets_a_fresh_store_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    std::fs::write(&path, b"garbage").unwrap();
    let moved = SqliteStore::move_aside(&path).unwrap();
    let name = moved.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("skillet.db.corrupt-"), "{name}");
    assert_eq!(std::fs::read(&moved).unwrap(), b"garbage");
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.list(&ExecutionQuery::default()).unwrap().is_empty());
}

#[test]
fn a_truncated_database_with_a_log_is_left_as_it_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    let log = dir.path().join("skillet.db-wal");
    {
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..300 {
            let mut r = ExecutionRecord::new(format!("id-{i:04}"), "s", "ok");
            r.error = Some("x".repeat(300));
            store.record(&r).unwrap();
        }
    }
    // The log stays at close (see sqlite_open.rs): checkpoint it, then log more on top.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    {
        let store = SqliteStore::open(&path).unwrap();
        for i in 300..320 {
            store
                .record(&ExecutionRecord::new(format!("id-{i:04}"), "s", "ok"))
                .unwrap();
        }
    }
    assert!(
        std::fs::metadata(&log).is_ok_and(|m| m.len() > 0),
        "a log to keep"
    );
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(20_000).unwrap();
    drop(file);
    let (db_before, log_before) = (std::fs::read(&path).unwrap(), std::fs::read(&log).unwrap());

    // Reported damaged, opened any number of times: neither file changes (a close used to
    // copy the log into the damaged file and delete it, and the error said nothing changed).
    for _ in 0..2 {
        let Err(err) = SqliteStore::open(&path) else {
            // Some truncations still open: reading the history is what finds the damage.
            let store = SqliteStore::open(&path).unwrap();
            let _ = store.list(&ExecutionQuery::default());
            drop(store);
            continue;
        };
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }
    assert!(
        std::fs::read(&path).unwrap() == db_before,
        "the database was changed"
    );
    assert!(
        std::fs::read(&log).is_ok_and(|l| l == log_before),
        "the log was changed or removed"
    );
}
