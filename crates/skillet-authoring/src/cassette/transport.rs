//! The two [`ModelTransport`]s of conversation tests: [`Recorder`] passes every request to the
//! configured provider and keeps the exchange; [`Replayer`] answers every request from a
//! cassette and never reaches the network, stopping at the first request that differs.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};
use skillet_engine::conversation::{
    ApiKey, ChatProvider, ChatRequest, ChosenFile, ConversationError, LlmError, ModelTransport,
    ProviderConfig, ProviderKind, Reply, TextSink, Usage, connect,
};

use super::compare::{Difference, differences, file_differences, param_differences};
use super::{
    Cassette, CassetteError, Exchange, FORMAT, RecordedAnswer, RecordedFile, RecordedRequest,
};
use crate::expect::Mismatch;

type Answer<'a> = Pin<Box<dyn Future<Output = Result<Reply, LlmError>> + Send + 'a>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn chosen(files: &[ChosenFile]) -> Vec<RecordedFile> {
    files
        .iter()
        .map(|f| RecordedFile {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
        })
        .collect()
}

fn recorded(request: &ChatRequest, model: &str, max_tokens: u32) -> RecordedRequest {
    RecordedRequest {
        model: model.to_owned(),
        max_tokens,
        system: request.system.clone(),
        messages: request.messages.clone(),
    }
}

#[derive(Default)]
struct RecorderState {
    files: Vec<RecordedFile>,
    exchanges: Vec<Exchange>,
    key: Option<ApiKey>,
}

/// Sends each request to the provider `[llm]` configures and keeps the exchange.
#[derive(Default)]
pub struct Recorder {
    shared: Arc<Mutex<RecorderState>>,
}

impl Recorder {
    /// A recorder with nothing recorded yet.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The cassette of what was recorded, for test `test` of `skill` called with `params`.
    /// Refused when the configured key appears anywhere in it.
    pub fn cassette(
        &self,
        skill: &str,
        test: usize,
        params: &Map<String, Value>,
    ) -> Result<Cassette, CassetteError> {
        let recording = lock(&self.shared);
        let cassette = Cassette {
            format: FORMAT,
            skill: skill.to_owned(),
            test,
            params: params.clone(),
            context_files: recording.files.clone(),
            exchanges: recording.exchanges.clone(),
        };
        if let Some(key) = &recording.key
            && key.appears_in(&super::to_text(&cassette))
        {
            return Err(CassetteError::HoldsKey);
        }
        Ok(cassette)
    }
}

impl ModelTransport for Recorder {
    fn provider(
        &self,
        configured: Result<ProviderConfig, ConversationError>,
    ) -> Result<(Box<dyn ChatProvider>, ProviderConfig), ConversationError> {
        let config = configured?;
        let inner = connect(&config).map_err(|source| ConversationError::Llm {
            source,
            attempts: 0,
            session_id: String::new(),
            turns: 0,
        })?;
        lock(&self.shared).key.clone_from(&config.api_key);
        let provider = RecordingProvider {
            inner,
            shared: Arc::clone(&self.shared),
            max_tokens: config.max_tokens,
        };
        Ok((Box::new(provider), config))
    }

    fn context_chosen(&self, files: &[ChosenFile]) {
        lock(&self.shared).files = chosen(files);
    }
}

/// The provider a [`Recorder`] hands the engine.
struct RecordingProvider {
    inner: Box<dyn ChatProvider>,
    shared: Arc<Mutex<RecorderState>>,
    max_tokens: u32,
}

impl ChatProvider for RecordingProvider {
    fn chat<'a>(&'a self, request: &'a ChatRequest, on_text: TextSink<'a>) -> Answer<'a> {
        Box::pin(async move {
            let reply = self.inner.chat(request, on_text).await?;
            lock(&self.shared).exchanges.push(Exchange {
                request: recorded(request, self.inner.model(), self.max_tokens),
                answer: RecordedAnswer {
                    text: reply.text.clone(),
                    stop_reason: reply.stop_reason.clone(),
                    input_tokens: reply.usage.map(|u| u.input_tokens),
                    output_tokens: reply.usage.map(|u| u.output_tokens),
                },
            });
            Ok(reply)
        })
    }

    fn model(&self) -> &str {
        self.inner.model()
    }
}

struct ReplayState {
    cassette: Cassette,
    path: PathBuf,
    params: Map<String, Value>,
    files: Vec<RecordedFile>,
    next: usize,
    mismatch: Option<Mismatch>,
}

/// Answers each request from a cassette, offline, while the request is the one recorded.
pub struct Replayer {
    shared: Arc<Mutex<ReplayState>>,
    skill_model: Option<String>,
}

