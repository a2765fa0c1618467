//! What `skillet dev` watches, the kernel watches behind it, and the loop that reloads on
//! every change.
//!
//! Only events that change a file start a reload (opens and reads do not: the run itself reads
//! the files it is watched for). Every watched folder is resolved first, and a context folder
//! that resolves outside the workspace (a planted symbolic link) is not watched.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use notify_debouncer_mini::notify::event::{EventKind, MetadataKind, ModifyKind};
use notify_debouncer_mini::notify::{
    Config, Event, RecommendedWatcher, RecursiveMode, Watcher as _,
};
use skillet_spec::{AGENT_SKILL_FILE, PACKAGE_SKILL_FILE, ParamKind, SkillSpec};
use tokio::sync::mpsc;

use skillet_engine::Cancel;

use super::{DevError, DevLoop, DevOptions, Reload};

/// How long changes are gathered after the first before one reload: an editor's save is often
/// a write, a rename and a metadata change. Short, as the reload's whole budget is 100 ms.
pub const DEBOUNCE: Duration = Duration::from_millis(15);

/// One thing to watch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The folder the kernel watches (resolved).
    pub dir: PathBuf,
    /// Whether its subfolders are watched too.
    pub recursive: bool,
    /// The part of `dir` that matters: events elsewhere in it are ignored.
    pub scope: PathBuf,
    /// Set up again on every update: a small folder that may be deleted and made again (the
    /// skill's own), whose old kernel watch died with it.
    pub rewatch: bool,
}

/// The targets for a skill at `file` (`None`: gone), of `spec` (its last good version), in a
/// workspace rooted at `root`, run with `options`.
pub(super) fn targets(
    file: Option<&Path>,
    spec: Option<&SkillSpec>,
    root: Option<&Path>,
    options: &DevOptions,
) -> Vec<Target> {
    let mut targets = BTreeSet::new();
    if let Some(file) = file {
        let folder_skill = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n == PACKAGE_SKILL_FILE || n == AGENT_SKILL_FILE);
        let parent = file.parent().unwrap_or(Path::new("."));
        if folder_skill {
            // The folder (scripts, prompts) and its parent, to see the folder made again.
            if let Ok(dir) = parent.canonicalize() {
                targets.insert(Target {
                    dir: dir.clone(),
                    recursive: true,
                    scope: dir,
                    rewatch: true,
                });
            }
            if let (Some(grand), Some(name)) = (parent.parent(), parent.file_name())
                && let Ok(grand) = grand.canonicalize()
            {
                targets.insert(Target {
                    scope: grand.join(name),
                    dir: grand,
                    recursive: false,
                    rewatch: false,
                });
            }
        } else if let (Ok(dir), Some(name)) = (parent.canonicalize(), file.file_name()) {
            targets.insert(Target {
                scope: dir.join(name),
                dir,
                recursive: false,
                rewatch: false,
            });
        }
    }
    let root = root.and_then(|r| r.canonicalize().ok());
    if let (Some(spec), Some(root)) = (spec, &root) {
        let patterns = spec.context_files.iter().flat_map(|c| c.patterns.iter());
        for pattern in patterns {
            if let Some(t) = pattern_target(root, pattern) {
                targets.insert(t);
            }
        }
    }
    if let Some(spec) = spec {
        for p in spec.parameters.iter().filter(|p| p.kind == ParamKind::Path) {
            let Some(value) = options.params.get(&p.name).and_then(|v| v.as_str()) else {
                continue;
            };
            let path = options.caller_dir.join(value);
            if let Some(t) = file_target(&path) {
                targets.insert(t);
            }
        }
    }
    targets.into_iter().collect()
}

/// A single file: its folder, the file's events only.
fn file_target(path: &Path) -> Option<Target> {
    let real = path.canonicalize().ok()?;
    if real.is_dir() {
        return Some(Target {
            dir: real.clone(),
            recursive: true,
            scope: real,
            rewatch: false,
        });
    }
    let dir = real.parent()?.to_path_buf();
    Some(Target {
        dir,
        scope: real,
        recursive: false,
        rewatch: false,
    })
}

/// The folder a context glob starts in (its part before the first wildcard), when it is inside
/// the workspace.
fn pattern_target(root: &Path, pattern: &str) -> Option<Target> {
    let mut prefix = PathBuf::new();
    let mut wild = false;
    for part in pattern.split('/') {
        if part.contains(['*', '?', '[', '{']) {
            wild = true;
            break;
        }
        prefix.push(part);
    }
    let joined = root.join(&prefix);
    let target = if wild {
        let real = joined.canonicalize().ok()?;
        Target {
            dir: real.clone(),
            recursive: true,
            scope: real,
            rewatch: false,
        }
    } else {
        file_target(&joined)?
    };
    // A link inside the workspace may point anywhere; what it leads to outside is not watched.
    target.dir.starts_with(root).then_some(target)
}

/// A change seen: the paths, and when the first of them arrived.
pub type Change = (Vec<PathBuf>, Instant);

