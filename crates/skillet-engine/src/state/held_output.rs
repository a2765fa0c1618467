//! The live output of a stateful call that may run again: each attempt's output is held, a
//! discarded attempt's dropped, and only the attempt the call ends with is passed on, when the
//! call is over. That holds when the call is cut short too (cancelled, its future dropped): the
//! attempt under way is passed on then, so a canceller still sees what it wrote.

use std::sync::Mutex;

use skillet_sandbox::OutputChunk;
use tokio::sync::mpsc;

/// Where the attempt under way writes, and the view it is passed on to.
pub(super) struct HeldOutput {
    live: mpsc::UnboundedSender<OutputChunk>,
    attempt: Mutex<Option<mpsc::UnboundedReceiver<OutputChunk>>>,
}

impl HeldOutput {
    pub(super) fn new(live: mpsc::UnboundedSender<OutputChunk>) -> HeldOutput {
        HeldOutput {
            live,
            attempt: Mutex::new(None),
        }
    }

    /// The sender a new attempt writes to; what the previous attempt wrote is dropped.
    pub(super) fn next_attempt(&self) -> mpsc::UnboundedSender<OutputChunk> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self
            .attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rx);
        tx
    }
}

impl Drop for HeldOutput {
    fn drop(&mut self) {
        let attempt = self
            .attempt
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut rx) = attempt {
            while let Ok(chunk) = rx.try_recv() {
                // A view that stopped listening does not matter any more.
                let _ = self.live.send(chunk);
            }
        }
    }
}
