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
        // The path goes before a query the address may carry (`…/v1?key=K`), not after it.
        let (base, query) = match self.base_url.find(['?', '#']) {
            Some(at) => self.base_url.split_at(at),
            None => (self.base_url.as_str(), ""),
        };
        format!("{}/{path}{query}", base.trim_end_matches('/'))
    }

    /// What this configuration holds that a server may echo back in an error (the key, the
    /// address's password, the values of its query, the `Basic` header made of its user and
    /// password), so that messages and the history never keep it. Values under 4 characters
    /// are left out: replacing them would blank ordinary words and hide nothing.
    pub(crate) fn secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        let mut secrets: Vec<String> = Vec::new();
        if let Some(key) = &self.api_key {
            secrets.push(key.expose().to_owned());
        }
        if let Ok(url) = url::Url::parse(&self.base_url) {
            if let Some(password) = url.password() {
                // As written (percent-encoded) and as sent; the `Basic` header of either.
                let decode = |part: &str| {
                    url::form_urlencoded::parse(format!("p={part}").as_bytes())
                        .next()
                        .map_or_else(|| part.to_owned(), |(_, v)| v.into_owned())
                };
                for (user, password) in [
                    (url.username().to_owned(), password.to_owned()),
                    (decode(url.username()), decode(password)),
                ] {
                    let basic = base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{password}"));
                    secrets.extend([password, basic]);
                }
            }
            for (_, value) in url.query_pairs() {
                secrets.push(value.into_owned());
            }
            if let Some(query) = url.query() {
                secrets.extend(
                    query
                        .split('&')
                        .filter_map(|p| p.split_once('='))
                        .map(|(_, v)| v.to_owned()),
                );
            }
        }
        secrets.retain(|s| s.chars().count() >= 4);
        // Longest first, so that a value inside another is not replaced first; equal values
        // side by side, so each is kept once.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        secrets
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

#[cfg(test)]
mod tests {
    use super::{ApiKey, ProviderConfig, ProviderKind};

    fn at(url: &str) -> ProviderConfig {
        ProviderConfig::new(ProviderKind::OpenAi, "m").with_base_url(url)
    }

    #[test]
    fn the_path_goes_before_the_query_and_messages_name_neither_query_nor_password() {
        let c = at("http://u:p%40ss@127.0.0.1:8/v1/?key=k123#frag");
        assert_eq!(
            c.endpoint("chat/completions"),
            "http://u:p%40ss@127.0.0.1:8/v1/chat/completions?key=k123#frag"
        );
        assert_eq!(
            c.shown_endpoint("chat/completions"),
            "http://127.0.0.1:8/v1/chat/completions"
        );
        assert_eq!(
            at("http://h/v1").endpoint("messages"),
            "http://h/v1/messages"
        );
    }

    #[test]
    fn the_secrets_a_server_could_echo_are_the_key_password_query_and_basic_header() {
        let mut c = at("http://alice:p%40ssword1@h/v1?key=q1w2e3r4&x=on");
        c.api_key = Some(ApiKey::new("sk-0123456789"));
        let secrets = c.secrets();
        for s in [
            "sk-0123456789",
            "p%40ssword1",
            "p@ssword1",
            "q1w2e3r4",
            // base64("alice:p@ssword1"), the header reqwest sends.
            "YWxpY2U6cEBzc3dvcmQx",
        ] {
            assert!(secrets.iter().any(|x| x == s), "{s} missing: {secrets:?}");
        }
        assert!(
            !secrets.iter().any(|x| x == "on"),
            "too short to hide anything"
        );
        assert!(at("http://h/v1").secrets().is_empty());
    }
}
