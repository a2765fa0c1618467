//! `skillet cache`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::CacheCommand;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &CacheCommand) -> Result<ExitCode> {
    bail!("skillet cache is not supported yet")
}
