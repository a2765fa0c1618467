//! History retention: what a prune removes, what it never touches, batches and dry runs, and
//! replicas pruning at once.

use std::sync::Arc;

use skillet_store::{
    BreakerRecord, ExecutionQuery, ExecutionRecord, LeaseGrant, LeaseRequest, Retention,
    SessionRecord, StateKey, StateWrite, Store, TurnRecord, now_ms,
};

use crate::Db;
use crate::executions::{ids, import};

crate::both!(
    keep_days_removes_old_executions_and_ended_sessions_only,
    max_rows_keeps_the_newest_and_the_bounded_prune_takes_a_batch_at_a_time,
    the_time_and_count_rules_together_take_each_row_once,
    a_leased_session_is_never_pruned,
    a_bounded_prune_with_nothing_due_removes_nothing,
    max_rows_caps_ended_sessions_too_and_never_a_live_one,
    expired_state_documents_go_and_live_ones_stay,
    a_prune_without_rules_removes_nothing,
    replicas_pruning_at_once_remove_each_row_once,
);

const DAY: i64 = 86_400_000;

pub(crate) fn execution(n: usize, started: i64) -> ExecutionRecord {
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

fn all(store: &dyn Store) -> Vec<String> {
    ids(store, &ExecutionQuery::default())
}

fn dry(rule: &Retention) -> Retention {
    Retention {
        dry_run: true,
        ..rule.clone()
    }
}

fn keep_days_removes_old_executions_and_ended_sessions_only(db: &Db) {
    let store = db.open();
    let now = now_ms();
    for n in 0..10 {
        // Five a hundred days old, five from today.
        let started = if n < 5 { now - 100 * DAY } else { now - 1000 };
        store.record(&execution(n, started)).expect("record");
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
        ("h-expired", "expired", old),
        ("i-ended", "ended", old),
    ] {
        store
            .save_session(&session(id, status, ended))
            .expect("save");
        store.add_turn(&turn(id, 1)).expect("turn");
        store.add_turn(&turn(id, 2)).expect("turn");
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
        .expect("breaker");
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        ..Default::default()
    };

    let counted = store.prune(&dry(&rule)).expect("dry run");
    assert_eq!(
        (counted.executions, counted.sessions, counted.turns),
        (5, 4, 8)
    );
    assert_eq!(all(&*store).len(), 10, "a dry run changes nothing");
    assert_eq!(store.turns("a-closed").expect("turns").len(), 2);

    let done = store.prune(&rule).expect("prune");
    assert_eq!((done.executions, done.sessions, done.turns), (5, 4, 8));
    assert_eq!(all(&*store).len(), 5);
    assert!(
        all(&*store).iter().all(|id| store
            .get(id)
            .expect("get")
            .is_some_and(|r| r.started_at_ms > now - DAY)),
        "the recent ones stay"
    );
    for gone in ["a-closed", "b-dead", "h-expired", "i-ended"] {
        assert!(store.session(gone).expect("session").is_none(), "{gone}");
        assert!(
            store.turns(gone).expect("turns").is_empty(),
            "{gone}'s transcript"
        );
    }
    for kept in ["c-live", "d-open", "e-odd-live", "f-unknown", "g-recent"] {
        assert!(store.session(kept).expect("session").is_some(), "{kept}");
        assert_eq!(
            store.turns(kept).expect("turns").len(),
            2,
            "{kept}'s transcript"
        );
    }
    assert_eq!(
        store.breakers().expect("breakers"),
        [breaker],
        "breakers are never pruned"
    );
    assert!(store.prune(&rule).expect("again").is_empty());
    if let Db::Postgres(_) = db {
        assert!(!done.converted, "nothing to convert on PostgreSQL");
    }
}

fn max_rows_keeps_the_newest_and_the_bounded_prune_takes_a_batch_at_a_time(db: &Db) {
    let store = db.open();
    let now = now_ms();
    for n in 0..100 {
        store
            .record(&execution(n, now - 1000 + n as i64))
            .expect("record");
    }
    let bounded = Retention {
        max_rows: Some(40),
        batch: Some(25),
        ..Default::default()
    };
    assert_eq!(store.prune(&dry(&bounded)).expect("dry").executions, 60);
    assert_eq!(store.prune(&bounded).expect("prune").executions, 25);
    assert_eq!(store.prune(&bounded).expect("prune").executions, 25);
    assert_eq!(store.prune(&bounded).expect("prune").executions, 10);
    assert_eq!(
        store.prune(&bounded).expect("prune").executions,
        0,
        "nothing due"
    );
    let left = all(&*store);
    assert_eq!(left.len(), 40);
    assert_eq!(left[0], execution(99, 0).id, "the newest are kept");
    assert_eq!(left[39], execution(60, 0).id);

    let exact = Retention {
        max_rows: Some(10),
        ..Default::default()
    };
    assert_eq!(store.prune(&dry(&exact)).expect("dry").executions, 30);
    assert_eq!(store.prune(&exact).expect("prune").executions, 30);
    assert_eq!(all(&*store).len(), 10);
    assert_eq!(all(&*store)[9], execution(90, 0).id);
    let none = Retention {
        max_rows: Some(0),
        ..Default::default()
    };
    assert_eq!(store.prune(&none).expect("prune").executions, 10);
    assert!(all(&*store).is_empty());
}

fn the_time_and_count_rules_together_take_each_row_once(db: &Db) {
    let now = now_ms();
    // 30 old, 30 recent; keep 40 and nothing older than 90 days.
    let rows = (0..60)
        .map(|n| {
            let started = if n < 30 {
                now - 100 * DAY + n as i64
            } else {
                now - 1000 + n as i64
            };
            execution(n, started)
        })
        .collect();
    assert_eq!(import(db, rows).expect("import"), 60);
    let store = db.open();
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        max_rows: Some(40),
        ..Default::default()
    };
    assert_eq!(store.prune(&dry(&rule)).expect("dry").executions, 30);
    let tight = Retention {
        max_rows: Some(20),
        ..rule.clone()
    };
    assert_eq!(store.prune(&dry(&tight)).expect("dry").executions, 40);
    // In batches: the time rule's rows first, then the count rule's.
    let bounded = Retention {
        batch: Some(25),
        ..tight.clone()
    };
    assert_eq!(store.prune(&bounded).expect("prune").executions, 25);
    assert_eq!(store.prune(&bounded).expect("prune").executions, 15);
    assert_eq!(store.prune(&bounded).expect("prune").executions, 0);
    let left = all(&*store);
    assert_eq!(left.len(), 20);
    assert_eq!(left[19], execution(40, 0).id);
}

