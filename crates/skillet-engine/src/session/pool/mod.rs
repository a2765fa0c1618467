//! Warm pools: pre-started interpreters of a `code_session` skill that serve stateless calls.
//!
//! A skill with `session_config.pool` keeps up to `max` interpreters per (skill, workspace,
//! process, policy), started exactly as a session's would be (same sandbox policy, same
//! framing). A call takes an idle member, runs its input in a fresh namespace (python: a new
//! globals dict; node: a new vm context; shell: a subshell), and the member is then killed and
//! replaced: no member serves two calls ([`DEFAULT_RECYCLE_AFTER`] says why); `min_idle`
//! members are kept started in the background, so a call finds one already warm. Interpreters without a
//! reset recipe (sqlite3, prompt- and jsonl-framed programs) are refused.
//!
//! The pools live in the long-lived process that serves calls (the daemon, `skillet mcp`):
//! an [`Engine`] given [`Pools`] with [`Engine::with_pools`] serves pooled skills from them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use skillet_registry::SkillEntry;
use skillet_sandbox::{ProcessSpec, StdinSource};
use skillet_spec::SkillSpec;
use tokio::sync::Semaphore;

mod member;
mod warm;

use member::{Member, Pool, State};

use super::{Framing, lock};
use crate::engine::{Engine, RunRequest};
use crate::hint::Hint;
use crate::invocation::Invocation;
use crate::policy::{Kind, PolicyPlan, settle};
use crate::result::{ExecutionResult, Status};

/// Idle members kept warm when the skill does not say.
pub const DEFAULT_MIN_IDLE: u32 = 1;
/// Most members of one pool when the skill does not say.
pub const DEFAULT_POOL_MAX: u32 = 4;
/// Calls one member serves before it is replaced: one. Whatever skillet resets between calls
/// runs inside an interpreter the last caller controlled (a shell input can close its
/// subshell, node code can reach the main realm, python can replace the reset itself), so a
/// member serving two callers would let the first take over the second; validation refuses
/// any other value.
pub const DEFAULT_RECYCLE_AFTER: u32 = 1;

/// A pool's `max` is held at the user's cap on live interpreters of one skill, the same
/// `[defaults] max_sessions` that bounds sessions: only the global file (or the user's
/// `raise_limits` grant) lets a skill ask for more.
const POOL_MAX: Kind = Kind {
    field: "max_sessions",
    unit: "",
    builtin: super::lifecycle::DEFAULT_MAX_SESSIONS as u64,
    global: |d| d.max_sessions.map(u64::from),
};

/// Warm members (idle or starting) kept at once across every pool of a process when the user
/// does not say (`[daemon] max_warm_interpreters`): four per core, between 8 and 32.
pub fn default_max_warm() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (cores * 4).clamp(8, 32)
}

/// Every pool of one process.
#[derive(Debug)]
pub struct Pools {
    pools: Mutex<BTreeMap<String, Arc<Pool>>>,
    /// Most warm members across all pools: a pool is made for each skill, workspace, grant and
    /// parameter set called, so without a bound across them a caller varying its calls keeps
    /// `min_idle` interpreters per variant alive (each for its idle timeout).
    max_warm: usize,
    closed: std::sync::atomic::AtomicBool,
    /// Whether the task that ends unused pools runs.
    sweeping: std::sync::atomic::AtomicBool,
    /// Answers delivered, counted by [`Pools::answered`]; replacements wait for it.
    answered: std::sync::atomic::AtomicU64,
    answered_changed: tokio::sync::Notify,
    /// Woken when `closed` is set: members being started give up and are killed.
    closing: tokio::sync::Notify,
}

/// What one pool looks like now, for `daemon.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// The skill.
    pub skill: String,
    /// The directory its members run in.
    pub cwd: std::path::PathBuf,
    /// Members waiting for a call.
    pub idle: usize,
    /// Members answering a call.
    pub busy: usize,
    /// The members' process ids (outside the sandbox), idle first.
    pub pids: Vec<u32>,
    /// Idle members kept warm.
    pub min_idle: u32,
    /// Most members.
    pub max: u32,
    /// Calls served.
    pub calls: u64,
    /// Members killed and replaced (recycled, failed, died).
    pub recycled: u64,
}

impl Default for Pools {
    fn default() -> Pools {
        Pools {
            pools: Mutex::default(),
            max_warm: default_max_warm(),
            closed: Default::default(),
            sweeping: Default::default(),
            answered: Default::default(),
            answered_changed: Default::default(),
            closing: Default::default(),
        }
    }
}

impl Pools {
    /// No pools yet; each is made on its skill's first call.
    pub fn new() -> Pools {
        Pools::default()
    }

    /// Pools held to the user's `[daemon] max_warm_interpreters` (global file only).
    pub fn from_settings(settings: &skillet_registry::DaemonSettings) -> Pools {
        Pools::new().with_max_warm(
            settings
                .max_warm_interpreters
                .unwrap_or_else(default_max_warm),
        )
    }

