//! `conversation` skills: a guided exchange with a model, fed with project files, summed up at
//! the end.
//!
//! One run renders the skill's prompt with the parameters, chooses its context files (through
//! [`Engine::context`], so `skillet context` sees what changed since), puts the skill's
//! `guided_questions` to the [`Participant`] and adds the answers to the first message. The
//! model answers; the participant may follow up, until it stops or `max_turns` answers were
//! given. Then the summary: the skill's `completion.summary_prompt` (or, after more than one
//! answer, [`DEFAULT_SUMMARY_PROMPT`]) is asked of the model, and the answer is put into
//! `completion.summary_format`. A one-answer conversation with no summary prompt is its own
//! summary.
//!
//! Every exchange is a turn of a session in the store (status `open`), so `skillet session
//! logs` shows the conversation, `skillet session resume` continues it, and a failed request
//! loses nothing that was said before it. Keys are never stored: only what was said.

mod error;
mod exchange;
mod limits;
mod participant;
mod preview;
mod prompt;
mod provider;
mod record;
mod resume;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};
use skillet_registry::Registry;
use skillet_spec::{SkillKind, SkillSpec};
use skillet_store::{SessionRecord, SessionStatus, now_ms};

pub use error::ConversationError;
pub use participant::{Participant, ScriptedAnswers, Shown};
pub use preview::ConversationPreview;
pub use prompt::DEFAULT_SUMMARY_PROMPT;
pub use provider::{ChosenFile, LlmSetupError, ModelTransport, describe_llm, llm_base_url};
// A `ModelTransport` speaks these: its users need them without depending on skillet-llm.
pub use skillet_llm::{
    ApiKey, ChatProvider, ChatRequest, LlmError, Message, ProviderConfig, ProviderKind, Reply,
    Role, TextSink, Usage, connect, reach, redacted_url,
};

use crate::engine::{AskedBy, Engine};
use crate::hint::Hint;
use crate::params::{ParamValues, resolve_params};

/// Answers a conversation may take when its skill sets no `max_turns`.
pub const DEFAULT_MAX_TURNS: u32 = 10;

/// The `kind` a conversation's session records in its start, to tell it from a code session.
const SESSION_KIND: &str = "conversation";

/// One conversation to start.
#[derive(Debug, Clone, Default)]
pub struct ConversationRequest {
    /// Parameter values by name.
    pub params: Map<String, Value>,
    /// The caller's directory: relative `path` values are resolved against it.
    pub caller_dir: PathBuf,
    /// Overrides the skill's `max_turns` (`--max-turns`).
    pub max_turns: Option<u32>,
    /// Who asked, kept in the history; `None` for the command line.
    pub asked_by: Option<AskedBy>,
    /// How it uses the cache when its skill opts in (`--no-cache`, `--refresh`).
    pub cache: crate::cache::CacheUse,
}

/// How a conversation went.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationOutcome {
    /// The session it is kept as.
    pub session_id: String,
    /// The skill.
    pub skill: String,
    /// The model that answered.
    pub model: String,
    /// Answers the model gave, in all (the summary's not counted).
    pub turns: u32,
    /// The most it could give.
    pub max_turns: u32,
    /// `participant` (no more input) or `max_turns`.
    pub ended_by: &'static str,
    /// The model's last answer.
    pub last_answer: String,
    /// The summary returned to the caller.
    pub summary: String,
    /// The context files sent, relative to the workspace.
    pub context_files: Vec<String>,
    /// Tokens counted by the provider, this run.
    pub usage: Usage,
    /// Time spent waiting on the model, this run, in ms.
    pub llm_ms: u64,
    /// Things the caller should know: retries, unanswered questions.
    pub warnings: Vec<String>,
    /// Answered from the cache: no request was sent (see docs/cache.md).
    pub cached: bool,
}

/// A conversation in progress.
struct Conversation<'s> {
    spec: &'s SkillSpec,
    values: ParamValues,
    provider: Box<dyn ChatProvider>,
    config: ProviderConfig,
    record: SessionRecord,
    request: ChatRequest,
    turns: u32,
    max_turns: u32,
    last_answer: String,
    usage: Usage,
    /// Time spent waiting on the model.
    llm_ms: u64,
    warnings: Vec<String>,
    /// Where answers are looked up and kept, when the skill opts in.
    cache: Option<crate::cache::AnswerCache<'s>>,
    /// Answers (the summary's included) replayed from the cache, and asked of the model.
    from_cache: u32,
    from_model: u32,
}

