//! Hot reload: when a skill file or a `skillet.toml` changes, the server reads the skills again
//! and tells its clients which lists changed.
//!
//! Existing skill directories are watched recursively. A directory that does not exist yet is
//! covered by watching its nearest existing parent, so creating `.skillet/skills/` with a first
//! skill in it is seen too; after every reload the watches are brought up to date.
//!
//! Idle must cost nothing, so only events that change the tree (create, write, remove, rename,
//! metadata) start a reload: the kernel also reports every open, and reacting to those would make
//! each reload's own reads start the next one. Watches and reloads run on a thread of their own,
//! outside the async runtime, so a reload of a large tree never delays the server's exit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, mpsc};
use std::time::Duration;

use notify_debouncer_mini::notify::event::{EventKind, MetadataKind, ModifyKind};
use notify_debouncer_mini::notify::{Config, Event, RecommendedWatcher, RecursiveMode, Watcher};

use skillet_registry::KeptSkill;

use crate::server::SkillServer;

/// How long changes are gathered before one reload: an editor saving a file makes several events.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Why skill files cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The kernel's file watching could not be set up.
    #[error("cannot watch the skill directories: {0}")]
    Notify(#[from] notify_debouncer_mini::notify::Error),
    /// `watch_skills` was called outside a Tokio runtime.
    #[error(
        "cannot watch the skill directories: no async runtime is running (call watch_skills inside one)"
    )]
    NoRuntime,
    /// The watching thread could not be started.
    #[error("cannot watch the skill directories: cannot start a thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Watches `server`'s skill directories and configuration for as long as the process runs.
/// Must be called inside a Tokio runtime; clients are notified on it.
pub fn watch_skills(server: SkillServer) -> Result<(), WatchError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| WatchError::NoRuntime)?;
    let (tx, rx) = mpsc::channel();
    let targets = Arc::new(RwLock::new(Vec::new()));
    let seen_by_watcher = Arc::clone(&targets);
    let watcher = RecommendedWatcher::new(
        move |event: notify_debouncer_mini::notify::Result<Event>| {
            let targets = seen_by_watcher
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if event.is_ok_and(|e| changes_tree(&e) && concerns(&e, &targets)) {
                let _ = tx.send(());
            }
        },
        // A symlink inside a skill tree is not followed: it may lead anywhere, /proc included.
        Config::default().with_follow_symlinks(false),
    )?;
    let mut watches = Watches {
        watcher,
        done: BTreeSet::new(),
        targets,
    };
    // Detached on purpose: the process may exit in the middle of a reload, or while the first
    // watches of a large tree are being set up, which must not delay serving either.
    std::thread::Builder::new()
        .name("skillet-mcp-watch".into())
        .spawn(move || {
            // Serving started before the first watch existed: what changed in between is
            // found by the look `settle` takes once the watches are in place.
            settle(&mut watches, &rx, &server, &runtime);
            let mut kept = Vec::new();
            while rx.recv().is_ok() {
                std::thread::sleep(DEBOUNCE);
                settle(&mut watches, &rx, &server, &runtime);
                kept = warn_kept(&server, kept);
            }
        })?;
    Ok(())
}

/// Watches first, then a look: a change made before a watch existed is read by the reload,
/// one made after it is an event. Events drained here are only those of setting up watches
/// (or changes the reload that follows reads anyway). A reload that finds a new directory gets
/// it watched, and then looks again.
fn settle(
    watches: &mut Watches,
    rx: &mpsc::Receiver<()>,
    server: &SkillServer,
    runtime: &tokio::runtime::Handle,
) {
    for _ in 0..4 {
        let added = watches.update(server);
        while rx.try_recv().is_ok() {}
        reload(server, runtime);
        if !added {
            return;
        }
    }
}

/// Whether an event touches a skill or configuration directory, or a directory on the way to
/// one (creating `.skillet/` must be seen): a watched parent also reports unrelated files.
fn concerns(event: &Event, targets: &[PathBuf]) -> bool {
    event.need_rescan()
        || event
            .paths
            .iter()
            .any(|p| targets.iter().any(|t| p.starts_with(t) || t.starts_with(p)))
}

/// Whether an event changes what a reload would read. Opens and reads do not.
fn changes_tree(event: &Event) -> bool {
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

fn reload(server: &SkillServer, runtime: &tokio::runtime::Handle) {
    match server.reload_now() {
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
            let server = server.clone();
            // After the runtime shut down this does nothing, which is right: no client is left.
            runtime.spawn(async move { server.announce(changes).await });
        }
        Ok(_) => {}
        Err(e) => eprintln!(
            "skillet mcp: not reloaded, still serving the previous skills: {}",
            skillet_spec::display::terminal_safe(
                &e.to_string(),
                skillet_spec::display::Lines::Escape,
                4_000
            )
        ),
    }
}

