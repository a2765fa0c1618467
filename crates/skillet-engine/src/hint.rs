//! What a caller can do about a refused call, said as what it is rather than as a command: the
//! command line, the MCP server and the daemon each put it in their own words (a user types
//! `skillet enable NAME`; a model is told what to ask the user, or which tool to call).

use serde::{Deserialize, Serialize};

/// Something that would get a refused call going, attached to its result
/// ([`ExecutionResult::hint`](crate::ExecutionResult::hint)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Hint {
    /// See which skills there are: none has the name asked for.
    ListSkills,
    /// See every error of a broken skill.
    Validate {
        /// The skill.
        skill: String,
    },
    /// Turn a disabled skill back on.
    Enable {
        /// The name it was disabled under.
        skill: String,
    },
    /// Close an open circuit breaker before its trial time.
    ResetBreaker {
        /// The skill.
        skill: String,
    },
    /// Use a `code_session` skill through a session: start one, then send it inputs.
    StartSession {
        /// The skill.
        skill: String,
    },
    /// Hold a `conversation` skill with the configured model rather than run it once.
    Converse {
        /// The skill.
        skill: String,
    },
    /// See which sandbox layers this machine has, or relax isolation to what it supports.
    SandboxLayers,
    /// Run from a project directory, or name the workspace: code skills do not run with `/`,
    /// the home directory or a parent of it as theirs.
    NameWorkspace,
    /// See which sessions there are: none has the id asked for.
    ListSessions,
    /// Make room for another session of a skill at its `max_sessions`: close one, or have the
    /// start replace the oldest.
    CloseSession {
        /// The skill.
        skill: String,
        /// Whether the start can be asked to close the oldest itself (a `code_session` start
        /// can; a conversation cannot).
        or_replace_oldest: bool,
    },
    /// Run a skill that is not held as a conversation as what it is.
    Run {
        /// The skill.
        skill: String,
    },
    /// Send input to a live interpreter session.
    SendToSession {
        /// The session.
        session_id: String,
    },
    /// Read a session's transcript.
    SessionLogs {
        /// The session.
        session_id: String,
    },
    /// Resume a conversation with a higher limit on its answers.
    RaiseMaxTurns {
        /// The session.
        session_id: String,
        /// A limit that leaves room to go on.
        to: u32,
    },
    /// Go on with a conversation kept in the store.
    ResumeConversation {
        /// The session it is kept as.
        session_id: String,
    },
    /// An action this build does not know, from a newer skillet (a daemon's answer, say):
    /// read rather than refused, and left unsaid.
    #[serde(other)]
    Other,
}
