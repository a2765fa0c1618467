//! What the children do between clone and exec (see launch.rs for how they are started).
//!
//! They share the supervisor's memory, so they must not allocate, lock, free or move anything,
//! or touch anything another thread might hold. Everything they need (paths as C strings, id
//! maps, the compiled seccomp program, the Landlock ruleset, opened cgroup files) is prepared
//! by the parent in a [`ChildPlan`]; the code here only makes system calls and reads the plan.
//! Errors are errnos, handed to the supervisor in launch.rs's report.
//!
//! The first child is the run's init ([`ChildPlan::init_steps`]). With namespaces it is PID 1
//! of them: it writes its id maps, takes its session, limits and cgroup, builds a private root
//! (tmpfs, read-only binds of the allowed paths, a minimal `/dev`, a fresh `/proc`, private
//! `/tmp`) and pivots into it. Without, it takes its session, limits and cgroup and becomes a
//! subreaper. The program it then starts ([`ChildPlan::become_program`]; with namespaces PID 2,
//! so the kernel's special treatment of PID 1 does not swallow its signals) drops
//! capabilities, applies Landlock and seccomp, and execs.

#![allow(unsafe_code)] // close_range, prctl and the Landlock system calls of the children.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MountPropagationFlags, MoveMountFlags,
    OpenTreeFlags, UnmountFlags, open_tree,
};
use rustix::process::{Resource, Rlimit, Signal};
use seccompiler::BpfProgram;

use crate::exec_plan::ExecPlan;
use crate::handles::{FileId, STRICT};
use crate::launch::unblock_signals;

/// Everything the children need, computed before the clone.
pub(crate) struct ChildPlan {
    /// The Landlock ruleset, built in the parent; the program only restricts itself with it.
    pub ruleset: Option<OwnedFd>,
    /// Landlock rules for mounts that exist only inside the private root (its tmpfs `/`,
    /// `/tmp`, `/proc`, `/dev`): added after the pivot, since rules attach to inodes. The
    /// access is a raw Landlock mask, already limited to what the ruleset handles.
    pub inner_rules: Vec<(CString, u64)>,
    pub filter: Option<BpfProgram>,
    pub rlimits: Vec<(Resource, Rlimit)>,
    pub cgroup_procs: Vec<OwnedFd>,
    /// Drop every capability before exec (root keeps uid 0 but gets no privileges).
    pub drop_caps: bool,
    pub namespaces: Option<NamespacePlan>,
}

pub(crate) struct NamespacePlan {
    /// `CLONE_NEW*` flags of the namespaces init is cloned into.
    pub clone_flags: libc::c_int,
    /// An existing network namespace to enter instead of making one (root).
    pub join_net: Option<BorrowedFd<'static>>,
    /// An existing user namespace and the network namespace it owns, entered before init is
    /// cloned, so that init's own user namespace is made inside it and shares its network
    /// namespace (unprivileged; see offline_netns.rs).
    pub join_user_net: Option<(BorrowedFd<'static>, BorrowedFd<'static>)>,
    /// `(uid_map, gid_map)` contents, when not root.
    pub id_maps: Option<(Vec<u8>, Vec<u8>)>,
    /// Processes allowed in the new user namespace, which counts them apart from the user's
    /// others (Linux 5.14+ "ucounts"): the process limit without a cgroup.
    pub nproc: Option<u64>,
    pub root: RootPlan,
}

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
    /// directory with an empty read-only tmpfs nobody may enter.
    Mask {
        target: CString,
        target_id: FileId,
        dir: bool,
    },
    Proc(CString),
}

/// A child's error: the errno to report.
type Errno = i32;

pub(crate) fn errno_of(e: rustix::io::Errno) -> Errno {
    e.raw_os_error()
}

