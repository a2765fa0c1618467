//! Whether a failed attempt deserves another, and how long to wait first.
//!
//! Only failures that may go away are retried: a non-zero exit (or only the exit codes the skill
//! lists in `retry.retry_on_exit_codes`), a timeout, a program that could not be started. Never
//! invalid parameters, a missing or broken skill, a sandbox refusal, or a resource limit (the same
//! input meets the same limit). Delays grow exponentially up to a cap, each drawn uniformly from
//! zero to the current step ("full jitter"), and no attempt starts that could not finish before
//! the call's deadline.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use skillet_spec::{Retry, SkillSpec};

use crate::policy::{Kind, PolicyContext, settle};

use crate::result::{ExecutionResult, Status};

/// Attempts when a skill has a `retry` block without `max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// First backoff when the skill sets none.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// Largest backoff when the skill sets none.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Attempts of one call (retries included) a skill's `retry` may ask for when the user sets no
/// cap: each attempt may take the whole wall-clock limit.
pub const DEFAULT_MAX_ATTEMPTS_CAP: u32 = 5;
const ATTEMPTS: Kind = Kind {
    field: "max_attempts",
    unit: "",
    builtin: DEFAULT_MAX_ATTEMPTS_CAP as u64,
    global: |d| d.max_attempts.map(u64::from),
};

/// The attempts one call of `spec` may make under `ctx`: its `retry.max_attempts` (else
/// [`DEFAULT_MAX_ATTEMPTS`] when it has a `retry` block, else 1), held at the user's cap
/// (`[defaults] max_attempts`) by the one limit rule, so a skill cannot multiply the user's
/// wall-clock limit. Requests held back are told in `warnings`.
pub fn max_attempts(spec: &SkillSpec, ctx: &PolicyContext, warnings: &mut Vec<String>) -> u32 {
    let Some(retry) = spec.retry.as_ref() else {
        return 1;
    };
    let asked = retry.max_attempts.map(u64::from);
    let settled = settle(&ATTEMPTS, asked, &spec.name, ctx, warnings);
    let settled = if asked.is_none() {
        settled.min(u64::from(DEFAULT_MAX_ATTEMPTS))
    } else {
        settled
    };
    u32::try_from(settled).unwrap_or(u32::MAX).max(1)
}

/// The longest single wait between attempts, whatever the skill asks.
const LONGEST_BACKOFF: Duration = Duration::from_secs(3600);

/// The retry schedule of one call.
#[derive(Debug)]
pub struct RetryPlan {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    steps: backon::ExponentialBackoff,
    deadline: Instant,
    per_attempt: Duration,
    codes: Vec<i32>,
}

impl RetryPlan {
    /// The schedule for a skill's `retry` block (`None`: a single attempt). `per_attempt` is the
    /// skill's wall-clock limit; the whole call may take `max_attempts` of them. The skill's
    /// `max_attempts` is held at skillet's own cap
    /// ([`DEFAULT_MAX_ATTEMPTS_CAP`](DEFAULT_MAX_ATTEMPTS_CAP)); where the user's
    /// configuration applies, settle it first and use [`RetryPlan::with_attempts`].
    pub fn new(retry: Option<&Retry>, per_attempt: Duration, started: Instant) -> RetryPlan {
        let attempts = retry.map_or(1, |r| {
            r.max_attempts
                .unwrap_or(DEFAULT_MAX_ATTEMPTS)
                .min(DEFAULT_MAX_ATTEMPTS_CAP)
        });
        RetryPlan::with_attempts(retry, attempts, per_attempt, started)
    }

