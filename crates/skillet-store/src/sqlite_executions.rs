//! The SQLite table of executions: one row per run, written once, read newest first.
//!
//! Apart from `sqlite.rs`, which opens the file and dispatches the [`crate::Store`] calls,
//! because the column list, the row mapping and the query builder must change together with
//! every field added to [`ExecutionRecord`], and the history can hold millions of rows, so
//! every read here streams.

use rusqlite::{Connection, Row, params};

use crate::record::SpanRecord;
use crate::sqlite_ids::find_by_id;
use crate::{ExecutionFigures, ExecutionQuery, ExecutionRecord, StoreError};

const COLUMNS: &str = "id, skill, version, scope, params_hash, params, status, exit_code, attempt, correlation_id, \
    parent_id, started_at, finished_at, duration_ms, peak_memory_kb, cpu_time_ms, truncated, limit_hit, error, origin, request_id, cached, queue_wait_ms, spans, \
    peak_processes, bytes_written, llm_input_tokens, llm_output_tokens, llm_ms";

const INSERT_PARAMS: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29";

/// The `INSERT` of one row: one text, so the statement cache finds what
/// [`crate::SqliteStore::prepare_recording`] compiled.
pub(crate) fn insert_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("INSERT INTO executions ({COLUMNS}) VALUES ({INSERT_PARAMS})")
    });
    &SQL
}

/// The values of [`COLUMNS`] for an `INSERT`, in order.
macro_rules! record_params {
    ($e:ident) => {
        params![
            $e.id,
            $e.skill,
            $e.version,
            $e.scope,
            $e.params_hash,
            $e.params,
            $e.status,
            $e.exit_code,
            $e.attempt,
            $e.correlation_id,
            $e.parent_id,
            $e.started_at_ms,
            $e.finished_at_ms,
            $e.duration_ms,
            $e.peak_memory_kb,
            $e.cpu_time_ms,
            $e.truncated,
            $e.limit_hit,
            $e.error,
            $e.origin,
            $e.request_id,
            $e.cached,
            $e.queue_wait_ms,
            SpanRecord::to_text(&$e.spans),
            $e.peak_processes,
            $e.bytes_written,
            $e.llm_input_tokens,
            $e.llm_output_tokens,
            $e.llm_ms
        ]
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: r.get(0)?,
        skill: r.get(1)?,
        version: r.get(2)?,
        scope: r.get(3)?,
        params_hash: r.get(4)?,
        params: r.get(5)?,
        status: r.get(6)?,
        exit_code: r.get(7)?,
        attempt: r.get(8)?,
        correlation_id: r.get(9)?,
        parent_id: r.get(10)?,
        started_at_ms: r.get(11)?,
        finished_at_ms: r.get(12)?,
        duration_ms: r.get(13)?,
        peak_memory_kb: r.get(14)?,
        cpu_time_ms: r.get(15)?,
        truncated: r.get(16)?,
        limit_hit: r.get(17)?,
        error: r.get(18)?,
        origin: r.get(19)?,
        request_id: r.get(20)?,
        cached: r.get(21)?,
        queue_wait_ms: r.get(22)?,
        spans: r
            .get::<_, Option<String>>(23)?
            .map(|text| SpanRecord::from_text(&text))
            .unwrap_or_default(),
        peak_processes: r.get(24)?,
        bytes_written: r.get(25)?,
        llm_input_tokens: r.get(26)?,
        llm_output_tokens: r.get(27)?,
        llm_ms: r.get(28)?,
    })
}

pub(crate) fn record(conn: &Connection, e: &ExecutionRecord) -> Result<(), StoreError> {
    // Cached: a long-lived process (the daemon) records every call, and parsing the
    // statement each time cost about as much as running it.
    conn.prepare_cached(insert_sql())?
        .execute(record_params!(e))?;
    Ok(())
}

/// See [`crate::SqliteStore::import`].
pub(crate) fn import(
    conn: &mut Connection,
    records: &mut dyn Iterator<Item = ExecutionRecord>,
) -> Result<u64, StoreError> {
    let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    let mut added = 0;
    {
        let mut stmt = tx.prepare(insert_sql())?;
        for e in records {
            stmt.execute(record_params!(e))?;
            added += 1;
        }
    }
    tx.commit()?;
    Ok(added)
}

pub(crate) fn scan(
    conn: &Connection,
    q: &ExecutionQuery,
    visit: &mut dyn FnMut(ExecutionRecord) -> bool,
) -> Result<(), StoreError> {
    let limit = if q.limit == 0 {
        -1
    } else {
        i64::try_from(q.limit).unwrap_or(i64::MAX)
    };
    // Only the filters given are in the text: `(?1 IS NULL OR skill = ?1)` would keep
    // SQLite from using the index of the filter that is there.
    let mut filters = Vec::new();
    if q.skill.is_some() {
        filters.push("skill = :skill");
    }
    if q.status.is_some() {
        filters.push("status = :status");
    }
    if q.since_ms.is_some() {
        filters.push("started_at >= :since");
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM executions {filter} ORDER BY started_at DESC, id DESC LIMIT :limit"
    ))?;
    let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":limit", &limit)];
    if let Some(skill) = &q.skill {
        named.push((":skill", skill));
    }
    if let Some(status) = &q.status {
        named.push((":status", status));
    }
    if let Some(since) = &q.since_ms {
        named.push((":since", since));
    }
    // One row at a time, straight from SQLite to `visit`: the whole history never sits in
    // memory.
    let mut rows = stmt.query(named.as_slice())?;
    while let Some(row) = rows.next()? {
        if !visit(from_row(row)?) {
            break;
        }
    }
    Ok(())
}