impl ChildPlan {
    fn session_and_limits(&self) -> Result<(), Errno> {
        rustix::process::setsid().map_err(errno_of)?;
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL)).map_err(errno_of)?;
        for (resource, limit) in &self.rlimits {
            rustix::process::setrlimit(*resource, *limit).map_err(errno_of)?;
        }
        for fd in &self.cgroup_procs {
            rustix::io::write(fd, b"0").map_err(errno_of)?;
        }
        Ok(())
    }

    /// In init (PID 1 of the new namespaces): id maps, session, limits, cgroup, network
    /// namespace, and the private root, entered. `dumpable_for_maps`: the shared memory is
    /// undumpable (see dumpable.rs), which leaves init's /proc files to root until it is
    /// dumpable again.
    ///
    /// Without namespaces, init is the run's subreaper instead: what the program leaves behind,
    /// daemonized or not, comes back to it, and it kills all of it when the program ends.
    pub(crate) fn init_steps(&self, dumpable_for_maps: bool) -> Result<(), Errno> {
        let Some(ns) = &self.namespaces else {
            self.session_and_limits()?;
            return rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
                .map_err(errno_of);
        };
        // First, so that the cgroup files are written with this user's own ids.
        if let Some(maps) = &ns.id_maps {
            write_id_maps(maps, dumpable_for_maps)?;
        }
        self.session_and_limits()?;
        if let Some(n) = ns.nproc {
            let limit = Rlimit {
                current: Some(n),
                maximum: Some(n),
            };
            rustix::process::setrlimit(Resource::Nproc, limit).map_err(errno_of)?;
        }
        if let Some(net) = ns.join_net {
            rustix::thread::move_into_link_name_space(
                net,
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .map_err(errno_of)?;
        }
        build_root(&ns.root).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// Confines the calling child and executes the program; returns only on failure, with
    /// the errno to report.
    pub(crate) fn become_program(&self, exec: &ExecPlan) -> Errno {
        match self.confine(exec) {
            Ok(()) => exec.exec(),
            Err(e) => e,
        }
    }

    fn confine(&self, exec: &ExecPlan) -> Result<(), Errno> {
        if self.namespaces.is_none() {
            // A group of its own, which the supervisor kills at a limit; init, outside it,
            // then kills whatever left it.
            rustix::process::setpgid(None, None).map_err(errno_of)?;
        }
        exec.prepare_child()?;
        // With namespaces the parent is init; without, this repeats `enter`'s.
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL)).map_err(errno_of)?;
        if self.drop_caps {
            drop_capabilities()?;
        }
        // Landlock needs no_new_privs (or CAP_SYS_ADMIN) before it restricts.
        rustix::thread::set_no_new_privs(true).map_err(errno_of)?;
        if let Some(ruleset) = &self.ruleset {
            for (path, access) in &self.inner_rules {
                landlock_add_path(ruleset.as_fd(), path, *access)?;
            }
            // SAFETY: landlock_restrict_self takes a descriptor and flags.
            if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) }
                != 0
            {
                return Err(last_errno());
            }
        }
        // Descriptors the program should not inherit close at exec.
        // SAFETY: close_range takes no pointers.
        if unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        } != 0
        {
            return Err(last_errno());
        }
        if let Some(filter) = &self.filter {
            seccompiler::apply_filter(filter)
                .map_err(|e| os_error(&e).raw_os_error().unwrap_or(libc::EPERM))?;
        }
        unblock_signals();
        Ok(())
    }
}

/// Writes the calling process's own id maps (`setgroups` denied first, as an unprivileged map
/// requires). `dumpable_for_maps`: the memory it shares is undumpable (see dumpable.rs), which
/// leaves its /proc files to root until it is dumpable again.
pub(crate) fn write_id_maps(
    (uid_map, gid_map): &(Vec<u8>, Vec<u8>),
    dumpable_for_maps: bool,
) -> Result<(), Errno> {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    if dumpable_for_maps {
        set_dumpable_behavior(DumpableBehavior::Dumpable).map_err(errno_of)?;
    }
    let written = write_file(c"/proc/self/setgroups", b"deny")
        .and_then(|()| write_file(c"/proc/self/uid_map", uid_map))
        .and_then(|()| write_file(c"/proc/self/gid_map", gid_map));
    if dumpable_for_maps {
        set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(errno_of)?;
    }
    written
}

