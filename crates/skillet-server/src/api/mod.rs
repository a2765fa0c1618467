//! The daemon's protocol, shared by the daemon and its [`Client`](crate::Client): one JSON
//! object per line each way, an envelope ([`Request`], [`Response`]) around the typed params and
//! result of each [`Method`] (see [`method`]). Both sides build and read messages only through
//! these types, so a field renamed on one side cannot compile on the other.

mod jobs;
pub mod method;
mod methods;
mod pool;
mod queue;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use jobs::{
    Job, JobIdParams, JobListParams, JobOutput, JobSubmitParams, JobWaitParams, Priority,
};
pub use method::Method;
pub use methods::{
    NoParams, PipeReply, Session, SessionIdParams, SessionListParams, SessionLogsReply,
    SessionPipeParams, SessionSendParams, SessionStartParams, StatusReply, StopReply, Turn,
};
pub use pool::{PoolRunParams, PoolRunReply};
pub use queue::{
    QueueReleaseParams, QueueReleaseReply, QueueTurnParams, QueueTurnReply, QueueWithdrawParams,
    QueueWithdrawReply,
};

/// One request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the response.
    #[serde(default)]
    pub id: Value,
    /// `daemon.status`, `session.start`, … (see docs/daemon-api.md).
    pub method: String,
    /// The method's arguments.
    #[serde(default)]
    pub params: Value,
}

impl Request {
    /// Why this request's `id` cannot be echoed as sent, if it cannot: a number past what a
    /// double holds exactly (2^53) was read as a double, and would come back as another number
    /// (`1e+26` for `99999999999999999999999999`), which the client could not match.
    ///
    /// ```
    /// # use skillet_server::api::Request;
    /// let with = |id: &str| serde_json::from_str::<Request>(&format!(r#"{{"id":{id},"method":"m"}}"#)).unwrap();
    /// assert!(with("18446744073709551615").id_problem().is_none());
    /// assert!(with("1.5").id_problem().is_none());
    /// assert!(with("\"any text\"").id_problem().is_none());
    /// assert!(with("99999999999999999999999999").id_problem().is_some());
    /// assert!(with("-9223372036854775809").id_problem().is_some());
    /// ```
    pub fn id_problem(&self) -> Option<String> {
        let Value::Number(n) = &self.id else {
            return None;
        };
        let inexact = n.is_f64()
            && n.as_f64()
                .is_some_and(|f| f.abs() >= 9_007_199_254_740_992.0);
        inexact.then(|| {
            format!(
                "the request's id {n} cannot be answered as sent: use a string, or an integer \
                 that fits in 64 bits"
            )
        })
    }
}

/// One response: `result` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The request's `id`.
    #[serde(default)]
    pub id: Value,
    /// What the method returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ResponseError {
    /// What kind of failure, for scripts.
    pub code: ErrorCode,
    /// What happened and what to do, for people.
    pub message: String,
    /// What would get the request through, for the client to say in its own words (the
    /// command line names the command to type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<skillet_engine::Hint>,
    /// With `busy`: how long to wait before asking again, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// Kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is not valid JSON or lacks a field.
    BadRequest,
    /// No such method.
    UnknownMethod,
    /// No such session.
    NotFound,
    /// The session is over.
    SessionOver,
    /// The skill has its most live sessions.
    TooMany,
    /// The skill cannot start a session.
    Refused,
    /// The interpreter did not start.
    StartFailed,
    /// The daemon's own failure (the store, say).
    Internal,
    /// The caller may not ask this: a process running confined (in a skillet sandbox, under a
    /// seccomp filter, with no-new-privs) asked to weaken confinement or to drive sessions.
    Forbidden,
    /// The daemon is full (its job queue, or every connection it serves): nothing was done;
    /// ask again after `retry_after_ms`.
    Busy,
    /// The daemon is stopping and did nothing: ask again, of the daemon that starts next.
    Stopping,
}

impl ResponseError {
    /// A failure of this kind, with what to do.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ResponseError {
        ResponseError {
            code,
            message: message.into(),
            hint: None,
            retry_after_ms: None,
        }
    }
}

impl Response {
    /// A success.
    pub fn ok(id: Value, result: Value) -> Response {
        Response {
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn err(id: Value, code: ErrorCode, message: impl Into<String>) -> Response {
        Response {
            id,
            result: None,
            error: Some(ResponseError::new(code, message)),
        }
    }
}
