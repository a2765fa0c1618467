//! The params and results of the daemon's methods, as they go over the wire
//! (docs/daemon-api.md). The daemon's own records are converted into these, so that the wire
//! format changes only when this file does.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use skillet_store::{SessionRecord, SessionStatus, TurnOutcome, TurnRecord};

/// The params of a method that takes none (`{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoParams {}

/// `daemon.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReply {
    /// The daemon's process id.
    pub pid: u32,
    /// Its skillet version.
    pub version: String,
    /// The socket it answers on.
    pub socket: PathBuf,
    /// When it started (ms since the epoch).
    pub started_at_ms: i64,
    /// How long it has been up.
    pub uptime_ms: u64,
    /// Sessions with a running interpreter.
    pub live_sessions: usize,
    /// Idle time before it exits, in seconds (`u64::MAX` when serving HTTP).
    pub idle_timeout_s: u64,
    /// Whether it records sessions in a store.
    pub store: bool,
    /// Its warm pools of interpreters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<skillet_engine::session::PoolStatus>,
}

/// `daemon.stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopReply {
    /// Always true: the daemon ends its sessions, then exits.
    pub stopping: bool,
}

/// `session.start`: the skill and how to start it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionStartParams {
    /// Skill name or alias.
    pub skill: String,
    /// Parameters, label, caller directory, the user's overrides.
    #[serde(flatten)]
    pub start: skillet_engine::session::SessionStart,
}

/// `session.send`: exactly one of `input` and `from`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSendParams {
    /// The session (or a unique start of its id).
    pub id: String,
    /// When given, the session must be one of this skill's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The input to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Send this session's last output instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// `session.list`: every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionListParams {
    /// Only this skill's.
    #[serde(default)]
    pub skill: Option<String>,
    /// Only with this status.
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// At most this many (0 or none: all).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `session.close` and `session.logs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIdParams {
    /// The session (or a unique start of its id).
    pub id: String,
}

/// `session.pipe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPipeParams {
    /// The session whose later output is sent on.
    pub from: String,
    /// The session that receives it.
    pub to: String,
    /// Remove the pipe instead.
    #[serde(default)]
    pub stop: bool,
}

/// The answer to `session.pipe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeReply {
    /// The sending session's full id (as given, when removing).
    pub from: String,
    /// The receiving session's full id (as given, when removing).
    pub to: String,
    /// Whether a pipe now runs.
    pub piped: bool,
    /// With `stop`: whether there was a pipe to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
}

/// `session.logs`: the session and its exchanges, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLogsReply {
    /// The session.
    pub session: Session,
    /// Its exchanges.
    pub turns: Vec<Turn>,
}

/// A session, as `session.start`, `session.list` and `session.close` answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// UUIDv7.
    pub id: String,
    /// The skill.
    pub skill: String,
    /// The label given at start.
    pub label: Option<String>,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// How it was started, as JSON.
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
    /// How many exchanges it had.
    pub turns: i64,
}

impl From<SessionRecord> for Session {
    fn from(record: SessionRecord) -> Session {
        // Taken apart field by field: a field added to the record fails to compile here until
        // the wire says whether it carries it.
        let SessionRecord {
            id,
            skill,
            label,
            status,
            start,
            replay,
            pid,
            created_at_ms,
            last_used_at_ms,
            ended_at_ms,
            exit_code,
            reason,
            turns,
        } = record;
        Session {
            id,
            skill,
            label,
            status,
            start,
            replay,
            pid,
            created_at_ms,
            last_used_at_ms,
            ended_at_ms,
            exit_code,
            reason,
            turns,
        }
    }
}

/// One exchange of a session, as `session.logs` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
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
    /// When it was sent (ms since the epoch).
    pub started_at_ms: i64,
    /// How long the answer took.
    pub duration_ms: i64,
    /// Whether output was cut at the limit.
    pub truncated: bool,
}

impl From<TurnRecord> for Turn {
    fn from(record: TurnRecord) -> Turn {
        let TurnRecord {
            session_id,
            seq,
            source,
            input,
            stdout,
            stderr,
            exit_status,
            outcome,
            started_at_ms,
            duration_ms,
            truncated,
        } = record;
        Turn {
            session_id,
            seq,
            source,
            input,
            stdout,
            stderr,
            exit_status,
            outcome,
            started_at_ms,
            duration_ms,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_send_fields_are_left_out() {
        let params = SessionSendParams {
            id: "0193".into(),
            input: Some("1+1".into()),
            ..SessionSendParams::default()
        };
        assert_eq!(
            serde_json::to_string(&params).unwrap(),
            r#"{"id":"0193","input":"1+1"}"#
        );
    }

    #[test]
    fn a_pipe_reply_says_removed_only_when_stopping() {
        let piped = PipeReply {
            from: "a".into(),
            to: "b".into(),
            piped: true,
            removed: None,
        };
        assert_eq!(
            serde_json::to_string(&piped).unwrap(),
            r#"{"from":"a","to":"b","piped":true}"#
        );
    }

    #[test]
    fn no_params_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&NoParams::default()).unwrap(), "{}");
    }
}
