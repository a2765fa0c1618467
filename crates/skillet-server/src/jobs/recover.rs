//! What a daemon that died left behind: its jobs are `lost`, never run again by themselves.

use std::path::PathBuf;

use skillet_store::now_ms;

use super::Jobs;

impl Jobs {
    /// Marks the jobs a dead daemon held as `lost`: queued or running in the store, held by
    /// this socket (the daemon before this one) or by a process of this machine that no longer
    /// exists.
    /// Returns a line for the log per job.
    pub(crate) fn recover(&self) -> Vec<String> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        let unfinished = match store.jobs(true, 0) {
            Ok(jobs) => jobs,
            Err(e) => return vec![format!("cannot read unfinished jobs: {e}")],
        };
        let mut lines = Vec::new();
        for mut job in unfinished {
            // On a shared store, a job any daemon may run is left to the leases: another
            // daemon, or this one, takes it once its holder's lease lapses.
            if self.shared.is_some() && job.shareable {
                continue;
            }
            let ours = job.holder == self.holder;
            if !ours && (!held_on_this_host(&job.holder) || holder_alive(job.holder_pid)) {
                continue;
            }
            let was = job.status.clone();
            job.status = "lost".into();
            job.finished_at_ms = Some(now_ms());
            job.error = Some(format!(
                "the daemon that held this job stopped while it was {was} (killed, or the machine restarted); it was not run again: submit it again with `skillet run {} … --detach`",
                job.skill
            ));
            match store.save_job(&job) {
                Ok(()) => lines.push(format!(
                    "job {} was {was} when its daemon died: lost",
                    job.id
                )),
                Err(e) => lines.push(format!("cannot mark job {} lost: {e}", job.id)),
            }
        }
        lines
    }
}

/// Whether `holder` (`SOCKET on HOST`) is a daemon of this machine and pid namespace, whose pid
/// can be checked here. A holder of another machine sharing the store is left alone: its jobs
/// are its own to recover. A holder written before hosts were recorded was of this machine (a
/// store was only ever shared on one then).
fn held_on_this_host(holder: &str) -> bool {
    match holder.rsplit_once(" on ") {
        Some((_, host)) => host == skillet_engine::session::this_host(),
        None => true,
    }
}

/// Whether the daemon with pid `pid` may still run (it then keeps its jobs).
fn holder_alive(pid: i64) -> bool {
    pid > 0
        && i64::from(std::process::id()) != pid
        && PathBuf::from(format!("/proc/{pid}")).exists()
}
