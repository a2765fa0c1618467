//! `skillet dev`: the edit–run loop of a skill author.

use clap::Args;

use super::{ParamArgs, PermissionArgs};

/// `skillet dev`.
#[derive(Debug, Args)]
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
