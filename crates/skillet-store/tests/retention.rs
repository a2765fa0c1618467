//! History retention: what a prune removes, what it never touches, and the file shrinking.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use skillet_store::{
    BreakerRecord, ExecutionQuery, ExecutionRecord, Retention, SessionRecord, SqliteStore, Store,
    TurnRecord, now_ms,
};

const DAY: i64 = 86_400_000;

fn execution(n: usize, started: i64) -> ExecutionRecord {
    let mut r = ExecutionRecord::new(format!("0190{n:028x}"), "s", "ok");
    r.started_at_ms = started;
    r.finished_at_ms = started + 1;
    r.params = Some("x".repeat(400));
    r
}

fn session(id: &str, status: &str, ended: Option<i64>) -> SessionRecord {
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

fn turn(session_id: &str, seq: i64) -> TurnRecord {
    TurnRecord {
        session_id: session_id.into(),
        seq,
        source: "user".into(),
        input: "x = 1".into(),
        stdout: String::new(),
        stderr: String::new(),
        exit_status: Some(0),
        outcome: "ok".into(),
        started_at_ms: 1,
        duration_ms: 1,
        truncated: false,
    }
}

fn ids(store: &SqliteStore) -> Vec<String> {
    store
        .list(&ExecutionQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[test]
fn keep_days_removes_old_executions_and_ended_sessions_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    let now = now_ms();
    for n in 0..10 {
        // Five a hundred days old, five from today.
        let started = if n < 5 { now - 100 * DAY } else { now - 1000 };
        store.record(&execution(n, started)).unwrap();
    }
    let old = Some(now - 100 * DAY);
    for (id, status, ended) in [
        ("a-closed", "closed", old),
        ("b-dead", "dead", old),
        ("c-live", "live", None),
        ("d-open", "open", None),
        ("e-odd-live", "live", old), // a live row with an end time is still live
        ("f-unknown", "restoring", old),
        ("g-recent", "closed", Some(now)),
    ] {
        store.save_session(&session(id, status, ended)).unwrap();
        store.add_turn(&turn(id, 1)).unwrap();
        store.add_turn(&turn(id, 2)).unwrap();
    }
    let breaker = BreakerRecord {
        skill: "s".into(),
        state: "open".into(),
        consecutive_failures: 5,
        opened_at_ms: Some(now - 200 * DAY),
        updated_at_ms: now - 200 * DAY,
        trial_started_ms: None,
        recent: String::new(),
    };
    store
        .update_breaker("s", &mut |_| Some(breaker.clone()))
        .unwrap();
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        ..Default::default()
    };

    let dry = store
        .prune(&Retention {
            dry_run: true,
            ..rule.clone()
        })
        .unwrap();
    assert_eq!((dry.executions, dry.sessions, dry.turns), (5, 2, 4));
    assert_eq!(ids(&store).len(), 10, "a dry run changes nothing");
    assert_eq!(store.turns("a-closed").unwrap().len(), 2);

    let done = store.prune(&rule).unwrap();
    assert_eq!((done.executions, done.sessions, done.turns), (5, 2, 4));
    assert_eq!(ids(&store).len(), 5);
    for gone in ["a-closed", "b-dead"] {
        assert!(store.session(gone).unwrap().is_none(), "{gone}");
        assert!(store.turns(gone).unwrap().is_empty(), "{gone}'s transcript");
    }
    for kept in ["c-live", "d-open", "e-odd-live", "f-unknown", "g-recent"] {
        assert!(store.session(kept).unwrap().is_some(), "{kept}");
        assert_eq!(store.turns(kept).unwrap().len(), 2, "{kept}'s transcript");
    }
    assert_eq!(
        store.breakers().unwrap(),
        [breaker],
        "breakers are never pruned"
    );
}

#[test]
fn max_rows_keeps_the_newest_and_the_bounded_prune_takes_a_batch_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    let now = now_ms();
    for n in 0..100 {
        store.record(&execution(n, now - 1000 + n as i64)).unwrap();
    }
    let bounded = Retention {
        max_rows: Some(40),
        batch: Some(25),
        ..Default::default()
    };
    assert_eq!(store.prune(&bounded).unwrap().executions, 25);
    assert_eq!(store.prune(&bounded).unwrap().executions, 25);
    assert_eq!(store.prune(&bounded).unwrap().executions, 10);
    assert_eq!(store.prune(&bounded).unwrap().executions, 0, "nothing due");
    let left = ids(&store);
    assert_eq!(left.len(), 40);
    assert_eq!(left[0], execution(99, 0).id, "the newest are kept");
    assert_eq!(left[39], execution(60, 0).id);

    let exact = Retention {
        max_rows: Some(10),
        ..Default::default()
    };
    assert_eq!(
        store
            .prune(&Retention {
                dry_run: true,
                ..exact.clone()
            })
            .unwrap()
            .executions,
        30
    );
    assert_eq!(store.prune(&exact).unwrap().executions, 30);
    assert_eq!(ids(&store).len(), 10);
}

