//! `skillet trace`: where one execution's time went.

use clap::Args;

// `skillet trace`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every execution keeps its spans in the history: one per stretch of a phase, from
the call's start. The phases are resolve (finding the skill), validate (the values, the argv),
sandbox_setup (the policy turned into a confined process, up to the program's exec), process
(the program itself), teardown (strays killed, output drained, scratch removed), store (the
history, the breaker), retry_wait (the backoff before a retry), cache_lookup (the result
cache, for a skill with a cache block) and llm_request (a conversation waiting on its model; a
conversation's own work between requests is its process). A retried call's later attempts
start with the wait that came before them.

Examples:
  skillet trace 0190f3a2-7c1d       an execution id, or enough of its start to be unique
  skillet trace 0190f3a2-7c1d --json"
)]
pub struct TraceArgs {
    /// The execution: its id, or the start of one.
    #[arg(value_name = "EXECUTION_ID")]
    pub id: String,
    /// Print JSON: {execution: {id, skill, status, attempt, correlation_id, started_at,
    /// duration_ms}, spans: [{phase, start_us, duration_us}]}.
    #[arg(long)]
    pub json: bool,
}
