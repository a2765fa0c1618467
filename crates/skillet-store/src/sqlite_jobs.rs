//! Background jobs (`skillet run --detach`): what was asked, where it is in the daemon's queue,
//! and its output, kept so that `skillet jobs logs` works after the submitting command exited
//! and after the daemon restarted.

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::sqlite_ids::find_by_id;

/// Most bytes of each output stream kept in a job's row; the rest is cut (and `truncated` set).
/// The skill's own `max_output_kb` (1 MiB by default) normally cuts first.
pub const MAX_JOB_OUTPUT_BYTES: usize = 1024 * 1024;

/// One background job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// UUIDv7.
    pub id: String,
    /// The skill as asked (name or alias).
    pub skill: String,
    /// `queued`, `running`, `finished`, `cancelled` or `lost` (the daemon died while it ran or
    /// waited; it is never run again by itself).
    pub status: String,
    /// `high`, `normal` or `low`.
    pub priority: String,
    /// The parameters, as JSON.
    pub params: String,
    /// The directory it was submitted from.
    pub caller_dir: String,
    /// `--workspace`, when given.
    pub workspace: Option<String>,
    /// When it was accepted (ms since the epoch).
    pub submitted_at_ms: i64,
    /// When it left the queue.
    pub started_at_ms: Option<i64>,
    /// When it ended.
    pub finished_at_ms: Option<i64>,
    /// How long it waited in the queue.
    pub queue_wait_ms: Option<i64>,
    /// The execution it became (see `skillet history`).
    pub execution_id: Option<String>,
    /// The run's status (`ok`, `failed`, `timeout`, …), once it ran.
    pub outcome: Option<String>,
    /// The process's exit code.
    pub exit_code: Option<i32>,
    /// Standard output (at most [`MAX_JOB_OUTPUT_BYTES`]).
    pub stdout: String,
    /// Standard error (at most [`MAX_JOB_OUTPUT_BYTES`]).
    pub stderr: String,
    /// Whether output was cut.
    pub truncated: bool,
    /// Why it failed, was cancelled or was lost.
    pub error: Option<String>,
    /// The daemon that holds it (its socket), so another daemon sharing the store leaves it be.
    pub holder: String,
    /// That daemon's pid.
    pub holder_pid: i64,
    /// The standard input it was given, kept while it waits so that another daemon sharing
    /// the store can run it.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Whether any daemon sharing the store may run it: it carries no grant or override of
    /// its submitter's (those are the submitting user's to give, on their own machine).
    #[serde(default)]
    pub shareable: bool,
}

impl JobRecord {
    /// Whether the job is over (finished, cancelled or lost).
    pub fn is_over(&self) -> bool {
        !matches!(self.status.as_str(), "queued" | "running")
    }
}

/// Cuts `text` to at most [`MAX_JOB_OUTPUT_BYTES`] on a character boundary; true when it cut.
pub fn cap_output(text: &mut String) -> bool {
    if text.len() <= MAX_JOB_OUTPUT_BYTES {
        return false;
    }
    let mut end = MAX_JOB_OUTPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

pub(crate) const COLUMNS: &str = "id, skill, status, priority, params, caller_dir, workspace, submitted_at, started_at, \
    finished_at, queue_wait_ms, execution_id, outcome, exit_code, stdout, stderr, truncated, error, holder, holder_pid, \
    stdin, shareable";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        skill: r.get(1)?,
        status: r.get(2)?,
        priority: r.get(3)?,
        params: r.get(4)?,
        caller_dir: r.get(5)?,
        workspace: r.get(6)?,
        submitted_at_ms: r.get(7)?,
        started_at_ms: r.get(8)?,
        finished_at_ms: r.get(9)?,
        queue_wait_ms: r.get(10)?,
        execution_id: r.get(11)?,
        outcome: r.get(12)?,
        exit_code: r.get(13)?,
        stdout: r.get(14)?,
        stderr: r.get(15)?,
        truncated: r.get(16)?,
        error: r.get(17)?,
        holder: r.get(18)?,
        holder_pid: r.get(19)?,
        stdin: r.get(20)?,
        shareable: r.get(21)?,
    })
}

