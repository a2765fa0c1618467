//! Authoring events: what `skillet create`, `skillet test` and `skillet dev` did to a skill, and
//! the per-skill figures `skillet stats --authoring` shows, computed the same way whatever the
//! database.

use serde::Serialize;

use crate::StoreError;

/// What happened to a skill while it was being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthoringEvent {
    /// `skillet create` wrote it.
    Created,
    /// `skillet test` ran its tests.
    Tested {
        /// Tests that passed.
        passed: u32,
        /// Tests that failed or could not be judged (errors).
        failed: u32,
        /// Tests not run, with a reason.
        skipped: u32,
        /// The time its tests took, added up.
        duration_ms: u64,
    },
    /// `skillet dev` reloaded it after a save.
    DevReload {
        /// From the first file event of the save to the result shown.
        save_to_result_ms: u64,
        /// How the reload ended: the run's status, or `broken` / `missing` / `not_run`.
        outcome: String,
    },
}

impl AuthoringEvent {
    /// The kind as stored: `create`, `test` or `dev`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthoringEvent::Created => "create",
            AuthoringEvent::Tested { .. } => "test",
            AuthoringEvent::DevReload { .. } => "dev",
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthoringRecord {
    /// The workspace the skill belongs to (its resolved root), or empty for a global skill.
    pub workspace: String,
    /// The skill's name.
    pub skill: String,
    /// When, in ms since the epoch.
    pub at_ms: i64,
    /// What.
    #[serde(flatten)]
    pub event: AuthoringEvent,
}

/// Which skills' figures to compute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthoringQuery {
    /// The workspaces whose skills count (an empty string for global skills).
    pub workspaces: Vec<String>,
    /// Only this skill, when given.
    pub skill: Option<String>,
}

/// What the authoring history says about one skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthoringStats {
    /// The workspace (empty for a global skill).
    pub workspace: String,
    /// The skill's name.
    pub skill: String,
    /// When `skillet create` last wrote it; `None` when it was not made with `create` (or that
    /// is older than the history keeps).
    pub created_at_ms: Option<i64>,
    /// The first test run, at or after the creation, in which every test that ran passed (and
    /// at least one ran).
    pub first_pass_at_ms: Option<i64>,
    /// From the creation to that first passing run.
    pub create_to_pass_ms: Option<i64>,
    /// `skillet test` runs that covered the skill.
    pub test_runs: u64,
    /// Those in which a test failed or errored.
    pub failed_runs: u64,
    /// `failed_runs / test_runs`; `None` without runs.
    pub failure_rate: Option<f64>,
    /// Tests passed, over every run.
    pub tests_passed: u64,
    /// Tests failed or errored, over every run.
    pub tests_failed: u64,
    /// `skillet dev` reloads after a save.
    pub dev_reloads: u64,
    /// Median save-to-result time of those reloads (nearest rank).
    pub dev_median_ms: Option<u64>,
    /// 90th percentile save-to-result time (nearest rank).
    pub dev_p90_ms: Option<u64>,
    /// The latest event of any kind, in ms since the epoch.
    pub last_activity_ms: i64,
}

impl AuthoringStats {
    fn new(workspace: &str, skill: &str) -> AuthoringStats {
        AuthoringStats {
            workspace: workspace.to_owned(),
            skill: skill.to_owned(),
            created_at_ms: None,
            first_pass_at_ms: None,
            create_to_pass_ms: None,
            test_runs: 0,
            failed_runs: 0,
            failure_rate: None,
            tests_passed: 0,
            tests_failed: 0,
            dev_reloads: 0,
            dev_median_ms: None,
            dev_p90_ms: None,
            last_activity_ms: i64::MIN,
        }
    }
}

/// Authoring events in the store. Every store implements it; [`crate::Store`] requires it.
pub trait AuthoringStore {
    /// Adds one event.
    fn record_authoring(&self, record: &AuthoringRecord) -> Result<(), StoreError>;
    /// The figures of every skill `query` selects, sorted by workspace and skill.
    fn authoring_stats(&self, query: &AuthoringQuery) -> Result<Vec<AuthoringStats>, StoreError>;
}

/// Folds events into per-skill figures, the same for every store. `records` must come sorted
/// by workspace, skill and time; a backend streams them in that order so memory holds one
/// skill's reload times at most.
#[derive(Debug, Default)]
pub struct AuthoringSummarizer {
    done: Vec<AuthoringStats>,
    current: Option<(AuthoringStats, Vec<u64>)>,
}