fn a_leased_session_is_never_pruned(db: &Db) {
    let store = db.open();
    let now = now_ms();
    store
        .save_session(&session("leased", "ended", Some(now - 100 * DAY)))
        .expect("save");
    store.add_turn(&turn("leased", 1)).expect("turn");
    store
        .save_session(&session("lapsed", "ended", Some(now - 100 * DAY)))
        .expect("save");
    let request = |ttl_ms| LeaseRequest {
        owner: "d".into(),
        pid: std::process::id().into(),
        host: "here".into(),
        holder: "daemon".into(),
        ttl_ms,
    };
    // Taken by another replica.
    let other = db.open();
    assert!(matches!(
        other
            .lease_session("leased", &request(60_000), &|_| false)
            .expect("lease"),
        LeaseGrant::Acquired { .. }
    ));
    assert!(matches!(
        other
            .lease_session("lapsed", &request(1), &|_| false)
            .expect("lease"),
        LeaseGrant::Acquired { .. }
    ));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let rule = Retention {
        before_ms: Some(now),
        ..Default::default()
    };
    let counted = store.prune(&dry(&rule)).expect("dry");
    assert_eq!((counted.sessions, counted.turns), (1, 0));
    let report = store.prune(&rule).expect("prune");
    assert_eq!(report.sessions, 1, "only the session whose lease lapsed");
    assert!(store.session("leased").expect("session").is_some());
    assert_eq!(store.turns("leased").expect("turns").len(), 1);
    assert!(store.session("lapsed").expect("session").is_none());
    // Released, it goes like any other.
    other.release_session_lease("leased", "d").expect("release");
    assert_eq!(store.prune(&rule).expect("prune").sessions, 1);
}

fn a_bounded_prune_with_nothing_due_removes_nothing(db: &Db) {
    let store = db.open();
    let now = now_ms();
    for n in 0..10 {
        store.record(&execution(n, now)).expect("record");
    }
    store
        .save_session(&session("recent", "closed", Some(now)))
        .expect("save");
    let started = std::time::Instant::now();
    let report = store
        .prune(&Retention {
            before_ms: Some(now - 90 * DAY),
            max_rows: Some(1_000),
            batch: Some(200),
            dry_run: false,
        })
        .expect("prune");
    assert!(report.is_empty(), "{report:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "a prune with nothing due took {:?}",
        started.elapsed()
    );
    assert_eq!(all(&*store).len(), 10);
    assert!(store.session("recent").expect("session").is_some());
}