pub(crate) fn save(conn: &Connection, j: &JobRecord) -> Result<(), StoreError> {
    // An upsert, not a replace: the lease and a cancellation request (kept apart from the
    // record, see `sqlite_job_queue.rs`) stay as they are.
    let updates: Vec<String> = COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "id")
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    conn.execute(
        &format!(
            "INSERT INTO jobs ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
             ON CONFLICT (id) DO UPDATE SET {}",
            updates.join(", ")
        ),
        params![
            j.id,
            j.skill,
            j.status,
            j.priority,
            j.params,
            j.caller_dir,
            j.workspace,
            j.submitted_at_ms,
            j.started_at_ms,
            j.finished_at_ms,
            j.queue_wait_ms,
            j.execution_id,
            j.outcome,
            j.exit_code,
            j.stdout,
            j.stderr,
            j.truncated,
            j.error,
            j.holder,
            j.holder_pid,
            j.stdin,
            j.shareable
        ],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<JobRecord>, StoreError> {
    find_by_id(conn, "jobs", COLUMNS, id, from_row)
}

/// Jobs newest first; `unfinished` keeps only queued and running ones; `limit` 0 is all.
pub(crate) fn list(
    conn: &Connection,
    unfinished: bool,
    limit: usize,
) -> Result<Vec<JobRecord>, StoreError> {
    let limit = if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE (?1 = 0 OR status IN ('queued', 'running'))
         ORDER BY submitted_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![unfinished, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes (or counts) jobs that ended before `before_ms`; queued and running ones stay.
/// The jobs the history's retention removes: finished before `?1`.
pub(crate) const PRUNABLE: &str =
    "status NOT IN ('queued', 'running') AND finished_at IS NOT NULL AND finished_at < ?1";

pub(crate) fn prune(
    conn: &Connection,
    before_ms: Option<i64>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let Some(before) = before_ms else {
        return Ok(0);
    };
    let filter = PRUNABLE;
    // Counted first: the prune after every recorded run must not take the write lock when
    // nothing is due.
    let due: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM jobs WHERE {filter}"),
        [before],
        |r| r.get(0),
    )?;
    if dry_run || due == 0 {
        return Ok(u64::try_from(due).unwrap_or(0));
    }
    let removed = conn.execute(&format!("DELETE FROM jobs WHERE {filter}"), [before])?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Retention, SqliteStore, Store};

    fn job(id: &str, status: &str, submitted: i64) -> JobRecord {
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

    #[test]
    fn jobs_survive_reopening_and_are_found_by_prefix() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("skillet.db");
        {
            let store = SqliteStore::open(&path)?;
            store.save_job(&job("0001-a", "queued", 1))?;
            store.save_job(&job("0002-b", "finished", 2))?;
            let mut running = job("0001-a", "running", 1);
            running.started_at_ms = Some(5);
            store.save_job(&running)?;
        }
        let store = SqliteStore::open(&path)?;
        let a = store.job("0001")?.ok_or("prefix not found")?;
        assert_eq!((a.status.as_str(), a.started_at_ms), ("running", Some(5)));
        let all = store.jobs(false, 0)?;
        assert_eq!(
            all.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            ["0002-b", "0001-a"]
        );
        assert_eq!(store.jobs(true, 0)?.len(), 1, "only the running one");
        assert!(store.job("000").is_err(), "an ambiguous prefix is refused");
        Ok(())
    }

    #[test]
    fn retention_removes_ended_jobs_only() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(&dir.path().join("skillet.db"))?;
        store.save_job(&job("0001-a", "finished", 10))?;
        store.save_job(&job("0002-b", "running", 10))?;
        store.save_job(&job("0003-c", "finished", 1_000))?;
        let rule = Retention {
            before_ms: Some(100),
            ..Retention::default()
        };
        let counted = store.prune(&Retention {
            dry_run: true,
            ..rule.clone()
        })?;
        assert_eq!(counted.jobs, 1);
        assert_eq!(store.jobs(false, 0)?.len(), 3, "a dry run removes nothing");
        // The bounded prune after each run finds them too.
        let bounded = Retention {
            batch: Some(10),
            ..rule.clone()
        };
        assert_eq!(store.prune(&bounded)?.jobs, 1);
        let left: Vec<String> = store.jobs(false, 0)?.into_iter().map(|j| j.id).collect();
        assert_eq!(left, ["0003-c", "0002-b"]);
        Ok(())
    }

    #[test]
    fn output_is_capped_on_a_character_boundary() {
        let mut text = "é".repeat(MAX_JOB_OUTPUT_BYTES);
        assert!(cap_output(&mut text));
        assert!(text.len() <= MAX_JOB_OUTPUT_BYTES);
        let mut short = "abc".to_owned();
        assert!(!cap_output(&mut short));
    }
}
