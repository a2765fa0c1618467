//! A model server on 127.0.0.1 speaking the OpenAI and Anthropic wire formats (SSE included),
//! for tests of conversation skills.

use std::sync::Mutex;

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::World;

/// The key tests put in `TEST_LLM_KEY`; it must never appear in anything skillet prints or keeps.
pub const KEY: &str = "sk-conversation-test-7d41c9";

/// A server on 127.0.0.1, and the runtime that drives the test's side of it.
pub struct Llm {
    pub rt: tokio::runtime::Runtime,
    pub server: MockServer,
}

impl Llm {
    pub fn start() -> Llm {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(MockServer::start());
        Llm { rt, server }
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// The JSON bodies received, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.rt.block_on(self.server.received_requests()).unwrap()
    }

    /// A global `[llm]` section pointing at this server, the key read from `TEST_LLM_KEY`
    /// (`extra` may hold more settings).
    pub fn configure(&self, w: &World, provider: &str, extra: &str) {
        self.configure_keyless(
            w,
            provider,
            &format!("api_key_env = \"TEST_LLM_KEY\"\n{extra}"),
        );
    }

    /// The same, with no key: a local server such as Ollama. Added to the global file, whose
    /// other settings (trust, grants) stay.
    pub fn configure_keyless(&self, w: &World, provider: &str, extra: &str) {
        let file = w.path("~/.config/skillet/skillet.toml");
        let before = std::fs::read_to_string(&file).unwrap_or_default();
        w.write(
            "~/.config/skillet/skillet.toml",
            &format!(
                "{before}\n[llm]\nprovider = \"{provider}\"\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\n{extra}",
                self.server.uri()
            ),
        );
    }
}

/// Answers each request with the next response, repeating the last.
pub struct Sequence(Mutex<Vec<ResponseTemplate>>);

impl Sequence {
    pub fn new(responses: Vec<ResponseTemplate>) -> Sequence {
        Sequence(Mutex::new(responses.into_iter().rev().collect()))
    }
}

impl Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut left = self.0.lock().unwrap();
        if left.len() > 1 {
            left.pop().unwrap()
        } else {
            left[0].clone()
        }
    }
}

pub fn openai_answer(pieces: &[&str]) -> ResponseTemplate {
    let mut body = String::new();
    for piece in pieces {
        let chunk = json!({"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = json!({"object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5}});
    body.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

pub fn anthropic_answer(text: &str) -> ResponseTemplate {
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 60, "output_tokens": 1}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let body: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}