fn max_rows_caps_ended_sessions_too_and_never_a_live_one(db: &Db) {
    let store = db.open();
    let now = now_ms();
    // Twelve sessions ended in the last minute (far inside keep_days), three live ones
    // older than all of them, each with a transcript.
    for n in 0..12 {
        let id = format!("ended-{n:02}");
        store
            .save_session(&session(&id, "closed", Some(now - 60_000 + n * 1000)))
            .expect("save");
        store.add_turn(&turn(&id, 1)).expect("turn");
    }
    for n in 0..3 {
        let id = format!("live-{n}");
        store
            .save_session(&session(&id, "live", None))
            .expect("save");
        store.add_turn(&turn(&id, 1)).expect("turn");
    }
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        max_rows: Some(5),
        ..Default::default()
    };
    let counted = store.prune(&dry(&rule)).expect("dry");
    assert_eq!(
        (counted.sessions, counted.turns),
        (7, 7),
        "the dry run reports them"
    );
    assert!(store.session("ended-00").expect("session").is_some());

    // The bounded prune each run does takes them a batch at a time.
    let bounded = Retention {
        batch: Some(4),
        ..rule.clone()
    };
    assert_eq!(store.prune(&bounded).expect("prune").sessions, 4);
    assert_eq!(store.prune(&bounded).expect("prune").sessions, 3);
    assert_eq!(
        store.prune(&bounded).expect("prune").sessions,
        0,
        "nothing due"
    );
    for n in 0..7 {
        let id = format!("ended-{n:02}");
        assert!(store.session(&id).expect("session").is_none(), "{id}");
        assert!(
            store.turns(&id).expect("turns").is_empty(),
            "{id}'s transcript"
        );
    }
    for n in 7..12 {
        let id = format!("ended-{n:02}");
        assert!(
            store.session(&id).expect("session").is_some(),
            "{id}: the newest are kept"
        );
    }
    for n in 0..3 {
        let id = format!("live-{n}");
        assert!(
            store.session(&id).expect("session").is_some(),
            "{id} is live"
        );
        assert_eq!(store.turns(&id).expect("turns").len(), 1);
    }
    assert!(store.prune(&rule).expect("prune").is_empty());
}

fn expired_state_documents_go_and_live_ones_stay(db: &Db) {
    let store = db.open();
    let key = |owner: &str| StateKey {
        owner: owner.into(),
        workspace: "/w".into(),
    };
    let write = |ttl_ms| StateWrite {
        doc: Some("{\"n\": 1}"),
        schema_version: 1,
        writer: "test",
        ttl_ms,
    };
    store
        .commit_state(&key("short"), 0, &write(Some(1)))
        .expect("commit");
    store
        .commit_state(&key("long"), 0, &write(Some(DAY)))
        .expect("commit");
    store
        .commit_state(&key("forever"), 0, &write(None))
        .expect("commit");
    std::thread::sleep(std::time::Duration::from_millis(20));
    // States have no rule of their own: any prune takes the expired ones.
    let rule = Retention::default();
    assert_eq!(store.prune(&dry(&rule)).expect("dry").states, 1);
    assert!(
        store.state(&key("short")).expect("state").is_some(),
        "a dry run keeps it"
    );
    assert_eq!(store.prune(&rule).expect("prune").states, 1);
    assert!(store.state(&key("short")).expect("state").is_none());
    for kept in ["long", "forever"] {
        assert!(
            store
                .state(&key(kept))
                .expect("state")
                .is_some_and(|s| s.doc.is_some()),
            "{kept}"
        );
    }
    // The bounded prune finds them too.
    store
        .commit_state(&key("short"), 0, &write(Some(1)))
        .expect("commit");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let bounded = Retention {
        batch: Some(10),
        ..Retention::default()
    };
    assert_eq!(store.prune(&bounded).expect("prune").states, 1);
}

fn a_prune_without_rules_removes_nothing(db: &Db) {
    let store = db.open();
    store.record(&execution(1, 1)).expect("record");
    store
        .save_session(&session("old", "closed", Some(1)))
        .expect("save");
    let report = store.prune(&Retention::default()).expect("prune");
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(all(&*store).len(), 1);
    assert!(store.session("old").expect("session").is_some());
}

fn replicas_pruning_at_once_remove_each_row_once(db: &Db) {
    let now = now_ms();
    let rows = (0..3_000)
        .map(|n| execution(n, now - 100 * DAY + n as i64))
        .collect();
    assert_eq!(import(db, rows).expect("import"), 3_000);
    let fresh = (3_000..3_010).map(|n| execution(n, now)).collect();
    assert_eq!(import(db, fresh).expect("import"), 10);
    let rule = Retention {
        before_ms: Some(now - 90 * DAY),
        batch: Some(100),
        ..Default::default()
    };
    let replicas: Vec<Arc<dyn Store>> = (0..3).map(|_| db.open()).collect();
    let threads: Vec<_> = replicas
        .iter()
        .map(|store| {
            let store = Arc::clone(store);
            let rule = rule.clone();
            std::thread::spawn(move || {
                let mut removed = 0;
                loop {
                    let n = store.prune(&rule).expect("prune").executions;
                    removed += n;
                    if n == 0 {
                        return removed;
                    }
                }
            })
        })
        .collect();
    let removed: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("pruning thread"))
        .sum();
    assert_eq!(
        removed, 3_000,
        "each row is counted by the replica that removed it"
    );
    assert_eq!(all(&*replicas[0]).len(), 10);
}
