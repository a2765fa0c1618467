//! The circuit breaker of a skill, as a state machine over the stored [`BreakerRecord`].
//!
//! - **closed**: calls go through; each failed call adds one to the count, a success resets it;
//!   `failure_threshold` failures in a row open the circuit, and so does a `failure_rate` share
//!   of failures among the last `window` calls (once that many have been seen).
//! - **open**: calls are refused at once (`circuit_open`) until `reset_after_s` has passed since
//!   it opened; then the next call becomes the trial and the circuit is half-open.
//! - **half_open**: the one trial call is under way; others are refused. Its success closes the
//!   circuit, its failure opens it again. A trial that never reports back (its process died) is
//!   given up after twice the skill's time limit, and the next call becomes the trial.
//!
//! The functions here are pure; the engine applies them inside the store's atomic update, which
//! is what makes the state shared by concurrent skillet processes.

use std::time::Duration;

use skillet_spec::CircuitBreaker;
use skillet_store::BreakerRecord;

use crate::result::Status;

/// Failures in a row that open the circuit when the skill sets none.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;
/// Calls a failure rate is measured over when the skill sets none.
pub const DEFAULT_WINDOW: u32 = 20;
/// How long an open circuit refuses calls when the skill sets none.
pub const DEFAULT_RESET_AFTER: Duration = Duration::from_secs(30);

const CLOSED: &str = "closed";
const OPEN: &str = "open";
const HALF_OPEN: &str = "half_open";

/// A skill's breaker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Failures in a row that open the circuit.
    pub threshold: u32,
    /// How long the circuit stays open.
    pub reset_after: Duration,
    /// How long a trial may stay unreported before another is allowed.
    pub trial_timeout: Duration,
    /// Open when at least this share of the last `window` calls failed.
    pub failure_rate: Option<f64>,
    /// Calls the rate is measured over.
    pub window: usize,
}

impl BreakerConfig {
    /// The settings of a skill's `circuit_breaker` block.
    pub fn new(spec: &CircuitBreaker, per_attempt: Duration) -> Self {
        BreakerConfig {
            threshold: spec
                .failure_threshold
                .unwrap_or(DEFAULT_FAILURE_THRESHOLD)
                .max(1),
            reset_after: spec
                .reset_after_s
                .map_or(DEFAULT_RESET_AFTER, Duration::from_secs),
            trial_timeout: per_attempt.saturating_mul(2),
            failure_rate: spec.failure_rate,
            window: spec.window.unwrap_or(DEFAULT_WINDOW).max(2) as usize,
        }
    }
}

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed.
    Allowed,
    /// This call is the half-open trial.
    Trial,
    /// The circuit is open (or a trial is under way): refuse.
    Rejected {
        /// Failures in a row that opened it.
        failures: i64,
        /// When the next trial may happen.
        retry_in: Duration,
    },
}

/// Decides admission and the state to store for it.
pub fn admit(
    current: Option<&BreakerRecord>,
    skill: &str,
    cfg: &BreakerConfig,
    now_ms: i64,
) -> (Admission, Option<BreakerRecord>) {
    let Some(cur) = current else {
        return (Admission::Allowed, None);
    };
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let trial = |cur: &BreakerRecord| BreakerRecord {
        skill: skill.to_owned(),
        state: HALF_OPEN.into(),
        trial_started_ms: Some(now_ms),
        updated_at_ms: now_ms,
        ..cur.clone()
    };
    match cur.state.as_str() {
        OPEN => {
            let reopens_at = cur
                .opened_at_ms
                .unwrap_or(now_ms)
                .saturating_add(ms(cfg.reset_after));
            if now_ms >= reopens_at {
                (Admission::Trial, Some(trial(cur)))
            } else {
                let retry_in =
                    Duration::from_millis(u64::try_from(reopens_at - now_ms).unwrap_or(0));
                (
                    Admission::Rejected {
                        failures: cur.consecutive_failures,
                        retry_in,
                    },
                    Some(cur.clone()),
                )
            }
        }
        HALF_OPEN => match cur.trial_started_ms {
            Some(started) if now_ms < started.saturating_add(ms(cfg.trial_timeout)) => {
                let retry_in = Duration::from_millis(
                    u64::try_from(started + ms(cfg.trial_timeout) - now_ms).unwrap_or(0),
                );
                (
                    Admission::Rejected {
                        failures: cur.consecutive_failures,
                        retry_in,
                    },
                    Some(cur.clone()),
                )
            }
            _ => (Admission::Trial, Some(trial(cur))),
        },
        _ => (Admission::Allowed, Some(cur.clone())),
    }
}

