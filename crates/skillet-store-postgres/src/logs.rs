//! Searchable logs: skillet's events and the tails of each execution's output.
//!
//! A plain table, bounded as on SQLite: at most [`MAX_LOG_LINES`] lines and [`MAX_LOG_BYTES`]
//! bytes of messages, the oldest going as new ones come. `log_totals.bytes` is kept by
//! statement triggers on `log_lines` (see the schema), whoever inserts or deletes.
//!
//! Text search differs from SQLite's in how, not in what it finds: SQLite looks the text up in
//! an FTS5 trigram index, which [`LogStore::index_logs`] brings up to date; PostgreSQL has no
//! such index here and compares each candidate line's message in lower case
//! (`strpos(lower(message), lower(text))`, so `%`, `_` and quotes are plain text). The other
//! filters narrow the lines first; a search over the whole log reads every line. There is
//! nothing to index, so `index_logs` has nothing to do. Case folding is `lower()`'s, which
//! follows the database's collation (a `C` database folds ASCII letters only).

use skillet_store::{
    LogLevel, LogLine, LogQuery, LogStore, MAX_LOG_BYTES, MAX_LOG_LINES, MAX_LOG_MESSAGE_BYTES,
    MIN_INDEXED_TEXT, StoreError,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::error::OrStoreError;

/// Old lines dropped at most per append (as on SQLite): the cap is kept a little at a time,
/// never by a long delete in the middle of a run.
const DROP_PER_APPEND: i64 = 2_000;

/// Lines dropped per step while the log is over its byte bound.
const DROP_PER_BYTE_STEP: i64 = 200;

impl LogStore for PostgresStore {
    fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError> {
        append_within(self, lines, MAX_LOG_LINES, MAX_LOG_BYTES)
    }

    /// Nothing to do on PostgreSQL: a search reads the table itself (see the module's
    /// documentation), so no line ever waits to be indexed.
    fn index_logs(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn scan_logs(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LogLine) -> bool,
    ) -> Result<(), StoreError> {
        let (sql, values) = select(query)?;
        let values: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_sql).collect();
        self.connections().call(async |c| {
            crate::executions::stream(c, &sql, &values, &mut |row| Ok(visit(line(row)?))).await
        })
    }
}

/// [`LogStore::append_logs`] keeping at most `cap` lines and `cap_bytes` bytes of messages.
pub(crate) fn append_within(
    s: &PostgresStore,
    lines: &[LogLine],
    cap: i64,
    cap_bytes: i64,
) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Ok(());
    }
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        append_capped(&tx, lines, cap, cap_bytes).await?;
        tx.commit().await.db()?;
        Ok(())
    })
}

/// Adds `lines` in the transaction `tx` (an execution's row goes in the same one, see
/// `record_with_output`), then drops the oldest lines past [`MAX_LOG_LINES`] or
/// [`MAX_LOG_BYTES`].
pub(crate) async fn append_in(
    tx: &deadpool_postgres::Transaction<'_>,
    lines: &[LogLine],
) -> Result<(), StoreError> {
    append_capped(tx, lines, MAX_LOG_LINES, MAX_LOG_BYTES).await
}

/// [`append_in`] with the bounds given.
async fn append_capped(
    tx: &deadpool_postgres::Transaction<'_>,
    lines: &[LogLine],
    cap: i64,
    cap_bytes: i64,
) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Ok(());
    }
    let at: Vec<i64> = lines.iter().map(|l| l.at_ms).collect();
    let level: Vec<&str> = lines.iter().map(|l| l.level.as_str()).collect();
    let source: Vec<&str> = lines.iter().map(|l| l.source.as_str()).collect();
    let target: Vec<Option<&str>> = lines.iter().map(|l| l.target.as_deref()).collect();
    let skill: Vec<Option<&str>> = lines.iter().map(|l| l.skill.as_deref()).collect();
    let execution: Vec<Option<&str>> = lines.iter().map(|l| l.execution_id.as_deref()).collect();
    let message: Vec<String> = lines
        .iter()
        .map(|l| crate::text::without_nul(&capped_message(&l.message)).into_owned())
        .collect();
    // One statement for every line, numbered in their order. The insert trigger adds their
    // bytes to `log_totals`, whose row lock then orders concurrent appends (and the prune,
    // which takes it first), so two appends never wait on each other's deletes.
    // Statements prepared once per connection: a daemon appends after every run.
    let insert = tx
        .prepare_cached(
            "INSERT INTO log_lines (at, level, source, target, skill, execution_id, message)
             SELECT at, level, source, target, skill, execution_id, message
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[])
                  WITH ORDINALITY AS l(at, level, source, target, skill, execution_id, message, n)
             ORDER BY n",
        )
        .await
        .db()?;
    tx.execute(
        &insert,
        &[&at, &level, &source, &target, &skill, &execution, &message],
    )
    .await
    .db()?;
    let dropped = DROP_PER_APPEND + lines.len() as i64;
    let trim = tx
        .prepare_cached(
            "DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines
             WHERE id <= (SELECT max(id) FROM log_lines) - $1 ORDER BY id LIMIT $2)",
        )
        .await
        .db()?;
    tx.execute(&trim, &[&cap, &dropped]).await.db()?;
    let total = tx
        .prepare_cached("SELECT bytes FROM log_totals WHERE id = 1")
        .await
        .db()?;
    // Over the byte bound, the oldest go a batch at a time: a few batches cover what one
    // append can add (its lines are capped), so this ends quickly.
    for _ in 0..64 {
        let bytes: i64 = tx.query_one(&total, &[]).await.db()?.get(0);
        if bytes <= cap_bytes {
            break;
        }
        tx.execute(
            "DELETE FROM log_lines WHERE id IN
             (SELECT id FROM log_lines ORDER BY id LIMIT $1)",
            &[&DROP_PER_BYTE_STEP],
        )
        .await
        .db()?;
    }
    Ok(())
}

