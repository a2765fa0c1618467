//! What the child does between fork and exec.
//!
//! This runs in a process forked from a multi-threaded parent, so it must not allocate, lock, or
//! touch anything another thread might hold. Everything it needs (paths as C strings, id maps,
//! the compiled seccomp programs, the Landlock ruleset, opened cgroup files) is prepared by the
//! parent in a [`ChildPlan`]; the code here only makes system calls through rustix.
//!
//! With namespaces the sequence is: new session, parent-death signal, rlimits, join the cgroup,
//! `unshare` the namespaces, write the id maps, fork. The forked child is PID 1 of the new PID
//! namespace: it builds a private root (tmpfs, read-only binds of the allowed paths, a minimal
//! `/dev`, a fresh `/proc`, private `/tmp`), pivots into it and forks the program, then stays as
//! init: it reaps orphans and, when the program ends, reports its status and exits, which kills
//! everything left in the namespace. The program (PID 2, so the kernel's special treatment of
//! PID 1 does not swallow its signals) drops capabilities, applies Landlock and seccomp and
//! returns so it is executed. The first process stays outside as a waiter that ends exactly as
//! the program did; killing its process group kills the whole namespace.

#![allow(unsafe_code)] // fork, _exit and the seccomp/prctl calls of a pre-exec hook.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use landlock::{AccessFs, BitFlags, PathBeneath, RulesetCreated, RulesetCreatedAttr};
use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::process::{Resource, Rlimit, Signal};
use rustix::thread::UnshareFlags;
use seccompiler::BpfProgram;

/// Everything the child needs, computed before fork.
pub(crate) struct ChildPlan {
    pub ruleset: Option<RulesetCreated>,
    /// Landlock rules for mounts that exist only inside the private root (its tmpfs `/`,
    /// `/tmp`, `/proc`, `/dev`): added after the pivot, since rules attach to inodes.
    pub inner_rules: Vec<(CString, BitFlags<AccessFs>)>,
    pub filter: Option<BpfProgram>,
    pub rlimits: Vec<(Resource, Rlimit)>,
    pub cgroup_procs: Vec<OwnedFd>,
    pub namespaces: Option<NamespacePlan>,
}

pub(crate) struct NamespacePlan {
    pub flags: UnshareFlags,
    /// An existing network namespace to enter instead of unsharing one.
    pub join_net: Option<BorrowedFd<'static>>,
    /// `(uid_map, gid_map)` contents, when not root.
    pub id_maps: Option<(Vec<u8>, Vec<u8>)>,
    /// Processes allowed in the new user namespace, which counts them apart from the user's
    /// others (Linux 5.14+ "ucounts"): the process limit without a cgroup.
    pub nproc: Option<u64>,
    /// Drop every capability before exec (root keeps uid 0 but gets no privileges).
    pub drop_caps: bool,
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
    Proc(CString),
}

