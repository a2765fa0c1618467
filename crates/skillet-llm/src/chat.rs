//! What is sent to a model and what comes back, in the providers' common terms.

use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person (or skillet on their behalf).
    User,
    /// The model.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl Message {
    /// A message from the user.
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// A message from the model.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One request: the instructions and the conversation so far, ending with the user's turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatRequest {
    /// Instructions for the model (OpenAI: a `system` message first; Anthropic: `system`).
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
}

/// A whole answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The answer's text.
    pub text: String,
    /// Why the model stopped (`stop`, `end_turn`, `length`, `max_tokens`…), as the provider
    /// says it.
    pub stop_reason: Option<String>,
    /// Tokens counted by the provider, when it reports them.
    pub usage: Option<Usage>,
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Tokens of the request.
    pub input_tokens: u64,
    /// Tokens of the answer.
    pub output_tokens: u64,
}
