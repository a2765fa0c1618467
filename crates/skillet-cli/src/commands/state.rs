//! `skillet state`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::StateCommand;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &StateCommand) -> Result<ExitCode> {
    bail!("skillet state is not supported yet")
}

pub fn channel(_ctx: &Context, _args: &crate::cli::ChannelCommand) -> Result<ExitCode> {
    bail!("skillet channel is not supported yet")
}
