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

/// Layer reports for `skillet doctor`.
pub mod probe {
    /// Whether a layer works on this machine.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LayerState {
        /// Enforced.
        Active,
        /// Not available here; see the detail.
        Unavailable,
    }

    impl LayerState {
        /// `active` or `unavailable`.
        pub fn as_str(self) -> &'static str {
            match self {
                LayerState::Active => "active",
                LayerState::Unavailable => "unavailable",
            }
        }
    }

    /// One line of `skillet doctor`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LayerReport {
        /// The layer.
        pub layer: &'static str,
        /// Active or not.
        pub state: LayerState,
        /// Why it is unavailable.
        pub detail: String,
    }

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
