//! Bringing sessions back after the daemon restarts.
//!
//! Restoring is two steps so that no request can slip in between: [`SessionManager::plan_restore`]
//! (quick, before the daemon accepts connections) takes the lease of every session it will
//! restore and marks it as being restored; [`SessionManager::restore_planned`] then replays them
//! while the daemon answers other requests. A request for a session being replayed waits for
//! the replay (bounded by [`super::RESTORE_WAIT`]) instead of finding no live session, and
//! `session list` shows it `restoring`. Replays run in parallel.

use skillet_registry::Registry;
use skillet_store::{SessionQuery, SessionRecord, SessionStatus, TurnOutcome, TurnRecord, now_ms};

use super::{SessionError, SessionManager, SessionStart, lock};
use crate::engine::Engine;

/// How many sessions are replayed at once after a restart.
pub const PARALLEL_REPLAYS: usize = 8;

/// The sessions a restart will bring back, leased and marked as being restored.
#[derive(Debug, Default)]
pub struct RestorePlan {
    replays: Vec<SessionRecord>,
}

impl RestorePlan {
    /// The ids of the sessions to replay.
    pub fn ids(&self) -> Vec<String> {
        self.replays.iter().map(|r| r.id.clone()).collect()
    }
}

impl SessionManager {
    /// Brings back, after a restart, the sessions that were live when the last daemon stopped:
    /// [`SessionManager::plan_restore`] then [`SessionManager::restore_planned`].
    pub async fn restore(
        &self,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Vec<String> {
        let (plan, mut log) = self.plan_restore();
        log.extend(self.restore_planned(plan, context).await);
        log
    }

    /// Picks the sessions to bring back: those recorded live, or ended only because their daemon
    /// stopped. Each one's lease is taken first; a session another live process holds is left
    /// alone (it is not ours to restore or to mark ended). Those of skills with
    /// `restore: "replay"` are marked as being restored; the others are recorded as ended.
    /// Returns the plan and one line per session for the log.
    pub fn plan_restore(&self) -> (RestorePlan, Vec<String>) {
        let mut plan = RestorePlan::default();
        let mut log = Vec::new();
        let Some(store) = self.store.clone() else {
            return (plan, log);
        };
        let candidates = [
            (SessionStatus::Live, None),
            (SessionStatus::Ended, Some("the daemon stopped")),
        ];
        for (status, reason) in candidates {
            let query = SessionQuery {
                status: Some(status.clone()),
                ..SessionQuery::default()
            };
            let records = match store.sessions(&query) {
                Ok(records) => records,
                Err(e) => {
                    log.push(format!(
                        "cannot read the {status} sessions to restore them: {e}"
                    ));
                    continue;
                }
            };
            for mut record in records {
                if let Some(reason) = reason
                    && !record
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(reason))
                {
                    continue;
                }
                if !record.replay && status != SessionStatus::Live {
                    continue;
                }
                if let Err(e) = self.take_lease(&record.id) {
                    log.push(format!("session {} not restored here: {e}", record.id));
                    continue;
                }
                if record.replay {
                    lock(&self.restoring).insert(record.id.clone());
                    plan.replays.push(record);
                    continue;
                }
                record.reason = Some("the daemon that ran it stopped".into());
                self.mark_ended(&mut record, &mut log);
            }
        }
        (plan, log)
    }

    /// Replays the planned sessions, up to [`PARALLEL_REPLAYS`] at once (each session is its
    /// own interpreter; replays wait on process start-up and on answers, not on one another).
    /// Each session leaves `restoring` as soon as its own replay is done, so a request waits
    /// only for the session it is for. Returns one line per session for the log.
    pub async fn restore_planned(
        &self,
        plan: RestorePlan,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Vec<String> {
        use futures_util::StreamExt as _;
        futures_util::stream::iter(plan.replays)
            .map(|record| self.restore_one(record, context))
            .buffer_unordered(PARALLEL_REPLAYS)
            .collect::<Vec<Vec<String>>>()
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn restore_one(
        &self,
        mut record: SessionRecord,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Vec<String> {
        let mut log = Vec::new();
        match self.replay(&record, context).await {
            Ok(()) => log.push(format!(
                "restored session {} of {} by replay",
                record.id, record.skill
            )),
            Err(e) => {
                log.push(format!("session {} not restored: {e}", record.id));
                record.reason = Some(format!("not restored after a daemon restart: {e}"));
                self.mark_ended(&mut record, &mut log);
            }
        }
        self.restored_one(&record.id);
        log
    }

    /// Records a session we hold the lease of as ended, and lets the lease go.
    pub(super) fn mark_ended(&self, record: &mut SessionRecord, log: &mut Vec<String>) {
        record.status = SessionStatus::Ended;
        record.ended_at_ms.get_or_insert_with(now_ms);
        record.pid = None;
        if let Err(e) = self.save(record) {
            log.push(format!(
                "session {} could not be recorded as ended: {e}",
                record.id
            ));
        }
        self.release_lease(&record.id);
    }

    /// Wakes the requests waiting for session `id`'s replay.
    fn restored_one(&self, id: &str) {
        lock(&self.restoring).remove(id);
        self.restored.send_modify(|n| *n = n.wrapping_add(1));
    }

    async fn replay(
        &self,
        record: &SessionRecord,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Result<(), SessionError> {
        let start: SessionStart = serde_json::from_str(&record.start).map_err(|e| {
            SessionError::refused(format!("its start request is unreadable: {e}"), None)
        })?;
        let (engine, registry) = context(&start.caller_dir).ok_or_else(|| {
            SessionError::refused(
                format!("its directory {} is gone", start.caller_dir.display()),
                None,
            )
        })?;
        let turns = match &self.store {
            Some(store) => store.turns(&record.id)?,
            None => Vec::new(),
        };
        let inputs: Vec<TurnRecord> = turns
            .into_iter()
            .filter(|t| !matches!(t.outcome, TurnOutcome::Dead | TurnOutcome::Timeout))
            .collect();
        self.start_as(
            &engine,
            &registry,
            &record.skill,
            start,
            record.id.clone(),
            &inputs,
        )
        .await
        .map(drop)
    }
}
