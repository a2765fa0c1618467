//! Copying the workspace into the view, by handle.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Dir, Mode, OFlags};

use super::handle::{self, DIR, Kind, READ, Stamp};
use super::{IsolateError, Limits, Policy, io, io_std, policy};

struct Copier<'a> {
    real: &'a Path,
    limits: Limits,
    entries: usize,
    bytes: u64,
    copied: BTreeMap<PathBuf, (Stamp, Stamp)>,
    /// Files left out (`.env`, credentials, git's settings) that have other names, by
    /// device and inode.
    secret: BTreeSet<(u64, u64)>,
    /// Files copied that have other names: one of them may be a file left out.
    linked: Vec<PathBuf>,
}

/// Copies the tree at `real` into the empty directory `view`; returns each entry copied with
/// its stamp in the real tree and in the view.
pub(super) fn copy_tree(
    real: &Path,
    view: &Path,
    limits: Limits,
) -> Result<BTreeMap<PathBuf, (Stamp, Stamp)>, IsolateError> {
    let src = handle::open_root(real).map_err(io("cannot open the workspace", real))?;
    let dst = handle::open_root(view).map_err(io("cannot open the view", view))?;
    let mut copier = Copier {
        real,
        limits,
        entries: 0,
        bytes: 0,
        copied: BTreeMap::new(),
        secret: BTreeSet::new(),
        linked: Vec::new(),
    };
    copier.dir(&src, &dst, Path::new(""))?;
    // A file left out must not come in under another name (`notes.txt` hard-linked to
    // `.env`), as the sandbox masks such names in the real workspace.
    for rel in std::mem::take(&mut copier.linked) {
        let Some((real_stamp, _)) = copier.copied.get(&rel) else {
            continue;
        };
        if !copier.secret.contains(&(real_stamp.dev, real_stamp.ino)) {
            continue;
        }
        let (parent, name) = handle::split(&rel).ok_or_else(|| IsolateError::Io {
            action: "cannot leave out",
            path: real.join(&rel),
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        let dir = handle::open_dir_under(&dst, parent).map_err(io("cannot leave out", &rel))?;
        rustix::fs::unlinkat(&dir, name, rustix::fs::AtFlags::empty())
            .map_err(io("cannot leave out", &rel))?;
        copier.copied.remove(&rel);
    }
    Ok(copier.copied)
}

impl Copier<'_> {
    fn dir(&mut self, src: &OwnedFd, dst: &OwnedFd, rel: &Path) -> Result<(), IsolateError> {
        if rel.components().count() > super::MAX_DEPTH {
            return Err(IsolateError::TooLarge {
                root: self.real.to_path_buf(),
                what: format!("folders nested more than {} deep", super::MAX_DEPTH),
            });
        }
        let here = self.real.join(rel);
        let mut names = Vec::new();
        let listing = match Dir::read_from(src) {
            Ok(listing) => listing,
            // A folder nobody may list is copied empty: a run could not list it either.
            Err(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => return Ok(()),
            Err(e) => return Err(io("cannot list", &here)(e)),
        };
        for entry in listing {
            let entry = entry.map_err(io("cannot list", &here))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(
                    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name)
                        .to_os_string(),
                );
            }
        }
        for name in names {
            let child = rel.join(&name);
            if policy(&child) == Policy::Left {
                super::handle::note_secret(&mut self.secret, src, &name);
                continue;
            }
            let path = self.real.join(&child);
            let Some(stat) =
                handle::stat_at(src, Path::new(&name)).map_err(io("cannot read", &path))?
            else {
                continue;
            };
            let (Some(kind), Some(stamp)) = (Kind::of(&stat), Stamp::of(&stat)) else {
                // Sockets, FIFOs and devices are doors to something else: not copied.
                continue;
            };
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(IsolateError::TooLarge {
                    root: self.real.to_path_buf(),
                    what: format!("more than {} files and folders", self.limits.max_entries),
                });
            }
            let mode = Mode::from_raw_mode(stamp.mode & 0o777);
            match kind {
                Kind::Dir => {
                    let inner_src = match rustix::fs::openat(src, &name, DIR, Mode::empty()) {
                        Ok(fd) => fd,
                        // Replaced by something else since it was listed, or unreadable (a
                        // run could not read it either): left out.
                        Err(
                            rustix::io::Errno::LOOP
                            | rustix::io::Errno::NOTDIR
                            | rustix::io::Errno::ACCESS
                            | rustix::io::Errno::PERM,
                        ) => continue,
                        Err(e) => return Err(io("cannot open", &path)(e)),
                    };
                    rustix::fs::mkdirat(dst, &name, mode | Mode::RWXU)
                        .map_err(io("cannot copy", &path))?;
                    let inner_dst = rustix::fs::openat(dst, &name, DIR, Mode::empty())
                        .map_err(io("cannot open the copy of", &path))?;
                    self.dir(&inner_src, &inner_dst, &child)?;
                }
                Kind::File => {
                    let file = match rustix::fs::openat(src, &name, READ, Mode::empty()) {
                        Ok(fd) => fd,
                        Err(
                            rustix::io::Errno::LOOP
                            | rustix::io::Errno::ACCESS
                            | rustix::io::Errno::PERM,
                        ) => continue,
                        Err(e) => return Err(io("cannot read", &path)(e)),
                    };
                    let opened = rustix::fs::fstat(&file).map_err(io("cannot read", &path))?;
                    // Swapped between listing and opening: what was listed is what is copied.
                    if Kind::of(&opened) != Some(Kind::File) || opened.st_ino != stat.st_ino {
                        continue;
                    }
                    self.file(file, dst, &name, mode, &path)?;
                    if opened.st_nlink > 1 {
                        self.linked.push(child.clone());
                    }
                }
                Kind::Symlink => {
                    let target = rustix::fs::readlinkat(src, &name, Vec::new())
                        .map_err(io("cannot read the link", &path))?;
                    rustix::fs::symlinkat(target.as_c_str(), dst, &name)
                        .map_err(io("cannot copy the link", &path))?;
                }
            }
            let copy = handle::stat_at(dst, Path::new(&name))
                .map_err(io("cannot read the copy of", &path))?
                .and_then(|s| Stamp::of(&s));
            if let Some(copy) = copy {
                self.copied.insert(child, (stamp, copy));
            }
        }
        Ok(())
    }

    fn file(
        &mut self,
        src: OwnedFd,
        dst: &OwnedFd,
        name: &std::ffi::OsStr,
        mode: Mode,
        path: &Path,
    ) -> Result<(), IsolateError> {
        let out = rustix::fs::openat(
            dst,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            mode | Mode::RUSR | Mode::WUSR,
        )
        .map_err(io("cannot copy", path))?;
        let reader = std::fs::File::from(src);
        let mut writer = std::fs::File::from(out);
        // Bounded before copying: what is left of the budget, and one byte more to tell a
        // file that grew past it. `io::copy` between files lets the kernel copy the bytes.
        let left = self.limits.max_bytes.saturating_sub(self.bytes);
        let n = std::io::copy(
            &mut std::io::Read::take(&reader, left.saturating_add(1)),
            &mut writer,
        )
        .map_err(io_std("cannot copy", path))?;
        self.bytes += n;
        if self.bytes > self.limits.max_bytes {
            return Err(IsolateError::TooLarge {
                root: self.real.to_path_buf(),
                what: format!("more than {} MiB", self.limits.max_bytes / (1024 * 1024)),
            });
        }
        // The copy keeps the file's times: what a skill does may depend on them (`make`,
        // context files chosen by how recently they changed), and a copy made within one
        // millisecond would otherwise order its files by chance.
        if let Ok(meta) = reader.metadata() {
            let mut times = std::fs::FileTimes::new();
            if let Ok(t) = meta.modified() {
                times = times.set_modified(t);
            }
            if let Ok(t) = meta.accessed() {
                times = times.set_accessed(t);
            }
            let _ = writer.set_times(times);
        }
        Ok(())
    }
}

