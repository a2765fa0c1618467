//! Per-skill figures over the history: the one definition of success rate, cache hit rate and
//! percentiles that `skillet stats`, `skillet health` and `/metrics` all show.

use std::collections::BTreeMap;

use serde::Serialize;
use skillet_store::{ExecutionFigures, ExecutionQuery, Store, StoreError};

/// Which executions the figures cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// Only this skill.
    pub skill: Option<String>,
    /// Only executions started at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
}

/// The p50, p95 and p99 of a set of millisecond figures, by the nearest-rank method (the
/// smallest value at least that share of the set is not above), and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// How many values.
    pub count: u64,
    /// The median.
    pub p50: Option<i64>,
    /// The 95th percentile.
    pub p95: Option<i64>,
    /// The 99th percentile.
    pub p99: Option<i64>,
    /// The largest.
    pub max: Option<i64>,
}

impl Spread {
    /// The spread of `values` (any order).
    ///
    /// ```
    /// let s = skillet_observe::Spread::of(vec![40, 10, 30, 20]);
    /// assert_eq!((s.p50, s.p95, s.max), (Some(20), Some(40), Some(40)));
    /// ```
    pub fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        Spread::of_sorted(&values)
    }

    /// The spread of `sorted` (ascending).
    pub fn of_sorted(sorted: &[i64]) -> Spread {
        Spread {
            count: sorted.len() as u64,
            p50: percentile(sorted, 50),
            p95: percentile(sorted, 95),
            p99: percentile(sorted, 99),
            max: sorted.last().copied(),
        }
    }
}

/// The nearest-rank `p`th percentile (1..=100) of `sorted` (ascending): the value at rank
/// ⌈p/100 × n⌉. `None` for no values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (n * p.clamp(1, 100) as usize).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied()
}

/// What the history says of one skill.
///
/// A *run* is one recorded execution: one attempt of one call, a cache hit included (a call
/// of a name no skill answers to, `not_found`, is none). Success
/// rate is runs that ended `ok` over all runs; cache hit rate is runs answered from the cache
/// over all runs. Durations count only runs that executed (a cache hit ran nothing); queue
/// waits only runs that queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SkillStats {
    /// The skill.
    pub skill: String,
    /// Recorded executions.
    pub runs: u64,
    /// Runs by how they ended (`ok`, `failed`, `timeout`, …).
    pub statuses: BTreeMap<String, u64>,
    /// Runs that ended `ok` over all runs; `None` without runs.
    pub success_rate: Option<f64>,
    /// Runs answered from the result cache.
    pub cache_hits: u64,
    /// Cache hits over all runs; `None` without runs.
    pub cache_hit_rate: Option<f64>,
    /// Wall-clock time of the runs that executed, in ms.
    pub duration_ms: Spread,
    /// Time runs waited in a queue before starting, in ms.
    pub queue_wait_ms: Spread,
    /// Runs stopped by a limit, by the limit (`memory`, `cpu`, `output`, …).
    pub limit_kills: BTreeMap<String, u64>,
    /// The largest resident set of a run's process tree, in KiB.
    pub peak_memory_kb: Option<i64>,
    /// CPU time of every run together, in ms.
    pub cpu_time_ms: i64,
    /// The most processes one run had alive at once (runs measured by a cgroup).
    pub peak_processes: Option<i64>,
    /// Bytes every run together wrote to storage devices.
    pub bytes_written: i64,
    /// Tokens the runs sent to a model (conversations), as providers counted them.
    pub llm_input_tokens: u64,
    /// Tokens models answered the runs with.
    pub llm_output_tokens: u64,
    /// Time each run that asked a model waited on it, in ms.
    pub llm_ms: Spread,
    /// When the newest run started (ms since the epoch).
    pub last_run_ms: Option<i64>,
    /// The newest run's status.
    pub last_status: Option<String>,
    /// The newest run that did not end `ok`: when it started and what it said.
    pub last_error: Option<LastError>,
    /// The durations behind [`SkillStats::duration_ms`], ascending, for histograms.
    #[serde(skip)]
    pub durations_ms: Vec<i64>,
    /// The waits behind [`SkillStats::queue_wait_ms`], ascending, for histograms.
    #[serde(skip)]
    pub queue_waits_ms: Vec<i64>,
    /// The waits behind [`SkillStats::llm_ms`], ascending, for histograms.
    #[serde(skip)]
    pub llm_waits_ms: Vec<i64>,
}

