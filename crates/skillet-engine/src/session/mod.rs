//! Sessions of `code_session` skills: interpreters that stay alive between calls.
//!
//! A [`SessionManager`] starts each session's interpreter under the same sandbox policy a
//! `code_inline` run of the skill would get, cuts its output into one answer per input (see
//! [`framing`]), serializes the inputs of one session while different sessions run in
//! parallel, ends sessions that outlive their `session_timeout` or sit idle past their
//! `idle_timeout`, and records every session and exchange in the store so that history
//! survives the process that ran them.
//!
//! It does not listen on sockets or know about the daemon that usually owns it.

mod ending;
mod exchange;
pub mod framing;
mod interpreter;
mod lease;
mod lifecycle;
mod lookup;
mod pipes;
pub mod pool;
mod request;
mod restore;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use skillet_registry::Registry;
use skillet_sandbox::ProcessSpec;
use skillet_spec::{SessionRestore, SkillKind};
use skillet_store::{SessionRecord, Store, TurnRecord, now_ms};
pub use skillet_store::{SessionStatus, TurnOutcome};
use tokio::sync::watch;

pub use framing::{Framing, FramingError, Recipe};
pub use interpreter::{Answer, StartError};
pub use lease::{LEASE_TTL, this_host};
pub use lifecycle::Lifecycle;
pub use lookup::RESTORE_WAIT;
pub use pool::{PoolStatus, Pools, is_pooled};
pub use request::{ExchangePhases, Reply, SessionError, SessionStart};
pub use restore::RestorePlan;

use crate::engine::{Engine, Prepared};
use crate::hint::Hint;
use interpreter::Interpreter;

/// One live session.
#[derive(Debug)]
struct Session {
    record: Mutex<SessionRecord>,
    lifecycle: Lifecycle,
    started: Instant,
    last_used: Mutex<Instant>,
    last_output: Mutex<String>,
    /// Held while an input is being answered, so inputs take turns in order.
    interpreter: tokio::sync::Mutex<Option<Interpreter>>,
    /// Set when the session is being ended, to cut short an input in progress.
    ending: watch::Sender<bool>,
    /// Its channel broker, for a skill that declares `channels`: served while it lives.
    _channels: Option<crate::channels::Broker>,
    /// Its state, for a skill that declares `state`: committed after each input that ends ok.
    state: Option<Mutex<crate::state::SessionState>>,
}

impl Session {
    fn id(&self) -> String {
        self.lock_record().id.clone()
    }

    fn lock_record(&self) -> std::sync::MutexGuard<'_, SessionRecord> {
        lock(&self.record)
    }
}

/// Owns the live sessions of one process (the daemon).
#[derive(Debug, Default)]
pub struct SessionManager {
    store: Option<Arc<dyn Store>>,
    live: Mutex<BTreeMap<String, Arc<Session>>>,
    /// Starts in progress per skill, counted against `max_sessions`.
    starting: Mutex<BTreeMap<String, u32>>,
    /// `(from, to)`: every answer of `from` is sent on to `to`.
    pipes: Mutex<Vec<(String, String)>>,
    /// This manager as the holder of session leases.
    owner: lease::Owner,
    /// When the leases were last renewed.
    last_renewal: Mutex<Option<Instant>>,
    /// Sessions being brought back after a restart: requests for them wait (see
    /// [`SessionManager::plan_restore`]).
    restoring: Mutex<std::collections::BTreeSet<String>>,
    /// Bumped whenever a session leaves `restoring`.
    restored: watch::Sender<u64>,
    /// What went wrong with no caller to tell (a record not saved while a session was ended
    /// by a timer), for the owner's log: see [`SessionManager::take_problems`].
    problems: Mutex<Vec<String>>,
}

