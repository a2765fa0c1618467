//! Placeholders for protected paths that do not exist yet, inside a write grant, with
//! namespaces.
//!
//! A mount needs something to cover, and a name that does not exist cannot be covered: so for
//! the run, an empty placeholder is made under that name in the user's tree (by handle, in the
//! directory the parent opened), bound read-only over itself in the private root (a mountpoint
//! the program can neither write in, remove nor rename), and removed when the run is over.
//! Names that look like files (`skillet.toml`, `.env*`) get an empty file, the others an empty
//! directory: what a tool of the user's that reads them during the run expects to find (an
//! empty directory named `.git` is no repository to git).
//!
//! Runs share a placeholder, in this process or another: each holds a shared `flock` on it for
//! as long as it runs, and a run that ends removes it only if it can take the lock exclusively
//! (no other run holds it) and it is still the empty placeholder (its mode tells one made here
//! from a user's own entry, which is never removed).
//!
//! Another run's placeholder is an ordinary entry to the engine that lists a run's policy (it
//! may even be masked, as `.env` is): wherever a run meets one, it holds it like its own
//! before it opens, mounts or leaves out anything on its account (handles.rs). A run that
//! relied on one it did not hold would find it removed under it when the run that made it
//! ends: its mount would fail, or the protected name would be free to make again.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};

use crate::handles::FileId;

/// Modes placeholders are made with, and recognised by.
const DIR_MODE: u32 = 0o555;
const FILE_MODE: u32 = 0o444;

/// One placeholder a run uses, with the shared lock it holds on it.
#[derive(Debug)]
struct Placeholder {
    dir: OwnedFd,
    name: OsString,
    id: FileId,
    is_dir: bool,
    lock: OwnedFd,
}

/// The placeholders of one run, removed when it is dropped (after the run).
#[derive(Debug, Default)]
pub struct Placeholders(Vec<Placeholder>);

/// Whether a protected name gets a file rather than a directory.
fn file_like(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(".env") || name.trim_start_matches('.').contains('.')
}

/// Whether `st` is an empty placeholder as this module makes them.
fn is_placeholder(st: &rustix::fs::Stat, is_dir: bool) -> bool {
    let kind = FileType::from_raw_mode(st.st_mode);
    let mode = st.st_mode & 0o7777;
    if is_dir {
        // Emptiness is rmdir's to check.
        kind == FileType::Directory && mode == DIR_MODE
    } else {
        kind == FileType::RegularFile && mode == FILE_MODE && st.st_size == 0
    }
}

/// What is under a protected name once a run has looked for a placeholder there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// A placeholder (made by this run or by another), which this run now holds until it
    /// ends: this file, which no other run removes meanwhile.
    Placeholder(FileId),
    /// Something else, the user's own entry: mounted over (or not) as it is, never removed.
    Other,
    /// Nothing: it could not be made (the directory is not writable, which leaves the
    /// program unable to make it either), or, for [`Placeholders::hold`], it is gone.
    Missing,
}

/// Whether the file `fd` (a handle on the entry `name`) looks like a placeholder as this
/// module makes them, whoever made it: then a run must hold it before relying on it. A
/// directory must be empty too (every run mounts a placeholder read-only, so none has
/// anything in it): a user's read-only directory on the way to a protected path is walked
/// through, never taken for one.
pub(crate) fn looks_made(fd: &OwnedFd, name: &OsStr) -> bool {
    let is_dir = !file_like(name);
    if !rustix::fs::fstat(fd).is_ok_and(|st| is_placeholder(&st, is_dir)) {
        return false;
    }
    !is_dir || is_empty_dir(fd)
}

