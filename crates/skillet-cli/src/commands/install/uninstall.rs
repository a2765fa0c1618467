//! `skillet uninstall PACKAGE [--prune]`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::PackageName;
use skillet_pkg::install::{Change, StagingDir, Transaction, cycle_of, dependents_of, prunable};

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
            output::EXIT_NOT_FOUND,
            format!(
                "{name} is not installed in {}{other}",
                output::path(&target.paths.packages())
            ),
            Some("`skillet list --installed` shows what is".into()),
        ));
    }
    // A package in a cycle with `name` cannot stay without it: it goes too, and only the
    // packages outside the cycle that need one of its members refuse the uninstall.
    let cycle = cycle_of(&lockfile, &name);
    let mut remove = vec![name.clone()];
    remove.extend(cycle.iter().cloned());
    let mut dependents: Vec<PackageName> = Vec::new();
    for member in &remove {
        for d in dependents_of(&lockfile, member) {
            if !remove.contains(&d) && !dependents.contains(&d) {
                dependents.push(d);
            }
        }
    }
    if !dependents.is_empty() {
        let names: Vec<String> = dependents.iter().map(ToString::to_string).collect();
        let with = if cycle.is_empty() {
            String::new()
        } else {
            let c: Vec<String> = cycle.iter().map(ToString::to_string).collect();
            format!(" (with {}, in a dependency cycle with it)", c.join(", "))
        };
        return Err(output::failure(
            1,
            format!(
                "{name}{with} is needed by {}: nothing was removed",
                names.join(", ")
            ),
            Some(format!("uninstall {} first", names.join(" and "))),
        ));
    }
    if !cycle.is_empty() && !args.json {
        let c: Vec<String> = cycle.iter().map(ToString::to_string).collect();
        eprintln!(
            "skillet: {name} is in a dependency cycle with {}: removing them together",
            output::text(&c.join(", "))
        );
    }
    if args.prune {
        let more = prunable(&lockfile, &remove);
        remove.extend(more);
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
