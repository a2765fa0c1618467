//! The view as a copy-on-write overlay instead of a copy, where this process may mount one.
//!
//! Where: in a mount namespace of skillet's own. The first view of a single-threaded process
//! running as root moves the whole process into a new mount namespace (host mounts still
//! propagate in, nothing propagates out), then mounts the overlay at the view's `root`. Nothing
//! outside the process sees the overlay, it vanishes with the process (even one killed), and
//! the sandbox, which opens the workspace by handle from this process, binds it and gives it
//! Landlock rules as it does any directory. An unprivileged user cannot mount in the namespace
//! the sandbox opens its handles in, and an overlay mounted only inside the sandbox's own
//! namespace would escape the Landlock rules the sandbox derives in its parent (rules on the
//! layers do not cover the merged tree): so there, and wherever the kernel refuses, the view
//! stays a copy and says why ([`Backing::Copy`]).
//!
//! The layers: the lower one is the real workspace, resolved and opened by handle (the kernel
//! is given `/proc/self/fd/N`, never the path); the upper and work ones are private folders in
//! the view's 0700 directory. An overlay never writes to its lower layer, so nothing a run does
//! through the view reaches the real tree. What the copy leaves out is hidden by whiteouts made
//! in the upper layer before mounting: `.git`, `.env*`, credentials, files hard-linked to those,
//! and sockets, FIFOs and devices. The changes are then compared and applied exactly as the
//! copy's are (changes.rs, apply.rs): against the stamps of the real tree taken when the
//! whiteouts were made. They are not read from the upper layer: that would mean interpreting
//! whiteouts, opaque folders, redirects and metadata-only copies as the kernel does, where a
//! walk of the merged view (a few hundred milliseconds for 20,000 entries) needs none of it.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustix::fs::{Dir, FileType, Mode};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use super::handle::{self, DIR, Kind, Stamp};
use super::{IsolateError, Policy, io, io_std, policy};

/// Set (to anything but `0` or nothing) to make isolated runs copy the workspace even where
/// an overlay could be mounted: for tests of the copy, and a way out should an overlay
/// misbehave on some file system.
pub const FORCE_COPY_ENV: &str = "SKILLET_ISOLATE_FORCE_COPY";

/// Entries of the workspace an overlay view walks at most (twice: to hide what must stay
/// hidden and to stamp the real tree). Nothing is copied, so no byte bound applies.
pub const MAX_ENTRIES: usize = 1_000_000;

/// How a view was made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backing {
    /// A copy-on-write overlay over the real workspace, in skillet's own mount namespace.
    Overlay,
    /// A copy of the workspace.
    Copy {
        /// Why no overlay was used.
        reason: String,
    },
}

impl std::fmt::Display for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backing::Overlay => f.write_str("a copy-on-write overlay of the workspace"),
            Backing::Copy { reason } => write!(f, "a copy of the workspace ({reason})"),
        }
    }
}

/// Why this process cannot use an overlay for its views; `None` when it can.
pub(super) fn unavailable() -> Option<String> {
    if std::env::var_os(FORCE_COPY_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return Some(format!("{FORCE_COPY_ENV} is set"));
    }
    if !rustix::process::geteuid().is_root() {
        return Some(
            "an overlay needs a mount namespace of skillet's own, which only root gets so far"
                .to_owned(),
        );
    }
    private_namespace().err()
}

/// Moves this process into a mount namespace of its own, once.
fn private_namespace() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // `unshare` moves only the calling thread: with others running, the sandbox might
        // start a run from one that never saw the overlay. The sandbox's preparation thread
        // (`skillet_sandbox::prepare`) may still be at work: the others are waited for,
        // briefly.
        let deadline = std::time::Instant::now() + THREADS_WAIT;
        let threads = loop {
            let threads = thread_names();
            if threads.len() == 1 || std::time::Instant::now() >= deadline {
                break threads;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        if threads.len() != 1 {
            return Err(format!(
                "skillet already runs {} threads ({}), and a mount namespace is entered by one",
                threads.len(),
                threads.join(", ")
            ));
        }
        #[allow(unsafe_code)]
        // SAFETY: only the mount namespace (and with it the thread's filesystem context, the
        // only one here) is unshared; descriptor tables stay shared, which is what the
        // function's safety condition is about.
        let unshared =
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) };
        unshared.map_err(|e| format!("cannot make a mount namespace: {e}"))?;
        // Host mounts still come in; the overlay never goes out.
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )
        .map_err(|e| format!("cannot make the mount namespace private: {e}"))
    })
    .clone()
}

