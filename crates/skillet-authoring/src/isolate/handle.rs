//! Opening files and folders of a tree by handle, one name at a time, never through a link:
//! whatever a link in the tree says, reads and writes stay inside it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

/// Flags that open a directory without following a link at its name.
pub(super) const DIR: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Flags that open a file for reading without following a link, and without blocking on a
/// FIFO swapped in at the name.
pub(super) const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

/// What kind of entry a name is. Only these are copied; sockets, FIFOs and devices are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, copied as a link (never followed).
    Symlink,
}

impl Kind {
    pub(super) fn of(stat: &Stat) -> Option<Kind> {
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => Some(Kind::File),
            FileType::Directory => Some(Kind::Dir),
            FileType::Symlink => Some(Kind::Symlink),
            _ => None,
        }
    }

    /// The word for it in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "link",
        }
    }
}

/// What identifies one version of an entry: a change of content, of metadata or a new file at
/// the name changes it. `ctime` cannot be set back by a program, so an edit whose author reset
/// the modification time still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub kind: Kind,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mode: u32,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stamp {
    pub(super) fn of(stat: &Stat) -> Option<Stamp> {
        Some(Stamp {
            kind: Kind::of(stat)?,
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mode: stat.st_mode & 0o7777,
            #[allow(clippy::unnecessary_cast)]
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
            #[allow(clippy::unnecessary_cast)]
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
        })
    }
}

/// The entry `name` in `dir`, not following a link; `None` when there is none.
pub(super) fn stat_at(dir: impl AsFd, name: &Path) -> Result<Option<Stat>, Errno> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(s) => Ok(Some(s)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens the directory `rel` under `root` one component at a time, none of them a link.
/// `rel` must be relative, without `..` (the trees' own walks make it so).
pub(super) fn open_dir_under(root: &OwnedFd, rel: &Path) -> Result<OwnedFd, Errno> {
    let mut dir = rustix::io::fcntl_dupfd_cloexec(root, 0)?;
    for c in rel.components() {
        let Component::Normal(name) = c else {
            // Never produced by the walks; refused rather than interpreted.
            return Err(Errno::INVAL);
        };
        dir = rustix::fs::openat(&dir, name, DIR, Mode::empty())?;
    }
    Ok(dir)
}

/// Opens the directory at `path` itself (already resolved by the caller), as a handle.
pub(super) fn open_root(path: &Path) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, DIR, Mode::empty())
}

/// Splits `rel` into its parent (possibly empty) and its last name.
pub(super) fn split(rel: &Path) -> Option<(&Path, &std::ffi::OsStr)> {
    Some((rel.parent().unwrap_or(Path::new("")), rel.file_name()?))
}

/// Records in `secret` the inode of `name` in `dir`, a file left out of a view, when it has
/// other names (a hard link elsewhere in the tree must not show it); for a `.git` folder, of
/// git's settings files in it (they may hold a token).
pub(super) fn note_secret(
    secret: &mut std::collections::BTreeSet<(u64, u64)>,
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
) {
    let mut note = |at: &OwnedFd, name: &std::ffi::OsStr| {
        if let Ok(Some(stat)) = stat_at(at, Path::new(name))
            && Kind::of(&stat) == Some(Kind::File)
            && stat.st_nlink > 1
        {
            secret.insert((stat.st_dev, stat.st_ino));
        }
    };
    if name == ".git" {
        if let Ok(git) = rustix::fs::openat(dir, name, DIR, Mode::empty()) {
            for settings in ["config", "config.worktree"] {
                note(&git, std::ffi::OsStr::new(settings));
            }
        }
        return;
    }
    note(dir, name);
}
