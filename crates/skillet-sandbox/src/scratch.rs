//! A run's writable scratch, as the supervisor sees it: where the scratch directories live
//! (a private directory per user, chosen once per process), one cap on all of it
//! ([`crate::Limits::scratch_bytes`]), and what it tells about how the run ended.
//!
//! With namespaces, the scratch directory (`HOME`, `TMPDIR`) is [`IN_ROOT`] in the private
//! root's tmpfs, bound at its host path, beside `/tmp`, `/run`, `/var/tmp` and `/dev/shm`: the
//! tmpfs's size is the cap and the kernel enforces it (`ENOSPC`). The supervisor holds the root
//! open from the moment the program runs (init opens it and hands it over before it says the
//! program runs, see launch/), which keeps the tmpfs alive after the namespace is gone: to see whether it was full, to look for a file stopped at
//! the file-size limit, and to copy the scratch directory out when it is kept. Nothing in it is
//! followed: walks stay on the tmpfs's own device and copy links as links.
//!
//! Without namespaces the scratch directory is a host directory (the only writable scratch:
//! Landlock keeps the host's `/tmp` read-only) and nothing in the kernel caps it: the
//! supervisor measures it while the run goes on and ends a run found past the cap.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The scratch directory's backing directory, at the top of the private root.
pub(crate) const IN_ROOT: &str = ".scratch";

/// At most this many entries are looked at in one walk: a run that made more (only possible
/// with tiny files) is judged by what was seen.
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// Free space under which a capped tmpfs counts as full: a write stops short of the last page
/// when it cannot fit, so "full" is rarely exactly zero.
const FULL_SLACK: u64 = 64 * 1024;

/// The run's scratch, for the supervisor.
#[derive(Debug)]
pub(crate) enum Scratch {
    /// The private root's tmpfs, held open (namespaces); shared only with the weak list of
    /// live scratches that the bound on all of them reads (scratch_total.rs).
    Tmpfs(std::sync::Arc<OwnedFd>),
    /// A host directory the supervisor measures (no namespaces; or init could not open its
    /// root, and the tmpfs still caps what is written, unreported).
    Host,
}

impl Scratch {
    /// The run's scratch, given the private root init handed over (see launch/), if any, for
    /// a run whose scratch directory is in `parent`.
    pub(crate) fn hold(root: Option<OwnedFd>, parent: &Path) -> Scratch {
        match root {
            Some(fd) => {
                let fd = std::sync::Arc::new(fd);
                crate::scratch_total::register(&fd, parent);
                Scratch::Tmpfs(fd)
            }
            None => Scratch::Host,
        }
    }

    /// Whether the kernel caps the scratch (a private tmpfs), or the supervisor must measure it.
    pub(crate) fn capped_by_kernel(&self) -> bool {
        matches!(self, Scratch::Tmpfs(_))
    }

    /// Whether the cap was reached: the tmpfs is (nearly) out of space or inodes, or the host
    /// directory `host` holds more than `cap` bytes.
    pub(crate) fn full(&self, host: &Path, cap: u64) -> bool {
        match self {
            Scratch::Tmpfs(root) => rustix::fs::fstatvfs(root).is_ok_and(|st| {
                st.f_bavail.saturating_mul(st.f_frsize) < FULL_SLACK || st.f_favail == 0
            }),
            Scratch::Host => usage(host) > cap,
        }
    }

    /// Whether a regular file of at least `size` bytes is in the scratch: what a write stopped
    /// by the file-size limit leaves behind, whether the writer died of `SIGXFSZ` or went on
    /// with `EFBIG`.
    pub(crate) fn has_file_of(&self, host: &Path, size: u64) -> bool {
        let mut found = false;
        walk(self.top(host), |_, meta| {
            found |= meta.is_file() && meta.size() >= size;
            !found
        });
        found
    }

    /// Copies the scratch directory out of the tmpfs into `host` (its host directory, empty
    /// with namespaces), links as links; does nothing for a host directory, which is the
    /// scratch itself.
    pub(crate) fn copy_out(&self, host: &Path) {
        let Scratch::Tmpfs(root) = self else {
            return;
        };
        let top = fd_path(root);
        let from = top.join(IN_ROOT);
        // Only the tmpfs's own directory: a program without Landlock could have put a link
        // there, which would resolve against this process's root.
        let own = |p: &Path| std::fs::metadata(p).map(|m| m.dev());
        match (own(&top), std::fs::symlink_metadata(&from)) {
            (Ok(dev), Ok(m)) if m.is_dir() && m.dev() == dev => {}
            _ => return,
        }
        walk(from.clone(), |path, meta| {
            let Ok(rel) = path.strip_prefix(&from) else {
                return true;
            };
            let to = host.join(rel);
            let kind = meta.file_type();
            // A failure loses that one entry; the rest is still worth having.
            if kind.is_dir() {
                let _ = std::fs::create_dir_all(&to);
            } else if kind.is_symlink() {
                if let Ok(target) = std::fs::read_link(path) {
                    let _ = std::os::unix::fs::symlink(target, &to);
                }
            } else if kind.is_file() {
                let _ = std::fs::copy(path, &to);
            }
            true
        });
    }

