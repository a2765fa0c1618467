//! LLM providers for `conversation` skills.
//!
//! This crate owns the wire: it turns a [`ChatRequest`] (a system prompt and messages) into an
//! HTTP request to an OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM,
//! llama.cpp's server, LM Studio) or to Anthropic's Messages API, reads the answer as a stream of
//! server-sent events, hands each piece of text to the caller as it arrives, and says, for every
//! failure, whether trying again could help ([`LlmError::is_retryable`]).
//!
//! It must not know about skills, retry on its own (the engine's retry plan decides, so one
//! schedule governs every retried thing in skillet; the one resend here is a request put in
//! the form a server asked for, `max_completion_tokens`), or keep anything: an API key lives in a
//! [`ApiKey`] that never prints, and no request or answer is logged here.
//!
//! ```no_run
//! # async fn f() -> Result<(), skillet_llm::LlmError> {
//! use skillet_llm::{ChatRequest, Message, ProviderConfig, ProviderKind, connect};
//! let config = ProviderConfig::new(ProviderKind::OpenAi, "llama3.2")
//!     .with_base_url("http://127.0.0.1:11434/v1");
//! let provider = connect(&config)?;
//! let request = ChatRequest {
//!     system: Some("Answer briefly.".into()),
//!     messages: vec![Message::user("What is a skill?")],
//! };
//! let reply = provider.chat(&request, &mut |text| print!("{text}")).await?;
//! println!("\n({} characters)", reply.text.len());
//! # Ok(()) }
//! ```

mod anthropic;
mod chat;
mod config;
mod error;
mod openai;
mod reach;
mod stream;

pub use chat::{ChatRequest, Message, Reply, Role, Usage};
pub use config::{ApiKey, DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT, ProviderConfig, ProviderKind};
pub use error::LlmError;
pub use reach::{reach, redacted_url};

use futures_util::future::BoxFuture;

/// Receives the answer's text piece by piece, as it streams in.
pub type TextSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// A chat model behind an HTTP API.
pub trait ChatProvider: Send + Sync {
    /// Sends `request`, streams the answer's text into `on_text`, and returns the whole answer.
    ///
    /// When it fails after some text was streamed, that text is in the error's
    /// [`LlmError::streamed`] count, so a caller knows a retry would repeat it.
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_text: TextSink<'a>,
    ) -> BoxFuture<'a, Result<Reply, LlmError>>;

    /// The model answers come from.
    fn model(&self) -> &str;
}

/// The provider `config` describes, ready to send requests.
pub fn connect(config: &ProviderConfig) -> Result<Box<dyn ChatProvider>, LlmError> {
    let http = reqwest::Client::builder()
        .connect_timeout(config.timeout)
        // Between two reads, not for the whole answer: a long answer streams for minutes, but
        // a server that says nothing for `timeout` has stalled.
        .read_timeout(config.timeout)
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Setup(e.to_string()))?;
    Ok(match config.kind {
        ProviderKind::OpenAi => Box::new(openai::OpenAi::new(http, config.clone())),
        ProviderKind::Anthropic => Box::new(anthropic::Anthropic::new(http, config.clone())),
    })
}
