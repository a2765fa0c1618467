//! `skillet install --locked`: reproduce exactly what skillet.lock says, or fail.

use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::install::{Change, StagingDir, Transaction, stage_pinned};
use skillet_pkg::source::Request;

use super::{Target, consent, defaults, lock, report::Plan};
use crate::cli::InstallArgs;
use crate::context::Context;
use crate::output;
use crate::progress::Bars;

pub fn install_locked(_ctx: &Context, target: &Target, args: &InstallArgs) -> Result<ExitCode> {
    let lock = lock(target)?;
    let lockfile = skillet_pkg::lock::Lockfile::read(&target.paths.lockfile())?;
    if lockfile.packages.is_empty() {
        return Err(output::failure(
            1,
            format!(
                "{} lists no package: nothing to reproduce",
                output::path(&target.paths.lockfile())
            ),
            Some("install packages without --locked first (that writes skillet.lock), or run this where skillet.lock was committed".into()),
        ));
    }
    // With names, only those; each must be in the lock as it is, since --locked never changes it.
    let mut selected = Vec::new();
    for text in &args.packages {
        let name = match Request::parse(text, args.sha256.as_deref()) {
            Ok(Request::Named { name, req, .. }) => {
                let fits = lockfile
                    .get(&name)
                    .is_some_and(|p| req.as_ref().is_none_or(|r| r.matches(&p.version)));
                fits.then_some(name)
            }
            _ => None,
        };
        match name {
            Some(name) => selected.push(name),
            None => {
                return Err(output::failure(
                    1,
                    format!(
                        "{text}: installing it would change skillet.lock, and --locked forbids that"
                    ),
                    Some(format!(
                        "run `skillet install {text}` without --locked to add it to the lock"
                    )),
                ));
            }
        }
    }
    let staging = StagingDir::new(&lock)?;
    let bars = Bars::new();
    let mut txn = Transaction::new(&lock, &staging);
    for locked in &lockfile.packages {
        if !selected.is_empty() && !selected.contains(&locked.name) {
            continue;
        }
        let dir = target.paths.package(&locked.name);
        // Already as the lock says, file for file: nothing to fetch.
        if skillet_pkg::lock::hash_tree(&dir).is_ok_and(|files| files == locked.files) {
            continue;
        }
        let staged = stage_pinned(locked, &staging, &bars)?;
        txn.push(Change::Install {
            staged,
            requested: locked.requested,
        });
    }
    bars.clear();
    // Before asking: a plan that cannot be committed is not put to the user.
    txn.check_names()?;
    let plan = Plan::new(target, &txn, &defaults())?;
    if !plan.is_empty() || args.json {
        consent::confirm(&plan, "install", args.yes, args.dry_run, args.json)?;
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if !plan.is_empty() {
        txn.commit()?;
    }
    if !args.json && plan.is_empty() {
        println!("Every package is installed as skillet.lock says.");
        return Ok(ExitCode::SUCCESS);
    }
    plan.done(args.json)?;
    Ok(ExitCode::SUCCESS)
}
