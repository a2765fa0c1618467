//! `skillet init`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::InitArgs;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &InitArgs) -> Result<ExitCode> {
    bail!("skillet init is not supported yet")
}