impl ChildPlan {
    /// Runs in the child after fork. Returns to let the program be executed.
    pub(crate) fn apply(&mut self) -> io::Result<()> {
        rustix::process::setsid()?;
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
        for (resource, limit) in &self.rlimits {
            rustix::process::setrlimit(*resource, *limit)?;
        }
        for fd in &self.cgroup_procs {
            rustix::io::write(fd, b"0")?;
        }
        if let Some(ns) = &self.namespaces {
            if let Some(net) = ns.join_net {
                rustix::thread::move_into_link_name_space(
                    net,
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )?;
            }
            // SAFETY: the child is single-threaded and shares nothing with the parent's threads;
            // unsharing namespaces (not files or fs state) cannot break Rust's assumptions.
            unsafe { rustix::thread::unshare_unsafe(ns.flags)? };
            if let Some((uid_map, gid_map)) = &ns.id_maps {
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", uid_map)?;
                write_file(c"/proc/self/gid_map", gid_map)?;
                if let Some(n) = ns.nproc {
                    rustix::process::setrlimit(
                        Resource::Nproc,
                        Rlimit {
                            current: Some(n),
                            maximum: Some(n),
                        },
                    )?;
                }
            }
            // The program's wait status travels from init to the waiter outside over this pipe.
            let mut status_pipe = [0; 2];
            // SAFETY: pipe2 writes two descriptors into the array it is given.
            if unsafe { libc::pipe2(status_pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let [status_read, status_write] = status_pipe;
            match fork()? {
                0 => {}
                init => outside_waiter(init, status_read),
            }
            // PID 1 of the new namespace: build the root, start the program, reap.
            close_fd(status_read);
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            build_root(&ns.root)?;
            match fork()? {
                0 => {}
                program => init(program, status_write),
            }
            // The program (PID 2). Not PID 1, so rlimit signals and the like act normally.
            close_fd(status_write);
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            if ns.drop_caps {
                drop_capabilities()?;
            }
        }
        if let Some(mut ruleset) = self.ruleset.take() {
            for (path, access) in &self.inner_rules {
                let fd = rustix::fs::open(
                    path.as_c_str(),
                    OFlags::PATH | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                (&mut ruleset)
                    .add_rule(PathBeneath::new(fd, *access))
                    .map_err(|e| os_error(&e))?;
            }
            ruleset.restrict_self().map_err(|e| os_error(&e))?;
        }
        rustix::thread::set_no_new_privs(true)?;
        // Descriptors the program should not inherit close at exec (std's own error pipe must
        // stay open until then).
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
            return Err(io::Error::last_os_error());
        }
        if let Some(filter) = &self.filter {
            seccompiler::apply_filter(filter).map_err(|e| os_error(&e))?;
        }
        Ok(())
    }
}

/// The system error behind a library's error, without allocating: std sends the parent only
/// the errno of a failed pre-exec hook, and a child forked from a multi-threaded parent must
/// not call the allocator (another thread may have held its lock at fork).
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

fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: the calling process is single-threaded (a fresh fork of the supervisor); the
    // child only makes system calls on memory prepared before the first fork.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid),
    }
}

fn close_fd(fd: libc::c_int) {
    // SAFETY: closing a descriptor this process owns.
    unsafe { libc::close(fd) };
}

/// Closes every descriptor from 3 up except `keep`.
fn close_all_but(keep: libc::c_int) {
    // SAFETY: close_range takes integers only.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, (keep - 1) as u32, 0u32);
        libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
    }
}

/// Ends this process the way `status` (a raw wait status) says the program ended.
fn exit_like(status: libc::c_int) -> ! {
    // SAFETY: signal, kill and _exit take integers; _exit never returns.
    unsafe {
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(125)
    }
}

/// Outside the namespace: wait for init's report of the program's status, reap init, and end
/// the same way the program did. Closing std's error pipe here lets the supervisor's spawn
/// return as soon as the program is executed.
fn outside_waiter(init: libc::pid_t, status_read: libc::c_int) -> ! {
    close_all_but(status_read);
    let mut report = [0u8; 4];
    let mut got = 0;
    while got < report.len() {
        // SAFETY: reading into the rest of a stack buffer.
        let n = unsafe {
            libc::read(
                status_read,
                report[got..].as_mut_ptr().cast(),
                report.len() - got,
            )
        };
        match n {
            n if n > 0 => got += n as usize,
            -1 if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => break,
        }
    }
    let mut init_status = 0;
    // SAFETY: waitpid writes the status into the integer it is given.
    while unsafe { libc::waitpid(init, &mut init_status, 0) } == -1
        && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    {}
    // Without a report, init itself died (killed from outside): end like it.
    exit_like(if got == report.len() {
        libc::c_int::from_ne_bytes(report)
    } else {
        init_status
    })
}

/// PID 1: reap everything, and when the program ends report its status and exit, which makes
/// the kernel kill whatever is left in the namespace.
fn init(program: libc::pid_t, status_write: libc::c_int) -> ! {
    close_all_but(status_write);
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into the integer it is given.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == program {
            let bytes = status.to_ne_bytes();
            // SAFETY: writing a stack buffer; _exit never returns.
            unsafe {
                libc::write(status_write, bytes.as_ptr().cast(), bytes.len());
                libc::_exit(0);
            }
        }
        if pid == -1 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(125) }
        }
    }
}

fn write_file(path: &std::ffi::CStr, contents: &[u8]) -> io::Result<()> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(fd.as_fd(), contents)?;
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

/// Empties the capability bounding set and the ambient set, so the program starts with none even
/// as uid 0.
fn drop_capabilities() -> io::Result<()> {
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
    Ok(())
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
