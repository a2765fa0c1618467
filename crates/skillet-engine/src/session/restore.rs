//! Bringing sessions back after the daemon restarts.

use skillet_registry::Registry;
use skillet_store::{SessionQuery, SessionRecord, TurnRecord, now_ms};

use super::{SessionError, SessionManager, SessionStart};
use crate::engine::Engine;

impl SessionManager {
    /// Brings back, after a restart, the sessions that were live when the last daemon stopped:
    /// those of skills with `restore: "replay"` get a new interpreter fed every recorded input
    /// again; the others are recorded as ended. `context` gives the engine and registry of a
    /// caller's directory. Returns one line per session for the log.
    pub async fn restore(
        &self,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Vec<String> {
        let Some(store) = self.store.clone() else {
            return Vec::new();
        };
        let mut log = Vec::new();
        let candidates = [("live", None), ("ended", Some("the daemon stopped"))];
        for (status, reason) in candidates {
            let query = SessionQuery {
                status: Some(status.into()),
                ..SessionQuery::default()
            };
            for mut record in store.sessions(&query).unwrap_or_default() {
                if let Some(reason) = reason
                    && !record
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(reason))
                {
                    continue;
                }
                if record.replay {
                    match self.replay(&record, context).await {
                        Ok(()) => {
                            log.push(format!(
                                "restored session {} of {} by replay",
                                record.id, record.skill
                            ));
                            continue;
                        }
                        Err(e) => log.push(format!("session {} not restored: {e}", record.id)),
                    }
                    record.reason = Some("not restored after a daemon restart".into());
                } else if status == "live" {
                    record.reason = Some("the daemon that ran it stopped".into());
                } else {
                    continue;
                }
                record.status = "ended".into();
                record.ended_at_ms.get_or_insert_with(now_ms);
                record.pid = None;
                let _ = store.save_session(&record);
            }
        }
        log
    }

    async fn replay(
        &self,
        record: &SessionRecord,
        context: &(dyn Fn(&std::path::Path) -> Option<(Engine, Registry)> + Sync),
    ) -> Result<(), SessionError> {
        let start: SessionStart = serde_json::from_str(&record.start)
            .map_err(|e| SessionError::Refused(format!("its start request is unreadable: {e}")))?;
        let (engine, registry) = context(&start.caller_dir).ok_or_else(|| {
            SessionError::Refused(format!(
                "its directory {} is gone",
                start.caller_dir.display()
            ))
        })?;
        let turns = self.history(&record.id)?.1;
        let inputs: Vec<TurnRecord> = turns
            .into_iter()
            .filter(|t| t.outcome != "dead" && t.outcome != "timeout")
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
