//! `skillet store`: where the history, breakers, state, cache and jobs are kept.

use std::path::PathBuf;

use clap::Subcommand;

// `skillet store`.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "The store is the SQLite file $XDG_DATA_HOME/skillet/skillet.db unless the
global skillet.toml names a PostgreSQL database:

  [store]
  url = \"postgres://skillet@db.internal/skillet\"
  password_file = \"/run/secrets/skillet-db\"   # optional

Examples:
  skillet store status
  skillet store migrate"
)]
pub enum StoreCommand {
    /// Which store this machine uses, whether it can be reached, its schema version, and how
    /// many rows each table holds.
    #[command(
        after_help = "Exit status: 0 when the store can be read, 1 when it cannot.

Examples:
  skillet store status
  skillet store status --json"
    )]
    Status {
        /// Print JSON: {backend, location, reachable, error, schema_version, supported_version,
        /// server_version, rows: {table: count}}.
        #[arg(long)]
        json: bool,
    },
    /// Bring the store's schema up to this skillet's version (every command does this when it
    /// opens the store; this does it alone, before replicas start, and says what it did).
    #[command(
        after_help = "Safe while other processes use the store: replicas that migrate at the
same moment take turns, and the second finds the work done.

Examples:
  skillet store migrate
  skillet store migrate --json"
    )]
    Migrate {
        /// Print JSON: {backend, location, from_version, to_version}.
        #[arg(long)]
        json: bool,
    },
    /// Copy this machine's SQLite history and state into a PostgreSQL store.
    #[command(
        after_help = "Copied: executions, sessions that no process holds (with their
transcripts), and skill state. Not copied: circuit breakers, the result cache, background jobs
and the output tails of `skillet logs`, which belong to this machine. What the target already
has (the same execution or session, a state document) is left as it is and counted, so a
copy can be run again. The source is opened as skillet opens its own store: one written by an
older skillet is brought up to date first.

Examples:
  skillet store copy --from sqlite --to postgres://skillet@db.internal/skillet
  skillet store copy --to postgres://skillet@db.internal/skillet --json"
    )]
    Copy {
        /// What to copy: `sqlite` (this machine's store file) or the path of a skillet.db.
        #[arg(long, value_name = "sqlite|FILE", default_value = "sqlite")]
        from: String,
        /// The PostgreSQL store to copy into; the `[store] url` of the global skillet.toml when
        /// omitted.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// A file holding the target's password (its first line), in place of one in the URL.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Print JSON: {executions, executions_present, sessions, turns, sessions_skipped,
        /// states, states_present}.
        #[arg(long)]
        json: bool,
    },
}
