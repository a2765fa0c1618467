//! [`LogStore`] on SQLite: a plain table, and an FTS5 index of its messages (trigram
//! tokenizer, so any substring of three characters or more is a lookup, not a scan).

use rusqlite::types::Value;
use rusqlite::{Row, params};

use crate::log::{
    LogLevel, LogLine, LogQuery, LogStore, MAX_LOG_BYTES, MAX_LOG_LINES, MIN_INDEXED_TEXT,
    capped_message,
};
use crate::{SqliteStore, StoreError};

/// Old lines dropped at most per append: the cap is kept a little at a time, never by a long
/// delete in the middle of a run.
const DROP_PER_APPEND: i64 = 2_000;

impl LogStore for SqliteStore {
    fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError> {
        self.append_logs_within(lines, MAX_LOG_LINES, MAX_LOG_BYTES)
    }

    fn index_logs(&self) -> Result<u64, StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            // Read first: with nothing new, no write lock is taken.
            let (indexed, newest): (i64, i64) = conn.query_row(
                "SELECT indexed_to, (SELECT ifnull(max(id), 0) FROM log_lines)
                 FROM log_totals WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if newest <= indexed {
                return Ok(0);
            }
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "INSERT INTO log_text (rowid, message)
                 SELECT id, message FROM log_lines
                 WHERE id > (SELECT indexed_to FROM log_totals WHERE id = 1) ORDER BY id",
                [],
            )?;
            tx.execute(
                "UPDATE log_totals SET indexed_to =
                 max(indexed_to, (SELECT ifnull(max(id), 0) FROM log_lines)) WHERE id = 1",
                [],
            )?;
            tx.commit()?;
            Ok(n as u64)
        })
    }

    fn scan_logs(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LogLine) -> bool,
    ) -> Result<(), StoreError> {
        let (sql, values) = select(query)?;
        if !query.contains_any.is_empty() {
            self.index_logs()?;
        }
        self.checked(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
            while let Some(row) = rows.next()? {
                if !visit(line(row)?) {
                    break;
                }
            }
            Ok(())
        })
    }
}

