//! `skillet info`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_engine::{PolicyView, RunOverrides, plan_policy, program_path};
use skillet_registry::SkillEntry;
use skillet_sandbox::SandboxPolicy;
use skillet_spec::SkillSpec;

use crate::cli::InfoArgs;
use crate::context::Context;
use crate::output;

/// No skill or alias `name`: exit 127, with the closest name as the hint.
pub fn not_found(registry: &skillet_registry::Registry, name: &str) -> anyhow::Error {
    let hint = match registry.suggest(name) {
        Some(close) => format!("did you mean `{close}`? `skillet list` shows every skill"),
        None => "`skillet list` shows every skill".to_owned(),
    };
    output::failure(
        output::EXIT_NOT_FOUND,
        format!("no skill named `{name}`"),
        Some(hint),
    )
}

pub fn run(ctx: &Context, args: &InfoArgs) -> Result<ExitCode> {
    // The same resolution as `run`, so that `info NAME` always describes the skill `run NAME`
    // would run (full discovery stops after a per-scope number of files; this does not).
    let registry = ctx.registry_for(&args.name);
    let Some(entry) = registry.resolve(&args.name) else {
        if let Some(answer) = super::install::info_package(ctx, &args.name, args.json) {
            return answer;
        }
        return Err(not_found(&registry, &args.name));
    };
    let engine = ctx.engine();
    let plan = entry
        .spec
        .as_ref()
        .filter(|s| s.kind.is_code())
        .and_then(|s| {
            let policy_ctx = engine.policy_context(entry, &RunOverrides::default());
            let program = program_path(s, entry.skill_dir());
            plan_policy(s, entry.skill_dir(), &program, &policy_ctx, Vec::new())
                .inspect_err(|e| eprintln!("skillet: warning: {}", output::text(&e.to_string())))
                .ok()
        });
    if args.json {
        output::json(&json!({
            "name": entry.name,
            "path": entry.path,
            "scope": entry.scope_label(),
            "package": entry.package,
            "format": entry.format.label(),
            "valid": entry.is_valid(),
            "shadows": entry.shadows,
            "used_instead_of": used_instead_of(&registry, entry),
            "scripts": entry.scripts,
            "diagnostics": entry.diagnostics,
            "spec": entry.spec,
            "effective": plan.as_ref().map(|p| json!({
                "policy": PolicyView::new(&p.policy),
                "warnings": p.warnings,
            })),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_entry(ctx, entry);
    for broken in used_instead_of(&registry, entry) {
        println!(
            "instead of:  {} (broken, higher in precedence)",
            output::path(&ctx.shown(broken))
        );
    }
    if let Some(spec) = entry.spec.as_ref().filter(|_| entry.is_valid()) {
        print_spec(spec);
        if let Some(plan) = &plan {
            print_policy(&plan.policy)?;
            for w in &plan.warnings {
                println!("note:        {}", output::field(w));
            }
        }
    }
    for d in &entry.diagnostics {
        println!("{}", output::diagnostic(ctx, d));
    }
    Ok(ExitCode::SUCCESS)
}

/// The broken files of the same name that `entry` answers for.
fn used_instead_of<'a>(
    registry: &'a skillet_registry::Registry,
    entry: &SkillEntry,
) -> Vec<&'a std::path::Path> {
    registry
        .entries()
        .iter()
        .filter(|e| e.used_instead.as_deref() == Some(entry.path.as_path()))
        .map(|e| e.path.as_path())
        .collect()
}

/// Everything below comes from the skill file or its folder: each value goes through
/// `output::field` (one line) before it is printed.
fn print_entry(ctx: &Context, entry: &SkillEntry) {
    let state = if entry.is_valid() { "" } else { "  [BROKEN]" };
    println!("{}{state}", output::field(&entry.name));
    println!(
        "file:        {} ({}, {} format)",
        output::path(&ctx.shown(&entry.path)),
        entry.scope_label(),
        entry.format.label()
    );
    if let Some(p) = &entry.package {
        println!(
            "package:     {} {} ({} scope)",
            output::field(&p.name),
            output::field(&p.version),
            p.scope
        );
    }
    for shadowed in &entry.shadows {
        println!("shadows:     {}", output::path(&ctx.shown(shadowed)));
    }
    for script in &entry.scripts {
        println!("script:      {}", output::path(&ctx.shown(script)));
    }
}

fn print_spec(spec: &SkillSpec) {
    println!("type:        {}", spec.kind);
    println!("version:     {}", output::field(&spec.version));
    if let Some(d) = &spec.description {
        println!("description: {}", output::field(d));
    }
    if !spec.aliases.is_empty() {
        println!("aliases:     {}", output::field(&spec.aliases.join(", ")));
    }
    if let Some(command) = &spec.command {
        let argv: Vec<String> = std::iter::once(command)
            .chain(&spec.args)
            .map(|a| shell_quoted(a))
            .collect();
        println!("command:     {}", output::field(&argv.join(" ")));
    }
    if let Some(dir) = &spec.working_dir {
        println!("working dir: {}", output::field(dir));
    }
    if !spec.parameters.is_empty() {
        println!("parameters:");
        let rows: Vec<Vec<String>> = spec
            .parameters
            .iter()
            .map(|p| {
                // `output::table` makes each cell safe.
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
        println!("prompt:      {}{more}", output::field(first));
    }
    if let Some(files) = &spec.context_files {
        let mut line = files.patterns.join(" ");
        if !files.exclude.is_empty() {
            line.push_str(&format!(" (not {})", files.exclude.join(" ")));
        }
        println!(
            "context:     {}; `skillet context {}` shows the choice",
            output::field(&line),
            output::field(&output::shell_word(&spec.name))
        );
    }
    for (i, question) in spec.guided_questions.iter().enumerate() {
        let label = if i == 0 { "questions:" } else { "" };
        println!("{label:<12} {}. {}", i + 1, output::field(question));
    }
    if spec.kind == skillet_spec::SkillKind::Conversation {
        let turns = spec.max_turns.map_or_else(
            || {
                format!(
                    "{} (the default)",
                    skillet_engine::conversation::DEFAULT_MAX_TURNS
                )
            },
            |n| n.to_string(),
        );
        println!("max turns:   {turns}");
        let model = spec
            .model
            .clone()
            .unwrap_or_else(|| "from [llm] in the global skillet.toml".to_owned());
        println!("model:       {}", output::field(&model));
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

/// The effective policy as lines of text: the lines a run's plan shows, aligned with the
/// rest of `info`, and the environment a run passes through.
fn print_policy(p: &SandboxPolicy) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    super::run_insight::write_policy(&mut out, &PolicyView::new(p), 12)?;
    writeln!(
        out,
        "environment: {} (+ the skill's env and SKILL_PARAM_*)",
        output::field(&p.env_passthrough.join(" "))
    )
}
