//! `skillet uninstall PACKAGE [--prune]`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::PackageName;
use skillet_pkg::install::{Change, StagingDir, Transaction, dependents_of, prunable};

use super::{defaults, lock, report::Plan, target};
use crate::cli::UninstallArgs;
use crate::context::Context;
use crate::output;

pub fn uninstall(ctx: &Context, args: &UninstallArgs) -> Result<ExitCode> {
    let target = target(ctx, args.global)?;
    let name = PackageName::new(args.package.as_str())
        .map_err(|e| output::failure(2, e.to_string(), None))?;
    let lock = lock(&target)?;
    let lockfile = skillet_pkg::lock::Lockfile::read(&target.paths.lockfile())?;
    if lockfile.get(&name).is_none() {
        let other = if args.global {
            ""
        } else {
            " (add --global for your own packages)"
        };
        return Err(output::failure(
            1,
            format!(
                "{name} is not installed in {}{other}",
                output::path(&target.paths.packages())
            ),
            Some("`skillet list --installed` shows what is".into()),
        ));
    }
    let dependents = dependents_of(&lockfile, &name);
    if !dependents.is_empty() {
        let names: Vec<String> = dependents.iter().map(ToString::to_string).collect();
        return Err(output::failure(
            1,
            format!(
                "{name} is needed by {}: nothing was removed",
                names.join(", ")
            ),
            Some(format!("uninstall {} first", names.join(" and "))),
        ));
    }
    let mut remove = vec![name.clone()];
    if args.prune {
        remove.extend(prunable(&lockfile, &remove));
    }
    let staging = StagingDir::new(&lock)?;
    let mut txn = Transaction::new(&lock, &staging);
    for name in remove {
        txn.push(Change::Remove { name });
    }
    let plan = Plan::new(&target, &txn, &defaults())?;
    txn.commit()?;
    plan.done(args.json)?;
    Ok(ExitCode::SUCCESS)
}
