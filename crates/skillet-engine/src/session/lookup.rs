//! Finding sessions: live here, being restored here, driven by another process, or past.

use std::sync::Arc;
use std::time::Duration;

use skillet_store::{SessionQuery, SessionRecord, SessionStatus, TurnRecord};

use super::lease::owned_elsewhere;
use super::{Session, SessionError, SessionManager, lock};
use crate::hint::Hint;

/// Whether `prefix` names the session `id`: its id or a part it starts with. An empty prefix
/// would name every session (a script's unset `$SID`, an agent's blank `session_id` driving
/// whichever session is live): it names none, as in the store's lookup.
fn named(id: &str, prefix: &str) -> bool {
    !prefix.is_empty() && id.starts_with(prefix)
}

/// How long a request for a session being restored waits for it before giving up (and saying
/// to try again, not to start another session).
pub const RESTORE_WAIT: Duration = Duration::from_secs(30);

impl SessionManager {
    /// The live session `id` (or the only one whose id starts with it).
    pub(super) fn find_live(&self, id: &str) -> Result<Arc<Session>, SessionError> {
        {
            let live = lock(&self.live);
            if let Some(s) = live.get(id) {
                return Ok(s.clone());
            }
            let mut matching = live.iter().filter(|(k, _)| named(k, id));
            if let (Some((_, s)), None) = (matching.next(), matching.next()) {
                return Ok(s.clone());
            }
        }
        if let Some(restoring) = lock(&self.restoring).iter().find(|r| named(r, id)) {
            return Err(SessionError::refused(
                format!(
                    "session {restoring} is being restored after a daemon restart; try again once \
                     it is listed live"
                ),
                Some(Hint::ListSessions),
            ));
        }
        let Some(store) = &self.store else {
            return Err(SessionError::NotFound(id.to_owned()));
        };
        match store.session(id)? {
            Some(r) if r.status == SessionStatus::Open => Err(SessionError::Conversation(r.id)),
            Some(r) if r.status == SessionStatus::Live => match self.held_elsewhere(&r.id) {
                Some(lease) => Err(owned_elsewhere(lease)),
                None => Err(SessionError::over(self.as_seen_here(r))),
            },
            Some(r) => Err(SessionError::over(r)),
            None => Err(SessionError::NotFound(id.to_owned())),
        }
    }

    /// Like [`SessionManager::find_live`], but first waits (at most [`RESTORE_WAIT`]) while
    /// session `id` is being restored after a restart, so a request sent right after the daemon
    /// came back is answered once the replay is done instead of failing.
    pub(super) async fn find_live_after_restore(
        &self,
        id: &str,
    ) -> Result<Arc<Session>, SessionError> {
        let mut restored = self.restored.subscribe();
        let wait = async {
            while lock(&self.restoring).iter().any(|r| named(r, id)) {
                if restored.changed().await.is_err() {
                    break;
                }
            }
        };
        if tokio::time::timeout(RESTORE_WAIT, wait).await.is_err() {
            // Still coming back, with its state: starting another session would lose it.
            return Err(SessionError::refused(
                format!(
                    "session {id} is still being restored after a daemon restart (waited {} s); \
                     it comes back with its state, so send to it again in a moment",
                    RESTORE_WAIT.as_secs()
                ),
                Some(Hint::ListSessions),
            ));
        }
        self.find_live(id)
    }

    /// A session from the store, as it stands here (see [`SessionManager::as_seen_here`]).
    pub(crate) fn stored(&self, id: &str) -> Result<Option<SessionRecord>, SessionError> {
        match &self.store {
            Some(store) => Ok(store.session(id)?.map(|r| self.as_seen_here(r))),
            None => Ok(None),
        }
    }

    /// A stored session that is not live in this process. One recorded `live` is being
    /// restored here (shown `restoring`), or is driven by another process that holds its lease (it stays `live`,
    /// and its reason names that process), or was run by a daemon that stopped without saying
    /// so (it is `ended`).
    fn as_seen_here(&self, mut record: SessionRecord) -> SessionRecord {
        if record.status != SessionStatus::Live {
            return record;
        }
        if lock(&self.restoring).contains(&record.id) {
            record.status = SessionStatus::Restoring;
            // The pid recorded is the dead daemon's interpreter's.
            record.pid = None;
            record.reason = Some("being restored after a daemon restart".into());
            return record;
        }
        if let Some(lease) = self.held_elsewhere(&record.id) {
            record.reason = Some(format!("driven by {} (pid {})", lease.holder, lease.pid));
            return record;
        }
        record.status = SessionStatus::Ended;
        record.reason = Some("the daemon that ran it stopped".into());
        record.pid = None;
        record
    }

