//! `skillet update [PACKAGE]`: fetch each package's source again, show version and permission
//! changes, ask, commit.

use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::PackageName;
use skillet_pkg::install::{Change, StagingDir, Transaction, installed_packages, stage};
use skillet_pkg::source::{Pinned, Source};

use super::{consent, defaults, lock, report::Plan, resolve, target};
use crate::cli::UpdateArgs;
use crate::context::Context;
use crate::output;
use crate::progress::Bars;

pub fn update(ctx: &Context, args: &UpdateArgs) -> Result<ExitCode> {
    let target = target(ctx, args.global)?;
    let lock = lock(&target)?;
    let (_, installed) = installed_packages(&target.paths)?;
    let selected: Vec<_> = match &args.package {
        Some(text) => {
            let name = PackageName::new(text.as_str())
                .map_err(|e| output::failure(2, e.to_string(), None))?;
            let found: Vec<_> = installed.iter().filter(|i| i.locked.name == name).collect();
            if found.is_empty() {
                return Err(output::failure(
                    output::EXIT_NOT_FOUND,
                    format!(
                        "{name} is not installed in {}",
                        output::path(&target.paths.packages())
                    ),
                    Some(format!("install it: `skillet install {name}`")),
                ));
            }
            found
        }
        None => installed.iter().collect(),
    };
    let staging = StagingDir::new(&lock)?;
    let bars = Bars::new();
    let mut txn = Transaction::new(&lock, &staging);
    // A package the marketplaces offer is updated to the newest version they offer that fits;
    // any other is fetched again from its own source.
    let offered = resolve::marketplaces(ctx)?;
    let mut unlock = Vec::new();
    for package in selected {
        if !skillet_pkg::resolve::Catalog::versions(&offered, &package.locked.name).is_empty() {
            unlock.push(package.locked.name.clone());
            continue;
        }
        let source = match &package.locked.source {
            Pinned::Dir { path } => Source::Dir { path: path.clone() },
            // A git source follows the branch or tag the user installed (`#v1.2`), else its
            // repository's default branch.
            Pinned::Git {
                url,
                reference,
                subdir,
                ..
            } => Source::Git {
                url: url.clone(),
                reference: reference.clone(),
                subdir: subdir.clone(),
            },
            // An archive is pinned by its digest: the same URL can only give the same bytes.
            Pinned::Archive { .. } => continue,
        };
        let staged = stage(&source, &staging, &bars)?;
        if staged.manifest.name != package.locked.name {
            return Err(output::failure(
                output::EXIT_SKILLET_ERROR,
                format!(
                    "the source of {} now holds package {}; nothing was updated",
                    package.locked.name, staged.manifest.name
                ),
                Some(format!(
                    "uninstall {} and install what you want from that source",
                    package.locked.name
                )),
            ));
        }
        if staged.manifest.version == package.locked.version && staged.files == package.locked.files
        {
            continue;
        }
        txn.push(Change::Install {
            staged,
            requested: package.locked.requested,
        });
    }
    resolve::add_dependencies(ctx, &lock, &staging, &bars, &mut txn, &[], &unlock)?;
    bars.clear();
    // Before asking: a plan that cannot be committed is not put to the user.
    txn.check_names()?;
    let plan = Plan::new(&target, &txn, &defaults())?;
    consent::confirm(&plan, "update", args.yes, args.dry_run, args.json)?;
    if args.dry_run || plan.is_empty() {
        if plan.is_empty() && args.json && !args.dry_run {
            plan.print_json(false)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    txn.commit()?;
    plan.done(args.json)?;
    Ok(ExitCode::SUCCESS)
}
