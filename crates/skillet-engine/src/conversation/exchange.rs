//! One exchange of a conversation: the request (or its cached answer), the streamed reply,
//! and the turn kept in the store.

use std::time::{Duration, Instant};

use skillet_store::{TurnOutcome, TurnRecord, now_ms};

use super::participant::Noting;
use super::{
    Conversation, ConversationError, Engine, LlmError, Message, Participant, Reply, Shown, provider,
};

impl Engine {
    /// Sends `message`, keeps the exchange as a turn, and adds it to the conversation.
    pub(super) async fn exchange(
        &self,
        c: &mut Conversation<'_>,
        message: String,
        source: &str,
        participant: &mut dyn Participant,
    ) -> Result<Reply, ConversationError> {
        c.request.messages.push(Message::user(message.clone()));
        let started = now_ms();
        let clock = Instant::now();
        let mut notes = Vec::new();
        // A skill's `timeout` bounds each answer, retries included; a person's thinking time
        // between answers is not the skill's to limit.
        let limit = c.spec.timeout.map(Duration::from_secs);
        let (pending, hit) = match &c.cache {
            Some(cache) => match self.cached_answer(cache, &c.request, &mut c.warnings) {
                Ok(reply) => (None, Some(reply)),
                Err(pending) => (pending, None),
            },
            None => (None, None),
        };
        let from_cache = hit.is_some();
        let answer = if let Some(reply) = hit {
            participant.show(Shown::Text(&reply.text));
            Some(Ok(reply))
        } else {
            let mut noting = Noting {
                inner: participant,
                notes: &mut notes,
            };
            // What came before (the context, the prompt) was the conversation's own work.
            crate::insight::lap(crate::insight::Phase::Process);
            let asked = provider::ask(
                c.provider.as_ref(),
                &c.request,
                c.spec.retry.as_ref(),
                c.config.timeout,
                &mut noting,
            );
            let asked = match limit {
                Some(limit) => tokio::time::timeout(limit, asked).await.ok(),
                None => Some(asked.await),
            };
            c.llm_ms = c
                .llm_ms
                .saturating_add(u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX));
            crate::insight::lap(crate::insight::Phase::LlmRequest);
            asked
        };
        c.warnings.extend(notes);
        let mut turn = TurnRecord {
            session_id: c.record.id.clone(),
            seq: self.next_seq(&c.record.id, c.record.turns + 1)?,
            source: source.to_owned(),
            input: message,
            stdout: String::new(),
            stderr: String::new(),
            exit_status: None,
            outcome: TurnOutcome::Ok,
            started_at_ms: started,
            duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
            truncated: false,
        };
        let Some(answer) = answer else {
            c.request.messages.pop();
            let after = limit.unwrap_or_default();
            turn.outcome = TurnOutcome::Timeout;
            turn.stderr = format!("no whole answer within {} s", after.as_secs());
            self.add_turn(&turn)?;
            return Err(ConversationError::AnswerTimeout {
                after,
                session_id: c.record.id.clone(),
            });
        };
        match answer {
            Ok(reply) => {
                turn.stdout = reply.text.clone();
                turn.truncated =
                    matches!(reply.stop_reason.as_deref(), Some("length" | "max_tokens"));
                if turn.truncated {
                    c.warnings.push(format!(
                        "an answer was cut at [llm] max_tokens ({})",
                        c.config.max_tokens
                    ));
                }
                if let Some(usage) = reply.usage {
                    c.usage.input_tokens += usage.input_tokens;
                    c.usage.output_tokens += usage.output_tokens;
                }
                c.request
                    .messages
                    .push(Message::assistant(reply.text.clone()));
                if source != "summary" {
                    c.turns += 1;
                }
                if from_cache {
                    c.from_cache += 1;
                } else {
                    c.from_model += 1;
                    self.keep_answer(pending, &c.record.id, &reply, &mut c.warnings);
                }
                c.record.turns += 1;
                c.record.last_used_at_ms = now_ms();
                self.add_turn(&turn)?;
                self.save_session(&c.record)?;
                Ok(reply)
            }
            Err((error, attempts)) => {
                c.request.messages.pop();
                turn.outcome = if matches!(error, LlmError::Timeout { .. }) {
                    TurnOutcome::Timeout
                } else {
                    TurnOutcome::Error
                };
                turn.stderr = error.to_string();
                self.add_turn(&turn)?;
                Err(ConversationError::Llm {
                    source: error,
                    attempts,
                    session_id: c.record.id.clone(),
                    turns: c.turns,
                })
            }
        }
    }
}