/// The state after a call ended with `status`.
pub fn settle(
    current: Option<BreakerRecord>,
    skill: &str,
    status: Status,
    cfg: &BreakerConfig,
    now_ms: i64,
) -> Option<BreakerRecord> {
    let failures = current.as_ref().map_or(0, |c| c.consecutive_failures);
    let was_trial = current.as_ref().is_some_and(|c| c.state == HALF_OPEN);
    let failed = counts_as_failure(status);
    // The window of recent outcomes, newest last, at most `window` long.
    let mut recent = current.map(|c| c.recent).unwrap_or_default();
    recent.push(if failed { '1' } else { '0' });
    if recent.len() > cfg.window {
        recent.drain(..recent.len() - cfg.window);
    }
    let record = |state: &str, failures: i64, opened: Option<i64>, recent: String| BreakerRecord {
        skill: skill.to_owned(),
        state: state.into(),
        consecutive_failures: failures,
        opened_at_ms: opened,
        updated_at_ms: now_ms,
        trial_started_ms: None,
        recent,
    };
    if !failed {
        return Some(record(CLOSED, 0, None, recent));
    }
    let failures = failures + 1;
    let rate_exceeded = cfg.failure_rate.is_some_and(|rate| {
        recent.len() == cfg.window
            && recent.chars().filter(|c| *c == '1').count() as f64 >= rate * cfg.window as f64
    });
    if was_trial || failures >= i64::from(cfg.threshold) || rate_exceeded {
        // A fresh window after reopening, so the old failures do not reopen it at once.
        Some(record(OPEN, failures, Some(now_ms), String::new()))
    } else {
        Some(record(CLOSED, failures, None, recent))
    }
}

/// Failures of the skill itself. A caller's mistake (bad parameters, a wrong name) or a
/// refusal before anything ran says nothing about the skill's health.
pub fn counts_as_failure(status: Status) -> bool {
    matches!(
        status,
        Status::Failed
            | Status::Timeout
            | Status::SpawnFailed
            | Status::ResourceLimit
            | Status::SandboxDenied
            | Status::Internal
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: BreakerConfig = BreakerConfig {
        threshold: 3,
        reset_after: Duration::from_secs(10),
        trial_timeout: Duration::from_secs(4),
        failure_rate: None,
        window: 20,
    };

    fn after(
        mut state: Option<BreakerRecord>,
        outcomes: &[Status],
        now: i64,
    ) -> Option<BreakerRecord> {
        for s in outcomes {
            state = settle(state, "s", *s, &CFG, now);
        }
        state
    }

    #[test]
    fn consecutive_failures_open_and_a_success_resets() {
        let two = after(None, &[Status::Failed, Status::Timeout], 0);
        assert_eq!(admit(two.as_ref(), "s", &CFG, 1).0, Admission::Allowed);
        let reset = after(two, &[Status::Ok, Status::Failed, Status::Failed], 0);
        assert_eq!(
            reset.as_ref().unwrap().state,
            CLOSED,
            "the success broke the run"
        );
        let open = after(reset, &[Status::Failed], 100);
        assert_eq!(open.as_ref().unwrap().state, OPEN);
        let (a, _) = admit(open.as_ref(), "s", &CFG, 5_100);
        assert_eq!(
            a,
            Admission::Rejected {
                failures: 3,
                retry_in: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn a_failure_rate_over_the_window_opens_even_without_a_run() {
        let cfg = BreakerConfig {
            threshold: 100,
            failure_rate: Some(0.5),
            window: 4,
            ..CFG
        };
        let mut state = None;
        // Alternating failures never make three in a row, but half of every four calls fail.
        for (i, s) in [Status::Failed, Status::Ok, Status::Failed]
            .into_iter()
            .enumerate()
        {
            state = settle(state, "s", s, &cfg, i as i64);
            assert_eq!(
                state.as_ref().unwrap().state,
                CLOSED,
                "the window is not full yet"
            );
        }
        state = settle(state, "s", Status::Ok, &cfg, 3);
        assert_eq!(
            state.as_ref().unwrap().state,
            CLOSED,
            "a success never opens"
        );
        state = settle(state, "s", Status::Failed, &cfg, 4);
        assert_eq!(
            state.as_ref().unwrap().state,
            OPEN,
            "2 of the last 4 failed"
        );
    }

    #[test]
    fn caller_mistakes_do_not_count() {
        let s = after(
            None,
            &[
                Status::InvalidParams,
                Status::NotFound,
                Status::Error,
                Status::InvalidParams,
            ],
            0,
        );
        assert_eq!(s.unwrap().consecutive_failures, 0);
    }

    #[test]
    fn after_the_reset_time_one_trial_goes_through() {
        let open = after(None, &[Status::Failed; 3], 0);
        let (a, half) = admit(open.as_ref(), "s", &CFG, 10_000);
        assert_eq!(a, Admission::Trial);
        assert_eq!(half.as_ref().unwrap().state, HALF_OPEN);
        // A second caller meanwhile is refused.
        assert!(matches!(
            admit(half.as_ref(), "s", &CFG, 10_001).0,
            Admission::Rejected { .. }
        ));
        // The trial's success closes the circuit; its failure opens it again.
        assert_eq!(
            settle(half.clone(), "s", Status::Ok, &CFG, 10_500)
                .unwrap()
                .state,
            CLOSED
        );
        let reopened = settle(half, "s", Status::Failed, &CFG, 10_500).unwrap();
        assert_eq!(
            (reopened.state.as_str(), reopened.opened_at_ms),
            (OPEN, Some(10_500))
        );
    }

    #[test]
    fn a_trial_that_never_reports_back_is_replaced() {
        let open = after(None, &[Status::Failed; 3], 0);
        let (_, half) = admit(open.as_ref(), "s", &CFG, 10_000);
        assert_eq!(admit(half.as_ref(), "s", &CFG, 14_001).0, Admission::Trial);
    }
}
