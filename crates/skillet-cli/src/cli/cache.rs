//! `skillet cache`: the results skillet keeps so repeated work is free.

use clap::Subcommand;

// `skillet cache`.
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  skillet cache stats")]
pub enum CacheCommand {
    /// Hits, misses, hit rate and bytes, per skill and in all.
    #[command(after_help = "Examples:
  skillet cache stats
  skillet cache stats --json")]
    Stats {
        /// Print JSON: {skills: [{skill, hits, misses, hit_rate, entries, bytes}], hits, misses,
        /// hit_rate, entries, bytes, max_bytes}.
        #[arg(long)]
        json: bool,
    },
    /// Stored results, most recently used first.
    #[command(after_help = "Examples:
  skillet cache ls
  skillet cache ls --json")]
    Ls {
        /// Only this skill's.
        skill: Option<String>,
        /// Print JSON: an array of {key, skill, exit_code, bytes, truncated, execution_id,
        /// created_at, expires_at, last_used_at, hits}.
        #[arg(long)]
        json: bool,
    },
    /// Remove stored results and counts: one skill's, or all.
    #[command(after_help = "Examples:
  skillet cache clear
  skillet cache clear count-lines")]
    Clear {
        /// Only this skill's.
        skill: Option<String>,
    },
}
