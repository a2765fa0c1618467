//! `skillet docs`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::DocsArgs;
use crate::context::Context;

pub fn run(_ctx: &Context, _args: &DocsArgs) -> Result<ExitCode> {
    bail!("skillet docs is not supported yet")
}
