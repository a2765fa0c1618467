//! `skillet list --installed` and `skillet info PACKAGE`: the installed packages of both
//! scopes, as skillet.lock records them, with what their skills ask for.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_pkg::PackageName;
use skillet_pkg::install::consent::{self, SkillPermissions};
use skillet_pkg::install::{Installed, ScopePaths, installed_packages, pinned_text};
use skillet_pkg::source::Pinned;
use skillet_registry::Scope;

use super::{defaults, recover_quietly};
use crate::context::Context;
use crate::output;

/// One installed package.
#[derive(Serialize)]
struct Row {
    name: String,
    version: String,
    scope: &'static str,
    description: Option<String>,
    directory: std::path::PathBuf,
    source: Pinned,
    requested: bool,
    dependencies: Vec<String>,
    skills: Vec<SkillPermissions>,
}

fn rows(ctx: &Context) -> Result<Vec<Row>> {
    recover_quietly(ctx);
    let mut rows = Vec::new();
    for scope in [Scope::Workspace, Scope::Global] {
        let Some(dir) = skillet_registry::packages::scope_dir(&ctx.env, scope) else {
            continue;
        };
        let paths = super::scope_paths(scope, dir);
        if !paths.lockfile().exists() {
            continue;
        }
        let (_, installed) = installed_packages(&paths)?;
        rows.extend(installed.into_iter().map(|i| row(&paths, scope, i)));
    }
    Ok(rows)
}

fn row(paths: &ScopePaths, scope: Scope, i: Installed) -> Row {
    Row {
        directory: paths.package(&i.locked.name),
        name: i.locked.name.to_string(),
        version: i.locked.version.to_string(),
        scope: scope.as_str(),
        description: i.manifest.map(|m| m.description).filter(|d| !d.is_empty()),
        source: i.locked.source.clone(),
        requested: i.locked.requested,
        dependencies: i
            .locked
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect(),
        skills: consent::permissions(&i.skills, &defaults()),
    }
}

/// `skillet list --installed [--json]`.
pub fn list_installed(ctx: &Context, json: bool) -> Result<ExitCode> {
    let rows = rows(ctx)?;
    if json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No package is installed; `skillet install ./path/to/pkg` installs one.");
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.version.clone(),
                r.scope.to_owned(),
                r.skills.len().to_string(),
                pinned_text(&r.source),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["PACKAGE", "VERSION", "SCOPE", "SKILLS", "SOURCE"], &table)
    );
    Ok(ExitCode::SUCCESS)
}

/// `skillet info PACKAGE` when no skill has that name: the installed package, if one has it
/// (the workspace's first). `None` when no package has that name either.
pub fn info_package(ctx: &Context, name: &str, json: bool) -> Option<Result<ExitCode>> {
    let wanted = PackageName::new(name).ok()?;
    let rows = match rows(ctx) {
        Ok(rows) => rows,
        Err(e) => return Some(Err(e)),
    };
    let row = rows.into_iter().find(|r| r.name == wanted.as_str())?;
    Some(print_package(&row, json))
}

fn print_package(r: &Row, json: bool) -> Result<ExitCode> {
    if json {
        output::json(r)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} {} (package, {} scope)", r.name, r.version, r.scope);
    if let Some(d) = &r.description {
        println!("  {}", output::field(d));
    }
    println!("  folder: {}", output::path(&r.directory));
    println!("  source: {}", output::field(&pinned_text(&r.source)));
    if !r.requested {
        println!("  installed as a dependency");
    }
    if !r.dependencies.is_empty() {
        println!("  needs: {}", r.dependencies.join(", "));
    }
    println!("  skills:");
    for s in &r.skills {
        let asks = if !s.errors.is_empty() {
            format!("broken: {}", s.errors.join("; "))
        } else if s.asks.is_empty() {
            "asks for nothing beyond the defaults".to_owned()
        } else {
            format!("asks for {}", s.asks.join("; "))
        };
        println!("    {}: {}", output::field(&s.skill), output::field(&asks));
    }
    Ok(ExitCode::SUCCESS)
}
