//! Writing the view's changes into the real tree, by handle.

use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use serde::Serialize;

use super::changes::{Change, ChangeKind, Changes, read_under};
use super::handle::{self, Kind, READ, Stamp};
use super::{IsolateError, View, io};

/// An entry that was not applied, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its path relative to the workspace root.
    pub path: PathBuf,
    /// Why it was left alone.
    pub reason: String,
}

/// What applying did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// The entries written, created or removed in the real tree.
    pub applied: Vec<PathBuf>,
    /// The entries left alone.
    pub skipped: Vec<Skipped>,
}

/// Why one entry is not applied.
enum Refusal {
    Changed,
    Exists,
    LinkOut(String),
    LinkHidden(String),
    /// The bytes it would write, past what is left of the budget (the whole budget).
    OverBudget(u64, u64),
    NotEmpty,
    Io(Errno),
}

impl Refusal {
    fn reason(&self) -> String {
        match self {
            Refusal::Changed => "it changed in the real tree since the run started (or a folder \
                on the way became a link); nothing was written there"
                .to_owned(),
            Refusal::Exists => "something was created at that name in the real tree since the \
                run started; nothing was written there"
                .to_owned(),
            Refusal::LinkOut(target) => format!(
                "the link leads out of the workspace (`{target}`); create it yourself if you \
                 mean it"
            ),
            Refusal::LinkHidden(target) => format!(
                "the link leads to what isolated runs never see (`{target}`: .git, .env or \
                 credential files, skill files); create it yourself if you mean it"
            ),
            Refusal::OverBudget(size, budget) => format!(
                "writing its {size} bytes would take what applying writes past {} MiB in all \
                 (as much as a view holds: hard links and sparse files are written out in \
                 full); run the skill with --no-isolate if you mean it",
                budget >> 20
            ),
            Refusal::NotEmpty => "the folder still holds files in the real tree that the run \
                did not see (or that are never copied, such as .git); remove it yourself"
                .to_owned(),
            Refusal::Io(e) => format!("{e}"),
        }
    }
}

impl From<Errno> for Refusal {
    fn from(e: Errno) -> Refusal {
        match e {
            // A folder on the way became a link or a file: the tree is not as it was copied.
            Errno::LOOP | Errno::NOTDIR => Refusal::Changed,
            other => Refusal::Io(other),
        }
    }
}

pub(super) fn apply(view: &View, changes: &Changes) -> Result<Applied, IsolateError> {
    let real = handle::open_root(view.real_root())
        .map_err(io("cannot open the workspace", view.real_root()))?;
    let view_root = view.root();
    let view_fd = handle::open_root(&view_root).map_err(io("cannot open the view", &view_root))?;
    let mut done = Applied::default();
    // What applying writes is bounded as the view is: each hard link to one file and each
    // sparse file is written out in full, so a few bytes in the view could be terabytes here.
    let mut budget = Budget {
        total: view.limits.max_bytes,
        left: view.limits.max_bytes,
    };
    // Removals deepest first, so a folder is empty when its turn comes; then the rest,
    // parents first.
    let mut removals: Vec<&Change> = changes
        .entries
        .iter()
        .filter(|c| c.change == ChangeKind::Removed)
        .collect();
    removals.sort_by(|a, b| b.path.cmp(&a.path));
    let rest = changes
        .entries
        .iter()
        .filter(|c| c.change != ChangeKind::Removed);
    for change in removals.into_iter().chain(rest) {
        let outcome = match change.change {
            ChangeKind::Removed => remove(&real, change),
            _ => write(&real, &view_fd, change, &mut budget),
        };
        match outcome {
            Ok(()) => done.applied.push(change.path.clone()),
            Err(r) => done.skipped.push(Skipped {
                path: change.path.clone(),
                reason: r.reason(),
            }),
        }
    }
    Ok(done)
}

/// Whether the real entry is still the one copied.
fn unchanged(now: Option<Stamp>, before: Option<Stamp>) -> bool {
    match (now, before) {
        (Some(n), Some(b)) if n.kind == Kind::Dir && b.kind == Kind::Dir => n.ino == b.ino,
        (Some(n), Some(b)) => n == b,
        _ => false,
    }
}

fn remove(real: &OwnedFd, change: &Change) -> Result<(), Refusal> {
    let (parent, name) = handle::split(&change.path).ok_or(Refusal::Io(Errno::INVAL))?;
    let dir = handle::open_dir_under(real, parent)?;
    let now = handle::stat_at(&dir, Path::new(name))?.and_then(|s| Stamp::of(&s));
    if now.is_none() {
        // Already gone: what was asked holds.
        return Ok(());
    }
    if !unchanged(now, change.before) {
        return Err(Refusal::Changed);
    }
    let flags = if change.kind == Kind::Dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    match rustix::fs::unlinkat(&dir, name, flags) {
        Ok(()) => Ok(()),
        Err(Errno::NOTEMPTY | Errno::EXIST) => Err(Refusal::NotEmpty),
        Err(e) => Err(e.into()),
    }
}

/// Bytes applying may still write.
struct Budget {
    total: u64,
    left: u64,
}

