//! Alert events: newest first, each alert's state, and the bound on how many are kept.

use skillet_store::{AlertEvent, MAX_ALERT_EVENTS};

use crate::Db;

crate::both!(
    events_come_back_newest_first_and_say_how_notifying_went,
    the_state_of_each_alert_and_skill_is_its_newest_event,
    the_bound_drops_the_oldest_but_keeps_every_alerts_state,
);

fn event(n: i64) -> AlertEvent {
    AlertEvent {
        name: "a".into(),
        skill: "s".into(),
        state: if n % 2 == 0 { "firing" } else { "resolved" }.into(),
        value: Some(n as f64 / 10.0),
        condition: "failure_rate > 0.2".into(),
        at_ms: n,
        notified: "ok".into(),
    }
}

fn events_come_back_newest_first_and_say_how_notifying_went(db: &Db) {
    let store = db.open();
    assert!(store.alert_events(0).expect("events").is_empty());
    assert!(store.alert_states().expect("states").is_empty());
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(store.record_alert(&event(n)).expect("record"));
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let back = db.open().alert_events(0).expect("events");
    assert_eq!(back, (0..5).rev().map(event).collect::<Vec<_>>());
    assert_eq!(store.alert_events(2).expect("events"), [event(4), event(3)]);
    // The state of (a, s) is its newest event, whatever came before.
    assert_eq!(store.alert_states().expect("states"), [event(4)]);
    let mut pending = event(5);
    pending.notified = "pending".into();
    pending.value = None;
    let id = store.record_alert(&pending).expect("record");
    assert_eq!(store.alert_events(1).expect("events"), [pending.clone()]);
    db.open()
        .set_alert_notified(id, "command: exited 1")
        .expect("notified");
    assert_eq!(
        store.alert_events(1).expect("events")[0].notified,
        "command: exited 1"
    );
    // An older event is told apart by its id.
    store
        .set_alert_notified(ids[0], "webhook: 500")
        .expect("notified");
    assert_eq!(
        store.alert_events(0).expect("events")[5].notified,
        "webhook: 500"
    );
    assert_eq!(store.alert_events(0).expect("events")[4].notified, "ok");
}

fn the_state_of_each_alert_and_skill_is_its_newest_event(db: &Db) {
    let store = db.open();
    let with = |name: &str, skill: &str, n: i64| AlertEvent {
        name: name.into(),
        skill: skill.into(),
        ..event(n)
    };
    for e in [
        with("a", "s", 1),
        with("a", "t", 2),
        with("b", "s", 3),
        with("a", "s", 4),
        with("a", "t", 5),
    ] {
        store.record_alert(&e).expect("record");
    }
    // Newest first.
    assert_eq!(
        store.alert_states().expect("states"),
        [with("a", "t", 5), with("a", "s", 4), with("b", "s", 3)]
    );
}

/// More than [`MAX_ALERT_EVENTS`], recorded by four threads on two replicas at once: every
/// event gets an id of its own, the oldest go (by id), except an alert's only event, which is
/// its state however old.
fn the_bound_drops_the_oldest_but_keeps_every_alerts_state(db: &Db) {
    const THREADS: i64 = 4;
    let stores = [db.open(), db.open()];
    let lone = AlertEvent {
        name: "b".into(),
        skill: "t".into(),
        ..event(-1)
    };
    stores[0].record_alert(&lone).expect("record");
    let over = MAX_ALERT_EVENTS + 5;
    let mut ids: Vec<(i64, i64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = &stores[(t % 2) as usize];
                s.spawn(move || {
                    (0..over)
                        .filter(|n| n % THREADS == t)
                        .map(|n| (store.record_alert(&event(n)).expect("record"), n))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("recorder"))
            .collect()
    });
    ids.sort_unstable();
    let distinct: std::collections::BTreeSet<i64> = ids.iter().map(|(id, _)| *id).collect();
    assert_eq!(distinct.len() as i64, over, "ids are distinct");
    // The five oldest of (a, s) went; the lone (b, t) stayed, older than all of them.
    let mut expected: Vec<AlertEvent> = ids[5..].iter().rev().map(|(_, n)| event(*n)).collect();
    expected.push(lone.clone());
    let all = db.open().alert_events(0).expect("events");
    assert_eq!(all.len() as i64, MAX_ALERT_EVENTS + 1);
    assert!(
        all == expected,
        "not the newest {MAX_ALERT_EVENTS} and the lone state"
    );
    let newest = event(ids[ids.len() - 1].1);
    assert_eq!(stores[1].alert_states().expect("states"), [newest, lone]);
}
