//! The arguments of the commands that read what runs left behind: `history` (and its `show`
//! and `prune`) and `breaker`.

use clap::{Args, Subcommand};

// `skillet history`.
#[derive(Debug, Args)]
#[command(
    after_help = "Parameters are kept as a keyed hash (params.key beside the database) unless the global skillet.toml sets [history] store_params = true.

Examples:
  skillet history                         the last 20 executions
  skillet history count-lines --status failed --since 1h
  skillet history --json --limit 0        everything, for scripts
  skillet history show 0190f3a2-7c1d      one execution (an id, or enough of its start to be unique)"
)]
pub struct HistoryArgs {
    /// `show ID`: one execution in full.
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,
    /// Only this skill.
    pub skill: Option<String>,
    /// Only this status (ok, failed, timeout, resource_limit, sandbox_denied, invalid_params, not_found, error).
    #[arg(long)]
    pub status: Option<String>,
    /// Only executions started within this long: 90s, 15m, 1h, 2d, 1w.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet history show`, `skillet history prune`.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// One execution in full.
    Show {
        /// The execution id, or the start of it.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove old executions and ended sessions now, and shrink the database file.
    #[command(after_help = crate::commands::history_prune::HELP)]
    Prune(HistoryPruneArgs),
}

// `skillet history prune`.
#[derive(Debug, Args)]
pub struct HistoryPruneArgs {
    /// Remove what started (executions) or ended (sessions) before this: a date (2026-01-31,
    /// midnight UTC), an RFC 3339 time, or an age (30d, 12h). Default: [history] keep_days.
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// Count what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet breaker`.
#[derive(Debug, Args)]
#[command(
    after_help = "A skill with a circuit_breaker block refuses calls (status circuit_open, exit 75) after
failure_threshold failed calls in a row, until reset_after_s has passed; then one trial call
decides whether it closes again. The state is shared by every skillet process.

Examples:
  skillet breaker                         every breaker on record
  skillet breaker fetch-issues --json
  skillet breaker reset fetch-issues      close it now"
)]
pub struct BreakerArgs {
    /// `reset NAME`: close a skill's circuit.
    #[command(subcommand)]
    pub reset: Option<BreakerCommand>,
    /// Only this skill.
    pub skill: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet breaker reset`.
#[derive(Debug, Subcommand)]
pub enum BreakerCommand {
    /// Close a skill's circuit and forget its failures.
    Reset {
        /// The skill.
        skill: String,
        /// Print JSON: {skill, reset}.
        #[arg(long)]
        json: bool,
    },
}
