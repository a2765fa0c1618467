//! Why a request to a model failed, and whether another try could help.

use std::time::Duration;

/// A failed request. Messages name the provider's URL and model, never its key.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The server could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// Where.
        url: String,
        /// The transport's words.
        reason: String,
    },
    /// The server stayed silent longer than the configured timeout.
    #[error(
        "{url} said nothing for {} s; raise [llm] timeout_secs in skillet.toml if the model is just slow",
        .after.as_secs()
    )]
    Timeout {
        /// Where.
        url: String,
        /// The timeout that passed.
        after: Duration,
        /// Characters of the answer already streamed.
        streamed: usize,
    },
    /// The server answered with an error status.
    #[error("{url} answered {status}: {message}{}", hint(*.status))]
    Status {
        /// Where.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's error message, or the start of the body.
        message: String,
        /// How long the server asked to wait (`retry-after`).
        retry_after: Option<Duration>,
    },
    /// The answer's stream broke the format, or the provider reported an error inside it.
    #[error("the answer from {url} is not a valid {format} stream: {reason}")]
    Stream {
        /// Where.
        url: String,
        /// `chat.completion.chunk` or `Anthropic Messages` events.
        format: &'static str,
        /// What was wrong.
        reason: String,
        /// Characters of the answer already streamed.
        streamed: usize,
        /// Whether the provider itself reported a passing failure (`overloaded_error`).
        transient: bool,
    },
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            " (check the key in the variable named by [llm] api_key_env in the global skillet.toml)"
        }
        404 => " (check [llm] base_url and model in the global skillet.toml)",
        _ => "",
    }
}

impl LlmError {
    /// Whether the same request could succeed later: rate limits (429), server errors (5xx),
    /// a request timeout (408), a server that could not be reached or went silent, or a stream
    /// cut short by the provider's own passing failure. Never a refused key or a bad request.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Setup(_) => false,
            LlmError::Connect { .. } | LlmError::Timeout { .. } => true,
            LlmError::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            LlmError::Stream { transient, .. } => *transient,
        }
    }

    /// Characters of the answer streamed to the caller before the failure: a retry would show
    /// them again.
    pub fn streamed(&self) -> usize {
        match self {
            LlmError::Timeout { streamed, .. } | LlmError::Stream { streamed, .. } => *streamed,
            _ => 0,
        }
    }

    /// How long the server asked the caller to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