/// See [`crate::Store::scan_figures`]: the figure columns only, in the order an index on the
/// filters gives (no sort), the error only of a run that did not end `ok`.
pub(crate) fn scan_figures(
    conn: &Connection,
    q: &ExecutionQuery,
    visit: &mut dyn FnMut(ExecutionFigures) -> bool,
) -> Result<(), StoreError> {
    let mut filters = Vec::new();
    let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
    if let Some(skill) = &q.skill {
        filters.push("skill = :skill");
        named.push((":skill", skill));
    }
    if let Some(status) = &q.status {
        filters.push("status = :status");
        named.push((":status", status));
    }
    if let Some(since) = &q.since_ms {
        filters.push("started_at >= :since");
        named.push((":since", since));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, skill, status, exit_code, started_at, duration_ms, peak_memory_kb, \
         cpu_time_ms, limit_hit, error, cached, queue_wait_ms, peak_processes, bytes_written, \
         llm_input_tokens, llm_output_tokens, llm_ms FROM executions {filter}"
    ))?;
    let mut rows = stmt.query(named.as_slice())?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(2)?;
        let figures = ExecutionFigures {
            error: if status == "ok" { None } else { r.get(9)? },
            id: r.get(0)?,
            skill: r.get(1)?,
            status,
            exit_code: r.get(3)?,
            started_at_ms: r.get(4)?,
            duration_ms: r.get(5)?,
            peak_memory_kb: r.get(6)?,
            cpu_time_ms: r.get(7)?,
            limit_hit: r.get(8)?,
            cached: r.get(10)?,
            queue_wait_ms: r.get(11)?,
            peak_processes: r.get(12)?,
            bytes_written: r.get(13)?,
            llm_input_tokens: r.get(14)?,
            llm_output_tokens: r.get(15)?,
            llm_ms: r.get(16)?,
        };
        if !visit(figures) {
            break;
        }
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
    find_by_id(conn, "executions", COLUMNS, id, from_row)
}

#[cfg(test)]
mod tests {
    use crate::{ExecutionQuery, ExecutionRecord, MAX_SPANS, SpanRecord, SqliteStore, Store};

    #[test]
    fn the_narrow_figures_scan_reads_what_the_whole_rows_say() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        for (i, status) in ["ok", "failed", "timeout", "ok"].iter().enumerate() {
            let mut r = ExecutionRecord::at(&format!("0{i}-x"), "s", status, 100 * i as i64);
            r.error = Some(format!("error {i}"));
            r.queue_wait_ms = Some(i as i64);
            r.cached = i == 3;
            r.limit_hit = (i == 2).then(|| "memory".into());
            store.record(&r).unwrap();
        }
        let q = ExecutionQuery {
            since_ms: Some(100),
            ..Default::default()
        };
        let mut narrow = Vec::new();
        store
            .scan_figures(&q, &mut |f| {
                narrow.push(f);
                true
            })
            .unwrap();
        let mut whole: Vec<crate::ExecutionFigures> = store
            .list(&q)
            .unwrap()
            .into_iter()
            .map(Into::into)
            .collect();
        narrow.sort_by(|a, b| a.id.cmp(&b.id));
        whole.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(narrow, whole);
        assert_eq!(narrow.len(), 3);
        // An ok run's error is not read.
        assert_eq!(narrow[2].error, None);
        assert_eq!(narrow[0].error.as_deref(), Some("error 1"));
    }

    #[test]
    fn records_round_trip_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a/b/skillet.db")).unwrap();
        let mut full = ExecutionRecord::at("01-aaa", "x", "failed", 100);
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
        store.record(&full).unwrap();
        // At most MAX_SPANS come back.
        full.spans.truncate(MAX_SPANS);
        store
            .record(&ExecutionRecord::at("02-bbb", "y", "ok", 200))
            .unwrap();
        store
            .record(&ExecutionRecord::at("03-ccc", "x", "ok", 300))
            .unwrap();
        let all = store.list(&ExecutionQuery::default()).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["03-ccc", "02-bbb", "01-aaa"]
        );
        let q = ExecutionQuery {
            skill: Some("x".into()),
            status: Some("failed".into()),
            ..Default::default()
        };
        assert_eq!(store.list(&q).unwrap(), [full.clone()]);
        let q = ExecutionQuery {
            since_ms: Some(200),
            limit: 1,
            ..Default::default()
        };
        assert_eq!(store.list(&q).unwrap()[0].id, "03-ccc");
        assert_eq!(store.get("01").unwrap(), Some(full));
        assert!(store.get("0").is_err(), "ambiguous prefix");
        assert_eq!(store.get("%").unwrap(), None, "wildcards are literal");
    }
}
