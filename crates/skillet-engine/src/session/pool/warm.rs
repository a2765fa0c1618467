//! Starting a pool's members: one for a call that finds none idle, and `min_idle` kept warm in
//! the background, each warmed up before it is offered, under the cap on warm interpreters
//! across every pool of the process.

use std::sync::Arc;
use std::time::Duration;

use super::super::interpreter::{Broken, Interpreter};
use super::super::lock;
use super::Pools;
use super::member::{Member, Pool};
use crate::state::StateDir;

impl Pool {
    /// An idle member, or a new one when there is room.
    pub(super) async fn take_member(&self, wait: Duration) -> Result<Member, String> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let start = {
                let mut s = lock(&self.state);
                if let Some(m) = s.idle.pop_front() {
                    return Ok(m);
                }
                if s.total + s.starting < self.max {
                    s.starting += 1;
                    true
                } else {
                    false
                }
            };
            if start {
                let _starting = Starting(self);
                let started = self.start_member().await;
                if started.is_ok() {
                    lock(&self.state).total += 1;
                }
                return started;
            }
            // A member is being started in the background for us: wait for it, boundedly,
            // so a miscount can never hang a call.
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "no interpreter became ready within {} s",
                    wait.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Starts a member and makes it fully warm before anyone can take it: one exchange
    /// through the same fresh-namespace framing a call uses, running the skill's `preload`
    /// (or an empty input), so the first exchange's costs (skillet's own driver code run for
    /// the first time, its page faults, the preload's imports) are paid here, off every call's
    /// path. Only the skill's own code runs before the call: the member is still one-use.
    async fn start_member(&self) -> Result<Member, String> {
        let mut policy = self.policy.clone();
        let state = match self.state_bytes {
            Some(max_bytes) => {
                // Its own directory, empty until the call: the document is read at call time.
                let dir = StateDir::create(None, &[])
                    .map_err(|e| format!("cannot make a state directory: {e}"))?;
                crate::state::confine_policy(&mut policy, &dir, max_bytes);
                Some(dir)
            }
            None => None,
        };
        let mut interpreter = Interpreter::start(
            self.process.clone(),
            &policy,
            self.framing.clone(),
            self.answer_timeout,
        )
        .await
        .map_err(|e| e.to_string())?;
        let warm = self.preload.as_deref().unwrap_or("");
        let failed = match interpreter.exchange_fresh(warm, self.answer_timeout).await {
            None => None,
            Some(Ok(answer)) if answer.status.unwrap_or(0) == 0 => None,
            Some(Ok(answer)) => Some(format!("it failed:\n{}", answer.stderr.trim_end())),
            Some(Err(Broken::TimedOut(_))) => Some(format!(
                "it ran past the skill's timeout of {} s",
                self.answer_timeout.as_secs()
            )),
            Some(Err(Broken::OutputLimit(_))) => Some(format!(
                "it wrote more than the output limit of {} KiB",
                self.policy.limits.max_output_bytes / 1024
            )),
            Some(Err(Broken::Exited(answer))) => Some(format!(
                "the interpreter exited during it:\n{}",
                answer.stderr.trim_end()
            )),
        };
        if let Some(why) = failed {
            interpreter.finish().await;
            let what = if self.preload.is_some() {
                "the skill's session_config.pool.preload"
            } else {
                "skillet's warm-up input"
            };
            return Err(format!("{what} did not run: {why}"));
        }
        Ok(Member {
            interpreter,
            calls: 0,
            state,
        })
    }

