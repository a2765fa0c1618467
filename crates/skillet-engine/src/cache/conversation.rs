//! Caching conversations (see docs/cache.md, "Conversations"). A conversation skill with
//! `cache` is answered from the store only when the conversation can take no follow-up: its
//! `max_turns` (or `--max-turns`) is 1, so the whole conversation is the first message and its
//! answer (and the summary asked of it). The key is the skill's, as for any call, plus the
//! model, provider, its address and token limit, the system prompt, the parameters and the
//! first message, which holds the context files' text and the guided answers: a changed file
//! or answer is a new key. Only conversations that ended ok are kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use skillet_registry::SkillEntry;
use skillet_spec::SkillSpec;

use super::{CacheUse, Made, Pending};
use crate::conversation::{ConversationOutcome, ProviderConfig, Usage};
use crate::engine::{Engine, RunOverrides, RunRequest};
use crate::result::{ExecutionResult, Status};

/// What one conversation is, for its key.
pub(crate) struct ConversationCall<'a> {
    /// Where its requests go.
    pub(crate) config: &'a ProviderConfig,
    /// The instructions every request carries.
    pub(crate) system: &'a str,
    /// The first message, files and guided answers included.
    pub(crate) first: &'a str,
    /// The parameters as given (the summary's format may use them).
    pub(crate) params: &'a Map<String, Value>,
    /// Answers it may take.
    pub(crate) max_turns: u32,
    /// `--no-cache`, `--refresh`.
    pub(crate) cache: CacheUse,
}

/// What a kept conversation answers with.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    session_id: String,
    model: String,
    turns: u32,
    ended_by: String,
    last_answer: String,
    summary: String,
    context_files: Vec<String>,
}

impl Engine {
    /// Looks the conversation up: `Ok` is a hit, the stored outcome marked `cached`;
    /// `Err(Some(pending))` a miss to keep with [`Engine::conversation_cache_store`];
    /// `Err(None)` a conversation the cache stays out of (why, in `warnings`).
    pub(crate) fn conversation_cache_lookup(
        &self,
        entry: &SkillEntry,
        spec: &SkillSpec,
        call: &ConversationCall<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<ConversationOutcome, Option<Pending>> {
        if spec.cache.is_none() || call.cache == CacheUse::Off {
            return Err(None);
        }
        if call.max_turns != 1 {
            // A conversation that may go on has no one answer to keep.
            warnings.push(format!(
                "not cached: a conversation is cached only when it can take no follow-up \
                 (max_turns 1; this one allows {}); give `--max-turns 1` or set \
                 \"max_turns\": 1 in the skill",
                call.max_turns
            ));
            return Err(None);
        }
        let text = json!({
            "provider": call.config.kind.as_str(),
            "base_url": call.config.base_url,
            "model": call.config.model,
            "max_tokens": call.config.max_tokens,
            "system": call.system,
            "first": call.first,
            "params": call.params,
            "max_turns": call.max_turns,
        })
        .to_string();
        let mut request = RunRequest {
            overrides: RunOverrides {
                cache: call.cache,
                ..RunOverrides::default()
            },
            ..RunRequest::default()
        };
        let hit = self.cache_lookup(entry, spec, Made::Prompt(&text), &mut request, warnings)?;
        match serde_json::from_str::<Kept>(&hit.stdout) {
            Ok(kept) => Ok(ConversationOutcome {
                session_id: kept.session_id,
                skill: spec.name.clone(),
                model: kept.model,
                turns: kept.turns,
                max_turns: call.max_turns,
                ended_by: if kept.ended_by == "participant" {
                    "participant"
                } else {
                    "max_turns"
                },
                last_answer: kept.last_answer,
                summary: kept.summary,
                context_files: kept.context_files,
                usage: Usage::default(),
                warnings: vec![
                    "answered from the cache: the same conversation ended ok before; \
                     --refresh asks the model again"
                        .to_owned(),
                ],
                cached: true,
            }),
            // Not one this build wrote: ask the model, and keep the new answer.
            Err(_) => {
                let mut request = RunRequest {
                    overrides: RunOverrides {
                        cache: CacheUse::Refresh,
                        ..RunOverrides::default()
                    },
                    ..RunRequest::default()
                };
                match self.cache_lookup(entry, spec, Made::Prompt(&text), &mut request, warnings) {
                    Ok(_) => Err(None),
                    Err(pending) => Err(pending),
                }
            }
        }
    }

    /// Keeps a missed conversation's outcome when it ended ok (it did: there is an outcome).
    pub(crate) fn conversation_cache_store(
        &self,
        pending: Option<Pending>,
        outcome: &mut ConversationOutcome,
    ) {
        if pending.is_none() {
            return;
        }
        let kept = Kept {
            session_id: outcome.session_id.clone(),
            model: outcome.model.clone(),
            turns: outcome.turns,
            ended_by: outcome.ended_by.to_owned(),
            last_answer: outcome.last_answer.clone(),
            summary: outcome.summary.clone(),
            context_files: outcome.context_files.clone(),
        };
        let mut result = ExecutionResult::new(&outcome.skill, Status::Ok);
        result.stdout = serde_json::to_string(&kept).unwrap_or_default();
        result.exit_code = Some(0);
        result.execution_id = outcome.session_id.clone();
        self.cache_store(pending, &mut result);
        outcome.warnings.append(&mut result.warnings);
    }
}
