//! `skillet stats`: figures from the history.

use clap::Args;

/// `skillet stats`.
#[derive(Debug, Args)]
#[command(
    after_help = "With --authoring, per skill of this workspace (and the global ones): the time from
`skillet create` to the first `skillet test` run in which every test passed, how many test runs
there were and how many of them failed (a run fails when any test fails or errors), how many
times `skillet dev` reloaded it after a save with the median and 90th percentile of save to
result, and the last activity. create, test and dev record these as they run; they are kept as
long as executions ([history] keep_days). Other statistics are not supported yet.

Examples:
  skillet stats --authoring
  skillet stats --authoring count-lines
  skillet stats --authoring --json"
)]
pub struct StatsArgs {
    /// Show how skills were written: create to first pass, test runs and failures, dev reloads.
    #[arg(long)]
    pub authoring: bool,
    /// Only this skill (a name or alias).
    #[arg(value_name = "SKILL", requires = "authoring")]
    pub skill: Option<String>,
    /// Print JSON: {workspace, skills: [{skill, scope, created_at, first_pass_at,
    /// create_to_pass_ms, test_runs, failed_runs, failure_rate, tests_passed, tests_failed,
    /// dev_reloads, dev_median_ms, dev_p90_ms, last_activity}]}.
    #[arg(long)]
    pub json: bool,
}
