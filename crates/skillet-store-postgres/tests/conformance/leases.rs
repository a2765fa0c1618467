//! Session leases: one owner at a time, taken over only once expired or its holder is gone.

use std::time::Duration;

use skillet_store::{LeaseGrant, LeaseRequest, SessionLease};

use crate::Db;
use crate::sessions::session;

crate::both!(
    a_lease_is_acquired_renewed_refused_to_others_and_released,
    an_expired_lease_is_taken_over_and_a_live_one_only_when_its_holder_is_gone,
    a_lease_is_seen_whole_by_another_replica,
    replicas_asking_for_one_lease_at_once_get_exactly_one,
    a_lease_left_by_a_replica_that_went_away_is_refused_until_it_expires,
);

fn request(owner: &str, pid: i64, ttl_ms: i64) -> LeaseRequest {
    LeaseRequest {
        owner: owner.into(),
        pid,
        host: "h".into(),
        holder: format!("daemon {owner}"),
        ttl_ms,
    }
}

fn never(_: &SessionLease) -> bool {
    false
}

fn live_session(db: &Db, id: &str) {
    let mut s = session(id, "live", 1);
    s.replay = true;
    s.pid = Some(42);
    db.open().save_session(&s).expect("save session");
}

fn a_lease_is_acquired_renewed_refused_to_others_and_released(db: &Db) {
    live_session(db, "s1");
    let store = db.open();
    assert_eq!(
        store
            .lease_session("s1", &request("a", 100, 60_000), &never)
            .expect("lease"),
        LeaseGrant::Acquired { previous: None }
    );
    // Its owner asks again: extended, not refused.
    assert_eq!(
        store
            .lease_session("s1", &request("a", 100, 60_000), &never)
            .expect("lease"),
        LeaseGrant::Acquired { previous: None }
    );
    assert!(store.renew_session_lease("s1", "a", 60_000).expect("renew"));
    match store
        .lease_session("s1", &request("b", 200, 60_000), &never)
        .expect("lease")
    {
        LeaseGrant::Held(held) => {
            assert_eq!((held.owner.as_str(), held.pid), ("a", 100));
            assert_eq!(held.holder, "daemon a");
        }
        other => panic!("a second owner got {other:?}"),
    }
    assert!(
        !store.renew_session_lease("s1", "b", 60_000).expect("renew"),
        "only the owner renews"
    );
    // Saving the session's row keeps the lease.
    store.save_session(&session("s1", "live", 1)).expect("save");
    assert_eq!(
        store.session_lease("s1").expect("get").expect("held").owner,
        "a"
    );
    store.release_session_lease("s1", "b").expect("release");
    assert_eq!(
        store.session_lease("s1").expect("get").expect("held").owner,
        "a",
        "another owner cannot release it"
    );
    store.release_session_lease("s1", "a").expect("release");
    assert_eq!(store.session_lease("s1").expect("get"), None);
    assert!(!store.renew_session_lease("s1", "a", 60_000).expect("renew"));
    assert_eq!(
        store
            .lease_session("s1", &request("b", 200, 60_000), &never)
            .expect("lease"),
        LeaseGrant::Acquired { previous: None }
    );
}

fn an_expired_lease_is_taken_over_and_a_live_one_only_when_its_holder_is_gone(db: &Db) {
    live_session(db, "s1");
    let store = db.open();
    store
        .lease_session("s1", &request("a", 100, 300), &never)
        .expect("lease");
    assert!(matches!(
        store
            .lease_session("s1", &request("b", 200, 60_000), &never)
            .expect("lease"),
        LeaseGrant::Held(_)
    ));
    std::thread::sleep(Duration::from_millis(400));
    match store
        .lease_session("s1", &request("b", 200, 60_000), &never)
        .expect("lease")
    {
        LeaseGrant::Acquired {
            previous: Some(old),
        } => assert_eq!((old.owner.as_str(), old.pid), ("a", 100)),
        other => panic!("an expired lease was not taken over: {other:?}"),
    }
    assert!(
        !store.renew_session_lease("s1", "a", 60_000).expect("renew"),
        "the old owner learns it lost the lease"
    );
    // Not expired, but its holder is known to be gone; the check is asked about that lease.
    let asked = std::cell::RefCell::new(Vec::new());
    let gone = |l: &SessionLease| {
        asked.borrow_mut().push(l.owner.clone());
        l.pid == 200
    };
    assert!(matches!(
        store
            .lease_session("s1", &request("c", 300, 60_000), &gone)
            .expect("lease"),
        LeaseGrant::Acquired { previous: Some(_) }
    ));
    assert_eq!(*asked.borrow(), ["b"]);
    // A live holder that is not gone keeps it.
    assert!(matches!(
        store
            .lease_session("s1", &request("d", 400, 60_000), &gone)
            .expect("lease"),
        LeaseGrant::Held(l) if l.owner == "c"
    ));
    assert_eq!(
        store
            .lease_session("nope", &request("c", 300, 60_000), &never)
            .expect("lease"),
        LeaseGrant::NoSession
    );
    assert_eq!(store.session_lease("nope").expect("get"), None);
}