/// Locks `m`; a panic while it was held leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SessionManager {
    /// A manager recording into `store` (none: nothing is kept past the process).
    pub fn new(store: Option<Arc<dyn Store>>) -> SessionManager {
        SessionManager {
            store,
            ..SessionManager::default()
        }
    }

    /// Starts a session of the skill `name` found in `registry`.
    pub async fn start(
        &self,
        engine: &Engine,
        registry: &Registry,
        name: &str,
        request: SessionStart,
    ) -> Result<SessionRecord, SessionError> {
        let id = uuid::Uuid::now_v7().to_string();
        self.start_as(engine, registry, name, request, id, &[])
            .await
    }

    async fn start_as(
        &self,
        engine: &Engine,
        registry: &Registry,
        name: &str,
        request: SessionStart,
        id: String,
        replay: &[TurnRecord],
    ) -> Result<SessionRecord, SessionError> {
        // A session outlives the call that started it and answers whoever sends to it, so it
        // runs in the workspace root, and relative values and grants start there.
        let run_dir = engine
            .settings
            .workspace
            .clone()
            .unwrap_or_else(|| request.caller_dir.clone());
        let prepared = engine
            .prepare(
                registry,
                name,
                &request.params,
                &run_dir,
                &request.overrides,
            )
            .map_err(|refused| {
                SessionError::refused(refused.error.unwrap_or_default(), refused.hint)
            })?;
        let Prepared::Process {
            spec,
            entry,
            invocation,
            plan,
        } = prepared
        else {
            return Err(SessionError::refused(
                format!("`{name}` is not a code_session skill"),
                Some(Hint::Run {
                    skill: name.to_owned(),
                }),
            ));
        };
        if spec.kind != SkillKind::CodeSession {
            return Err(SessionError::refused(
                format!(
                    "`{}` is a {} skill, not a code_session one",
                    spec.name, spec.kind
                ),
                Some(Hint::Run {
                    skill: spec.name.clone(),
                }),
            ));
        }
        let config = spec.session_config.as_ref();
        let framing = Framing::choose(&invocation.program, config)?;
        // Session start has no channel for notes yet: what the user's caps held back is only
        // enforced here (`skillet info` shows the run limits).
        let mut held_back = Vec::new();
        let lifecycle = Lifecycle::of(
            spec,
            &engine.policy_context(entry, &request.overrides),
            plan.policy.limits.wall_time,
            &mut held_back,
        );
        let skill = spec.name.clone();
        let _slot = self
            .reserve(&skill, lifecycle.max_sessions, request.replace_oldest)
            .await?;

        let mut plan = plan;
        let channels = engine
            .open_channels(registry, spec, &run_dir, &mut plan)
            .map_err(|refused| SessionError::refused(refused, None))?;
        let mut state = engine
            .session_state(
                registry,
                spec,
                &mut plan,
                &request.caller_dir,
                &request.overrides,
                &mut held_back,
            )
            .await
            .map_err(|refused| SessionError::refused(refused, None))?;
        let process = ProcessSpec {
            program: invocation.program.clone().into(),
            args: framing
                .args(&invocation.args)
                .into_iter()
                .map(Into::into)
                .collect(),
            cwd: invocation.cwd.clone(),
            stdin: skillet_sandbox::StdinSource::Pipe,
            inherit_fd: plan.inherit_fd.clone(),
        };
        // RLIMIT_CPU at one run's budget would count every input of a long session against it;
        // each input is bounded by the timeout instead. The whole session still gets at most
        // its life in CPU time (one core busy throughout), so work left spinning in the
        // background after an answer cannot burn CPU beyond the user's session_timeout.
        let mut policy = plan.policy.clone();
        policy.limits.cpu_time = Some(lifecycle.session_timeout);
        let mut interpreter =
            Interpreter::start(process, &policy, framing, lifecycle.answer_timeout).await?;
        for turn in replay {
            // A replayed input's answer was recorded the first time; only the state matters.
            if interpreter
                .exchange(&turn.input, lifecycle.answer_timeout)
                .await
                .is_err()
            {
                interpreter.finish().await;
                return Err(SessionError::refused(
                    format!(
                        "replaying input {} of session {id} failed, so its state cannot be rebuilt",
                        turn.seq
                    ),
                    None,
                ));
            }
        }
        if let Some(state) = state.as_mut().filter(|_| !replay.is_empty()) {
            // The replayed inputs were saved when they first ran: what they wrote now is not.
            let mut settled = crate::state::Settled::default();
            state.refresh(&mut settled);
            if settled.failed {
                interpreter.finish().await;
                return Err(SessionError::refused(
                    format!("session {id} was replayed but {}", settled.notes.join("; ")),
                    None,
                ));
            }
        }
        let now = now_ms();
        let start = serde_json::to_string(&SessionStart {
            replace_oldest: false,
            ..request.clone()
        })
        .unwrap_or_default();
        let record = SessionRecord {
            id: id.clone(),
            skill: skill.clone(),
            label: request.label.clone(),
            status: SessionStatus::Live,
            start,
            replay: config.and_then(|c| c.restore) == Some(SessionRestore::Replay),
            pid: interpreter.pid().map(i64::from),
            created_at_ms: replay.first().map_or(now, |t| t.started_at_ms.min(now)),
            last_used_at_ms: now,
            ended_at_ms: None,
            exit_code: None,
            reason: None,
            turns: replay.iter().map(|t| t.seq).max().unwrap_or(0),
        };
        // A fresh id cannot be held by anyone else; a replayed one was leased before its
        // interpreter started (see restore.rs), so this only extends it.
        if let Err(e) = self.save(&record).and_then(|()| self.take_lease(&id)) {
            interpreter.finish().await;
            return Err(e);
        }
        let session = Arc::new(Session {
            record: Mutex::new(record.clone()),
            lifecycle,
            started: Instant::now(),
            last_used: Mutex::new(Instant::now()),
            last_output: Mutex::new(replay.last().map(|t| t.stdout.clone()).unwrap_or_default()),
            interpreter: tokio::sync::Mutex::new(Some(interpreter)),
            ending: watch::channel(false).0,
            _channels: channels,
            state: state.map(Mutex::new),
        });
        lock(&self.live).insert(id, session);
        Ok(record)
    }

    /// Counts a start against the skill's `max_sessions` until the returned guard is dropped;
    /// at the limit, refuses or (with `replace_oldest`) closes the oldest session first.
    async fn reserve(
        &self,
        skill: &str,
        max: u32,
        replace_oldest: bool,
    ) -> Result<StartSlot<'_>, SessionError> {
        loop {
            let oldest = {
                let live = lock(&self.live);
                let mut starting = lock(&self.starting);
                let mine: Vec<&Arc<Session>> = live
                    .values()
                    .filter(|s| s.lock_record().skill == skill)
                    .collect();
                let pending = starting.get(skill).copied().unwrap_or(0);
                if (mine.len() as u32) + pending < max {
                    *starting.entry(skill.to_owned()).or_default() += 1;
                    return Ok(StartSlot {
                        manager: self,
                        skill: skill.to_owned(),
                    });
                }
                if !replace_oldest || mine.is_empty() {
                    return Err(SessionError::TooMany {
                        skill: skill.to_owned(),
                        max,
                    });
                }
                mine.iter()
                    .min_by_key(|s| s.started)
                    .map(|s| s.id())
                    .unwrap_or_default()
            };
            self.end(
                &oldest,
                SessionStatus::Closed,
                "replaced by a newer session (--replace-oldest)",
            )
            .await?;
        }
    }

    /// Writes a session's row, when there is a store.
    fn save(&self, record: &SessionRecord) -> Result<(), SessionError> {
        match &self.store {
            Some(store) => Ok(store.save_session(record)?),
            None => Ok(()),
        }
    }

    /// Keeps `text` for the owner's log.
    pub(crate) fn problem(&self, text: String) {
        lock(&self.problems).push(text);
    }

    /// What went wrong since the last call with no caller to tell (records not saved, leases
    /// lost); the daemon writes it to its log.
    pub fn take_problems(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.problems))
    }

    /// How many sessions are live.
    pub fn live_count(&self) -> usize {
        lock(&self.live).len()
    }
}

/// A start counted against `max_sessions` until it is live or has failed.
struct StartSlot<'m> {
    manager: &'m SessionManager,
    skill: String,
}

impl Drop for StartSlot<'_> {
    fn drop(&mut self) {
        let mut starting = lock(&self.manager.starting);
        if let Some(n) = starting.get_mut(&self.skill) {
            *n = n.saturating_sub(1);
        }
    }
}
