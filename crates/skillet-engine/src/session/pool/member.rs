//! One pool and its members: the call on a member, then giving the member back or replacing
//! it (starting members, and keeping `min_idle` warm, is `warm.rs`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skillet_sandbox::{ProcessSpec, SandboxPolicy};
use tokio::sync::Semaphore;

use super::super::interpreter::{Answer, Broken, Interpreter};
use super::super::{Framing, lock};
use super::Pools;
use crate::insight::{Phase, lap};
use crate::result::{ExecutionResult, Status};
use crate::state::{PooledBase, StateDir};

/// How long a used member's replacement waits for its call's answer to be delivered when
/// the caller does not say (see [`Pool::after_answer`]).
const REPLACE_AFTER: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub(super) struct Pool {
    pub(super) skill: String,
    pub(super) process: ProcessSpec,
    pub(super) policy: SandboxPolicy,
    pub(super) framing: Framing,
    pub(super) answer_timeout: Duration,
    /// Unused this long, the pool and its members end (the skill's `idle_timeout`).
    pub(super) idle_timeout: Duration,
    pub(super) last_used: Mutex<std::time::Instant>,
    pub(super) min_idle: u32,
    pub(super) max: u32,
    pub(super) recycle_after: u32,
    /// The skill's `session_config.pool.preload`, run by every member before it is offered.
    pub(super) preload: Option<String>,
    /// For a skill with state, the most its document may hold: every member is started with
    /// a state directory of its own, capped for it.
    pub(super) state_bytes: Option<u64>,
    /// One per member: a call holds one while it has a member, so calls past `max` wait.
    pub(super) permits: Semaphore,
    pub(super) state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) idle: VecDeque<Member>,
    pub(super) busy: Vec<u32>,
    /// Members alive, busy or idle.
    pub(super) total: u32,
    /// Members being started.
    pub(super) starting: u32,
    pub(super) calls: u64,
    pub(super) recycled: u64,
    /// Warm starts that failed in a row: the next is tried after a backoff that grows with it.
    pub(super) failed_starts: u32,
}

#[derive(Debug)]
pub(super) struct Member {
    pub(super) interpreter: Interpreter,
    pub(super) calls: u32,
    /// The state directory it was started with (a skill with state): empty until its call
    /// puts the committed document there.
    pub(super) state: Option<StateDir>,
}

/// How one call on a member ended.
enum Served {
    Answered(Answer),
    /// Stopped from outside (the reason): the member is killed with whatever it was doing.
    Cancelled(String),
    Broken(Broken, Option<skillet_sandbox::Exit>),
    /// Not run: the call's state could not be given to the member (why).
    Refused(String),
}