#[test]
fn a_leased_session_is_never_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    let store = SqliteStore::open(&path).unwrap();
    let now = now_ms();
    store
        .save_session(&session("leased", "ended", Some(now - 100 * DAY)))
        .unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE sessions SET lease_owner = 'd', lease_expires_at = ?1",
            [now + 60_000],
        )
        .unwrap();
    let report = store
        .prune(&Retention {
            before_ms: Some(now),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(report.sessions, 0);
    assert!(store.session("leased").unwrap().is_some());
}

#[test]
fn the_file_shrinks_after_a_prune_even_one_made_before_auto_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    // As an older skillet made it: no auto-vacuum.
    {
        let store = SqliteStore::open(&path).unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "auto_vacuum", "NONE").unwrap();
        conn.execute_batch("VACUUM").unwrap();
        let mode: i64 = conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 0);
    }
    let store = SqliteStore::open(&path).unwrap();
    let now = now_ms();
    for n in 0..3000 {
        store.record(&execution(n, now - 100 * DAY)).unwrap();
    }
    store
        .prune(&Retention {
            max_rows: Some(1_000_000),
            ..Default::default()
        })
        .unwrap(); // checkpoints: the size below is the data's
    let full = std::fs::metadata(&path).unwrap().len();
    let report = store
        .prune(&Retention {
            before_ms: Some(now - 90 * DAY),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(report.executions, 3000);
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after * 4 < full,
        "the file went from {full} to {after} bytes; it should shrink"
    );
    // Converted once, then incremental: later prunes shrink the file too, without a rewrite.
    for n in 0..3000 {
        store
            .record(&execution(10_000 + n, now - 100 * DAY))
            .unwrap();
    }
    let report = store
        .prune(&Retention {
            before_ms: Some(now - 90 * DAY),
            ..Default::default()
        })
        .unwrap();
    assert!(
        !report.converted,
        "the file was converted by the first prune"
    );
    let again = std::fs::metadata(&path).unwrap().len();
    assert!(again * 4 < full, "{again} of {full} bytes");
}

#[test]
fn a_new_database_is_incremental_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    drop(SqliteStore::open(&path).unwrap());
    let mode: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "incremental");
}

#[test]
fn an_id_prefix_is_a_range_in_any_case_and_an_ambiguous_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    for id in [
        "0190aaaa-0000-7000-8000-000000000001",
        "0190aaab-0000-7000-8000-000000000002",
        "0190abff-0000-7000-8000-000000000003",
    ] {
        store.record(&ExecutionRecord::new(id, "s", "ok")).unwrap();
    }
    let found = store.get("0190AAAB").unwrap().unwrap();
    assert_eq!(found.id, "0190aaab-0000-7000-8000-000000000002");
    assert_eq!(
        store.get("0190abf").unwrap().unwrap().id,
        "0190abff-0000-7000-8000-000000000003",
        "a prefix ending in the last hex digit"
    );
    let err = store.get("0190aa").unwrap_err().to_string();
    assert!(err.contains("`0190aa` matches 2 executions"), "{err}");
    let err = store.get("0190").unwrap_err().to_string();
    assert!(err.contains("matches 3"), "{err}");
    assert!(store.get("0190b").unwrap().is_none());
    assert!(store.get("%").unwrap().is_none(), "no wildcards");
    assert!(store.get("0190_a").unwrap().is_none(), "no wildcards");
    assert!(
        store.get("").unwrap().is_none(),
        "an empty prefix names nothing"
    );
    // Past the counting bound the count is a lower bound, and says so.
    let mut many = (0..1_005).map(|i| {
        ExecutionRecord::new(
            format!("0191{i:08x}-0000-7000-8000-000000000000"),
            "s",
            "ok",
        )
    });
    store.import(&mut many).unwrap();
    let err = store.get("0191").unwrap_err().to_string();
    assert!(err.contains("matches at least 1000 executions"), "{err}");
    assert!(
        !store
            .get("0190")
            .unwrap_err()
            .to_string()
            .contains("at least")
    );
}

