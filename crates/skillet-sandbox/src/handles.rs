//! The paths of a policy, opened by handle in the parent before any rule or mount is derived
//! from them.
//!
//! The caller hands resolved paths (no symbolic link, no `..`). Each is opened from `/` with
//! `openat2(O_PATH, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`: a link met now was planted
//! after the caller resolved the path (or the path was never resolved), and the run is
//! refused. Landlock rules are built from these handles, and the child binds a path only after
//! reopening it the same way and checking it is the same file (device and inode), so a tree
//! swapped in between is never granted or mounted.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

use crate::SpawnError;
use crate::placeholders::Placeholders;
use crate::policy::FsPolicy;

mod ready;

/// How policy paths are resolved, in the parent and again in the child.
pub(crate) const STRICT: ResolveFlags =
    ResolveFlags::NO_SYMLINKS.union(ResolveFlags::NO_MAGICLINKS);

/// Which file a handle is: `(st_dev, st_ino)`.
pub(crate) type FileId = (u64, u64);

/// One path of the policy, opened.
#[derive(Debug)]
pub(crate) struct Handle {
    pub path: PathBuf,
    pub fd: OwnedFd,
    pub id: FileId,
    pub is_dir: bool,
    is_link: bool,
}

impl Handle {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Another handle on the same file.
    fn try_clone(&self) -> Result<Handle, SpawnError> {
        let fd = rustix::io::fcntl_dupfd_cloexec(&self.fd, 3)
            .map_err(|e| SpawnError::Setup(format!("{}: {e}", self.path.display())))?;
        Ok(Handle {
            path: self.path.clone(),
            fd,
            id: self.id,
            is_dir: self.is_dir,
            is_link: self.is_link,
        })
    }
}

/// A path kept from the program inside a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Readable, never written, created, removed or renamed (`read_only`).
    ReadOnly,
    /// Not readable either (`hidden`).
    Hidden,
    /// A directory whose own entries are fixed (`sealed`).
    Sealed,
}

/// A protected or masked path: its handle when it exists.
#[derive(Debug)]
pub(crate) struct Guarded {
    pub path: PathBuf,
    pub guard: Guard,
    pub handle: Option<Handle>,
}

/// Every path of an [`FsPolicy`], opened. Paths that do not exist grant nothing and are left
/// out, except guarded ones, which stay protected before they exist.
#[derive(Debug)]
pub(crate) struct OpenedFs {
    pub read: Vec<Handle>,
    pub write: Vec<Handle>,
    /// The scratch directory, when it is a host directory (no private root).
    pub scratch: Option<Handle>,
    pub guarded: Vec<Guarded>,
    /// With namespaces, the directories between a write grant and a protected path in it:
    /// bound over themselves, so that they are mountpoints nobody can rename or remove (which
    /// would take the protected path along and let the name be made again).
    pub pins: Vec<Handle>,
    /// With namespaces, what was made to mount over protected names that did not exist.
    pub placeholders: Placeholders,
}

impl OpenedFs {
    /// Opens every path of `fs`, and `scratch` (the run's own directory, made by this crate)
    /// when the program will see it on the host. With `mounts` (a private root), protected
    /// paths inside write grants are readied to be mounted over (see placeholders.rs).
    pub(crate) fn open(
        fs: &FsPolicy,
        scratch: Option<&Path>,
        mounts: bool,
    ) -> Result<OpenedFs, SpawnError> {
        let open_all = |paths: &[PathBuf]| -> Result<Vec<Handle>, SpawnError> {
            let mut out = Vec::with_capacity(paths.len());
            for p in paths {
                out.extend(open_strict(p)?);
            }
            Ok(out)
        };
        let read = open_all(&fs.read)?;
        let write = open_all(&fs.write)?;
        let scratch = scratch.map(open_own).transpose()?;
        let mut guarded = Vec::new();
        // Granted by exact path, a guarded path is what the user asked for.
        for (paths, guard) in [
            (&fs.read_only, Guard::ReadOnly),
            (&fs.hidden, Guard::Hidden),
        ] {
            for path in paths {
                let granted = match guard {
                    Guard::ReadOnly => fs.write.contains(path),
                    Guard::Hidden => fs.write.contains(path) || fs.read.contains(path),
                    Guard::Sealed => false,
                };
                if granted
                    || guarded
                        .iter()
                        .any(|g: &Guarded| &g.path == path && g.guard == guard)
                {
                    continue;
                }
                guarded.push(Guarded {
                    path: path.clone(),
                    guard,
                    handle: open_guarded(path)?,
                });
            }
        }
        for path in &fs.sealed {
            if !resolved(path) {
                return Err(unresolved(path));
            }
            guarded.push(Guarded {
                path: path.clone(),
                guard: Guard::Sealed,
                handle: None,
            });
        }
        let mut opened = OpenedFs {
            read,
            write,
            scratch,
            guarded,
            pins: Vec::new(),
            placeholders: Placeholders::default(),
        };
        if mounts {
            opened.ready_mounts()?;
        }
        Ok(opened)
    }

