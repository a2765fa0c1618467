//! `skillet dev`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::DevArgs;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &DevArgs) -> Result<ExitCode> {
    bail!("skillet dev is not supported yet")
}