impl AuthoringSummarizer {
    /// Adds the next event.
    pub fn add(&mut self, record: AuthoringRecord) {
        let same = self
            .current
            .as_ref()
            .is_some_and(|(s, _)| s.workspace == record.workspace && s.skill == record.skill);
        if !same {
            self.close();
            self.current = Some((
                AuthoringStats::new(&record.workspace, &record.skill),
                Vec::new(),
            ));
        }
        let Some((stats, reloads)) = self.current.as_mut() else {
            return;
        };
        stats.last_activity_ms = stats.last_activity_ms.max(record.at_ms);
        match record.event {
            AuthoringEvent::Created => {
                // A skill made again (deleted and created anew) starts its clock again.
                stats.created_at_ms = Some(record.at_ms);
                stats.first_pass_at_ms = None;
            }
            AuthoringEvent::Tested { passed, failed, .. } => {
                stats.test_runs += 1;
                stats.tests_passed += u64::from(passed);
                stats.tests_failed += u64::from(failed);
                if failed > 0 {
                    stats.failed_runs += 1;
                } else if passed > 0 && stats.first_pass_at_ms.is_none() {
                    stats.first_pass_at_ms = Some(record.at_ms);
                }
            }
            AuthoringEvent::DevReload {
                save_to_result_ms, ..
            } => reloads.push(save_to_result_ms),
        }
    }

    fn close(&mut self) {
        let Some((mut stats, mut reloads)) = self.current.take() else {
            return;
        };
        stats.create_to_pass_ms = stats
            .created_at_ms
            .zip(stats.first_pass_at_ms)
            .map(|(created, passed)| passed.saturating_sub(created));
        if stats.test_runs > 0 {
            stats.failure_rate = Some(stats.failed_runs as f64 / stats.test_runs as f64);
        }
        reloads.sort_unstable();
        stats.dev_reloads = reloads.len() as u64;
        stats.dev_median_ms = nearest_rank(&reloads, 50);
        stats.dev_p90_ms = nearest_rank(&reloads, 90);
        self.done.push(stats);
    }

    /// The figures of every skill seen, sorted by workspace and skill.
    pub fn finish(mut self) -> Vec<AuthoringStats> {
        self.close();
        self.done
    }
}

/// The `percent`-th percentile of sorted `values` by the nearest-rank method: always one of
/// the values, so a reported time is one a user really waited.
fn nearest_rank(sorted: &[u64], percent: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(skill: &str, at_ms: i64, event: AuthoringEvent) -> AuthoringRecord {
        AuthoringRecord {
            workspace: "/w".into(),
            skill: skill.into(),
            at_ms,
            event,
        }
    }

    fn tested(passed: u32, failed: u32) -> AuthoringEvent {
        AuthoringEvent::Tested {
            passed,
            failed,
            skipped: 0,
            duration_ms: 5,
        }
    }

    fn dev(ms: u64) -> AuthoringEvent {
        AuthoringEvent::DevReload {
            save_to_result_ms: ms,
            outcome: "ok".into(),
        }
    }

    #[test]
    fn create_to_first_passing_run_and_failure_rate() {
        let mut s = AuthoringSummarizer::default();
        s.add(at("a", 100, AuthoringEvent::Created));
        s.add(at("a", 200, tested(0, 1)));
        s.add(at("a", 350, tested(1, 0)));
        s.add(at("a", 400, tested(0, 1)));
        s.add(at("b", 50, tested(2, 0)));
        let stats = s.finish();
        assert_eq!(stats.len(), 2);
        let a = &stats[0];
        assert_eq!(
            (a.test_runs, a.failed_runs, a.create_to_pass_ms),
            (3, 2, Some(250))
        );
        assert_eq!(a.failure_rate, Some(2.0 / 3.0));
        assert_eq!(a.last_activity_ms, 400);
        let b = &stats[1];
        assert_eq!((b.created_at_ms, b.first_pass_at_ms), (None, Some(50)));
        assert_eq!(b.create_to_pass_ms, None);
    }

    #[test]
    fn a_run_that_only_skipped_is_not_a_pass() {
        let mut s = AuthoringSummarizer::default();
        s.add(at("a", 1, AuthoringEvent::Created));
        s.add(at("a", 2, tested(0, 0)));
        let a = &s.finish()[0];
        assert_eq!(
            (a.test_runs, a.failed_runs, a.first_pass_at_ms),
            (1, 0, None)
        );
    }

    #[test]
    fn creating_again_restarts_the_clock() {
        let mut s = AuthoringSummarizer::default();
        s.add(at("a", 1, AuthoringEvent::Created));
        s.add(at("a", 5, tested(1, 0)));
        s.add(at("a", 10, AuthoringEvent::Created));
        s.add(at("a", 30, tested(1, 0)));
        assert_eq!(s.finish()[0].create_to_pass_ms, Some(20));
    }

    #[test]
    fn reload_times_by_nearest_rank() {
        let mut s = AuthoringSummarizer::default();
        for ms in [50, 10, 40, 20, 30, 60, 70, 80, 90, 100] {
            s.add(at("a", 1, dev(ms)));
        }
        let a = &s.finish()[0];
        assert_eq!(
            (a.dev_reloads, a.dev_median_ms, a.dev_p90_ms),
            (10, Some(50), Some(90))
        );
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }
}
