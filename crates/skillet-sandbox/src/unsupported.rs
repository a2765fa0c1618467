//! Systems other than Linux: the sandbox is not implemented (docs/sandbox.md designs the macOS
//! Seatbelt mapping), so every layer reports "unavailable" and every run is refused. Refusing is
//! deliberate: running a skill unconfined must never happen silently.

use tokio::sync::mpsc;

use crate::{Outcome, OutputChunk, ProcessSpec, SandboxPolicy, SpawnError};

/// Refuses: no confinement is implemented for this system yet.
pub async fn run(
    _spec: &ProcessSpec,
    _policy: &SandboxPolicy,
    _live: Option<mpsc::UnboundedSender<OutputChunk>>,
) -> Result<Outcome, SpawnError> {
    Err(SpawnError::Unavailable {
        layer: "sandbox",
        reason: format!("not supported on {} yet", std::env::consts::OS),
    })
}

/// Nothing to prepare where nothing can run.
#[derive(Debug)]
pub struct Preparing;

impl Preparing {
    /// Returns at once.
    pub fn wait(self) {}
}

/// Nothing to prepare where nothing can run.
pub fn prepare(_policy: &SandboxPolicy) -> Preparing {
    Preparing
}

/// Layer reports for `skillet doctor`.
pub mod probe {
    pub use crate::{LayerReport, LayerState};

    /// Every layer, unavailable.
    pub fn report() -> Vec<LayerReport> {
        ["landlock", "seccomp", "namespaces", "cgroups", "rlimits"]
            .into_iter()
            .map(|layer| LayerReport {
                layer,
                state: LayerState::Unavailable,
                detail: format!("not supported on {} yet", std::env::consts::OS),
            })
            .collect()
    }
}
