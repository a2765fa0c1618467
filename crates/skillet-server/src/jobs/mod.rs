//! Background jobs: runs of a skill the daemon queues (`skillet run --detach`), runs through
//! the engine exactly as `skillet run` would, and keeps in the store with their output.
//!
//! The queue's rule is `queue`'s; this module owns the jobs' lives: bounded admission (a full
//! queue answers `busy`), at most `max_running` at once, cancellation through the engine's own
//! [`Cancel`] (which kills the process tree), and what a daemon that died left behind (`lost`,
//! never run again by itself). On a store several daemons share, the store decides which one
//! runs each job, and a dead one's jobs are taken over once their lease lapses (`shared`).

mod budget;
mod calls;
mod cancel;
mod client;
mod id;
mod queue;
mod read;
mod recover;
mod run;
mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use skillet_engine::Cancel;
use skillet_registry::{Environment, JobsSettings};
use skillet_store::{JobRecord, Store, now_ms};
use tokio::sync::watch;

use crate::api::{ErrorCode, Job, JobSubmitParams, ResponseError};
pub(crate) use calls::QueueForCalls;
pub(crate) use client::{client_for, client_of};
pub(crate) use id::new_id;
use queue::Queue;

/// Waiting jobs at most, by default.
pub const DEFAULT_MAX_QUEUED: usize = 1_000;
/// Seconds a waiting job takes to climb one priority level, by default.
pub const DEFAULT_AGING_S: u64 = 30;
/// Longest single `job.wait`.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// What a `busy` answer suggests waiting before asking again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long a stopping daemon waits for its cancelled jobs to be recorded.
const STOP_WAIT: Duration = Duration::from_secs(10);
/// Largest standard input a job may carry: waiting jobs hold it in memory, so `max_queued` of
/// them must stay small (a command-line `--stdin` is under 128 KiB anyway).
pub const MAX_JOB_STDIN_BYTES: usize = 1024 * 1024;
/// Standard input of all waiting jobs together: each is held in the daemon until its job
/// starts, and a full queue of the largest would be a gigabyte.
pub const MAX_QUEUED_STDIN_BYTES: usize = 64 * 1024 * 1024;

/// The queue's bounds, from `[jobs]` of the global `skillet.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Jobs run at once.
    pub max_running: usize,
    /// Jobs waiting at most.
    pub max_queued: usize,
    /// Wait that raises a job one priority level.
    pub aging: Duration,
    /// MiB the running jobs' memory limits may add up to; `None`: unbounded.
    pub memory_budget_mb: Option<u64>,
}

impl JobLimits {
    /// The user's settings, with defaults for what they leave out: eight per core running
    /// (between 8 and 64, as `skillet batch --jobs`: the queue also serves agents' MCP calls,
    /// and most runs wait on a process or the network more than they compute; the memory
    /// budget is what guards the machine), 1,000 waiting, one level per 30 s of waiting.
    pub fn from_settings(settings: &JobsSettings) -> JobLimits {
        JobLimits {
            max_running: settings
                .max_running
                .unwrap_or_else(skillet_engine::default_jobs)
                .max(1),
            max_queued: settings.max_queued.unwrap_or(DEFAULT_MAX_QUEUED).max(1),
            aging: Duration::from_secs(settings.aging_s.unwrap_or(DEFAULT_AGING_S)),
            memory_budget_mb: budget::budget_mb(settings, budget::machine_mb()),
        }
    }
}

/// The daemon's jobs.
pub(crate) struct Jobs {
    store: Option<Arc<dyn Store>>,
    env: Environment,
    holder: String,
    limits: JobLimits,
    state: Mutex<State>,
    /// Bumped whenever a job ends, for `job.wait`.
    ended: watch::Sender<u64>,
    /// The daemon's warm pools, which serve jobs of pooled skills.
    pools: Arc<skillet_engine::session::Pools>,
    /// With a store several daemons share: how long a running job's lease lasts unless renewed
    /// (see `shared.rs`). `None`: this daemon's queue is the only one.
    shared: Option<Duration>,
}