impl SqliteStore {
    /// [`LogStore::append_logs`] keeping at most `cap` lines and `cap_bytes` bytes of messages.
    fn append_logs_within(
        &self,
        lines: &[LogLine],
        cap: i64,
        cap_bytes: i64,
    ) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.checked(|| {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            append_in(&tx, lines, cap, cap_bytes)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// Adds `lines` in the transaction `tx`, then drops the oldest lines past `cap` lines or
/// `cap_bytes` bytes.
pub(crate) fn append_in(
    tx: &rusqlite::Transaction<'_>,
    lines: &[LogLine],
    cap: i64,
    cap_bytes: i64,
) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Ok(());
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO log_lines (at, level, source, target, skill, execution_id, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for l in lines {
            insert.execute(params![
                l.at_ms,
                l.level.as_str(),
                l.source,
                l.target,
                l.skill,
                l.execution_id,
                capped_message(&l.message),
            ])?;
        }
    }
    // Asked first, as two lookups at the ends of the key: SQLite compiles the DELETE again
    // each time it is bound (its `LIMIT` in a subquery), which cost a long-lived process a
    // parse on every append although the cap is almost never reached.
    let over_cap: bool = tx
        .prepare_cached("SELECT ifnull(max(id) - ?1 >= min(id), 0) FROM log_lines")?
        .query_row([cap], |r| r.get(0))?;
    if over_cap {
        tx.prepare_cached(
            "DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines
             WHERE id <= (SELECT max(id) FROM log_lines) - ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![cap, DROP_PER_APPEND + lines.len() as i64])?;
    }
    // Over the byte bound, the oldest go a batch at a time: a few batches cover what one
    // append can add (its lines are capped), so this ends quickly.
    for _ in 0..64 {
        let bytes: i64 = tx
            .prepare_cached("SELECT bytes FROM log_totals WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        if bytes <= cap_bytes {
            break;
        }
        tx.execute(
            "DELETE FROM log_lines WHERE id IN
             (SELECT id FROM log_lines ORDER BY id LIMIT 200)",
            [],
        )?;
    }
    Ok(())
}

/// Removes (or counts, for a dry run) the lines from before `before_ms`; at most `batch` of
/// them when given (the bounded prune each run does).
pub(crate) fn prune(
    conn: &rusqlite::Connection,
    before_ms: Option<i64>,
    batch: Option<usize>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    crate::sqlite_retention::prune_older(conn, "log_lines", before_ms, batch, dry_run)
}

/// A `WHERE` clause being built, with the values it binds.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    /// Adds `condition`, whose one `?` stands for `value`.
    fn bind(&mut self, condition: &str, value: Value) {
        self.values.push(value);
        self.sql
            .push(condition.replace('?', &format!("?{}", self.values.len())));
    }
}

/// The statement and its values for `query`.
fn select(query: &LogQuery) -> Result<(String, Vec<Value>), StoreError> {
    let mut c = Conditions::default();
    if let Some(skill) = &query.skill {
        c.bind("skill = ?", Value::Text(skill.clone()));
    }
    if let Some(prefix) = &query.execution {
        // A range, not LIKE: the prefix is the user's text, and `%` or `_` in it are not
        // wildcards. `~` sorts after every character an id has.
        let prefix = prefix.to_ascii_lowercase();
        c.bind("execution_id >= ?", Value::Text(prefix.clone()));
        c.bind("execution_id < ?", Value::Text(format!("{prefix}~")));
    }
    if let Some(level) = query.level {
        let names: Vec<String> = [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
        ]
        .into_iter()
        .filter(|l| *l <= level)
        .map(|l| format!("'{}'", l.as_str()))
        .collect();
        c.sql.push(format!("level IN ({})", names.join(", ")));
    }
    if let Some(since) = query.since_ms {
        c.bind("at >= ?", Value::Integer(since));
    }
    if let Some(after) = query.after_id {
        c.bind("id > ?", Value::Integer(after));
    }
    if !query.contains_any.is_empty() {
        let mut phrases = Vec::with_capacity(query.contains_any.len());
        for text in &query.contains_any {
            if text.chars().count() < MIN_INDEXED_TEXT {
                return Err(StoreError::Invalid(format!(
                    "`{text}` is too short to look up in the log index (at least \
                     {MIN_INDEXED_TEXT} characters)"
                )));
            }
            phrases.push(format!("\"{}\"", text.replace('"', "\"\"")));
        }
        c.bind(
            "id IN (SELECT rowid FROM log_text WHERE log_text MATCH ?)",
            Value::Text(phrases.join(" OR ")),
        );
    }
    let mut sql = String::from(
        "SELECT id, at, level, source, target, skill, execution_id, message FROM log_lines",
    );
    if !c.sql.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&c.sql.join(" AND "));
    }
    sql.push_str(if query.oldest_first {
        " ORDER BY id"
    } else {
        " ORDER BY id DESC"
    });
    Ok((sql, c.values))
}

