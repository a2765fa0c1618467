//! Taking up a conversation kept in the store: its transcript becomes the model's context
//! again, and the participant's next message goes on from there.

use std::path::PathBuf;

use serde_json::Value;
use skillet_llm::{ChatRequest, Message, Usage};
use skillet_registry::Registry;
use skillet_store::{SessionStatus, TurnOutcome, now_ms};

use super::{
    Conversation, ConversationError, ConversationOutcome, DEFAULT_MAX_TURNS, Participant,
    SESSION_KIND, prompt,
};
use crate::engine::{AskedBy, Engine};
use crate::hint::Hint;
use crate::params::resolve_params;

impl Engine {
    /// Continues the conversation kept as session `id` with the participant's next messages,
    /// then sums it up again.
    ///
    /// `max_turns` overrides the skill's limit on the answers of the whole conversation;
    /// `asked_by` is kept in the history, as for [`Engine::converse`].
    pub async fn resume_conversation(
        &self,
        registry: &Registry,
        id: &str,
        max_turns: Option<u32>,
        asked_by: Option<AskedBy>,
        participant: &mut dyn Participant,
    ) -> Result<ConversationOutcome, ConversationError> {
        // Measured as every run is, for the spans its history row keeps.
        crate::Observe::new(false, false)
            .scope(self.resume_measured(registry, id, max_turns, asked_by, participant))
            .await
    }

    async fn resume_measured(
        &self,
        registry: &Registry,
        id: &str,
        max_turns: Option<u32>,
        asked_by: Option<AskedBy>,
        participant: &mut dyn Participant,
    ) -> Result<ConversationOutcome, ConversationError> {
        let started = now_ms();
        let store = self.settings.store.as_ref().ok_or_else(|| {
            ConversationError::refused(
                "conversations cannot be resumed: the history database is unavailable",
                None,
            )
        })?;
        let record = store.session(id)?.ok_or_else(|| {
            ConversationError::refused(format!("no session `{id}`"), Some(Hint::ListSessions))
        })?;
        let start: Value = serde_json::from_str(&record.start).unwrap_or_default();
        if start["kind"] != SESSION_KIND {
            return Err(ConversationError::refused(
                format!("session {id} is not a conversation"),
                Some(Hint::SendToSession {
                    session_id: id.to_owned(),
                }),
            ));
        }
        if record.status != SessionStatus::Open {
            return Err(ConversationError::refused(
                format!("session {id} is {}", record.status),
                Some(Hint::Converse {
                    skill: record.skill.clone(),
                }),
            ));
        }
        let (entry, spec) = self.conversation_skill(registry, &record.skill)?;
        let record = self.unexpired(spec, record)?;
        let params = start["params"].as_object().cloned().unwrap_or_default();
        let caller_dir = start["caller_dir"]
            .as_str()
            .map_or_else(PathBuf::new, PathBuf::from);
        let values =
            resolve_params(spec, &params, &caller_dir).map_err(ConversationError::InvalidParams)?;
        let (provider, config) = self.provider(spec, None)?;
        let (breaker, admitted) = self.admit_conversation(spec, &config)?;
        let mut messages = Vec::new();
        let mut unanswered_first = None;
        for turn in store.turns(&record.id)? {
            if turn.source == "summary" {
                continue;
            }
            if turn.outcome == TurnOutcome::Ok {
                messages.push(Message::user(turn.input));
                messages.push(Message::assistant(turn.stdout));
            } else if turn.source == "prompt" {
                unanswered_first = Some(turn.input);
            }
        }
        let turns = u32::try_from(messages.len() / 2).unwrap_or(u32::MAX);
        let max_turns = max_turns
            .or(spec.max_turns)
            .unwrap_or(DEFAULT_MAX_TURNS)
            .max(1);
        if turns >= max_turns {
            return Err(ConversationError::refused(
                format!("session {id} already has {turns} answers, its max_turns"),
                Some(Hint::RaiseMaxTurns {
                    session_id: id.to_owned(),
                    to: turns + 5,
                }),
            ));
        }
        // A conversation whose first request failed starts again from its first message.
        let (next, source) = match unanswered_first.filter(|_| messages.is_empty()) {
            Some(first) => (first, "prompt"),
            None => match participant.follow_up(turns, max_turns) {
                Some(next) => (next, "user"),
                None => {
                    return Err(ConversationError::refused(
                        format!("nothing was added to session {id}"),
                        Some(Hint::SessionLogs {
                            session_id: id.to_owned(),
                        }),
                    ));
                }
            },
        };
        let system = start["system"]
            .as_str()
            .map_or_else(|| prompt::system_prompt(spec), str::to_owned);
        let last_answer = messages
            .last()
            .map(|m: &Message| m.content.clone())
            .unwrap_or_default();
        let mut conversation = Conversation {
            spec,
            values,
            provider,
            config,
            record,
            request: ChatRequest {
                system: Some(system),
                messages,
            },
            turns,
            max_turns,
            last_answer,
            usage: Usage::default(),
            llm_ms: 0,
            warnings: admitted,
            // A resumed conversation goes on from an answer given before: always the model's.
            cache: None,
            from_cache: 0,
            from_model: 0,
        };
        let outcome = self
            .hold(&mut conversation, next, source, participant)
            .await;
        let outcome = self.settle_conversation(spec, breaker.as_ref(), outcome);
        self.record_conversation(
            &spec.name,
            Some(entry),
            &params,
            started,
            &outcome,
            &asked_by,
        );
        outcome
    }
}
