//! Why a conversation could not start or go on.

use skillet_llm::LlmError;
use skillet_store::StoreError;

use crate::context_report::ContextRequestError;
use crate::hint::Hint;
use crate::result::Status;

/// A conversation that could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The skill cannot be held as a conversation (unknown, broken, disabled, another type),
    /// or the session cannot be resumed.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What would get it going, when something would.
        hint: Option<Hint>,
    },
    /// The parameter values do not fit.
    #[error("{}", .0.join("\n"))]
    InvalidParams(Vec<String>),
    /// No `[llm]` section.
    #[error(
        "no LLM provider is configured; conversation skills need one. Add to {file}:\n\n\
         [llm]\nprovider = \"openai\"          # or \"anthropic\"\nmodel = \"gpt-4o-mini\"\n\
         api_key_env = \"OPENAI_API_KEY\"  # the variable's name, not the key\n\n\
         A local server (Ollama, vLLM, llama.cpp, LM Studio) needs base_url instead of a key, \
         e.g. base_url = \"http://127.0.0.1:11434/v1\""
    )]
    NoProvider {
        /// The global configuration file.
        file: String,
    },
    /// Neither `[llm]` nor the skill names a model.
    #[error("no model to ask: set model in the [llm] section of {file}, or \"model\" in the skill")]
    NoModel {
        /// The global configuration file.
        file: String,
    },
    /// The variable named by `api_key_env` is not set.
    #[error(
        "the API key is not set: [llm] api_key_env in {file} names the variable {var}, which is empty or unset in skillet's environment"
    )]
    MissingKey {
        /// The variable.
        var: String,
        /// The global configuration file.
        file: String,
    },
    /// The skill's circuit is open after failed calls in a row.
    #[error("{0}")]
    CircuitOpen(String),
    /// The context files could not be chosen.
    #[error(transparent)]
    Context(#[from] ContextRequestError),
    /// The model could not be asked.
    #[error("{source}{}{}",
        if *.attempts > 1 { format!(" (after {} attempts)", .attempts) } else { String::new() },
        match (.session_id.is_empty(), *.turns) {
            (true, _) => String::new(),
            (false, 0) => format!("\nthe conversation is kept as session {}", .session_id),
            (false, _) => format!("\nthe conversation so far is kept as session {}", .session_id),
        })]
    Llm {
        /// Why.
        source: LlmError,
        /// Attempts made.
        attempts: u32,
        /// The session the conversation is kept as.
        session_id: String,
        /// Answers already given in it.
        turns: u32,
    },
    /// The model did not finish an answer within the skill's `timeout`.
    #[error(
        "the model did not finish its answer within the skill's timeout of {} s; the conversation is kept as session {session_id}, up to before that answer",
        .after.as_secs()
    )]
    AnswerTimeout {
        /// The skill's timeout.
        after: std::time::Duration,
        /// The session the conversation is kept as.
        session_id: String,
    },
    /// The history could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConversationError {
    /// A refusal saying `message`, and what would get it going.
    pub(crate) fn refused(message: impl Into<String>, hint: Option<Hint>) -> Self {
        ConversationError::Refused {
            message: message.into(),
            hint,
        }
    }

    /// What would get the conversation going again; each interface says it in its own words.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            ConversationError::Refused { hint, .. } => hint.clone(),
            ConversationError::Context(e) => e.hint(),
            ConversationError::Llm { session_id, .. }
            | ConversationError::AnswerTimeout { session_id, .. }
                if !session_id.is_empty() =>
            {
                Some(Hint::ResumeConversation {
                    session_id: session_id.clone(),
                })
            }
            _ => None,
        }
    }

    /// The status of the call in the history and in `--json`.
    pub fn status(&self) -> Status {
        match self {
            ConversationError::InvalidParams(_) => Status::InvalidParams,
            ConversationError::CircuitOpen(_) => Status::CircuitOpen,
            ConversationError::Llm {
                source: LlmError::Timeout { .. },
                ..
            }
            | ConversationError::AnswerTimeout { .. } => Status::Timeout,
            // The model could not answer: the call failed, as a code skill's process can, and
            // counts towards the skill's circuit breaker.
            ConversationError::Llm { attempts, .. } if *attempts > 0 => Status::Failed,
            _ => Status::Error,
        }
    }
}
