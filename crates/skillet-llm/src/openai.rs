//! OpenAI chat completions, streamed: `POST {base_url}/chat/completions` answered by
//! `chat.completion.chunk` events and a final `[DONE]`.

use std::sync::atomic::{AtomicBool, Ordering};

use eventsource_stream::Event;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use crate::stream::{self, Decoder, Endpoint, Fault, preview};
use crate::{ChatProvider, ChatRequest, LlmError, ProviderConfig, Reply, TextSink, Usage};

pub(crate) struct OpenAi {
    http: reqwest::Client,
    config: ProviderConfig,
    url: String,
    /// `url` as messages name it (see [`ProviderConfig::shown_endpoint`]).
    shown_url: String,
    /// See [`ProviderConfig::secrets`].
    secrets: Vec<String>,
    /// Whether the answer's length is capped as `max_completion_tokens` rather than
    /// `max_tokens`. OpenAI's newer models (the o-series, GPT-5) refuse `max_tokens`; the
    /// servers that copy the API (Ollama, llama.cpp, older vLLM) only know `max_tokens`.
    completion_tokens: AtomicBool,
}

impl OpenAi {
    pub fn new(http: reqwest::Client, config: ProviderConfig) -> OpenAi {
        let url = config.endpoint("chat/completions");
        let shown_url = config.shown_endpoint("chat/completions");
        let secrets = config.secrets();
        let openai = reqwest::Url::parse(&config.base_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h == "api.openai.com"))
            .unwrap_or(false);
        OpenAi {
            http,
            config,
            url,
            shown_url,
            secrets,
            completion_tokens: AtomicBool::new(openai),
        }
    }

    fn request(&self, request: &ChatRequest) -> reqwest::RequestBuilder {
        let http = self
            .http
            .post(&self.url)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&self.body(request));
        match &self.config.api_key {
            Some(key) => http.bearer_auth(key.expose()),
            None => http,
        }
    }

    /// The request body: the system prompt, when there is one, is the first message.
    fn body(&self, request: &ChatRequest) -> serde_json::Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.extend(
            request
                .messages
                .iter()
                .map(|m| json!({"role": m.role, "content": m.content})),
        );
        let cap = if self.completion_tokens.load(Ordering::Relaxed) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "stream": true,
        });
        body[cap] = json!(self.config.max_tokens);
        body
    }
}

impl ChatProvider for OpenAi {
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_text: TextSink<'a>,
    ) -> BoxFuture<'a, Result<Reply, LlmError>> {
        Box::pin(async move {
            let endpoint = Endpoint {
                url: &self.shown_url,
                timeout: self.config.timeout,
                secrets: &self.secrets,
            };
            let response = match stream::send(self.request(request), &endpoint).await {
                // Not a retry of a failure that may pass: the same request in the form this
                // server asked for, once, and that form kept for the requests after it.
                Err(LlmError::Status {
                    status: 400,
                    message,
                    ..
                }) if message.contains("max_completion_tokens")
                    && !self.completion_tokens.swap(true, Ordering::Relaxed) =>
                {
                    stream::send(self.request(request), &endpoint).await?
                }
                sent => sent?,
            };
            stream::read(response, &endpoint, Chunks::default(), on_text).await
        })
    }

    fn model(&self) -> &str {
        &self.config.model
    }
}

/// The state of one streamed answer.
#[derive(Default)]
struct Chunks {
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<ChunkUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
struct Delta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl Decoder for Chunks {
    const FORMAT: &'static str = "chat.completion.chunk";

    fn event(&mut self, event: &Event) -> Result<(Option<String>, bool), Fault> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok((None, true));
        }
        if data.is_empty() {
            return Ok((None, false));
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| Fault::new(format!("{e} in the event `{}`", preview(data))))?;
        if let Some(error) = chunk.error {
            let message = stream::error_message(&json!({ "error": error }).to_string());
            return Err(Fault::new(format!(
                "the server reported an error: {}",
                message.unwrap_or_else(|| error.to_string())
            )));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                input_tokens: usage.prompt_tokens,
                output_tokens: usage.completion_tokens,
            });
        }
        let mut text: Option<String> = None;
        for choice in chunk.choices {
            if let Some(content) = choice.delta.content {
                text.get_or_insert_with(String::new).push_str(&content);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok((text, false))
    }

    fn ended(&self) -> Result<(), Fault> {
        // Some servers close the stream after the finishing chunk without `[DONE]`; the
        // answer is whole all the same.
        match self.finish_reason {
            Some(_) => Ok(()),
            None => Err(Fault {
                reason: "the stream ended before the answer finished (no finish_reason, no [DONE])"
                    .into(),
                transient: true,
            }),
        }
    }

    fn into_reply(self, text: String) -> Reply {
        Reply {
            text,
            stop_reason: self.finish_reason,
            usage: self.usage,
        }
    }
}
