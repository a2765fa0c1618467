//! `queue.turn` and `queue.release`: a run that happens in the caller's own process
//! (`skillet batch`, `skillet mcp` on stdio) waits for its turn in the daemon's job queue, under
//! the same `max_running`, memory budget and fair share as jobs and calls over HTTP
//! (docs/jobs.md, "One queue").

use serde::{Deserialize, Serialize};

/// `queue.turn`: wait for a turn to run `skill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTurnParams {
    /// The skill the run is of (for messages).
    pub skill: String,
    /// The run's memory limit in MiB, counted against the memory budget while the turn is held.
    #[serde(default)]
    pub memory_mb: u64,
    /// Who the run is for, for fair share (`$SKILLET_CLIENT`); none: the connected process's
    /// session, as for jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// How soon the run leaves the queue (before aging); normal when not given.
    #[serde(default)]
    pub priority: super::Priority,
}

/// A turn given. It is held until `queue.release` names it, or the connection that asked for
/// it closes (so a caller that dies gives its turns back). The connection serves other
/// requests (`queue.release` among them) while a `queue.turn` waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTurnReply {
    /// The turn, for `queue.release`.
    pub turn: String,
    /// How long the run waited for it, in milliseconds.
    pub waited_ms: u64,
}

/// `queue.release`: give a turn back (the run ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReleaseParams {
    /// The turn, as `queue.turn` answered it.
    pub turn: String,
}

/// Whether the turn was still held (a turn given back twice, or whose connection closed, was
/// not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReleaseReply {
    /// It was held, and is now free.
    pub released: bool,
}

/// `queue.withdraw`: take back a `queue.turn` request of this connection that still waits (its
/// caller gave up). It is then answered `refused` ("withdrawn"); one granted meanwhile is
/// answered with its turn, which the caller gives back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueWithdrawParams {
    /// The `id` of the `queue.turn` request.
    pub request: serde_json::Value,
}

/// Whether the request still waited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueWithdrawReply {
    /// It waited, and was withdrawn.
    pub withdrawn: bool,
}
