//! `skillet disable PACKAGE` and `skillet enable PACKAGE`: every skill of an installed package
//! off or back on at once, through the entry `package:NAME` in `disabled` of a skillet.toml.
//!
//! Disabling a package another enabled installed package depends on is refused (naming it):
//! the other package's skills would break in ways its user never chose. `--force` overrides.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_pkg::PackageName;
use skillet_pkg::lock::{LOCK_FILE, Lockfile};
use skillet_registry::packages::{PACKAGES_DIR, RECEIPT_FILE, scope_dir};
use skillet_registry::{Config, ConfigScope, Scope, config_path, set_disabled};

use crate::cli::ToggleArgs;
use crate::context::Context;
use crate::output;

/// One scope a package is installed in.
struct Installed {
    scope: Scope,
    /// The scope's directory (`.skillet/` or the global configuration directory).
    dir: PathBuf,
}

/// The scopes `name` is installed in (workspace first).
fn installed(ctx: &Context, name: &PackageName) -> Vec<Installed> {
    [Scope::Workspace, Scope::Global]
        .into_iter()
        .filter_map(|scope| scope_dir(&ctx.env, scope).map(|dir| Installed { scope, dir }))
        .filter(|i| {
            i.dir
                .join(PACKAGES_DIR)
                .join(name.as_str())
                .join(RECEIPT_FILE)
                .is_file()
        })
        .collect()
}

/// The scope's lockfile; unreadable is a warning and an empty lockfile, so a broken lockfile
/// never makes a package impossible to turn off.
fn lockfile(dir: &std::path::Path) -> Lockfile {
    Lockfile::read(&dir.join(LOCK_FILE)).unwrap_or_else(|e| {
        eprintln!(
            "skillet: warning: {}; dependencies in it are not checked",
            output::text(&e.to_string())
        );
        Lockfile::default()
    })
}

/// Enabled installed packages (of the scopes `name` is in) that depend on `name`, with their
/// scope.
fn enabled_dependents(
    ctx: &Context,
    name: &PackageName,
    scopes: &[Installed],
) -> Vec<(String, Scope)> {
    let mut out = Vec::new();
    for i in scopes {
        for p in lockfile(&i.dir).packages {
            let present = i
                .dir
                .join(PACKAGES_DIR)
                .join(p.name.as_str())
                .join(RECEIPT_FILE)
                .is_file();
            if p.dependencies.contains(name)
                && present
                && !ctx.config.package_disabled(p.name.as_str())
            {
                out.push((p.name.to_string(), i.scope));
            }
        }
    }
    out
}

/// Turns the installed package `args.name` off (or on); `None` when no package of that name
/// is installed, so the name is a skill's.
pub fn toggle(ctx: &Context, args: &ToggleArgs, disable: bool) -> Result<Option<ExitCode>> {
    let Ok(name) = PackageName::new(args.name.as_str()) else {
        return Ok(None);
    };
    let scopes = installed(ctx, &name);
    if scopes.is_empty() {
        if args.force {
            return Err(output::failure(
                output::EXIT_SKILLET_ERROR,
                format!("--force is for packages, and no package `{name}` is installed"),
                Some("`skillet list --installed` shows the installed packages".into()),
            ));
        }
        return Ok(None);
    }
    let dependents = if disable {
        enabled_dependents(ctx, &name, &scopes)
    } else {
        Vec::new()
    };
    let needed_by = dependents
        .iter()
        .map(|(d, scope)| format!("`{d}` ({scope})"))
        .collect::<Vec<_>>()
        .join(", ");
    if !dependents.is_empty() && !args.force {
        let first = &dependents[0].0;
        return Err(output::failure(
            output::EXIT_SKILLET_ERROR,
            format!(
                "cannot disable the package `{name}`: the enabled package {needed_by} depends on it"
            ),
            Some(format!(
                "disable `{first}` first (`skillet disable {first}`), or disable `{name}` anyway with --force"
            )),
        ));
    }
    let config_scope = if args.workspace {
        ConfigScope::Workspace
    } else {
        ConfigScope::Global
    };
    let changed = set_disabled(
        &ctx.env,
        config_scope,
        &Config::package_entry(name.as_str()),
        disable,
    )?;
    let file = config_path(&ctx.env, config_scope)?;
    let (skills, shadowed) = package_skills(ctx, &name);
    let state = if disable { "disabled" } else { "enabled" };
    if args.json {
        output::json(&json!({
            "package": name,
            "state": state,
            "changed": changed,
            "config": file,
            "skills": skills,
            "shadowed": shadowed
                .iter()
                .map(|(skill, by)| json!({"skill": skill, "by": by}))
                .collect::<Vec<_>>(),
            "needed_by": dependents.iter().map(|(d, _)| d).collect::<Vec<_>>(),
        }))?;
    } else {
        let already = if changed { "" } else { "already " };
        println!(
            "package {}: {already}{state}, with its {} skill{}{} ({})",
            output::field(name.as_str()),
            skills.len(),
            if skills.len() == 1 { "" } else { "s" },
            shadowed_words(&shadowed),
            output::path(&file)
        );
    }
    if disable && !dependents.is_empty() {
        eprintln!(
            "skillet: warning: {needed_by} depends on `{name}` and stays enabled; its skills may fail without it"
        );
    }
    if !disable {
        warn_still_off(ctx, args, &name, &scopes)?;
    }
    Ok(Some(ExitCode::SUCCESS))
}

