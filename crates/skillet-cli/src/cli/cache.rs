//! `skillet cache`: the results skillet keeps so repeated work is free.

use clap::Subcommand;

/// `skillet cache`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Hits, misses, hit rate and bytes, per skill.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
