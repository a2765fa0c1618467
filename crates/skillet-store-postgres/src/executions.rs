//! Executions: each attempt of each call, listed and scanned newest first.
//!
//! The rows are the SQLite store's (`sqlite_executions.rs`), column for column; reads stream
//! through a portal a chunk at a time, so a scan of millions of rows keeps memory flat and a
//! visitor that stops early stops the read.

use skillet_store::{
    ExecutionFigures, ExecutionQuery, ExecutionRecord, LogLine, SpanRecord, StoreError,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::error::OrStoreError;

const COLUMNS: &str = "id, skill, version, scope, params_hash, params, status, exit_code, attempt, correlation_id, \
    parent_id, started_at, finished_at, duration_ms, peak_memory_kb, cpu_time_ms, truncated, limit_hit, error, origin, request_id, cached, queue_wait_ms, spans, \
    peak_processes, bytes_written, llm_input_tokens, llm_output_tokens, llm_ms";

/// The array types of [`COLUMNS`], in order, for an `INSERT … SELECT * FROM UNNEST(…)` of many
/// rows in one statement.
const ARRAY_TYPES: [&str; 29] = [
    "text", "text", "text", "text", "text", "text", "text", "bigint", "bigint", "text", "text",
    "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text",
    "bigint", "bigint", "text", "bigint", "bigint", "bigint", "bigint", "bigint",
];

/// Rows per statement of an import.
const IMPORT_CHUNK: usize = 1_000;

/// Rows fetched per round trip while scanning.
pub(crate) const SCAN_CHUNK: i32 = 500;

/// The `INSERT` of many rows, each column bound as one array; `ON CONFLICT` when `keep_existing`.
fn insert_sql(keep_existing: bool) -> String {
    let arrays: Vec<String> = ARRAY_TYPES
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 1))
        .collect();
    format!(
        "INSERT INTO executions ({COLUMNS}) SELECT * FROM UNNEST({}){}",
        arrays.join(", "),
        if keep_existing {
            " ON CONFLICT (id) DO NOTHING"
        } else {
            ""
        }
    )
}

/// The columns of a batch of executions, one vector each.
#[derive(Default)]
struct Batch {
    id: Vec<String>,
    skill: Vec<String>,
    version: Vec<Option<String>>,
    scope: Vec<Option<String>>,
    params_hash: Vec<Option<String>>,
    params: Vec<Option<String>>,
    status: Vec<String>,
    exit_code: Vec<Option<i64>>,
    attempt: Vec<i64>,
    correlation_id: Vec<String>,
    parent_id: Vec<Option<String>>,
    started_at: Vec<i64>,
    finished_at: Vec<i64>,
    duration_ms: Vec<i64>,
    peak_memory_kb: Vec<Option<i64>>,
    cpu_time_ms: Vec<Option<i64>>,
    truncated: Vec<i64>,
    limit_hit: Vec<Option<String>>,
    error: Vec<Option<String>>,
    origin: Vec<Option<String>>,
    request_id: Vec<Option<String>>,
    cached: Vec<i64>,
    queue_wait_ms: Vec<Option<i64>>,
    spans: Vec<Option<String>>,
    peak_processes: Vec<Option<i64>>,
    bytes_written: Vec<Option<i64>>,
    llm_input_tokens: Vec<Option<i64>>,
    llm_output_tokens: Vec<Option<i64>>,
    llm_ms: Vec<Option<i64>>,
}

impl Batch {
    fn push(&mut self, e: &ExecutionRecord) {
        self.id.push(e.id.clone());
        self.skill.push(e.skill.clone());
        self.version.push(e.version.clone());
        self.scope.push(e.scope.clone());
        self.params_hash.push(e.params_hash.clone());
        self.params.push(
            e.params
                .as_deref()
                .map(|t| crate::text::without_nul(t).into_owned()),
        );
        self.status.push(e.status.clone());
        self.exit_code.push(e.exit_code);
        self.attempt.push(e.attempt);
        self.correlation_id.push(e.correlation_id.clone());
        self.parent_id.push(e.parent_id.clone());
        self.started_at.push(e.started_at_ms);
        self.finished_at.push(e.finished_at_ms);
        self.duration_ms.push(e.duration_ms);
        self.peak_memory_kb.push(e.peak_memory_kb);
        self.cpu_time_ms.push(e.cpu_time_ms);
        self.truncated.push(i64::from(e.truncated));
        self.limit_hit.push(e.limit_hit.clone());
        self.error.push(
            e.error
                .as_deref()
                .map(|t| crate::text::without_nul(t).into_owned()),
        );
        self.origin.push(e.origin.clone());
        self.request_id.push(e.request_id.clone());
        self.cached.push(i64::from(e.cached));
        self.queue_wait_ms.push(e.queue_wait_ms);
        self.spans.push(SpanRecord::to_text(&e.spans));
        self.peak_processes.push(e.peak_processes);
        self.bytes_written.push(e.bytes_written);
        self.llm_input_tokens.push(e.llm_input_tokens);
        self.llm_output_tokens.push(e.llm_output_tokens);
        self.llm_ms.push(e.llm_ms);
    }

