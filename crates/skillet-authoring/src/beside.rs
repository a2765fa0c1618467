//! Files `skillet test` keeps in a folder beside a skill (`__snapshots__`, `__cassettes__`).
//!
//! The folder sits in the workspace, which may come from someone else's repository, so it is
//! opened by handle and never through a link: a folder or file that is a symbolic link is
//! refused, and a file is replaced by renaming a fresh one over it, so neither a link nor a
//! second name (hard link) of another file can make a write land anywhere but the file itself.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Why a file beside a skill could not be read or written. The callers add what to do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BesideError {
    /// The folder or the file is a symbolic link (or not what it should be).
    #[error("{} is not a plain file or folder (a symbolic link?)", .0.display())]
    NotPlain(PathBuf),
    /// The file is larger than its kind may be.
    #[error("{} is {size} bytes, more than the {max} allowed", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The most it may hold.
        max: u64,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> BesideError + 'a {
    move |e| {
        if e == Errno::LOOP || e == Errno::NOTDIR {
            BesideError::NotPlain(path.to_path_buf())
        } else {
            BesideError::Io {
                action,
                path: path.to_path_buf(),
                source: e.into(),
            }
        }
    }
}

/// The folder `folder` of `skill_dir`, opened without following a link; `None` when it does
/// not exist and `create` is false.
fn open_dir(skill_dir: &Path, folder: &str, create: bool) -> Result<Option<OwnedFd>, BesideError> {
    let dir_flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    let at = skill_dir.join(folder);
    let skill =
        rustix::fs::open(skill_dir, dir_flags, Mode::empty()).map_err(io("read", skill_dir))?;
    match rustix::fs::openat(&skill, folder, dir_flags | OFlags::NOFOLLOW, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) if !create => Ok(None),
        Err(Errno::NOENT) => {
            match rustix::fs::mkdirat(&skill, folder, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io("write", &at)(e)),
            }
            rustix::fs::openat(&skill, folder, dir_flags | OFlags::NOFOLLOW, Mode::empty())
                .map(Some)
                .map_err(io("write", &at))
        }
        Err(e) => Err(io("read", &at)(e)),
    }
}

/// The bytes of `folder/name` beside the skill in `skill_dir`; `None` when there is no such
/// file. A file past `max` bytes is refused before it is read.
pub(crate) fn read(
    skill_dir: &Path,
    folder: &str,
    name: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, BesideError> {
    let path = skill_dir.join(folder).join(name);
    let Some(dir) = open_dir(skill_dir, folder, false)? else {
        return Ok(None);
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match rustix::fs::openat(&dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let stat = rustix::fs::fstat(&fd).map_err(io("read", &path))?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(BesideError::NotPlain(path));
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    if size > max {
        return Err(BesideError::TooLarge { path, size, max });
    }
    let mut bytes = Vec::new();
    // The file may grow after the check: read one byte past the bound to notice.
    std::fs::File::from(fd)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| BesideError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > max {
        return Err(BesideError::TooLarge {
            path,
            size: read,
            max,
        });
    }
    Ok(Some(bytes))
}

/// Stores `bytes` as `folder/name` beside the skill in `skill_dir`, replacing the old file
/// whole (a reader sees the old file or the new one, never a part).
pub(crate) fn write(
    skill_dir: &Path,
    folder: &str,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, BesideError> {
    let path = skill_dir.join(folder).join(name);
    let Some(dir) = open_dir(skill_dir, folder, true)? else {
        return Err(BesideError::NotPlain(path));
    };
    let temp = format!(".{name}.{}.tmp", std::process::id());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let _ = rustix::fs::unlinkat(&dir, &temp, rustix::fs::AtFlags::empty());
    let fd = rustix::fs::openat(&dir, &temp, flags, Mode::from_raw_mode(0o644))
        .map_err(io("write", &path))?;
    let mut file = std::fs::File::from(fd);
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = rustix::fs::unlinkat(&dir, &temp, rustix::fs::AtFlags::empty());
        return Err(BesideError::Io {
            action: "write",
            path,
            source,
        });
    }
    rustix::fs::renameat(&dir, &temp, &dir, name).map_err(|e| {
        let _ = rustix::fs::unlinkat(&dir, &temp, rustix::fs::AtFlags::empty());
        io("write", &path)(e)
    })?;
    Ok(path)
}