fn a_lease_is_seen_whole_by_another_replica(db: &Db) {
    live_session(db, "s1");
    let before = skillet_store::now_ms();
    db.open()
        .lease_session(
            "s1",
            &LeaseRequest {
                owner: "owner-uuid".into(),
                pid: 31337,
                host: "boot-1/ns-2".into(),
                holder: "daemon on /run/s.sock".into(),
                ttl_ms: 60_000,
            },
            &never,
        )
        .expect("lease");
    let after = skillet_store::now_ms();
    let lease = db.open().session_lease("s1").expect("get").expect("held");
    assert_eq!(
        (
            lease.session_id.as_str(),
            lease.owner.as_str(),
            lease.pid,
            lease.host.as_str(),
            lease.holder.as_str()
        ),
        (
            "s1",
            "owner-uuid",
            31337,
            "boot-1/ns-2",
            "daemon on /run/s.sock"
        )
    );
    assert!(
        (before + 60_000..=after + 60_000).contains(&lease.expires_at_ms),
        "{lease:?}"
    );
}

/// Eight askers on two replicas, released at once: exactly one gets the lease, and the seven
/// others are told who holds it.
fn replicas_asking_for_one_lease_at_once_get_exactly_one(db: &Db) {
    const ASKERS: usize = 8;
    for round in 0..5 {
        let id = format!("s{round}");
        live_session(db, &id);
        let stores = [db.open(), db.open()];
        let barrier = std::sync::Barrier::new(ASKERS);
        let grants: Vec<(String, LeaseGrant)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..ASKERS)
                .map(|i| {
                    let (store, barrier, id) = (&stores[i % 2], &barrier, &id);
                    s.spawn(move || {
                        let owner = format!("owner-{i}");
                        barrier.wait();
                        let grant = store
                            .lease_session(id, &request(&owner, i as i64, 60_000), &never)
                            .expect("lease");
                        (owner, grant)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("asker"))
                .collect()
        });
        let winners: Vec<&String> = grants
            .iter()
            .filter(|(_, g)| matches!(g, LeaseGrant::Acquired { previous: None }))
            .map(|(o, _)| o)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {grants:?}");
        for (_, grant) in &grants {
            match grant {
                LeaseGrant::Acquired { .. } => {}
                LeaseGrant::Held(l) => assert_eq!(&l.owner, winners[0], "round {round}"),
                LeaseGrant::NoSession => panic!("round {round}: no session"),
            }
        }
        let held = db.open().session_lease(&id).expect("get").expect("held");
        assert_eq!(&held.owner, winners[0]);
    }
}

fn a_lease_left_by_a_replica_that_went_away_is_refused_until_it_expires(db: &Db) {
    live_session(db, "s1");
    {
        let first = db.open();
        assert!(matches!(
            first
                .lease_session("s1", &request("first", 111, 2_000), &never)
                .expect("lease"),
            LeaseGrant::Acquired { .. }
        ));
    }
    match db
        .open()
        .lease_session("s1", &request("second", 222, 60_000), &never)
        .expect("lease")
    {
        LeaseGrant::Held(l) => assert_eq!(l.pid, 111),
        other => panic!("a live lease was taken: {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(2_300));
    assert!(matches!(
        db.open()
            .lease_session("s1", &request("second", 222, 60_000), &never)
            .expect("lease"),
        LeaseGrant::Acquired { previous: Some(old) } if old.owner == "first"
    ));
    assert_eq!(
        db.open()
            .session_lease("s1")
            .expect("get")
            .expect("held")
            .owner,
        "second"
    );
}