impl Replayer {
    /// Replays `cassette` (read from `path`, named in messages) for a test called with
    /// `params`. `skill_model` is the skill's own `model`, the one it asks for when `[llm]`
    /// is not usable here (a CI machine without a key).
    pub fn new(
        cassette: Cassette,
        path: PathBuf,
        params: Map<String, Value>,
        skill_model: Option<String>,
    ) -> Replayer {
        Replayer {
            shared: Arc::new(Mutex::new(ReplayState {
                cassette,
                path,
                params,
                files: Vec::new(),
                next: 0,
                mismatch: None,
            })),
            skill_model,
        }
    }

    /// Why the replay failed: a request differed, or fewer requests were sent than recorded.
    pub fn finish(&self) -> Option<Mismatch> {
        let replay = lock(&self.shared);
        if let Some(m) = &replay.mismatch {
            return Some(m.clone());
        }
        let recorded = replay.cassette.exchanges.len();
        (replay.next < recorded).then(|| {
            mismatch(
                &replay,
                replay.next + 1,
                &[Difference {
                    what: format!(
                        "the conversation ended after {} of the {recorded} recorded requests",
                        replay.next
                    ),
                    diff: None,
                }],
            )
        })
    }
}

fn mismatch(replay: &ReplayState, request: usize, found: &[Difference]) -> Mismatch {
    let what: Vec<&str> = found.iter().map(|d| d.what.as_str()).collect();
    let mut diff = String::new();
    for d in found {
        if let Some(text) = &d.diff {
            diff.push_str(&format!("{}:\n{text}", d.what));
        }
    }
    Mismatch {
        field: "cassette".to_owned(),
        message: format!(
            "request {request} differs from the cassette {}: {}; if the change is intended, \
             re-record with `skillet test --record {}`",
            replay.path.display(),
            what.join("; "),
            replay.cassette.skill
        ),
        diff: (!diff.is_empty()).then_some(diff),
    }
}

impl ModelTransport for Replayer {
    fn provider(
        &self,
        configured: Result<ProviderConfig, ConversationError>,
    ) -> Result<(Box<dyn ChatProvider>, ProviderConfig), ConversationError> {
        let replay = lock(&self.shared);
        let first = replay.cassette.exchanges.first().map(|e| &e.request);
        // What the skill asks for now: [llm] when it is usable, else what it names itself,
        // else what was recorded (a machine without [llm] cannot say otherwise).
        let config = configured.unwrap_or_else(|_| {
            let model = self
                .skill_model
                .clone()
                .or_else(|| first.map(|r| r.model.clone()))
                .unwrap_or_default();
            let mut config = ProviderConfig::new(ProviderKind::OpenAi, model);
            if let Some(r) = first {
                config.max_tokens = r.max_tokens;
            }
            config
        });
        let provider = Replaying {
            shared: Arc::clone(&self.shared),
            model: config.model.clone(),
            max_tokens: config.max_tokens,
        };
        Ok((Box::new(provider), config))
    }

    fn context_chosen(&self, files: &[ChosenFile]) {
        lock(&self.shared).files = chosen(files);
    }
}

/// The provider a [`Replayer`] hands the engine: it has no network client at all.
struct Replaying {
    shared: Arc<Mutex<ReplayState>>,
    model: String,
    max_tokens: u32,
}

impl ChatProvider for Replaying {
    fn chat<'a>(&'a self, request: &'a ChatRequest, on_text: TextSink<'a>) -> Answer<'a> {
        Box::pin(async move {
            let now = recorded(request, &self.model, self.max_tokens);
            let mut replay = lock(&self.shared);
            let n = replay.next;
            replay.next += 1;
            let mut found = Vec::new();
            if n == 0 {
                found.extend(param_differences(&replay.cassette.params, &replay.params));
                found.extend(file_differences(
                    &replay.cassette.context_files,
                    &replay.files,
                ));
            }
            let answer = match replay.cassette.exchanges.get(n) {
                Some(exchange) => {
                    found.extend(differences(&exchange.request, &now));
                    exchange.answer.clone()
                }
                None => {
                    found.push(Difference {
                        what: format!(
                            "request {} is new (the cassette holds {})",
                            n + 1,
                            replay.cassette.exchanges.len()
                        ),
                        diff: None,
                    });
                    RecordedAnswer {
                        text: String::new(),
                        stop_reason: None,
                        input_tokens: None,
                        output_tokens: None,
                    }
                }
            };
            if !found.is_empty() {
                let m = mismatch(&replay, n + 1, &found);
                let message = m.message.clone();
                replay.mismatch = Some(m);
                // Not retryable: the engine stops the conversation here.
                return Err(LlmError::Setup(format!(
                    "replaying a recorded conversation: {message}"
                )));
            }
            drop(replay);
            on_text(&answer.text);
            Ok(Reply {
                text: answer.text,
                stop_reason: answer.stop_reason,
                usage: match (answer.input_tokens, answer.output_tokens) {
                    (None, None) => None,
                    (i, o) => Some(Usage {
                        input_tokens: i.unwrap_or(0),
                        output_tokens: o.unwrap_or(0),
                    }),
                },
            })
        })
    }

    fn model(&self) -> &str {
        &self.model
    }
}