    /// The schedule for a skill's `retry` block with `max_attempts` already settled against the
    /// user's cap (see [`max_attempts`]). Every attempt and every
    /// wait together fit in `max_attempts` wall-clock limits, whatever the skill's backoff.
    pub fn with_attempts(
        retry: Option<&Retry>,
        max_attempts: u32,
        per_attempt: Duration,
        started: Instant,
    ) -> RetryPlan {
        let max_attempts = if retry.is_some() {
            max_attempts.max(1)
        } else {
            1
        };
        // A wait longer than the whole call's budget is never taken anyway (see `next_delay`);
        // bounding it keeps the arithmetic on instants from overflowing.
        let longest = LONGEST_BACKOFF;
        let initial = retry
            .and_then(|r| r.initial_backoff_ms)
            .map_or(DEFAULT_INITIAL_BACKOFF, Duration::from_millis)
            .min(longest);
        let cap = retry
            .and_then(|r| r.max_backoff_ms)
            .map_or(DEFAULT_MAX_BACKOFF, Duration::from_millis)
            .min(longest);
        let steps = ExponentialBuilder::new()
            .with_min_delay(initial)
            .with_max_delay(cap.max(initial))
            .with_factor(2.0)
            .with_max_times(max_attempts as usize - 1)
            .build();
        RetryPlan {
            max_attempts,
            steps,
            deadline: started
                .checked_add(per_attempt.saturating_mul(max_attempts))
                .unwrap_or_else(|| {
                    started + Duration::from_secs(crate::policy::MAX_GRANTED_TIMEOUT_S)
                }),
            per_attempt,
            codes: retry
                .map(|r| r.retry_on_exit_codes.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether `result` is a failure worth retrying under this plan.
    pub fn retryable(&self, result: &ExecutionResult) -> bool {
        match result.status {
            Status::Failed => {
                self.codes.is_empty() || result.exit_code.is_some_and(|c| self.codes.contains(&c))
            }
            // A program that could not be started (missing, not executable, arguments over the
            // kernel's limit) fails the same way every time: retrying only delays the answer.
            Status::Timeout => true,
            _ => false,
        }
    }

    /// The wait before the next attempt, or `None` when attempts are exhausted or the next one
    /// could not finish before the deadline.
    pub fn next_delay(&mut self, now: Instant) -> Option<Duration> {
        let step = self.steps.next()?;
        let delay = full_jitter(step);
        now.checked_add(delay)
            .and_then(|t| t.checked_add(self.per_attempt))
            .is_some_and(|end| end <= self.deadline)
            .then_some(delay)
    }
}

/// A delay drawn uniformly from `[0, step]`.
pub fn full_jitter(step: Duration) -> Duration {
    let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::{ctx, spec};
    use serde_json::json;
    use skillet_registry::Defaults;

    fn failed(code: i32) -> ExecutionResult {
        let mut r = ExecutionResult::new("s", Status::Failed);
        r.exit_code = Some(code);
        r
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let retry = Retry {
            max_attempts: Some(3),
            initial_backoff_ms: None,
            max_backoff_ms: None,
            retry_on_exit_codes: vec![],
        };
        let plan = RetryPlan::new(Some(&retry), Duration::from_secs(1), Instant::now());
        assert!(plan.retryable(&failed(1)));
        assert!(plan.retryable(&ExecutionResult::new("s", Status::Timeout)));
        for status in [
            Status::Ok,
            Status::InvalidParams,
            Status::NotFound,
            Status::SandboxDenied,
            Status::ResourceLimit,
            Status::Error,
            Status::SpawnFailed,
        ] {
            assert!(
                !plan.retryable(&ExecutionResult::new("s", status)),
                "{status:?}"
            );
        }
        let listed = Retry {
            retry_on_exit_codes: vec![75],
            ..retry
        };
        let plan = RetryPlan::new(Some(&listed), Duration::from_secs(1), Instant::now());
        assert!(plan.retryable(&failed(75)) && !plan.retryable(&failed(1)));
    }

    #[test]
    fn delays_grow_are_capped_jittered_and_counted() {
        let retry = Retry {
            max_attempts: Some(5),
            initial_backoff_ms: Some(100),
            max_backoff_ms: Some(300),
            retry_on_exit_codes: vec![],
        };
        let now = Instant::now();
        let mut plan = RetryPlan::new(Some(&retry), Duration::from_secs(10), now);
        let delays: Vec<Duration> = std::iter::from_fn(|| plan.next_delay(now)).collect();
        assert_eq!(delays.len(), 4, "five attempts, four waits");
        let caps = [100, 200, 300, 300];
        for (d, cap) in delays.iter().zip(caps) {
            assert!(*d <= Duration::from_millis(cap), "{d:?} > {cap} ms");
        }
    }

    #[test]
    fn no_attempt_starts_that_would_pass_the_deadline() {
        let retry = Retry {
            max_attempts: Some(3),
            initial_backoff_ms: Some(1),
            max_backoff_ms: Some(1),
            retry_on_exit_codes: vec![],
        };
        let started = Instant::now();
        let mut plan = RetryPlan::new(Some(&retry), Duration::from_secs(1), started);
        // Two of the three attempt budgets are already spent.
        assert!(
            plan.next_delay(started + Duration::from_millis(2500))
                .is_none()
        );
    }

    #[test]
    fn a_skill_cannot_ask_for_more_attempts_than_the_cap() {
        let retry = Retry {
            max_attempts: Some(1_000_000),
            initial_backoff_ms: Some(1),
            max_backoff_ms: Some(1),
            retry_on_exit_codes: vec![],
        };
        let now = Instant::now();
        let mut plan = RetryPlan::new(Some(&retry), Duration::from_millis(10), now);
        assert_eq!(plan.max_attempts, DEFAULT_MAX_ATTEMPTS_CAP);
        let waits = std::iter::from_fn(|| plan.next_delay(now)).count();
        assert_eq!(waits as u32, DEFAULT_MAX_ATTEMPTS_CAP - 1);
        // A settled count stands as given; a huge backoff only ends the retries sooner.
        let slow = Retry {
            initial_backoff_ms: Some(u64::MAX / 2),
            max_backoff_ms: Some(u64::MAX),
            ..retry
        };
        let mut plan = RetryPlan::with_attempts(Some(&slow), 3, Duration::from_secs(1), now);
        assert_eq!(plan.max_attempts, 3);
        assert!(plan.next_delay(now).is_none());
        assert_eq!(
            RetryPlan::with_attempts(None, 9, Duration::from_secs(1), now).max_attempts,
            1
        );
    }

    #[test]
    fn retry_attempts_are_the_users_to_raise() {
        let asks = |n: u64| spec(json!({"retry": {"max_attempts": n}}));
        let settle = |s: &SkillSpec, c: &PolicyContext| {
            let mut w = Vec::new();
            (max_attempts(s, c, &mut w), w)
        };
        let plain = ctx(Defaults::default(), Defaults::default(), false);
        let (n, w) = settle(&asks(1_000_000), &plain);
        assert_eq!(n, DEFAULT_MAX_ATTEMPTS_CAP);
        assert!(
            w[0].contains("max_attempts 1000000 is above the cap of 5"),
            "{w:?}"
        );
        assert_eq!(settle(&asks(2), &plain), (2, vec![]));
        assert_eq!(settle(&spec(json!({"retry": {}})), &plain), (3, vec![]));
        assert_eq!(settle(&spec(json!({})), &plain).0, 1);
        let user = Defaults {
            max_attempts: Some(7),
            ..Defaults::default()
        };
        assert_eq!(
            settle(&asks(100), &ctx(user.clone(), Defaults::default(), false)).0,
            7
        );
        let low = Defaults {
            max_attempts: Some(2),
            ..Defaults::default()
        };
        assert_eq!(
            settle(&asks(4), &ctx(user.clone(), low.clone(), false)).0,
            2
        );
        // A workspace cannot raise the user's cap.
        let high = Defaults {
            max_attempts: Some(50),
            ..Defaults::default()
        };
        assert_eq!(
            settle(&asks(40), &ctx(Defaults::default(), high, false)).0,
            5
        );
        assert_eq!(
            settle(
                &asks(40),
                &ctx(Defaults::default(), Defaults::default(), true)
            )
            .0,
            40
        );
    }

    #[test]
    fn full_jitter_stays_within_the_step() {
        for _ in 0..1000 {
            assert!(full_jitter(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
    }
}
