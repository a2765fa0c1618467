//! Executions: recorded, found by id or prefix, listed newest first.

use std::sync::Arc;

use skillet_store::{
    ExecutionFigures, ExecutionQuery, ExecutionRecord, MAX_SPANS, SpanRecord, SqliteStore, Store,
    StoreError,
};
use skillet_store_postgres::PostgresStore;

use crate::Db;

crate::both!(
    schema_is_made_and_ready,
    records_round_trip_and_filter,
    every_field_reads_back_as_recorded,
    the_narrow_figures_scan_reads_what_the_whole_rows_say,
    an_id_prefix_is_a_range_in_any_case_and_an_ambiguous_one_says_so,
    a_second_row_with_the_same_id_is_refused,
    reopening_keeps_the_data,
    a_scan_streams_in_order_and_stops_when_asked,
    ties_in_time_are_listed_by_id,
    import_adds_many_rows_at_once,
    two_replicas_recording_from_many_threads_lose_nothing,
);

/// A run of `skill` that started at `started` and took 5 ms.
pub(crate) fn at(id: &str, skill: &str, status: &str, started: i64) -> ExecutionRecord {
    let mut r = ExecutionRecord::new(id, skill, status);
    r.started_at_ms = started;
    r.finished_at_ms = started + 5;
    r
}

