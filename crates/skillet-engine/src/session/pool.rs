//! Warm pools: pre-started interpreters of a `code_session` skill that serve stateless calls.
//!
//! A skill with `session_config.pool` keeps up to `max` interpreters per (skill, workspace,
//! process, policy), started exactly as a session's would be (same sandbox policy, same
//! framing). A call takes an idle member, runs its input in a fresh namespace (python: a new
//! globals dict; node: a new vm context; shell: a subshell) and gives the member back. A member
//! is killed and replaced after `recycle_after` calls, after any call that failed, timed out or
//! killed it; `min_idle` members are kept started in the background. Interpreters without a
//! reset recipe (sqlite3, prompt- and jsonl-framed programs) are refused.
//!
//! The pools live in the long-lived process that serves calls (the daemon, `skillet mcp`):
//! an [`Engine`] given [`Pools`] with [`Engine::with_pools`] serves pooled skills from them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use skillet_sandbox::{ProcessSpec, SandboxPolicy, StdinSource};
use skillet_spec::SkillSpec;
use tokio::sync::Semaphore;

use super::interpreter::{Answer, Broken, Interpreter};
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
/// Calls one member serves before it is replaced, when the skill does not say.
pub const DEFAULT_RECYCLE_AFTER: u32 = 100;

/// A pool's `max` is held at the user's cap on live interpreters of one skill, the same
/// `[defaults] max_sessions` that bounds sessions: only the global file (or the user's
/// `raise_limits` grant) lets a skill ask for more.
const POOL_MAX: Kind = Kind {
    field: "max_sessions",
    unit: "",
    builtin: super::lifecycle::DEFAULT_MAX_SESSIONS as u64,
    global: |d| d.max_sessions.map(u64::from),
};