/// The calling thread's errno (in a child: the supervisor thread's, which is waiting).
pub(crate) fn last_errno() -> Errno {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `landlock_add_rule(LANDLOCK_RULE_PATH_BENEATH)` for `path`, made here because the landlock
/// crate's rules take ownership of what they are given, which a child sharing the parent's
/// memory must not do.
fn landlock_add_path(ruleset: BorrowedFd<'_>, path: &CString, access: u64) -> Result<(), Errno> {
    #[repr(C, packed)]
    struct PathBeneathAttr {
        allowed_access: u64,
        parent_fd: i32,
    }
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
    let fd = rustix::fs::open(
        path.as_c_str(),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_of)?;
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: fd.as_raw_fd(),
    };
    // SAFETY: the attribute is a live, correctly laid out struct for this rule type.
    let added = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_PATH_BENEATH,
            std::ptr::from_ref(&attr),
            0u32,
        )
    };
    if added != 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// The system error behind a library's error, without allocating: a child sharing the
/// parent's memory must not call the allocator.
fn os_error(error: &(dyn std::error::Error + 'static)) -> io::Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(errno) = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return io::Error::from_raw_os_error(errno);
        }
        cause = e.source();
    }
    io::Error::from(io::ErrorKind::PermissionDenied)
}

/// Closes every descriptor but `keep` (which must be above 2).
pub(crate) fn close_all_but(keep: libc::c_int) {
    // SAFETY: close_range takes integers only.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0u32, (keep - 1) as u32, 0u32);
        libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
    }
}

fn write_file(path: &std::ffi::CStr, contents: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(errno_of)?;
    rustix::io::write(fd.as_fd(), contents).map_err(errno_of)?;
    Ok(())
}

fn build_root(plan: &RootPlan) -> io::Result<()> {
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
                    set_attrs(mask.as_fd(), sealed)?;
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
/// when one is given: `ESTALE` when it is another (swapped in since the parent opened it).
fn open_checked(
    dir: BorrowedFd<'_>,
    path: &CString,
    resolve: ResolveFlags,
    id: Option<FileId>,
) -> io::Result<OwnedFd> {
    let fd = rustix::fs::openat2(
        dir,
        path.as_c_str(),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )?;
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

/// Empties the capability bounding, ambient and inheritable sets, so the program starts with
/// none even as uid 0.
fn drop_capabilities() -> Result<(), Errno> {
    for cap in 0..=63 {
        // SAFETY: PR_CAPBSET_DROP takes integers; EINVAL past the last capability ends the loop.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
            break;
        }
    }
    // SAFETY: integers only.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    // The bounding set only limits what exec grants from the file: root's program would still
    // get every capability of the inheritable set (a container runtime may fill it), such as
    // CAP_SETFCAP to write file capabilities or CAP_CHOWN to give files away. Empty it.
    let mut sets = rustix::thread::capabilities(None).map_err(errno_of)?;
    sets.inheritable = rustix::thread::CapabilitySet::empty();
    rustix::thread::set_capabilities(None, sets).map_err(errno_of)
}

#[cfg(test)]
mod tests {
    use super::{open_checked, os_error};

    #[test]
    fn a_library_error_becomes_the_errno_behind_it() {
        let failed = seccompiler::Error::Seccomp(std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(os_error(&failed).raw_os_error(), Some(libc::EACCES));
        let opaque = std::fmt::Error;
        assert_eq!(
            os_error(&opaque).kind(),
            std::io::ErrorKind::PermissionDenied
        );
    }

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
    }
}
