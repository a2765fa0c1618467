//! The broker's line protocol: one JSON object per line each way.
//!
//! ```text
//! {"op": "send", "channel": "news", "body": "hello"}        -> {"ok": true, "seq": 4}
//! {"op": "read", "channel": "pub/news", "since": 0}         -> {"ok": true, "messages": [...]}
//! {"op": "wait", "channel": "pub/news", "since": 4, "timeout_ms": 5000}
//!                                                           -> {"ok": true, "messages": [...]}
//! anything refused                                          -> {"ok": false, "error": "..."}
//! ```

use serde::{Deserialize, Serialize};
use skillet_store::ChannelMessage;

/// Most messages one read or wait returns.
pub(crate) const MAX_READ: usize = 100;
/// Longest a wait lasts, in ms, whatever it asks.
pub(crate) const MAX_WAIT_MS: u64 = 30_000;
/// Longest request line: a largest message with every byte escaped, and room for the rest.
pub(crate) const MAX_LINE: usize = 64 * 1024 * 6 + 1024;

/// One request.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Request {
    /// Appends `body` to the run's own channel `channel`.
    Send { channel: String, body: String },
    /// Messages after `since`, at once.
    Read {
        channel: String,
        #[serde(default)]
        since: i64,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Messages after `since`, waiting up to `timeout_ms` for the first.
    Wait {
        channel: String,
        #[serde(default)]
        since: i64,
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
}

/// One answer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Answer {
    Sent {
        ok: bool,
        seq: i64,
    },
    Messages {
        ok: bool,
        messages: Vec<ChannelMessage>,
    },
    Refused {
        ok: bool,
        error: String,
    },
}

impl Answer {
    pub(crate) fn refused(error: impl Into<String>) -> Answer {
        Answer::Refused {
            ok: false,
            error: error.into(),
        }
    }
}
