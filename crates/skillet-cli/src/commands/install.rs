//! `skillet install`, `update`, `uninstall` and `verify`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{InstallArgs, UninstallArgs, UpdateArgs, VerifyArgs};
use crate::context::Context;

pub fn install(_ctx: &Context, _args: &InstallArgs) -> Result<ExitCode> {
    bail!("`skillet install` is not supported yet")
}

pub fn update(_ctx: &Context, _args: &UpdateArgs) -> Result<ExitCode> {
    bail!("`skillet update` is not supported yet")
}

pub fn uninstall(_ctx: &Context, _args: &UninstallArgs) -> Result<ExitCode> {
    bail!("`skillet uninstall` is not supported yet")
}

pub fn verify(_ctx: &Context, _args: &VerifyArgs) -> Result<ExitCode> {
    bail!("`skillet verify` is not supported yet")
}
