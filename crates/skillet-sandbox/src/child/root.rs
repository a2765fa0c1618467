//! Building the private root inside init, before the pivot: the steps the parent planned
//! (root_plan.rs) run here as system calls only, each mount target opened beneath the new
//! root without following links and checked against the file the parent opened.

#![allow(unsafe_code)] // mount_setattr, which rustix does not wrap.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MountPropagationFlags, MoveMountFlags,
    OpenTreeFlags, UnmountFlags, open_tree,
};

use super::last_errno;
use crate::handles::{FileId, STRICT};

/// The private root, as steps relative to nothing: every path is absolute and precomputed.
pub(crate) struct RootPlan {
    /// Where the new root is assembled (an empty host directory).
    pub root: CString,
    /// Options of the root's tmpfs (its size bounds everything written inside the root).
    pub root_options: CString,
    pub steps: Vec<MountStep>,
    /// `root/.oldroot` and `/.oldroot`.
    pub old_root: CString,
    pub old_root_inside: CString,
    /// Working directory inside the new root.
    pub cwd: CString,
}

pub(crate) enum MountStep {
    Mkdir(CString),
    Touch(CString),
    Symlink {
        target: CString,
        link: CString,
    },
    Chmod {
        path: CString,
        mode: u32,
    },
    Bind {
        from: CString,
        to: CString,
        read_only: bool,
        keep: MountFlags,
    },
    /// Binds the tree at `source` (with every mount under it) at `target`, by handle: the
    /// source is reopened without following links (when `strict`) and must still be the file
    /// the parent opened (`source_id`); the target, a path relative to the new root, is
    /// opened beneath it without following links and, when it lies in a tree bound before,
    /// must be the file `target_id`. `attrs` (`MOUNT_ATTR_*`) are set on every mount of the
    /// tree before it is attached. `fallback` is the target's absolute path, for a kernel
    /// without `mount_setattr` (before 5.12), where the flags are set by a remount.
    Tree {
        source: CString,
        strict: bool,
        source_id: Option<FileId>,
        target: CString,
        target_id: Option<FileId>,
        attrs: u64,
        fallback: CString,
    },
    /// Masks the file or directory at `target` (relative to the new root; it must be the file
    /// `target_id`): a file with `/dev/null` on a read-only `nodev` mount (opening it fails), a
    /// directory with an empty read-only tmpfs nobody may enter. An `empty` file is covered
    /// with `/dev/null` on a mount without `nodev`: it reads as empty (git's settings, which
    /// git must be able to open).
    Mask {
        target: CString,
        target_id: FileId,
        dir: bool,
        empty: bool,
    },
    Proc(CString),
}

