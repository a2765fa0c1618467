//! Skill state: compare-and-swap on a document's revision, across every replica.

use skillet_store::{StateCommit, StateKey, StateWrite};

use crate::Db;

crate::both!(
    a_commit_from_a_stale_revision_is_a_conflict_and_changes_nothing,
    a_cleared_document_keeps_its_revision_so_an_old_reader_still_conflicts,
    owners_and_workspaces_are_kept_apart_and_global_state_is_listed_everywhere,
    an_expired_document_reads_as_cleared_and_is_not_listed,
    the_bounded_prune_removes_an_expired_document,
    every_field_of_a_commit_is_kept,
    eight_writers_in_their_own_connections_lose_no_increment,
    replicas_committing_from_the_same_revision_exactly_one_wins,
);

fn key(owner: &str) -> StateKey {
    StateKey {
        owner: owner.into(),
        workspace: "/w".into(),
    }
}

fn write(doc: Option<&str>) -> StateWrite<'_> {
    StateWrite {
        doc,
        schema_version: 1,
        writer: "test",
        ttl_ms: None,
    }
}

fn a_commit_from_a_stale_revision_is_a_conflict_and_changes_nothing(db: &Db) {
    let store = db.open();
    let k = key("workspace:count");
    assert_eq!(store.state(&k).expect("read"), None);
    let first = store.commit_state(&k, 0, &write(Some("{\"n\":1}")));
    assert_eq!(first.expect("commit"), StateCommit::Committed(1));
    // A second writer that also read "nothing yet" loses.
    let stale = db.open().commit_state(&k, 0, &write(Some("{\"n\":99}")));
    assert_eq!(stale.expect("commit"), StateCommit::Conflict(1));
    // So does one from a revision that never was.
    let ahead = store.commit_state(&k, 5, &write(Some("{\"n\":5}")));
    assert_eq!(ahead.expect("commit"), StateCommit::Conflict(1));
    let now = store.state(&k).expect("read").expect("row");
    assert_eq!((now.rev, now.doc.as_deref()), (1, Some("{\"n\":1}")));
    // Nothing there: a commit from a later revision conflicts with 0.
    assert_eq!(
        store
            .commit_state(&key("workspace:none"), 3, &write(Some("1")))
            .expect("commit"),
        StateCommit::Conflict(0)
    );
    assert_eq!(store.state(&key("workspace:none")).expect("read"), None);
    assert_eq!(
        store
            .commit_state(&k, 1, &write(Some("2")))
            .expect("commit"),
        StateCommit::Committed(2)
    );
}

fn a_cleared_document_keeps_its_revision_so_an_old_reader_still_conflicts(db: &Db) {
    let store = db.open();
    let k = key("workspace:count");
    store
        .commit_state(&k, 0, &write(Some("1")))
        .expect("commit");
    store.commit_state(&k, 1, &write(None)).expect("clear");
    let cleared = store.state(&k).expect("read").expect("row");
    assert_eq!((cleared.rev, cleared.doc), (2, None));
    assert_eq!(
        store
            .commit_state(&k, 0, &write(Some("2")))
            .expect("commit"),
        StateCommit::Conflict(2)
    );
    assert!(store.states("/w", None).expect("list").is_empty());
}

fn owners_and_workspaces_are_kept_apart_and_global_state_is_listed_everywhere(db: &Db) {
    let store = db.open();
    let here = key("workspace:a");
    let there = StateKey {
        owner: "workspace:a".into(),
        workspace: "/other".into(),
    };
    let global = StateKey {
        owner: "global:b".into(),
        workspace: String::new(),
    };
    for k in [&here, &there, &global] {
        store
            .commit_state(k, 0, &write(Some("{}")))
            .expect("commit");
    }
    let owners: Vec<_> = store
        .states("/w", None)
        .expect("list")
        .into_iter()
        .map(|r| (r.key.owner, r.key.workspace))
        .collect();
    assert_eq!(
        owners,
        vec![
            ("global:b".to_owned(), String::new()),
            ("workspace:a".to_owned(), "/w".to_owned())
        ]
    );
    assert!(
        store
            .states("/w", Some("workspace:zz"))
            .expect("list")
            .is_empty()
    );
    let only_a: Vec<_> = store
        .states("/other", Some("workspace:a"))
        .expect("list")
        .into_iter()
        .map(|r| r.key.workspace)
        .collect();
    assert_eq!(only_a, ["/other"]);
    // Each has its own revision.
    assert_eq!(
        store
            .commit_state(&here, 1, &write(Some("2")))
            .expect("commit"),
        StateCommit::Committed(2)
    );
    assert_eq!(store.state(&there).expect("read").expect("row").rev, 1);
}

