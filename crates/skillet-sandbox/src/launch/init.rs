//! What the children run once cloned: the entry child that joins shared namespaces, the run's
//! init (which starts the program, reports it running and reaps until it ends), and the
//! program itself. Raw system calls only after init reports (see the parent module).

#![allow(unsafe_code)] // clone, _exit and raw descriptors in children sharing the supervisor's memory.

use std::ffi::{c_int, c_void};
use std::io;
use std::sync::atomic::Ordering;

use super::{Report, Shared, reset_signal_handlers};
use crate::child::last_errno;

/// Joins the shared user and network namespaces and clones init into its own namespaces
/// inside them, as the supervisor's child (`CLONE_PARENT`); then exits.
pub(super) extern "C" fn entry_child(arg: *mut c_void) -> c_int {
    use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
    // SAFETY: `arg` is the `Shared` the supervisor passed, alive while it waits (CLONE_VFORK);
    // init, cloned here, is given the same pointer and the supervisor then waits for it.
    let shared = unsafe { &*arg.cast::<Shared<'_>>() };
    reset_signal_handlers();
    let Some((user, net)) = shared
        .plan
        .namespaces
        .as_ref()
        .and_then(|ns| ns.join_user_net)
    else {
        shared.report.fail(libc::EINVAL)
    };
    for (fd, kind) in [
        (user, LinkNameSpaceType::User),
        (net, LinkNameSpaceType::Network),
    ] {
        if let Err(e) = move_into_link_name_space(fd, Some(kind)) {
            shared.report.fail(e.raw_os_error());
        }
    }
    // SAFETY: as in `clone_child`; init runs on its own stack. CLONE_PARENT_SETTID has the
    // kernel store init's pid in the report before init runs, so the supervisor learns it even
    // if this child were killed right after the clone (init reads `shared` until it is ready,
    // and the supervisor must wait for it).
    let init = unsafe {
        libc::clone(
            init_child,
            shared.init_stack,
            libc::CLONE_VM
                | libc::CLONE_PARENT
                | libc::CLONE_PARENT_SETTID
                | shared.ns_flags
                | libc::SIGCHLD,
            arg,
            shared.report.init_pid.as_ptr(),
        )
    };
    if init == -1 {
        shared.report.fail(last_errno());
    }
    // SAFETY: _exit only makes the exit_group system call.
    unsafe { libc::_exit(0) }
}

/// The run's init: PID 1 of the new namespaces, or without namespaces the subreaper the
/// program runs under.
pub(super) extern "C" fn init_child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Shared` the supervisor passed, alive until init writes to `ready`.
    let shared = unsafe { &*arg.cast::<Shared<'_>>() };
    reset_signal_handlers();
    if let Err(e) = shared.plan.init_steps(shared.dumpable_for_maps) {
        shared.report.fail(e);
    }
    // SAFETY: as in `clone_child`; the program runs on its own stack and init waits for it to
    // exec or fail (CLONE_VFORK).
    let program = unsafe {
        libc::clone(
            program_child,
            shared.program_stack,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            arg,
        )
    };
    if program == -1 {
        shared.report.fail(last_errno());
    }
    let report: &Report = shared.report;
    report.program_pid.store(program, Ordering::Release);
    if report.failure().is_some() {
        // The program failed before exec. CLONE_VFORK let init go on as soon as the program let
        // go of the shared memory, before it finished exiting: reaped here, it has left the
        // run's cgroup by the time the supervisor, once init is gone, removes the group.
        if let Some(pid) = rustix::process::Pid::from_raw(program) {
            while let Err(rustix::io::Errno::INTR) =
                rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
            {
            }
        }
        // SAFETY: _exit only makes the exit_group system call (the namespace goes with it).
        unsafe { libc::_exit(127) }
    }
    // The program runs. Init keeps no descriptor but the socket (it holds copies of everything
    // the supervisor had open, other runs' pipes included), tells the supervisor, and from here
    // on touches nothing of `shared`.
    let ready = shared.ready;
    let kills_rest = shared.plan.namespaces.is_none();
    crate::child::close_all_but(ready);
    // With a private root, init's root is it: handed over with the message, so the supervisor
    // holds it however soon the program ends.
    let root = (!kills_rest)
        .then(|| {
            rustix::fs::open(
                c"/",
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok()
        })
        .flatten();
    // SAFETY: init's own copy of the socket's end, closed right after.
    unsafe {
        let socket = std::os::fd::BorrowedFd::borrow_raw(ready);
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
        let fds;
        if let Some(root) = &root {
            fds = [std::os::fd::AsFd::as_fd(root)];
            control.push(rustix::net::SendAncillaryMessage::ScmRights(&fds));
        }
        let _ = rustix::net::sendmsg(
            socket,
            &[io::IoSlice::new(&[1])],
            &mut control,
            rustix::net::SendFlags::empty(),
        );
        rustix::io::close(ready);
    }
    // Dropped with raw close: the supervisor has its own copy now.
    if let Some(root) = root {
        // SAFETY: init's own descriptor, closed once.
        unsafe { rustix::io::close(std::os::fd::IntoRawFd::into_raw_fd(root)) };
    }
    init_reap(program, report, kills_rest)
}

/// Init after the program started: reap every process until the program ends, then store its
/// status and exit. With namespaces the kernel then kills whatever is left in them; without
/// (`kill_rest`), init, their subreaper, kills it first.
fn init_reap(program: c_int, report: &Report, kill_rest: bool) -> ! {
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some((pid, status))) if pid.as_raw_nonzero().get() == program => {
                report.status.store(status.as_raw(), Ordering::Relaxed);
                report.reported.store(true, Ordering::Release);
                if kill_rest {
                    kill_descendants();
                }
                // SAFETY: _exit only makes the exit_group system call.
                unsafe { libc::_exit(0) }
            }
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            // SAFETY: as above; with no child left there is nothing to wait for.
            Err(_) => unsafe { libc::_exit(125) },
        }
    }
}

/// Kills and reaps every child of this process until it has none: each killed process's own
/// children come back to it (it is a subreaper) before that process can be reaped, so none is
/// missed. Raw system calls only (see the module documentation).
fn kill_descendants() {
    use rustix::process::{WaitOptions, wait};
    // Most programs leave nothing behind: then there is no child left at all.
    if let Err(rustix::io::Errno::CHILD) = wait(WaitOptions::NOHANG) {
        return;
    }
    loop {
        // Without the list (a kernel without CONFIG_PROC_CHILDREN), waiting could last as long
        // as a daemon the program left: exit, and let the cgroup, if any, catch it.
        let Some(children) = ChildList::read() else {
            return;
        };
        for pid in children.iter() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        match wait(WaitOptions::empty()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// This process's children, from `/proc/thread-self/children` (init is single-threaded), read
/// into a buffer on the stack.
struct ChildList {
    buf: [u8; 4096],
    len: usize,
}

impl ChildList {
    fn read() -> Option<ChildList> {
        use rustix::fs::{Mode, OFlags};
        let mut list = ChildList {
            buf: [0; 4096],
            len: 0,
        };
        let path = c"/proc/thread-self/children";
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        list.len = rustix::io::read(&fd, &mut list.buf).unwrap_or(0);
        // SAFETY: the descriptor just opened, closed once (rustix leaves errno alone; the
        // standard library's close would not on failure).
        unsafe { rustix::io::close(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
        if list.len == list.buf.len() {
            // Cut short: the last number may be cut too, and must not be taken for a pid. The
            // next round reads the rest.
            list.len = list.buf.iter().rposition(|&b| b == b' ').unwrap_or(0);
        }
        Some(list)
    }

    fn iter(&self) -> impl Iterator<Item = rustix::process::Pid> + '_ {
        self.buf[..self.len]
            .split(|&b| b == b' ' || b == b'\n')
            .filter_map(|digits| {
                let mut n: i32 = 0;
                for &d in digits {
                    let digit = d.is_ascii_digit().then(|| i32::from(d - b'0'))?;
                    n = n.checked_mul(10)?.checked_add(digit)?;
                }
                rustix::process::Pid::from_raw(n)
            })
    }
}

/// The program, cloned by init.
extern "C" fn program_child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Shared` init was given, alive while init waits (CLONE_VFORK).
    let shared = unsafe { &*arg.cast::<Shared<'_>>() };
    let errno = shared.plan.become_program(shared.exec);
    shared.report.fail(errno)
}
