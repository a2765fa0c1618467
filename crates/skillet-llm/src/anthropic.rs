//! Anthropic Messages, streamed: `POST {base_url}/messages` answered by `message_start`,
//! `content_block_delta`, `message_delta` and `message_stop` events.

use eventsource_stream::Event;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use crate::stream::{self, Decoder, Endpoint, Fault, preview};
use crate::{ChatProvider, ChatRequest, LlmError, ProviderConfig, Reply, TextSink, Usage};

/// The API version skillet speaks; Anthropic requires it on every request.
const API_VERSION: &str = "2023-06-01";

pub(crate) struct Anthropic {
    http: reqwest::Client,
    config: ProviderConfig,
    url: String,
    /// `url` as messages name it (see [`ProviderConfig::shown_endpoint`]).
    shown_url: String,
    /// See [`ProviderConfig::secrets`].
    secrets: Vec<String>,
}

impl Anthropic {
    pub fn new(http: reqwest::Client, config: ProviderConfig) -> Anthropic {
        let url = config.endpoint("messages");
        let shown_url = config.shown_endpoint("messages");
        let secrets = config.secrets();
        Anthropic {
            http,
            config,
            url,
            shown_url,
            secrets,
        }
    }

    fn body(&self, request: &ChatRequest) -> serde_json::Value {
        let messages: Vec<_> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "messages": messages,
            "stream": true,
        });
        if let Some(system) = &request.system {
            body["system"] = json!(system);
        }
        body
    }
}

impl ChatProvider for Anthropic {
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
            let mut http = self
                .http
                .post(&self.url)
                .header("anthropic-version", API_VERSION)
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .json(&self.body(request));
            if let Some(key) = &self.config.api_key {
                http = http.header("x-api-key", key.expose());
            }
            let response = stream::send(http, &endpoint).await?;
            stream::read(response, &endpoint, Events::default(), on_text).await
        })
    }

    fn model(&self) -> &str {
        &self.config.model
    }
}

/// The state of one streamed answer.
#[derive(Default)]
struct Events {
    stop_reason: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockDelta {
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDelta,
        usage: Option<DeltaUsage>,
    },
    MessageStop,
    Error {
        error: ErrorBody,
    },
    // content_block_start, content_block_stop, ping, and whatever Anthropic adds later.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<StartUsage>,
}

#[derive(Deserialize)]
struct StartUsage {
    input_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    // Tool-input and thinking deltas carry no answer text.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct DeltaUsage {
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

impl Decoder for Events {
    const FORMAT: &'static str = "Anthropic Messages";

    fn event(&mut self, event: &Event) -> Result<(Option<String>, bool), Fault> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok((None, false));
        }
        let payload: Payload = serde_json::from_str(data)
            .map_err(|e| Fault::new(format!("{e} in the event `{}`", preview(data))))?;
        match payload {
            Payload::MessageStart { message } => {
                self.input_tokens = message.usage.and_then(|u| u.input_tokens);
            }
            Payload::ContentBlockDelta {
                delta: BlockDelta::TextDelta { text },
            } => return Ok((Some(text), false)),
            Payload::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(tokens) = usage.and_then(|u| u.output_tokens) {
                    self.output_tokens = Some(tokens);
                }
            }
            Payload::MessageStop => return Ok((None, true)),
            Payload::Error { error } => {
                return Err(Fault {
                    transient: matches!(error.kind.as_str(), "overloaded_error" | "api_error"),
                    reason: format!("the server reported {}: {}", error.kind, error.message),
                });
            }
            Payload::ContentBlockDelta { .. } | Payload::Other => {}
        }
        Ok((None, false))
    }

    fn ended(&self) -> Result<(), Fault> {
        Err(Fault {
            reason: "the stream ended before message_stop".into(),
            transient: true,
        })
    }

    fn into_reply(self, text: String) -> Reply {
        let usage = match (self.input_tokens, self.output_tokens) {
            (None, None) => None,
            (input, output) => Some(Usage {
                input_tokens: input.unwrap_or(0),
                output_tokens: output.unwrap_or(0),
            }),
        };
        Reply {
            text,
            stop_reason: self.stop_reason,
            usage,
        }
    }
}