    fn len(&self) -> usize {
        self.id.len()
    }

    /// The values of [`COLUMNS`], in order.
    fn params(&self) -> [&(dyn ToSql + Sync); 29] {
        [
            &self.id,
            &self.skill,
            &self.version,
            &self.scope,
            &self.params_hash,
            &self.params,
            &self.status,
            &self.exit_code,
            &self.attempt,
            &self.correlation_id,
            &self.parent_id,
            &self.started_at,
            &self.finished_at,
            &self.duration_ms,
            &self.peak_memory_kb,
            &self.cpu_time_ms,
            &self.truncated,
            &self.limit_hit,
            &self.error,
            &self.origin,
            &self.request_id,
            &self.cached,
            &self.queue_wait_ms,
            &self.spans,
            &self.peak_processes,
            &self.bytes_written,
            &self.llm_input_tokens,
            &self.llm_output_tokens,
            &self.llm_ms,
        ]
    }
}

fn from_row(r: &Row) -> Result<ExecutionRecord, StoreError> {
    Ok(ExecutionRecord {
        id: r.try_get(0).db()?,
        skill: r.try_get(1).db()?,
        version: r.try_get(2).db()?,
        scope: r.try_get(3).db()?,
        params_hash: r.try_get(4).db()?,
        params: r.try_get(5).db()?,
        status: r.try_get(6).db()?,
        exit_code: r.try_get(7).db()?,
        attempt: r.try_get(8).db()?,
        correlation_id: r.try_get(9).db()?,
        parent_id: r.try_get(10).db()?,
        started_at_ms: r.try_get(11).db()?,
        finished_at_ms: r.try_get(12).db()?,
        duration_ms: r.try_get(13).db()?,
        peak_memory_kb: r.try_get(14).db()?,
        cpu_time_ms: r.try_get(15).db()?,
        truncated: r.try_get::<_, i64>(16).db()? != 0,
        limit_hit: r.try_get(17).db()?,
        error: r.try_get(18).db()?,
        origin: r.try_get(19).db()?,
        request_id: r.try_get(20).db()?,
        cached: r.try_get::<_, i64>(21).db()? != 0,
        queue_wait_ms: r.try_get(22).db()?,
        spans: r
            .try_get::<_, Option<String>>(23)
            .db()?
            .map(|text| SpanRecord::from_text(&text))
            .unwrap_or_default(),
        peak_processes: r.try_get(24).db()?,
        bytes_written: r.try_get(25).db()?,
        llm_input_tokens: r.try_get(26).db()?,
        llm_output_tokens: r.try_get(27).db()?,
        llm_ms: r.try_get(28).db()?,
    })
}

pub(crate) fn record(s: &PostgresStore, e: &ExecutionRecord) -> Result<(), StoreError> {
    s.connections().call(async |c| {
        // Cached: a long-lived process (the daemon) records every call.
        let stmt = c.prepare_cached(&insert_sql(false)).await.db()?;
        let mut batch = Batch::default();
        batch.push(e);
        c.execute(&stmt, &batch.params()).await.db()?;
        Ok(())
    })
}

pub(crate) fn record_with_output(
    s: &PostgresStore,
    e: &ExecutionRecord,
    output: &[LogLine],
) -> Result<(), StoreError> {
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        // Cached: a long-lived process (the daemon) records every call.
        let stmt = tx.prepare_cached(&insert_sql(false)).await.db()?;
        let mut batch = Batch::default();
        batch.push(e);
        tx.execute(&stmt, &batch.params()).await.db()?;
        crate::logs::append_in(&tx, output).await?;
        tx.commit().await.db()?;
        Ok(())
    })
}

/// [`record_with_output`] for an execution that may be there already (a first try whose commit
/// reached the server though its answer did not): then nothing is written, its output included.
pub(crate) fn record_unless_there(
    s: &PostgresStore,
    e: &ExecutionRecord,
    output: &[LogLine],
) -> Result<(), StoreError> {
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        let mut batch = Batch::default();
        batch.push(e);
        let stmt = tx.prepare(&insert_sql(true)).await.db()?;
        if tx.execute(&stmt, &batch.params()).await.db()? == 1 {
            crate::logs::append_in(&tx, output).await?;
        }
        tx.commit().await.db()?;
        Ok(())
    })
}

/// See [`PostgresStore::import`]: every row in one transaction, a thousand per statement; an id
/// already there is left as it is (and not counted).
pub(crate) fn import(
    s: &PostgresStore,
    records: &mut dyn Iterator<Item = ExecutionRecord>,
) -> Result<u64, StoreError> {
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        let stmt = tx.prepare(&insert_sql(true)).await.db()?;
        let mut added = 0;
        loop {
            let mut batch = Batch::default();
            for e in (&mut *records).take(IMPORT_CHUNK) {
                batch.push(&e);
            }
            if batch.len() == 0 {
                break;
            }
            added += tx.execute(&stmt, &batch.params()).await.db()?;
            if batch.len() < IMPORT_CHUNK {
                break;
            }
        }
        tx.commit().await.db()?;
        Ok(added)
    })
}

