//! `skillet install`, `update`, `uninstall` and `verify`: the CLI over `skillet_pkg::install`.
//! Each takes the scope's lock (which rolls back an interrupted install first), stages what it
//! fetches, shows what the skills ask for, asks, then commits.

mod consent;
mod listing;
mod locked;
mod report;
mod resolve;
mod uninstall;
mod update;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use skillet_pkg::install::{
    Change, ScopeLock, ScopePaths, StagingDir, Transaction, consent::Defaults, stage,
};
use skillet_pkg::source::Request;
use skillet_registry::Scope;

use crate::cli::InstallArgs;
use crate::context::Context;
use crate::output;
use crate::progress::Bars;

pub use listing::{info_package, list_installed};
pub use uninstall::uninstall;
pub use update::update;
pub use verify::verify;

/// The scope a package command works on, its directories, and its name for messages.
pub(crate) struct Target {
    pub scope: Scope,
    pub paths: ScopePaths,
}

/// The scope `--global` names, or this workspace.
pub(crate) fn target(ctx: &Context, global: bool) -> Result<Target> {
    let scope = if global {
        Scope::Global
    } else {
        Scope::Workspace
    };
    let dir: Option<PathBuf> = skillet_registry::packages::scope_dir(&ctx.env, scope);
    match dir {
        Some(dir) => Ok(Target {
            scope,
            paths: scope_paths(scope, dir),
        }),
        None if global => Err(output::failure(
            output::EXIT_SKILLET_ERROR,
            "no global configuration directory: neither $XDG_CONFIG_HOME nor $HOME is set",
            Some("set HOME (or XDG_CONFIG_HOME) and run the command again".into()),
        )),
        None => Err(output::failure(
            output::EXIT_SKILLET_ERROR,
            "not in a workspace: packages are installed into a project's .skillet/packages/",
            Some("run the command inside a project, or pass --global for your own packages".into()),
        )),
    }
}

/// A scope's paths: the global scope's directory (the user's own) may be a link, a
/// workspace's `.skillet` never.
pub(crate) fn scope_paths(scope: Scope, dir: PathBuf) -> ScopePaths {
    match scope {
        Scope::Global => ScopePaths::global(dir),
        Scope::Workspace => ScopePaths::new(dir),
    }
}

/// Takes the scope's lock, rolling back an interrupted install first and saying so.
pub(crate) fn lock(target: &Target) -> Result<ScopeLock> {
    let (lock, recovered) = ScopeLock::acquire(&target.paths, || {
        eprintln!(
            "skillet: waiting for another skillet changing the packages in {}…",
            output::path(&target.paths.dir)
        );
    })?;
    if let Some(r) = recovered {
        eprintln!("skillet: {}", output::text(&r.to_string()));
    }
    Ok(lock)
}

/// Rolls back an interrupted install in either scope, if a journal is there: what commands
/// that only read packages (`list`) do first. Cheap: one `stat` per scope when there is none.
pub fn recover_quietly(ctx: &Context) {
    for scope in [Scope::Workspace, Scope::Global] {
        let Some(dir) = skillet_registry::packages::scope_dir(&ctx.env, scope) else {
            continue;
        };
        match skillet_pkg::install::recover_if_interrupted(&scope_paths(scope, dir)) {
            Ok(Some(r)) => eprintln!("skillet: {}", output::text(&r.to_string())),
            Ok(None) => {}
            Err(e) => eprintln!("skillet: warning: {}", output::text(&e.to_string())),
        }
    }
}

/// The engine's defaults: what a skill gets without asking, so consent shows only the rest.
pub(crate) fn defaults() -> Defaults {
    use skillet_engine as d;
    Defaults {
        timeout_s: d::DEFAULT_TIMEOUT_S,
        memory_mb: d::DEFAULT_MAX_MEMORY_MB,
        processes: d::DEFAULT_MAX_PROCESSES,
        output_kb: d::DEFAULT_MAX_OUTPUT_KB,
        file_size_mb: d::DEFAULT_MAX_FILE_SIZE_MB,
        env: d::DEFAULT_ENV_PASSTHROUGH
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

pub fn install(ctx: &Context, args: &InstallArgs) -> Result<ExitCode> {
    let target = target(ctx, args.global)?;
    if args.locked {
        return locked::install_locked(ctx, &target, args);
    }
    if args.packages.is_empty() {
        return Err(output::failure(
            2,
            "name what to install",
            Some(
                "e.g. `skillet install ./path/to/pkg`, `skillet install NAME@MARKETPLACE`, or `skillet install --locked` for what skillet.lock lists".into(),
            ),
        ));
    }
    if args.sha256.is_some() && args.packages.len() > 1 {
        return Err(output::failure(
            2,
            "--sha256 applies to one archive: install several archives one command each",
            None,
        ));
    }
    let lock = lock(&target)?;
    let staging = StagingDir::new(&lock)?;
    let bars = Bars::new();
    let mut txn = Transaction::new(&lock, &staging);
    let mut named = Vec::new();
    for text in &args.packages {
        let request = Request::parse(text, args.sha256.as_deref()).map_err(|e| {
            output::failure(
                2,
                format!("{text}: {e}"),
                Some("name a package (NAME, NAME@MARKETPLACE, NAME@^1.2), a folder (./path), git+URL#REF, or an archive URL with --sha256".into()),
            )
        })?;
        match request {
            Request::Source(mut source) => {
                if let Some(warning) = source.transport_warning() {
                    eprintln!("skillet: warning: {}", output::text(&warning));
                }
                // A folder is named relative to where the user is (`-C` included).
                if let skillet_pkg::source::Source::Dir { path } = &mut source
                    && path.is_relative()
                {
                    let joined: PathBuf = ctx.env.cwd.join(&*path).components().collect();
                    // Recorded in skillet.lock as the folder itself, not `ws/../kit`.
                    *path = std::fs::canonicalize(&joined).unwrap_or(joined);
                }
                let staged = stage(&source, &staging, &bars)?;
                txn.push(Change::Install {
                    staged,
                    requested: true,
                });
            }
            Request::Named {
                name,
                marketplace,
                req,
            } => named.push((name, marketplace, req)),
        }
    }
    resolve::add_dependencies(ctx, &lock, &staging, &bars, &mut txn, &named, &[])?;
    bars.clear();
    // Before asking: a plan that cannot be committed is not put to the user.
    txn.check_names()?;
    let plan = report::Plan::new(&target, &txn, &defaults())?;
    consent::confirm(&plan, "install", args.yes, args.dry_run, args.json)?;
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    txn.commit()?;
    plan.done(args.json)?;
    Ok(ExitCode::SUCCESS)
}
