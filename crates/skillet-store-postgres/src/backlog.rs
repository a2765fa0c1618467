//! Executions a serving process could not write while the server was unreachable, kept in
//! memory and written once it answers again, so that a database restart loses no call's record.
//!
//! Only a process that serves many calls keeps them (the daemon, `skillet serve`, `skillet
//! mcp`): it goes on running and will meet the server again. A one-shot `skillet run` reports
//! the failure instead; its memory ends with it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use skillet_store::{ExecutionRecord, LogLine, StoreError};

/// Executions kept at most; past it, a failure to record is reported as it is.
pub(crate) const MAX_WAITING: usize = 10_000;

/// An execution and the tail of its output, as the engine gave them.
type Unwritten = (ExecutionRecord, Vec<LogLine>);

#[derive(Debug, Default)]
pub(crate) struct Backlog {
    enabled: AtomicBool,
    waiting: Mutex<VecDeque<Unwritten>>,
}

impl Backlog {
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<Unwritten>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What a failed write answers: [`StoreError::Deferred`] when the execution is kept (the
    /// server unreachable, this process serving, room left), else `error` itself.
    pub(crate) fn keep_or(
        &self,
        error: StoreError,
        execution: &ExecutionRecord,
        output: &[LogLine],
    ) -> StoreError {
        if !self.enabled.load(Ordering::Relaxed) || !matches!(error, StoreError::Unreachable { .. })
        {
            return error;
        }
        let mut waiting = self.waiting();
        if waiting.len() >= MAX_WAITING {
            return error;
        }
        waiting.push_back((execution.clone(), output.to_vec()));
        StoreError::Deferred(format!(
            "{error}; this execution is kept in memory ({} waiting) and written once the store answers again",
            waiting.len()
        ))
    }

    /// Writes what waits, oldest first, with `write`; stops at the first failure to reach the
    /// server (what is left waits for the next try). An execution the server refuses for
    /// another reason is dropped: trying it again would fail again.
    pub(crate) fn flush(
        &self,
        write: impl Fn(&ExecutionRecord, &[LogLine]) -> Result<(), StoreError>,
    ) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        loop {
            let Some((execution, output)) = self.waiting().pop_front() else {
                return;
            };
            if let Err(StoreError::Unreachable { .. }) = write(&execution, &output) {
                self.waiting().push_front((execution, output));
                return;
            }
        }
    }

    /// How many executions wait.
    pub(crate) fn len(&self) -> usize {
        self.waiting().len()
    }
}