/// The names of the package's skills that answer to their name, and those of its skills that
/// a skill of higher precedence hides (each with the file that hides it): a disabled package
/// whose skills are all shadowed would otherwise read as a package of no skills.
fn package_skills(ctx: &Context, name: &PackageName) -> (Vec<String>, Vec<(String, PathBuf)>) {
    let registry = ctx.registry();
    let ours = |e: &skillet_registry::SkillEntry| {
        e.package.as_ref().is_some_and(|p| p.name == name.as_str())
    };
    let skills = registry
        .entries()
        .iter()
        .filter(|e| ours(e))
        .map(|e| e.name.clone())
        .collect();
    let dirs: Vec<PathBuf> = [Scope::Workspace, Scope::Global]
        .into_iter()
        .filter_map(|scope| scope_dir(&ctx.env, scope))
        .map(|d| d.join(PACKAGES_DIR).join(name.as_str()))
        .collect();
    let shadowed = registry
        .entries()
        .iter()
        .filter(|e| {
            !ours(e)
                && e.shadows
                    .iter()
                    .any(|p| dirs.iter().any(|d| p.starts_with(d)))
        })
        .map(|e| (e.name.clone(), e.path.clone()))
        .collect();
    (skills, shadowed)
}

/// ", and 2 skills shadowed by other skills of the same name (greet by …/greet.json, …)".
fn shadowed_words(shadowed: &[(String, PathBuf)]) -> String {
    if shadowed.is_empty() {
        return String::new();
    }
    let each: Vec<String> = shadowed
        .iter()
        .map(|(skill, by)| format!("`{}` by {}", output::text(skill), output::path(by)))
        .collect();
    format!(
        ", and {} skill{} shadowed by another of the same name ({})",
        shadowed.len(),
        if shadowed.len() == 1 { "" } else { "s" },
        each.join(", ")
    )
}

/// After enabling: what still keeps the package or its dependencies off.
fn warn_still_off(
    ctx: &Context,
    args: &ToggleArgs,
    name: &PackageName,
    scopes: &[Installed],
) -> Result<()> {
    let config = Config::load(&ctx.env)?;
    if config.package_disabled(name.as_str()) {
        let other = if args.workspace { "" } else { " --workspace" };
        eprintln!(
            "skillet: warning: the package `{name}` is still disabled by the other skillet.toml; `skillet enable {name}{other}`"
        );
    }
    for i in scopes {
        let lock = lockfile(&i.dir);
        let Some(locked) = lock.get(name) else {
            continue;
        };
        for dep in &locked.dependencies {
            if config.package_disabled(dep.as_str()) {
                eprintln!(
                    "skillet: warning: `{name}` needs the package `{dep}`, which is disabled: `skillet enable {dep}`"
                );
            }
        }
    }
    Ok(())
}
