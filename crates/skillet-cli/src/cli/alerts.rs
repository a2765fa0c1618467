//! `skillet alerts`: the alert rules, their states and what they last did.

use clap::Args;

// `skillet alerts`.
#[derive(Debug, Args)]
#[command(
    after_help = "Rules are [[alerts]] tables of the global skillet.toml (a workspace's are ignored):

  [[alerts]]
  name = \"review failing\"
  skill = \"review\"                  # absent: every skill, each on its own
  when = \"failure_rate > 0.2\"       # FIGURE OP NUMBER
  window = \"15m\"                    # over the runs of the last 15 minutes (default)
  min_runs = 3                      # fewer runs never fire (default 1)
  resolve_after = \"1m\"              # false this long before it resolves (default)
  notify = { command = [\"notify-send\", \"skillet\"] }   # and/or webhook = \"https://…\"

FIGURE is failure_rate, success_rate, runs, failures, p50_ms, p95_ms, p99_ms,
queue_wait_p95_ms or cache_hit_rate, as `skillet stats` computes them; OP is >, >=, < or <=.
The daemon evaluates every rule every 2 s while it runs (`skillet serve` keeps it running; with
rules configured it does not exit when idle). An alert fires once when its condition starts to
hold and resolves once when it has stayed false for resolve_after. Each change runs the command
(no shell; the event as JSON on stdin and in SKILLET_ALERT_NAME, _STATE, _SKILL, _VALUE,
_CONDITION) and POSTs the event as JSON to the webhook, within 10 s each, and is recorded.

Examples:
  skillet alerts
  skillet alerts --events 50
  skillet alerts --json"
)]
pub struct AlertsArgs {
    /// How many recent events to show (0: all kept).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub events: usize,
    /// Print JSON: {daemon_running, rules: [{name, skill, when, window_ms, min_runs,
    /// resolve_after_ms, command, webhook}], errors: [..], states: [{name, skill, state,
    /// since_ms, value}], events: [{name, skill, state, value, condition, at_ms, notified}]}.
    #[arg(long)]
    pub json: bool,
}
