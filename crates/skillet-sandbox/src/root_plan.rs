//! The private root: the steps init follows to assemble it (child/root.rs runs them).
//!
//! The policy's paths are bound by handle (see handles.rs and [`MountStep::Tree`]): read
//! grants read-only, write grants `nosuid,nodev`, both recursively (a mount nested under a
//! grant gets the same flags). Protected paths that exist inside a write grant get a
//! read-only bind over themselves, which also makes them mountpoints the program cannot
//! rename, remove or replace (`EBUSY`); masked paths get an unreadable mount over them.
//! Protected paths that do not exist yet get a placeholder to mount over (placeholders.rs),
//! held by every run that mounts over it, another run's included (handles/ready.rs); those no
//! placeholder could be made for are kept from being created by Landlock (fs_rules.rs).

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::mount::MountFlags;

use crate::SpawnError;
use crate::child::{MountStep, RootPlan};
use crate::handles::{FileId, Guard, Handle, OpenedFs};
use crate::policy::{SECRET_FILES, SYSTEM_READ_DIRS, SandboxPolicy};

/// Device nodes bound into the private `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
/// Flags of a read-only tree.
const READ_ONLY: u64 = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
/// Flags of a writable tree: nothing set-user-ID and no device node works from it.
const WRITABLE: u64 = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

pub(crate) fn cstr(path: &Path) -> Result<CString, SpawnError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| SpawnError::Setup(format!("path {} contains a NUL byte", path.display())))
}

