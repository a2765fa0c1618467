//! `skillet batch`: many calls at once.

use std::path::PathBuf;

use clap::Args;

use super::PermissionArgs;

// `skillet batch`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each line is one call: {\"skill\": NAME, \"params\": {...}, \"stdin\": TEXT,
\"priority\": \"low\"} (all but skill may be left out). Every line is checked before any call
starts; a bad line is named with what is wrong, and nothing runs. Each call runs as `skillet run`
would run it: the same sandbox, limits, retries, cache and history. Ctrl-C (or SIGTERM) cancels
the calls running and starts no more; exit 130 (143 for SIGTERM).

The calls run in this process, each after a turn in the skillet daemon's job queue (started
when none runs), so [jobs] max_running and the memory budget bound them with everything else
you run (docs/jobs.md); --jobs bounds this batch on top.

Results are printed as each call finishes (--ordered: in the order of the file). A summary goes
to stderr. Exit status: 0 when every call succeeded, 1 when any did not, 2 for a bad file.

Examples:
  skillet batch calls.jsonl
  skillet batch calls.jsonl --jobs 16 --ordered --json
  skillet batch calls.jsonl --priority low     behind every normal call, until it has waited long
  cat calls.jsonl | skillet batch - --ordered"
)]
pub struct BatchArgs {
    /// The calls, one JSON object a line: {"skill": NAME, "params": {…}, "stdin": TEXT}
    /// (`-`: read them from stdin).
    pub file: PathBuf,
    /// The most calls of this batch running at once (default: eight per core, between 8 and
    /// 64); the daemon's [jobs] max_running bounds them too.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Print results in the order of the calls (each as soon as the calls before it are done)
    /// instead of as they finish.
    #[arg(long)]
    pub ordered: bool,
    /// Print one JSON object a line as each call finishes: `skillet run --json`'s fields plus
    /// `index` (from 0) and `line` (of the file).
    #[arg(long)]
    pub json: bool,
    /// Use DIR as the workspace instead of the one found from the current directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// How soon the batch's calls leave the daemon's queue (a line's own "priority" wins):
    /// low for bulk work that should not hold up an agent's calls.
    #[arg(long, value_enum, default_value_t)]
    pub priority: super::jobs::PriorityArg,
    /// Permissions for every call of the batch.
    #[command(flatten)]
    pub allow: PermissionArgs,
}