/// Gives the owner full access to every folder under `root` (by handle, never through a link),
/// so the copy can be removed whatever modes a run left on its folders.
pub(super) fn make_removable(root: &Path) {
    fn walk(dir: &OwnedFd, depth: usize) {
        let _ = rustix::fs::fchmod(dir, Mode::RWXU);
        // Deeper than any real tree: a run cannot make the cleanup recurse without end.
        if depth > 4096 {
            return;
        }
        let Ok(entries) = Dir::read_from(dir) else {
            return;
        };
        let names: Vec<std::ffi::OsString> = entries
            .flatten()
            .filter(|e| e.file_type() == rustix::fs::FileType::Directory)
            .map(|e| {
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(
                    e.file_name().to_bytes(),
                )
                .to_os_string()
            })
            .filter(|n| n != "." && n != "..")
            .collect();
        for name in names {
            let inner = match rustix::fs::openat(dir, &name, DIR, Mode::empty()) {
                Err(rustix::io::Errno::ACCESS) => {
                    // Its mode forbids opening it: made accessible through a handle on the
                    // folder itself (never a link at the name), then opened.
                    let flags =
                        OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC;
                    if let Ok(path) = rustix::fs::openat(dir, &name, flags, Mode::empty()) {
                        use std::os::fd::AsRawFd as _;
                        let proc = format!("/proc/self/fd/{}", path.as_raw_fd());
                        let _ = rustix::fs::chmod(proc.as_str(), Mode::RWXU);
                    }
                    rustix::fs::openat(dir, &name, DIR, Mode::empty())
                }
                other => other,
            };
            if let Ok(inner) = inner {
                walk(&inner, depth + 1);
            }
        }
    }
    if let Ok(fd) = handle::open_root(root) {
        walk(&fd, 0);
    }
}
