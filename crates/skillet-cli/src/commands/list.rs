//! `skillet list`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_registry::{Availability, MetadataCacheSettings, Registry, SkillEntry};

use crate::cli::ListArgs;
use crate::context::Context;
use crate::output;

/// One row of `skillet list --json`.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    /// `workspace`, `global`, or `package` for a skill of an installed package.
    scope: &'static str,
    /// For a skill of an installed package: which one, and the scope it is installed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<&'a skillet_registry::packages::PackageRef>,
    path: String,
    /// The path as shown in the table: relative to the working directory when inside it.
    #[serde(skip)]
    shown: String,
    aliases: Vec<&'a str>,
    description: Option<&'a str>,
    version: Option<&'a str>,
    format: &'static str,
    valid: bool,
    /// `available`, `broken`, `disabled` or `untrusted` (hidden from agents).
    availability: &'static str,
    /// Whether this file answers to the name (`run`, `info`, agents); a file of the same name
    /// listed as not used is broken, and says which one is used instead.
    used: bool,
    /// For a broken file not used: the working file used instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    used_instead: Option<String>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

fn listed<'a>(ctx: &Context, e: &'a SkillEntry, available: Availability) -> Listed<'a> {
    let shown = ctx.shown(&e.path).display().to_string();
    let spec = e.summary.as_ref().filter(|_| e.is_valid());
    Listed {
        name: &e.name,
        kind: spec.map(|s| s.kind.as_str()),
        scope: e.scope_label(),
        package: e.package.as_ref(),
        path: e.path.display().to_string(),
        shown,
        aliases: spec
            .map(|s| s.aliases.iter().map(String::as_str).collect())
            .unwrap_or_default(),
        description: spec.and_then(|s| s.description.as_deref()),
        version: spec.map(|s| s.version.as_str()),
        format: e.format.label(),
        valid: e.is_valid(),
        availability: if e.is_valid() {
            available.as_str()
        } else {
            "broken"
        },
        used: e.used_instead.is_none(),
        used_instead: e.used_instead.as_ref().map(|p| p.display().to_string()),
        errors: e
            .errors()
            .map(|d| output::diagnostic_exact(ctx, d))
            .collect(),
        warnings: e
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| output::diagnostic_exact(ctx, d))
            .collect(),
    }
}

/// The table's cells of one row. `output::write_table` makes every cell safe and cuts it:
/// names, descriptions and paths all come from the skill files.
fn cells(ctx: &Context, r: &Listed) -> [String; 6] {
    let describe = if r.valid {
        let note = match r.availability {
            "available" => String::new(),
            "untrusted" => "[untrusted] ".into(),
            other => format!("[{other}] "),
        };
        format!("{note}{}", output::one_line(r.description.unwrap_or("")))
    } else {
        let n = r.errors.len();
        // The file, not the name: with a working file of the same name, the name would check
        // that one.
        let instead = r
            .used_instead
            .as_ref()
            .map(|p| format!("; {} is used instead", ctx.shown(Path::new(p)).display()))
            .unwrap_or_default();
        format!(
            "BROKEN: {n} error{} (skillet validate {}){instead}",
            if n == 1 { "" } else { "s" },
            output::shell_word(&r.shown)
        )
    };
    [
        r.name.to_owned(),
        r.kind.unwrap_or("?").to_owned(),
        match r.package {
            Some(p) => format!("package:{}", p.name),
            None => r.scope.to_owned(),
        },
        r.version.unwrap_or("-").to_owned(),
        if r.aliases.is_empty() {
            "-".into()
        } else {
            r.aliases.join(",")
        },
        describe,
    ]
}

pub fn run(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    if args.installed {
        return super::install::list_installed(ctx, args.json);
    }
    // An install interrupted in a scope is rolled back before its skills are listed.
    super::install::recover_quietly(ctx);
    // Summaries only, from the metadata cache where files are unchanged: a listing of 10,000
    // skills holds a few hundred bytes each, and reads only what changed since the last one.
    let cache = MetadataCacheSettings::for_process(&ctx.env);
    let registry = Context::logged(Registry::discover_summaries(
        &ctx.env,
        &ctx.config,
        cache.as_ref(),
    ));
    if args.names {
        let names: Vec<&str> = registry
            .entries()
            .iter()
            .filter(|e| e.is_valid() && e.used_instead.is_none())
            .flat_map(|e| {
                std::iter::once(e.name.as_str()).chain(e.aliases().iter().map(String::as_str))
            })
            .collect();
        if args.json {
            output::json(&names)?;
        } else {
            for name in names {
                println!("{}", output::field(name));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let available = ctx.config.availabilities(&ctx.env, registry.entries());
    // Rows are made as they are written, never all held: a listing of 10,000 skills keeps its
    // entries and nothing more per skill.
    let rows = || {
        registry
            .entries()
            .iter()
            .zip(&available)
            .map(|(e, a)| listed(ctx, e, *a))
    };
    if args.json {
        output::json_seq(rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    for w in registry.warnings() {
        eprintln!("{}", output::diagnostic(ctx, w));
    }
    if registry.entries().is_empty() {
        println!("No skills found. Searched:");
        for dir in registry.dirs() {
            println!("  {} ({})", output::path(&ctx.shown(&dir.path)), dir.scope);
        }
        println!("Create one in .skillet/skills/NAME.json; `skillet schema` describes the format.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    output::write_table(
        &mut out,
        &["NAME", "TYPE", "SCOPE", "VERSION", "ALIASES", "DESCRIPTION"],
        || rows().map(|r| cells(ctx, &r)),
    )?;
    out.flush()?;
    drop(out);
    if rows().any(|r| r.valid && r.availability == "untrusted") {
        println!(
            "[untrusted]: this workspace's skills are not offered to agents (skillet mcp) until you `skillet trust` it."
        );
    }
    Ok(ExitCode::SUCCESS)
}