impl Engine {
    /// Holds a conversation with the skill `name`: see the [module documentation](self). Kept
    /// in the execution history like any call, refusals included.
    pub async fn converse(
        &self,
        registry: &Registry,
        name: &str,
        request: ConversationRequest,
        participant: &mut dyn Participant,
    ) -> Result<ConversationOutcome, ConversationError> {
        self.converse_through(registry, name, request, participant, None)
            .await
    }

    /// [`Engine::converse`], its requests sent through `transport` instead of straight to the
    /// configured provider (see [`ModelTransport`]).
    pub async fn converse_through(
        &self,
        registry: &Registry,
        name: &str,
        request: ConversationRequest,
        participant: &mut dyn Participant,
        transport: Option<&dyn ModelTransport>,
    ) -> Result<ConversationOutcome, ConversationError> {
        // Measured as every run is, for the spans its history row keeps (`llm_request` among
        // them).
        let observe = crate::Observe::new(false, false);
        self.converse_observed(registry, name, request, participant, transport, &observe)
            .await
    }

    /// [`Engine::converse_through`], measured by `observe` (`skillet run --debug` or
    /// `--profile` of a conversation skill): [`Observe::reports`](crate::Observe::reports)
    /// then says which file answered, the parameters after checking, where the requests went
    /// and the time per phase (`llm_request` is the time waiting on the model).
    pub async fn converse_observed(
        &self,
        registry: &Registry,
        name: &str,
        request: ConversationRequest,
        participant: &mut dyn Participant,
        transport: Option<&dyn ModelTransport>,
        observe: &crate::Observe,
    ) -> Result<ConversationOutcome, ConversationError> {
        let started = now_ms();
        let params = request.params.clone();
        let asked_by = request.asked_by.clone();
        observe
            .scope(async {
                let outcome = self
                    .converse_unrecorded(registry, name, request, participant, transport)
                    .await;
                crate::insight::lap(crate::insight::Phase::Process);
                let entry = registry.resolve(name);
                self.record_conversation(name, entry, &params, started, &outcome, &asked_by);
                outcome
            })
            .await
    }

