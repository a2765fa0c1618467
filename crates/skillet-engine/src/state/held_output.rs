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

    /// Drops what the attempt under way wrote: it lost to another run and is thrown away.
    pub(super) fn discard(&self) {
        self.attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
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
        let Some(mut rx) = attempt else { return };
        loop {
            match rx.try_recv() {
                // A view that stopped listening does not matter any more.
                Ok(chunk) => drop(self.live.send(chunk)),
                Err(mpsc::error::TryRecvError::Disconnected) => return,
                // The attempt is being cut short (a cancelled call): its readers pass on what
                // was still in its pipes once its processes are killed, after this. Those
                // chunks follow, as a run's own do; whoever waits for the view to close waits
                // for them.
                Err(mpsc::error::TryRecvError::Empty) => break,
            }
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let live = self.live.clone();
            runtime.spawn(async move {
                while let Some(chunk) = rx.recv().await {
                    let _ = live.send(chunk);
                }
            });
        }
    }
}
