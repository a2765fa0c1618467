//! The history's count rule: which rows are "the most recently recorded".

use skillet_store::{ExecutionQuery, Retention, now_ms};

use crate::Db;
use crate::retention::execution;

crate::both!(max_rows_keeps_the_most_recently_recorded_whatever_their_start_times);

/// The count rule keeps the rows recorded last (SQLite's rowid order), not those that started
/// last: an imported or late-recorded old run counts as new.
fn max_rows_keeps_the_most_recently_recorded_whatever_their_start_times(db: &Db) {
    let store = db.open();
    let now = now_ms();
    // Recorded in the order 0..10, each starting earlier than the one before.
    for n in 0..10 {
        store
            .record(&execution(n, now - i64::try_from(n).unwrap_or(0) * 1_000))
            .expect("record");
    }
    let report = store
        .prune(&Retention {
            max_rows: Some(6),
            ..Retention::default()
        })
        .expect("prune");
    assert_eq!(report.executions, 4);
    let mut left: Vec<String> = store
        .list(&ExecutionQuery::default())
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    left.sort();
    let expected: Vec<String> = (4..10).map(|n| execution(n, 0).id).collect();
    assert_eq!(left, expected, "the first four recorded go");
}