impl Pool {
    pub(super) async fn serve(
        self: Arc<Self>,
        pools: Arc<Pools>,
        skill: &str,
        input: &str,
        cancel: Option<&crate::Cancel>,
        state: Option<PooledBase>,
    ) -> ExecutionResult {
        let cancelled = async {
            match cancel {
                Some(c) => c.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(cancelled);
        let wait = self.answer_timeout.max(Duration::from_secs(1));
        let waited = tokio::select! {
            waited = tokio::time::timeout(wait, self.permits.acquire()) => waited,
            reason = &mut cancelled => {
                return ExecutionResult::new(skill, Status::Cancelled)
                    .with_error(format!("{reason} while waiting for a free interpreter"));
            }
        };
        let Ok(Ok(permit)) = waited else {
            return ExecutionResult::new(skill, Status::Error).with_error(format!(
                "all {} interpreters of `{skill}`'s pool stayed busy for {} s; call again, or \
                 raise `session_config.pool.max` (held at `[defaults] max_sessions` of the \
                 global skillet.toml)",
                self.max,
                wait.as_secs()
            ));
        };
        let mut member = match self.take_member(wait).await {
            Ok(m) => m,
            Err(e) => {
                drop(permit);
                self.top_up(&pools);
                return ExecutionResult::new(skill, Status::SpawnFailed)
                    .with_error(format!("cannot start an interpreter for the pool: {e}"));
            }
        };
        // Waiting for a free member, or for one to start: the pool's share of sandbox setup.
        lap(Phase::SandboxSetup);
        let pid = member.interpreter.pid();
        if let Some(pid) = pid {
            lock(&self.state).busy.push(pid);
        }
        // Should this call be dropped mid-exchange (its client went away), the member dies
        // with the future and its place is given back.
        let mut held = Held {
            pool: &self,
            pid,
            armed: true,
        };
        let (mut state, refused) = match (state, member.state.take()) {
            (None, _) => (None, None),
            (Some(base), Some(dir)) => match base.install(dir) {
                Ok(state) => (Some(state), None),
                Err(e) => (None, Some(e)),
            },
            (Some(_), None) => (
                None,
                Some(
                    "the pool's interpreter was started without a state directory; call again"
                        .into(),
                ),
            ),
        };
        let served = match refused {
            Some(why) => Served::Refused(why),
            None => {
                let exchanged = tokio::select! {
                    r = member.interpreter.exchange_fresh(input, self.answer_timeout) => Ok(r),
                    reason = &mut cancelled => Err(reason),
                };
                match exchanged {
                    Err(reason) => Served::Cancelled(reason),
                    Ok(Some(Ok(answer))) => Served::Answered(answer),
                    Ok(Some(Err(broken))) => {
                        let exit = member.interpreter.exit_status().await;
                        Served::Broken(broken, exit)
                    }
                    Ok(None) => Served::Broken(Broken::Exited(Answer::default()), None),
                }
            }
        };
        lap(Phase::Process);
        member.calls += 1;
        let keep = matches!(&served, Served::Answered(a) if a.status.unwrap_or(0) == 0)
            && state.is_none()
            && member.calls < self.recycle_after
            && !pools.closed.load(std::sync::atomic::Ordering::SeqCst);
        held.armed = false;
        let retired = {
            let mut s = lock(&self.state);
            s.calls += 1;
            if let Some(pid) = pid
                && let Some(at) = s.busy.iter().position(|p| *p == pid)
            {
                s.busy.swap_remove(at);
            }
            if keep {
                // To the back: the next call takes the member idle longest, spreading load.
                s.idle.push_back(member);
                None
            } else {
                s.total = s.total.saturating_sub(1);
                s.recycled += 1;
                Some(member)
            }
        };
        drop(permit);
        let Some(state) = state.as_mut() else {
            self.clone().after_answer(pools, retired);
            lap(Phase::Teardown);
            return self.result(skill, served);
        };
        // Dead before its document is read back: nothing the call left running (a thread, a
        // child) can write it after the answer or while it is read.
        if let Some(member) = retired {
            member.interpreter.finish().await;
        }
        self.clone().after_answer(pools, None);
        lap(Phase::Teardown);
        let mut result = self.result(skill, served);
        let settled = state.settle(result.status == Status::Ok, &result.execution_id);
        if settled.failed {
            result.status = Status::Error;
            result.error = Some(settled.notes.join("; "));
        } else {
            result.warnings.extend(settled.notes);
        }
        lap(Phase::Store);
        result
    }

    /// Kills the member a call used and starts its replacement once the call's answer is on
    /// its way (see [`Pools::answered`]), or [`REPLACE_AFTER`] from now if nobody says so: a
    /// sandbox and interpreter started meanwhile would take the CPU the answer's history
    /// write and reply need (on two cores, a start during the call cost it several ms).
    fn after_answer(self: Arc<Self>, pools: Arc<Pools>, retired: Option<Member>) {
        let seen = pools.answered_count();
        tokio::spawn(async move {
            pools.wait_answered(seen, REPLACE_AFTER).await;
            if let Some(member) = retired {
                // A failed or worn member is not reused: whatever the call left behind (a
                // half-run import, a handler, a wedged thread) dies with it.
                member.interpreter.finish().await;
            }
            self.top_up(&pools);
        });
    }

    fn result(&self, skill: &str, served: Served) -> ExecutionResult {
        let mut result;
        match served {
            Served::Answered(answer) => {
                let code = answer.status.unwrap_or(0);
                result = ExecutionResult::new(
                    skill,
                    if code == 0 {
                        Status::Ok
                    } else {
                        Status::Failed
                    },
                );
                result.exit_code = Some(code);
                fill(&mut result, answer);
            }
            Served::Refused(why) => {
                result = ExecutionResult::new(skill, Status::Error).with_error(why);
            }
            Served::Cancelled(reason) => {
                result = ExecutionResult::new(skill, Status::Cancelled).with_error(format!(
                    "{reason}; the interpreter running the call was killed and is replaced"
                ));
            }
            Served::Broken(Broken::TimedOut(answer), _) => {
                result = ExecutionResult::new(skill, Status::Timeout).with_error(format!(
                    "the call ran past the skill's timeout of {} s; its interpreter was killed \
                     and is replaced",
                    self.answer_timeout.as_secs()
                ));
                result.limit = Some("time");
                fill(&mut result, answer);
            }
            Served::Broken(Broken::OutputLimit(answer), _) => {
                result = ExecutionResult::new(skill, Status::ResourceLimit).with_error(format!(
                    "killed for writing more than {} KiB of output, as a run is; its \
                     interpreter is replaced",
                    self.policy.limits.max_output_bytes / 1024
                ));
                result.limit = Some("output");
                fill(&mut result, answer);
            }
            Served::Broken(Broken::Exited(answer), exit) => {
                let how = exit.map_or_else(
                    || "closed its output".to_owned(),
                    |e| format!("exited with status {}", e.shell_code()),
                );
                result = ExecutionResult::new(skill, Status::Failed).with_error(format!(
                    "the pool's interpreter {how} during the call; it is replaced, so the next \
                     call runs on a fresh one"
                ));
                result.exit_code = exit.map(|e| e.shell_code());
                fill(&mut result, answer);
            }
        }
        result
    }

    /// Gives back the place of a member that was taken and never returned.
    fn forget(&self, pid: Option<u32>) {
        let mut s = lock(&self.state);
        if let Some(pid) = pid
            && let Some(at) = s.busy.iter().position(|p| *p == pid)
        {
            s.busy.swap_remove(at);
        }
        s.total = s.total.saturating_sub(1);
        s.recycled += 1;
    }
}

/// A member out of the pool for a call; dropped armed, the member is gone.
struct Held<'p> {
    pool: &'p Pool,
    pid: Option<u32>,
    armed: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.pool.forget(self.pid);
        }
    }
}

fn fill(result: &mut ExecutionResult, answer: Answer) {
    result.stdout = answer.stdout;
    result.stderr = answer.stderr;
    result.truncated = answer.truncated;
    result.duration_ms = u64::try_from(answer.duration.as_millis()).unwrap_or(u64::MAX);
}
