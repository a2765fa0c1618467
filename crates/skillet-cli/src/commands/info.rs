//! `skillet info`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_engine::plan_policy;
use skillet_registry::SkillEntry;
use skillet_spec::SkillSpec;

use crate::cli::InfoArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &InfoArgs) -> Result<ExitCode> {
    let registry = ctx.registry();
    let Some(entry) = registry.resolve(&args.name) else {
        let hint = registry
            .suggest(&args.name)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        eprintln!("skillet: no skill named `{}`{hint}", args.name);
        return Ok(ExitCode::from(output::EXIT_NOT_FOUND));
    };
    let plan = entry
        .spec
        .as_ref()
        .map(|s| plan_policy(s, &ctx.config.defaults, Vec::new()));
    if args.json {
        output::json(&json!({
            "name": entry.name,
            "path": entry.path,
            "scope": entry.scope,
            "format": entry.format.label(),
            "valid": entry.is_valid(),
            "shadows": entry.shadows,
            "scripts": entry.scripts,
            "diagnostics": entry.diagnostics,
            "spec": entry.spec,
            "effective": plan.as_ref().map(|p| json!({
                "timeout_s": p.policy.wall_time.as_secs(),
                "max_output_bytes": p.policy.max_output_bytes,
                "env_passthrough": p.policy.env_passthrough,
                "sandboxed": false,
                "warnings": p.warnings,
            })),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_entry(ctx, entry);
    if let (Some(spec), Some(plan)) = (entry.spec.as_ref().filter(|_| entry.is_valid()), plan) {
        print_spec(spec);
        if spec.kind.is_code() {
            println!(
                "limits:      {} s wall clock, {} KiB output per stream",
                plan.policy.wall_time.as_secs(),
                plan.policy.max_output_bytes / 1024
            );
            println!(
                "environment: {} (+ the skill's env and SKILL_PARAM_*)",
                plan.policy.env_passthrough.join(" ")
            );
            println!(
                "sandbox:     none yet: the skill runs with your user's full file and network access"
            );
        }
        for w in &plan.warnings {
            println!("note:        {w}");
        }
    }
    for d in &entry.diagnostics {
        println!("{}", output::diagnostic(ctx, d));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_entry(ctx: &Context, entry: &SkillEntry) {
    let state = if entry.is_valid() { "" } else { "  [BROKEN]" };
    println!("{}{state}", entry.name);
    println!(
        "file:        {} ({}, {} format)",
        ctx.shown(&entry.path).display(),
        entry.scope,
        entry.format.label()
    );
    for shadowed in &entry.shadows {
        println!("shadows:     {}", ctx.shown(shadowed).display());
    }
    for script in &entry.scripts {
        println!("script:      {}", ctx.shown(script).display());
    }
}

fn print_spec(spec: &SkillSpec) {
    println!("type:        {}", spec.kind);
    println!("version:     {}", spec.version);
    if let Some(d) = &spec.description {
        println!("description: {d}");
    }
    if !spec.aliases.is_empty() {
        println!("aliases:     {}", spec.aliases.join(", "));
    }
    if let Some(command) = &spec.command {
        let argv: Vec<String> = std::iter::once(command)
            .chain(&spec.args)
            .map(|a| shell_quoted(a))
            .collect();
        println!("command:     {}", argv.join(" "));
    }
    if let Some(dir) = &spec.working_dir {
        println!("working dir: {dir}");
    }
    if !spec.parameters.is_empty() {
        println!("parameters:");
        let rows: Vec<Vec<String>> = spec
            .parameters
            .iter()
            .map(|p| {
                let mut kind = p.kind.as_str().to_owned();
                if !p.values.is_empty() {
                    kind = format!("enum({})", p.values.join("|"));
                }
                let need = match (&p.default, p.required) {
                    (Some(d), _) => format!("default {d}"),
                    (None, true) => "required".into(),
                    (None, false) => "optional".into(),
                };
                vec![
                    format!("  {}", p.name),
                    kind,
                    need,
                    p.description.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(&["  NAME", "TYPE", "", "DESCRIPTION"], &rows)
        );
    }
    if let Some(prompt) = spec.prompt_text() {
        let first = prompt.lines().next().unwrap_or_default();
        let more = if prompt.lines().count() > 1 {
            " …"
        } else {
            ""
        };
        println!("prompt:      {first}{more}");
    }
}

/// Quotes an argument the way a reader expects to see it in a shell, for display only.
fn shell_quoted(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./={}:,@%+".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
