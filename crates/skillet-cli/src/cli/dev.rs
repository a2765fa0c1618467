//! `skillet dev`: the edit–run loop of a skill author.

use clap::Args;

use super::{ParamArgs, PermissionArgs};

/// `skillet dev`.
#[derive(Debug, Args)]
#[command(
    after_help = "On every save of the skill's file (its folder, for a package skill), of the files its path
parameters name, or under the folders its context_files patterns start in: validate, run again
with the same parameters (the same sandbox, limits and grants as `skillet run`; recorded in the
history with origin dev), and show the diff of the output against the previous run. A broken save
prints the diagnostics (FILE:LINE:COLUMN, as validate does) and keeps running the last good
version. Ctrl-C stops it (exit 130); when stdin is not a terminal, its end stops it too (exit 0).

Not supported yet: running against an isolated copy of the workspace (a skill under development
writes to the real tree, as with `skillet run`), and running conversation and code_session skills
(they are validated on every save, not run).

Examples:
  skillet dev count-lines --param file=README.md
  skillet dev count-lines --param file=README.md --json   one JSON object per reload"
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
}
