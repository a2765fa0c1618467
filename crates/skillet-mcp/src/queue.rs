//! An outside queue that runs of skills wait in for their turn, in place of the server's own
//! cap on calls at once: the daemon gives its job queue, so a tool call served over HTTP waits
//! by the same rules (priorities, fair share between clients, the memory budget, `max_running`)
//! as a detached job. `skillet mcp` on stdio has none and keeps its own cap.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One run asking for its turn.
#[derive(Debug, Clone)]
pub struct QueuedCall {
    /// The skill it runs.
    pub skill: String,
    /// Who asks: the MCP session, for fair share between agents.
    pub client: String,
    /// The run's memory limit in MiB (0 for a skill that runs no program), for a memory budget.
    pub memory_mb: u64,
}

/// A turn given: the run may start, and the slot is held until this is dropped.
pub struct Turn {
    /// How long the call waited for it.
    pub waited: Duration,
    /// Frees the slot when dropped.
    pub slot: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("waited", &self.waited)
            .finish_non_exhaustive()
    }
}

/// Why a call was given no turn: the message to show the agent, which says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct NoTurn(pub String);

/// The future [`CallQueue::admit`] answers with.
pub type Admission<'a> = Pin<Box<dyn Future<Output = Result<Turn, NoTurn>> + Send + 'a>>;

/// A queue tool calls that run a skill wait in. Dropping the future before it is ready takes
/// the call out of the queue (the client cancelled it).
pub trait CallQueue: Send + Sync {
    /// Waits for `call`'s turn, or refuses it at once (a full queue: busy).
    fn admit(&self, call: QueuedCall) -> Admission<'_>;
}
