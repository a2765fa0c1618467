//! `skillet stats`: figures from the history.

use clap::Args;

// `skillet stats`.
#[derive(Debug, Args)]
#[command(
    after_help = "Per skill, over the executions the history keeps ([history] keep_days), or
those started within --since: runs, success rate, p50/p95/p99 duration, cache hit rate, queue
wait, limits hit and the last error. A run is one recorded execution (one attempt of one call, a
cache hit included); success rate is the runs that ended ok over all runs; durations count the
runs that executed (a cache hit ran nothing), by the nearest-rank method; queue wait counts runs
that waited in the daemon's queue. The p95 of the last 7 days is shown beside the 7 before's,
marked DOUBLED when it at least doubled (5 runs or more in each week); one skill's view adds its
last 7 days. `skillet health` and `/metrics` show the same figures.

With --authoring, per skill of this workspace (and the global ones): the time from
`skillet create` to the first `skillet test` run in which every test passed, how many test runs
there were and how many of them failed (a run fails when any test fails or errors), how many
times `skillet dev` reloaded it after a save with the median and 90th percentile of save to
result, and the last activity.

Examples:
  skillet stats
  skillet stats count-lines --since 24h
  skillet stats --since 1w --json
  skillet stats --authoring count-lines"
)]
pub struct StatsArgs {
    /// Show how skills were written: create to first pass, test runs and failures, dev reloads.
    #[arg(long)]
    pub authoring: bool,
    /// Only this skill (a name or alias; a skill since removed is found by its name).
    #[arg(value_name = "SKILL")]
    pub skill: Option<String>,
    /// Only executions started within this long: 90s, 15m, 24h, 7d, 1w.
    #[arg(long, value_name = "DURATION", conflicts_with = "authoring")]
    pub since: Option<String>,
    /// Print JSON. Runs: {since, skills: [{skill, runs, statuses, success_rate, cache_hits,
    /// cache_hit_rate, duration_ms: {count, p50, p95, p99, max}, queue_wait_ms, limit_kills,
    /// peak_memory_kb, cpu_time_ms, last_run_ms, last_status, last_error, trend: {days:
    /// [{day_start_ms, runs, p50_ms, p95_ms}], p95_this_week_ms, p95_previous_week_ms,
    /// p95_doubled}}]}. With
    /// --authoring: {workspace, skills: [{skill, scope, created_at, first_pass_at,
    /// create_to_pass_ms, test_runs, failed_runs, failure_rate, tests_passed, tests_failed,
    /// dev_reloads, dev_median_ms, dev_p90_ms, last_activity}]}.
    #[arg(long)]
    pub json: bool,
}
