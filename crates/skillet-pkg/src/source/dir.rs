//! Copying a package's tree into staging, under one policy for every source.
//!
//! A folder source is copied by this; a git checkout and an unpacked archive are copied by it
//! too, so every installed package holds only regular files and folders whatever it came from:
//!
//! - folders and regular files are copied (bytes and the executable bit; never hard-linked, so
//!   editing the source later cannot change what was installed);
//! - `.git` (a folder or a file) is skipped at every level, and skillet's install receipt
//!   (`.skillet-receipt.json*`) at the top;
//! - a symbolic link that names a regular file inside the package, through no other link, is
//!   copied as that file; any other link (absolute, leaving the package, to a folder, to
//!   another link, dangling) is refused with its name;
//! - a regular file with more than one name (a hard link) is refused: it may be a file outside
//!   the package;
//! - devices, FIFOs and sockets are refused;
//! - the tree is capped in bytes and entries.
//!
//! Every entry is opened relative to its parent's handle without following links
//! (`O_NOFOLLOW`), so a file swapped for a link while copying is refused, never followed.

use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use skillet_registry::packages::RECEIPT_FILE;

use super::SourceError;
use super::progress::{Phase, Progress};

/// How large a package may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeLimits {
    pub(crate) max_bytes: u64,
    pub(crate) max_entries: u64,
}

/// Copies the tree at `src` (a folder) to `dest`, which must not exist yet.
pub(crate) fn copy_tree(
    src: &Path,
    dest: &Path,
    source_name: &str,
    limits: TreeLimits,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    let root = open_dir_path(src)?;
    std::fs::create_dir(dest).map_err(|e| SourceError::io("cannot create", dest, e))?;
    let dest_fd = open_dir_path(dest)?;
    let phase = Phase::start(progress, &format!("copying {source_name}"), None);
    let mut copier = Copier {
        root: root.as_fd(),
        source_name,
        limits,
        bytes: 0,
        entries: 0,
        src_path: src,
        dest_path: dest,
        phase,
    };
    copier.copy_dir(root.as_fd(), dest_fd.as_fd(), &mut Vec::new())
}

fn open_dir_path(path: &Path) -> Result<OwnedFd, SourceError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::NOTDIR => SourceError::NotADir { path: path.into() },
        e => SourceError::io("cannot open", path, e.into()),
    })
}

struct Copier<'a> {
    root: BorrowedFd<'a>,
    source_name: &'a str,
    limits: TreeLimits,
    bytes: u64,
    entries: u64,
    src_path: &'a Path,
    dest_path: &'a Path,
    phase: Phase<'a>,
}