/// Every pool of one process.
#[derive(Debug, Default)]
pub struct Pools {
    pools: Mutex<BTreeMap<String, Arc<Pool>>>,
    closed: std::sync::atomic::AtomicBool,
    /// Whether the task that ends unused pools runs.
    sweeping: std::sync::atomic::AtomicBool,
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

#[derive(Debug)]
struct Pool {
    skill: String,
    process: ProcessSpec,
    policy: SandboxPolicy,
    framing: Framing,
    answer_timeout: Duration,
    /// Unused this long, the pool and its members end (the skill's `idle_timeout`).
    idle_timeout: Duration,
    last_used: Mutex<std::time::Instant>,
    min_idle: u32,
    max: u32,
    recycle_after: u32,
    /// One per member: a call holds one while it has a member, so calls past `max` wait.
    permits: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    idle: VecDeque<Member>,
    busy: Vec<u32>,
    /// Members alive, busy or idle.
    total: u32,
    /// Members being started.
    starting: u32,
    calls: u64,
    recycled: u64,
}

#[derive(Debug)]
struct Member {
    interpreter: Interpreter,
    calls: u32,
}

impl Pools {
    /// No pools yet; each is made on its skill's first call.
    pub fn new() -> Pools {
        Pools::default()
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

    /// Kills every idle member; members busy now are killed when their call ends.
    pub async fn shutdown(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let pools: Vec<Arc<Pool>> = std::mem::take(&mut *lock(&self.pools))
            .into_values()
            .collect();
        for pool in pools {
            let idle: Vec<Member> = lock(&pool.state).idle.drain(..).collect();
            for m in idle {
                m.interpreter.finish().await;
            }
        }
    }

    /// Runs one stateless call of pooled `spec` on a member of its pool.
    pub(crate) async fn call(
        self: &Arc<Self>,
        engine: &Engine,
        spec: &SkillSpec,
        invocation: Invocation,
        plan: PolicyPlan,
        request: &RunRequest,
    ) -> ExecutionResult {
        let refuse =
            |message: String| ExecutionResult::new(&spec.name, Status::Error).with_error(message);
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return refuse("skillet is stopping; call again".into());
        }
        let config = spec.session_config.as_ref();
        let asked = config.and_then(|c| c.pool).unwrap_or_default();
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
        let ctx = engine.policy_context(&spec.name, &request.overrides);
        let max = settle(
            &POOL_MAX,
            Some(u64::from(asked.max.unwrap_or(DEFAULT_POOL_MAX))),
            &spec.name,
            &ctx,
            &mut warnings,
        )
        .clamp(1, u64::from(u32::MAX));
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        let min_idle = asked.min_idle.unwrap_or(DEFAULT_MIN_IDLE).min(max);
        let recycle_after = asked.recycle_after.unwrap_or(DEFAULT_RECYCLE_AFTER).max(1);
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
        self.sweep_in_background();
        let pool = self.pool_for(Pool {
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
            permits: Semaphore::new(max as usize),
            state: Mutex::new(State::default()),
        });
        pool.top_up(self);
        let mut result = pool
            .serve(self.clone(), &spec.name, &input, request.cancel.as_ref())
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

    /// The live pool with `fresh`'s key, or `fresh` made live (warmed in the background).
    fn pool_for(&self, fresh: Pool) -> Arc<Pool> {
        // Members are interchangeable only when they were started alike: the same program,
        // arguments, directory and sandbox policy (so a call with other grants or parameters
        // never lands on a member started with these).
        let key = format!(
            "{}\0{:?}\0{:?}\0{}:{}:{}",
            fresh.skill,
            fresh.process,
            fresh.policy,
            fresh.min_idle,
            fresh.max,
            fresh.recycle_after
        );
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get(&key) {
            *lock(&pool.last_used) = std::time::Instant::now();
            return pool.clone();
        }
        let pool = Arc::new(fresh);
        pools.insert(key, pool.clone());
        pool
    }
}

/// How one call on a member ended.
enum Served {
    Answered(Answer),
    /// Stopped from outside (the reason): the member is killed with whatever it was doing.
    Cancelled(String),
    Broken(Broken, Option<skillet_sandbox::Exit>),
}

impl Pool {
    async fn serve(
        self: Arc<Self>,
        pools: Arc<Pools>,
        skill: &str,
        input: &str,
        cancel: Option<&crate::Cancel>,
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
        let exchanged = tokio::select! {
            r = member.interpreter.exchange_fresh(input, self.answer_timeout) => Ok(r),
            reason = &mut cancelled => Err(reason),
        };
        let served = match exchanged {
            Err(reason) => Served::Cancelled(reason),
            Ok(Some(Ok(answer))) => Served::Answered(answer),
            Ok(Some(Err(broken))) => {
                let exit = member.interpreter.exit_status().await;
                Served::Broken(broken, exit)
            }
            Ok(None) => Served::Broken(Broken::Exited(Answer::default()), None),
        };
        member.calls += 1;
        let keep = matches!(&served, Served::Answered(a) if a.status.unwrap_or(0) == 0)
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
        if let Some(member) = retired {
            // A failed or worn member is not reused: whatever the call left behind (a
            // half-run import, a handler, a wedged thread) dies with it.
            tokio::spawn(member.interpreter.finish());
        }
        self.top_up(&pools);
        self.result(skill, served)
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

    /// An idle member, or a new one when there is room.
    async fn take_member(&self, wait: Duration) -> Result<Member, String> {
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

    async fn start_member(&self) -> Result<Member, String> {
        Interpreter::start(
            self.process.clone(),
            &self.policy,
            self.framing.clone(),
            self.answer_timeout,
        )
        .await
        .map(|interpreter| Member {
            interpreter,
            calls: 0,
        })
        .map_err(|e| e.to_string())
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

    /// Starts members in the background until `min_idle` are idle (never past `max`).
    fn top_up(self: &Arc<Self>, pools: &Arc<Pools>) {
        let pool = self.clone();
        let pools = pools.clone();
        tokio::spawn(async move {
            loop {
                if pools.closed.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                {
                    let mut s = lock(&pool.state);
                    let warm = s.idle.len() as u32 + s.starting;
                    if warm >= pool.min_idle || s.total + s.starting >= pool.max {
                        return;
                    }
                    s.starting += 1;
                }
                // Counted as alive before it stops counting as starting, so no other start
                // slips past `max` in between.
                let _starting = Starting(&pool);
                match pool.start_member().await {
                    Ok(m) => {
                        let mut s = lock(&pool.state);
                        s.total += 1;
                        s.idle.push_back(m);
                    }
                    // The next call starts one itself and reports why it cannot.
                    Err(_) => return,
                }
            }
        });
    }
}

/// A start counted in `starting` until it ends, however it ends.
struct Starting<'p>(&'p Pool);

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.starting = s.starting.saturating_sub(1);
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
        && spec.session_config.as_ref().and_then(|c| c.pool).is_some()
}