/// Says which skills are served in their last good version because their file broke, with
/// what is wrong, when that differs from what was said last time (`said`); returns what it
/// said.
fn warn_kept(server: &SkillServer, said: Vec<KeptSkill>) -> Vec<KeptSkill> {
    let kept = server.kept();
    if kept == said {
        return said;
    }
    for skill in &kept {
        let errors: Vec<String> = skill.errors.iter().map(ToString::to_string).collect();
        eprintln!(
            "skillet mcp: warning: {}",
            skillet_spec::display::terminal_safe(
                &format!(
                    "skill `{}` is broken now, still serving its last good version until {} is fixed:\n{}",
                    skill.name,
                    skill.path.display(),
                    errors.join("\n")
                ),
                skillet_spec::display::Lines::Keep,
                8_000
            )
        );
    }
    kept
}

/// The watches set up so far, and the paths refused (each said once).
struct Watches {
    watcher: RecommendedWatcher,
    /// Paths watched or refused; neither is tried again.
    done: BTreeSet<(PathBuf, bool)>,
    /// The skill and configuration directories, as written and resolved, for [`concerns`].
    targets: Arc<RwLock<Vec<PathBuf>>>,
}

impl Watches {
    /// Adds a watch for every path that should have one and has not been tried; whether any
    /// was added.
    fn update(&mut self, server: &SkillServer) -> bool {
        let mut added = false;
        let (wanted, dirs) = wanted(server);
        let mut targets: Vec<PathBuf> = dirs.iter().map(|d| resolved_prefix(d)).collect();
        targets.extend(dirs);
        *self
            .targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets;
        for (path, recursive) in wanted {
            if !self.done.insert((path.clone(), recursive)) {
                continue;
            }
            added = true;
            let result = match resolve(&path) {
                Ok(real) => {
                    let mode = if recursive {
                        RecursiveMode::Recursive
                    } else {
                        RecursiveMode::NonRecursive
                    };
                    self.watcher.watch(&real, mode).map_err(|e| e.to_string())
                }
                Err(why) => Err(why),
            };
            if let Err(why) = result {
                // A skill directory's path is the workspace's text.
                eprintln!(
                    "skillet mcp: {}",
                    skillet_spec::display::terminal_safe(
                        &format!("not watching {}: {why}", path.display()),
                        skillet_spec::display::Lines::Escape,
                        4_000
                    )
                );
            }
        }
        added
    }
}

/// Kernel pseudo-filesystems: walking them is endless or harmful, and no skill lives there.
const PSEUDO_ROOTS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// The real directory behind `path`, refused when it is not an ordinary directory tree.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    let real = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve it: {e}"))?;
    if let Some(root) = PSEUDO_ROOTS.iter().find(|r| real.starts_with(r)) {
        return Err(format!(
            "it leads to {}, which holds no skills; point the skill directory at a real one",
            root
        ));
    }
    if is_pseudo_filesystem(&real) {
        return Err(format!(
            "it leads to {}, a kernel filesystem that holds no skills; point the skill directory at a real one",
            real.display()
        ));
    }
    Ok(real)
}

/// Whether `path` is on procfs, sysfs or a similar kernel filesystem mounted elsewhere.
fn is_pseudo_filesystem(path: &Path) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const KERNEL_FS: [u64; 11] = [
            0x9fa0,      // proc
            0x6265_6572, // sysfs
            0x1cd1,      // devpts
            0x6462_6720, // debugfs
            0x7472_6163, // tracefs
            0x0027_e0eb, // cgroup
            0x6367_7270, // cgroup2
            0x7363_6673, // securityfs
            0xcafe_4a11, // bpf
            0x6165_676c, // pstore
            0x4244_4e4d, // binfmt_misc
        ];
        rustix::fs::statfs(path).is_ok_and(|s| KERNEL_FS.contains(&(s.f_type as u64)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = path;
        false
    }
}

/// `path` with its longest existing ancestor resolved: what the kernel reports events under.
fn resolved_prefix(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = ancestor.canonicalize() {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    path.to_path_buf()
}

/// The paths to watch (each skill directory recursively, or its nearest existing parent, and
/// the directories holding the configuration files), and those directories themselves.
fn wanted(server: &SkillServer) -> (BTreeSet<(PathBuf, bool)>, Vec<PathBuf>) {
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
        .chain(config_dirs.into_iter().flatten())
        .collect::<Vec<_>>();
    for dir in &dirs {
        if dir.is_dir() {
            paths.insert((dir.clone(), true));
        } else if let Some(parent) = existing_parent(dir) {
            paths.insert((parent, false));
        }
    }
    (paths, dirs)
}

fn existing_parent(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .map(Path::to_path_buf)
}
