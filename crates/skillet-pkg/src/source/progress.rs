//! How a fetch reports its progress, so the CLI can draw bars on a terminal and stay quiet in a
//! pipe without this crate knowing which.

/// Receives a fetch's progress: one `start` per phase (downloading, unpacking, copying), then
/// any number of `advance`, then `finish`.
///
/// Methods take `&self` so an implementation shares its state (an indicatif bar is `Clone`).
pub trait Progress {
    /// A phase begins; `what` says what in a few words ("downloading https://…"), `total` is the
    /// count `advance` will reach when known (bytes for a download, entries otherwise).
    fn start(&self, what: &str, total: Option<u64>);
    /// `n` more bytes or entries are done.
    fn advance(&self, n: u64);
    /// The phase is over (successfully or not).
    fn finish(&self);
}

/// Reports nothing: for pipes, tests and callers that do not draw progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _what: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Calls `finish` when dropped, so every `start` is closed on the error paths too.
pub(crate) struct Phase<'a>(&'a dyn Progress);

impl<'a> Phase<'a> {
    pub(crate) fn start(progress: &'a dyn Progress, what: &str, total: Option<u64>) -> Self {
        progress.start(what, total);
        Phase(progress)
    }

    pub(crate) fn advance(&self, n: u64) {
        self.0.advance(n);
    }
}

impl Drop for Phase<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}
