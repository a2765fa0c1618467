//! The database going away under load: a PostgreSQL server stopped and started again while
//! three stores (three replicas) record executions. Calls made while it is down fail with an
//! error that says what happened; none that succeeded is lost or kept twice; and each store
//! finds the server again by itself, without being opened again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use skillet_store::{ExecutionQuery, ExecutionRecord, LogStore, Store, StoreError};
use skillet_store_postgres::PostgresStore;
use skillet_store_postgres::test_server::PrivateCluster;

const REPLICAS: usize = 3;
const CALLS: usize = 500;

#[derive(Default)]
struct Outcomes {
    recorded: Vec<String>,
    failed: Vec<(String, String)>,
    /// Whether the last calls (after the restart) succeeded.
    recovered: bool,
}

#[test]
fn a_restart_under_load_loses_nothing_and_every_replica_reconnects() {
    let Some(cluster) = PrivateCluster::start() else {
        return;
    };
    let url = cluster.url().to_owned();
    let replicas: Vec<Arc<PostgresStore>> = (0..REPLICAS)
        .map(|_| Arc::new(PostgresStore::open(&url, None).expect("open")))
        .collect();
    let restarted = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(n, store)| {
            let store = store.clone();
            let restarted = restarted.clone();
            std::thread::spawn(move || {
                let mut outcomes = Outcomes::default();
                let mut after_restart_ok = 0;
                let mut i = 0;
                // Each replica makes its share of the calls, and goes on after that until it has
                // recorded a few since the restart (so "reconnects by itself" is checked, not
                // assumed), for at most a minute.
                let deadline = Instant::now() + Duration::from_secs(60);
                while (i < CALLS / REPLICAS || after_restart_ok < 5) && Instant::now() < deadline {
                    let id = format!("r{n}-{i:04}");
                    i += 1;
                    match store.record(&ExecutionRecord::new(&id, "cheap", "ok")) {
                        Ok(()) => {
                            if restarted.load(Ordering::SeqCst) {
                                after_restart_ok += 1;
                            }
                            outcomes.recorded.push(id);
                        }
                        Err(e) => outcomes.failed.push((id, describe(&e))),
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
                outcomes.recovered = after_restart_ok >= 5;
                outcomes
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    cluster.stop();
    std::thread::sleep(Duration::from_millis(500));
    cluster.restart();
    restarted.store(true, Ordering::SeqCst);
    let outcomes: Vec<Outcomes> = workers
        .into_iter()
        .map(|w| w.join().expect("replica thread"))
        .collect();

    let failed: Vec<&(String, String)> = outcomes.iter().flat_map(|o| &o.failed).collect();
    assert!(
        !failed.is_empty(),
        "the server was down for half a second and no call noticed: the test did not test"
    );
    eprintln!(
        "{} calls failed while the server was down, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    for (id, why) in &failed {
        assert!(
            why.starts_with("unreachable:") && why.contains("127.0.0.1"),
            "{id}: a call made while the server was down should say it cannot reach it: {why}"
        );
    }
    for (n, o) in outcomes.iter().enumerate() {
        assert!(
            o.recovered,
            "replica {n} never recorded again after the restart"
        );
    }
    // Read back through a fresh store: every call that succeeded is there once.
    let reader = PostgresStore::open(&url, None).expect("open");
    let mut seen = std::collections::HashMap::new();
    reader
        .scan(&ExecutionQuery::default(), &mut |r| {
            *seen.entry(r.id).or_insert(0) += 1;
            true
        })
        .expect("scan");
    for id in outcomes.iter().flat_map(|o| &o.recorded) {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "{id} was recorded, and must be kept once"
        );
    }
    let total: usize = outcomes
        .iter()
        .map(|o| o.recorded.len() + o.failed.len())
        .sum();
    assert!(total >= CALLS, "only {total} calls were made");
}

#[test]
fn a_server_that_is_not_there_is_a_clear_error_with_no_password() {
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("postgres://skillet:hunter2@127.0.0.1:{port}/skillet?connect_timeout=2");
    let err = PostgresStore::open(&url, None).expect_err("nothing listens there");
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(!text.contains("hunter2"), "the password is shown: {text}");
    assert!(text.contains("skillet:***@127.0.0.1"), "{text}");
    assert!(
        text.contains("[store] url"),
        "the error should say where to fix it: {text}"
    );
}

fn describe(e: &StoreError) -> String {
    match e {
        StoreError::Unreachable { .. } => format!("unreachable: {e}"),
        other => format!("other: {other}"),
    }
}

#[test]
fn a_serving_store_keeps_what_it_could_not_write_and_writes_it_when_the_server_is_back() {
    let Some(cluster) = PrivateCluster::start() else {
        return;
    };
    let store = PostgresStore::open(cluster.url(), None).expect("open");
    store.keep_unwritten_executions();
    let output = [skillet_store::LogLine {
        id: 0,
        at_ms: skillet_store::now_ms(),
        level: skillet_store::LogLevel::Info,
        source: "stdout".into(),
        target: None,
        skill: Some("cheap".into()),
        execution_id: Some("kept-1".into()),
        message: "the run's last line".into(),
    }];
    cluster.stop();
    for id in ["kept-1", "kept-2"] {
        let lines: &[skillet_store::LogLine] = if id == "kept-1" { &output } else { &[] };
        let err = store
            .record_with_output(&ExecutionRecord::new(id, "cheap", "ok"), lines)
            .expect_err("the server is down");
        assert!(
            matches!(&err, StoreError::Deferred(why) if why.contains("written once the store answers again")),
            "{err:?}"
        );
    }
    assert_eq!(store.unwritten_executions(), 2);
    cluster.restart();
    // The next write finds the server again and writes what waited first.
    store
        .record(&ExecutionRecord::new("after", "cheap", "ok"))
        .expect("the server is back");
    assert_eq!(store.unwritten_executions(), 0);
    for id in ["kept-1", "kept-2", "after"] {
        assert!(
            store.get(id).expect("get").is_some(),
            "{id} was not written"
        );
    }
    let mut lines = Vec::new();
    store
        .scan_logs(
            &skillet_store::LogQuery {
                execution: Some("kept-1".into()),
                ..Default::default()
            },
            &mut |l| {
                lines.push(l.message);
                true
            },
        )
        .expect("logs");
    assert_eq!(
        lines,
        ["the run's last line"],
        "its output was kept with it"
    );
}

#[test]
fn a_one_shot_store_reports_the_failure_and_keeps_nothing() {
    let Some(cluster) = PrivateCluster::start() else {
        return;
    };
    let store = PostgresStore::open(cluster.url(), None).expect("open");
    cluster.stop();
    let err = store
        .record(&ExecutionRecord::new("lost", "cheap", "ok"))
        .expect_err("the server is down");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert_eq!(store.unwritten_executions(), 0);
}
