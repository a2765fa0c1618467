//! Background jobs' rows (`skillet run --detach`), as `sqlite_jobs.rs` keeps them.

use skillet_store::{JobRecord, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::error::OrStoreError;

pub(crate) const COLUMNS: &str = "id, skill, status, priority, params, caller_dir, workspace, submitted_at, started_at, \
    finished_at, queue_wait_ms, execution_id, outcome, exit_code, stdout, stderr, truncated, error, holder, holder_pid, \
    stdin, shareable";

/// The jobs the history's retention removes: ended before `$1` (queued and running ones stay).
pub(crate) const PRUNABLE: &str =
    "status NOT IN ('queued', 'running') AND finished_at IS NOT NULL AND finished_at < $1";

pub(crate) fn from_row(r: &Row) -> Result<JobRecord, StoreError> {
    let exit_code: Option<i64> = r.try_get(13).db()?;
    Ok(JobRecord {
        id: r.try_get(0).db()?,
        skill: r.try_get(1).db()?,
        status: r.try_get(2).db()?,
        priority: r.try_get(3).db()?,
        params: r.try_get(4).db()?,
        caller_dir: r.try_get(5).db()?,
        workspace: r.try_get(6).db()?,
        submitted_at_ms: r.try_get(7).db()?,
        started_at_ms: r.try_get(8).db()?,
        finished_at_ms: r.try_get(9).db()?,
        queue_wait_ms: r.try_get(10).db()?,
        execution_id: r.try_get(11).db()?,
        outcome: r.try_get(12).db()?,
        exit_code: exit_code.map(|c| i32::try_from(c).unwrap_or(i32::MIN)),
        stdout: r.try_get(14).db()?,
        stderr: r.try_get(15).db()?,
        truncated: r.try_get::<_, i64>(16).db()? != 0,
        error: r.try_get(17).db()?,
        holder: r.try_get(18).db()?,
        holder_pid: r.try_get(19).db()?,
        stdin: r.try_get(20).db()?,
        shareable: r.try_get::<_, i64>(21).db()? != 0,
    })
}

/// Adds or replaces the job's row (by id).
pub(crate) fn save(s: &PostgresStore, j: &JobRecord) -> Result<(), StoreError> {
    let exit_code = j.exit_code.map(i64::from);
    let truncated = i64::from(j.truncated);
    let shareable = i64::from(j.shareable);
    let values: [&(dyn ToSql + Sync); 22] = [
        &j.id,
        &j.skill,
        &j.status,
        &j.priority,
        &j.params,
        &j.caller_dir,
        &j.workspace,
        &j.submitted_at_ms,
        &j.started_at_ms,
        &j.finished_at_ms,
        &j.queue_wait_ms,
        &j.execution_id,
        &j.outcome,
        &exit_code,
        &j.stdout,
        &j.stderr,
        &truncated,
        &j.error,
        &j.holder,
        &j.holder_pid,
        &j.stdin,
        &shareable,
    ];
    let updates: Vec<String> = COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "id")
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let marks: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO jobs ({COLUMNS}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
        marks.join(", "),
        updates.join(", ")
    );
    s.connections().call(async |c| {
        let stmt = c.prepare_cached(&sql).await.db()?;
        c.execute(&stmt, &values).await.db()?;
        Ok(())
    })
}

/// The job whose id is `id` or starts with it.
pub(crate) fn get(s: &PostgresStore, id: &str) -> Result<Option<JobRecord>, StoreError> {
    s.connections()
        .call(async |c| crate::ids::find_by_id(&***c, "jobs", COLUMNS, id, from_row).await)
}

/// Jobs newest first; `unfinished` keeps only queued and running ones; `limit` 0 is all.
pub(crate) fn list(
    s: &PostgresStore,
    unfinished: bool,
    limit: usize,
) -> Result<Vec<JobRecord>, StoreError> {
    // NULL is no limit.
    let limit = (limit != 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX));
    s.connections().call(async |c| {
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE (NOT $1 OR status IN ('queued', 'running'))
                 ORDER BY submitted_at DESC, id DESC LIMIT $2"
            ))
            .await
            .db()?;
        let rows = c.query(&stmt, &[&unfinished, &limit]).await.db()?;
        rows.iter().map(from_row).collect()
    })
}