/// The newest failed run of a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastError {
    /// The execution.
    pub id: String,
    /// When it started (ms since the epoch).
    pub at_ms: i64,
    /// Its status.
    pub status: String,
    /// Its error, or the exit code when it failed without one.
    pub message: String,
}

/// The status of a call of a name no skill answers to.
const NOT_FOUND: &str = "not_found";

/// Runs as they are read, in no set order, before they are summed up.
#[derive(Default)]
struct Tally {
    stats: SkillStats,
    ok: u64,
    durations: Vec<i64>,
    waits: Vec<i64>,
    llm: Vec<i64>,
}

impl Tally {
    fn add(&mut self, r: ExecutionFigures) {
        let s = &mut self.stats;
        s.runs += 1;
        *s.statuses.entry(r.status.clone()).or_default() += 1;
        if r.status == "ok" {
            self.ok += 1;
        }
        if r.cached {
            s.cache_hits += 1;
        } else {
            self.durations.push(r.duration_ms.max(0));
        }
        if let Some(wait) = r.queue_wait_ms {
            self.waits.push(wait.max(0));
        }
        if let Some(limit) = &r.limit_hit {
            *s.limit_kills.entry(limit.clone()).or_default() += 1;
        }
        s.peak_memory_kb = s.peak_memory_kb.max(r.peak_memory_kb);
        s.cpu_time_ms = s
            .cpu_time_ms
            .saturating_add(r.cpu_time_ms.unwrap_or(0).max(0));
        s.peak_processes = s.peak_processes.max(r.peak_processes);
        let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
        s.llm_input_tokens = s.llm_input_tokens.saturating_add(count(r.llm_input_tokens));
        s.llm_output_tokens = s
            .llm_output_tokens
            .saturating_add(count(r.llm_output_tokens));
        if let Some(ms) = r.llm_ms {
            self.llm.push(ms.max(0));
        }
        s.bytes_written = s
            .bytes_written
            .saturating_add(r.bytes_written.unwrap_or(0).max(0));
        // The newest run is the last (the first seen of two that started together).
        if s.last_run_ms.is_none_or(|last| r.started_at_ms > last) {
            s.last_run_ms = Some(r.started_at_ms);
            s.last_status = Some(r.status.clone());
        }
        if r.status != "ok"
            && s.last_error
                .as_ref()
                .is_none_or(|e| r.started_at_ms > e.at_ms)
        {
            let message = match (&r.error, r.exit_code) {
                (Some(e), _) => e.clone(),
                (None, Some(code)) => format!("exited with code {code}"),
                (None, None) => r.status.clone(),
            };
            s.last_error = Some(LastError {
                id: r.id,
                at_ms: r.started_at_ms,
                status: r.status,
                message,
            });
        }
    }

    fn finish(self, skill: String) -> SkillStats {
        let mut s = self.stats;
        s.skill = skill;
        let runs = s.runs as f64;
        s.success_rate = (s.runs > 0).then(|| self.ok as f64 / runs);
        s.cache_hit_rate = (s.runs > 0).then(|| s.cache_hits as f64 / runs);
        let (mut durations, mut waits, mut llm) = (self.durations, self.waits, self.llm);
        durations.sort_unstable();
        waits.sort_unstable();
        llm.sort_unstable();
        s.llm_ms = Spread::of_sorted(&llm);
        s.llm_waits_ms = llm;
        s.duration_ms = Spread::of_sorted(&durations);
        s.queue_wait_ms = Spread::of_sorted(&waits);
        s.durations_ms = durations;
        s.queue_waits_ms = waits;
        s
    }
}

/// The figures of every skill with runs matching `query`, by skill name. Reads the history
/// once, one row at a time, only the columns figures need ([`Store::scan_figures`]).
pub fn skill_stats(store: &dyn Store, query: &StatsQuery) -> Result<Vec<SkillStats>, StoreError> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let rows = ExecutionQuery {
        skill: query.skill.clone(),
        since_ms: query.since_ms,
        ..ExecutionQuery::default()
    };
    store.scan_figures(&rows, &mut |r| {
        // A name that is no skill (a typo, a skill since removed) ran nothing: no skill's run.
        if r.status != NOT_FOUND {
            tallies.entry(r.skill.clone()).or_default().add(r);
        }
        true
    })?;
    Ok(tallies
        .into_iter()
        .map(|(skill, tally)| tally.finish(skill))
        .collect())
}
