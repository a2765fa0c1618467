//! Per-skill health, from the recent history and each skill's circuit breaker.

use std::collections::BTreeMap;

use serde::Serialize;
use skillet_store::{Store, StoreError};

use crate::stats::{LastError, StatsQuery, skill_stats};

/// How a skill has been doing lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Every recent run ended `ok`, or nearly (at least [`HEALTHY_RATE`]).
    Healthy,
    /// No run in the window.
    Idle,
    /// Some recent runs failed, or its breaker is letting a trial call through.
    Degraded,
    /// Its breaker is open, or most recent runs failed.
    Failing,
}

impl HealthState {
    /// The word shown (`healthy`, `idle`, `degraded`, `failing`).
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Idle => "idle",
            HealthState::Degraded => "degraded",
            HealthState::Failing => "failing",
        }
    }
}

/// A success rate at or above this is healthy.
pub const HEALTHY_RATE: f64 = 0.9;
/// A success rate below this, over at least [`FAILING_MIN_RUNS`] runs, is failing.
pub const FAILING_RATE: f64 = 0.5;
/// Fewer runs than this never count as failing by their rate alone (one bad call is not a
/// failing skill).
pub const FAILING_MIN_RUNS: u64 = 3;

/// How a call ended that is the caller's doing, not the skill's: bad or missing parameters, or a
/// name that names no skill. Health leaves them out. A cancelled call still counts: a client
/// that gives up on a skill that hangs cancels it.
pub const CALLERS_DOING: &[&str] = &["invalid_params", "not_found"];

/// One skill's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkillHealth {
    /// The skill.
    pub skill: String,
    /// The verdict.
    pub state: HealthState,
    /// Runs in the window, those that ended by the caller's doing ([`CALLERS_DOING`]) left out.
    pub runs: u64,
    /// How many of those ended `ok`.
    pub success_rate: Option<f64>,
    /// Its breaker's state (`closed`, `open`, `half_open`), if it has one.
    pub breaker: Option<String>,
    /// The newest run in the window that did not end `ok`.
    pub last_error: Option<LastError>,
}

/// The verdict for `runs` runs at `success_rate` with a breaker in state `breaker`.
pub fn judge(runs: u64, success_rate: Option<f64>, breaker: Option<&str>) -> HealthState {
    match (breaker, success_rate) {
        (Some("open"), _) => HealthState::Failing,
        (_, Some(rate)) if rate < FAILING_RATE && runs >= FAILING_MIN_RUNS => HealthState::Failing,
        (Some("half_open"), _) => HealthState::Degraded,
        (_, Some(rate)) if rate < HEALTHY_RATE => HealthState::Degraded,
        (_, Some(_)) => HealthState::Healthy,
        (_, None) => HealthState::Idle,
    }
}

/// The health of every skill with runs since `since_ms` or a breaker, by name.
pub fn skill_health(store: &dyn Store, since_ms: i64) -> Result<Vec<SkillHealth>, StoreError> {
    let query = StatsQuery {
        skill: None,
        since_ms: Some(since_ms),
    };
    let mut all: BTreeMap<String, SkillHealth> = BTreeMap::new();
    for s in skill_stats(store, &query)? {
        // Calls the caller got wrong, or called off, say nothing of the skill's health.
        let callers: u64 = CALLERS_DOING
            .iter()
            .filter_map(|status| s.statuses.get(*status))
            .sum();
        let runs = s.runs.saturating_sub(callers);
        let ok = s.statuses.get("ok").copied().unwrap_or(0);
        all.insert(
            s.skill.clone(),
            SkillHealth {
                skill: s.skill,
                state: HealthState::Idle,
                runs,
                success_rate: (runs > 0).then(|| ok as f64 / runs as f64),
                breaker: None,
                last_error: s
                    .last_error
                    .filter(|e| !CALLERS_DOING.contains(&e.status.as_str())),
            },
        );
    }
    for b in store.breakers()? {
        let entry = all.entry(b.skill.clone()).or_insert_with(|| SkillHealth {
            skill: b.skill.clone(),
            state: HealthState::Idle,
            runs: 0,
            success_rate: None,
            breaker: None,
            last_error: None,
        });
        entry.breaker = Some(b.state);
    }
    Ok(all
        .into_values()
        .map(|mut h| {
            h.state = judge(h.runs, h.success_rate, h.breaker.as_deref());
            h
        })
        .collect())
}
