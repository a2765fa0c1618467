//! `skillet hooks`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use skillet_authoring::setup::{FileAction, install_hook};

use crate::cli::HooksCommand;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, command: &HooksCommand) -> Result<ExitCode> {
    match command {
        HooksCommand::Install { force } => install(ctx, *force),
    }
}

fn install(ctx: &Context, force: bool) -> Result<ExitCode> {
    let skillet = std::env::current_exe().context("cannot tell where this skillet binary is")?;
    let installed = install_hook(&ctx.env.cwd, &skillet, force)
        .map_err(|e| output::failure(output::EXIT_FAILURE, e.to_string(), None))?;
    let hook = output::path(&ctx.shown(&installed.hook));
    match installed.action {
        FileAction::Unchanged => println!("{hook} is already skillet's pre-commit hook"),
        FileAction::Created => println!("installed {hook}"),
        _ => println!("updated {hook}"),
    }
    if let Some(backup) = &installed.backup {
        println!(
            "the hook that was there is kept as {}",
            output::path(&ctx.shown(backup))
        );
    }
    println!(
        "each `git commit` now runs `skillet validate` and `skillet test` on the skills it changes \
         (`git commit --no-verify` skips it)"
    );
    Ok(ExitCode::SUCCESS)
}