/// `text` cut to [`MAX_LOG_MESSAGE_BYTES`] at a character boundary, saying how long it was
/// (as `skillet_store` cuts it for SQLite).
fn capped_message(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_LOG_MESSAGE_BYTES {
        return text.into();
    }
    let mut end = MAX_LOG_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes in all]", &text[..end], text.len()).into()
}

/// A value bound to a query.
enum Value {
    Text(String),
    Int(i64),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(t) => t,
            Value::Int(n) => n,
        }
    }
}

/// A `WHERE` clause being built, with the values it binds.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    /// Adds `condition`, whose `?` stands for `value`.
    fn bind(&mut self, condition: &str, value: Value) {
        self.values.push(value);
        self.sql
            .push(condition.replace('?', &format!("${}", self.values.len())));
    }
}

/// The statement and its values for `query`.
fn select(query: &LogQuery) -> Result<(String, Vec<Value>), StoreError> {
    let mut c = Conditions::default();
    if let Some(skill) = &query.skill {
        c.bind("skill = ?", Value::Text(skill.clone()));
    }
    if let Some(prefix) = &query.execution {
        // The prefix is the user's text: its `%` and `_` are escaped, not wildcards. (SQLite
        // compares a range; `LIKE` is the same "starts with", and a range of the index where
        // the collation is `C`.)
        let pattern = crate::ids::starts_with(&prefix.to_ascii_lowercase());
        c.bind("execution_id COLLATE \"C\" LIKE ?", Value::Text(pattern));
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
        c.bind("at >= ?", Value::Int(since));
    }
    if let Some(after) = query.after_id {
        c.bind("id > ?", Value::Int(after));
    }
    if !query.contains_any.is_empty() {
        let mut any = Vec::with_capacity(query.contains_any.len());
        for text in &query.contains_any {
            if text.chars().count() < MIN_INDEXED_TEXT {
                return Err(StoreError::Invalid(format!(
                    "`{text}` is too short to look up in the log index (at least \
                     {MIN_INDEXED_TEXT} characters)"
                )));
            }
            c.values.push(Value::Text(text.clone()));
            any.push(format!(
                "strpos(lower(message), lower(${})) > 0",
                c.values.len()
            ));
        }
        c.sql.push(format!("({})", any.join(" OR ")));
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

fn line(row: &Row) -> Result<LogLine, StoreError> {
    let level: String = row.try_get(2).db()?;
    Ok(LogLine {
        id: row.try_get(0).db()?,
        at_ms: row.try_get(1).db()?,
        level: LogLevel::parse(&level).unwrap_or(LogLevel::Info),
        source: row.try_get(3).db()?,
        target: row.try_get(4).db()?,
        skill: row.try_get(5).db()?,
        execution_id: row.try_get(6).db()?,
        message: row.try_get(7).db()?,
    })
}

/// The bounds, which only the store's own tests change: the real ones take 200,000 lines.
#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Option<PostgresStore> {
        let url = crate::test_server::fresh_url()?;
        Some(PostgresStore::open(&url, None).expect("open"))
    }

    fn filler(n: usize, message: &str) -> Vec<LogLine> {
        (0..n)
            .map(|i| LogLine {
                id: 0,
                at_ms: i as i64,
                level: LogLevel::Info,
                source: "stdout".into(),
                target: None,
                skill: Some("s".into()),
                execution_id: None,
                message: message.into(),
            })
            .collect()
    }

    fn totals(s: &PostgresStore) -> (i64, i64, i64) {
        s.connections()
            .call(async |c| {
                let r = c
                    .query_one(
                        "SELECT (SELECT count(*) FROM log_lines), \
                         (SELECT bytes FROM log_totals), \
                         (SELECT coalesce(sum(octet_length(message)), 0)::bigint FROM log_lines)",
                        &[],
                    )
                    .await
                    .db()?;
                Ok((r.get(0), r.get(1), r.get(2)))
            })
            .expect("totals")
    }

    #[test]
    fn the_log_keeps_at_most_its_line_cap() {
        let Some(s) = store() else { return };
        let batch = filler(300, "filler line");
        for _ in 0..5 {
            append_within(&s, &batch, 1_000, MAX_LOG_BYTES).expect("append");
        }
        let (count, bytes, summed) = totals(&s);
        assert_eq!(count, 1_000);
        assert_eq!(bytes, summed, "the byte total follows the deletes");
        assert_eq!(bytes, 1_000 * "filler line".len() as i64);
    }

    #[test]
    fn the_log_stays_within_its_byte_bound() {
        let Some(s) = store() else { return };
        let batch = filler(100, &"w".repeat(1_000));
        for _ in 0..10 {
            append_within(&s, &batch, 1_000_000, 300_000).expect("append");
        }
        let (count, bytes, summed) = totals(&s);
        assert!(bytes <= 300_000, "{bytes}");
        assert_eq!(bytes, count * 1_000);
        assert_eq!(bytes, summed);
        assert!(count >= 100, "{count}");
    }

    #[test]
    fn bytes_are_counted_as_utf8() {
        let Some(s) = store() else { return };
        append_within(&s, &filler(2, "é"), 10, MAX_LOG_BYTES).expect("append");
        assert_eq!(totals(&s), (2, 4, 4));
    }
}
