//! A queue that runs wait in for their turn, outside the engine: the skillet daemon's job queue
//! (priorities, fair share between clients, the memory budget, `max_running`). A tool call the
//! daemon serves over HTTP waits in it directly; `skillet mcp` on stdio and `skillet batch` ask
//! the daemon for turns over its socket, so every caller shares one bound on the machine.
//!
//! The engine defines the shape and asks for turns (`skillet batch`, [`crate::BatchOptions`]);
//! it implements no queue itself.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One run asking for its turn.
#[derive(Debug, Clone)]
pub struct QueuedRun {
    /// The skill it runs.
    pub skill: String,
    /// Who asks, for fair share between clients (an MCP session, say); `None`: whoever the
    /// queue knows the asker as (the daemon: the process that connected).
    pub client: Option<String>,
    /// The run's memory limit in MiB (0 for a skill that runs no program), for a memory budget.
    pub memory_mb: u64,
    /// How soon it leaves the queue.
    pub priority: Priority,
}

/// How soon a run leaves the queue, before aging (a detached job's, a batch's, an agent's).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// After every normal and high job (until it has waited long enough).
    Low,
    /// The default.
    #[default]
    Normal,
    /// Before every normal and low job (that has not waited long).
    High,
}

impl Priority {
    /// As written on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// Its level: low 0, normal 1, high 2.
    pub fn level(self) -> u64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
        }
    }
}

/// A turn given: the run may start, and the slot is held until this is dropped.
pub struct Turn {
    /// How long the run waited for it.
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

/// Why a run was given no turn: the message to show, which says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct NoTurn {
    /// What happened and what to do.
    pub reason: String,
    /// Asking again later may succeed: the queue was full, or its daemon was stopping. Not
    /// so for a run the queue can never take (one larger than the whole memory budget).
    pub again: bool,
}

impl NoTurn {
    /// A refusal that asking again will not change.
    pub fn refused(reason: impl Into<String>) -> NoTurn {
        NoTurn {
            reason: reason.into(),
            again: false,
        }
    }

    /// A refusal for now: ask again in a moment.
    pub fn for_now(reason: impl Into<String>) -> NoTurn {
        NoTurn {
            reason: reason.into(),
            again: true,
        }
    }
}

/// The future [`RunQueue::admit`] answers with.
pub type TurnAsked<'a> = Pin<Box<dyn Future<Output = Result<Turn, NoTurn>> + Send + 'a>>;

/// A queue runs wait in. Dropping the future before it is ready takes the run out of the
/// queue (its caller cancelled it).
pub trait RunQueue: Send + Sync {
    /// Waits for `run`'s turn, or refuses it at once (a full queue: busy).
    fn admit(&self, run: QueuedRun) -> TurnAsked<'_>;
}
