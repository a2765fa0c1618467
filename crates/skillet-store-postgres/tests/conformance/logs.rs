//! Searchable logs: appended with an execution or alone, bounded, found by text, level,
//! execution, skill and time.

use std::sync::Arc;

use skillet_store::{
    ExecutionQuery, ExecutionRecord, LogLevel, LogLine, LogQuery, Retention, Store,
};

use crate::Db;

crate::both!(
    a_row_and_its_output_are_kept_in_one_transaction,
    lines_are_found_by_substring_level_execution_and_time,
    long_messages_are_cut_on_a_character_boundary,
    the_history_prune_takes_old_lines_with_it,
    every_field_reads_back_and_ids_grow,
    following_asks_for_what_came_after,
    a_scan_stops_when_asked,
    two_replicas_appending_at_once_lose_nothing,
    output_holding_a_nul_is_kept_all_the_same,
);

/// A run whose output holds a NUL (`printf 'a\0b'`) keeps its tail and its row: PostgreSQL,
/// whose text cannot hold one, keeps U+FFFD in its place; SQLite keeps it as it is.
fn output_holding_a_nul_is_kept_all_the_same(db: &Db) {
    let store = db.open();
    let mut run = ExecutionRecord::new("0190-nul", "s", "failed");
    run.error = Some("exited 1: before\0after".into());
    run.params = Some("{\"x\":\"a\\u0000b\"}".into());
    let mut line = line_at(5, LogLevel::Info, "before\0after");
    line.execution_id = Some("0190-nul".into());
    store.record_with_output(&run, &[line]).expect("recorded");
    let kept = store
        .get("0190-nul")
        .expect("get")
        .expect("the row is there");
    let plain = |t: &str| t.replace(['\0', '\u{FFFD}'], "");
    assert_eq!(
        kept.error.as_deref().map(plain).as_deref(),
        Some("exited 1: beforeafter")
    );
    let found = lines(
        store.as_ref(),
        &LogQuery {
            execution: Some("0190-nul".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        found.iter().map(|l| plain(&l.message)).collect::<Vec<_>>(),
        ["beforeafter"]
    );
}

fn line_at(at_ms: i64, level: LogLevel, message: &str) -> LogLine {
    LogLine {
        id: 0,
        at_ms,
        level,
        source: "stdout".into(),
        target: None,
        skill: Some("s".into()),
        execution_id: Some(format!("0190-{at_ms:04}")),
        message: message.into(),
    }
}

fn lines(store: &dyn Store, query: &LogQuery) -> Vec<LogLine> {
    let mut out = Vec::new();
    store
        .scan_logs(query, &mut |l| {
            out.push(l);
            true
        })
        .expect("scan logs");
    out
}

fn messages(store: &dyn Store, query: &LogQuery) -> Vec<String> {
    lines(store, query).into_iter().map(|l| l.message).collect()
}

/// A run's row and its output's tail are kept together or not at all.
fn a_row_and_its_output_are_kept_in_one_transaction(db: &Db) {
    let store = db.open();
    let row = ExecutionRecord::new("0190-0001", "s", "ok");
    store
        .record_with_output(&row, &[line_at(1, LogLevel::Info, "first tail")])
        .expect("record");
    // The same id again: the row is refused, and the line written with it goes too.
    let again = store.record_with_output(&row, &[line_at(2, LogLevel::Info, "second tail")]);
    assert!(again.is_err());
    let rows = store.list(&ExecutionQuery::default()).expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        messages(&*store, &LogQuery::default()),
        ["first tail"],
        "nothing of the refused row is kept"
    );
    // With no output, only the row.
    store
        .record_with_output(&ExecutionRecord::new("0190-0002", "s", "ok"), &[])
        .expect("record");
    assert_eq!(
        store.list(&ExecutionQuery::default()).expect("list").len(),
        2
    );
    // Another replica sees both.
    let other = db.open();
    assert_eq!(messages(&*other, &LogQuery::default()), ["first tail"]);
    assert!(other.get("0190-0002").expect("get").is_some());
}

fn lines_are_found_by_substring_level_execution_and_time(db: &Db) {
    let store = db.open();
    let mut other_skill = line_at(5, LogLevel::Debug, "debugging the other skill");
    other_skill.skill = Some("t".into());
    other_skill.execution_id = None;
    store
        .append_logs(&[
            line_at(1, LogLevel::Info, "Connection REFUSED by db"),
            line_at(2, LogLevel::Warn, "retrying in 5s"),
            line_at(3, LogLevel::Error, "gave up: connection refused"),
            line_at(4, LogLevel::Info, "100% done (50%_ of \"it\")"),
            other_skill,
        ])
        .expect("append");
    store.index_logs().expect("index");
    let q = |f: &dyn Fn(&mut LogQuery)| {
        let mut q = LogQuery::default();
        f(&mut q);
        messages(&*store, &q)
    };
    assert_eq!(q(&|_| {}).len(), 5);
    assert_eq!(
        q(&|q| q.contains_any = vec!["refused".into()]),
        ["gave up: connection refused", "Connection REFUSED by db"]
    );
    assert_eq!(
        q(&|q| q.contains_any = vec!["fused by".into(), "in 5".into()]),
        ["retrying in 5s", "Connection REFUSED by db"]
    );
    // Quotes and LIKE wildcards are text.
    assert_eq!(q(&|q| q.contains_any = vec!["\"it\"".into()]).len(), 1);
    assert_eq!(q(&|q| q.contains_any = vec!["%_ of".into()]).len(), 1);
    assert_eq!(q(&|q| q.contains_any = vec!["%%%".into()]).len(), 0);
    assert_eq!(q(&|q| q.contains_any = vec!["___".into()]).len(), 0);
    assert_eq!(q(&|q| q.level = Some(LogLevel::Warn)).len(), 2);
    assert_eq!(q(&|q| q.level = Some(LogLevel::Error)).len(), 1);
    assert_eq!(q(&|q| q.level = Some(LogLevel::Info)).len(), 4);
    assert_eq!(q(&|q| q.level = Some(LogLevel::Debug)).len(), 5);
    assert_eq!(q(&|q| q.since_ms = Some(3)).len(), 3);
    assert_eq!(
        q(&|q| q.skill = Some("t".into())),
        ["debugging the other skill"]
    );
    assert_eq!(
        q(&|q| q.execution = Some("0190-0002".into())),
        ["retrying in 5s"]
    );
    assert_eq!(q(&|q| q.execution = Some("0190-000".into())).len(), 4);
    assert_eq!(
        q(&|q| q.execution = Some("0190-000".into())),
        q(&|q| q.execution = Some("0190-000".to_uppercase())),
        "an execution prefix is compared in lower case"
    );
    assert_eq!(q(&|q| q.execution = Some("%".into())).len(), 0);
    assert_eq!(
        q(&|q| q.execution = Some("0190_0002".into())).len(),
        0,
        "`_` is not a wildcard"
    );
    assert_eq!(q(&|q| q.execution = Some("0190\\".into())).len(), 0);
    // Every filter narrows.
    assert_eq!(
        q(&|q| {
            q.contains_any = vec!["refused".into()];
            q.level = Some(LogLevel::Error);
            q.since_ms = Some(2);
        }),
        ["gave up: connection refused"]
    );
    let oldest = q(&|q| q.oldest_first = true);
    assert_eq!(oldest[0], "Connection REFUSED by db");
    let short = store.scan_logs(
        &LogQuery {
            contains_any: vec!["ab".into()],
            ..LogQuery::default()
        },
        &mut |_| true,
    );
    assert!(
        short
            .expect_err("too short")
            .to_string()
            .contains("too short"),
        "a text too short to look up is refused"
    );
}

fn long_messages_are_cut_on_a_character_boundary(db: &Db) {
    let store = db.open();
    let long = "é".repeat(3_000);
    store
        .append_logs(&[line_at(1, LogLevel::Info, &long)])
        .expect("append");
    let kept = messages(&*store, &LogQuery::default());
    assert!(kept[0].len() < 2_100, "{}", kept[0].len());
    assert!(kept[0].starts_with("éé"), "{}", kept[0]);
    assert!(kept[0].ends_with("[6000 bytes in all]"), "{}", kept[0]);
    let exact = "x".repeat(2_000);
    store
        .append_logs(&[line_at(2, LogLevel::Info, &exact)])
        .expect("append");
    assert_eq!(messages(&*store, &LogQuery::default())[0], exact);
    assert!(
        messages(
            &*store,
            &LogQuery {
                contains_any: vec!["ééé".into()],
                ..LogQuery::default()
            }
        )
        .len()
            == 1
    );
}

fn the_history_prune_takes_old_lines_with_it(db: &Db) {
    let store = db.open();
    store
        .append_logs(&[
            line_at(10, LogLevel::Info, "old line"),
            line_at(20, LogLevel::Info, "new line"),
        ])
        .expect("append");
    // Indexed, then a line that is not yet: both are taken out right.
    store.index_logs().expect("index");
    store
        .append_logs(&[line_at(12, LogLevel::Info, "older but unindexed")])
        .expect("append");
    let rule = Retention {
        before_ms: Some(15),
        dry_run: true,
        ..Retention::default()
    };
    assert_eq!(store.prune(&rule).expect("dry run").logs, 2);
    assert_eq!(messages(&*store, &LogQuery::default()).len(), 3);
    // The bounded prune after each run.
    let rule = Retention {
        dry_run: false,
        batch: Some(10),
        ..rule
    };
    assert_eq!(store.prune(&rule).expect("prune").logs, 2);
    assert_eq!(messages(&*store, &LogQuery::default()), ["new line"]);
    for gone in ["old", "unindexed"] {
        let query = LogQuery {
            contains_any: vec![gone.into()],
            ..LogQuery::default()
        };
        assert!(messages(&*store, &query).is_empty());
    }
    // The index still answers for what stays, and for what comes.
    store
        .append_logs(&[line_at(30, LogLevel::Info, "newest line")])
        .expect("append");
    let query = LogQuery {
        contains_any: vec!["line".into()],
        ..LogQuery::default()
    };
    assert_eq!(messages(&*store, &query), ["newest line", "new line"]);
    // A batch takes at most that many, oldest first.
    store
        .append_logs(
            &(0..5)
                .map(|n| line_at(n, LogLevel::Info, "early"))
                .collect::<Vec<_>>(),
        )
        .expect("append");
    let rule = Retention {
        before_ms: Some(15),
        batch: Some(2),
        ..Retention::default()
    };
    assert_eq!(store.prune(&rule).expect("prune").logs, 2);
    let left: Vec<i64> = lines(&*store, &LogQuery::default())
        .iter()
        .map(|l| l.at_ms)
        .collect();
    assert_eq!(left, [4, 3, 2, 30, 20]);
    // The full prune takes the rest; no time rule, no lines.
    let none = Retention::default();
    assert_eq!(store.prune(&none).expect("prune").logs, 0);
    let full = Retention {
        before_ms: Some(15),
        ..Retention::default()
    };
    assert_eq!(store.prune(&full).expect("prune").logs, 3);
    assert_eq!(messages(&*store, &LogQuery::default()).len(), 2);
}

fn every_field_reads_back_and_ids_grow(db: &Db) {
    let store = db.open();
    let own = LogLine {
        id: 999,
        at_ms: 1_733_000_000_000,
        level: LogLevel::Warn,
        source: "skillet".into(),
        target: Some("skillet::daemon".into()),
        skill: None,
        execution_id: None,
        message: "queue is full".into(),
    };
    store
        .append_logs(&[own.clone(), line_at(2, LogLevel::Error, "b")])
        .expect("append");
    let got = lines(
        &*store,
        &LogQuery {
            oldest_first: true,
            ..LogQuery::default()
        },
    );
    assert_eq!(got.len(), 2);
    assert!(got[0].id > 0 && got[0].id != 999, "the id is the store's");
    assert!(got[1].id > got[0].id, "ids grow in the order given");
    assert_eq!(
        LogLine {
            id: got[0].id,
            ..own
        },
        got[0]
    );
    assert_eq!(got[1].level, LogLevel::Error);
    assert_eq!(got[1].execution_id.as_deref(), Some("0190-0002"));
    // Nothing to add is nothing.
    store.append_logs(&[]).expect("append nothing");
    assert_eq!(lines(&*store, &LogQuery::default()).len(), 2);
}

fn following_asks_for_what_came_after(db: &Db) {
    let store = db.open();
    store
        .append_logs(&[
            line_at(1, LogLevel::Info, "one"),
            line_at(2, LogLevel::Info, "two"),
        ])
        .expect("append");
    let last = lines(&*store, &LogQuery::default())[0].id;
    // Another replica writes; the follower sees only what is new, oldest first.
    db.open()
        .append_logs(&[
            line_at(3, LogLevel::Info, "three"),
            line_at(4, LogLevel::Info, "four"),
        ])
        .expect("append");
    let query = LogQuery {
        after_id: Some(last),
        oldest_first: true,
        ..LogQuery::default()
    };
    assert_eq!(messages(&*store, &query), ["three", "four"]);
}

fn a_scan_stops_when_asked(db: &Db) {
    let store = db.open();
    let many: Vec<LogLine> = (0..1_100)
        .map(|n| line_at(n, LogLevel::Info, &format!("line {n}")))
        .collect();
    store.append_logs(&many).expect("append");
    let mut seen = Vec::new();
    store
        .scan_logs(&LogQuery::default(), &mut |l| {
            seen.push(l.message);
            seen.len() < 2
        })
        .expect("scan");
    assert_eq!(seen, ["line 1099", "line 1098"]);
    assert_eq!(lines(&*store, &LogQuery::default()).len(), 1_100);
}

fn two_replicas_appending_at_once_lose_nothing(db: &Db) {
    let replicas: [Arc<dyn Store>; 2] = [db.open(), db.open()];
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = Arc::clone(&replicas[t % 2]);
            std::thread::spawn(move || {
                for n in 0..20 {
                    let id = format!("0190{t}{n:03}");
                    let row = ExecutionRecord::new(id.clone(), "s", "ok");
                    let mut tail = line_at(n, LogLevel::Info, &format!("output of {id}"));
                    tail.execution_id = Some(id);
                    if n % 2 == 0 {
                        store.record_with_output(&row, &[tail]).expect("record");
                    } else {
                        store.append_logs(&[tail]).expect("append");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    for store in &replicas {
        let all = lines(&**store, &LogQuery::default());
        assert_eq!(all.len(), 120);
        let mut ids: Vec<i64> = all.iter().map(|l| l.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 120, "every line has an id of its own");
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(
            store.list(&ExecutionQuery::default()).expect("list").len(),
            60
        );
        let query = LogQuery {
            execution: Some("01903".into()),
            ..LogQuery::default()
        };
        assert_eq!(lines(&**store, &query).len(), 20);
    }
}
