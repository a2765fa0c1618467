//! How a skill's latency moves: daily p50/p95 over the last days, and a flag on a skill whose
//! p95 this week is at least double the week before's.

use std::collections::BTreeMap;

use serde::Serialize;
use skillet_store::{ExecutionQuery, Store, StoreError};

use crate::stats::percentile;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;

/// Fewer runs than this in either week never raise the doubled-p95 flag: a p95 of three runs is
/// one slow run.
pub const TREND_MIN_RUNS: usize = 5;

/// One UTC day of a skill's runs that executed (cache hits ran nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    /// The day's start, UTC midnight, in ms since the epoch.
    pub day_start_ms: i64,
    /// Runs that executed that day.
    pub runs: u64,
    /// Their median duration, in ms.
    pub p50_ms: Option<i64>,
    /// Their 95th percentile, in ms.
    pub p95_ms: Option<i64>,
}

/// A skill's latency trend at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// The skill.
    pub skill: String,
    /// The last days, oldest first, today last; days without runs included.
    pub days: Vec<DayFigures>,
    /// p95 of the runs of the last 7 days.
    pub p95_this_week_ms: Option<i64>,
    /// p95 of the runs of the 7 days before those.
    pub p95_previous_week_ms: Option<i64>,
    /// Whether this week's p95 is at least twice the previous week's, each week with at least
    /// [`TREND_MIN_RUNS`] runs.
    pub p95_doubled: bool,
}

/// One skill's durations: by day, and by week (0: this one, 1: the one before).
type Durations = (BTreeMap<i64, Vec<i64>>, [Vec<i64>; 2]);

/// The trend of every skill (or only `skill`) with runs in the last two weeks before `now_ms`,
/// with `days` days of daily figures, by skill name.
pub fn trends(
    store: &dyn Store,
    skill: Option<&str>,
    now_ms: i64,
    days: u32,
) -> Result<Vec<Trend>, StoreError> {
    let days = i64::from(days.clamp(1, 90));
    let today = now_ms.div_euclid(DAY_MS);
    let first_day = today - days + 1;
    let since = (first_day * DAY_MS).min(now_ms - 2 * WEEK_MS);
    let query = ExecutionQuery {
        skill: skill.map(str::to_owned),
        since_ms: Some(since),
        ..ExecutionQuery::default()
    };
    let mut by_skill: BTreeMap<String, Durations> = BTreeMap::new();
    store.scan_figures(&query, &mut |r| {
        if r.cached || r.started_at_ms > now_ms || r.status == "not_found" {
            return true;
        }
        let (daily, weeks) = by_skill.entry(r.skill).or_default();
        let duration = r.duration_ms.max(0);
        let day = r.started_at_ms.div_euclid(DAY_MS);
        if day >= first_day {
            daily.entry(day).or_default().push(duration);
        }
        let age = now_ms - r.started_at_ms;
        if age < WEEK_MS {
            weeks[0].push(duration);
        } else if age < 2 * WEEK_MS {
            weeks[1].push(duration);
        }
        true
    })?;
    Ok(by_skill
        .into_iter()
        .map(|(skill, (mut daily, mut weeks))| {
            let days = (first_day..=today)
                .map(|day| {
                    let mut values = daily.remove(&day).unwrap_or_default();
                    values.sort_unstable();
                    DayFigures {
                        day_start_ms: day * DAY_MS,
                        runs: values.len() as u64,
                        p50_ms: percentile(&values, 50),
                        p95_ms: percentile(&values, 95),
                    }
                })
                .collect();
            for week in &mut weeks {
                week.sort_unstable();
            }
            let [this, previous] = &weeks;
            let (p95_this, p95_previous) = (percentile(this, 95), percentile(previous, 95));
            let enough = this.len() >= TREND_MIN_RUNS && previous.len() >= TREND_MIN_RUNS;
            let p95_doubled = enough
                && matches!((p95_this, p95_previous), (Some(a), Some(b)) if a >= 2 * b.max(1));
            Trend {
                skill,
                days,
                p95_this_week_ms: p95_this,
                p95_previous_week_ms: p95_previous,
                p95_doubled,
            }
        })
        .collect())
}
