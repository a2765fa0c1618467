//! `skillet validate`.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_registry::Registry;
use skillet_spec::{Diagnostic, load_file};

use crate::cli::ValidateArgs;
use crate::context::Context;
use crate::output;

/// One checked file, as `--json` prints it.
#[derive(Serialize)]
struct Checked {
    name: Option<String>,
    path: String,
    format: &'static str,
    valid: bool,
    diagnostics: Vec<Diagnostic>,
}

pub fn run(ctx: &Context, args: &ValidateArgs) -> Result<ExitCode> {
    let mut checked = Vec::new();
    let mut general = Vec::new();
    let registry = ctx.registry();
    if args.paths.is_empty() {
        general.extend(registry.warnings().iter().cloned());
        checked.extend(from_registry(&registry));
    }
    for arg in &args.paths {
        let path = ctx.env.cwd.join(arg);
        // A bare name that is not a file here means a discovered skill.
        if !path.exists() {
            let name = arg.to_string_lossy();
            match registry.resolve(&name) {
                Some(entry) => checked.extend(
                    from_registry(&registry).filter(|c| c.path == entry.path.display().to_string()),
                ),
                None => {
                    let mut d = Diagnostic::error(format!(
                        "{name}: no such file, and no skill of that name"
                    ));
                    if let Some(close) = registry.suggest(&name) {
                        d = d.with_hint(format!("did you mean `{close}`?"));
                    }
                    checked.push(Checked {
                        name: None,
                        path: path.display().to_string(),
                        format: "unknown",
                        valid: false,
                        diagnostics: vec![d],
                    });
                }
            }
            continue;
        }
        if path.is_dir() && skillet_registry::skill_manifest(&path).is_none() {
            let registry = Registry::from_skills_dir(path);
            general.extend(registry.warnings().iter().cloned());
            checked.extend(from_registry(&registry));
        } else {
            let file = skill_file(&path);
            let mut loaded = load_file(&file);
            // Its dependencies are judged against the skills discovered from here.
            if let Some(spec) = &loaded.spec {
                let problems = registry.dependency_problems(spec);
                loaded
                    .diagnostics
                    .extend(problems.into_iter().map(|d| d.in_file(&file)));
            }
            checked.push(Checked {
                name: loaded.declared_name().map(str::to_owned),
                path: file.display().to_string(),
                format: loaded.format.label(),
                valid: loaded.is_valid() && !loaded.diagnostics.iter().any(Diagnostic::is_error),
                diagnostics: loaded.diagnostics,
            });
        }
    }
    let invalid = checked.iter().filter(|c| !c.valid).count();
    if args.json {
        output::json(&checked)?;
    } else {
        for d in general
            .iter()
            .chain(checked.iter().flat_map(|c| &c.diagnostics))
        {
            eprintln!("{}", output::diagnostic(ctx, d));
        }
        let errors = checked
            .iter()
            .flat_map(|c| &c.diagnostics)
            .filter(|d| d.is_error())
            .count();
        let warnings = checked
            .iter()
            .flat_map(|c| &c.diagnostics)
            .filter(|d| !d.is_error())
            .count()
            + general.len();
        let n = checked.len();
        println!(
            "checked {n} skill{}: {} valid, {invalid} invalid ({errors} error{}, {warnings} warning{})",
            plural(n),
            n - invalid,
            plural(errors),
            plural(warnings)
        );
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn from_registry(registry: &Registry) -> impl Iterator<Item = Checked> + '_ {
    registry.entries().iter().map(|e| Checked {
        name: Some(e.name.clone()),
        path: e.path.display().to_string(),
        format: e.format.label(),
        valid: e.is_valid(),
        diagnostics: e.diagnostics.clone(),
    })
}

/// The skill file a path names; discovery's own rule, so `validate` and `list` agree.
pub use skillet_registry::skill_file;

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
