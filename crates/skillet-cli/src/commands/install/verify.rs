//! `skillet verify [--accept]`: every installed file still matches skillet.lock.

use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::lock::Lockfile;
use skillet_pkg::verify::{PackageCheck, VerifyReport};

use super::{lock, target};
use crate::cli::VerifyArgs;
use crate::context::Context;
use crate::output;

pub fn verify(ctx: &Context, args: &VerifyArgs) -> Result<ExitCode> {
    let target = target(ctx, args.global)?;
    let _lock = lock(&target)?;
    let mut lockfile = Lockfile::read(&target.paths.lockfile())?;
    if args.accept {
        let before = skillet_pkg::verify::accept(&target.paths.dir, &mut lockfile)?;
        if args.json {
            output::json(&serde_json::json!({
                "scope": target.scope.as_str(),
                "accepted": true,
                "clean": before.is_clean(),
                "packages": before.packages,
                "unlisted": before.unlisted,
            }))?;
        } else if before.is_clean() {
            println!("Every installed file already matched skillet.lock.");
        } else {
            print_problems(&before);
            println!("Accepted: skillet.lock and the receipts now record these files as they are.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = skillet_pkg::verify::verify(&target.paths.dir, &lockfile)?;
    let clean = report.is_clean();
    if args.json {
        output::json(&serde_json::json!({
            "scope": target.scope.as_str(),
            "accepted": false,
            "clean": clean,
            "packages": report.packages,
            "unlisted": report.unlisted,
        }))?;
    } else if clean {
        let n = report.packages.len();
        println!(
            "{n} package{} verified: every installed file matches skillet.lock.",
            if n == 1 { "" } else { "s" }
        );
    } else {
        print_problems(&report);
        eprintln!(
            "skillet: installed files differ from skillet.lock: reinstall the package (`skillet install --locked`), or keep the files as they are with `skillet verify --accept`"
        );
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_problems(report: &VerifyReport) {
    for p in report.packages.iter().filter(|p| !p.is_clean()) {
        print_package(p);
    }
    for name in &report.unlisted {
        println!("{}: installed but not in skillet.lock", output::field(name));
    }
}

fn print_package(p: &PackageCheck) {
    let name = &p.name;
    if !p.installed {
        println!("{name} {}: not installed", p.version);
        return;
    }
    for (what, files) in [
        ("changed", &p.changed),
        ("missing", &p.missing),
        ("added", &p.added),
    ] {
        for f in files {
            println!("{name}: {what} {}", output::field(f));
        }
    }
    if let Some(problem) = &p.receipt_problem {
        println!("{name}: {}", output::field(problem));
    }
    if let Some(e) = &p.error {
        println!("{name}: {}", output::field(e));
    }
}
