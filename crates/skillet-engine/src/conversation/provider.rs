//! From `[llm]` and a skill to a provider, and one request to it under the engine's retry plan.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skillet_llm::{
    ApiKey, ChatProvider, ChatRequest, LlmError, ProviderConfig, ProviderKind, Reply,
};
use skillet_registry::{LlmProvider, LlmSettings};
use skillet_spec::{Retry, SkillSpec};

use super::ConversationError;
use super::participant::{Participant, Shown};
use crate::engine::Engine;
use crate::recovery::{DEFAULT_MAX_ATTEMPTS, RetryPlan};

/// The longest wait a server's `retry-after` is honoured for; past it, the call fails instead
/// of hanging.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl Engine {
    /// The provider a conversation of `spec` talks to: `transport`'s when one stands between
    /// (tests, replays), else the one `[llm]` describes.
    pub(super) fn provider(
        &self,
        spec: &SkillSpec,
        transport: Option<&dyn ModelTransport>,
    ) -> Result<(Box<dyn ChatProvider>, ProviderConfig), ConversationError> {
        let config = provider_config(self.settings.llm.as_ref(), spec, &self.config_file());
        if let Some(transport) = transport {
            return transport.provider(config);
        }
        let config = config?;
        let provider = skillet_llm::connect(&config).map_err(|source| ConversationError::Llm {
            source,
            attempts: 0,
            session_id: String::new(),
            turns: 0,
        })?;
        Ok((provider, config))
    }

    /// The global `skillet.toml`, named in errors about `[llm]`.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.settings.protected.first().map_or_else(
            || PathBuf::from("the global skillet.toml"),
            |dir| dir.join(skillet_registry::CONFIG_FILE),
        )
    }
}

/// The provider `settings` describe, for `spec` (whose `model` overrides the configured one).
/// `config_file` is named in errors, so the user knows which file to edit.
pub(crate) fn provider_config(
    settings: Option<&LlmSettings>,
    spec: &SkillSpec,
    config_file: &Path,
) -> Result<ProviderConfig, ConversationError> {
    let file = config_file.display().to_string();
    let settings = settings.ok_or_else(|| ConversationError::NoProvider { file: file.clone() })?;
    let kind = kind_of(settings);
    let model = spec
        .model
        .clone()
        .or_else(|| settings.model.clone())
        .ok_or_else(|| ConversationError::NoModel { file: file.clone() })?;
    let mut config = ProviderConfig::new(kind, model);
    if let Some(url) = &settings.base_url {
        config.base_url = url.clone();
    }
    if let Some(secs) = settings.timeout_secs {
        config.timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(tokens) = settings.max_tokens {
        config.max_tokens = tokens.max(1);
    }
    if let Some(var) = &settings.api_key_env {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => config.api_key = Some(ApiKey::new(key.trim())),
            _ => {
                return Err(ConversationError::MissingKey {
                    var: var.clone(),
                    file,
                });
            }
        }
    }
    Ok(config)
}

/// Stands between a conversation and its model. `skillet test` records a conversation's
/// exchanges through one (wrapping the configured provider) and replays them offline through
/// another (answering every request itself); everything else (the prompt, the context
/// selection, the turns, the summary, the history) runs as in any conversation, so a replay
/// sees exactly the requests a real run would send.
pub trait ModelTransport: Send + Sync {
    /// The provider the conversation's requests go to, and the settings it runs under.
    /// `configured` is what `[llm]` describes for the skill, or why it cannot be used: a
    /// transport that never reaches the network may do without it.
    fn provider(
        &self,
        configured: Result<ProviderConfig, ConversationError>,
    ) -> Result<(Box<dyn ChatProvider>, ProviderConfig), ConversationError>;

    /// The context files chosen for the first message, told before any request is sent.
    fn context_chosen(&self, files: &[ChosenFile]) {
        let _ = files;
    }
}

/// A context file a conversation quotes, as a [`ModelTransport`] is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenFile {
    /// Relative to the workspace root, `/`-separated.
    pub path: String,
    /// SHA-256 of the text quoted (after any cut to the token budget), in hex.
    pub sha256: String,
}

impl ChosenFile {
    pub(crate) fn of(file: &crate::context::ContextFile) -> ChosenFile {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        let mut sha256 = String::with_capacity(64);
        for b in sha2::Sha256::digest(file.text.as_bytes()) {
            let _ = write!(sha256, "{b:02x}");
        }
        ChosenFile {
            path: file.path.clone(),
            sha256,
        }
    }
}

/// Why conversations cannot run with the `[llm]` configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmSetupError {
    /// The global `skillet.toml` has no `[llm]`.
    #[error("not configured: conversation skills need [llm] in the global skillet.toml")]
    NotConfigured,
    /// `api_key_env` names a variable that is not set (or is blank).
    #[error("{provider} at {url}: the key variable ${var} is not set")]
    MissingKey {
        /// The provider's kind (`openai`, `anthropic`).
        provider: &'static str,
        /// Where requests would go.
        url: String,
        /// The variable.
        var: String,
    },
}

