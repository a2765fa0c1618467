//! The job queue's shared steps on PostgreSQL: a taker locks the row it takes (`FOR UPDATE
//! SKIP LOCKED`), so replicas asking at once each get a different job, or none.

use skillet_store::{JobClaim, JobQueueStore, JobRecord, LAPSED_JOB_ERROR, LapsedJobs, StoreError};

use crate::PostgresStore;
use crate::error::OrStoreError;
use crate::jobs::{COLUMNS, from_row};

/// The SET clause of a claim: `$1` holder, `$2` pid, `$3` now, `$4` lease.
const TAKE: &str = "status = 'running', holder = $1, holder_pid = $2, started_at = $3, \
     queue_wait_ms = GREATEST(0, $3 - submitted_at), lease_expires_at = $4, cancel_requested = 0";

impl JobQueueStore for PostgresStore {
    fn claim_job(&self, id: &str, c: &JobClaim) -> Result<bool, StoreError> {
        self.connections().call(async |client| {
            let n = client
                .execute(
                    &format!("UPDATE jobs SET {TAKE} WHERE id = $5 AND status = 'queued'"),
                    &[&c.holder, &c.holder_pid, &c.now_ms, &c.lease_until_ms, &id],
                )
                .await
                .db()?;
            Ok(n == 1)
        })
    }

    fn claim_next_job(&self, c: &JobClaim) -> Result<Option<JobRecord>, StoreError> {
        self.connections().call(async |client| {
            // One statement: the row is chosen and locked, skipping rows another replica has
            // locked, and taken; the lock lasts until the statement's commit.
            let row = client
                .query_opt(
                    &format!(
                        "UPDATE jobs SET {TAKE} WHERE id = (
                             SELECT id FROM jobs
                             WHERE status = 'queued' AND shareable = 1 AND holder <> $1
                             ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,
                                      submitted_at, id
                             LIMIT 1
                             FOR UPDATE SKIP LOCKED)
                         RETURNING {COLUMNS}"
                    ),
                    &[&c.holder, &c.holder_pid, &c.now_ms, &c.lease_until_ms],
                )
                .await
                .db()?;
            row.as_ref().map(from_row).transpose()
        })
    }

    fn renew_job_leases(&self, holder: &str, until_ms: i64) -> Result<Vec<String>, StoreError> {
        self.connections().call(async |client| {
            let rows = client
                .query(
                    "UPDATE jobs SET lease_expires_at = $2 WHERE holder = $1 AND status = 'running'
                     RETURNING id, cancel_requested",
                    &[&holder, &until_ms],
                )
                .await
                .db()?;
            Ok(rows
                .iter()
                .filter(|r| r.get::<_, i64>(1) != 0)
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn requeue_lapsed_jobs(&self, now_ms: i64) -> Result<LapsedJobs, StoreError> {
        self.connections().call(async |client| {
            let tx = client.transaction().await.db()?;
            // Rows another replica is taking or renewing right now are skipped: they are not
            // lapsed for long, or the next look finds them.
            let requeued: Vec<String> = tx
                .query(
                    "UPDATE jobs SET status = 'queued', holder = '', holder_pid = 0,
                         started_at = NULL, queue_wait_ms = NULL, lease_expires_at = NULL,
                         cancel_requested = 0
                     WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND shareable = 1
                                    AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED)
                     RETURNING id",
                    &[&now_ms],
                )
                .await
                .db()?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let lost: Vec<String> = tx
                .query(
                    "UPDATE jobs SET status = 'lost', finished_at = $1, error = $2,
                         lease_expires_at = NULL
                     WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND shareable = 0
                                    AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED)
                     RETURNING id",
                    &[&now_ms, &LAPSED_JOB_ERROR],
                )
                .await
                .db()?
                .iter()
                .map(|r| r.get(0))
                .collect();
            tx.commit().await.db()?;
            Ok(LapsedJobs { requeued, lost })
        })
    }

    fn cancel_queued_job(&self, id: &str, error: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.connections().call(async |client| {
            let n = client
                .execute(
                    "UPDATE jobs SET status = 'cancelled', error = $2, finished_at = $3
                     WHERE id = $1 AND status = 'queued'",
                    &[&id, &error, &now_ms],
                )
                .await
                .db()?;
            Ok(n == 1)
        })
    }

    fn request_job_cancel(&self, id: &str) -> Result<bool, StoreError> {
        self.connections().call(async |client| {
            let n = client
                .execute(
                    "UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND status = 'running'",
                    &[&id],
                )
                .await
                .db()?;
            Ok(n == 1)
        })
    }
}
