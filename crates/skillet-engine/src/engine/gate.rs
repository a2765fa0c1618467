//! A call's circuit breaker, kept in the store so every process sharing it agrees: asked
//! before the call, told how it ended after.

use skillet_store::now_ms;

use super::Engine;
use crate::breaker::{Admission, BreakerConfig, admit, settle};
use crate::hint::Hint;
use crate::result::{ExecutionResult, Status};

impl Engine {
    /// Asks the skill's circuit breaker whether the call may go ahead; a refusal is returned as
    /// the call's result. Without a usable store, the breaker cannot be kept and is skipped.
    pub(crate) fn admit(
        &self,
        name: &str,
        breaker: Option<&BreakerConfig>,
        warnings: &mut Vec<String>,
    ) -> Option<ExecutionResult> {
        let cfg = breaker?;
        let Some(store) = &self.settings.store else {
            warnings
                .push("circuit breaker not enforced: the history database is unavailable".into());
            return None;
        };
        let mut admission = Admission::Allowed;
        let outcome = store.update_breaker(name, &mut |current| {
            let (decision, next) = admit(current.as_ref(), name, cfg, now_ms());
            admission = decision;
            next
        });
        if let Err(e) = outcome {
            warnings.push(format!("circuit breaker not consulted: {e}"));
            return None;
        }
        match admission {
            Admission::Allowed => None,
            Admission::Trial => {
                warnings.push("circuit half-open: this call is the trial".into());
                None
            }
            Admission::Rejected { failures, retry_in } => Some(
                ExecutionResult::new(name, Status::CircuitOpen)
                    .with_error(format!(
                        "circuit open after {failures} failed calls in a row; the next trial is allowed in {} s",
                        retry_in.as_secs_f64().ceil()
                    ))
                    .with_hint(Hint::ResetBreaker {
                        skill: name.to_owned(),
                    }),
            ),
        }
    }

    /// Reports the call's outcome to its circuit breaker.
    pub(crate) fn settle(
        &self,
        name: &str,
        status: Status,
        cfg: &BreakerConfig,
        warnings: &mut Vec<String>,
    ) {
        let Some(store) = &self.settings.store else {
            return;
        };
        let outcome = store.update_breaker(name, &mut |current| {
            settle(current, name, status, cfg, now_ms())
        });
        match outcome {
            Ok(Some(b)) if b.state == "open" => {
                warnings.push(format!(
                    "circuit opened after {} failed calls in a row",
                    b.consecutive_failures
                ));
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("circuit breaker not updated: {e}")),
        }
    }
}
