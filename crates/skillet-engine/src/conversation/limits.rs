//! What a skill's `circuit_breaker` and `session_config` ask of its conversations: no new one
//! while the circuit is open or `max_sessions` are open, none resumed past `session_timeout`
//! or `idle_timeout`.

use skillet_llm::ProviderConfig;
use skillet_spec::SkillSpec;
use skillet_store::{SessionRecord, SessionStatus, now_ms};

use super::{ConversationError, ConversationOutcome};
use crate::breaker::BreakerConfig;
use crate::engine::Engine;
use crate::hint::Hint;
use crate::result::Status;

impl Engine {
    /// Asks the skill's circuit breaker (if it has one) whether a conversation may start.
    pub(super) fn admit_conversation(
        &self,
        spec: &SkillSpec,
        config: &ProviderConfig,
    ) -> Result<(Option<BreakerConfig>, Vec<String>), ConversationError> {
        let breaker = spec
            .circuit_breaker
            .as_ref()
            .map(|cb| BreakerConfig::new(cb, config.timeout));
        let mut warnings = Vec::new();
        match self.admit(&spec.name, breaker.as_ref(), &mut warnings) {
            Some(refused) => Err(ConversationError::CircuitOpen(
                refused.error.unwrap_or_default(),
            )),
            None => Ok((breaker, warnings)),
        }
    }

    /// Tells the skill's circuit breaker how the conversation went.
    pub(super) fn settle_conversation(
        &self,
        spec: &SkillSpec,
        breaker: Option<&BreakerConfig>,
        mut outcome: Result<ConversationOutcome, ConversationError>,
    ) -> Result<ConversationOutcome, ConversationError> {
        if let Some(cfg) = breaker {
            let status = match &outcome {
                Ok(_) => Status::Ok,
                Err(e) => e.status(),
            };
            let mut notes = Vec::new();
            self.settle(&spec.name, status, cfg, &mut notes);
            if let Ok(o) = &mut outcome {
                o.warnings.extend(notes);
            }
        }
        outcome
    }

    /// Refuses a new conversation when the skill already has `session_config.max_sessions`
    /// open ones (expired ones are marked so first).
    pub(super) fn check_open_conversations(
        &self,
        spec: &SkillSpec,
    ) -> Result<(), ConversationError> {
        let (Some(store), Some(max)) = (
            &self.settings.store,
            spec.session_config.as_ref().and_then(|c| c.max_sessions),
        ) else {
            return Ok(());
        };
        let open = store.sessions(&skillet_store::SessionQuery {
            skill: Some(spec.name.clone()),
            status: Some(SessionStatus::Open),
            limit: 0,
        })?;
        let live = open
            .into_iter()
            .filter(|r| self.unexpired(spec, r.clone()).is_ok())
            .count();
        if live >= max as usize {
            return Err(ConversationError::refused(
                format!(
                    "`{}` already has {live} open conversation{} (its max_sessions)",
                    spec.name,
                    if live == 1 { "" } else { "s" },
                ),
                Some(Hint::CloseSession {
                    skill: spec.name.clone(),
                    or_replace_oldest: false,
                }),
            ));
        }
        Ok(())
    }

    /// `record`, unless it is past the skill's `session_timeout` (since it started) or
    /// `idle_timeout` (since its last answer): then it is marked `expired` and refused.
    pub(super) fn unexpired(
        &self,
        spec: &SkillSpec,
        mut record: SessionRecord,
    ) -> Result<SessionRecord, ConversationError> {
        let config = spec.session_config.as_ref();
        let now = now_ms();
        let secs = |ms: i64| ms / 1000;
        let over = [
            (
                config.and_then(|c| c.session_timeout),
                secs(now - record.created_at_ms),
                "session_timeout",
            ),
            (
                config.and_then(|c| c.idle_timeout),
                secs(now - record.last_used_at_ms),
                "idle_timeout",
            ),
        ]
        .into_iter()
        .find_map(|(limit, age, name)| {
            let limit = i64::try_from(limit?).ok()?;
            (age >= limit).then(|| format!("past its {name} of {limit} s"))
        });
        let Some(why) = over else {
            return Ok(record);
        };
        record.status = SessionStatus::Expired;
        record.reason = Some(why.clone());
        record.ended_at_ms = Some(now);
        self.save_session(&record)?;
        Err(ConversationError::refused(
            format!("session {} expired ({why})", record.id),
            Some(Hint::Converse {
                skill: spec.name.clone(),
            }),
        ))
    }
}