    /// The protected paths strictly inside `tree` that no mount covers: links (a mount cannot
    /// cover one) and names no placeholder could be made for, and the sealed directories in
    /// it, as paths relative to it.
    pub(crate) fn unmounted_in<'a>(&'a self, tree: &Path) -> Vec<(&'a Path, Guard)> {
        let mounted = |p: &Path| {
            self.guarded
                .iter()
                .any(|g| g.handle.is_some() && p.starts_with(&g.path))
        };
        self.guarded_in(tree, |g| g != Guard::Hidden)
            .into_iter()
            .filter(|(rel, g)| *g == Guard::Sealed || !mounted(&tree.join(rel)))
            .collect()
    }

    /// The guarded paths strictly inside `tree`, as paths relative to it.
    pub(crate) fn guarded_in<'a>(
        &'a self,
        tree: &Path,
        which: impl Fn(Guard) -> bool,
    ) -> Vec<(&'a Path, Guard)> {
        self.guarded
            .iter()
            .filter(|g| which(g.guard))
            .filter_map(|g| {
                let rel = g.path.strip_prefix(tree).ok()?;
                // A grant may be sealed itself; it is never protected from itself.
                (g.guard == Guard::Sealed || !rel.as_os_str().is_empty()).then_some((rel, g.guard))
            })
            .collect()
    }
}

/// Opens a policy path without following any symbolic link; `None` when it does not exist
/// (or cannot be reached by this user, which leaves the program no way to it either).
pub(crate) fn open_strict(path: &Path) -> Result<Option<Handle>, SpawnError> {
    open_with(path, OFlags::empty())
}

/// Opens a guarded path like [`open_strict`], except that the guarded name itself may be a
/// link (a repository may ship `.claude -> elsewhere`): the link is what is guarded, it grants
/// nothing and nothing is mounted on it, so `None`.
fn open_guarded(path: &Path) -> Result<Option<Handle>, SpawnError> {
    Ok(open_with(path, OFlags::NOFOLLOW)?.filter(|h| !h.is_link))
}

fn open_with(path: &Path, extra: OFlags) -> Result<Option<Handle>, SpawnError> {
    if !resolved(path) {
        return Err(unresolved(path));
    }
    let fd = match rustix::fs::openat2(
        rustix::fs::CWD,
        path,
        OFlags::PATH | OFlags::CLOEXEC | extra,
        Mode::empty(),
        STRICT,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR | rustix::io::Errno::ACCESS) => {
            return Ok(None);
        }
        Err(rustix::io::Errno::LOOP) => {
            return Err(SpawnError::UnsafePath {
                path: path.to_path_buf(),
                reason: "is now reached through a symbolic link, which the sandbox never follows \
                         in a path it grants or protects (one was planted after the path was \
                         resolved); check what changed there and run again"
                    .into(),
            });
        }
        Err(e) => {
            return Err(SpawnError::Setup(format!(
                "cannot open {}: {e}",
                path.display()
            )));
        }
    };
    handle(path, fd).map(Some)
}

/// Whether `path` is absolute, with no `.` or `..` in it.
fn resolved(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

fn unresolved(path: &Path) -> SpawnError {
    SpawnError::UnsafePath {
        path: path.to_path_buf(),
        reason: "is not an absolute, resolved path (the caller must resolve `.`, `..` and links \
                 first)"
            .into(),
    }
}

/// Opens the run's own scratch directory, which this crate has just made in a private
/// directory (its parent may be reached through a link, e.g. `/var/run`).
fn open_own(path: &Path) -> Result<Handle, SpawnError> {
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::CLOEXEC | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| SpawnError::Setup(format!("cannot open {}: {e}", path.display())))?;
    handle(path, fd)
}

fn handle(path: &Path, fd: OwnedFd) -> Result<Handle, SpawnError> {
    let st = rustix::fs::fstat(&fd)
        .map_err(|e| SpawnError::Setup(format!("cannot stat {}: {e}", path.display())))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    Ok(Handle {
        path: path.to_path_buf(),
        id: (st.st_dev, st.st_ino),
        is_dir: kind == FileType::Directory,
        is_link: kind == FileType::Symlink,
        fd,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_link_anywhere_in_the_path_is_refused_and_names_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("dir")).unwrap();
        std::os::unix::fs::symlink(real.join("dir"), real.join("link")).unwrap();
        assert!(open_strict(&real.join("dir")).unwrap().is_some());
        assert!(open_strict(&real.join("missing")).unwrap().is_none());
        // A guarded name may itself be a link: it is kept, never followed.
        assert!(open_guarded(&real.join("link")).unwrap().is_none());
        assert!(open_guarded(&real.join("link/x")).is_err());
        for path in [real.join("link"), real.join("link/x")] {
            let e = open_strict(&path).unwrap_err().to_string();
            assert!(
                e.contains(&path.display().to_string()) && e.contains("symbolic link"),
                "{e}"
            );
        }
        for path in [real.join("dir/../dir"), PathBuf::from("dir")] {
            let e = open_strict(&path).unwrap_err().to_string();
            assert!(e.contains("resolved path"), "{e}");
        }
    }
}
