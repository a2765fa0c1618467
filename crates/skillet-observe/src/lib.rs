//! How skills behave, as the store records it.
//!
//! This crate owns the figures a user or an operator reads about skills: per-skill statistics
//! over the history ([`skill_stats`]: runs, success rate, percentiles, cache hits, queue waits,
//! limits hit), daily latency trends ([`trends`]), their exposition to Prometheus
//! ([`metrics`]) and health ([`skill_health`]). Every figure anywhere comes from these and the
//! store's own lists, with one [`percentile`], so the CLI, `/metrics` and health never disagree
//! on what a success rate or a p95 is.
//!
//! It also owns skillet's own log lines ([`journal`]: on stderr as text or JSON, and queued for
//! the store) and their search ([`LogSearch`], `skillet logs`).
//!
//! It must not run skills, write history, or know how a store keeps its rows: it reads (and
//! appends log lines) through the [`skillet_store::Store`] traits only.

mod alerts;
mod health;
pub mod journal;
mod log_search;
pub mod metrics;
mod recent;
mod stats;
mod trend;
mod window;

pub use alerts::{
    Alert, AlertState, Comparison, DEFAULT_RESOLVE_AFTER_MS, DEFAULT_WINDOW_MS, Figure,
    MIN_WINDOW_MS, RuleError, Transition,
};
pub use health::{
    FAILING_MIN_RUNS, FAILING_RATE, HEALTHY_RATE, HealthState, SkillHealth, judge, skill_health,
};
pub use log_search::{LogSearch, LogSearchError};
pub use recent::{RunPoint, recent_runs};
pub use stats::{LastError, SkillStats, Spread, StatsQuery, percentile, skill_stats};
pub use trend::{DayFigures, TREND_MIN_RUNS, Trend, trends};
pub use window::{WindowError, parse_window};