/// The kernel watches of one `skillet dev`.
pub struct Watcher {
    watcher: RecommendedWatcher,
    done: BTreeSet<PathBuf>,
    targets: Arc<RwLock<Vec<Target>>>,
    rx: mpsc::UnboundedReceiver<Change>,
    pending: VecDeque<Change>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// A watcher with nothing watched yet.
    pub fn new() -> Result<Watcher, notify_debouncer_mini::notify::Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        let targets: Arc<RwLock<Vec<Target>>> = Arc::new(RwLock::new(Vec::new()));
        let seen = Arc::clone(&targets);
        let watcher = RecommendedWatcher::new(
            move |event: notify_debouncer_mini::notify::Result<Event>| {
                let Ok(event) = event else { return };
                if !changes_tree(&event) {
                    return;
                }
                let targets = seen
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let paths: Vec<PathBuf> = event
                    .paths
                    .iter()
                    .filter(|p| targets.iter().any(|t| p.starts_with(&t.scope)))
                    .cloned()
                    .collect();
                if !paths.is_empty() || event.need_rescan() {
                    let _ = tx.send((paths, Instant::now()));
                }
            },
            // A symlink inside a watched folder is not followed: it may lead anywhere.
            Config::default().with_follow_symlinks(false),
        )?;
        Ok(Watcher {
            watcher,
            done: BTreeSet::new(),
            targets,
            rx,
            pending: VecDeque::new(),
        })
    }

    /// Watches `targets` (what is already watched stays).
    pub fn update(&mut self, targets: &[Target]) {
        *self
            .targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets.to_vec();
        for t in targets {
            if !t.rewatch && self.done.contains(&t.dir) {
                continue;
            }
            let mode = if t.recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            // A folder that cannot be watched (gone, out of watches) is tried again next time.
            if self.watcher.watch(&t.dir, mode).is_ok() {
                self.done.insert(t.dir.clone());
            }
        }
    }

    /// The next change.
    pub async fn next_change(&mut self) -> Option<Change> {
        if let Some(change) = self.pending.pop_front() {
            return Some(change);
        }
        self.rx.recv().await
    }

    /// The paths of the changes seen since, without waiting.
    pub fn drain(&mut self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.pending.drain(..).flat_map(|(p, _)| p).collect();
        while let Ok((p, _)) = self.rx.try_recv() {
            paths.extend(p);
        }
        paths
    }

    /// Forgets the changes seen since, but those under `keep` (the skill's own file or
    /// folder): the skill's run writes files in the workspace, and those are not edits.
    pub fn drain_outside(&mut self, keep: Option<&Path>) {
        let mut kept: Vec<Change> = Vec::new();
        let mut take = |(paths, at): Change| {
            let mine: Vec<PathBuf> = paths
                .into_iter()
                .filter(|p| keep.is_some_and(|k| p.starts_with(k)))
                .collect();
            if !mine.is_empty() {
                kept.push((mine, at));
            }
        };
        for change in self.pending.drain(..).collect::<Vec<_>>() {
            take(change);
        }
        while let Ok(change) = self.rx.try_recv() {
            take(change);
        }
        self.pending.extend(kept);
    }
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

/// Watches the skill and reloads it on every change, giving each [`Reload`] (the first run
/// included) to `report`. `stop` ends the loop once a run in progress has finished and been
/// reported (the end of input); `interrupt` also stops that run (Ctrl-C), unreported.
pub async fn watch_and_reload(
    dev: &mut DevLoop,
    stop: Cancel,
    interrupt: Cancel,
    mut report: impl FnMut(&Reload),
) -> Result<(), DevError> {
    let mut watcher = Watcher::new()?;
    watcher.update(&dev.watch_targets());
    let first = dev.reload(Vec::new(), Instant::now(), &interrupt).await;
    if interrupt.reason().is_some() {
        return Ok(());
    }
    report(&first);
    loop {
        let changed = tokio::select! {
            changed = watcher.next_change() => changed.ok_or(DevError::WatcherGone)?,
            _ = stop.cancelled() => return Ok(()),
            _ = interrupt.cancelled() => return Ok(()),
        };
        let (paths, since) = changed;
        // Let an editor finish its save (write, rename, chmod) before reading.
        tokio::select! {
            () = tokio::time::sleep(DEBOUNCE) => {}
            _ = stop.cancelled() => return Ok(()),
            _ = interrupt.cancelled() => return Ok(()),
        }
        let mut paths = paths;
        paths.extend(watcher.drain());
        paths.sort();
        paths.dedup();
        let reload = dev.reload(paths, since, &interrupt).await;
        if interrupt.reason().is_some() {
            return Ok(());
        }
        report(&reload);
        if stop.reason().is_some() {
            return Ok(());
        }
        watcher.update(&dev.watch_targets());
        // What the run itself wrote under a watched context folder is not an edit.
        watcher.drain_outside(dev.own_files().as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_glob_is_watched_from_its_literal_folder_inside_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        let t = pattern_target(&root, "src/**/*.rs").unwrap();
        assert_eq!(t.dir, root.join("src"));
        assert!(t.recursive);
        // A link out of the workspace is not followed.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        assert!(pattern_target(&root, "out/**").is_none());
        assert!(pattern_target(&root, "../**").is_none());
    }
}
