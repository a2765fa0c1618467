//! The job queue's shared steps on SQLite: each an immediate transaction (or one statement),
//! so concurrent daemons on one file are served one after the other.

use rusqlite::{OptionalExtension, params};

use crate::job_queue::{JobClaim, JobQueueStore, LAPSED_JOB_ERROR, LapsedJobs};
use crate::sqlite_jobs::{COLUMNS, from_row};
use crate::{JobRecord, SqliteStore, StoreError};

/// The SET clause of a claim: `?1` holder, `?2` pid, `?3` now, `?4` lease.
const TAKE: &str = "status = 'running', holder = ?1, holder_pid = ?2, started_at = ?3, \
     queue_wait_ms = max(0, ?3 - submitted_at), lease_expires_at = ?4, cancel_requested = 0";

impl JobQueueStore for SqliteStore {
    fn claim_job(&self, id: &str, c: &JobClaim) -> Result<bool, StoreError> {
        self.checked(|| {
            let n = self.conn().execute(
                &format!("UPDATE jobs SET {TAKE} WHERE id = ?5 AND status = 'queued'"),
                params![c.holder, c.holder_pid, c.now_ms, c.lease_until_ms, id],
            )?;
            Ok(n == 1)
        })
    }

    fn claim_next_job(&self, c: &JobClaim) -> Result<Option<JobRecord>, StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx =
                rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
            let id: Option<String> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE status = 'queued' AND shareable = 1 AND holder <> ?1
                     ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,
                              submitted_at, id
                     LIMIT 1",
                    [&c.holder],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else {
                return Ok(None);
            };
            tx.execute(
                &format!("UPDATE jobs SET {TAKE} WHERE id = ?5"),
                params![c.holder, c.holder_pid, c.now_ms, c.lease_until_ms, id],
            )?;
            let row = tx.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [&id],
                from_row,
            )?;
            tx.commit()?;
            Ok(Some(row))
        })
    }

    fn renew_job_leases(&self, holder: &str, until_ms: i64) -> Result<Vec<String>, StoreError> {
        self.checked(|| {
            let conn = self.conn();
            conn.execute(
                "UPDATE jobs SET lease_expires_at = ?2 WHERE holder = ?1 AND status = 'running'",
                params![holder, until_ms],
            )?;
            let mut stmt = conn.prepare(
                "SELECT id FROM jobs WHERE holder = ?1 AND status = 'running' AND cancel_requested = 1",
            )?;
            let ids = stmt
                .query_map([holder], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    fn requeue_lapsed_jobs(&self, now_ms: i64) -> Result<LapsedJobs, StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx =
                rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
            let lapsed = |shareable: bool| -> rusqlite::Result<Vec<String>> {
                let mut stmt = tx.prepare(
                    "SELECT id FROM jobs WHERE status = 'running' AND shareable = ?1
                       AND lease_expires_at IS NOT NULL AND lease_expires_at < ?2",
                )?;
                stmt.query_map(params![shareable, now_ms], |r| r.get(0))?
                    .collect()
            };
            let requeued = lapsed(true)?;
            let lost = lapsed(false)?;
            for id in &requeued {
                tx.execute(
                    "UPDATE jobs SET status = 'queued', holder = '', holder_pid = 0,
                         started_at = NULL, queue_wait_ms = NULL, lease_expires_at = NULL,
                         cancel_requested = 0
                     WHERE id = ?1",
                    [id],
                )?;
            }
            for id in &lost {
                tx.execute(
                    "UPDATE jobs SET status = 'lost', finished_at = ?2, error = ?3,
                         lease_expires_at = NULL
                     WHERE id = ?1",
                    params![id, now_ms, LAPSED_JOB_ERROR],
                )?;
            }
            tx.commit()?;
            Ok(LapsedJobs { requeued, lost })
        })
    }

    fn cancel_queued_job(&self, id: &str, error: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.checked(|| {
            let n = self.conn().execute(
                "UPDATE jobs SET status = 'cancelled', error = ?2, finished_at = ?3
                 WHERE id = ?1 AND status = 'queued'",
                params![id, error, now_ms],
            )?;
            Ok(n == 1)
        })
    }

    fn request_job_cancel(&self, id: &str) -> Result<bool, StoreError> {
        self.checked(|| {
            let n = self.conn().execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND status = 'running'",
                [id],
            )?;
            Ok(n == 1)
        })
    }
}
