//! Directories and files opened by handle, never through a symbolic link.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::SetupError;

/// The largest file skillet reads back to edit (a settings.json, a hook).
pub(super) const MAX_EDITED_BYTES: u64 = 1 << 20;

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> SetupError + 'a {
    move |e| match e {
        Errno::LOOP | Errno::NOTDIR => SetupError::NotPlain {
            path: path.to_path_buf(),
            kind: "directory",
        },
        e => SetupError::Io {
            action,
            path: path.to_path_buf(),
            source: e.into(),
        },
    }
}

/// A directory open by handle, with the path it stands for (for messages).
pub(super) struct Dir {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

impl Dir {
    /// Opens `root` itself (the caller has resolved it; links above it are the user's own).
    pub fn open_root(root: &Path) -> Result<Dir, SetupError> {
        let flags = DIR_FLAGS.difference(OFlags::NOFOLLOW);
        let fd = rustix::fs::open(root, flags, Mode::empty()).map_err(io("read", root))?;
        Ok(Dir {
            fd,
            path: root.to_path_buf(),
        })
    }

    /// The child directory `name`, never through a link; created (mode 0755) when missing and
    /// `create` is set. The flag says whether it was created.
    pub fn child(&self, name: &str, create: bool) -> Result<Option<(Dir, bool)>, SetupError> {
        let path = self.path.join(name);
        let mut created = false;
        match rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => return Ok(Some((Dir { fd, path }, false))),
            Err(Errno::NOENT) if !create => return Ok(None),
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) => created = true,
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(io("write", &path)(e)),
                }
            }
            Err(e) => return Err(io("read", &path)(e)),
        }
        let fd = rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty())
            .map_err(io("read", &path))?;
        Ok(Some((Dir { fd, path }, created)))
    }

    /// The bytes of the plain file `name`; `None` when there is none. A link, a FIFO or a
    /// directory there is refused; so is a file past [`MAX_EDITED_BYTES`].
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, SetupError> {
        let path = self.path.join(name);
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(not_plain_file(path)),
            Err(e) => return Err(io("read", &path)(e)),
        };
        let stat = rustix::fs::fstat(&fd).map_err(io("read", &path))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(not_plain_file(path));
        }
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .take(MAX_EDITED_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| SetupError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_EDITED_BYTES {
            return Err(SetupError::TooLarge {
                path,
                limit: MAX_EDITED_BYTES,
            });
        }
        Ok(Some(bytes))
    }

    /// Whether anything (a link included) is at `name`.
    #[allow(dead_code)]
    pub fn has(&self, name: &str) -> Result<bool, SetupError> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(io("read", &self.path.join(name))(e)),
        }
    }

    /// Replaces `name` whole with `bytes` (a temporary file renamed over it: a link there is
    /// replaced, never followed, and a reader never sees half a file).
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), SetupError> {
        let path = self.path.join(name);
        let temp = format!(".{name}.skillet-{}.tmp", std::process::id());
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
        let fd = rustix::fs::openat(&self.fd, &temp, flags, Mode::from_raw_mode(mode))
            .map_err(io("write", &path))?;
        // The umask may have taken the executable bits a hook needs.
        let written = rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(std::io::Error::from)
            .and_then(|()| std::fs::File::from(fd).write_all(bytes));
        if let Err(source) = written {
            let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
            return Err(SetupError::Io {
                action: "write",
                path,
                source,
            });
        }
        rustix::fs::renameat(&self.fd, &temp, &self.fd, name).map_err(|e| {
            let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
            io("write", &path)(e)
        })
    }

    /// Renames `from` to `to` inside this directory (replacing `to`).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), SetupError> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to).map_err(io("write", &self.path.join(to)))
    }
}

fn not_plain_file(path: PathBuf) -> SetupError {
    SetupError::NotPlain { path, kind: "file" }
}