fn write(
    real: &OwnedFd,
    view: &OwnedFd,
    change: &Change,
    budget: &mut Budget,
) -> Result<(), Refusal> {
    let (parent, name) = handle::split(&change.path).ok_or(Refusal::Io(Errno::INVAL))?;
    let dir = handle::open_dir_under(real, parent)?;
    let now = handle::stat_at(&dir, Path::new(name))?.and_then(|s| Stamp::of(&s));
    match change.change {
        ChangeKind::Added if now.is_some() => {
            // The same folder made on both sides is no conflict.
            if change.kind == Kind::Dir && now.is_some_and(|n| n.kind == Kind::Dir) {
                return Ok(());
            }
            return Err(Refusal::Exists);
        }
        ChangeKind::Modified if !unchanged(now, change.before) => return Err(Refusal::Changed),
        _ => {}
    }
    let view_stat = {
        let vdir = handle::open_dir_under(view, parent)?;
        handle::stat_at(&vdir, Path::new(name))?
            .and_then(|s| Stamp::of(&s))
            .ok_or(Refusal::Io(Errno::NOENT))?
    };
    if view_stat.kind != change.kind {
        // The view changed after it was compared: apply only what was shown.
        return Err(Refusal::Io(Errno::STALE));
    }
    let mode = Mode::from_raw_mode(view_stat.mode & 0o777);
    match change.kind {
        Kind::Dir => Ok(rustix::fs::mkdirat(&dir, name, mode)?),
        Kind::Symlink => {
            let target = read_under(view, &change.path, Kind::Symlink, u64::MAX)?
                .ok_or(Refusal::Io(Errno::INVAL))?;
            let target = <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(target);
            let shown = || target.to_string_lossy().into_owned();
            let Some(leads_to) = target_inside(parent, Path::new(&target)) else {
                return Err(Refusal::LinkOut(shown()));
            };
            // A run never saw what is hidden from it: a link it made there (to `.git/config`,
            // say) is not for it to put in the real tree.
            if super::policy(&leads_to) != super::Policy::Tracked {
                return Err(Refusal::LinkHidden(shown()));
            }
            let tmp = temp_name(name);
            rustix::fs::symlinkat(Path::new(&target), &dir, &tmp)?;
            rename_over(&dir, &tmp, name)
        }
        Kind::File => {
            let source = {
                let vdir = handle::open_dir_under(view, parent)?;
                let fd = rustix::fs::openat(&vdir, name, READ, Mode::empty())?;
                let st = rustix::fs::fstat(&fd)?;
                if Kind::of(&st) != Some(Kind::File) {
                    return Err(Refusal::Io(Errno::STALE));
                }
                let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
                if size > budget.left {
                    return Err(Refusal::OverBudget(size, budget.total));
                }
                budget.left -= size;
                std::fs::File::from(fd)
            };
            let tmp = temp_name(name);
            let fd = rustix::fs::openat(
                &dir,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                mode,
            )?;
            let mut file = std::fs::File::from(fd);
            // Streamed: what a run wrote may be larger than memory.
            let copied = std::io::copy(&mut (&source), &mut file).map(|_| ());
            if let Err(e) = copied.and_then(|()| file.sync_all()) {
                let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty());
                return Err(Refusal::Io(Errno::from_io_error(&e).unwrap_or(Errno::IO)));
            }
            // Replaced by renaming over the name: a hard link there to a file elsewhere is
            // never written through.
            rename_over(&dir, &tmp, name)
        }
    }
}

fn rename_over(
    dir: &OwnedFd,
    tmp: &std::ffi::OsStr,
    name: &std::ffi::OsStr,
) -> Result<(), Refusal> {
    rustix::fs::renameat(dir, tmp, dir, name).map_err(|e| {
        let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
        Refusal::from(e)
    })
}

fn temp_name(name: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut tmp = std::ffi::OsString::from(".skillet-apply-");
    tmp.push(std::process::id().to_string());
    tmp.push("-");
    tmp.push(name);
    tmp
}

/// What the link `target`, placed in the folder `parent` (relative to the workspace root),
/// names relative to the root, by its words alone; `None` when it leads out: absolute targets
/// and `..` past the root.
fn target_inside(parent: &Path, target: &Path) -> Option<PathBuf> {
    // `..` after a name would climb out of wherever that name leads (a link elsewhere):
    // only leading ones, which climb the real folders the entry was written through, count.
    let mut leads_to: Vec<Component<'_>> = parent.components().collect();
    let mut named = false;
    for c in target.components() {
        match c {
            Component::Normal(_) => {
                named = true;
                leads_to.push(c);
            }
            Component::CurDir => {}
            Component::ParentDir if !named => {
                leads_to.pop()?;
            }
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(leads_to.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside_by_their_words() {
        let inside =
            |parent: &str, target: &str| target_inside(Path::new(parent), Path::new(target));
        assert_eq!(inside("a", "../b"), Some(PathBuf::from("b")));
        assert_eq!(inside("", "b/c"), Some(PathBuf::from("b/c")));
        assert_eq!(inside("a", "../../b"), None);
        assert_eq!(inside("", "/etc/passwd"), None);
        assert_eq!(inside("a/b", "../x/../../.."), None);
        assert_eq!(inside("", "x/../y"), None);
        assert_eq!(inside("a/b", "../../y"), Some(PathBuf::from("y")));
        assert_eq!(inside("a/b", "./.././c"), Some(PathBuf::from("a/c")));
    }

    #[test]
    fn links_into_what_runs_never_see_are_not_tracked() {
        for (parent, target) in [
            ("data", "../.git/config"),
            ("", ".git"),
            ("src", "../.env.local"),
            ("a/b", "../../.skillet/skills/x.json"),
        ] {
            let leads_to = target_inside(Path::new(parent), Path::new(target)).unwrap();
            assert!(
                super::super::policy(&leads_to) != super::super::Policy::Tracked,
                "{parent} -> {target}"
            );
        }
    }
}
