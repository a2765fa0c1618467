//! What is kept of sessions: one row per session, one per exchange.

use serde::Serialize;

pub use crate::session_state::{SessionStatus, TurnOutcome};

/// One session of a `code_session` skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// UUIDv7.
    pub id: String,
    /// The skill.
    pub skill: String,
    /// The label given at start.
    pub label: Option<String>,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// How it was started (parameters, caller directory, permissions) as JSON, so it can be
    /// restored.
    pub start: String,
    /// Whether it is restored by replaying its inputs when the daemon restarts.
    pub replay: bool,
    /// The interpreter's process id while live.
    pub pid: Option<i64>,
    /// When it started (ms since the epoch).
    pub created_at_ms: i64,
    /// When it last answered.
    pub last_used_at_ms: i64,
    /// When it ended.
    pub ended_at_ms: Option<i64>,
    /// How the interpreter exited, when it died by itself.
    pub exit_code: Option<i32>,
    /// Why it ended.
    pub reason: Option<String>,
    /// How many exchanges it had (filled when read).
    pub turns: i64,
}

/// One input and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TurnRecord {
    /// The session.
    pub session_id: String,
    /// 1, 2, … within the session.
    pub seq: i64,
    /// `user`, `pipe:<session id>`, `from:<session id>` or `replay`.
    pub source: String,
    /// What was sent.
    pub input: String,
    /// Standard output of the answer.
    pub stdout: String,
    /// Standard error of the answer.
    pub stderr: String,
    /// The input's status, when the protocol reports one.
    pub exit_status: Option<i32>,
    /// How the exchange ended.
    pub outcome: TurnOutcome,
    /// When it was sent.
    pub started_at_ms: i64,
    /// How long the answer took.
    pub duration_ms: i64,
    /// Whether output was cut at the limit.
    pub truncated: bool,
}

/// Which sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// Only this skill's.
    pub skill: Option<String>,
    /// Only with this status.
    pub status: Option<SessionStatus>,
    /// At most this many, newest first; 0 means all.
    pub limit: usize,
}

/// Who may drive a live session: one process, for a while, renewed while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionLease {
    /// The session.
    pub session_id: String,
    /// The owner's id, unique per process (a UUID).
    pub owner: String,
    /// The owner's process id.
    pub pid: i64,
    /// The machine and pid namespace the pid means something in (boot id and namespace).
    pub host: String,
    /// What the owner is, for people (a daemon and its socket).
    pub holder: String,
    /// When the lease lapses unless renewed (ms since the epoch).
    pub expires_at_ms: i64,
}

/// A request for a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The owner's id, unique per process.
    pub owner: String,
    /// The owner's process id.
    pub pid: i64,
    /// See [`SessionLease::host`].
    pub host: String,
    /// See [`SessionLease::holder`].
    pub holder: String,
    /// How long the lease lasts without renewal, in milliseconds.
    pub ttl_ms: i64,
}

/// The answer to a lease request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseGrant {
    /// The lease is the requester's; `previous` is the lapsed one it replaced, if any.
    Acquired {
        /// Another owner's lease that had expired or whose holder was gone.
        previous: Option<SessionLease>,
    },
    /// Another owner holds a lease that has not expired.
    Held(SessionLease),
    /// No session has that id.
    NoSession,
}
