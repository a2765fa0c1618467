//! `skillet logs`: search what skillet and the skills' runs said.

use clap::Args;

// `skillet logs`.
#[derive(Debug, Args)]
#[command(
    after_help = "The store keeps skillet's own log lines (the daemon's: jobs, sessions, alerts, refusals)
and the tail of every run's output (the last 40 lines and 4 KiB of stdout and of stderr, blank
lines left out, credentials redacted), each line with its execution id and skill. It keeps the
newest 200,000 lines, for as long as [history] keep_days; [history] store_output = false in
the global skillet.toml keeps no output. Lines are shown oldest first; without --since or
--lines, the newest 100.

--grep takes a regular expression (Rust regex syntax; (?i) for any case). Its literal parts
are looked up in a full-text index, so a search of the whole log is fast when the pattern has
a word of three characters or more that every match contains.

Examples:
  skillet logs
  skillet logs --skill count-lines --since 1h
  skillet logs --level warn
  skillet logs --grep '(?i)permission denied'
  skillet logs --execution 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a
  skillet logs --follow --skill count-lines
  skillet logs --since 24h --json"
)]
pub struct LogsArgs {
    /// Only lines about this skill (its name, as the history records it).
    #[arg(long, value_name = "SKILL")]
    pub skill: Option<String>,
    /// Only lines from within this long: 90s, 15m, 1h, 2d, 1w.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Only lines at least this serious: error, warn, info or debug (a run's output is info).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,
    /// Only lines matching this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// Only lines of this execution (its id, or the start of it, as `skillet history` shows).
    #[arg(long, value_name = "ID")]
    pub execution: Option<String>,
    /// Show at most this many lines, the newest (0: all that match; default 100, or all with
    /// --since).
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Keep printing new lines as they are kept, until interrupted (or, when stdin is not a
    /// terminal, until it ends: an agent or script that goes away stops it).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Print JSON Lines, one object a line: {id, at_ms, level, source, target, skill,
    /// execution_id, message}.
    #[arg(long)]
    pub json: bool,
}