/// Assembles the private root `plan` describes and enters it.
pub(super) fn build(plan: &RootPlan) -> io::Result<()> {
    rustix::mount::mount_change(
        c"/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    )?;
    rustix::mount::mount(
        c"tmpfs",
        &plan.root,
        c"tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        plan.root_options.as_c_str(),
    )?;
    // Mount targets are resolved beneath the new root, never through a link.
    let root = rustix::fs::open(
        &plan.root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;

    for step in &plan.steps {
        match step {
            MountStep::Mkdir(p) => match rustix::fs::mkdir(p, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            },
            MountStep::Touch(p) => {
                rustix::fs::open(
                    p,
                    OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                )?;
            }
            MountStep::Symlink { target, link } => match rustix::fs::symlink(target, link) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            },
            MountStep::Chmod { path, mode } => rustix::fs::chmod(path, Mode::from_raw_mode(*mode))?,
            MountStep::Bind {
                from,
                to,
                read_only,
                keep,
            } => {
                rustix::mount::mount_bind_recursive(from, to)?;
                if *read_only {
                    // The flags a mount already has must be kept, or a user namespace refuses
                    // the remount.
                    rustix::mount::mount_remount(
                        to,
                        MountFlags::BIND | MountFlags::RDONLY | *keep,
                        c"",
                    )?;
                }
            }
            MountStep::Tree {
                source,
                strict,
                source_id,
                target,
                target_id,
                attrs,
                fallback,
            } => {
                let resolve = if *strict {
                    STRICT
                } else {
                    ResolveFlags::empty()
                };
                let from = open_checked(CWD, source, resolve, *source_id)?;
                let tree = open_tree(
                    &from,
                    c"",
                    OpenTreeFlags::OPEN_TREE_CLONE
                        | OpenTreeFlags::OPEN_TREE_CLOEXEC
                        | OpenTreeFlags::AT_EMPTY_PATH
                        | OpenTreeFlags::AT_RECURSIVE,
                )?;
                let unset = match set_attrs(tree.as_fd(), *attrs) {
                    Ok(()) => false,
                    Err(rustix::io::Errno::NOSYS) => true,
                    Err(e) => return Err(e.into()),
                };
                let to = open_checked(
                    root.as_fd(),
                    target,
                    STRICT | ResolveFlags::BENEATH,
                    *target_id,
                )?;
                attach(tree.as_fd(), to.as_fd())?;
                if unset {
                    remount_with(fallback, *attrs)?;
                }
            }
            MountStep::Mask {
                target,
                target_id,
                dir,
                empty,
            } => {
                let to = open_checked(
                    root.as_fd(),
                    target,
                    STRICT | ResolveFlags::BENEATH,
                    Some(*target_id),
                )?;
                let sealed =
                    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
                let mask = if *dir {
                    let fs = rustix::mount::fsopen(c"tmpfs", FsOpenFlags::FSOPEN_CLOEXEC)?;
                    rustix::mount::fsconfig_set_string(fs.as_fd(), c"mode", c"0")?;
                    rustix::mount::fsconfig_set_string(fs.as_fd(), c"size", c"4k")?;
                    rustix::mount::fsconfig_create(fs.as_fd())?;
                    rustix::mount::fsmount(
                        fs.as_fd(),
                        FsMountFlags::FSMOUNT_CLOEXEC,
                        MountAttrFlags::from_bits_retain(sealed as u32),
                    )?
                } else {
                    let mask = open_tree(
                        CWD,
                        c"/dev/null",
                        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
                    )?;
                    // Only `/dev/null` itself is on this mount: letting it be opened as a
                    // device opens nothing else.
                    let attrs = if *empty {
                        sealed & !MOUNT_ATTR_NODEV
                    } else {
                        sealed
                    };
                    set_attrs(mask.as_fd(), attrs)?;
                    mask
                };
                attach(mask.as_fd(), to.as_fd())?;
            }
            MountStep::Proc(at) => {
                rustix::mount::mount(
                    c"proc",
                    at,
                    c"proc",
                    MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                    c"",
                )?;
            }
        }
    }
    rustix::process::pivot_root(&plan.root, &plan.old_root)?;
    rustix::process::chdir(c"/")?;
    rustix::mount::unmount(&plan.old_root_inside, UnmountFlags::DETACH)?;
    let _ = rustix::fs::rmdir(&plan.old_root_inside);

    rustix::process::chdir(&plan.cwd)?;
    Ok(())
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// Opens `path` at `dir` as a handle, resolved with `resolve`, and checks it is the file `id`
/// when one is given: `ESTALE` when it is another (swapped in since the parent opened it) or
/// is gone (removed since), which the parent reports as a policy path that changed.
fn open_checked(
    dir: BorrowedFd<'_>,
    path: &CString,
    resolve: ResolveFlags,
    id: Option<FileId>,
) -> io::Result<OwnedFd> {
    let fd = match rustix::fs::openat2(
        dir,
        path.as_c_str(),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) if id.is_some() => {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(id) = id {
        let st = rustix::fs::fstat(&fd)?;
        if (st.st_dev, st.st_ino) != id {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        }
    }
    Ok(fd)
}

/// `mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE)`, setting `attrs` on every mount of
/// a detached tree (rustix has no wrapper).
fn set_attrs(tree: BorrowedFd<'_>, attrs: u64) -> Result<(), rustix::io::Errno> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    if attrs == 0 {
        return Ok(());
    }
    let attr = MountAttr {
        attr_set: attrs,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a literal, the attribute a live struct of the size passed.
    let done = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            std::ptr::from_ref(&attr),
            std::mem::size_of::<MountAttr>(),
        )
    };
    if done != 0 {
        return Err(rustix::io::Errno::from_raw_os_error(last_errno()));
    }
    Ok(())
}

/// Attaches the detached tree `tree` on the file `to`.
fn attach(tree: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    rustix::mount::move_mount(
        tree,
        c"",
        to,
        c"",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(())
}

/// Sets `attrs` on the mount at `path` with a bind remount, keeping the flags it has (a user
/// namespace refuses a remount that would clear one).
fn remount_with(path: &CString, attrs: u64) -> io::Result<()> {
    const KEEP: u64 = 0x2 | 0x4 | 0x8 | 0x400 | 0x800 | 0x1000; // NOSUID NODEV NOEXEC NOATIME NODIRATIME RELATIME
    let kept = rustix::fs::statvfs(path.as_c_str())?.f_flag.bits() & KEEP;
    // MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC are MS_RDONLY/NOSUID/NODEV/NOEXEC's bits.
    let flags = MountFlags::from_bits_truncate((kept | attrs) as _) | MountFlags::BIND;
    rustix::mount::mount_remount(path.as_c_str(), flags, c"")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::open_checked;

    #[test]
    fn a_path_swapped_since_the_parent_opened_it_is_not_mounted() {
        use std::os::fd::AsFd;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical");
        std::fs::create_dir(dir.join("a")).expect("mkdir");
        let path =
            std::ffi::CString::new(dir.join("a").as_os_str().as_encoded_bytes()).expect("path");
        let st = rustix::fs::stat(path.as_c_str()).expect("stat");
        let id = (st.st_dev, st.st_ino);
        let cwd = rustix::fs::CWD;
        assert!(open_checked(cwd.as_fd(), &path, super::STRICT, Some(id)).is_ok());
        // Another directory in its place: refused.
        std::fs::rename(dir.join("a"), dir.join("b")).expect("rename");
        std::fs::create_dir(dir.join("a")).expect("mkdir");
        let e = open_checked(cwd.as_fd(), &path, super::STRICT, Some(id)).expect_err("swapped");
        assert_eq!(e.raw_os_error(), Some(libc::ESTALE));
        // A link in its place: not followed.
        std::fs::remove_dir(dir.join("a")).expect("rmdir");
        std::os::unix::fs::symlink(dir.join("b"), dir.join("a")).expect("symlink");
        let e = open_checked(cwd.as_fd(), &path, super::STRICT, Some(id)).expect_err("link");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        // Gone: refused the same way, so the run says a policy path changed.
        std::fs::remove_file(dir.join("a")).expect("unlink");
        let e = open_checked(cwd.as_fd(), &path, super::STRICT, Some(id)).expect_err("gone");
        assert_eq!(e.raw_os_error(), Some(libc::ESTALE));
    }
}
