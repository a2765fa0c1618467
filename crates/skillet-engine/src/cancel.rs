//! Cancelling a run from outside (a signal to `skillet run`, an MCP client's
//! `notifications/cancelled`) so that it still ends as a result, and so in the history.
//!
//! Dropping a run's future already kills its sandboxed processes, but then nothing is left to
//! record. A [`Cancel`] given with the request is watched beside the run instead: when it
//! fires, the run is dropped (which kills and reaps the process tree), the output it had
//! written is collected, and the attempt ends with status `cancelled`, which the engine records
//! like any other.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skillet_sandbox::{OutputChunk, Stream};
use tokio::sync::{mpsc, watch};

use crate::engine::RunRequest;
use crate::result::{ExecutionResult, Status};

/// How long the output still in flight is waited for once a cancelled run is killed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A switch that cancels the runs it is given to; clones share it.
#[derive(Debug, Clone)]
pub struct Cancel(Arc<watch::Sender<Option<String>>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(watch::channel(None).0))
    }
}

impl Cancel {
    /// A switch not yet thrown.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels, saying why (`SIGINT`, `cancelled by the MCP client`); the first reason stays.
    pub fn cancel(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }

    /// Why it was cancelled, if it was.
    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Waits until it is cancelled and returns why.
    pub async fn cancelled(&self) -> String {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so it cannot be gone while this waits.
        let reason = match rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }
}

/// Output seen so far, as the live stream carried it.
#[derive(Default)]
struct Seen {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs one attempt with `run`, unless `request.cancel` fires first: then the attempt is
/// stopped and ends `cancelled`, with the time spent and the output it had written. `skill`
/// names the result.
pub(crate) async fn attempt<F, Fut>(skill: &str, request: &RunRequest, run: F) -> ExecutionResult
where
    F: FnOnce(RunRequest) -> Fut,
    Fut: Future<Output = ExecutionResult>,
{
    let Some(cancel) = request.cancel.clone() else {
        return run(request.clone()).await;
    };
    if let Some(reason) = cancel.reason() {
        return cancelled(skill, &reason, Duration::ZERO, &Seen::default(), false);
    }
    let started = Instant::now();
    // The run's live output passes through here, so what it wrote is known when it is cut.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (tx, mut rx) = mpsc::unbounded_channel::<OutputChunk>();
    let onward = request.live.clone();
    let sink = seen.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            if let Ok(mut s) = sink.lock() {
                match chunk.stream {
                    Stream::Stdout => s.stdout.extend_from_slice(&chunk.bytes),
                    Stream::Stderr => s.stderr.extend_from_slice(&chunk.bytes),
                }
            }
            if let Some(onward) = &onward {
                // A caller that stopped listening does not stop the run.
                let _ = onward.send(chunk);
            }
        }
    });
    let mut request = request.clone();
    request.live = Some(tx);
    let mut running = Box::pin(run(request));
    let reason = tokio::select! {
        result = &mut running => {
            drop(running);
            // The run is over and its senders gone: the printer gets everything.
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, forwarder).await;
            // A signal sent to the whole process group can end the program a moment before
            // skillet sees it: that run was cancelled too, not a failure of the skill.
            return match cancel.reason() {
                Some(reason) if result.status == Status::Failed => {
                    let mut r = result;
                    r.status = Status::Cancelled;
                    r.error = Some(format!("cancelled ({reason}); the program ended by it first"));
                    r
                }
                _ => result,
            };
        }
        reason = cancel.cancelled() => reason,
    };
    // Dropping the run kills and reaps its processes; their pipes then close, and the readers
    // pass on what was still buffered.
    drop(running);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, forwarder).await.is_ok();
    let seen = seen.lock().map(|s| Seen {
        stdout: s.stdout.clone(),
        stderr: s.stderr.clone(),
    });
    let seen = seen.unwrap_or_default();
    cancelled(skill, &reason, started.elapsed(), &seen, !drained)
}

fn cancelled(
    skill: &str,
    reason: &str,
    spent: Duration,
    seen: &Seen,
    partial: bool,
) -> ExecutionResult {
    let mut r = ExecutionResult::new(skill, Status::Cancelled);
    r.stdout = String::from_utf8_lossy(&seen.stdout).into_owned();
    r.stderr = String::from_utf8_lossy(&seen.stderr).into_owned();
    r.duration_ms = u64::try_from(spent.as_millis()).unwrap_or(u64::MAX);
    let ran = if spent.is_zero() {
        "before it started".to_owned()
    } else {
        format!(
            "after {} ms; its processes were killed. It had written {} bytes to stdout and {} to stderr{}",
            r.duration_ms,
            seen.stdout.len(),
            seen.stderr.len(),
            if partial {
                " (more may have been lost)"
            } else {
                ""
            }
        )
    };
    r.error = Some(format!("cancelled ({reason}) {ran}"));
    r
}