    async fn converse_unrecorded(
        &self,
        registry: &Registry,
        name: &str,
        request: ConversationRequest,
        participant: &mut dyn Participant,
        transport: Option<&dyn ModelTransport>,
    ) -> Result<ConversationOutcome, ConversationError> {
        let (entry, spec) = self.conversation_skill(registry, name)?;
        crate::insight::source(entry, name);
        let values = resolve_params(spec, &request.params, &request.caller_dir)
            .map_err(ConversationError::InvalidParams)?;
        crate::insight::params(spec, &request.params, &values);
        let (provider, config) = self.provider(spec, transport)?;
        self.check_open_conversations(spec)?;
        let (breaker, admitted) = self.admit_conversation(spec, &config)?;
        let files = match &spec.context_files {
            Some(_) => {
                self.context(registry, name, &request.params, &request.caller_dir)?
                    .selection
                    .files
            }
            None => Vec::new(),
        };
        if let Some(transport) = transport {
            let chosen: Vec<ChosenFile> = files.iter().map(ChosenFile::of).collect();
            transport.context_chosen(&chosen);
        }
        let mut warnings = admitted;
        if self.settings.store.is_none() {
            warnings.push(
                "this conversation is not kept (the history database is unavailable), so it cannot be resumed"
                    .to_owned(),
            );
        }
        let mut answers = Vec::new();
        for question in &spec.guided_questions {
            match participant.answer(question) {
                Some(answer) => answers.push((question.clone(), answer)),
                None => warnings.push(format!("guided question not answered: {question}")),
            }
        }
        let first = prompt::first_message(
            &files,
            &crate::invocation::render_prompt(
                spec,
                &crate::policy::real_path(entry.skill_dir()),
                &values,
            ),
            &answers,
        );
        // A skill that keeps state is told what its earlier conversations concluded.
        let notes = self.conversation_notes(registry, spec, &request.caller_dir, &mut warnings);
        let first = prompt::with_notes(notes.as_ref(), first);
        let system = prompt::system_prompt(spec);
        let max_turns = request
            .max_turns
            .or(spec.max_turns)
            .unwrap_or(DEFAULT_MAX_TURNS)
            .max(1);
        crate::insight::conversation(|| crate::ConversationView {
            provider: config.kind.as_str().to_owned(),
            model: config.model.clone(),
            endpoint: skillet_llm::redacted_url(&config.base_url),
            max_tokens: config.max_tokens,
            context_files: files.iter().map(|f| f.path.clone()).collect(),
            system_chars: system.chars().count(),
            first_message_chars: first.chars().count(),
            max_turns,
        });
        let cache = self.answer_cache(entry, spec, &config, request.cache);
        let now = now_ms();
        let record = SessionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            skill: spec.name.clone(),
            label: None,
            status: SessionStatus::Open,
            start: json!({
                "kind": SESSION_KIND,
                "params": request.params,
                "caller_dir": request.caller_dir,
                "system": system,
            })
            .to_string(),
            replay: false,
            pid: None,
            created_at_ms: now,
            last_used_at_ms: now,
            ended_at_ms: None,
            exit_code: None,
            reason: None,
            turns: 0,
        };
        self.save_session(&record)?;
        let mut conversation = Conversation {
            spec,
            values,
            provider,
            config,
            record,
            request: ChatRequest {
                system: Some(system),
                messages: Vec::new(),
            },
            turns: 0,
            max_turns,
            last_answer: String::new(),
            usage: Usage::default(),
            llm_ms: 0,
            warnings,
            cache,
            from_cache: 0,
            from_model: 0,
        };
        let outcome = self
            .hold(&mut conversation, first, "prompt", participant)
            .await
            .map(|mut o| {
                o.context_files = files.iter().map(|f| f.path.clone()).collect();
                if let Some(notes) = &notes {
                    o.warnings.extend(notes.add(&o.session_id, &o.summary));
                }
                o
            });
        // Nothing was asked of the model: nothing to tell its circuit breaker.
        let breaker = breaker.filter(|_| !matches!(&outcome, Ok(o) if o.cached));
        self.settle_conversation(spec, breaker.as_ref(), outcome)
    }

    /// The exchanges from `message` on, then the summary.
    async fn hold(
        &self,
        c: &mut Conversation<'_>,
        mut message: String,
        mut source: &'static str,
        participant: &mut dyn Participant,
    ) -> Result<ConversationOutcome, ConversationError> {
        let ended_by = loop {
            let reply = self.exchange(c, message, source, participant).await?;
            participant.show(Shown::AnswerEnd);
            c.last_answer = reply.text;
            if c.turns >= c.max_turns {
                break "max_turns";
            }
            match participant.follow_up(c.turns, c.max_turns) {
                Some(next) => {
                    message = next;
                    source = "user";
                }
                None => break "participant",
            }
        };
        let summary = match prompt::summary_prompt(c.spec, &c.values, c.turns) {
            Some(ask) => {
                participant.show(Shown::SummaryStart);
                let reply = self.exchange(c, ask, "summary", participant).await?;
                participant.show(Shown::AnswerEnd);
                // Not part of the conversation: a resumed one goes on from the last answer.
                c.request.messages.truncate(c.request.messages.len() - 2);
                reply.text
            }
            None => c.last_answer.clone(),
        };
        let summary = prompt::summary_text(c.spec, &c.values, &summary, &c.last_answer, c.turns);
        c.record.reason = Some(format!(
            "{} answer{}, open to be resumed",
            c.turns,
            if c.turns == 1 { "" } else { "s" },
        ));
        self.save_session(&c.record)?;
        c.warnings
            .extend(crate::cache::cache_note(c.from_cache, c.from_model));
        Ok(ConversationOutcome {
            session_id: c.record.id.clone(),
            skill: c.spec.name.clone(),
            model: c.provider.model().to_owned(),
            turns: c.turns,
            max_turns: c.max_turns,
            ended_by,
            last_answer: c.last_answer.clone(),
            summary,
            context_files: Vec::new(),
            usage: c.usage,
            llm_ms: c.llm_ms,
            warnings: std::mem::take(&mut c.warnings),
            cached: c.from_cache > 0 && c.from_model == 0,
        })
    }

    /// The valid, enabled conversation skill `name` names.
    pub(crate) fn conversation_skill<'r>(
        &self,
        registry: &'r Registry,
        name: &str,
    ) -> Result<(&'r skillet_registry::SkillEntry, &'r SkillSpec), ConversationError> {
        let (entry, spec) = self.usable(registry, name).map_err(|refused| {
            ConversationError::refused(refused.error.unwrap_or_default(), refused.hint)
        })?;
        if spec.kind != SkillKind::Conversation {
            return Err(ConversationError::refused(
                format!(
                    "`{}` is a {} skill, not a conversation",
                    spec.name, spec.kind
                ),
                Some(Hint::Run {
                    skill: spec.name.clone(),
                }),
            ));
        }
        Ok((entry, spec))
    }
}
