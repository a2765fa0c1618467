//! Hot reload: when a skill file or a `skillet.toml` changes, the server reads the skills again
//! and tells its clients which lists changed.
//!
//! Existing skill directories are watched recursively. A directory that does not exist yet is
//! covered by watching its nearest existing parent, so creating `.skillet/skills/` with a first
//! skill in it is seen too; after every reload the watches are brought up to date.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

use crate::server::SkillServer;

/// How long changes are gathered before one reload: an editor saving a file makes several events.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Why skill files cannot be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch the skill directories: {0}")]
pub struct WatchError(#[from] notify_debouncer_mini::notify::Error);

/// Watches `server`'s skill directories and configuration for as long as the runtime runs.
/// Must be called inside a Tokio runtime.
pub fn watch_skills(server: SkillServer) -> Result<(), WatchError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut debouncer = new_debouncer(DEBOUNCE, move |events: DebounceEventResult| {
        if events.is_ok_and(|e| !e.is_empty()) {
            let _ = tx.send(());
        }
    })?;
    let mut watched = BTreeSet::new();
    rewatch(&server, &mut debouncer, &mut watched);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            while rx.try_recv().is_ok() {}
            match server.reload().await {
                Ok(changes) if changes.any() => {
                    let mut what = Vec::new();
                    for (changed, name) in [
                        (changes.tools, "tools"),
                        (changes.prompts, "prompts"),
                        (changes.resources, "skills"),
                    ] {
                        if changed {
                            what.push(name);
                        }
                    }
                    eprintln!("skillet mcp: reloaded; {} changed", what.join(", "));
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!(
                        "skillet mcp: not reloaded, still serving the previous skills: {}",
                        skillet_spec::display::terminal_safe(
                            &e.to_string(),
                            skillet_spec::display::Lines::Escape,
                            4_000
                        )
                    )
                }
            }
            rewatch(&server, &mut debouncer, &mut watched);
        }
    });
    Ok(())
}

/// Adds a watch for every path that should have one and does not yet.
fn rewatch<W: notify_debouncer_mini::notify::Watcher>(
    server: &SkillServer,
    debouncer: &mut Debouncer<W>,
    watched: &mut BTreeSet<(PathBuf, bool)>,
) {
    for (path, recursive) in wanted(server) {
        if watched.contains(&(path.clone(), recursive)) {
            continue;
        }
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        match debouncer.watcher().watch(&path, mode) {
            Ok(()) => {
                watched.insert((path, recursive));
            }
            // A skill directory's path is the workspace's text.
            Err(e) => eprintln!(
                "skillet mcp: {}",
                skillet_spec::display::terminal_safe(
                    &format!("not watching {}: {e}", path.display()),
                    skillet_spec::display::Lines::Escape,
                    4_000
                )
            ),
        }
    }
}

/// The paths to watch: each skill directory (recursively) or its nearest existing parent, and
/// the directories holding the configuration files.
fn wanted(server: &SkillServer) -> BTreeSet<(PathBuf, bool)> {
    let env = &server.shared.options.env;
    let snapshot = server.snapshot();
    let mut paths = BTreeSet::new();
    let config_dirs = [
        env.global_dir(),
        env.workspace_root().map(|r| r.join(".skillet")),
    ];
    let dirs = snapshot
        .registry
        .dirs()
        .iter()
        .map(|d| d.path.clone())
        .chain(config_dirs.into_iter().flatten());
    for dir in dirs {
        if dir.is_dir() {
            paths.insert((dir, true));
        } else if let Some(parent) = existing_parent(&dir) {
            paths.insert((parent, false));
        }
    }
    paths
}

fn existing_parent(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .map(Path::to_path_buf)
}