    /// At most `max` warm members across all pools (at least one). Past it, the idle members
    /// of the pools used least recently are ended to make room, and a pool that still finds
    /// none is not warmed: its next call starts a member itself.
    pub fn with_max_warm(mut self, max: usize) -> Pools {
        self.max_warm = max.max(1);
        self
    }

    /// Says that the answer of a pooled call has been written (its history too): the
    /// replacement of the member it used starts now rather than on the call's path. A caller
    /// that never says so gets its replacements a few milliseconds later.
    pub fn answered(&self) {
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.answered_changed.notify_waiters();
    }

    fn answered_count(&self) -> u64 {
        self.answered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until an answer was delivered since `seen` was counted, `at_most` long.
    async fn wait_answered(&self, seen: u64, at_most: Duration) {
        let deadline = tokio::time::sleep(at_most);
        tokio::pin!(deadline);
        loop {
            let changed = self.answered_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.answered_count() != seen {
                return;
            }
            tokio::select! {
                () = changed => {}
                () = &mut deadline => return,
            }
        }
    }

    /// Every pool's state.
    pub fn status(&self) -> Vec<PoolStatus> {
        lock(&self.pools)
            .values()
            .map(|p| {
                let s = lock(&p.state);
                let mut pids: Vec<u32> =
                    s.idle.iter().filter_map(|m| m.interpreter.pid()).collect();
                pids.extend(s.busy.iter().copied());
                PoolStatus {
                    skill: p.skill.clone(),
                    cwd: p.process.cwd.clone(),
                    idle: s.idle.len(),
                    busy: s.busy.len(),
                    pids,
                    min_idle: p.min_idle,
                    max: p.max,
                    calls: s.calls,
                    recycled: s.recycled,
                }
            })
            .collect()
    }

    /// Kills every idle member and every member being started (waiting, boundedly, until
    /// each start has given up), and returns how many were ended; members busy now are killed
    /// when their call ends. Pools never keep a process alive: the daemon's idle exit follows
    /// the rules for sessions and jobs, and then ends the members here, so no interpreter
    /// outlives it.
    pub async fn shutdown(&self) -> usize {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.closing.notify_waiters();
        let pools: Vec<Arc<Pool>> = std::mem::take(&mut *lock(&self.pools))
            .into_values()
            .collect();
        let mut ended = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut starting = 0;
            for pool in &pools {
                let idle: Vec<Member> = {
                    let mut s = lock(&pool.state);
                    starting += s.starting;
                    s.idle.drain(..).collect()
                };
                for m in idle {
                    ended += 1;
                    m.interpreter.finish().await;
                }
            }
            if starting == 0 || std::time::Instant::now() >= deadline {
                return ended;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Returns once [`Pools::shutdown`] has begun.
    async fn closed(&self) {
        loop {
            let woken = self.closing.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            woken.await;
        }
    }

    /// Runs one stateless call of pooled skill `entry` on a member of its pool.
    pub(crate) async fn call(
        self: &Arc<Self>,
        engine: &Engine,
        registry: &skillet_registry::Registry,
        entry: &SkillEntry,
        invocation: Invocation,
        plan: PolicyPlan,
        request: &RunRequest,
    ) -> ExecutionResult {
        let Some(spec) = entry.spec.as_deref() else {
            return ExecutionResult::new(&entry.name, Status::Error)
                .with_error(format!("`{}` is no longer valid", entry.name));
        };
        let refuse =
            |message: String| ExecutionResult::new(&spec.name, Status::Error).with_error(message);
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return refuse("skillet is stopping; call again".into());
        }
        let config = spec.session_config.as_ref();
        let asked = config.and_then(|c| c.pool.clone()).unwrap_or_default();
        let framing = match Framing::choose(&invocation.program, config) {
            Ok(f) if f.can_reset() => f,
            Ok(_) => {
                return refuse(format!(
                    "`{}` cannot be pooled: skillet has no recipe to give `{}` a fresh namespace \
                     for each call (pools work with python, node and POSIX shells); remove \
                     `session_config.pool` and use it through a session",
                    spec.name, invocation.program
                ));
            }
            Err(e) => return refuse(e.to_string()),
        };
        if spec.channels.is_some() {
            return refuse(format!(
                "`{}` uses channels, which pooled calls do not support yet; remove \
                 `session_config.pool` and use it through a session",
                spec.name
            ));
        }
        let input = match &request.stdin {
            StdinSource::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            StdinSource::Null => String::new(),
            StdinSource::Inherit | StdinSource::Pipe => {
                return refuse("a pooled call takes its input as text on stdin".into());
            }
        };
        let mut warnings = plan.warnings.clone();
        let ctx = engine.policy_context(entry, &request.overrides);
        let mut held = Vec::new();
        let capped = settle(
            &POOL_MAX,
            asked.max.map(u64::from),
            &spec.name,
            &ctx,
            &mut held,
        );
        // A pool's members count against the cap on one skill's live interpreters.
        warnings.extend(
            held.into_iter()
                .map(|w| format!("session_config.pool.max: {w}")),
        );
        let max = match asked.max {
            Some(_) => capped,
            None => capped.min(u64::from(DEFAULT_POOL_MAX)),
        }
        .clamp(1, u64::from(u32::MAX));
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        let min_idle = asked.min_idle.unwrap_or(DEFAULT_MIN_IDLE).min(max);
        let recycle_after = DEFAULT_RECYCLE_AFTER;
        let answer_timeout = plan.policy.limits.wall_time;
        let process = ProcessSpec {
            program: invocation.program.clone().into(),
            args: framing
                .args(&invocation.args)
                .into_iter()
                .map(Into::into)
                .collect(),
            cwd: invocation.cwd.clone(),
            stdin: StdinSource::Pipe,
            inherit_fd: plan.inherit_fd.clone(),
        };
        let mut policy = plan.policy.clone();
        // A member lives for many calls; its CPU time is bounded by all of them together.
        policy.limits.cpu_time =
            Some(answer_timeout.saturating_mul(recycle_after.saturating_add(1)));
        let idle_timeout =
            super::Lifecycle::of(spec, &ctx, answer_timeout, &mut warnings).idle_timeout;
        // Read now, at call time, whenever the member that takes the call was started.
        let state = match engine
            .pooled_base(registry, spec, &plan, request, &mut warnings)
            .await
        {
            Ok(state) => state,
            Err(e) => {
                let mut refused = refuse(e);
                refused.warnings.splice(0..0, warnings);
                return refused;
            }
        };
        // Reading the state document the call starts from.
        crate::insight::lap(crate::insight::Phase::Store);
        self.sweep_in_background();
        let (pool, fresh) = self.pool_for(Pool {
            skill: spec.name.clone(),
            process,
            policy,
            framing,
            answer_timeout,
            idle_timeout,
            last_used: Mutex::new(std::time::Instant::now()),
            min_idle,
            max,
            recycle_after,
            preload: asked.preload.clone(),
            state_bytes: state.as_ref().map(crate::state::PooledBase::max_bytes),
            permits: Semaphore::new(max as usize),
            state: Mutex::new(State::default()),
        });
        if fresh {
            // Its first call starts a member itself; the rest warm up beside it.
            pool.top_up(self);
        }
        let mut result = pool
            .serve(
                self.clone(),
                &spec.name,
                &input,
                request.cancel.as_ref(),
                state,
            )
            .await;
        result.warnings.splice(0..0, warnings);
        result
    }

    /// Ends, once a second, the pools unused for their skill's `idle_timeout` (an edited
    /// skill's old pool, a workspace no longer called), so their interpreters do not live as
    /// long as the process. Runs while `self` does.
    fn sweep_in_background(self: &Arc<Self>) {
        if self
            .sweeping
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let pools = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(pools) = pools.upgrade() else { return };
                let unused: Vec<Arc<Pool>> = {
                    let mut all = lock(&pools.pools);
                    let keys: Vec<String> = all
                        .iter()
                        .filter(|(_, p)| {
                            lock(&p.last_used).elapsed() >= p.idle_timeout
                                && lock(&p.state).busy.is_empty()
                        })
                        .map(|(k, _)| k.clone())
                        .collect();
                    keys.iter().filter_map(|k| all.remove(k)).collect()
                };
                for pool in unused {
                    let idle: Vec<Member> = lock(&pool.state).idle.drain(..).collect();
                    for m in idle {
                        m.interpreter.finish().await;
                    }
                }
            }
        });
    }

    /// The live pool with `fresh`'s key, or `fresh` made live (and `true`).
    fn pool_for(&self, fresh: Pool) -> (Arc<Pool>, bool) {
        // Members are interchangeable only when they were started alike: the same program,
        // arguments, directory and sandbox policy (so a call with other grants or parameters
        // never lands on a member started with these).
        let key = format!(
            "{}\0{:?}\0{:?}\0{}:{}:{}\0{:?}\0{:?}",
            fresh.skill,
            fresh.process,
            fresh.policy,
            fresh.min_idle,
            fresh.max,
            fresh.recycle_after,
            fresh.preload,
            fresh.state_bytes
        );
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get(&key) {
            *lock(&pool.last_used) = std::time::Instant::now();
            return (pool.clone(), false);
        }
        let pool = Arc::new(fresh);
        pools.insert(key, pool.clone());
        (pool, true)
    }
}

/// The error for a pooled skill called where no pool is kept (a one-shot process).
pub(crate) fn no_pool_here(spec: &SkillSpec) -> ExecutionResult {
    ExecutionResult::new(&spec.name, Status::Error)
        .with_error(format!(
            "`{}` is served by a warm pool, which lives in the skillet daemon or `skillet mcp`; \
             `skillet run {}` sends the call there",
            spec.name, spec.name
        ))
        .with_hint(Hint::Run {
            skill: spec.name.clone(),
        })
}

/// Whether `spec` asks for a pool.
pub fn is_pooled(spec: &SkillSpec) -> bool {
    spec.kind == skillet_spec::SkillKind::CodeSession
        && spec
            .session_config
            .as_ref()
            .is_some_and(|c| c.pool.is_some())
}