#[test]
fn listing_uses_an_index_for_every_filter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let cols = "SELECT id FROM executions";
    for (filter, index) in [
        ("", "executions_by_time"),
        ("WHERE status = 'timeout'", "executions_by_status_time"),
        ("WHERE skill = 'x'", "executions_by_skill_time"),
        ("WHERE started_at >= 5", "executions_by_time"),
    ] {
        let sql = format!("EXPLAIN QUERY PLAN {cols} {filter} ORDER BY started_at DESC, id DESC");
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{filter}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{filter} sorts: {plan}");
    }
}

#[test]
fn a_bounded_prune_with_nothing_due_takes_no_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    let store = SqliteStore::open(&path).unwrap();
    let now = now_ms();
    for n in 0..10 {
        store.record(&execution(n, now)).unwrap();
    }
    store
        .save_session(&session("recent", "closed", Some(now)))
        .unwrap();
    // Another process is writing (a long prune, a burst of runs).
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let report = store
        .prune(&Retention {
            before_ms: Some(now - 90 * DAY),
            max_rows: Some(1_000),
            batch: Some(200),
            dry_run: false,
        })
        .unwrap();
    assert!(report.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "a run with nothing to prune waited {:?} for the write lock",
        started.elapsed()
    );
    writer.execute_batch("COMMIT").unwrap();
}

#[test]
fn max_rows_caps_ended_sessions_too_and_never_a_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    let now = now_ms();
    // Twelve sessions ended in the last minute (far inside keep_days), three live ones
    // older than all of them, each with a transcript.
    for n in 0..12 {
        let id = format!("ended-{n:02}");
        store
            .save_session(&session(&id, "closed", Some(now - 60_000 + n * 1000)))
            .unwrap();
        store.add_turn(&turn(&id, 1)).unwrap();
    }
    for n in 0..3 {
        let id = format!("live-{n}");
        store.save_session(&session(&id, "live", None)).unwrap();
        store.add_turn(&turn(&id, 1)).unwrap();
    }
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        max_rows: Some(5),
        ..Default::default()
    };
    let dry = store
        .prune(&Retention {
            dry_run: true,
            ..rule.clone()
        })
        .unwrap();
    assert_eq!(
        (dry.sessions, dry.turns),
        (7, 7),
        "the dry run reports them"
    );
    assert!(store.session("ended-00").unwrap().is_some());

    // The bounded prune each run does takes them a batch at a time.
    let bounded = Retention {
        batch: Some(4),
        ..rule.clone()
    };
    assert_eq!(store.prune(&bounded).unwrap().sessions, 4);
    assert_eq!(store.prune(&bounded).unwrap().sessions, 3);
    assert_eq!(store.prune(&bounded).unwrap().sessions, 0, "nothing due");
    for n in 0..7 {
        let id = format!("ended-{n:02}");
        assert!(store.session(&id).unwrap().is_none(), "{id}");
        assert!(store.turns(&id).unwrap().is_empty(), "{id}'s transcript");
    }
    for n in 7..12 {
        let id = format!("ended-{n:02}");
        assert!(
            store.session(&id).unwrap().is_some(),
            "{id}: the newest are kept"
        );
    }
    for n in 0..3 {
        let id = format!("live-{n}");
        assert!(store.session(&id).unwrap().is_some(), "{id} is live");
        assert_eq!(store.turns(&id).unwrap().len(), 1);
    }
    assert!(store.prune(&rule).unwrap().is_empty());
}