/// The ids `store` lists, newest first.
pub(crate) fn ids(store: &dyn Store, query: &ExecutionQuery) -> Vec<String> {
    store
        .list(query)
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// `import` of the backend's own store (it is not a [`Store`] call).
pub(crate) fn import(db: &Db, rows: Vec<ExecutionRecord>) -> Result<u64, StoreError> {
    let mut rows = rows.into_iter();
    match db {
        Db::Sqlite(dir) => SqliteStore::open(&dir.path().join("skillet.db"))
            .expect("open sqlite")
            .import(&mut rows),
        Db::Postgres(url) => PostgresStore::open(url, None)
            .expect("open postgres")
            .import(&mut rows),
    }
}

fn schema_is_made_and_ready(db: &Db) {
    let store = db.open();
    store.ready().expect("ready");
    // A second opener (another replica) finds the schema made and migrates nothing.
    let again = db.open();
    again.ready().expect("ready");
    let _ = ExecutionQuery::default();
    let _ = ExecutionRecord::new("x", "y", "ok");
}

fn records_round_trip_and_filter(db: &Db) {
    let store = db.open();
    let mut full = at("01-aaa", "x", "failed", 100);
    full.exit_code = Some(3);
    full.params_hash = Some("sha256:00".into());
    full.truncated = true;
    full.spans = (0..MAX_SPANS as u64 + 3)
        .map(|i| SpanRecord {
            phase: if i % 2 == 0 { "process" } else { "retry_wait" }.into(),
            start_us: i * 10,
            duration_us: 10,
        })
        .collect();
    store.record(&full).expect("record");
    // At most MAX_SPANS come back.
    full.spans.truncate(MAX_SPANS);
    store.record(&at("02-bbb", "y", "ok", 200)).expect("record");
    store.record(&at("03-ccc", "x", "ok", 300)).expect("record");
    assert_eq!(
        ids(&*store, &ExecutionQuery::default()),
        ["03-ccc", "02-bbb", "01-aaa"]
    );
    let q = ExecutionQuery {
        skill: Some("x".into()),
        status: Some("failed".into()),
        ..Default::default()
    };
    assert_eq!(store.list(&q).expect("list"), [full.clone()]);
    let q = ExecutionQuery {
        skill: Some("x".into()),
        ..Default::default()
    };
    assert_eq!(ids(&*store, &q), ["03-ccc", "01-aaa"]);
    let q = ExecutionQuery {
        status: Some("ok".into()),
        ..Default::default()
    };
    assert_eq!(ids(&*store, &q), ["03-ccc", "02-bbb"]);
    let q = ExecutionQuery {
        since_ms: Some(200),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(ids(&*store, &q), ["03-ccc"]);
    let q = ExecutionQuery {
        since_ms: Some(200),
        ..Default::default()
    };
    assert_eq!(ids(&*store, &q), ["03-ccc", "02-bbb"]);
    assert_eq!(store.get("01").expect("get"), Some(full));
    assert!(store.get("0").is_err(), "ambiguous prefix");
    assert_eq!(store.get("%").expect("get"), None, "wildcards are literal");
}

fn every_field_reads_back_as_recorded(db: &Db) {
    let store = db.open();
    let r = ExecutionRecord {
        id: "0190aaaa-0000-7000-8000-00000000000f".into(),
        skill: "count-lines".into(),
        version: Some("1.2.3".into()),
        scope: Some("workspace".into()),
        params_hash: Some("hmac-sha256:ab".into()),
        params: Some("{\"path\": \"é/ü\"}".into()),
        status: "timeout".into(),
        exit_code: Some(-9),
        attempt: 3,
        correlation_id: "0190aaaa-0000-7000-8000-000000000001".into(),
        parent_id: Some("0190aaaa-0000-7000-8000-000000000000".into()),
        started_at_ms: 1_733_000_000_123,
        finished_at_ms: 1_733_000_000_999,
        duration_ms: 876,
        peak_memory_kb: Some(12_345),
        cpu_time_ms: Some(17),
        peak_processes: Some(4),
        bytes_written: Some(i64::MAX),
        llm_input_tokens: Some(100),
        llm_output_tokens: Some(200),
        llm_ms: Some(300),
        truncated: true,
        limit_hit: Some("memory".into()),
        error: Some("took too long".into()),
        origin: Some("mcp".into()),
        request_id: Some("7".into()),
        cached: true,
        queue_wait_ms: Some(12),
        spans: vec![SpanRecord {
            phase: "process".into(),
            start_us: 5,
            duration_us: 6,
        }],
    };
    store.record(&r).expect("record");
    let bare = ExecutionRecord::new("0190bbbb", "s", "ok");
    store.record(&bare).expect("record");
    assert_eq!(store.get(&r.id).expect("get"), Some(r.clone()));
    assert_eq!(store.get("0190bbbb").expect("get"), Some(bare));
    let other = db.open();
    assert_eq!(
        other.list(&ExecutionQuery::default()).expect("list")[0],
        r,
        "another replica reads the same row"
    );
}

fn the_narrow_figures_scan_reads_what_the_whole_rows_say(db: &Db) {
    let store = db.open();
    for (i, status) in ["ok", "failed", "timeout", "ok"].iter().enumerate() {
        let mut r = at(&format!("0{i}-x"), "s", status, 100 * i as i64);
        r.error = Some(format!("error {i}"));
        r.queue_wait_ms = Some(i as i64);
        r.cached = i == 3;
        r.limit_hit = (i == 2).then(|| "memory".into());
        r.llm_input_tokens = Some(i as i64 * 10);
        store.record(&r).expect("record");
    }
    store
        .record(&at("09-y", "other", "ok", 500))
        .expect("record");
    let q = ExecutionQuery {
        skill: Some("s".into()),
        since_ms: Some(100),
        // The limit is not the figures scan's.
        limit: 1,
        ..Default::default()
    };
    let mut narrow = Vec::new();
    store
        .scan_figures(&q, &mut |f| {
            narrow.push(f);
            true
        })
        .expect("figures");
    let mut whole: Vec<ExecutionFigures> = store
        .list(&ExecutionQuery {
            limit: 0,
            ..q.clone()
        })
        .expect("list")
        .into_iter()
        .map(Into::into)
        .collect();
    narrow.sort_by(|a, b| a.id.cmp(&b.id));
    whole.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(narrow.len(), 3);
    // An ok run's error is not read.
    assert_eq!(narrow[2].error, None);
    assert_eq!(narrow[0].error.as_deref(), Some("error 1"));
    for f in &mut whole {
        if f.status == "ok" {
            f.error = None;
        }
    }
    assert_eq!(narrow, whole);
    assert!(narrow[2].cached);
    assert_eq!(narrow[1].limit_hit.as_deref(), Some("memory"));
    // The visitor stops the scan.
    let mut seen = 0;
    store
        .scan_figures(&ExecutionQuery::default(), &mut |_| {
            seen += 1;
            false
        })
        .expect("figures");
    assert_eq!(seen, 1);
}

fn an_id_prefix_is_a_range_in_any_case_and_an_ambiguous_one_says_so(db: &Db) {
    let store = db.open();
    for id in [
        "0190aaaa-0000-7000-8000-000000000001",
        "0190aaab-0000-7000-8000-000000000002",
        "0190abff-0000-7000-8000-000000000003",
    ] {
        store
            .record(&ExecutionRecord::new(id, "s", "ok"))
            .expect("record");
    }
    let found = store.get("0190AAAB").expect("get").expect("found");
    assert_eq!(found.id, "0190aaab-0000-7000-8000-000000000002");
    assert_eq!(
        store.get("0190abf").expect("get").expect("found").id,
        "0190abff-0000-7000-8000-000000000003",
        "a prefix ending in the last hex digit"
    );
    let err = store.get("0190aa").expect_err("ambiguous");
    assert!(
        matches!(
            &err,
            StoreError::Ambiguous {
                what: "executions",
                count: 2,
                at_least: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("`0190aa` matches 2 executions"),
        "{err}"
    );
    let err = store.get("0190").expect_err("ambiguous").to_string();
    assert!(err.contains("matches 3"), "{err}");
    assert!(store.get("0190b").expect("get").is_none());
    assert!(store.get("%").expect("get").is_none(), "no wildcards");
    assert!(store.get("0190_a").expect("get").is_none(), "no wildcards");
    assert!(store.get("0190aa%").expect("get").is_none(), "no wildcards");
    assert!(
        store.get("0190aaab_0000").expect("get").is_none(),
        "`_` is not a wildcard"
    );
    assert!(store.get("0190aaab\\").expect("get").is_none());
    assert!(
        store.get("").expect("get").is_none(),
        "an empty prefix names nothing"
    );
    // An exact id wins over the longer ids it is a prefix of.
    store
        .record(&ExecutionRecord::new("0190aa", "s", "ok"))
        .expect("record");
    assert_eq!(
        store.get("0190aa").expect("get").expect("found").id,
        "0190aa"
    );
    // Past the counting bound the count is a lower bound, and says so.
    let many = (0..1_005)
        .map(|i| {
            ExecutionRecord::new(
                format!("0191{i:08x}-0000-7000-8000-000000000000"),
                "s",
                "ok",
            )
        })
        .collect();
    assert_eq!(import(db, many).expect("import"), 1_005);
    let err = store.get("0191").expect_err("ambiguous").to_string();
    assert!(err.contains("matches at least 1000 executions"), "{err}");
    assert!(
        !store
            .get("0190a")
            .expect_err("ambiguous")
            .to_string()
            .contains("at least")
    );
}

fn a_second_row_with_the_same_id_is_refused(db: &Db) {
    let store = db.open();
    store.record(&at("0190-1", "s", "ok", 1)).expect("record");
    assert!(store.record(&at("0190-1", "t", "failed", 2)).is_err());
    let rows = store.list(&ExecutionQuery::default()).expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].skill, "s", "the first row is kept as it was");
}

fn reopening_keeps_the_data(db: &Db) {
    db.open().record(&at("01", "x", "ok", 1)).expect("record");
    assert_eq!(
        db.open()
            .list(&ExecutionQuery::default())
            .expect("list")
            .len(),
        1
    );
}

fn a_scan_streams_in_order_and_stops_when_asked(db: &Db) {
    // More rows than one chunk of the PostgreSQL store's portal.
    let rows: Vec<ExecutionRecord> = (0..1_234)
        .map(|i| {
            at(
                &format!("0190{i:06}"),
                if i % 2 == 0 { "even" } else { "odd" },
                "ok",
                i,
            )
        })
        .collect();
    assert_eq!(import(db, rows).expect("import"), 1_234);
    let store = db.open();
    let mut seen = Vec::new();
    store
        .scan(&ExecutionQuery::default(), &mut |r| {
            seen.push(r.started_at_ms);
            true
        })
        .expect("scan");
    assert_eq!(seen.len(), 1_234);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    let mut taken = Vec::new();
    store
        .scan(&ExecutionQuery::default(), &mut |r| {
            taken.push(r.id);
            taken.len() < 3
        })
        .expect("scan");
    assert_eq!(taken, ["0190001233", "0190001232", "0190001231"]);
    // The store answers at once after a scan that stopped early.
    let q = ExecutionQuery {
        skill: Some("odd".into()),
        limit: 600,
        ..Default::default()
    };
    let odd = ids(&*store, &q);
    assert_eq!(odd.len(), 600);
    assert_eq!(odd[0], "0190001233");
    let q = ExecutionQuery {
        skill: Some("even".into()),
        since_ms: Some(1_000),
        ..Default::default()
    };
    assert_eq!(ids(&*store, &q).len(), 117);
}

fn ties_in_time_are_listed_by_id(db: &Db) {
    let store = db.open();
    for id in ["0190-b", "0190-c", "0190-a"] {
        store.record(&at(id, "s", "ok", 7)).expect("record");
    }
    store.record(&at("0190-0", "s", "ok", 8)).expect("record");
    assert_eq!(
        ids(&*store, &ExecutionQuery::default()),
        ["0190-0", "0190-c", "0190-b", "0190-a"]
    );
}

fn import_adds_many_rows_at_once(db: &Db) {
    let rows: Vec<ExecutionRecord> = (0..2_500)
        .map(|i| at(&format!("0190{i:06}"), "s", "ok", i))
        .collect();
    assert_eq!(import(db, rows.clone()).expect("import"), 2_500);
    let store = db.open();
    let listed = store.list(&ExecutionQuery::default()).expect("list");
    assert_eq!(listed.len(), 2_500);
    assert_eq!(listed[0], rows[2_499]);
    assert_eq!(import(db, Vec::new()).expect("import"), 0);
    let again = import(db, vec![rows[0].clone(), at("0191", "s", "ok", 9)]);
    match db {
        // SQLite refuses the batch whole; PostgreSQL leaves the existing row as it is and
        // adds the new one (`skillet store copy` can be run again).
        Db::Sqlite(_) => {
            assert!(again.is_err());
            assert!(store.get("0191").expect("get").is_none());
        }
        Db::Postgres(_) => {
            assert_eq!(again.expect("import"), 1);
            assert!(store.get("0191").expect("get").is_some());
        }
    }
    assert_eq!(store.get(&rows[0].id).expect("get"), Some(rows[0].clone()));
}

fn two_replicas_recording_from_many_threads_lose_nothing(db: &Db) {
    let replicas: [Arc<dyn Store>; 2] = [db.open(), db.open()];
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&replicas[t % 2]);
            std::thread::spawn(move || {
                for n in 0..40 {
                    let id = format!("0190{t:02}{n:04}-{}", if t % 2 == 0 { "a" } else { "b" });
                    store
                        .record(&at(&id, &format!("skill-{t}"), "ok", n))
                        .expect("record");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    for store in &replicas {
        let all = ids(&**store, &ExecutionQuery::default());
        assert_eq!(all.len(), 320);
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 320);
        let q = ExecutionQuery {
            skill: Some("skill-3".into()),
            ..Default::default()
        };
        assert_eq!(ids(&**store, &q).len(), 40);
    }
    // A prefix recorded by one replica is found by the other, and an ambiguous one is
    // ambiguous on both.
    assert_eq!(
        replicas[0]
            .get("0190030007")
            .expect("get")
            .expect("found")
            .id,
        "0190030007-b"
    );
    assert_eq!(
        replicas[1]
            .get("0190020039")
            .expect("get")
            .expect("found")
            .id,
        "0190020039-a"
    );
    for store in &replicas {
        assert!(matches!(
            store.get("019003"),
            Err(StoreError::Ambiguous { count: 40, .. })
        ));
    }
}