impl Copier<'_> {
    fn copy_dir(
        &mut self,
        src: BorrowedFd<'_>,
        dest: BorrowedFd<'_>,
        rel: &mut Vec<Vec<u8>>,
    ) -> Result<(), SourceError> {
        let listing = rustix::fs::openat(
            src,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.read_err(rel, None, e))?;
        let dir = rustix::fs::Dir::new(listing).map_err(|e| self.read_err(rel, None, e))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| self.read_err(rel, None, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." || name == b".git" {
                continue;
            }
            // The receipt marks a finished install: one shipped inside a package would vouch
            // for an install that never finished, so only skillet writes it.
            if rel.is_empty() && name.starts_with(RECEIPT_FILE.as_bytes()) {
                continue;
            }
            names.push(entry.file_name().to_owned());
        }
        // Sorted, so a tree past a limit fails at the same entry every time.
        names.sort();
        for name in names {
            self.count_entry()?;
            let st = rustix::fs::statat(src, &name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.read_err(rel, Some(&name), e))?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => {
                    let child = rustix::fs::openat(
                        src,
                        &name,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| self.read_err(rel, Some(&name), e))?;
                    rustix::fs::mkdirat(dest, &name, Mode::from_raw_mode(0o755))
                        .map_err(|e| self.write_err(rel, &name, e))?;
                    let dest_child = rustix::fs::openat(
                        dest,
                        &name,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| self.write_err(rel, &name, e))?;
                    rel.push(name.to_bytes().to_vec());
                    self.copy_dir(child.as_fd(), dest_child.as_fd(), rel)?;
                    rel.pop();
                }
                FileType::RegularFile => {
                    let file = self.open_regular(src, &name, rel)?;
                    self.copy_file(file, dest, &name, rel)?;
                }
                FileType::Symlink => {
                    let file = self.resolve_link(src, &name, rel)?;
                    self.copy_file(file, dest, &name, rel)?;
                }
                other => {
                    return Err(SourceError::SpecialFile {
                        path: display(rel, Some(&name)),
                        kind: kind_name(other),
                        source_name: self.source_name.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Opens a regular file without following a link or blocking on a FIFO, and checks what
    /// was opened (the entry may have changed since it was listed).
    fn open_regular(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[Vec<u8>],
    ) -> Result<OwnedFd, SourceError> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP => SourceError::Link {
                path: display(rel, Some(name)),
                target: String::new(),
                reason: "which appeared while copying",
                source_name: self.source_name.to_owned(),
            },
            e => self.read_err(rel, Some(name), e),
        })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.read_err(rel, Some(name), e))?;
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::RegularFile {
            return Err(SourceError::SpecialFile {
                path: display(rel, Some(name)),
                kind: kind_name(kind),
                source_name: self.source_name.to_owned(),
            });
        }
        if st.st_nlink > 1 {
            return Err(SourceError::HardLink {
                path: display(rel, Some(name)),
                links: st.st_nlink as u64,
                source_name: self.source_name.to_owned(),
            });
        }
        Ok(fd)
    }

    /// Opens the regular file a symbolic link names, when it is inside the package and reached
    /// through no other link.
    fn resolve_link(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[Vec<u8>],
    ) -> Result<OwnedFd, SourceError> {
        let target = rustix::fs::readlinkat(dir, name, Vec::new())
            .map_err(|e| self.read_err(rel, Some(name), e))?;
        let target_bytes = target.to_bytes();
        let refuse = |reason: &'static str| SourceError::Link {
            path: display(rel, Some(name)),
            target: String::from_utf8_lossy(target_bytes).into_owned(),
            reason,
            source_name: self.source_name.to_owned(),
        };
        let parts = resolve_inside(rel, target_bytes).map_err(refuse)?;
        let Some((file_name, dirs)) = parts.split_last() else {
            return Err(refuse("which names the package folder itself"));
        };
        let mut at = rustix::fs::openat(
            self.root,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.read_err(rel, Some(name), e))?;
        for part in dirs {
            let part = std::ffi::CString::new(part.clone()).map_err(|_| refuse("not a path"))?;
            at = rustix::fs::openat(
                &at,
                &part,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| match e {
                rustix::io::Errno::NOENT => refuse("where nothing is"),
                rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                    refuse("through another symbolic link or a file")
                }
                e => self.read_err(rel, Some(name), e),
            })?;
        }
        let file_name =
            std::ffi::CString::new(file_name.clone()).map_err(|_| refuse("not a path"))?;
        let st = match rustix::fs::statat(&at, &file_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Err(refuse("where nothing is")),
            Err(e) => return Err(self.read_err(rel, Some(name), e)),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => return Err(refuse("which names a folder")),
            FileType::Symlink => return Err(refuse("which names another symbolic link")),
            _ => return Err(refuse("which names a special file")),
        }
        self.open_regular(at.as_fd(), &file_name, rel)
    }

    fn copy_file(
        &mut self,
        file: OwnedFd,
        dest: BorrowedFd<'_>,
        name: &CStr,
        rel: &[Vec<u8>],
    ) -> Result<(), SourceError> {
        let st = rustix::fs::fstat(&file).map_err(|e| self.read_err(rel, Some(name), e))?;
        let mode = if st.st_mode & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        let out = rustix::fs::openat(
            dest,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
        .map_err(|e| self.write_err(rel, name, e))?;
        let mut out = File::from(out);
        // One byte past what is left, so a file that grows while it is copied still trips the cap.
        let left = self.limits.max_bytes.saturating_sub(self.bytes);
        let mut input = File::from(file).take(left.saturating_add(1));
        let copied = io::copy(&mut input, &mut out).map_err(|e| {
            SourceError::io(
                "cannot copy",
                self.src_path.join(display(rel, Some(name))),
                e,
            )
        })?;
        self.bytes += copied;
        if self.bytes > self.limits.max_bytes {
            return Err(self.too_large_bytes());
        }
        out.flush().map_err(|e| {
            SourceError::io(
                "cannot write",
                self.dest_path.join(display(rel, Some(name))),
                e,
            )
        })?;
        self.phase.advance(1);
        Ok(())
    }

    fn count_entry(&mut self) -> Result<(), SourceError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(SourceError::TooLarge {
                limit: format!("{} files and folders", self.limits.max_entries),
                source_name: self.source_name.to_owned(),
            });
        }
        Ok(())
    }

    fn too_large_bytes(&self) -> SourceError {
        SourceError::TooLarge {
            limit: format_bytes(self.limits.max_bytes),
            source_name: self.source_name.to_owned(),
        }
    }

    fn read_err(&self, rel: &[Vec<u8>], name: Option<&CStr>, e: rustix::io::Errno) -> SourceError {
        SourceError::io(
            "cannot read",
            self.src_path.join(display(rel, name)),
            e.into(),
        )
    }

    fn write_err(&self, rel: &[Vec<u8>], name: &CStr, e: rustix::io::Errno) -> SourceError {
        SourceError::io(
            "cannot write",
            self.dest_path.join(display(rel, Some(name))),
            e.into(),
        )
    }
}

/// Resolves a link's target against the link's folder (`rel`, from the package root) by its
/// components only, refusing a target that is absolute or climbs above the root.
pub(crate) fn resolve_inside(rel: &[Vec<u8>], target: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if target.is_empty() {
        return Err("which is empty");
    }
    if target.starts_with(b"/") {
        return Err("an absolute path");
    }
    let mut parts: Vec<Vec<u8>> = rel.to_vec();
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err("which leaves the package");
                }
            }
            b".git" => return Err("which names .git"),
            part => parts.push(part.to_vec()),
        }
    }
    Ok(parts)
}

fn display(rel: &[Vec<u8>], name: Option<&CStr>) -> String {
    let mut parts: Vec<&[u8]> = rel.iter().map(Vec::as_slice).collect();
    if let Some(name) = name {
        parts.push(name.to_bytes());
    }
    let joined = parts.join(&b'/');
    Path::new(OsStr::from_bytes(&joined)).display().to_string()
}

fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        FileType::Symlink => "symbolic link",
        FileType::Directory => "folder",
        _ => "special file",
    }
}

/// A byte count in the unit a person reads ("512 MiB").
pub(crate) fn format_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}