fn an_expired_document_reads_as_cleared_and_is_not_listed(db: &Db) {
    let store = db.open();
    let k = key("workspace:t");
    let w = StateWrite {
        ttl_ms: Some(-1),
        ..write(Some("{}"))
    };
    store.commit_state(&k, 0, &w).expect("commit");
    let read = store.state(&k).expect("read").expect("row");
    assert_eq!((read.rev, read.doc), (1, None));
    assert!(store.states("/w", None).expect("list").is_empty());
    // Its revision still guards it.
    assert_eq!(
        store
            .commit_state(&k, 0, &write(Some("1")))
            .expect("commit"),
        StateCommit::Conflict(1)
    );
    assert_eq!(
        store
            .commit_state(&k, 1, &write(Some("1")))
            .expect("commit"),
        StateCommit::Committed(2)
    );
    let alive = store.state(&k).expect("read").expect("row");
    assert_eq!(
        (alive.doc.as_deref(), alive.expires_at_ms),
        (Some("1"), None)
    );
}

fn every_field_of_a_commit_is_kept(db: &Db) {
    let store = db.open();
    let k = key("package:tools/count");
    let before = skillet_store::now_ms();
    store
        .commit_state(
            &k,
            0,
            &StateWrite {
                doc: Some("{\"n\":\"é\"}"),
                schema_version: 4_000_000_000,
                writer: "0190-exec",
                ttl_ms: Some(86_400_000),
            },
        )
        .expect("commit");
    let after = skillet_store::now_ms();
    let r = db.open().state(&k).expect("read").expect("row");
    assert_eq!(r.key, k);
    assert_eq!(
        (r.doc.as_deref(), r.rev, r.schema_version, r.writer.as_str()),
        (Some("{\"n\":\"é\"}"), 1, 4_000_000_000, "0190-exec")
    );
    assert!((before..=after).contains(&r.updated_at_ms), "{r:?}");
    let expires = r.expires_at_ms.expect("expiry");
    assert!(
        (before + 86_400_000..=after + 86_400_000).contains(&expires),
        "{r:?}"
    );
    assert_eq!(store.states("/w", None).expect("list"), [r]);
}

fn eight_writers_in_their_own_connections_lose_no_increment(db: &Db) {
    let k = key("workspace:counter");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let store = db.open();
                for _ in 0..10 {
                    loop {
                        let read = store.state(&k).expect("read");
                        let (rev, n) = read.map_or((0, 0), |r| {
                            (
                                r.rev,
                                r.doc.and_then(|d| d.parse::<i64>().ok()).unwrap_or(0),
                            )
                        });
                        let next = (n + 1).to_string();
                        match store
                            .commit_state(&k, rev, &write(Some(&next)))
                            .expect("commit")
                        {
                            StateCommit::Committed(_) => break,
                            StateCommit::Conflict(_) => continue,
                        }
                    }
                }
            });
        }
    });
    let last = db.open().state(&k).expect("read").expect("row");
    assert_eq!(last.doc.as_deref(), Some("80"));
    assert_eq!(last.rev, 80);
}

/// Writers on two replicas that all read the same revision commit at once: exactly one wins,
/// and every other is told the winner's revision. Both for a document's first commit (no row
/// yet) and a later one.
fn replicas_committing_from_the_same_revision_exactly_one_wins(db: &Db) {
    const WRITERS: usize = 8;
    let stores = [db.open(), db.open()];
    for round in 0..4 {
        let k = key(&format!("workspace:race{round}"));
        // Rounds 0 and 1 race the first commit; 2 and 3 race from revision 3.
        let from = if round < 2 {
            0
        } else {
            for rev in 0..3 {
                stores[0]
                    .commit_state(&k, rev, &write(Some("seed")))
                    .expect("seed");
            }
            3
        };
        let barrier = std::sync::Barrier::new(WRITERS);
        let results: Vec<(usize, StateCommit)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..WRITERS)
                .map(|i| {
                    let (store, barrier, k) = (&stores[i % 2], &barrier, &k);
                    s.spawn(move || {
                        let doc = format!("writer {i}");
                        barrier.wait();
                        let r = store
                            .commit_state(k, from, &write(Some(&doc)))
                            .expect("commit");
                        (i, r)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("writer"))
                .collect()
        });
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, r)| *r == StateCommit::Committed(from + 1))
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|(i, r)| *i == winners[0] || *r == StateCommit::Conflict(from + 1)),
            "round {round}: {results:?}"
        );
        let now = db.open().state(&k).expect("read").expect("row");
        assert_eq!(now.rev, from + 1);
        assert_eq!(now.doc, Some(format!("writer {}", winners[0])));
    }
}

fn the_bounded_prune_removes_an_expired_document(db: &Db) {
    let store = db.open();
    let k = key("workspace:t");
    let w = StateWrite {
        ttl_ms: Some(-1),
        ..write(Some("{}"))
    };
    store.commit_state(&k, 0, &w).expect("commit");
    let kept = key("workspace:kept");
    store
        .commit_state(&kept, 0, &write(Some("{}")))
        .expect("commit");
    // The bounded prune after each run, with no age or count limit set.
    let bounded = skillet_store::Retention {
        batch: Some(10),
        ..skillet_store::Retention::default()
    };
    let report = store.prune(&bounded).expect("prune");
    assert_eq!(report.states, 1);
    assert_eq!(store.state(&k).expect("read"), None);
    assert_eq!(store.state(&kept).expect("read").expect("row").rev, 1);
    // Gone, its revision starts again.
    assert_eq!(
        store
            .commit_state(&k, 0, &write(Some("1")))
            .expect("commit"),
        StateCommit::Committed(1)
    );
}
