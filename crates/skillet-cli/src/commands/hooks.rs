//! `skillet hooks`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::HooksCommand;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &HooksCommand) -> Result<ExitCode> {
    bail!("skillet hooks is not supported yet")
}
