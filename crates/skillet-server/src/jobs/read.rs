//! What a client reads of jobs: one job with its output so far (from memory while it runs, from
//! the store after), the list, and a bounded wait for a job to end.

use std::time::{Duration, Instant};

use skillet_store::JobRecord;

use super::{Jobs, MAX_WAIT, find, internal};
use crate::api::{ErrorCode, Job, JobOutput, ResponseError};

impl Jobs {
    /// The job `id` (or a unique start of it) with its output so far.
    pub(crate) fn output(&self, id: &str) -> Result<JobOutput, ResponseError> {
        {
            let s = self.state();
            if let Some(r) = find(&s.running, id) {
                return Ok(JobOutput {
                    job: Job::from(&r.record),
                    stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
                });
            }
            if let Some(record) = s
                .unsaved
                .iter()
                .find(|r| !id.is_empty() && r.id.starts_with(&id.to_lowercase()))
            {
                return Ok(JobOutput {
                    job: Job::from(record),
                    stdout: record.stdout.clone(),
                    stderr: record.stderr.clone(),
                });
            }
            if let Some((record, _, _)) = find(&s.waiting, id) {
                if let Some(taken) = self.taken_elsewhere(&record.id) {
                    return Ok(JobOutput {
                        job: Job::from(&taken),
                        stdout: taken.stdout.clone(),
                        stderr: taken.stderr.clone(),
                    });
                }
                return Ok(JobOutput {
                    job: Job::from(record),
                    stdout: String::new(),
                    stderr: String::new(),
                });
            }
        }
        let record = self.record(id)?;
        Ok(JobOutput {
            job: Job::from(&record),
            stdout: record.stdout,
            stderr: record.stderr,
        })
    }

    /// The stored row of job `id`, or `not_found`.
    pub(super) fn record(&self, id: &str) -> Result<JobRecord, ResponseError> {
        self.store()?
            .job(id)
            .map_err(|e| match e {
                skillet_store::StoreError::Ambiguous { .. } => {
                    ResponseError::new(ErrorCode::BadRequest, e.to_string())
                }
                other => internal(other),
            })?
            .ok_or_else(|| {
                ResponseError::new(
                    ErrorCode::NotFound,
                    format!("no job `{id}`; `skillet jobs` lists them"),
                )
            })
    }

    /// The job `id`.
    pub(crate) fn get(&self, id: &str) -> Result<Job, ResponseError> {
        Ok(self.output(id)?.job)
    }

    /// Jobs newest first.
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<Job>, ResponseError> {
        let rows = self.store()?.jobs(false, limit).map_err(internal)?;
        Ok(rows.iter().map(Job::from).collect())
    }

    /// Waits for job `id` to end, at most `timeout` (bounded by [`MAX_WAIT`]).
    pub(crate) async fn wait(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<JobOutput, ResponseError> {
        let deadline = Instant::now() + timeout.unwrap_or(MAX_WAIT).min(MAX_WAIT);
        let mut ended = self.ended.subscribe();
        loop {
            // Subscribed before looking, so an end between the look and the wait is seen.
            ended.borrow_and_update();
            let output = self.output(id)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if output.job.is_over() || left.is_zero() {
                return Ok(output);
            }
            let _ = tokio::time::timeout(self.wait_step(left), ended.changed()).await;
        }
    }
}
