//! One job queue for every daemon on a shared store (`[store] url`, several replicas).
//!
//! A daemon still queues what it is given, in its own queue, and runs it; what changes is that
//! the store decides who runs each job. A daemon takes a job of its own queue only if it is
//! still queued in the store ([`JobQueueStore::claim_job`]); with a slot free and nothing of its
//! own waiting, it takes the next job another daemon queued that any daemon may run
//! ([`JobQueueStore::claim_next_job`]: `SKIP LOCKED`, so each job goes to exactly one). While
//! a job runs, its daemon renews a lease on it; a daemon that stops renewing (killed, its
//! machine gone) has its shareable jobs put back in the queue once the lease lapses, and taken
//! by another. A job carrying its submitter's grants or overrides is never run elsewhere: its
//! lapsed lease marks it `lost`, as a dead daemon's job always was on one machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use skillet_store::{JobClaim, JobRecord, now_ms};

use super::{Jobs, Running, State};
use crate::api::JobSubmitParams;

/// Longest pause between two looks at the shared queue: renewing leases, taking over lapsed
/// ones, and taking other daemons' waiting jobs.
const TICK: Duration = Duration::from_secs(1);

impl Jobs {
    /// The claim this daemon makes now.
    fn claim(&self, lease: Duration) -> JobClaim {
        let now = now_ms();
        JobClaim {
            holder: self.holder.clone(),
            holder_pid: i64::from(std::process::id()),
            now_ms: now,
            lease_until_ms: now
                .saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// Takes job `id` of this daemon's own queue in the store: `Some(false)` when another daemon
    /// has it (or it was cancelled), `None` when the store cannot say (try again later).
    /// Always `Some(true)` without a shared store.
    pub(super) fn claim_own(&self, id: &str) -> Option<bool> {
        let Some(lease) = self.shared else {
            return Some(true);
        };
        let store = self.store.as_ref()?;
        match store.claim_job(id, &self.claim(lease)) {
            Ok(taken) => Some(taken),
            Err(e) => {
                crate::daemon::warn(&format!("cannot take job {id} in the shared store: {e}"));
                None
            }
        }
    }

    /// With a slot free and nothing of its own waiting: the next job another daemon queued,
    /// taken in the store, with what it takes to run it, if its memory limit fits in `room_mb`
    /// (else it goes back to the queue for a daemon with room).
    pub(super) fn claim_from_others(
        &self,
        room_mb: Option<u64>,
    ) -> Option<(JobRecord, JobSubmitParams, u64)> {
        let lease = self.shared?;
        let store = self.store.as_ref()?;
        let record = match store.claim_next_job(&self.claim(lease)) {
            Ok(found) => found?,
            Err(e) => {
                crate::daemon::warn(&format!("cannot look at the shared job queue: {e}"));
                return None;
            }
        };
        let params = submitted(&record);
        let memory_mb = super::budget::job_memory_mb(&self.env, &params);
        if room_mb.is_some_and(|room| memory_mb > room) {
            let mut back = record;
            back.status = "queued".into();
            back.holder = String::new();
            back.holder_pid = 0;
            back.started_at_ms = None;
            back.queue_wait_ms = None;
            let _ = self.save(&back);
            return None;
        }
        Some((record, params, memory_mb))
    }

    /// Starts job `record`, taken from the shared queue, as [`Jobs::pump`] starts its own.
    pub(super) fn start_claimed(
        self: &Arc<Self>,
        s: &mut State,
        (record, params, memory_mb): (JobRecord, JobSubmitParams, u64),
    ) {
        let id = record.id.clone();
        let waited = u64::try_from(record.queue_wait_ms.unwrap_or(0)).unwrap_or(0);
        crate::daemon::log(&format!(
            "job {id} ({}) taken from the shared queue (queued by {})",
            record.skill,
            if record.holder.is_empty() {
                "a daemon that stopped"
            } else {
                "another daemon"
            }
        ));
        let cancel = skillet_engine::Cancel::new();
        s.memory_mb.insert(id.clone(), memory_mb);
        s.running.insert(
            id.clone(),
            Running {
                record,
                cancel: cancel.clone(),
                stdout: Vec::new(),
                stderr: Vec::new(),
            },
        );
        let jobs = self.clone();
        tokio::spawn(async move {
            super::run::run(jobs, id, params, cancel, (waited, memory_mb)).await;
        });
    }

    /// Looks at the shared queue every [`TICK`] (or a third of the lease, if shorter) until
    /// the daemon stops: renews this daemon's leases and acts on cancellations other daemons
    /// asked for, puts lapsed jobs back in the queue, and fills free slots.
    pub(crate) fn share(self: &Arc<Self>) {
        let Some(lease) = self.shared else {
            return;
        };
        let jobs = self.clone();
        tokio::spawn(async move {
            let every = TICK.min(lease / 3).max(Duration::from_millis(50));
            loop {
                tokio::time::sleep(every).await;
                if jobs.state().stopping {
                    return;
                }
                let jobs = jobs.clone();
                // The store's calls block: off the runtime's threads.
                let _ = tokio::task::spawn_blocking(move || jobs.tick(lease)).await;
            }
        });
    }

    fn tick(self: &Arc<Self>, lease: Duration) {
        let Some(store) = self.store.clone() else {
            return;
        };
        self.save_unsaved();
        match store.renew_job_leases(&self.holder, self.claim(lease).lease_until_ms) {
            Ok(asked) => {
                let s = self.state();
                for id in asked {
                    if let Some(r) = s.running.get(&id) {
                        r.cancel.cancel(
                            "cancelled with `skillet jobs cancel` (through another daemon)",
                        );
                    }
                }
            }
            Err(e) => crate::daemon::warn(&format!("cannot renew the leases of running jobs: {e}")),
        }
        match store.requeue_lapsed_jobs(now_ms()) {
            Ok(lapsed) => {
                for id in &lapsed.requeued {
                    crate::daemon::log(&format!(
                        "job {id}: its daemon stopped renewing its lease; back in the shared queue"
                    ));
                }
                for id in &lapsed.lost {
                    crate::daemon::log(&format!(
                        "job {id}: its daemon stopped renewing its lease; lost (it carried that daemon's overrides)"
                    ));
                }
            }
            Err(e) => crate::daemon::warn(&format!("cannot look for lapsed job leases: {e}")),
        }
        self.pump();
    }

    /// Cancels job `id` that this daemon does not run: still queued in the store, it is
    /// cancelled there; running under another daemon, that daemon is asked to. `None` when the
    /// store is not shared (the job is simply over, or unknown).
    pub(super) fn cancel_elsewhere(&self, id: &str) -> Option<()> {
        self.shared?;
        let store = self.store.as_ref()?;
        let record = store.job(id).ok()??;
        if record.status == "queued" {
            let _ = store.cancel_queued_job(
                &record.id,
                "cancelled with `skillet jobs cancel` before it ran",
                now_ms(),
            );
        } else if record.status == "running" {
            let _ = store.request_job_cancel(&record.id);
        }
        Some(())
    }

    /// How long a wait for a job's end sleeps between looks: a job another daemon runs ends
    /// without this daemon being told.
    pub(super) fn wait_step(&self, left: Duration) -> Duration {
        match self.shared {
            Some(_) => left.min(Duration::from_millis(250)),
            None => left,
        }
    }

    /// Whether the store's row says job `id`, waiting here, was taken by another daemon (or
    /// cancelled through one).
    pub(super) fn taken_elsewhere(&self, id: &str) -> Option<JobRecord> {
        self.shared?;
        let record = self.store.as_ref()?.job(id).ok()??;
        (record.status != "queued").then_some(record)
    }
}

/// What a job stored by another daemon asks to run. It carries no overrides: only shareable
/// jobs are taken.
fn submitted(record: &JobRecord) -> JobSubmitParams {
    JobSubmitParams {
        skill: record.skill.clone(),
        params: serde_json::from_str(&record.params).unwrap_or_default(),
        stdin: record.stdin.clone(),
        caller_dir: PathBuf::from(&record.caller_dir),
        workspace: record.workspace.as_ref().map(PathBuf::from),
        priority: match record.priority.as_str() {
            "high" => skillet_engine::Priority::High,
            "low" => skillet_engine::Priority::Low,
            _ => skillet_engine::Priority::Normal,
        },
        overrides: skillet_engine::RunOverrides::default(),
        client: None,
    }
}
