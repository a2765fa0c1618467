//! The job queue's steps that must be atomic across every process sharing a store: taking a
//! queued job (one taker gets it), holding it under a lease while it runs, taking over the jobs
//! of a daemon that stopped renewing its leases, and cancelling a job another daemon holds.
//!
//! On one machine a daemon's own queue decides what runs next; these steps make that decision
//! safe when several daemons (replicas on several machines) share a PostgreSQL store, so that
//! each job is run by exactly one of them.

use crate::{JobRecord, StoreError};

/// Who takes a job, and until when it holds it unless it renews the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    /// The daemon taking it (`SOCKET on HOST`).
    pub holder: String,
    /// Its pid.
    pub holder_pid: i64,
    /// Now, in ms since the epoch: the job's start.
    pub now_ms: i64,
    /// When the lease lapses unless renewed (ms since the epoch).
    pub lease_until_ms: i64,
}

/// What [`JobQueueStore::requeue_lapsed_jobs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LapsedJobs {
    /// Jobs any daemon may run put back in the queue (their holder is gone).
    pub requeued: Vec<String>,
    /// Jobs only their daemon could run (they carried its overrides) marked `lost`.
    pub lost: Vec<String>,
}

/// The error a job marked `lost` by [`JobQueueStore::requeue_lapsed_jobs`] carries.
pub const LAPSED_JOB_ERROR: &str = "the daemon that held this job stopped renewing its lease \
     (killed, or its machine went away); it was not run again: submit it again";

/// The job queue's shared steps. Every store implements it; [`crate::Store`] requires it.
pub trait JobQueueStore {
    /// Takes queued job `id` for `claim.holder`: it becomes `running`, started now, held until
    /// `claim.lease_until_ms`. One atomic step across every process sharing the store: of
    /// several takers one gets it. `false` when it is no longer queued (taken, or cancelled).
    fn claim_job(&self, id: &str, claim: &JobClaim) -> Result<bool, StoreError>;
    /// Takes the next queued job that any daemon may run (`shareable`) and that another daemon
    /// queued (a daemon runs its own from its own queue): the highest priority first, then the
    /// oldest. Atomic as [`JobQueueStore::claim_job`]; `None` when there is none.
    fn claim_next_job(&self, claim: &JobClaim) -> Result<Option<JobRecord>, StoreError>;
    /// Pushes the lease of every running job `holder` holds to `until_ms`; returns those whose
    /// cancellation another daemon asked for ([`JobQueueStore::request_job_cancel`]).
    fn renew_job_leases(&self, holder: &str, until_ms: i64) -> Result<Vec<String>, StoreError>;
    /// Running jobs whose lease lapsed before `now_ms`: shareable ones go back in the queue for
    /// any daemon to take, the others are marked `lost` ([`LAPSED_JOB_ERROR`]).
    fn requeue_lapsed_jobs(&self, now_ms: i64) -> Result<LapsedJobs, StoreError>;
    /// Cancels job `id` if it is still queued, with `error` as the reason; `false` when it is
    /// not (another daemon took it: ask it with [`JobQueueStore::request_job_cancel`]).
    fn cancel_queued_job(&self, id: &str, error: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Asks the daemon running job `id` to cancel it (it sees the request when it next renews
    /// its leases); `false` when the job is not running.
    fn request_job_cancel(&self, id: &str) -> Result<bool, StoreError>;
}
