//! Caching conversations answer by answer (see docs/cache.md, "Conversations"). A
//! conversation skill with `cache` keeps each answer of the model under a key that covers
//! everything that answer depends on as far as skillet can know: the skill's key (its file or
//! folder, `key_files`, `key_env`), the provider, its address, the model, the token limit, the
//! system prompt, and the whole transcript sent with the request: the first message (context
//! files' text, rendered prompt, guided answers, notes), every answer before it and every
//! follow-up the participant wrote. A repeated conversation with the same follow-ups is
//! replayed from the cache turn by turn; one that diverges reaches a key never seen, and goes
//! to the model from there on. An answer is kept as soon as it arrives whole, whatever happens
//! to the conversation later: it is the model's answer to exactly that request.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use skillet_registry::SkillEntry;
use skillet_spec::SkillSpec;

use super::{CacheUse, Made, Pending};
use crate::conversation::{ChatRequest, ProviderConfig, Reply};
use crate::engine::{Engine, RunOverrides, RunRequest};
use crate::result::{ExecutionResult, Status};

/// How one conversation uses the cache: set up once, used for every answer.
pub(crate) struct AnswerCache<'a> {
    entry: &'a SkillEntry,
    spec: &'a SkillSpec,
    /// Where the requests go: the part of every key that is not the transcript.
    endpoint: Value,
    /// `--refresh` asks the model every time and keeps the new answers.
    use_: CacheUse,
}

/// What a kept answer holds.
#[derive(Debug, Serialize, Deserialize)]
struct KeptAnswer {
    text: String,
    stop_reason: Option<String>,
}

/// What a conversation that took `from_cache` answers from the cache and `from_model` from the
/// model says about it, if anything.
pub(crate) fn cache_note(from_cache: u32, from_model: u32) -> Option<String> {
    match (from_cache, from_model) {
        (0, _) => None,
        (_, 0) => Some(
            "answered from the cache: the same conversation, with the same follow-ups, was \
             held before; --refresh asks the model again"
                .to_owned(),
        ),
        (cached, asked) => Some(format!(
            "{cached} of {} answers came from the cache; from where this conversation differs \
             from the one kept, the model was asked",
            cached + asked
        )),
    }
}

impl Engine {
    /// The cache of a conversation of `spec`, or `None` when it stays out (no `cache` block,
    /// or `--no-cache`).
    pub(crate) fn answer_cache<'a>(
        &self,
        entry: &'a SkillEntry,
        spec: &'a SkillSpec,
        config: &ProviderConfig,
        use_: CacheUse,
    ) -> Option<AnswerCache<'a>> {
        if spec.cache.is_none() || use_ == CacheUse::Off {
            return None;
        }
        Some(AnswerCache {
            entry,
            spec,
            endpoint: json!({
                "provider": config.kind.as_str(),
                "base_url": config.base_url,
                "model": config.model,
                "max_tokens": config.max_tokens,
            }),
            use_,
        })
    }

    /// The kept answer to `request` (its last message is the one to answer): `Ok` is a hit;
    /// `Err(Some(pending))` a miss whose answer [`Engine::keep_answer`] keeps; `Err(None)` an
    /// answer the cache stays out of (why, in `warnings`, once).
    pub(crate) fn cached_answer(
        &self,
        cache: &AnswerCache<'_>,
        request: &ChatRequest,
        warnings: &mut Vec<String>,
    ) -> Result<Reply, Option<Pending>> {
        let text = json!({
            "conversation_answer": cache.endpoint,
            "system": request.system,
            "messages": request.messages,
        })
        .to_string();
        let mut notes = Vec::new();
        let looked = self.look_up(cache, &text, cache.use_, &mut notes);
        for note in notes {
            // Every answer would say the same.
            if !warnings.contains(&note) {
                warnings.push(note);
            }
        }
        let hit = looked?;
        match serde_json::from_str::<KeptAnswer>(&hit.stdout) {
            Ok(kept) => Ok(Reply {
                text: kept.text,
                stop_reason: kept.stop_reason,
                usage: None,
            }),
            // Not one this build wrote: ask the model, and keep the new answer.
            Err(_) => match self.look_up(cache, &text, CacheUse::Refresh, warnings) {
                Ok(_) => Err(None),
                Err(pending) => Err(pending),
            },
        }
    }

    fn look_up(
        &self,
        cache: &AnswerCache<'_>,
        text: &str,
        use_: CacheUse,
        warnings: &mut Vec<String>,
    ) -> Result<ExecutionResult, Option<Pending>> {
        let mut run = RunRequest {
            overrides: RunOverrides {
                cache: use_,
                ..RunOverrides::default()
            },
            ..RunRequest::default()
        };
        self.cache_lookup(
            cache.entry,
            cache.spec,
            Made::Prompt(text),
            &mut run,
            warnings,
        )
    }

    /// Keeps the model's whole answer to a missed request.
    pub(crate) fn keep_answer(
        &self,
        pending: Option<Pending>,
        session_id: &str,
        reply: &Reply,
        warnings: &mut Vec<String>,
    ) {
        let Some(pending) = pending else {
            return;
        };
        let kept = KeptAnswer {
            text: reply.text.clone(),
            stop_reason: reply.stop_reason.clone(),
        };
        let mut result = ExecutionResult::new(&pending.skill, Status::Ok);
        result.stdout = serde_json::to_string(&kept).unwrap_or_default();
        result.exit_code = Some(0);
        result.execution_id = session_id.to_owned();
        self.cache_store(Some(pending), &mut result);
        for note in result.warnings {
            if !warnings.contains(&note) {
                warnings.push(note);
            }
        }
    }
}
