//! What the history keeps: the rule, and what applying it removed.

use serde::Serialize;

/// Which history rows go. Executions are removed when they started before `before_ms`, or when
/// more than `max_rows` newer ones were recorded after them; ended sessions (`closed`,
/// `expired`, `dead`, `ended`) go with their transcripts by the same two rules: when they
/// ended before `before_ms`, or when more than `max_rows` sessions ended after them.
/// Live and open sessions, sessions whose lease is still held, unknown statuses and circuit
/// breakers are never touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Remove what started (executions) or ended (sessions) before this time, in ms since
    /// the epoch. `None`: no time rule.
    pub before_ms: Option<i64>,
    /// Keep at most this many of the most recently recorded executions, and of the most
    /// recently ended sessions. `None`: no count rule.
    pub max_rows: Option<u64>,
    /// Remove at most this many executions and this many sessions in one call (the bounded
    /// prune each recorded run does); `None` removes everything due, in batches.
    pub batch: Option<usize>,
    /// Count what would go, change nothing.
    pub dry_run: bool,
}

/// What [`crate::Store::prune`] removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Execution rows.
    pub executions: u64,
    /// Ended sessions.
    pub sessions: u64,
    /// Transcript turns of those sessions.
    pub turns: u64,
    /// Skill state documents whose `ttl_days` ran out.
    pub states: u64,
    /// Background jobs that ended before the time rule's cutoff (queued and running ones
    /// stay; the count rule does not apply to jobs).
    pub jobs: u64,
    /// Channel messages older than channels keep them (7 days, see docs/state.md,
    /// "Channels"); the channels themselves and their numbering stay.
    pub channel_messages: u64,
    /// Authoring events (`skillet stats --authoring`) from before the time rule's cutoff (the
    /// count rule does not apply to them).
    pub authoring: u64,
    /// Log lines (`skillet logs`) from before the time rule's cutoff (the log's own cap,
    /// [`crate::MAX_LOG_LINES`], is kept as lines come).
    pub logs: u64,
    /// Whether the file had to be rewritten once (`VACUUM`) to turn on incremental
    /// auto-vacuum: databases made before skillet shrank its file.
    pub converted: bool,
}

impl PruneReport {
    /// Whether nothing was (or would be) removed.
    pub fn is_empty(&self) -> bool {
        self.executions == 0
            && self.sessions == 0
            && self.turns == 0
            && self.states == 0
            && self.jobs == 0
            && self.authoring == 0
            && self.channel_messages == 0
            && self.logs == 0
    }
}