/// The steps that assemble the private root in `root_dir`.
pub(crate) fn root_plan(
    policy: &SandboxPolicy,
    is_root: bool,
    fs: &OpenedFs,
    scratch: &Path,
    root_dir: &Path,
    cwd: &Path,
) -> Result<RootPlan, SpawnError> {
    let mut b = RootBuilder {
        root: root_dir.to_path_buf(),
        steps: Vec::new(),
        dirs: BTreeSet::new(),
        mounted: Vec::new(),
    };
    for dir in SYSTEM_READ_DIRS.iter().map(Path::new) {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(dir)
                    .map_err(|e| SpawnError::Setup(format!("{}: {e}", dir.display())))?;
                b.steps.push(MountStep::Symlink {
                    target: cstr(&target)?,
                    link: b.inside(dir)?,
                });
            }
            // Only root can change these: bound by path.
            Ok(m) if m.is_dir() => b.tree(dir, true, false, None, None, READ_ONLY)?,
            _ => {}
        }
    }
    // Other users cannot read these anyway; root can, so they are masked.
    if is_root {
        for secret in SECRET_FILES.iter().map(Path::new).filter(|p| p.is_file()) {
            b.steps.push(MountStep::Bind {
                from: c"/dev/null".into(),
                to: b.inside(secret)?,
                read_only: false,
                keep: MountFlags::empty(),
            });
        }
    }
    // A minimal /dev, and the private writable directories, all inside the root's own tmpfs
    // (its size caps them together; Landlock keeps the rest of the root read-only).
    b.mkdir_p(Path::new("/dev"))?;
    for dev in DEVICES {
        let host = Path::new("/dev").join(dev);
        b.steps.push(MountStep::Touch(b.inside(&host)?));
        b.steps.push(MountStep::Bind {
            from: cstr(&host)?,
            to: b.inside(&host)?,
            read_only: false,
            keep: MountFlags::empty(),
        });
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        b.steps.push(MountStep::Symlink {
            target: cstr(Path::new(target))?,
            link: b.inside(&Path::new("/dev").join(link))?,
        });
    }
    for private in ["/dev/shm", "/tmp", "/run", "/var/tmp"] {
        b.mkdir_p(Path::new(private))?;
        b.steps.push(MountStep::Chmod {
            path: b.inside(Path::new(private))?,
            mode: 0o1777,
        });
    }
    b.mkdir_p(Path::new("/proc"))?;
    b.steps.push(MountStep::Proc(b.inside(Path::new("/proc"))?));

    let under_system = |p: &Path| SYSTEM_READ_DIRS.iter().any(|d| p.starts_with(d));
    for w in &fs.write {
        if under_system(&w.path) {
            return Err(SpawnError::Setup(format!(
                "cannot make {} writable: it is inside a system directory",
                w.path.display()
            )));
        }
    }
    // A read path inside another read path, or inside a write path, is visible through it.
    for (i, r) in fs.read.iter().enumerate() {
        let covered = under_system(&r.path)
            || fs.write.iter().any(|w| r.path.starts_with(&w.path))
            || fs.read.iter().enumerate().any(|(j, other)| {
                r.path.starts_with(&other.path) && (r.path != other.path || j < i)
            });
        if !covered {
            b.handle(r, READ_ONLY)?;
        }
    }
    // Then writes and guarded paths, shallowest first, so the deeper one wins: a protected
    // path inside a write grant is read-only, a write grant inside it (the user's own exact
    // grant) writable again.
    enum Over<'a> {
        Write(&'a Handle),
        Guard(&'a Handle, Guard),
    }
    // Pins (handles.rs) are bound like write grants: mountpoints, as writable as before.
    let mut over: Vec<(usize, Over<'_>)> = fs
        .write
        .iter()
        .chain(&fs.pins)
        .map(|w| (w.path.components().count(), Over::Write(w)))
        .collect();
    for g in &fs.guarded {
        let Some(h) = &g.handle else { continue };
        // A protected path is read-only already unless a write grant holds it; a masked one
        // needs its mask wherever it can be seen.
        let seen = match g.guard {
            Guard::ReadOnly => fs.write.iter().any(|w| h.path.starts_with(&w.path)),
            Guard::Hidden => {
                under_system(&h.path)
                    || fs
                        .read
                        .iter()
                        .chain(&fs.write)
                        .any(|t| h.path.starts_with(&t.path))
            }
            // Landlock's alone (fs_rules.rs): no mount keeps new names out.
            Guard::Sealed => false,
        };
        if seen {
            over.push((h.path.components().count(), Over::Guard(h, g.guard)));
        }
    }
    over.sort_by_key(|(depth, _)| *depth);
    for (_, item) in over {
        match item {
            Over::Write(w) => b.handle(w, WRITABLE)?,
            Over::Guard(h, Guard::ReadOnly) => b.handle(h, READ_ONLY)?,
            Over::Guard(h, Guard::Hidden) => b.mask(h, policy.fs.emptied.contains(&h.path))?,
            Over::Guard(_, Guard::Sealed) => {}
        }
    }
    // The scratch directory, at its host path, is a directory of the root's own tmpfs: one cap
    // for it and /tmp and the rest, and the supervisor reads it from there (see scratch.rs).
    let backing = root_dir.join(crate::scratch::IN_ROOT);
    b.steps.push(MountStep::Mkdir(cstr(&backing)?));
    b.mkdir_p(scratch)?;
    b.steps.push(MountStep::Bind {
        from: cstr(&backing)?,
        to: b.inside(scratch)?,
        read_only: false,
        keep: MountFlags::empty(),
    });
    let old = root_dir.join(".oldroot");
    b.steps.push(MountStep::Mkdir(cstr(&old)?));
    Ok(RootPlan {
        root: cstr(root_dir)?,
        // Inodes are capped with the bytes (one per page, at least 16k), so empty files cannot
        // take kernel memory without end (see scratch.rs).
        root_options: CString::new(format!(
            "size={},nr_inodes={},mode=755",
            // A tmpfs of size 0 would have no limit at all.
            policy.limits.scratch_bytes.max(1 << 20),
            (policy.limits.scratch_bytes / 4096).max(16 * 1024)
        ))
        .map_err(|e| SpawnError::Setup(e.to_string()))?,
        steps: b.steps,
        old_root: cstr(&old)?,
        old_root_inside: c"/.oldroot".into(),
        cwd: cstr(cwd)?,
    })
}

struct RootBuilder {
    root: PathBuf,
    steps: Vec<MountStep>,
    dirs: BTreeSet<PathBuf>,
    /// Host trees bound so far: what lies in them exists already, and is the host's.
    mounted: Vec<PathBuf>,
}

impl RootBuilder {
    /// `path` as seen from the host, inside the root being assembled.
    fn inside(&self, path: &Path) -> Result<CString, SpawnError> {
        cstr(&self.root.join(relative(path)))
    }

    fn in_mounted(&self, path: &Path) -> bool {
        self.mounted.iter().any(|m| path.starts_with(m))
    }

    fn mkdir_p(&mut self, path: &Path) -> Result<(), SpawnError> {
        let mut ancestors: Vec<&Path> = path.ancestors().filter(|a| a.parent().is_some()).collect();
        ancestors.reverse();
        for dir in ancestors {
            if self.dirs.insert(dir.to_path_buf()) {
                let inside = self.inside(dir)?;
                self.steps.push(MountStep::Mkdir(inside));
            }
        }
        Ok(())
    }

    /// Makes a mountpoint for `path` in the root's tmpfs, unless it lies in a host tree bound
    /// already, where it must exist (nothing is ever created in a host tree): then returns
    /// the file it must be, `id`.
    fn mountpoint(
        &mut self,
        path: &Path,
        is_dir: bool,
        id: Option<FileId>,
    ) -> Result<Option<FileId>, SpawnError> {
        if self.in_mounted(path) {
            return Ok(id);
        }
        if is_dir {
            self.mkdir_p(path)?;
        } else {
            if let Some(parent) = path.parent() {
                self.mkdir_p(parent)?;
            }
            self.steps.push(MountStep::Touch(self.inside(path)?));
        }
        Ok(None)
    }

    /// Binds the tree at `path` over itself in the root.
    fn tree(
        &mut self,
        path: &Path,
        is_dir: bool,
        strict: bool,
        source_id: Option<FileId>,
        target_id: Option<FileId>,
        attrs: u64,
    ) -> Result<(), SpawnError> {
        let target_id = self.mountpoint(path, is_dir, target_id)?;
        self.steps.push(MountStep::Tree {
            source: cstr(path)?,
            strict,
            source_id,
            target: cstr(relative(path))?,
            target_id,
            attrs,
            fallback: self.inside(path)?,
        });
        self.mounted.push(path.to_path_buf());
        Ok(())
    }

    /// Binds an opened policy path over itself, checked by handle on both ends.
    fn handle(&mut self, h: &Handle, attrs: u64) -> Result<(), SpawnError> {
        self.tree(&h.path, h.is_dir, true, Some(h.id), Some(h.id), attrs)
    }

    /// Masks an opened path (it is always inside a bound tree).
    fn mask(&mut self, h: &Handle, empty: bool) -> Result<(), SpawnError> {
        if !self.in_mounted(&h.path) {
            return Ok(());
        }
        self.steps.push(MountStep::Mask {
            target: cstr(relative(&h.path))?,
            target_id: h.id,
            dir: h.is_dir,
            empty: empty && !h.is_dir,
        });
        Ok(())
    }
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}