    /// Where a walk of the scratch starts: the whole tmpfs with namespaces (so `/tmp` and the
    /// rest too), else `host`.
    fn top(&self, host: &Path) -> PathBuf {
        match self {
            Scratch::Tmpfs(root) => fd_path(root),
            Scratch::Host => host.to_path_buf(),
        }
    }
}

/// Calls `visit` on every entry under `top`, parents first, without leaving its device or
/// following links, until `visit` says stop or [`MAX_ENTRIES`] were seen. Returns whether every
/// directory could be read: a run can make one its own user cannot list (`chmod 300`), and
/// what it holds must not pass for nothing.
pub(crate) fn walk(top: PathBuf, mut visit: impl FnMut(&Path, &std::fs::Metadata) -> bool) -> bool {
    // `top` itself may be a /proc/self/fd link: followed, to the directory it names.
    let Ok(dev) = std::fs::metadata(&top).map(|m| m.dev()) else {
        return true;
    };
    let mut stack = vec![top];
    let mut seen = 0;
    let mut complete = true;
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Removed since it was listed: nothing to count.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => {
                complete = false;
                continue;
            }
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return false;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.dev() != dev {
                continue;
            }
            if !visit(&path, &meta) {
                return complete;
            }
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    complete
}

/// Bytes the files under `dir` take on disk (blocks, so sparse files count what they use);
/// `u64::MAX` when some of it cannot be read, so that it counts as over any cap.
pub(crate) fn usage(dir: &Path) -> u64 {
    let mut total = 0u64;
    let complete = walk(dir.to_path_buf(), |_, meta| {
        total = total.saturating_add(meta.blocks().saturating_mul(512));
        true
    });
    if complete { total } else { u64::MAX }
}

/// Removes the directory tree `path`, also when a run left directories in it that their owner
/// cannot list or enter (`chmod 0`, `chmod 300`): those are given back their owner's rights
/// first. Links are never followed. Returns whether the tree is gone.
pub fn remove_tree(path: &Path) -> bool {
    match std::fs::remove_dir_all(path) {
        Ok(()) => return true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
        Err(_) => {}
    }
    // Directories are opened one level at a time, each made listable before it is read.
    let mut stack = vec![path.to_path_buf()];
    let mut visited = 0usize;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > MAX_ENTRIES {
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    std::fs::remove_dir_all(path).is_ok()
}

/// A path that names `fd`'s directory for as long as it is open.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Creates `dir` (0700) once per process; later runs skip the system calls.
pub(crate) fn create_private_dir_once(dir: &Path) -> std::io::Result<()> {
    static DONE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    if DONE.lock().is_ok_and(|d| d.iter().any(|p| p == dir)) && dir.is_dir() {
        return Ok(());
    }
    create_private_dir(dir)?;
    if let Ok(mut d) = DONE.lock() {
        d.push(dir.to_path_buf());
    }
    Ok(())
}

/// This process's own directory (see scratch_owner.rs) under `$XDG_RUNTIME_DIR/skillet`
/// (private to the user by construction), else
/// `/dev/shm/skillet-<uid>`, else `$TMPDIR/skillet-<uid>` (the last two checked by
/// [`create_private_dir`]). Memory-backed places come first: creating and removing a
/// directory per run costs ~0.1 ms on ext4 and ~0.015 ms on tmpfs, and scratch files are
/// charged to the run's memory cgroup there. Chosen once per process: runs are many, and the
/// answer does not change under them.
pub(crate) fn default_scratch_parent() -> PathBuf {
    static PARENT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PARENT
        .get_or_init(|| {
            let base = choose_scratch_parent();
            crate::scratch_owner::owned_dir(&base).unwrap_or(base)
        })
        .clone()
}

fn choose_scratch_parent() -> PathBuf {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let uid = rustix::process::getuid().as_raw();
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
    {
        return runtime.join("skillet");
    }
    let shm = Path::new("/dev/shm");
    // `f_type`'s integer type differs between architectures.
    #[allow(clippy::useless_conversion)]
    let tmpfs = rustix::fs::statfs(shm).is_ok_and(|s| i64::from(s.f_type) == TMPFS_MAGIC);
    if tmpfs && rustix::fs::access(shm, rustix::fs::Access::WRITE_OK).is_ok() {
        return shm.join(format!("skillet-{uid}"));
    }
    std::env::temp_dir().join(format!("skillet-{uid}"))
}

/// Creates `dir` with mode 0700, or accepts an existing one only if it is a real directory (not
/// a symlink) that this user owns and nobody else can enter: in a shared `/tmp` another user
/// could have made it first, to read or plant files in the skills' scratch space, or to reach
/// a socket inside.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(dir)?;
    let mine = meta.uid() == rustix::process::geteuid().as_raw();
    if !meta.is_dir() || !mine || meta.mode() & 0o077 != 0 {
        return Err(std::io::Error::other(
            "refusing to use it: it must be a directory owned by this user with no access for others (mode 0700)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_directory_is_measured_and_searched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/big"), vec![1u8; 200_000]).unwrap();
        std::fs::write(dir.path().join("small"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let s = Scratch::Host;
        assert!(usage(dir.path()) >= 200_000);
        assert!(s.full(dir.path(), 100_000));
        assert!(!s.full(dir.path(), 10 << 20));
        assert!(s.has_file_of(dir.path(), 200_000));
        assert!(!s.has_file_of(dir.path(), 200_001));
    }
}
