//! `queue.turn` and `queue.release`: turns in the job queue for runs that happen in the
//! caller's own process (`skillet batch`, `skillet mcp` on stdio). A turn is held for the
//! connection that asked for it, and given back when released or when that connection closes,
//! so a caller that dies (killed, crashed) never keeps a slot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use skillet_engine::{QueuedRun, Turn};

use super::Daemon;
use crate::api::{
    ErrorCode, QueueReleaseParams, QueueReleaseReply, QueueTurnParams, QueueTurnReply,
    ResponseError,
};

/// How soon a caller refused a turn for now (a full queue, a stopping daemon) asks again.
const RETRY_AFTER_MS: u64 = 200;

/// Turns given out, by id, with the connection each is held for.
#[derive(Default)]
pub(super) struct Turns {
    next_connection: AtomicU64,
    held: Mutex<HashMap<String, (u64, Turn)>>,
}

impl Turns {
    /// A number for a new connection, which its turns are held for.
    pub(super) fn connection(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Turn)>> {
        // A poisoned map only means a panic elsewhere; the turns in it are still held.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives back every turn `connection` holds (it closed).
    pub(super) fn release_all(&self, connection: u64) {
        // Dropped outside the lock: dropping a turn starts what waited for it.
        let released: Vec<Turn> = {
            let mut held = self.held();
            let ids: Vec<String> = held
                .iter()
                .filter(|(_, (c, _))| *c == connection)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter()
                .filter_map(|id| held.remove(id).map(|(_, t)| t))
                .collect()
        };
        drop(released);
    }
}

impl Daemon {
    pub(super) async fn queue_turn(
        &self,
        p: QueueTurnParams,
        client: &str,
        connection: u64,
    ) -> Result<QueueTurnReply, ResponseError> {
        let run = QueuedRun {
            skill: p.skill,
            client: Some(crate::jobs::client_for(p.client.as_deref(), client)),
            memory_mb: p.memory_mb,
            priority: p.priority,
        };
        let turn = self.jobs.clone().admit_call(run).await.map_err(|no| {
            if self.stopping.load(Ordering::SeqCst) {
                // Asked again of the daemon that starts next, as any request a stopping
                // daemon did not carry out.
                ResponseError::new(ErrorCode::Stopping, no.reason)
            } else if no.again {
                ResponseError {
                    retry_after_ms: Some(RETRY_AFTER_MS),
                    ..ResponseError::new(ErrorCode::Busy, no.reason)
                }
            } else {
                ResponseError::new(ErrorCode::Refused, no.reason)
            }
        })?;
        let waited_ms = u64::try_from(turn.waited.as_millis()).unwrap_or(u64::MAX);
        let id = format!("turn:{}", crate::jobs::new_id());
        self.turns.held().insert(id.clone(), (connection, turn));
        Ok(QueueTurnReply {
            turn: id,
            waited_ms,
        })
    }

    /// Gives back turn `p.turn` if `connection` holds it: a turn is its asker's alone.
    pub(super) fn queue_release(
        &self,
        p: &QueueReleaseParams,
        connection: u64,
    ) -> QueueReleaseReply {
        let turn = {
            let mut held = self.turns.held();
            match held.get(&p.turn) {
                Some((owner, _)) if *owner == connection => held.remove(&p.turn),
                _ => None,
            }
        };
        let released = turn.is_some();
        drop(turn);
        QueueReleaseReply { released }
    }
}
