//! `skillet health`: is skillet usable here, and how have skills been doing.

use clap::Args;

// `skillet health`.
#[derive(Debug, Args)]
#[command(
    after_help = "Checks, each ok, warn or fail: the daemon (not running is fine: commands start it),
the history store (read and written: one write that changes nothing), the sandbox layers, and
the [llm] endpoint when one is configured (a TCP connection to its host, nothing sent). Then,
per skill with runs in the window (--since, 24h by default) or a circuit breaker: healthy (at
least 90% of runs ok), degraded (fewer, or its breaker is half open), failing (under 50% over 3
or more runs, or its breaker is open) or idle; its success rate, breaker and last error.
The figures are `skillet stats`'s.

With --smoke, every skill's tests run too, as `skillet test` runs them, and any failing test
fails the check `smoke tests`.

Exit status: 0 when no check fails and no skill is failing, 1 otherwise, 2 for a usage error.

Examples:
  skillet health
  skillet health --since 1h
  skillet health --smoke
  skillet health --json"
)]
pub struct HealthArgs {
    /// The window a skill's recent runs are taken from: 90s, 15m, 24h, 7d, 1w.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub since: String,
    /// Also run every skill's tests, as `skillet test` does (in an isolated copy of the
    /// workspace); a failing test fails the check `smoke tests`.
    #[arg(long)]
    pub smoke: bool,
    /// Print JSON: {healthy, since, checks: [{check, state, detail}], skills: [{skill, state,
    /// runs, success_rate, breaker, last_error}], smoke: (with --smoke) `skillet test --json`'s
    /// report}.
    #[arg(long)]
    pub json: bool,
}