/// The `WHERE` clause of `q`'s filters (only those given, so the planner sees the index of the
/// one there) and its values.
fn filters(q: &ExecutionQuery) -> (String, Vec<&(dyn ToSql + Sync)>) {
    let mut sql = Vec::new();
    let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
    if let Some(skill) = &q.skill {
        values.push(skill);
        sql.push(format!("skill = ${}", values.len()));
    }
    if let Some(status) = &q.status {
        values.push(status);
        sql.push(format!("status = ${}", values.len()));
    }
    if let Some(since) = &q.since_ms {
        values.push(since);
        sql.push(format!("started_at >= ${}", values.len()));
    }
    let filter = if sql.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", sql.join(" AND "))
    };
    (filter, values)
}

/// Runs `sql` in a read transaction and hands its rows to `visit` a chunk at a time, until it
/// returns `false` or the rows end. Only one chunk is in memory at once, and a visitor that
/// stops ends the read there (the portal is closed with the transaction).
pub(crate) async fn stream(
    client: &mut deadpool_postgres::Object,
    sql: &str,
    values: &[&(dyn ToSql + Sync)],
    visit: &mut dyn FnMut(&Row) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let tx = client.transaction().await.db()?;
    let stmt = tx.prepare_cached(sql).await.db()?;
    let portal = tx.bind(&stmt, values).await.db()?;
    'chunks: loop {
        let rows = tx.query_portal(&portal, SCAN_CHUNK).await.db()?;
        for row in &rows {
            if !visit(row)? {
                break 'chunks;
            }
        }
        if rows.len() < SCAN_CHUNK as usize {
            break;
        }
    }
    drop(portal);
    tx.commit().await.db()?;
    Ok(())
}

pub(crate) fn scan(
    s: &PostgresStore,
    q: &ExecutionQuery,
    visit: &mut dyn FnMut(ExecutionRecord) -> bool,
) -> Result<(), StoreError> {
    // NULL is no limit.
    let limit = (q.limit != 0).then(|| i64::try_from(q.limit).unwrap_or(i64::MAX));
    let (filter, mut values) = filters(q);
    values.push(&limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM executions {filter} ORDER BY started_at DESC, id DESC LIMIT ${}",
        values.len()
    );
    s.connections()
        .call(async |c| stream(c, &sql, &values, &mut |row| Ok(visit(from_row(row)?))).await)
}

/// See [`skillet_store::Store::scan_figures`]: the figure columns only, in no set order, the
/// error only of a run that did not end `ok`.
pub(crate) fn scan_figures(
    s: &PostgresStore,
    q: &ExecutionQuery,
    visit: &mut dyn FnMut(ExecutionFigures) -> bool,
) -> Result<(), StoreError> {
    let (filter, values) = filters(q);
    let sql = format!(
        "SELECT id, skill, status, exit_code, started_at, duration_ms, peak_memory_kb, \
         cpu_time_ms, limit_hit, CASE WHEN status = 'ok' THEN NULL ELSE error END, cached, \
         queue_wait_ms, peak_processes, bytes_written, llm_input_tokens, llm_output_tokens, \
         llm_ms FROM executions {filter}"
    );
    s.connections().call(async |c| {
        stream(c, &sql, &values, &mut |r| {
            let figures = ExecutionFigures {
                id: r.try_get(0).db()?,
                skill: r.try_get(1).db()?,
                status: r.try_get(2).db()?,
                exit_code: r.try_get(3).db()?,
                started_at_ms: r.try_get(4).db()?,
                duration_ms: r.try_get(5).db()?,
                peak_memory_kb: r.try_get(6).db()?,
                cpu_time_ms: r.try_get(7).db()?,
                limit_hit: r.try_get(8).db()?,
                error: r.try_get(9).db()?,
                cached: r.try_get::<_, i64>(10).db()? != 0,
                queue_wait_ms: r.try_get(11).db()?,
                peak_processes: r.try_get(12).db()?,
                bytes_written: r.try_get(13).db()?,
                llm_input_tokens: r.try_get(14).db()?,
                llm_output_tokens: r.try_get(15).db()?,
                llm_ms: r.try_get(16).db()?,
            };
            Ok(visit(figures))
        })
        .await
    })
}

pub(crate) fn get(s: &PostgresStore, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
    s.connections()
        .call(async |c| crate::ids::find_by_id(&***c, "executions", COLUMNS, id, from_row).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_back_as_written() {
        let spans = vec![
            SpanRecord {
                phase: "process".into(),
                start_us: 1,
                duration_us: 2,
            },
            SpanRecord {
                phase: "store".into(),
                start_us: 3,
                duration_us: 4,
            },
        ];
        assert_eq!(
            SpanRecord::from_text(&SpanRecord::to_text(&spans).unwrap_or_default()),
            spans
        );
        assert_eq!(SpanRecord::to_text(&[]), None);
    }

    #[test]
    fn every_column_is_bound_as_an_array() {
        assert_eq!(insert_sql(true).matches("[]").count(), 29);
    }
}