    /// Starts members in the background, side by side, until `min_idle` are idle or starting
    /// (never past `max`). Counted as starting here, before any task runs, so a call that
    /// finds no idle member waits for these instead of starting one more.
    pub(super) fn top_up(self: &Arc<Self>, pools: &Arc<Pools>) {
        if pools.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let need = {
            // The pools' map, then each pool's state: the order every walk over pools takes.
            let all = lock(&pools.pools);
            let s = lock(&self.state);
            let (warm, room) = (
                s.idle.len() as u32 + s.starting,
                self.max.saturating_sub(s.total + s.starting),
            );
            drop(s);
            let want = self.min_idle.saturating_sub(warm).min(room);
            let allowed = make_warm_room(&all, self, want as usize, pools.max_warm);
            let mut s = lock(&self.state);
            let need = want.min(u32::try_from(allowed).unwrap_or(u32::MAX));
            s.starting += need;
            need
        };
        for _ in 0..need {
            let pool = self.clone();
            let pools = pools.clone();
            tokio::spawn(async move {
                // Counted as alive before it stops counting as starting, so no other start
                // slips past `max` in between.
                let _starting = Starting(&pool);
                // A start cut short by shutdown drops the half-started member, which kills it.
                let started = tokio::select! {
                    started = pool.start_member() => started,
                    () = pools.closed() => return,
                };
                match started {
                    Ok(m) if pools.closed.load(std::sync::atomic::Ordering::SeqCst) => {
                        m.interpreter.finish().await;
                    }
                    Ok(m) => {
                        let mut s = lock(&pool.state);
                        s.total += 1;
                        s.failed_starts = 0;
                        s.idle.push_back(m);
                    }
                    // A start that failed (a loaded machine, a slow preload) is tried again
                    // after a backoff, so a pool does not stay short of `min_idle` until its
                    // next call; a call that finds none starts one itself and says why not.
                    Err(_) => {
                        let failed = {
                            let mut s = lock(&pool.state);
                            s.failed_starts = s.failed_starts.saturating_add(1);
                            s.failed_starts
                        };
                        drop(_starting);
                        let backoff = START_RETRY
                            .saturating_mul(1 << failed.min(6))
                            .min(START_RETRY_MAX);
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {
                                // Not for a pool ended meanwhile (unused): nobody would end
                                // the members started for it.
                                let live = lock(&pools.pools).values().any(|p| Arc::ptr_eq(p, &pool));
                                if live {
                                    pool.top_up(&pools);
                                }
                            }
                            () = pools.closed() => {}
                        }
                    }
                }
            });
        }
    }
}

/// The first wait before a failed warm start is tried again; it doubles with each failure.
const START_RETRY: Duration = Duration::from_millis(250);
/// The longest wait between tries of a warm start that keeps failing.
const START_RETRY_MAX: Duration = Duration::from_secs(30);

/// How many of `want` new warm members `pool` may start under the cap of `max_warm` across
/// `all`, after ending the idle members of the pools used least recently (never `pool`'s own)
/// to make room. Ended members are finished on a task of their own.
fn make_warm_room(
    all: &std::collections::BTreeMap<String, Arc<Pool>>,
    pool: &Pool,
    want: usize,
    max_warm: usize,
) -> usize {
    let warm = |p: &Pool| {
        let s = lock(&p.state);
        s.idle.len() + s.starting as usize
    };
    let mut total: usize = all.values().map(|p| warm(p)).sum();
    let mut others: Vec<&Arc<Pool>> = all
        .values()
        .filter(|p| !std::ptr::eq(p.as_ref(), pool))
        .collect();
    others.sort_by_key(|p| *lock(&p.last_used));
    let mut ended = Vec::new();
    for other in others {
        if total + want <= max_warm {
            break;
        }
        let mut s = lock(&other.state);
        while total + want > max_warm {
            let Some(m) = s.idle.pop_front() else { break };
            s.total = s.total.saturating_sub(1);
            s.recycled += 1;
            total -= 1;
            ended.push(m);
        }
    }
    if !ended.is_empty() {
        tokio::spawn(async move {
            for m in ended {
                m.interpreter.finish().await;
            }
        });
    }
    max_warm.saturating_sub(total).min(want)
}

/// A start counted in `starting` until it ends, however it ends.
struct Starting<'p>(&'p Pool);

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.starting = s.starting.saturating_sub(1);
    }
}