fn line(row: &Row<'_>) -> rusqlite::Result<LogLine> {
    let level: String = row.get(2)?;
    Ok(LogLine {
        id: row.get(0)?,
        at_ms: row.get(1)?,
        level: LogLevel::parse(&level).unwrap_or(LogLevel::Info),
        source: row.get(3)?,
        target: row.get(4)?,
        skill: row.get(5)?,
        execution_id: row.get(6)?,
        message: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn messages(store: &SqliteStore, query: &LogQuery) -> Vec<String> {
        let mut out = Vec::new();
        store
            .scan_logs(query, &mut |l| {
                out.push(l.message);
                true
            })
            .unwrap();
        out
    }

    /// A run's row and its output's tail are kept together or not at all.
    #[test]
    fn a_row_and_its_output_are_kept_in_one_transaction() {
        use crate::{ExecutionQuery, ExecutionRecord, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        let row = ExecutionRecord::at("0190-0001", "s", "ok", 1);
        store
            .record_with_output(&row, &[line_at(1, LogLevel::Info, "first tail")])
            .unwrap();
        // The same id again: the row is refused, and the line written with it goes too.
        let again = store.record_with_output(&row, &[line_at(2, LogLevel::Info, "second tail")]);
        assert!(again.is_err());
        let rows = store.list(&ExecutionQuery::default()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            messages(&store, &LogQuery::default()),
            ["first tail"],
            "nothing of the refused row is kept"
        );
    }

    #[test]
    fn lines_are_found_by_substring_level_execution_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        store
            .append_logs(&[
                line_at(1, LogLevel::Info, "Connection REFUSED by db"),
                line_at(2, LogLevel::Warn, "retrying in 5s"),
                line_at(3, LogLevel::Error, "gave up: connection refused"),
                line_at(4, LogLevel::Info, "100% done (50%_ of \"it\")"),
            ])
            .unwrap();
        let q = |f: &dyn Fn(&mut LogQuery)| {
            let mut q = LogQuery::default();
            f(&mut q);
            messages(&store, &q)
        };
        assert_eq!(q(&|_| {}).len(), 4);
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
        assert_eq!(q(&|q| q.level = Some(LogLevel::Warn)).len(), 2);
        assert_eq!(q(&|q| q.since_ms = Some(3)).len(), 2);
        assert_eq!(
            q(&|q| q.execution = Some("0190-0002".into())),
            ["retrying in 5s"]
        );
        assert_eq!(q(&|q| q.execution = Some("0190-000".into())).len(), 4);
        assert_eq!(q(&|q| q.execution = Some("%".into())).len(), 0);
        let oldest = q(&|q| q.oldest_first = true);
        assert_eq!(oldest[0], "Connection REFUSED by db");
        let short = store.scan_logs(
            &LogQuery {
                contains_any: vec!["ab".into()],
                ..LogQuery::default()
            },
            &mut |_| true,
        );
        assert!(short.unwrap_err().to_string().contains("too short"));
    }

    #[test]
    fn the_log_stays_bounded_and_long_messages_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        let long = "é".repeat(3_000);
        store
            .append_logs(&[line_at(1, LogLevel::Info, &long)])
            .unwrap();
        let kept = messages(&store, &LogQuery::default());
        assert!(kept[0].len() < 2_100, "{}", kept[0].len());
        assert!(kept[0].ends_with("[6000 bytes in all]"), "{}", kept[0]);
        // Past the cap, the oldest go and the index follows them.
        let batch: Vec<LogLine> = (0..300)
            .map(|n| line_at(n, LogLevel::Info, "filler line"))
            .collect();
        for _ in 0..5 {
            store
                .append_logs_within(&batch, 1_000, MAX_LOG_BYTES)
                .unwrap();
        }
        let count: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM log_lines", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1_000);
        store.index_logs().unwrap();
        let indexed: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM log_text WHERE log_text MATCH '\"filler\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexed, count);
        assert!(
            messages(
                &store,
                &LogQuery {
                    contains_any: vec!["ééé".into()],
                    ..LogQuery::default()
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn the_history_prune_takes_old_lines_with_it() {
        use crate::{Retention, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        store
            .append_logs(&[
                line_at(10, LogLevel::Info, "old line"),
                line_at(20, LogLevel::Info, "new line"),
            ])
            .unwrap();
        // Indexed, then a line that is not yet: both are taken out right.
        store.index_logs().unwrap();
        store
            .append_logs(&[line_at(12, LogLevel::Info, "older but unindexed")])
            .unwrap();
        let rule = Retention {
            before_ms: Some(15),
            dry_run: true,
            ..Retention::default()
        };
        assert_eq!(store.prune(&rule).unwrap().logs, 2);
        assert_eq!(messages(&store, &LogQuery::default()).len(), 3);
        // The bounded prune after each run.
        let rule = Retention {
            dry_run: false,
            batch: Some(10),
            ..rule
        };
        assert_eq!(store.prune(&rule).unwrap().logs, 2);
        assert_eq!(messages(&store, &LogQuery::default()), ["new line"]);
        for gone in ["old", "unindexed"] {
            let query = LogQuery {
                contains_any: vec![gone.into()],
                ..LogQuery::default()
            };
            assert!(messages(&store, &query).is_empty());
        }
        // The index still answers for what stays, and for what comes.
        store
            .append_logs(&[line_at(30, LogLevel::Info, "newest line")])
            .unwrap();
        let query = LogQuery {
            contains_any: vec!["line".into()],
            ..LogQuery::default()
        };
        assert_eq!(messages(&store, &query), ["newest line", "new line"]);
    }

    #[test]
    fn the_log_stays_within_its_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        let wide = "w".repeat(1_000);
        let batch: Vec<LogLine> = (0..100)
            .map(|n| line_at(n, LogLevel::Info, &wide))
            .collect();
        for _ in 0..10 {
            store
                .append_logs_within(&batch, 1_000_000, 300_000)
                .unwrap();
        }
        let (count, bytes): (i64, i64) = store
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM log_lines), (SELECT bytes FROM log_totals)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(bytes <= 300_000, "{bytes}");
        assert_eq!(bytes, count * 1_000);
        assert!(count >= 100, "{count}");
    }
}
