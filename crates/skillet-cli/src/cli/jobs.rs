//! The arguments of `skillet jobs` (background runs the daemon queues) and the priority of
//! `skillet run --detach`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// How soon a detached run leaves the daemon's queue (`--priority`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// Before normal and low jobs that have not waited long.
    High,
    /// The default.
    #[default]
    Normal,
    /// After the others, until it has waited long enough (it never starves).
    Low,
}

impl From<PriorityArg> for skillet_server::api::Priority {
    fn from(p: PriorityArg) -> Self {
        match p {
            PriorityArg::High => skillet_server::api::Priority::High,
            PriorityArg::Normal => skillet_server::api::Priority::Normal,
            PriorityArg::Low => skillet_server::api::Priority::Low,
        }
    }
}

// `skillet jobs`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Jobs are runs started with `skillet run NAME … --detach`: the daemon queues them, runs them
(at most [jobs] max_running at once, within [jobs] memory_percent of the machine's memory, by
--priority, taking turns between terminals or $SKILLET_CLIENT names), and keeps their output in
the history store, so it can be read after the command that started them exited. See
docs/jobs.md.

Examples:
  skillet run count-lines --param file=Cargo.toml --detach      prints the job's id
  skillet jobs                            every job, newest first
  skillet jobs wait 0193…                 wait for it, print its output, exit as the run did
  skillet jobs logs 0193…                 its output so far
  skillet jobs cancel 0193…               take it off the queue, or kill its processes"
)]
pub struct JobsArgs {
    /// `wait`, `logs` or `cancel` one job; without one, list them.
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
    /// At most this many, newest first (0: all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON: an array of jobs {id, skill, status, priority, submitted_at_ms,
    /// queue_wait_ms, outcome, exit_code, execution_id, error, …}.
    #[arg(long)]
    pub json: bool,
    /// The daemon's socket (default $XDG_RUNTIME_DIR/skillet/skillet.sock, or $SKILLET_SOCKET).
    #[arg(long, value_name = "PATH", global = true)]
    pub socket: Option<PathBuf>,
}

// `skillet jobs wait|logs|cancel`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Wait for a job to end; print its output and exit as its run did (`skillet run`'s codes;
    /// 125 for a job that was lost or could not start).
    #[command(after_help = "Examples:
  skillet jobs wait 0193…
  skillet jobs wait 0193… --timeout 60 --json")]
    Wait {
        /// The job's id, or the start of it.
        id: String,
        /// Give up after this many seconds (exit 124, the job goes on); default: wait until it ends.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        /// Print JSON: {job, stdout, stderr}.
        #[arg(long)]
        json: bool,
    },
    /// Print a job's output so far (all of it once it ended): stdout to stdout, stderr to stderr.
    #[command(after_help = "Examples:
  skillet jobs logs 0193…
  skillet jobs logs 0193… --json")]
    Logs {
        /// The job's id, or the start of it.
        id: String,
        /// Print JSON: {job, stdout, stderr}.
        #[arg(long)]
        json: bool,
    },
    /// Take a waiting job off the queue, or stop a running one (its whole process tree is killed).
    #[command(after_help = "Examples:
  skillet jobs cancel 0193…")]
    Cancel {
        /// The job's id, or the start of it.
        id: String,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
}
