//! `skillet context`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_engine::FileChange;

use crate::cli::ContextArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &ContextArgs) -> Result<ExitCode> {
    // One name: resolved as `run` resolves it, so both see the same skill.
    let registry = ctx.registry_for(&args.name);
    if registry.resolve(&args.name).is_none() {
        return Err(crate::commands::info::not_found(&registry, &args.name));
    }
    let params = args.params.values()?;
    let report = ctx
        .engine()
        .context(&registry, &args.name, &params, &ctx.env.cwd)?;
    if args.json {
        output::json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(w) = &report.warning {
        eprintln!("skillet: warning: {}", output::text(w));
    }
    let selection = &report.selection;
    if selection.files.is_empty() {
        println!(
            "No file matches the context_files of `{}`.",
            output::field(&report.skill)
        );
    } else {
        let rows: Vec<Vec<String>> = selection
            .files
            .iter()
            .zip(&report.changes)
            .map(|(f, change)| {
                let change = match change {
                    None => "-",
                    Some(FileChange::New) => "new",
                    Some(FileChange::Changed) => "changed",
                    Some(FileChange::Touched) => "touched",
                    Some(FileChange::Unchanged) => "unchanged",
                };
                let cut = f
                    .truncated_lines
                    .map(|n| format!("cut: {n} more lines"))
                    .unwrap_or_default();
                vec![
                    f.path.clone(),
                    format!("{} B", f.size),
                    f.why.to_owned(),
                    change.to_owned(),
                    cut,
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(&["FILE", "SIZE", "WHY", "CHANGE", ""], &rows)
        );
    }
    if !selection.skipped.is_empty() {
        println!("Left out:");
        for s in &selection.skipped {
            // File names in the workspace are anyone's text; the table's cells are made
            // safe by `output::table`, these lines here.
            println!(
                "  {}  ({})",
                output::field(&s.path),
                output::field(s.reason)
            );
        }
    }
    if !report.dropped.is_empty() {
        println!(
            "No longer chosen since the last run: {}",
            output::field(&report.dropped.join(", "))
        );
    }
    let budget = report
        .max_context_tokens
        .map(|b| format!(" of a {b}-token budget"))
        .unwrap_or_default();
    println!(
        "{} file{}, ~{} tokens{budget}",
        selection.files.len(),
        if selection.files.len() == 1 { "" } else { "s" },
        report.tokens
    );
    Ok(ExitCode::SUCCESS)
}
