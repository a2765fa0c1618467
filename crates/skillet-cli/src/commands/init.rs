//! `skillet init`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_authoring::setup::{FileAction, init_workspace, schema_ref_for};

use crate::cli::InitArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &InitArgs) -> Result<ExitCode> {
    let Some(root) = ctx.env.workspace_root() else {
        return Err(output::failure(
            output::EXIT_FAILURE,
            format!(
                "no workspace here ({} is too wide to be one)",
                output::path(&ctx.env.cwd)
            ),
            Some("run it inside your project".into()),
        ));
    };
    let report = init_workspace(&root)
        .map_err(|e| output::failure(output::EXIT_FAILURE, e.to_string(), None))?;
    let code = if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(output::EXIT_FAILURE)
    };
    if args.json {
        output::json(&report)?;
        return Ok(code);
    }
    println!("workspace {}:", output::path(&report.workspace));
    for file in &report.files {
        let shown = file
            .path
            .strip_prefix(&report.workspace)
            .unwrap_or(&file.path);
        let action = match file.action {
            FileAction::Created => "created",
            FileAction::Updated => "updated",
            FileAction::Unchanged => "unchanged",
            FileAction::Skipped => "SKIPPED",
        };
        println!("  {action:<9} {}", output::path(shown));
        if let Some(note) = &file.note {
            println!("            {}", output::text(note));
        }
    }
    println!(
        "Editors that read .vscode/settings.json now complete and check skill files. Elsewhere, a \
         skill names the schema itself: \"$schema\": \"{}\" in .skillet/skills/NAME.json, \
         \"{}\" in NAME/skill.json.",
        schema_ref_for(0),
        schema_ref_for(1)
    );
    Ok(code)
}
