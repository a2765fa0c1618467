//! `skillet dev`: the edit–run loop of a skill author.

use clap::Args;

use super::{ParamArgs, PermissionArgs};

// `skillet dev`.
#[derive(Debug, Args)]
#[command(
    after_help = "On every save of the skill's file (its folder, for a package skill), of the files its path
parameters name, or under the folders its context_files patterns start in: validate, run again
with the same parameters (the same sandbox, limits and grants as `skillet run`; recorded in the
history with origin dev), and show the diff of the output against the previous run. A broken save
prints the diagnostics (FILE:LINE:COLUMN, as validate does) and keeps running the last good
version. Ctrl-C stops it (exit 130); when stdin is not a terminal, its end stops it too (exit 0).

Each run happens in a fresh copy of the workspace (without .git, .env and credential files), with
its own state, result cache and history: the skill cannot change the real tree, and what it changed
in the copy is shown after the run (added, removed, modified; a diff for small text files). With
--apply, the last run's changes are written to the real tree when dev stops (Ctrl-C or the end of
input); --no-isolate runs in the real tree with the real state and history, as before.

Not supported yet: running conversation and code_session skills (they are validated on every save,
not run), and a copy-on-write overlay instead of the copy.

Examples:
  skillet dev count-lines --param file=README.md
  skillet dev count-lines --param file=README.md --json   one JSON object per reload
  skillet dev count-lines --param file=README.md --no-isolate   run in the real tree"
)]
pub struct DevArgs {
    /// Skill name or alias.
    pub name: String,
    /// Parameter values, used for every re-run.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print one JSON object per reload instead of text.
    #[arg(long)]
    pub json: bool,
    /// Permissions for every re-run, as `skillet run` takes them.
    #[command(flatten)]
    pub allow: PermissionArgs,
    /// When dev stops, write what the last run changed in its copy of the workspace to the
    /// real tree.
    #[arg(long, conflicts_with = "no_isolate")]
    pub apply: bool,
    /// Run in the real workspace, with the real state, cache and history (no copy).
    #[arg(long)]
    pub no_isolate: bool,
}
