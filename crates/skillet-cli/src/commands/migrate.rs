//! `skillet migrate`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use similar::TextDiff;
use skillet_spec::migrate_file;

use super::validate::skill_file;
use crate::cli::MigrateArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &MigrateArgs) -> Result<ExitCode> {
    let source = skill_file(&ctx.env.cwd.join(&args.path));
    let migration = match migrate_file(&source) {
        Ok(m) => m,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}", output::diagnostic(ctx, d));
            }
            eprintln!("skillet: nothing written: fix the errors above, then migrate again");
            return Ok(ExitCode::from(1));
        }
    };
    for d in &migration.diagnostics {
        eprintln!("{}", output::diagnostic(ctx, d));
    }
    let target = ctx.shown(&migration.target);
    if !migration.changes() {
        println!("{} is already canonical; nothing to do", target.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !args.write {
        let old = if migration.before.is_empty() {
            "/dev/null".to_owned()
        } else {
            format!("a/{}", target.display())
        };
        let diff = TextDiff::from_lines(&migration.before, &migration.after);
        print!(
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&old, &format!("b/{}", target.display()))
        );
        eprintln!(
            "skillet: {} format; run again with --write to apply",
            migration.format.label()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !migration.before.is_empty() {
        let backup = migration.target.with_file_name(format!(
            "{}.bak",
            migration
                .target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&backup, &migration.before)
            .with_context(|| format!("cannot write backup {}", backup.display()))?;
        eprintln!(
            "skillet: kept the old file as {}",
            ctx.shown(&backup).display()
        );
    }
    // Write beside, then rename: a crash never leaves a half-written skill.
    let tmp = migration.target.with_extension("json.tmp");
    std::fs::write(&tmp, &migration.after)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &migration.target)
        .with_context(|| format!("cannot replace {}", migration.target.display()))?;
    println!(
        "wrote {} ({} format -> canonical)",
        target.display(),
        migration.format.label()
    );
    Ok(ExitCode::SUCCESS)
}
