//! The Prometheus exposition (`/metrics`): what the store says of every skill, with the live
//! figures only the serving process knows, in the Prometheus text format (version 0.0.4).
//!
//! Counters count what the history holds, so they drop when `history prune` (or retention)
//! removes rows; Prometheus reads a drop as a counter reset, which `rate()` handles.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use skillet_store::{SessionQuery, SessionStatus, Store, StoreError, now_ms};

use crate::stats::{StatsQuery, skill_stats};
use crate::trend::trends;

/// The `Content-Type` of what [`render`] writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Bucket bounds of the duration and queue-wait histograms, in seconds: from a cached answer
/// (milliseconds) to a long conversation (minutes).
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Figures only the process serving `/metrics` has: they are not in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFigures {
    /// MCP requests answered so far, by JSON-RPC method.
    pub mcp_requests: Vec<(String, u64)>,
    /// MCP sessions (HTTP) open now.
    pub mcp_sessions: u64,
}

type Labels = Vec<(String, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

fn ms_to_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Why the exposition could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The text could not be encoded.
    #[error("cannot encode the metrics: {0}")]
    Encode(#[from] std::fmt::Error),
}

/// The metrics of everything `store` holds and `live` says, as Prometheus text.
pub fn render(store: &dyn Store, live: &LiveFigures) -> Result<String, MetricsError> {
    let mut registry = Registry::with_prefix("skillet");

    let executions = Family::<Labels, Counter>::default();
    registry.register(
        "executions",
        "Executions recorded in the history (one per attempt; cache hits included), by skill and status",
        executions.clone(),
    );
    let durations = Histograms::new_with_constructor(histogram);
    registry.register(
        "execution_duration_seconds",
        "Wall-clock time of executions that ran (cache hits excluded), by skill",
        durations.clone(),
    );
    let waits = Histograms::new_with_constructor(histogram);
    registry.register(
        "queue_wait_seconds",
        "Time executions waited in a queue before starting, by skill",
        waits.clone(),
    );
    let hits = Family::<Labels, Counter>::default();
    registry.register(
        "cache_hits",
        "Executions answered from the result cache, by skill",
        hits.clone(),
    );
    let misses = Family::<Labels, Counter>::default();
    registry.register(
        "cache_misses",
        "Cache lookups that found no valid result, by skill",
        misses.clone(),
    );
    let kills = Family::<Labels, Counter>::default();
    registry.register(
        "limit_kills",
        "Executions stopped by a sandbox limit, by skill and limit",
        kills.clone(),
    );
    let cpu = Family::<Labels, Counter<f64, AtomicU64>>::default();
    registry.register(
        "cpu_seconds",
        "CPU time (user and system) of every execution's processes, by skill",
        cpu.clone(),
    );
    let written = Family::<Labels, Counter>::default();
    registry.register(
        "storage_written_bytes",
        "Bytes executions wrote to storage devices (not to memory file systems), by skill",
        written.clone(),
    );
    let memory = Family::<Labels, Gauge>::default();
    registry.register(
        "peak_memory_bytes",
        "The largest resident set of one execution's processes, by skill",
        memory.clone(),
    );
    let processes = Family::<Labels, Gauge>::default();
    registry.register(
        "peak_processes",
        "The most processes one execution had alive at once, by skill (runs measured by a cgroup)",
        processes.clone(),
    );
    let tokens = Family::<Labels, Counter>::default();
    registry.register(
        "llm_tokens",
        "Tokens conversations sent to their model (direction=input) and got back (output), by skill, as the provider counted them",
        tokens.clone(),
    );
    let llm_waits = Histograms::new_with_constructor(histogram);
    registry.register(
        "llm_request_seconds",
        "Time each conversation waited on its model (every request and retry of the run), by skill",
        llm_waits.clone(),
    );
    let breakers = Family::<Labels, Gauge>::default();
    registry.register(
        "breaker_state",
        "1 for the state each skill's circuit breaker is in (closed, open, half_open), else 0",
        breakers.clone(),
    );
    let sessions = Family::<Labels, Gauge>::default();
    registry.register(
        "sessions",
        "Sessions on record that can still be used, by status (live, open)",
        sessions.clone(),
    );
    let jobs = Family::<Labels, Gauge>::default();
    registry.register(
        "jobs",
        "Background jobs not yet finished, by state (queued: the queue's depth; running)",
        jobs.clone(),
    );
    let week_p95 = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    registry.register(
        "duration_p95_week_seconds",
        "p95 of the runs that executed in the last 7 days (week=this) and the 7 before (week=previous), by skill",
        week_p95.clone(),
    );
    let doubled = Family::<Labels, Gauge>::default();
    registry.register(
        "p95_doubled",
        "1 when a skill's p95 this week is at least twice the week before's (each with 5 runs or more)",
        doubled.clone(),
    );
    let requests = Family::<Labels, Counter>::default();
    registry.register(
        "mcp_requests",
        "MCP requests this server answered, by method",
        requests.clone(),
    );
    let mcp_sessions = Gauge::<i64>::default();
    registry.register(
        "mcp_sessions",
        "MCP sessions open on this server",
        mcp_sessions.clone(),
    );

    for s in skill_stats(store, &StatsQuery::default())? {
        for (status, n) in &s.statuses {
            executions
                .get_or_create(&labels(&[("skill", &s.skill), ("status", status)]))
                .inc_by(*n);
        }
        let skill = labels(&[("skill", &s.skill)]);
        let h = durations.get_or_create(&skill);
        s.durations_ms
            .iter()
            .for_each(|&ms| h.observe(ms_to_seconds(ms)));
        if !s.queue_waits_ms.is_empty() {
            let h = waits.get_or_create(&skill);
            s.queue_waits_ms
                .iter()
                .for_each(|&ms| h.observe(ms_to_seconds(ms)));
        }
        hits.get_or_create(&skill).inc_by(s.cache_hits);
        cpu.get_or_create(&skill)
            .inc_by(ms_to_seconds(s.cpu_time_ms));
        written
            .get_or_create(&skill)
            .inc_by(u64::try_from(s.bytes_written).unwrap_or(0));
        if let Some(kb) = s.peak_memory_kb {
            memory.get_or_create(&skill).set(kb.saturating_mul(1024));
        }
        if let Some(n) = s.peak_processes {
            processes.get_or_create(&skill).set(n);
        }
        if !s.llm_waits_ms.is_empty() {
            for (direction, n) in [
                ("input", s.llm_input_tokens),
                ("output", s.llm_output_tokens),
            ] {
                tokens
                    .get_or_create(&labels(&[("skill", &s.skill), ("direction", direction)]))
                    .inc_by(n);
            }
            let h = llm_waits.get_or_create(&skill);
            s.llm_waits_ms
                .iter()
                .for_each(|&ms| h.observe(ms_to_seconds(ms)));
        }
        for (limit, n) in &s.limit_kills {
            kills
                .get_or_create(&labels(&[("skill", &s.skill), ("limit", limit)]))
                .inc_by(*n);
        }
    }
    for t in trends(store, None, now_ms(), 1)? {
        for (week, p95) in [
            ("this", t.p95_this_week_ms),
            ("previous", t.p95_previous_week_ms),
        ] {
            if let Some(p95) = p95 {
                week_p95
                    .get_or_create(&labels(&[("skill", &t.skill), ("week", week)]))
                    .set(ms_to_seconds(p95));
            }
        }
        doubled
            .get_or_create(&labels(&[("skill", &t.skill)]))
            .set(i64::from(t.p95_doubled));
    }
    for c in store.cache_stats()? {
        misses
            .get_or_create(&labels(&[("skill", &c.skill)]))
            .inc_by(u64::try_from(c.misses).unwrap_or(0));
    }
    for b in store.breakers()? {
        for state in ["closed", "open", "half_open"] {
            breakers
                .get_or_create(&labels(&[("skill", &b.skill), ("state", state)]))
                .set(i64::from(b.state == state));
        }
    }
    for status in [SessionStatus::Live, SessionStatus::Open] {
        let query = SessionQuery {
            status: Some(status.clone()),
            ..SessionQuery::default()
        };
        let n = store.sessions(&query)?.len();
        sessions
            .get_or_create(&labels(&[("status", status.as_str())]))
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    let (mut queued, mut running) = (0, 0);
    for job in store.jobs(true, 0)? {
        match job.status.as_str() {
            "queued" => queued += 1,
            _ => running += 1,
        }
    }
    jobs.get_or_create(&labels(&[("state", "queued")]))
        .set(queued);
    jobs.get_or_create(&labels(&[("state", "running")]))
        .set(running);
    for (method, n) in &live.mcp_requests {
        requests
            .get_or_create(&labels(&[("method", method)]))
            .inc_by(*n);
    }
    mcp_sessions.set(i64::try_from(live.mcp_sessions).unwrap_or(i64::MAX));

    let mut out = String::new();
    prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}
