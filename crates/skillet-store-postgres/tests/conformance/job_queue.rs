//! The job queue shared by several daemons: each queued job is taken by exactly one, leases
//! keep a running job its holder's, a lapsed lease gives it to another (or marks it lost), and
//! a job another daemon holds can be cancelled.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use skillet_store::{JobClaim, LAPSED_JOB_ERROR, Store, now_ms};

use crate::Db;
use crate::jobs::job;

crate::both!(
    every_queued_job_is_taken_by_exactly_one_of_many_takers,
    two_takers_of_one_job_by_id_one_gets_it,
    the_next_job_is_the_highest_priority_then_the_oldest,
    a_daemon_takes_neither_its_own_nor_a_job_only_its_submitter_may_run,
    a_lapsed_lease_requeues_a_shareable_job_and_loses_the_others,
    a_renewed_lease_holds_and_a_cancel_request_reaches_the_holder,
    only_a_queued_job_is_cancelled_directly,
    saving_a_claimed_job_keeps_its_lease,
);

fn claim(holder: &str, lease_ms: i64) -> JobClaim {
    let now = now_ms();
    JobClaim {
        holder: holder.into(),
        holder_pid: 7,
        now_ms: now,
        lease_until_ms: now + lease_ms,
    }
}

fn queue(store: &dyn Store, id: &str, priority: &str, submitted: i64, shareable: bool) {
    let mut j = job(id, "queued", submitted);
    j.priority = priority.into();
    j.holder = "A".into();
    j.shareable = shareable;
    j.stdin = Some("input".into());
    store.save_job(&j).expect("save");
}

