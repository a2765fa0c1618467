//! How sessions end: closed by the user, expired or found dead by the timer, or ended with the
//! process that owns them; each end recorded, and a failure to record it reported.

use std::sync::Arc;

use skillet_store::{SessionRecord, SessionStatus, now_ms};

use super::interpreter::Interpreter;
use super::{Session, SessionError, SessionManager, lock};

impl SessionManager {
    /// Ends session `id` by the user's request.
    pub async fn close(&self, id: &str) -> Result<SessionRecord, SessionError> {
        let session = match self.find_live_after_restore(id).await {
            Ok(session) => session,
            // A conversation has no process: closing it only stops it being resumed.
            Err(SessionError::Conversation(id)) => {
                let mut record = self
                    .stored(&id)?
                    .ok_or_else(|| SessionError::NotFound(id.clone()))?;
                record.status = SessionStatus::Closed;
                record.reason = Some("closed by the user".into());
                record.ended_at_ms = Some(now_ms());
                self.save(&record)?;
                return Ok(record);
            }
            Err(e) => return Err(e),
        };
        let id = session.id();
        self.end(&id, SessionStatus::Closed, "closed by the user")
            .await?;
        Ok(session.lock_record().clone())
    }

    /// Ends a live session: stops an input in progress, kills the interpreter and everything
    /// it started, removes its scratch directory unless the policy keeps it, records why.
    /// Fails when the end could not be recorded (the session is ended all the same).
    pub(super) async fn end(
        &self,
        id: &str,
        status: SessionStatus,
        reason: &str,
    ) -> Result<(), SessionError> {
        self.end_keeping(id, status, reason, false).await
    }

    async fn end_keeping(
        &self,
        id: &str,
        status: SessionStatus,
        reason: &str,
        keep_files: bool,
    ) -> Result<(), SessionError> {
        let Some(session) = lock(&self.live).get(id).cloned() else {
            return Ok(());
        };
        // The session ends whether or not that can be recorded; the caller hears of a failure.
        let recorded = self.retire(&session, status, reason, None);
        session.ending.send_replace(true);
        let interpreter = session.interpreter.lock().await.take();
        match interpreter {
            Some(i) if keep_files => {
                if let Some(kept) = i.finish_keeping_files().await {
                    let record = {
                        let mut r = session.lock_record();
                        r.reason = Some(format!(
                            "{reason}; its files are kept in {}",
                            kept.display()
                        ));
                        r.clone()
                    };
                    if let Err(e) = self.save(&record) {
                        self.problem(format!("session {id}: {e}"));
                    }
                }
            }
            Some(i) => {
                i.finish().await;
            }
            None => {}
        }
        recorded
    }

    /// Marks a session over, forgets it as live and gives up its lease (its interpreter is the
    /// caller's to end). Fails when that cannot be recorded; the failure is also kept for the
    /// log, since a caller may have no one to tell.
    pub(super) fn retire(
        &self,
        session: &Session,
        status: SessionStatus,
        reason: &str,
        exit_code: Option<i32>,
    ) -> Result<(), SessionError> {
        let record = {
            let mut r = session.lock_record();
            if r.status != SessionStatus::Live {
                return Ok(());
            }
            r.status = status;
            r.reason = Some(reason.to_owned());
            r.exit_code = exit_code;
            r.ended_at_ms = Some(now_ms());
            r.pid = None;
            r.clone()
        };
        lock(&self.live).remove(&record.id);
        lock(&self.pipes).retain(|(from, to)| *from != record.id && *to != record.id);
        let saved = match &self.store {
            Some(store) => store.save_session(&record),
            None => Ok(()),
        };
        self.release_lease(&record.id);
        saved.map_err(|source| {
            let e = SessionError::NotRecorded {
                id: record.id.clone(),
                status: record.status.clone(),
                source,
            };
            self.problem(e.to_string());
            e
        })
    }

    /// Ends sessions past their `session_timeout` or idle past their `idle_timeout`, and
    /// notices interpreters that died between inputs. Call it every second or so.
    pub async fn tick(&self) {
        self.renew_leases().await;
        let sessions: Vec<Arc<Session>> = lock(&self.live).values().cloned().collect();
        for s in sessions {
            let id = s.id();
            if s.started.elapsed() >= s.lifecycle.session_timeout {
                let limit = s.lifecycle.session_timeout.as_secs();
                // Kept for the log by retire: nobody is waiting on a session that expires.
                let _unrecorded = self
                    .end(
                        &id,
                        SessionStatus::Expired,
                        &format!("reached its session_timeout of {limit} s"),
                    )
                    .await;
                continue;
            }
            // A session answering an input is not idle, and is not touched here.
            let Ok(mut guard) = s.interpreter.try_lock() else {
                continue;
            };
            if let Some(exit) = guard.as_mut().and_then(Interpreter::try_exit) {
                let code = exit.shell_code();
                drop(guard);
                // Kept for the log by retire: nobody is waiting on a session that dies idle.
                let _unrecorded = self.retire(
                    &s,
                    SessionStatus::Dead,
                    &format!("the interpreter exited with status {code}"),
                    Some(code),
                );
                if let Some(i) = s.interpreter.lock().await.take() {
                    i.finish().await;
                }
                continue;
            }
            drop(guard);
            let idle = lock(&s.last_used).elapsed();
            if idle >= s.lifecycle.idle_timeout {
                let limit = s.lifecycle.idle_timeout.as_secs();
                // Kept for the log by retire, as above.
                let _unrecorded = self
                    .end(
                        &id,
                        SessionStatus::Expired,
                        &format!("idle for its idle_timeout of {limit} s"),
                    )
                    .await;
            }
        }
    }

    /// Ends every live session because the process that owns them is stopping. A session
    /// whose skill keeps its files (`cleanup_on_exit: false`) keeps its scratch directory.
    pub async fn shutdown(&self) {
        let ids: Vec<String> = lock(&self.live).keys().cloned().collect();
        for id in ids {
            let keep = lock(&self.live)
                .get(&id)
                .is_some_and(|s| !s.lifecycle.cleanup_on_exit);
            // Kept for the daemon's log by retire: it is stopping, with no caller to tell.
            let _unrecorded = self
                .end_keeping(&id, SessionStatus::Ended, "the daemon stopped", keep)
                .await;
        }
    }
}
