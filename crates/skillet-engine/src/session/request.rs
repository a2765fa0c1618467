//! What callers send to a session manager and what they get back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skillet_store::{SessionStatus, StoreError, TurnOutcome};

use super::{FramingError, StartError};
use crate::engine::RunOverrides;
use crate::hint::Hint;

/// How a session is asked to start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionStart {
    /// Parameter values, as for a run.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// A name to tell the session apart in lists.
    #[serde(default)]
    pub label: Option<String>,
    /// The caller's directory (relative `path` values start there).
    pub caller_dir: PathBuf,
    /// Permissions from the caller's command line.
    #[serde(default)]
    pub overrides: RunOverrides,
    /// At `max_sessions`, close the skill's oldest session instead of refusing.
    #[serde(default)]
    pub replace_oldest: bool,
}

/// The answer to one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The session.
    pub session_id: String,
    /// The exchange's number within the session.
    pub seq: i64,
    /// `ok`, `error` (the input failed), `timeout` or `dead` (the interpreter is gone).
    pub outcome: TurnOutcome,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The input's status, when the protocol reports one.
    pub exit_status: Option<i32>,
    /// How long the answer took.
    pub duration_ms: u64,
    /// Whether output was cut at the skill's output limit.
    pub truncated: bool,
    /// What the caller should know (the session died, the output went on to another session).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where the exchange's time went in the session's process (`skillet run --session
    /// --profile`).
    #[serde(default)]
    pub phases_us: ExchangePhases,
}

/// Where the time of one exchange went, measured where the session lives (the daemon), in
/// microseconds. Pipes to other sessions are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangePhases {
    /// Finding the session (and waiting for it, while the daemon restores it after a restart).
    pub resolve: u64,
    /// Waiting for the input before this one, sent by another caller, to be answered.
    pub queue: u64,
    /// The interpreter's answer, from the input written to the answer read.
    pub process: u64,
    /// Committing the skill's state and recording the turn in the history (and ending an
    /// interpreter that died or ran past its timeout).
    pub store: u64,
}

/// Why a session request failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No session has this id.
    #[error("{}", if .0.is_empty() { "an empty session id names no session; give an id (or the start of one) that `skillet session list` shows".to_owned() } else { format!("no session `{}`", .0) })]
    NotFound(String),
    /// The session exists but is over.
    #[error("session {id} is {status}{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Over {
        /// The session.
        id: String,
        /// Its skill.
        skill: String,
        /// `closed`, `expired`, `dead` or `ended`.
        status: SessionStatus,
        /// Why.
        reason: Option<String>,
    },
    /// The session is a conversation, held by `skillet run` and `skillet session resume`
    /// rather than the daemon.
    #[error("session {0} is a conversation, not an interpreter to send input to")]
    Conversation(String),
    /// The skill cannot start a session (unknown, broken, wrong type, bad parameters), or the
    /// request cannot be served now.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What would get it through, when something would.
        hint: Option<Hint>,
    },
    /// The skill has as many live sessions as it allows.
    #[error(
        "`{skill}` already has {max} live session{s} (its max_sessions, at most the user's cap: `[defaults] max_sessions` in the global skillet.toml)",
        s = if *max == 1 { "" } else { "s" }
    )]
    TooMany {
        /// The skill.
        skill: String,
        /// Its limit.
        max: u32,
    },
    /// Which end of an answer to look for cannot be decided.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// The interpreter did not start.
    #[error("cannot start the session: {0}")]
    Start(#[from] StartError),
    /// Another process (a second daemon, on another socket) drives the session and holds its
    /// lease: two processes feeding one session would split its state.
    #[error(
        "session {id} is driven by {holder} (pid {pid}), which holds its lease; send to it through that \
         daemon (its --socket, or SKILLET_SOCKET), or stop that daemon and restart this one, which then \
         restores the session"
    )]
    Owned {
        /// The session.
        id: String,
        /// The owner's process id.
        pid: i64,
        /// What the owner is (a daemon and its socket).
        holder: String,
    },
    /// The session ended (closed, expired, dead) but the history could not record it, so it
    /// may still be listed as live.
    #[error("session {id} is {status}, but the history could not record it: {source}")]
    NotRecorded {
        /// The session.
        id: String,
        /// How it ended.
        status: SessionStatus,
        /// Why it was not recorded.
        source: StoreError,
    },
    /// The history could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SessionError {
    /// A refusal saying `message`, and what would get it through.
    pub(crate) fn refused(message: impl Into<String>, hint: Option<Hint>) -> Self {
        SessionError::Refused {
            message: message.into(),
            hint,
        }
    }

    /// What would get the request through; each interface says it in its own words.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            SessionError::Refused { hint, .. } => hint.clone(),
            SessionError::NotFound(_) => Some(Hint::ListSessions),
            SessionError::Over { skill, .. } => Some(Hint::StartSession {
                skill: skill.clone(),
            }),
            SessionError::Conversation(id) => Some(Hint::ResumeConversation {
                session_id: id.clone(),
            }),
            SessionError::TooMany { skill, .. } => Some(Hint::CloseSession {
                skill: skill.clone(),
                or_replace_oldest: true,
            }),
            _ => None,
        }
    }

    /// The error for a request to `session`, which is over.
    pub(crate) fn over(session: skillet_store::SessionRecord) -> SessionError {
        SessionError::Over {
            id: session.id,
            skill: session.skill,
            status: session.status,
            reason: session.reason,
        }
    }
}