#[derive(Default)]
struct State {
    queue: Queue,
    /// Queued jobs: the row and what to run.
    waiting: HashMap<String, (JobRecord, JobSubmitParams, Instant)>,
    /// Running jobs.
    running: HashMap<String, Running>,
    /// The memory limit (MiB) of each job or call waiting or running, for the memory budget.
    memory_mb: HashMap<String, u64>,
    /// MCP tool calls waiting in the queue (served in their own request, not as jobs): told
    /// their turn came, and how long they waited, through the sender.
    calls_waiting: HashMap<String, (tokio::sync::oneshot::Sender<Duration>, Instant)>,
    /// MCP tool calls holding a slot.
    calls_running: std::collections::HashSet<String>,
    /// Ended jobs whose end the store could not take (its server away): shown from here, and
    /// saved again with the next job that ends or the shared queue's next look.
    unsaved: Vec<JobRecord>,
    stopping: bool,
}

struct Running {
    record: JobRecord,
    cancel: Cancel,
    /// Output so far, for `job.logs` while it runs (capped as the row is).
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Jobs {
    /// Jobs recorded in `store`, run with the skills and settings a command in the submitter's
    /// directory would see (`env` gives home and XDG directories), held as `holder`.
    pub(crate) fn new(
        store: Option<Arc<dyn Store>>,
        env: Environment,
        holder: String,
        limits: JobLimits,
    ) -> Jobs {
        Jobs {
            store,
            env,
            holder,
            limits,
            state: Mutex::new(State::default()),
            ended: watch::channel(0).0,
            pools: Arc::default(),
            shared: None,
        }
    }

    /// These jobs on a store several daemons share, each running job held under a lease of
    /// `lease` (see `shared.rs`); [`Jobs::share`] starts looking at the shared queue.
    pub(crate) fn with_shared_store(mut self, lease: Duration) -> Jobs {
        self.shared = Some(lease);
        self
    }

    /// These jobs with pooled skills served from `pools` (the daemon's).
    pub(crate) fn with_pools(mut self, pools: Arc<skillet_engine::session::Pools>) -> Jobs {
        self.pools = pools;
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Jobs queued or running.
    pub(crate) fn active(&self) -> usize {
        let s = self.state();
        s.waiting.len() + s.running.len() + s.calls_waiting.len() + s.calls_running.len()
    }

    fn store(&self) -> Result<&Arc<dyn Store>, ResponseError> {
        self.store.as_ref().ok_or_else(|| {
            ResponseError::new(
                ErrorCode::Refused,
                "background jobs need the history store, which this daemon could not open (its log says why; `skillet doctor` checks the store); stop it with `skillet daemon stop` once the store is fixed",
            )
        })
    }

    fn save(&self, record: &JobRecord) -> Result<(), ResponseError> {
        self.store()?.save_job(record).map_err(internal)
    }

    /// Accepts a job from a connection of client `peer` ([`client_of`]), or refuses it
    /// `busy` when the queue is full.
    pub(crate) fn submit(
        self: &Arc<Self>,
        params: JobSubmitParams,
        peer: &str,
    ) -> Result<Job, ResponseError> {
        for (what, dir) in [
            ("caller_dir", Some(&params.caller_dir)),
            ("workspace", params.workspace.as_ref()),
        ] {
            if dir.is_some_and(|d| !d.is_absolute()) {
                return Err(ResponseError::new(
                    ErrorCode::BadRequest,
                    format!("`{what}` must be an absolute path"),
                ));
            }
        }
        if params
            .stdin
            .as_ref()
            .is_some_and(|s| s.len() > MAX_JOB_STDIN_BYTES)
        {
            return Err(ResponseError::new(
                ErrorCode::BadRequest,
                format!(
                    "a job's stdin is at most {} KiB; put larger input in a file and pass its path as a parameter",
                    MAX_JOB_STDIN_BYTES / 1024
                ),
            ));
        }
        self.store()?;
        let memory_mb = budget::job_memory_mb(&self.env, &params);
        if let Some(refused) =
            budget::refusal(&params.skill, memory_mb, self.limits.memory_budget_mb)
        {
            return Err(refused);
        }
        let record = JobRecord {
            id: new_id(),
            skill: params.skill.clone(),
            status: "queued".into(),
            priority: params.priority.as_str().into(),
            params: serde_json::Value::Object(params.params.clone()).to_string(),
            caller_dir: params.caller_dir.display().to_string(),
            workspace: params.workspace.as_ref().map(|w| w.display().to_string()),
            submitted_at_ms: now_ms(),
            started_at_ms: None,
            finished_at_ms: None,
            queue_wait_ms: None,
            execution_id: None,
            outcome: None,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            error: None,
            holder: self.holder.clone(),
            holder_pid: i64::from(std::process::id()),
            // What another daemon needs to run it, kept only where one could.
            stdin: self.shared.and(params.stdin.clone()),
            shareable: self.shared.is_some() && params.overrides.is_none(),
        };
        {
            let mut s = self.state();
            if s.stopping {
                return Err(ResponseError::new(
                    ErrorCode::Refused,
                    "the daemon is stopping; submit the job again in a moment (the next command starts a new daemon)",
                ));
            }
            if s.queue.len() >= self.limits.max_queued {
                return Err(ResponseError {
                    retry_after_ms: Some(u64::try_from(RETRY_AFTER.as_millis()).unwrap_or(1000)),
                    ..ResponseError::new(
                        ErrorCode::Busy,
                        format!(
                            "busy: {} jobs and calls are already waiting (the most [jobs] max_queued allows); nothing was queued, try again in a moment, or raise max_queued in the global skillet.toml",
                            s.queue.len()
                        ),
                    )
                });
            }
            let waiting_stdin: usize = s
                .waiting
                .values()
                .filter_map(|(_, p, _)| p.stdin.as_ref().map(String::len))
                .sum();
            let stdin = params.stdin.as_ref().map_or(0, String::len);
            if waiting_stdin.saturating_add(stdin) > MAX_QUEUED_STDIN_BYTES {
                return Err(ResponseError {
                    retry_after_ms: Some(u64::try_from(RETRY_AFTER.as_millis()).unwrap_or(1000)),
                    ..ResponseError::new(
                        ErrorCode::Busy,
                        format!(
                            "busy: the jobs waiting hold {} MiB of standard input, the most the daemon keeps; nothing was queued, try again when some have started",
                            MAX_QUEUED_STDIN_BYTES / (1024 * 1024)
                        ),
                    )
                });
            }
            // Saved before it can start, under the lock, so the row never lags the queue.
            self.save(&record)?;
            let since = Instant::now();
            let client = client::client_for(params.client.as_deref(), peer);
            s.queue
                .push(record.id.clone(), &client, params.priority, since);
            s.memory_mb.insert(record.id.clone(), memory_mb);
            s.waiting
                .insert(record.id.clone(), (record.clone(), params, since));
        }
        self.pump();
        Ok(Job::from(&record))
    }

    /// Starts waiting jobs while fewer than `max_running` run and the next one's memory limit
    /// fits in what the running ones leave of the budget.
    fn pump(self: &Arc<Self>) {
        let mut s = self.state();
        while !s.stopping && s.running.len() + s.calls_running.len() < self.limits.max_running {
            let state = &mut *s;
            let held: u64 = state
                .running
                .keys()
                .chain(state.calls_running.iter())
                .filter_map(|id| state.memory_mb.get(id))
                .sum();
            let budget = self.limits.memory_budget_mb;
            let memory = &state.memory_mb;
            let fits =
                |id: &str| budget.is_none_or(|b| held + memory.get(id).copied().unwrap_or(0) <= b);
            let Some(id) = state.queue.pop_if(Instant::now(), self.limits.aging, fits) else {
                // Nothing of its own to start: a job another daemon queued, on a shared store.
                let room = budget.map(|b| b.saturating_sub(held));
                if state.queue.len() == 0
                    && let Some(claimed) = self.claim_from_others(room)
                {
                    self.start_claimed(state, claimed);
                    continue;
                }
                break;
            };
            if let Some((turn, since)) = s.calls_waiting.remove(&id) {
                // A call's run happens in its own request: it is told, and holds the slot
                // until it lets go (see `calls`). One that stopped waiting gives it back.
                if turn.send(since.elapsed()).is_ok() {
                    s.calls_running.insert(id);
                } else {
                    s.memory_mb.remove(&id);
                }
                continue;
            }
            let Some((mut record, params, since)) = s.waiting.remove(&id) else {
                continue;
            };
            match self.claim_own(&id) {
                Some(true) => {}
                // Another daemon sharing the store runs it (or it was cancelled there).
                Some(false) => {
                    s.memory_mb.remove(&id);
                    continue;
                }
                // The store cannot say now: it waits for the next look.
                None => {
                    s.queue.push(id.clone(), "", params.priority, since);
                    s.waiting.insert(id, (record, params, since));
                    break;
                }
            }
            let started = now_ms();
            record.status = "running".into();
            record.started_at_ms = Some(started);
            let waited = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            record.queue_wait_ms = Some(i64::try_from(waited).unwrap_or(i64::MAX));
            if let Err(e) = self.save(&record) {
                // Not run unrecorded: it ends here, said as well as the store allows.
                record.status = "finished".into();
                record.outcome = Some("internal".into());
                record.error = Some(format!("cannot record the job's start: {}", e.message));
                record.finished_at_ms = Some(now_ms());
                let _ = self.save(&record);
                s.memory_mb.remove(&id);
                continue;
            }
            let cancel = Cancel::new();
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
            let reserved = s.memory_mb.get(&id).copied().unwrap_or(0);
            tokio::spawn(
                async move { run::run(jobs, id, params, cancel, (waited, reserved)).await },
            );
        }
    }

    /// Adds output a running job wrote, up to the row's cap.
    fn append(&self, id: &str, chunk: &skillet_engine::OutputChunk) {
        let mut s = self.state();
        if let Some(r) = s.running.get_mut(id) {
            let buf = match chunk.stream {
                skillet_engine::Stream::Stdout => &mut r.stdout,
                skillet_engine::Stream::Stderr => &mut r.stderr,
            };
            let room = skillet_store::MAX_JOB_OUTPUT_BYTES.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk.bytes[..chunk.bytes.len().min(room)]);
        }
    }

    /// Records how a running job ended and starts the next.
    fn finish(self: &Arc<Self>, id: &str, result: &skillet_engine::ExecutionResult) {
        self.save_unsaved();
        let record = {
            let mut s = self.state();
            let Some(running) = s.running.remove(id) else {
                return;
            };
            s.memory_mb.remove(id);
            let mut record = running.record;
            record.status = if result.status == skillet_engine::Status::Cancelled {
                "cancelled".into()
            } else {
                "finished".into()
            };
            record.outcome = Some(result.status.as_str().into());
            record.exit_code = result.exit_code;
            record.execution_id = Some(result.execution_id.clone());
            record.stdout.clone_from(&result.stdout);
            record.stderr.clone_from(&result.stderr);
            let cut_out = skillet_store::cap_output(&mut record.stdout);
            let cut_err = skillet_store::cap_output(&mut record.stderr);
            record.truncated = result.truncated || cut_out || cut_err;
            record.error.clone_from(&result.error);
            if record.status == "cancelled" && record.error.is_none() {
                record.error = running.cancel.reason();
            }
            record.finished_at_ms = Some(now_ms());
            // Saved before the job leaves the running set's lock, so a reader never sees it
            // neither running nor recorded.
            if let Err(e) = self.save(&record) {
                crate::daemon::warn(&format!(
                    "cannot record the end of job {id} yet ({}); kept, and tried again",
                    e.message
                ));
                s.unsaved.push(record.clone());
            }
            record
        };
        self.ended.send_modify(|n| *n = n.wrapping_add(1));
        crate::daemon::log_about(
            &format!(
                "job {} ({}) {}",
                record.id,
                record.skill,
                record.outcome.as_deref().unwrap_or("ended")
            ),
            skillet_observe::journal::About {
                skill: Some(&record.skill),
                execution_id: record.execution_id.as_deref(),
            },
        );
        self.pump();
    }

    /// Saves the ends the store could not take before; those it still cannot stay kept.
    pub(super) fn save_unsaved(&self) {
        let mut s = self.state();
        if s.unsaved.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut s.unsaved);
        for record in pending {
            if self.save(&record).is_err() {
                s.unsaved.push(record);
            } else {
                self.ended.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// The environment runs are set up in.
    fn env(&self) -> &Environment {
        &self.env
    }
}

/// The entry whose id is `id` or the only one starting with it.
fn find<'a, T>(map: &'a HashMap<String, T>, id: &str) -> Option<&'a T> {
    if let Some(exact) = map.get(id) {
        return Some(exact);
    }
    let prefix = id.to_lowercase();
    let mut matches = map
        .iter()
        .filter(|(k, _)| !prefix.is_empty() && k.starts_with(&prefix));
    match (matches.next(), matches.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

fn internal(e: impl std::fmt::Display) -> ResponseError {
    ResponseError::new(ErrorCode::Internal, format!("the job store failed: {e}"))
}

#[cfg(test)]
mod tests;