fn kind_of(settings: &LlmSettings) -> ProviderKind {
    match settings.provider {
        LlmProvider::OpenAi => ProviderKind::OpenAi,
        LlmProvider::Anthropic => ProviderKind::Anthropic,
    }
}

/// Where `[llm]` sends requests: its `base_url`, or its provider's default.
pub fn llm_base_url(settings: &LlmSettings) -> String {
    settings
        .base_url
        .clone()
        .unwrap_or_else(|| kind_of(settings).default_base_url().to_owned())
}

/// What `[llm]` sets up, in one line for `skillet doctor`, or why conversations cannot run.
pub fn describe_llm(settings: Option<&LlmSettings>) -> Result<String, LlmSetupError> {
    let settings = settings.ok_or(LlmSetupError::NotConfigured)?;
    let kind = kind_of(settings);
    // Shown by `skillet doctor`: never the user, password or query the address may carry.
    let url = &skillet_llm::redacted_url(&llm_base_url(settings));
    let model = settings
        .model
        .as_deref()
        .unwrap_or("no model (each skill must name its own)");
    let key = match &settings.api_key_env {
        None => "no key".to_owned(),
        Some(var) if std::env::var(var).is_ok_and(|k| !k.trim().is_empty()) => {
            format!("key from ${var}")
        }
        Some(var) => {
            return Err(LlmSetupError::MissingKey {
                provider: kind.as_str(),
                url: url.to_owned(),
                var: var.clone(),
            });
        }
    };
    Ok(format!("{} {model} at {url}, {key}", kind.as_str()))
}

/// One request, retried after passing failures (429, 5xx, timeouts, lost connections) on the
/// skill's `retry` schedule, or three attempts when it has none. Never retried once text was
/// shown: the participant would see it twice. Returns the answer, or the last error and how
/// many attempts were made.
pub(crate) async fn ask(
    provider: &dyn ChatProvider,
    request: &ChatRequest,
    retry: Option<&Retry>,
    timeout: Duration,
    participant: &mut dyn Participant,
) -> Result<Reply, (LlmError, u32)> {
    let default = Retry {
        max_attempts: Some(DEFAULT_MAX_ATTEMPTS),
        initial_backoff_ms: None,
        max_backoff_ms: None,
        retry_on_exit_codes: Vec::new(),
    };
    let mut plan = RetryPlan::new(Some(retry.unwrap_or(&default)), timeout, Instant::now());
    let mut attempt = 1;
    loop {
        let answer = provider
            .chat(request, &mut |text| participant.show(Shown::Text(text)))
            .await;
        let error = match answer {
            Ok(reply) => return Ok(reply),
            Err(e) => e,
        };
        if attempt >= plan.max_attempts || !error.is_retryable() || error.streamed() > 0 {
            return Err((error, attempt));
        }
        let Some(backoff) = plan.next_delay(Instant::now()) else {
            return Err((error, attempt));
        };
        let delay = match error.retry_after() {
            Some(asked) if asked > MAX_RETRY_AFTER => return Err((error, attempt)),
            Some(asked) => asked.max(backoff),
            None => backoff,
        };
        participant.show(Shown::Note(&format!(
            "attempt {attempt} of {}: {error}; trying again in {} ms",
            plan.max_attempts,
            delay.as_millis()
        )));
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_is_told_the_hash_of_the_text_sent() {
        let file = crate::context::ContextFile {
            path: "src/a.rs".into(),
            absolute: "/w/src/a.rs".into(),
            size: 3,
            modified_ms: 0,
            why: "matched",
            text: "abc".into(),
            truncated_lines: None,
        };
        let chosen = ChosenFile::of(&file);
        assert_eq!(chosen.path, "src/a.rs");
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            chosen.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn why_conversations_cannot_run_is_typed() {
        assert_eq!(describe_llm(None), Err(LlmSetupError::NotConfigured));
        let settings = LlmSettings {
            provider: LlmProvider::OpenAi,
            base_url: Some("http://127.0.0.1:9/v1".into()),
            model: Some("m".into()),
            api_key_env: Some("SKILLET_TEST_KEY_THAT_IS_NEVER_SET".into()),
            timeout_secs: None,
            max_tokens: None,
        };
        let err = describe_llm(Some(&settings)).unwrap_err();
        assert!(
            matches!(&err, LlmSetupError::MissingKey { var, .. } if var == "SKILLET_TEST_KEY_THAT_IS_NEVER_SET"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "openai at http://127.0.0.1:9/v1: the key variable $SKILLET_TEST_KEY_THAT_IS_NEVER_SET is not set"
        );
    }
}
