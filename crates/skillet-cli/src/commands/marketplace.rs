//! `skillet marketplace` and `skillet search`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{MarketplaceCommand, SearchArgs};
use crate::context::Context;

pub fn run(_ctx: &Context, _command: &MarketplaceCommand) -> Result<ExitCode> {
    bail!("`skillet marketplace` is not supported yet")
}

pub fn search(_ctx: &Context, _args: &SearchArgs) -> Result<ExitCode> {
    bail!("`skillet search` is not supported yet")
}
