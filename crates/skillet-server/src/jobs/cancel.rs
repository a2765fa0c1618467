//! Ending jobs before they end by themselves: `skillet jobs cancel` (here, or through another
//! daemon on a shared store), and every job at once when the daemon stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use skillet_store::{JobRecord, now_ms};

use super::{Jobs, MAX_WAIT, STOP_WAIT, find, internal};
use crate::api::{Job, ResponseError};

impl Jobs {
    /// Takes job `id` out of the queue, or cancels its run (the engine kills the process
    /// tree) and waits for the run to be recorded.
    pub(crate) async fn cancel(self: &Arc<Self>, id: &str) -> Result<Job, ResponseError> {
        /// What is left to do once the state's lock is let go.
        enum Then {
            /// It was waiting here and is cancelled: said to waiters, answered.
            Cancelled(Box<JobRecord>),
            /// Its run was told to stop (here, or by another daemon): its end is awaited.
            Await(String),
            /// Neither waiting nor running here.
            NotHere,
        }
        let then = {
            let mut s = self.state();
            let waiting = find(&s.waiting, id).map(|(r, _, _)| r.id.clone());
            if let Some(full) = waiting {
                s.queue.remove(&full);
                s.memory_mb.remove(&full);
                match s.waiting.remove(&full) {
                    Some((mut record, _, _)) => {
                        record.status = "cancelled".into();
                        record.error =
                            Some("cancelled with `skillet jobs cancel` before it ran".into());
                        record.finished_at_ms = Some(now_ms());
                        if self.shared.is_none() {
                            self.save(&record)?;
                            Then::Cancelled(Box::new(record))
                        } else if self
                            .store()?
                            .cancel_queued_job(
                                &full,
                                record.error.as_deref().unwrap_or(""),
                                now_ms(),
                            )
                            .map_err(internal)?
                        {
                            Then::Cancelled(Box::new(record))
                        } else {
                            // Another daemon took it meanwhile: that one is asked.
                            self.cancel_elsewhere(&full);
                            Then::Await(full)
                        }
                    }
                    None => Then::Await(full),
                }
            } else if let Some(r) = find(&s.running, id) {
                r.cancel.cancel("cancelled with `skillet jobs cancel`");
                Then::Await(r.record.id.clone())
            } else {
                Then::NotHere
            }
        };
        let full_id = match then {
            Then::Cancelled(record) => {
                self.ended.send_modify(|n| *n = n.wrapping_add(1));
                return Ok(Job::from(&*record));
            }
            Then::Await(full) => full,
            // Run by another daemon sharing the store: it is asked, and the end awaited.
            Then::NotHere if self.cancel_elsewhere(id).is_some() => self.record(id)?.id,
            // Over already (or unknown): answered as it is.
            Then::NotHere => return Ok(Job::from(&self.record(id)?)),
        };
        Ok(self.wait(&full_id, Some(MAX_WAIT)).await?.job)
    }

    /// Cancels every job, as the daemon stops: waiting ones never run, running ones are killed;
    /// waits (bounded) for them to be recorded.
    pub(crate) async fn shutdown(&self) {
        let waiting: Vec<JobRecord> = {
            let mut s = self.state();
            s.stopping = true;
            for r in s.running.values() {
                r.cancel.cancel("the daemon stopped");
            }
            let ids: Vec<String> = s.queue.ids().map(str::to_owned).collect();
            for id in &ids {
                s.queue.remove(id);
            }
            // Dropping their senders tells the waiting calls the daemon is stopping.
            s.calls_waiting.clear();
            s.waiting.drain().map(|(_, (r, _, _))| r).collect()
        };
        for mut record in waiting {
            // On a shared store another daemon runs it: it stays queued there.
            if self.shared.is_some() && record.shareable {
                continue;
            }
            record.status = "cancelled".into();
            record.error =
                Some("the daemon stopped before it ran; submit it again to run it".into());
            record.finished_at_ms = Some(now_ms());
            let _ = self.save(&record);
        }
        let deadline = Instant::now() + STOP_WAIT;
        while !self.state().running.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