/// Whether the directory `fd` has no entry (`false` when it cannot be listed).
fn is_empty_dir(fd: &OwnedFd) -> bool {
    let Ok(listing) = rustix::fs::openat(
        fd,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let Ok(dir) = rustix::fs::Dir::new(listing) else {
        return false;
    };
    for entry in dir {
        match entry {
            Ok(e) if matches!(e.file_name().to_bytes(), b"." | b"..") => {}
            _ => return false,
        }
    }
    true
}

impl Placeholders {
    /// Makes `name` in the directory `dir` (a handle of the parent), or holds the placeholder
    /// another run made there (or this one, already).
    pub(crate) fn make(&mut self, dir: &OwnedFd, name: &OsStr) -> std::io::Result<Held> {
        self.take(dir, name, true)
    }

    /// Holds the placeholder another run made under `name` in `dir`, if there is one there:
    /// for a run that meets it as an ordinary entry of its policy (a masked `.env`) and must
    /// not have it removed under its mounts.
    pub(crate) fn hold(&mut self, dir: &OwnedFd, name: &OsStr) -> std::io::Result<Held> {
        self.take(dir, name, false)
    }

    /// Whether this run holds the placeholder `id`.
    pub(crate) fn holds(&self, id: FileId) -> bool {
        self.0.iter().any(|p| p.id == id)
    }

    fn take(&mut self, dir: &OwnedFd, name: &OsStr, create: bool) -> std::io::Result<Held> {
        let is_dir = !file_like(name);
        // Held already (a path met twice, through nested grants): one lock is enough.
        if let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            && let Some(p) = self.0.iter().find(|p| p.id == (st.st_dev, st.st_ino))
        {
            return Ok(Held::Placeholder(p.id));
        }
        // A placeholder removed by the run that held it between our finding and locking it:
        // again (it is made anew, or found gone).
        for _ in 0..5 {
            let made = if !create {
                Ok(())
            } else if is_dir {
                rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(DIR_MODE)).map(drop)
            } else {
                rustix::fs::openat(
                    dir,
                    name,
                    OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::from_raw_mode(FILE_MODE),
                )
                .map(drop)
            };
            match made {
                // Made since the policy was listed: by another run (then held like ours), or by
                // someone else (then it is theirs, and mounted over as it is).
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(
                    rustix::io::Errno::ACCESS | rustix::io::Errno::ROFS | rustix::io::Errno::PERM,
                ) => {
                    return Ok(Held::Missing);
                }
                Err(e) => return Err(e.into()),
            }
            let lock = match rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if create => continue,
                Err(rustix::io::Errno::NOENT) => return Ok(Held::Missing),
                // Not a placeholder (a link, say): mounted over, or not, as it is.
                Err(_) => return Ok(Held::Other),
            };
            let st = rustix::fs::fstat(&lock)?;
            if !is_placeholder(&st, is_dir) {
                return Ok(Held::Other);
            }
            // Blocks only while the last run holding it removes it (then it is gone, below).
            rustix::fs::flock(&lock, FlockOperation::LockShared)?;
            let still = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|now| (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino));
            if !still {
                continue;
            }
            let id = (st.st_dev, st.st_ino);
            self.0.push(Placeholder {
                dir: rustix::io::fcntl_dupfd_cloexec(dir, 3)?,
                name: name.to_os_string(),
                id,
                is_dir,
                lock,
            });
            return Ok(Held::Placeholder(id));
        }
        Err(std::io::Error::other(
            "it was removed and made again by other runs each time it was about to be held; \
             run again",
        ))
    }
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            // Another run still holds it: the last one removes it.
            if rustix::fs::flock(&p.lock, FlockOperation::NonBlockingLockExclusive).is_err() {
                continue;
            }
            // Only the empty placeholder goes: anything else there is the user's.
            let Ok(st) = rustix::fs::statat(&p.dir, &p.name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            if (st.st_dev, st.st_ino) != p.id || !is_placeholder(&st, p.is_dir) {
                continue;
            }
            let flags = if p.is_dir {
                AtFlags::REMOVEDIR
            } else {
                AtFlags::empty()
            };
            let _ = rustix::fs::unlinkat(&p.dir, &p.name, flags);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_are_shared_and_removed_by_the_last_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir =
            rustix::fs::open(tmp.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let (mut a, mut b) = (Placeholders::default(), Placeholders::default());
        let held = |h: Held| matches!(h, Held::Placeholder(_));
        assert!(held(a.make(&dir, OsStr::new(".git")).unwrap()));
        assert!(held(a.make(&dir, OsStr::new("skillet.toml")).unwrap()));
        assert!(held(b.make(&dir, OsStr::new(".git")).unwrap()));
        assert!(tmp.path().join(".git").is_dir());
        assert!(tmp.path().join("skillet.toml").is_file());
        drop(a);
        assert!(
            tmp.path().join(".git").is_dir(),
            "still used by the other run"
        );
        assert!(!tmp.path().join("skillet.toml").exists());
        drop(b);
        assert!(!tmp.path().join(".git").exists());
        // What someone else made is never removed (nor shared: it is mounted over as it is).
        std::fs::create_dir(tmp.path().join(".agents")).unwrap();
        let mut c = Placeholders::default();
        assert_eq!(c.make(&dir, OsStr::new(".agents")).unwrap(), Held::Other);
        // A read-only directory of the user's with something in it is no placeholder.
        let full = tmp.path().join(".claude");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("settings.json"), "{}").unwrap();
        std::fs::set_permissions(&full, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
        let fd = rustix::fs::open(&full, OFlags::PATH, Mode::empty()).unwrap();
        assert!(!looks_made(&fd, OsStr::new(".claude")));
        let empty = tmp.path().join(".q-skills");
        rustix::fs::mkdir(&empty, Mode::from_raw_mode(DIR_MODE)).unwrap();
        let fd = rustix::fs::open(&empty, OFlags::PATH, Mode::empty()).unwrap();
        assert!(looks_made(&fd, OsStr::new(".q-skills")));
        drop(c);
        assert!(tmp.path().join(".agents").is_dir());
    }
}
