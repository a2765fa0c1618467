//! The scope's own directories, opened and changed by handle: a workspace is untrusted (it may
//! come from a clone), so a link or a file planted where skillet keeps `.skillet`, `packages`,
//! `.staging`, the lock or the journal must never send a removal, a rename or a write
//! elsewhere. Every operation here is relative to a directory opened without following links,
//! and every name it takes is one component.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::error::InstallError;

/// How deep a tree under staging or a package folder may be before removal gives up: removal
/// holds one descriptor per level.
const MAX_DEPTH: usize = 128;

/// Which file a directory is (device and inode), so a journal can say which packages
/// directory it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DirId {
    /// The device.
    pub dev: u64,
    /// The inode.
    pub ino: u64,
}

impl DirId {
    pub(crate) fn of(fd: BorrowedFd<'_>) -> io::Result<DirId> {
        let st = rustix::fs::fstat(fd)?;
        Ok(DirId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }
}

/// Opens (creating it when `create`) the directory `name` inside `parent`, refusing a link or
/// anything that is not a directory. `shown` is its path, for messages.
pub(crate) fn open_dir(
    parent: BorrowedFd<'_>,
    name: &str,
    create: bool,
    shown: &Path,
) -> Result<OwnedFd, InstallError> {
    one_component(name, shown)?;
    if create {
        match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(InstallError::io("cannot create", shown)(e.into())),
        }
    }
    match rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(fd),
        Err(rustix::io::Errno::LOOP) | Err(rustix::io::Errno::NOTDIR) => {
            Err(unsafe_entry(parent, name, shown))
        }
        Err(e) => Err(InstallError::io("cannot open", shown)(e.into())),
    }
}

/// The refusal for `name` in `parent` when it is a link or not a directory.
fn unsafe_entry(parent: BorrowedFd<'_>, name: &str, shown: &Path) -> InstallError {
    let what = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => "a symbolic link",
        _ => "not a directory",
    };
    InstallError::UnsafeScope {
        path: shown.to_path_buf(),
        what,
    }
}

/// Opens the regular file `name` in `dir` for reading, refusing a link, a FIFO or a device.
/// `None` when there is none.
pub(crate) fn open_file(
    dir: BorrowedFd<'_>,
    name: &str,
    shown: &Path,
) -> Result<Option<(File, rustix::fs::Stat)>, InstallError> {
    one_component(name, shown)?;
    let fd = match rustix::fs::openat(
        dir,
        name,
        // Non-blocking: a FIFO planted in its place must not hang the command.
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(InstallError::UnsafeScope {
                path: shown.to_path_buf(),
                what: "a symbolic link",
            });
        }
        Err(e) => return Err(InstallError::io("cannot open", shown)(e.into())),
    };
    let st =
        rustix::fs::fstat(&fd).map_err(|e| InstallError::io("cannot read", shown)(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(InstallError::UnsafeScope {
            path: shown.to_path_buf(),
            what: "not a regular file",
        });
    }
    Ok(Some((File::from(fd), st)))
}

/// Opens (creating) the lock file `name` in `dir` for writing, never through a link.
pub(crate) fn open_lock_file(
    dir: BorrowedFd<'_>,
    name: &str,
    shown: &Path,
) -> Result<File, InstallError> {
    one_component(name, shown)?;
    let fd = match rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) => {
            return Err(InstallError::UnsafeScope {
                path: shown.to_path_buf(),
                what: "a symbolic link",
            });
        }
        Err(e) => return Err(InstallError::io("cannot open", shown)(e.into())),
    };
    let st =
        rustix::fs::fstat(&fd).map_err(|e| InstallError::io("cannot open", shown)(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(InstallError::UnsafeScope {
            path: shown.to_path_buf(),
            what: "not a regular file",
        });
    }
    Ok(File::from(fd))
}

/// Whether `name` exists in `dir` (a link counts, and is not followed).
pub(crate) fn exists_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<bool> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(true),
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` from `dir`: a file, a link (never what it points to) or a whole tree, each
/// level opened by handle without following links. Nothing there is fine.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    remove_at_depth(dir, name, 0)
}

fn remove_at_depth(dir: BorrowedFd<'_>, name: &OsStr, depth: usize) -> io::Result<()> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        };
    }
    if depth >= MAX_DEPTH {
        return Err(io::Error::other(format!(
            "more than {MAX_DEPTH} nested folders; remove it by hand"
        )));
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    let listing = rustix::fs::openat(
        &sub,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for entry in rustix::fs::Dir::new(listing)? {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_owned());
        }
    }
    for n in names {
        remove_at_depth(sub.as_fd(), &n, depth + 1)?;
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes every entry of `dir` (each as [`remove_at`] does); best effort, as what cannot be
/// removed now is tried again next time.
pub(crate) fn clear_dir(dir: BorrowedFd<'_>) {
    let Ok(listing) = rustix::fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Ok(entries) = rustix::fs::Dir::new(listing) else {
        return;
    };
    let names: Vec<_> = entries
        .flatten()
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    for n in names {
        let _ = remove_at(dir, &n);
    }
}

/// Writes `bytes` to `name` in `dir` through a new temporary file beside it (never opened
/// through a link), synced, then renamed over it.
pub(crate) fn write_atomic_at(
    dir: BorrowedFd<'_>,
    name: &str,
    bytes: &[u8],
    shown: &Path,
) -> Result<(), InstallError> {
    one_component(name, shown)?;
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    let result = (|| -> io::Result<()> {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
        let fd = rustix::fs::openat(
            dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        file.sync_all()?;
        rustix::fs::renameat(dir, tmp.as_str(), dir, name)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
        return Err(InstallError::io("cannot write", shown)(e));
    }
    let _ = rustix::fs::fsync(dir);
    Ok(())
}

/// Refuses a name that is not exactly one path component.
fn one_component(name: &str, shown: &Path) -> Result<(), InstallError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(InstallError::Part(format!(
            "{}: `{name}` is not a plain file name; this is a bug in skillet, please report it",
            shown.display()
        )));
    }
    Ok(())
}