/// Inodes of a view's layers beyond its whiteouts: the new entries a run may leave and still
/// be compared ([`super::MAX_NEW_ENTRIES`]), and some for the overlay's own.
const MAX_NEW_ENTRIES_AND_SOME: usize = super::MAX_NEW_ENTRIES + 1024;

/// How long the first view waits for this process's other threads to end: the CLI's are
/// short-lived (the sandbox's preparation, opening the store), done in milliseconds unless
/// the machine is very busy.
const THREADS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .map(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The tmpfs holding the upper and work layers of the view in `dir`: what a run writes through
/// the view lands there, and the tmpfs's `size` and `nr_inodes` bound it (the writer gets
/// "no space left on device"), as the copy's limits bound a copy. Its pages count against the
/// memory limit of the run that writes them.
fn layers(dir: &Path) -> PathBuf {
    dir.join("layers")
}

/// The upper layer of the view in `dir`.
fn upper(dir: &Path) -> PathBuf {
    layers(dir).join("upper")
}

/// The overlay's work folder for the view in `dir`.
fn work(dir: &Path) -> PathBuf {
    layers(dir).join("work")
}

/// Unmounts the overlay at `root` and its layers' tmpfs in `dir`, whichever is mounted.
/// Detached, so a process still holding a file in them does not keep the view's folder from
/// being removed; the tmpfs's contents go with it.
pub(super) fn unmount(dir: &Path, root: &Path) {
    let _ = rustix::mount::unmount(root, UnmountFlags::DETACH);
    let _ = rustix::mount::unmount(layers(dir), UnmountFlags::DETACH);
}

/// Mounts a fresh tmpfs for the layers of the view in `dir`, holding at most `max_bytes` and
/// `max_inodes`, and makes the upper and work folders in it.
fn mount_layers(dir: &Path, max_bytes: u64, max_inodes: usize) -> Result<(), String> {
    let at = layers(dir);
    if at.symlink_metadata().is_err() {
        std::fs::create_dir(&at).map_err(|e| format!("cannot make {}: {e}", at.display()))?;
    }
    let data = format!("size={max_bytes},nr_inodes={max_inodes},mode=0700");
    let data = std::ffi::CString::new(data).map_err(|e| e.to_string())?;
    rustix::mount::mount(
        "skillet-view-layers",
        &at,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(data.as_c_str()),
    )
    .map_err(|e| format!("the kernel refused a tmpfs for the overlay's layers: {e}"))?;
    for layer in [upper(dir), work(dir)] {
        std::fs::create_dir(&layer).map_err(|e| format!("cannot make {}: {e}", layer.display()))?;
    }
    Ok(())
}

/// Each entry of the view, by path: its stamp in the real tree and in the view.
pub(super) type Stamps = BTreeMap<PathBuf, (Stamp, Stamp)>;

/// Why the overlay could not be mounted: the view falls back to a copy.
#[derive(Debug)]
pub(super) struct Refused(pub String);

/// Prepares the layers in `dir` for the workspace `real` and mounts the overlay at `root`;
/// returns the stamps of each entry in the real tree and in the view, as a copy would.
pub(super) fn build(
    real: &Path,
    dir: &Path,
    root: &Path,
    limits: super::Limits,
) -> Result<Result<Stamps, Refused>, IsolateError> {
    let (upper, work) = (upper(dir), work(dir));
    if root.symlink_metadata().is_err() {
        std::fs::create_dir(root).map_err(io_std("cannot make the view", root))?;
    }
    let lower = handle::open_root(real).map_err(io("cannot open the workspace", real))?;

    let mut walk = Walk {
        real,
        stamps: BTreeMap::new(),
        hidden: Vec::new(),
        secret: BTreeSet::new(),
        linked: Vec::new(),
    };
    walk.dir(&lower, Path::new(""))?;
    // A file left out must not come in under another name (`notes.txt` hard-linked to
    // `.env`), as the copy leaves out such names too.
    for rel in std::mem::take(&mut walk.linked) {
        if let Some(s) = walk.stamps.get(&rel)
            && walk.secret.contains(&(s.dev, s.ino))
        {
            walk.stamps.remove(&rel);
            walk.hidden.push(rel);
        }
    }
    // A fresh tmpfs (the last run's layers went with the last one): room for what a run may
    // write, as much as a copy may hold and as many new entries as are compared, beside the
    // whiteouts (and their folders) that hide what must stay hidden.
    unmount(dir, root);
    let inodes = MAX_NEW_ENTRIES_AND_SOME + 2 * walk.hidden.len();
    if let Err(why) = mount_layers(dir, limits.max_bytes, inodes) {
        return Ok(Err(Refused(why)));
    }
    let upper_fd = handle::open_root(&upper).map_err(io("cannot open", &upper))?;
    let work_fd = handle::open_root(&work).map_err(io("cannot open", &work))?;
    // The merged root takes the upper root's owner and mode: the workspace's.
    let root_stat = rustix::fs::fstat(&lower).map_err(io("cannot read", real))?;
    rustix::fs::fchmod(&upper_fd, Mode::from_raw_mode(root_stat.st_mode & 0o7777))
        .map_err(io("cannot set the mode of", &upper))?;
    let _ = rustix::fs::fchown(
        &upper_fd,
        Some(rustix::process::Uid::from_raw(root_stat.st_uid)),
        Some(rustix::process::Gid::from_raw(root_stat.st_gid)),
    );
    for rel in &walk.hidden {
        whiteout(&lower, &upper_fd, rel).map_err(io("cannot hide", &real.join(rel)))?;
    }
    // The view is found as the workspace by its `.skillet` folder, as the copy is.
    if handle::stat_at(&lower, Path::new(".skillet"))
        .map_err(io("cannot read", &real.join(".skillet")))?
        .is_none()
    {
        rustix::fs::mkdirat(&upper_fd, ".skillet", Mode::RWXU)
            .map_err(io("cannot make", &upper.join(".skillet")))?;
    }

    // `redirect_dir=on`: renaming a folder of the lower layer works as in the real tree (the
    // default fails it with EXDEV, which `mv` hides but a program's `rename` does not).
    let data = format!(
        "lowerdir=/proc/self/fd/{},upperdir=/proc/self/fd/{},workdir=/proc/self/fd/{},\
         redirect_dir=on",
        lower.as_raw_fd(),
        upper_fd.as_raw_fd(),
        work_fd.as_raw_fd()
    );
    let data = std::ffi::CString::new(data).map_err(|_| IsolateError::Io {
        action: "cannot mount the overlay at",
        path: root.to_path_buf(),
        source: std::io::ErrorKind::InvalidInput.into(),
    })?;
    if let Err(e) = rustix::mount::mount(
        "skillet-view",
        root,
        "overlay",
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(data.as_c_str()),
    ) {
        return Ok(Err(Refused(format!("the kernel refused the overlay: {e}"))));
    }

    // Stamps of the view as mounted: an entry is changed when its stamp moves from these.
    let view = handle::open_root(root).map_err(io("cannot open the view", root))?;
    let mut seen = BTreeMap::new();
    super::changes::list(&view, Path::new(""), &mut seen, root, MAX_ENTRIES)?;
    let stamps = walk
        .stamps
        .into_iter()
        .filter_map(|(rel, real_stamp)| {
            let view_stamp = *seen.get(&rel)?;
            (view_stamp.kind == real_stamp.kind).then_some((rel, (real_stamp, view_stamp)))
        })
        .collect();
    Ok(Ok(stamps))
}

/// Makes a whiteout for `rel` in the upper layer, with the folders on its way made as the
/// real ones are (their mode and owner are what the merged folders show).
fn whiteout(lower: &OwnedFd, upper: &OwnedFd, rel: &Path) -> Result<(), rustix::io::Errno> {
    let (parent, name) = handle::split(rel).ok_or(rustix::io::Errno::INVAL)?;
    let mut low = rustix::io::fcntl_dupfd_cloexec(lower, 0)?;
    let mut up = rustix::io::fcntl_dupfd_cloexec(upper, 0)?;
    for c in parent.components() {
        let std::path::Component::Normal(step) = c else {
            return Err(rustix::io::Errno::INVAL);
        };
        low = rustix::fs::openat(&low, step, DIR, Mode::empty())?;
        let st = rustix::fs::fstat(&low)?;
        match rustix::fs::mkdirat(&up, step, Mode::from_raw_mode(st.st_mode & 0o7777)) {
            Ok(()) => {
                let made = rustix::fs::openat(&up, step, DIR, Mode::empty())?;
                let _ = rustix::fs::fchown(
                    &made,
                    Some(rustix::process::Uid::from_raw(st.st_uid)),
                    Some(rustix::process::Gid::from_raw(st.st_gid)),
                );
                up = made;
            }
            Err(rustix::io::Errno::EXIST) => {
                up = rustix::fs::openat(&up, step, DIR, Mode::empty())?;
            }
            Err(e) => return Err(e),
        }
    }
    // A character device 0/0 is overlayfs's whiteout: the name is gone from the merged view.
    rustix::fs::mknodat(
        &up,
        name,
        FileType::CharacterDevice,
        Mode::empty(),
        rustix::fs::makedev(0, 0),
    )
}

/// One walk of the real tree, by handle, never following a link.
struct Walk<'a> {
    real: &'a Path,
    stamps: BTreeMap<PathBuf, Stamp>,
    /// What must not show in the view.
    hidden: Vec<PathBuf>,
    /// Files left out that have other names, by device and inode.
    secret: BTreeSet<(u64, u64)>,
    /// Files with other names: one of them may be a file left out.
    linked: Vec<PathBuf>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &OwnedFd, rel: &Path) -> Result<(), IsolateError> {
        if rel.components().count() > super::MAX_DEPTH {
            return Err(IsolateError::TooLarge {
                root: self.real.to_path_buf(),
                what: format!("folders nested more than {} deep", super::MAX_DEPTH),
            });
        }
        let here = self.real.join(rel);
        let mut names = Vec::new();
        for entry in Dir::read_from(dir).map_err(io("cannot list", &here))? {
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
                super::handle::note_secret(&mut self.secret, dir, &name);
                self.hidden.push(child);
                continue;
            }
            let path = self.real.join(&child);
            let Some(stat) =
                handle::stat_at(dir, Path::new(&name)).map_err(io("cannot read", &path))?
            else {
                continue;
            };
            let (Some(kind), Some(stamp)) = (Kind::of(&stat), Stamp::of(&stat)) else {
                // Sockets, FIFOs and devices are doors to something else: hidden.
                self.hidden.push(child);
                continue;
            };
            if self.stamps.len() >= MAX_ENTRIES {
                return Err(IsolateError::TooLarge {
                    root: self.real.to_path_buf(),
                    what: format!("more than {MAX_ENTRIES} files and folders"),
                });
            }
            if kind == Kind::Dir {
                match rustix::fs::openat(dir, &name, DIR, Mode::empty()) {
                    Ok(inner) => self.dir(&inner, &child)?,
                    // Swapped for a link or file since it was listed, or unreadable (the
                    // copy leaves those out too): hidden, as its content was not looked at.
                    Err(
                        rustix::io::Errno::LOOP
                        | rustix::io::Errno::NOTDIR
                        | rustix::io::Errno::ACCESS
                        | rustix::io::Errno::PERM,
                    ) => {
                        self.hidden.push(child);
                        continue;
                    }
                    Err(e) => return Err(io("cannot open", &path)(e)),
                }
            } else if kind == Kind::File && stat.st_nlink > 1 {
                self.linked.push(child.clone());
            }
            self.stamps.insert(child, stamp);
        }
        Ok(())
    }
}
