//! Background jobs' rows: saved and replaced, found by id or prefix, listed newest first.

use skillet_store::{JobRecord, Retention, StoreError};

use crate::Db;

crate::both!(
    jobs_survive_reopening_and_are_found_by_prefix,
    every_field_reads_back_as_saved,
    jobs_are_listed_newest_first_up_to_a_limit,
    retention_removes_ended_jobs_only,
);

pub(crate) fn job(id: &str, status: &str, submitted: i64) -> JobRecord {
    JobRecord {
        id: id.into(),
        skill: "s".into(),
        status: status.into(),
        priority: "normal".into(),
        params: "{}".into(),
        caller_dir: "/w".into(),
        workspace: None,
        submitted_at_ms: submitted,
        started_at_ms: None,
        finished_at_ms: (status == "finished").then_some(submitted + 1),
        queue_wait_ms: None,
        execution_id: None,
        outcome: None,
        exit_code: None,
        stdout: "out".into(),
        stderr: String::new(),
        truncated: false,
        error: None,
        holder: "/run/s.sock".into(),
        holder_pid: 1,
        stdin: None,
        shareable: false,
    }
}

fn ids(jobs: Vec<JobRecord>) -> Vec<String> {
    jobs.into_iter().map(|j| j.id).collect()
}

fn jobs_survive_reopening_and_are_found_by_prefix(db: &Db) {
    {
        let store = db.open();
        store.save_job(&job("0001-a", "queued", 1)).expect("save");
        store.save_job(&job("0002-b", "finished", 2)).expect("save");
        let mut running = job("0001-a", "running", 1);
        running.started_at_ms = Some(5);
        store.save_job(&running).expect("save");
    }
    let store = db.open();
    let a = store.job("0001").expect("job").expect("found by prefix");
    assert_eq!((a.status.as_str(), a.started_at_ms), ("running", Some(5)));
    assert_eq!(
        ids(store.jobs(false, 0).expect("jobs")),
        ["0002-b", "0001-a"]
    );
    assert_eq!(
        store.jobs(true, 0).expect("jobs").len(),
        1,
        "only the running one"
    );
    let err = store
        .job("000")
        .expect_err("an ambiguous prefix is refused");
    assert!(
        matches!(
            err,
            StoreError::Ambiguous {
                what: "jobs",
                count: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(store.job("0002-B").expect("job").is_some(), "any case");
    assert!(store.job("0003").expect("job").is_none());
    assert!(store.job("").expect("job").is_none());
    assert!(store.job("%").expect("job").is_none());
}

fn every_field_reads_back_as_saved(db: &Db) {
    let store = db.open();
    let full = JobRecord {
        id: "0190-full".into(),
        skill: "count-lines".into(),
        status: "finished".into(),
        priority: "high".into(),
        params: "{\"path\": \"é\"}".into(),
        caller_dir: "/home/u/w".into(),
        workspace: Some("/home/u/w".into()),
        submitted_at_ms: 1_000,
        started_at_ms: Some(1_010),
        finished_at_ms: Some(1_500),
        queue_wait_ms: Some(10),
        execution_id: Some("0190-exec".into()),
        outcome: Some("failed".into()),
        exit_code: Some(-2),
        stdout: "a\nb".into(),
        stderr: "oops".into(),
        truncated: true,
        error: Some("exit 2".into()),
        holder: "/run/skillet.sock".into(),
        holder_pid: 4242,
        stdin: None,
        shareable: false,
    };
    store.save_job(&full).expect("save");
    assert_eq!(store.job("0190-full").expect("job"), Some(full.clone()));
    assert_eq!(
        db.open().jobs(false, 0).expect("jobs"),
        std::slice::from_ref(&full)
    );
    // Saved again, every field is replaced (none is merged).
    let bare = job("0190-full", "queued", 7);
    store.save_job(&bare).expect("save");
    assert_eq!(store.job("0190-full").expect("job"), Some(bare));
}

fn jobs_are_listed_newest_first_up_to_a_limit(db: &Db) {
    let store = db.open();
    for (id, status, at) in [
        ("0190-1", "finished", 10),
        ("0190-2", "queued", 30),
        ("0190-3", "cancelled", 20),
        ("0190-4", "lost", 30),
        ("0190-5", "running", 5),
    ] {
        store.save_job(&job(id, status, at)).expect("save");
    }
    assert_eq!(
        ids(store.jobs(false, 0).expect("jobs")),
        ["0190-4", "0190-2", "0190-3", "0190-1", "0190-5"]
    );
    assert_eq!(
        ids(store.jobs(false, 2).expect("jobs")),
        ["0190-4", "0190-2"]
    );
    assert_eq!(
        ids(store.jobs(true, 0).expect("jobs")),
        ["0190-2", "0190-5"]
    );
    assert_eq!(ids(store.jobs(true, 1).expect("jobs")), ["0190-2"]);
}

fn retention_removes_ended_jobs_only(db: &Db) {
    let store = db.open();
    store
        .save_job(&job("0001-a", "finished", 10))
        .expect("save");
    store.save_job(&job("0002-b", "running", 10)).expect("save");
    store
        .save_job(&job("0003-c", "finished", 1_000))
        .expect("save");
    // Over, but with no end time: kept.
    store.save_job(&job("0004-d", "lost", 5)).expect("save");
    let rule = Retention {
        before_ms: Some(100),
        ..Retention::default()
    };
    let counted = store
        .prune(&Retention {
            dry_run: true,
            ..rule.clone()
        })
        .expect("dry run");
    assert_eq!(counted.jobs, 1);
    assert_eq!(
        store.jobs(false, 0).expect("jobs").len(),
        4,
        "a dry run removes nothing"
    );
    // The bounded prune after each run finds them too.
    let bounded = Retention {
        batch: Some(10),
        ..rule.clone()
    };
    assert_eq!(store.prune(&bounded).expect("prune").jobs, 1);
    assert_eq!(
        ids(store.jobs(false, 0).expect("jobs")),
        ["0003-c", "0002-b", "0004-d"]
    );
    // The count rule does not apply to jobs.
    let count = Retention {
        max_rows: Some(0),
        ..Retention::default()
    };
    assert_eq!(store.prune(&count).expect("prune").jobs, 0);
    assert_eq!(store.jobs(false, 0).expect("jobs").len(), 3);
}
