//! The latest runs of each skill, oldest first: what a sparkline draws.

use std::collections::BTreeMap;

use serde::Serialize;
use skillet_store::{ExecutionQuery, Store, StoreError};

/// One run, as a point of a sparkline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunPoint {
    /// Its execution.
    pub id: String,
    /// When it started, ms since the epoch.
    pub started_at_ms: i64,
    /// Its wall-clock time (0 for a cache hit, which ran nothing).
    pub duration_ms: i64,
    /// How it ended.
    pub status: String,
}

/// Rows read at most: a sparkline is about the latest runs, and a history of millions of rows
/// must not make every refresh of a page read them all.
const MAX_ROWS: usize = 20_000;

/// The newest `per_skill` runs of every skill started since `since_ms` (among the newest
/// 20,000 rows), each skill's oldest first. Names that are no skill (`not_found`) are left
/// out, as [`crate::skill_stats`] leaves them.
pub fn recent_runs(
    store: &dyn Store,
    since_ms: i64,
    per_skill: usize,
) -> Result<BTreeMap<String, Vec<RunPoint>>, StoreError> {
    let mut by_skill: BTreeMap<String, Vec<RunPoint>> = BTreeMap::new();
    let query = ExecutionQuery {
        since_ms: Some(since_ms),
        limit: MAX_ROWS,
        ..ExecutionQuery::default()
    };
    store.scan(&query, &mut |r| {
        if r.status != "not_found" {
            let points = by_skill.entry(r.skill).or_default();
            if points.len() < per_skill {
                points.push(RunPoint {
                    id: r.id,
                    started_at_ms: r.started_at_ms,
                    duration_ms: if r.cached { 0 } else { r.duration_ms.max(0) },
                    status: r.status,
                });
            }
        }
        true
    })?;
    for points in by_skill.values_mut() {
        points.reverse();
    }
    Ok(by_skill)
}
