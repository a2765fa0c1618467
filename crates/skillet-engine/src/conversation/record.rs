//! What a conversation leaves in the store: its session row, one turn per exchange, and a row
//! in the execution history like any other call.

use serde_json::{Map, Value};
use skillet_store::{SessionRecord, StoreError, TurnRecord, now_ms};

use super::{ConversationError, ConversationOutcome};
use crate::engine::{AskedBy, Engine};
use crate::result::{ExecutionResult, Status};

impl Engine {
    pub(crate) fn save_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        match &self.settings.store {
            Some(store) => store.save_session(record),
            None => Ok(()),
        }
    }

    pub(super) fn add_turn(&self, turn: &TurnRecord) -> Result<(), StoreError> {
        match &self.settings.store {
            Some(store) => store.add_turn(turn),
            None => Ok(()),
        }
    }

    /// The next turn number of a stored session (failed exchanges take numbers too), or
    /// `unstored` without a store. A failed read is an error, not a guess: a guessed number could
    /// replace a turn already kept.
    pub(super) fn next_seq(&self, id: &str, unstored: i64) -> Result<i64, StoreError> {
        let Some(store) = self.settings.store.as_ref() else {
            return Ok(unstored);
        };
        let turns = store.turns(id)?;
        Ok(turns.iter().map(|t| t.seq).max().unwrap_or(0) + 1)
    }

    /// Keeps the conversation's run in the execution history, like any other call.
    pub(super) fn record_conversation(
        &self,
        name: &str,
        entry: Option<&skillet_registry::SkillEntry>,
        params: &Map<String, Value>,
        started_at_ms: i64,
        outcome: &Result<ConversationOutcome, ConversationError>,
        asked_by: &Option<AskedBy>,
    ) {
        let mut result = match outcome {
            Ok(o) => {
                let mut r = ExecutionResult::new(&o.skill, Status::Ok);
                r.stdout = o.summary.clone();
                r.cached = o.cached;
                // A conversation answered wholly from the cache asked nothing.
                r.llm = (!o.cached).then_some(crate::result::LlmUse {
                    input_tokens: o.usage.input_tokens,
                    output_tokens: o.usage.output_tokens,
                    request_ms: o.llm_ms,
                });
                r
            }
            Err(e) => ExecutionResult::new(entry.map_or(name, |e| e.name.as_str()), e.status())
                .with_error(e.to_string()),
        };
        result.duration_ms = u64::try_from(now_ms() - started_at_ms).unwrap_or(0);
        self.record(
            &mut result,
            entry,
            &Value::Object(params.clone()),
            started_at_ms,
            None,
            asked_by.as_ref(),
        );
    }
}
