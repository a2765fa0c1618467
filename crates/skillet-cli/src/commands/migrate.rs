//! `skillet migrate`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::Serialize;
use similar::TextDiff;
use skillet_spec::files::replace_file;
use skillet_spec::{Diagnostic, Migration, migrate_file};

use super::validate::skill_file;
use crate::cli::MigrateArgs;
use crate::context::Context;
use crate::output;

/// What `migrate --json` prints: one object, whatever happened.
#[derive(Serialize)]
struct Report {
    /// The file read.
    source: String,
    /// The file the canonical skill goes to.
    target: Option<String>,
    /// The format the file was written in.
    format: Option<&'static str>,
    /// Whether the canonical skill is valid (nothing is written otherwise).
    complete: bool,
    /// Whether the canonical text differs from what `target` holds now.
    changed: bool,
    /// Whether `target` was written (`--write`).
    written: bool,
    /// Where the old file was kept, when it was overwritten.
    backup: Option<String>,
    /// The canonical skill.
    canonical: Option<serde_json::Value>,
    /// Warnings say what was changed, errors what could not be repaired.
    notes: Vec<Diagnostic>,
}

pub fn run(ctx: &Context, args: &MigrateArgs) -> Result<ExitCode> {
    let source = skill_file(&ctx.env.cwd.join(&args.path));
    let migration = match migrate_file(&source) {
        Ok(m) => m,
        Err(diagnostics) => {
            if args.json {
                output::json(&Report {
                    source: ctx.shown(&source).display().to_string(),
                    target: None,
                    format: None,
                    complete: false,
                    changed: false,
                    written: false,
                    backup: None,
                    canonical: None,
                    notes: diagnostics,
                })?;
            } else {
                for d in &diagnostics {
                    eprintln!("{}", output::diagnostic(ctx, d));
                }
                eprintln!("skillet: nothing written: fix the errors above, then migrate again");
            }
            return Ok(ExitCode::from(output::EXIT_FAILURE));
        }
    };
    let write = args.write && migration.complete && migration.changes();
    let backup = if write {
        Some(write_migration(&migration)?)
    } else {
        None
    }
    .flatten();
    if args.json {
        output::json(&Report {
            source: ctx.shown(&migration.source).display().to_string(),
            target: Some(ctx.shown(&migration.target).display().to_string()),
            format: Some(migration.format.label()),
            complete: migration.complete,
            changed: migration.changes(),
            written: write,
            backup: backup.map(|b| ctx.shown(&b).display().to_string()),
            canonical: serde_json::from_str(&migration.after).ok(),
            notes: migration.diagnostics.clone(),
        })?;
        return Ok(exit_code(&migration));
    }
    for d in &migration.diagnostics {
        eprintln!("{}", output::diagnostic(ctx, d));
    }
    let target = ctx.shown(&migration.target);
    if migration.complete && !migration.changes() {
        println!(
            "{} is already canonical; nothing to do",
            output::path(&target)
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !write {
        if migration.changes() {
            print_diff(&migration, &target);
        }
        if migration.complete {
            eprintln!(
                "skillet: {} format; run again with --write to apply",
                migration.format.label()
            );
        } else {
            let left = migration.unrepaired().count();
            eprintln!(
                "skillet: nothing written: {left} problem{} above could not be repaired (the diff shows what migrate repaired); fix {} by hand, then migrate again",
                if left == 1 { "" } else { "s" },
                if left == 1 { "it" } else { "them" },
            );
        }
        return Ok(exit_code(&migration));
    }
    if let Some(backup) = &backup {
        eprintln!(
            "skillet: kept the old file as {}",
            output::path(&ctx.shown(backup))
        );
    }
    println!(
        "wrote {} ({} format -> canonical)",
        output::path(&target),
        migration.format.label()
    );
    Ok(ExitCode::SUCCESS)
}

fn exit_code(migration: &Migration) -> ExitCode {
    if migration.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(output::EXIT_FAILURE)
    }
}

fn print_diff(migration: &Migration, target: &std::path::Path) {
    let old = if migration.before.is_empty() {
        "/dev/null".to_owned()
    } else {
        skillet_spec::display::diff_label("a", target)
    };
    let diff = TextDiff::from_lines(&migration.before, &migration.after);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&old, &skillet_spec::display::diff_label("b", target))
        .to_string();
    // Both sides quote the skill file, and serde_json leaves C1 controls and bidi overrides
    // as they are: each line is made safe (its tabs kept) and cut if very long.
    for line in text.lines() {
        println!("{}", output::text(line));
    }
}

/// Writes the canonical file, keeping the old one as `FILE.bak`; returns the backup's path.
/// Every write goes to a fresh file renamed over its name, so a `FILE.bak` or the skill file
/// itself that a repository made a link (to `~/.bashrc`, say) is replaced, never written
/// through; a crash never leaves a half-written skill.
fn write_migration(migration: &Migration) -> Result<Option<std::path::PathBuf>> {
    let mut backup = None;
    if !migration.before.is_empty() {
        let path = migration.target.with_file_name(format!(
            "{}.bak",
            migration
                .target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        replace_file(&path, migration.before.as_bytes())
            .with_context(|| format!("cannot write backup {}", path.display()))?;
        backup = Some(path);
    }
    replace_file(&migration.target, migration.after.as_bytes())
        .with_context(|| format!("cannot write {}", migration.target.display()))?;
    Ok(backup)
}