fn every_queued_job_is_taken_by_exactly_one_of_many_takers(db: &Db) {
    let submitter = db.open();
    for i in 0..40 {
        queue(
            submitter.as_ref(),
            &format!("job-{i:02}"),
            "normal",
            i,
            true,
        );
    }
    let taken = Arc::new(Mutex::new(Vec::new()));
    let stores = [db.open(), db.open()];
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = stores[t % 2].clone();
            let taken = taken.clone();
            std::thread::spawn(move || {
                let holder = format!("B{t}");
                while let Some(j) = store
                    .claim_next_job(&claim(&holder, 60_000))
                    .expect("claim")
                {
                    assert_eq!(
                        (j.status.as_str(), j.holder.as_str()),
                        ("running", holder.as_str())
                    );
                    assert_eq!(
                        j.stdin.as_deref(),
                        Some("input"),
                        "what it needs to run comes with it"
                    );
                    taken.lock().expect("lock").push(j.id);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("taker");
    }
    let taken = taken.lock().expect("lock");
    let unique: HashSet<&String> = taken.iter().collect();
    assert_eq!(
        (taken.len(), unique.len()),
        (40, 40),
        "each job once: {taken:?}"
    );
    assert!(
        submitter
            .jobs(true, 0)
            .expect("jobs")
            .iter()
            .all(|j| j.status == "running")
    );
}

fn two_takers_of_one_job_by_id_one_gets_it(db: &Db) {
    let (a, b) = (db.open(), db.open());
    for round in 0..10 {
        let id = format!("race-{round}");
        queue(a.as_ref(), &id, "normal", round, true);
        let (ta, tb) = (a.clone(), b.clone());
        let (ia, ib) = (id.clone(), id.clone());
        let one =
            std::thread::spawn(move || ta.claim_job(&ia, &claim("X", 60_000)).expect("claim"));
        let two =
            std::thread::spawn(move || tb.claim_job(&ib, &claim("Y", 60_000)).expect("claim"));
        let got = [one.join().expect("x"), two.join().expect("y")];
        assert_eq!(
            got.iter().filter(|g| **g).count(),
            1,
            "round {round}: {got:?}"
        );
        let row = a.job(&id).expect("job").expect("there");
        assert_eq!(row.status, "running");
        assert!(
            row.started_at_ms.is_some() && row.queue_wait_ms.is_some(),
            "{row:?}"
        );
    }
}

fn the_next_job_is_the_highest_priority_then_the_oldest(db: &Db) {
    let store = db.open();
    queue(store.as_ref(), "low-old", "low", 1, true);
    queue(store.as_ref(), "normal-new", "normal", 5, true);
    queue(store.as_ref(), "normal-old", "normal", 2, true);
    queue(store.as_ref(), "high", "high", 9, true);
    let order: Vec<String> = std::iter::from_fn(|| {
        store
            .claim_next_job(&claim("B", 60_000))
            .expect("claim")
            .map(|j| j.id)
    })
    .collect();
    assert_eq!(order, ["high", "normal-old", "normal-new", "low-old"]);
}

fn a_daemon_takes_neither_its_own_nor_a_job_only_its_submitter_may_run(db: &Db) {
    let store = db.open();
    queue(store.as_ref(), "private", "normal", 1, false);
    queue(store.as_ref(), "mine", "normal", 2, true);
    // "A" queued both: it runs them from its own queue, by id.
    assert_eq!(
        store.claim_next_job(&claim("A", 60_000)).expect("claim"),
        None
    );
    // Another daemon may take the shareable one only.
    let taken = store.claim_next_job(&claim("B", 60_000)).expect("claim");
    assert_eq!(taken.map(|j| j.id).as_deref(), Some("mine"));
    assert_eq!(
        store.claim_next_job(&claim("B", 60_000)).expect("claim"),
        None
    );
    assert!(
        store
            .claim_job("private", &claim("A", 60_000))
            .expect("claim")
    );
}

fn a_lapsed_lease_requeues_a_shareable_job_and_loses_the_others(db: &Db) {
    let store = db.open();
    queue(store.as_ref(), "shared", "normal", 1, true);
    queue(store.as_ref(), "private", "normal", 2, false);
    assert!(
        store
            .claim_job("shared", &claim("dead", -1))
            .expect("claim")
    );
    assert!(
        store
            .claim_job("private", &claim("dead", -1))
            .expect("claim")
    );
    let lapsed = db.open().requeue_lapsed_jobs(now_ms()).expect("requeue");
    assert_eq!(
        (lapsed.requeued, lapsed.lost),
        (vec!["shared".to_owned()], vec!["private".to_owned()])
    );
    let private = store.job("private").expect("job").expect("there");
    assert_eq!(
        (private.status.as_str(), private.error.as_deref()),
        ("lost", Some(LAPSED_JOB_ERROR))
    );
    // The requeued one is anyone's now, its submitter's included.
    let again = store
        .claim_next_job(&claim("A", 60_000))
        .expect("claim")
        .expect("requeued");
    assert_eq!((again.id.as_str(), again.holder.as_str()), ("shared", "A"));
    assert_eq!(
        store.requeue_lapsed_jobs(now_ms()).expect("requeue"),
        Default::default()
    );
}

fn a_renewed_lease_holds_and_a_cancel_request_reaches_the_holder(db: &Db) {
    let (holder, other) = (db.open(), db.open());
    queue(holder.as_ref(), "long", "normal", 1, true);
    assert!(holder.claim_job("long", &claim("H", 1_000)).expect("claim"));
    assert_eq!(
        holder
            .renew_job_leases("H", now_ms() + 60_000)
            .expect("renew"),
        Vec::<String>::new()
    );
    let lapsed = other
        .requeue_lapsed_jobs(now_ms() + 5_000)
        .expect("requeue");
    assert!(
        lapsed.requeued.is_empty(),
        "a renewed lease is not lapsed: {lapsed:?}"
    );
    assert!(other.request_job_cancel("long").expect("request"));
    assert_eq!(
        holder
            .renew_job_leases("H", now_ms() + 60_000)
            .expect("renew"),
        ["long"]
    );
    assert!(
        !other.request_job_cancel("nope").expect("request"),
        "no such running job"
    );
}

fn only_a_queued_job_is_cancelled_directly(db: &Db) {
    let store = db.open();
    queue(store.as_ref(), "waiting", "normal", 1, true);
    queue(store.as_ref(), "taken", "normal", 2, true);
    assert!(
        store
            .claim_job("taken", &claim("B", 60_000))
            .expect("claim")
    );
    assert!(
        store
            .cancel_queued_job("waiting", "cancelled by hand", 10)
            .expect("cancel")
    );
    assert!(
        !store
            .cancel_queued_job("taken", "cancelled by hand", 10)
            .expect("cancel")
    );
    let w = store.job("waiting").expect("job").expect("there");
    assert_eq!(
        (w.status.as_str(), w.error.as_deref(), w.finished_at_ms),
        ("cancelled", Some("cancelled by hand"), Some(10))
    );
    assert_eq!(
        store.job("taken").expect("job").expect("there").status,
        "running"
    );
}

fn saving_a_claimed_job_keeps_its_lease(db: &Db) {
    let store = db.open();
    queue(store.as_ref(), "j", "normal", 1, true);
    assert!(store.claim_job("j", &claim("H", 60_000)).expect("claim"));
    let mut row = store.job("j").expect("job").expect("there");
    row.stdout = "partial".into();
    store.save_job(&row).expect("save");
    let lapsed = store.requeue_lapsed_jobs(now_ms()).expect("requeue");
    assert!(
        lapsed.requeued.is_empty(),
        "the save dropped the lease: {lapsed:?}"
    );
    assert_eq!(
        store.job("j").expect("job").expect("there").stdout,
        "partial"
    );
}
