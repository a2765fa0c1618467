//! What the children do between clone and exec (see [`crate::launch`] for how they are started).
//!
//! They share the supervisor's memory, so they must not allocate, lock, free or move anything,
//! or touch anything another thread might hold. Everything they need (paths as C strings, id
//! maps, the compiled seccomp program, the Landlock ruleset, opened cgroup files) is prepared
//! by the parent in a [`ChildPlan`]; the code here only makes system calls and reads the plan.
//! Errors are errnos, handed to the supervisor in the launch's report.
//!
//! The first child is the run's init ([`ChildPlan::init_steps`]). With namespaces it is PID 1
//! of them: it writes its id maps, takes its session, limits and cgroup, builds a private root
//! (tmpfs, read-only binds of the allowed paths, a minimal `/dev`, a fresh `/proc`, private
//! `/tmp`) and pivots into it. Without, it takes its session, limits and cgroup and becomes a
//! subreaper. The program it then starts ([`ChildPlan::become_program`]; with namespaces PID 2,
//! so the kernel's special treatment of PID 1 does not swallow its signals) drops
//! capabilities, applies Landlock and seccomp, and execs. Building the private root is
//! [`root`]'s.

#![allow(unsafe_code)] // close_range, prctl and the Landlock system calls of the children.

mod root;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::process::{Resource, Rlimit, Signal};
use seccompiler::BpfProgram;

use crate::exec_plan::ExecPlan;
use crate::launch::unblock_signals;
pub(crate) use root::{MountStep, RootPlan};

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

/// A child's error: the errno to report.
type Errno = i32;

pub(crate) fn errno_of(e: rustix::io::Errno) -> Errno {
    e.raw_os_error()
}

impl ChildPlan {
    fn session_and_limits(&self) -> Result<(), Errno> {
        rustix::process::setsid().map_err(errno_of)?;
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL)).map_err(errno_of)?;
        // The limit on open files waits until the program's last step (see `confine`).
        for (resource, limit) in self.rlimits.iter().filter(|(r, _)| *r != Resource::Nofile) {
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
        root::build(&ns.root).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
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
        // Descriptors the program should not inherit close at exec: all above 2, but the one
        // it is handed (ProcessSpec::inherit_fd), placed now that Landlock used its ruleset's.
        let first_closed = exec.place_inherited()?;
        // SAFETY: close_range takes no pointers.
        if unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first_closed as u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        } != 0
        {
            return Err(last_errno());
        }
        // Only now the limit on open files: until exec closes them, this process holds copies
        // of the supervisor's descriptors, numbered as high as the supervisor's many runs took
        // them, and a lower limit would make each open of the steps above fail (EMFILE).
        for (resource, limit) in self.rlimits.iter().filter(|(r, _)| *r == Resource::Nofile) {
            rustix::process::setrlimit(*resource, *limit).map_err(errno_of)?;
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
    use super::os_error;

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
}
