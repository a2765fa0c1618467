//! Circuit breakers: one atomic read-modify-write per update, across every replica.

use std::sync::atomic::{AtomicUsize, Ordering};

use skillet_store::BreakerRecord;

use crate::Db;

crate::both!(
    breaker_rows_change_atomically,
    every_field_is_kept_and_seen_by_another_replica,
    reset_says_whether_there_was_state,
    breakers_are_listed_by_skill,
    replicas_hammering_one_breaker_count_every_change_once,
    replicas_racing_to_create_a_breaker_see_no_breaker_once,
);

fn record(skill: &str, state: &str, failures: i64) -> BreakerRecord {
    BreakerRecord {
        skill: skill.into(),
        state: state.into(),
        consecutive_failures: failures,
        opened_at_ms: Some(10),
        updated_at_ms: 10,
        trial_started_ms: None,
        recent: String::new(),
    }
}

fn breaker_rows_change_atomically(db: &Db) {
    let store = db.open();
    let open = record("s", "open", 5);
    let back = store
        .update_breaker("s", &mut |cur| {
            assert!(cur.is_none());
            Some(open.clone())
        })
        .expect("update");
    assert_eq!(back, Some(open.clone()));
    assert_eq!(store.breakers().expect("list"), std::slice::from_ref(&open));
    let mut seen = None;
    store
        .update_breaker("s", &mut |cur| {
            seen = cur;
            None
        })
        .expect("delete");
    assert_eq!(seen, Some(open), "the change sees the stored row");
    assert!(store.breakers().expect("list").is_empty());
    // A change that keeps nothing of a skill with nothing leaves nothing behind.
    assert_eq!(
        store.update_breaker("t", &mut |_| None).expect("noop"),
        None
    );
    assert!(store.breakers().expect("list").is_empty());
}

fn every_field_is_kept_and_seen_by_another_replica(db: &Db) {
    let a = db.open();
    let b = db.open();
    let half = BreakerRecord {
        skill: "s".into(),
        state: "half_open".into(),
        consecutive_failures: 1,
        opened_at_ms: None,
        updated_at_ms: 1,
        trial_started_ms: Some(7),
        recent: "0110".into(),
    };
    a.update_breaker("s", &mut |_| Some(half.clone()))
        .expect("update");
    assert_eq!(b.breakers().expect("list"), std::slice::from_ref(&half));
    let mut seen = None;
    b.update_breaker("s", &mut |cur| {
        seen = cur.clone();
        cur
    })
    .expect("unchanged");
    assert_eq!(seen, Some(half.clone()));
    assert_eq!(a.breakers().expect("list")[0].trial_started_ms, Some(7));
}

fn reset_says_whether_there_was_state(db: &Db) {
    let store = db.open();
    assert!(!store.reset_breaker("s").expect("reset"));
    store
        .update_breaker("s", &mut |_| Some(record("s", "open", 3)))
        .expect("update");
    assert!(store.reset_breaker("s").expect("reset"));
    assert!(store.breakers().expect("list").is_empty());
    assert!(!store.reset_breaker("s").expect("reset"));
}

fn breakers_are_listed_by_skill(db: &Db) {
    let store = db.open();
    for skill in ["b", "a", "C", "a-b", "aa"] {
        store
            .update_breaker(skill, &mut |_| Some(record(skill, "open", 1)))
            .expect("update");
    }
    let skills: Vec<String> = store
        .breakers()
        .expect("list")
        .into_iter()
        .map(|b| b.skill)
        .collect();
    // Byte order, as SQLite's BINARY collation.
    assert_eq!(skills, ["C", "a", "a-b", "aa", "b"]);
}

/// Two replicas, several threads each, every update adding one failure: none is lost, and
/// every change is run exactly once.
fn replicas_hammering_one_breaker_count_every_change_once(db: &Db) {
    const THREADS: usize = 6;
    const UPDATES: usize = 40;
    let stores = [db.open(), db.open()];
    let calls = AtomicUsize::new(0);
    let saw_none = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = &stores[t % 2];
            let (calls, saw_none) = (&calls, &saw_none);
            s.spawn(move || {
                for _ in 0..UPDATES {
                    let next = store
                        .update_breaker("hot", &mut |cur| {
                            calls.fetch_add(1, Ordering::SeqCst);
                            if cur.is_none() {
                                saw_none.fetch_add(1, Ordering::SeqCst);
                            }
                            let n = cur.as_ref().map_or(0, |b| b.consecutive_failures);
                            Some(record("hot", "closed", n + 1))
                        })
                        .expect("update");
                    assert!(next.is_some());
                }
            });
        }
    });
    let total = (THREADS * UPDATES) as i64;
    assert_eq!(calls.load(Ordering::SeqCst), THREADS * UPDATES);
    assert_eq!(
        saw_none.load(Ordering::SeqCst),
        1,
        "only the first saw no breaker"
    );
    let all = db.open().breakers().expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].consecutive_failures, total);
}

/// For each of many new skills, replicas race to make its breaker: exactly one of them sees
/// "no breaker" and makes it; the others see what it made.
fn replicas_racing_to_create_a_breaker_see_no_breaker_once(db: &Db) {
    const THREADS: usize = 4;
    const SKILLS: usize = 30;
    let stores = [db.open(), db.open()];
    let created: Vec<AtomicUsize> = (0..SKILLS).map(|_| AtomicUsize::new(0)).collect();
    let barrier = std::sync::Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = &stores[t % 2];
            let (created, barrier) = (&created, &barrier);
            s.spawn(move || {
                for (i, made) in created.iter().enumerate() {
                    let skill = format!("s{i}");
                    barrier.wait();
                    store
                        .update_breaker(&skill, &mut |cur| match cur {
                            None => {
                                made.fetch_add(1, Ordering::SeqCst);
                                Some(record(&skill, "open", 1))
                            }
                            Some(mut b) => {
                                b.consecutive_failures += 1;
                                Some(b)
                            }
                        })
                        .expect("update");
                }
            });
        }
    });
    let all = db.open().breakers().expect("list");
    assert_eq!(all.len(), SKILLS);
    for (i, made) in created.iter().enumerate() {
        assert_eq!(made.load(Ordering::SeqCst), 1, "skill s{i} was made twice");
    }
    assert!(all.iter().all(|b| b.consecutive_failures == THREADS as i64));
}
