//! Which provider to talk to, and how.

use std::fmt;
use std::time::Duration;

/// How long a server may stay silent (while connecting, or between two pieces of an answer)
/// before the request is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Most tokens asked of an answer when nothing is configured (Anthropic requires a number).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The two wire formats skillet speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI chat completions, also spoken by Ollama, vLLM, llama.cpp's server and LM Studio.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl ProviderKind {
    /// The base URL used when none is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com/v1",
        }
    }

    /// The name used in `skillet.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

/// An API key. It prints as `ApiKey(…)`, so it cannot end up in a log or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `text` holds the key, so a caller can refuse to keep text that would leak it
    /// (a recorded conversation) without ever seeing the key itself.
    pub fn appears_in(&self, text: &str) -> bool {
        !self.0.is_empty() && text.contains(self.0.as_str())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// Everything needed to reach one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The wire format.
    pub kind: ProviderKind,
    /// Where the API lives, up to and including its version (`https://api.openai.com/v1`,
    /// `http://127.0.0.1:11434/v1`); skillet appends `/chat/completions` or `/messages`.
    pub base_url: String,
    /// The model's name at that provider.
    pub model: String,
    /// Sent as a bearer token (OpenAI) or `x-api-key` (Anthropic); none for a local server.
    pub api_key: Option<ApiKey>,
    /// See [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Most tokens an answer may take.
    pub max_tokens: u32,
}

impl ProviderConfig {
    /// A configuration with the provider's default URL, no key and default limits.
    pub fn new(kind: ProviderKind, model: impl Into<String>) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: kind.default_base_url().to_owned(),
            model: model.into(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    /// The same, at another URL.
    pub fn with_base_url(mut self, url: impl Into<String>) -> ProviderConfig {
        self.base_url = url.into();
        self
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url.trim_end_matches('/'))
    }

    /// [`ProviderConfig::endpoint`] as messages name it: without the user, password, query or
    /// fragment `base_url` may carry (a proxy's credentials, a key in the query), which error
    /// messages, the history and logs must not keep.
    pub(crate) fn shown_endpoint(&self, path: &str) -> String {
        format!(
            "{}/{path}",
            crate::redacted_url(&self.base_url).trim_end_matches('/')
        )
    }
}