    /// Records as ended a session stored `live` whose owner is gone: it had a lease, and that
    /// lease lapsed or its process died (`record` is how it is seen here). Taking the lease is
    /// the check, atomic in the store: a session whose owner is alive is left alone, and one
    /// just being started (stored, not yet leased) has no lease to find gone. Recorded, it is
    /// under the history's retention rule like any ended session.
    fn record_if_lost(&self, record: &SessionRecord) {
        if record.status != SessionStatus::Ended || lock(&self.restoring).contains(&record.id) {
            return;
        }
        let Some(store) = &self.store else {
            return;
        };
        let stored_live = store
            .session(&record.id)
            .ok()
            .flatten()
            .is_some_and(|r| r.status == SessionStatus::Live);
        let had_owner = store
            .session_lease(&record.id)
            .ok()
            .flatten()
            .is_some_and(|l| l.owner != self.owner.id);
        if !stored_live || !had_owner || self.take_lease(&record.id).is_err() {
            return;
        }
        let mut record = record.clone();
        let mut log = Vec::new();
        self.mark_ended(&mut record, &mut log);
        for line in log {
            self.problem(line);
        }
    }

    /// Live sessions first (oldest first), then past ones from the store (newest first).
    pub fn list(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, SessionError> {
        let mut live: Vec<SessionRecord> = lock(&self.live)
            .values()
            .map(|s| s.lock_record().clone())
            .filter(|r| query.skill.as_ref().is_none_or(|k| *k == r.skill))
            .collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        if query
            .status
            .as_ref()
            .is_some_and(|s| *s != SessionStatus::Live)
        {
            live.clear();
        }
        // Sessions live elsewhere are in the store too, so it is asked unless only live ones
        // here would do.
        // A session being restored is stored `live`; so is one whose process died without
        // saying so, which is `ended` as seen here.
        let stored_statuses = match &query.status {
            Some(SessionStatus::Restoring) => vec![Some(SessionStatus::Live)],
            Some(SessionStatus::Ended) => {
                vec![Some(SessionStatus::Ended), Some(SessionStatus::Live)]
            }
            other => vec![other.clone()],
        };
        let mut past = Vec::new();
        if let Some(store) = &self.store {
            for status in stored_statuses {
                past.extend(store.sessions(&SessionQuery {
                    limit: 0,
                    status,
                    ..query.clone()
                })?);
            }
        }
        past.retain(|r| !live.iter().any(|l| l.id == r.id));
        let seen = past
            .into_iter()
            .map(|r| self.as_seen_here(r))
            .inspect(|r| self.record_if_lost(r));
        live.extend(seen.filter(|r| query.status.as_ref().is_none_or(|s| *s == r.status)));
        if query.limit > 0 {
            live.truncate(query.limit);
        }
        Ok(live)
    }

    /// A session, live or past.
    pub fn info(&self, id: &str) -> Result<SessionRecord, SessionError> {
        let restoring = lock(&self.restoring).iter().find(|r| named(r, id)).cloned();
        if let Some(id) = restoring {
            return self.stored(&id)?.ok_or(SessionError::NotFound(id));
        }
        match self.find_live(id) {
            Ok(s) => Ok(s.lock_record().clone()),
            Err(
                SessionError::Over { id, .. }
                | SessionError::Conversation(id)
                | SessionError::Owned { id, .. },
            ) => self
                .stored(&id)?
                .ok_or_else(|| SessionError::NotFound(id.clone())),
            Err(e) => Err(e),
        }
    }

    /// A session and its transcript.
    pub fn history(&self, id: &str) -> Result<(SessionRecord, Vec<TurnRecord>), SessionError> {
        let record = self.info(id)?;
        let turns = match &self.store {
            Some(store) => store.turns(&record.id)?,
            None => Vec::new(),
        };
        Ok((record, turns))
    }
}
