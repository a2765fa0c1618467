//! Starting the confined process tree without copying the supervisor's address space.
//!
//! `fork` copies the page tables of the whole supervisor (a daemon with a runtime, a database
//! and caches), and every page either side then writes is copied again; a `pre_exec` hook makes
//! the standard library fork. Instead, the children here are made with `clone(CLONE_VM)`: they
//! run on stacks of their own inside the supervisor's memory until they exec, as glibc's
//! `posix_spawn` does.
//!
//! - Without namespaces: one child (`CLONE_VFORK`, so the calling thread waits until it has
//!   exec'd or failed) takes its place in the session, cgroup and limits, confines itself and
//!   execs.
//! - With namespaces: the child is cloned straight into its new namespaces, so it is PID 1
//!   there ("init") and no waiter is needed outside. Init builds the private root and clones the
//!   program with `CLONE_VM | CLONE_VFORK`; once the program has exec'd it tells the supervisor
//!   over a socket (with its root, which holds the scratch tmpfs) and, for the rest of the run,
//!   only reaps. When the program ends, init stores its wait status in the [`Report`] and
//!   exits, which kills what is left in the namespace.
//!   For a user other than root joining the kept offline namespaces (offline_netns.rs), an
//!   entry child enters them first and clones init as the supervisor's child.
//!
//! What makes sharing memory sound: every child blocks all signals and resets every handler
//! before it runs any code of ours, so no handler of the supervisor runs on a child's stack;
//! the children only make system calls on data the supervisor prepared and does not touch until
//! they are done with it (the calling thread is blocked meanwhile); nothing is allocated, freed
//! or moved out of that data; and after it reports, init uses only its own stack, the boxed
//! [`Report`] and raw system calls that leave `errno` (the supervisor thread's, since the
//! children share its thread pointer) alone. Its stack and the report are freed only after init
//! has been reaped ([`crate::process::ChildProcess`]).
//!
//! This module clones the children and waits for them to report; what each child runs once
//! cloned is in [`init`], the stacks in [`stack`], and the helper that makes the unprivileged
//! offline namespaces in [`ns_holder`].

#![allow(unsafe_code)] // clone, execve, signal masks and the stacks the children run on.

mod init;
mod ns_holder;
mod stack;

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::child::ChildPlan;
use crate::dumpable::IdMapGate;
use crate::exec_plan::ExecPlan;
use init::{entry_child, init_child};
pub(crate) use ns_holder::hold_user_and_net_namespaces;
use stack::Stack;

/// What the children tell the supervisor, in memory they share with it.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// The errno of the step that failed before exec; 0 while none has.
    errno: AtomicI32,
    /// The program's raw wait status, stored by init just before it exits.
    status: AtomicI32,
    /// Whether `status` was stored.
    reported: AtomicBool,
    /// Init's pid, stored by the kernel when the entry child clones it (see [`entry_child`]).
    init_pid: AtomicI32,
    /// The program's pid, stored by init once it has exec'd.
    program_pid: AtomicI32,
}

impl Report {
    /// The program's raw wait status, when init reported one.
    pub(crate) fn program_status(&self) -> Option<i32> {
        self.reported
            .load(Ordering::Acquire)
            .then(|| self.status.load(Ordering::Relaxed))
    }

    fn fail(&self, errno: i32) -> ! {
        self.errno.store(errno.max(1), Ordering::Release);
        // SAFETY: _exit only makes the exit_group system call.
        unsafe { libc::_exit(127) }
    }

    fn failure(&self) -> Option<io::Error> {
        match self.errno.load(Ordering::Acquire) {
            0 => None,
            e => Some(io::Error::from_raw_os_error(e)),
        }
    }
}

/// What init needs kept alive until it has been reaped.
pub(crate) struct InitMemory {
    pub report: Box<Report>,
    _init_stack: Stack,
    _program_stack: Stack,
}

/// The process a limit kills first; the rest of the run dies after it.
pub(crate) enum KillFirst {
    /// Init: with namespaces, killing it ends them.
    Init,
    /// The program, by its pidfd when it could be opened (else init): without namespaces
    /// init, the subreaper, outlives it to kill what it left.
    Program(Option<OwnedFd>),
}

/// A started process: the supervisor's child.
pub(crate) struct Launched {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The run's process group: init's with namespaces (killing init ends them), the
    /// program's without (init, the subreaper, stays out of it to kill what leaves it).
    pub group: i32,
    /// What a limit kills.
    pub kill_first: KillFirst,
    /// With namespaces, init's memory (see the module documentation).
    pub init: Option<InitMemory>,
    /// With namespaces, the private root, opened by init before it said the program runs: it
    /// keeps the root's tmpfs, which holds the scratch, readable after the run (scratch.rs).
    pub root: Option<OwnedFd>,
}

/// What the child functions read, all prepared by the supervisor.
struct Shared<'a> {
    plan: &'a ChildPlan,
    exec: &'a ExecPlan,
    report: &'a Report,
    /// Init's end of the socket it reports readiness on, with its root attached when it has a
    /// private one.
    ready: RawFd,
    /// The program's stack (namespaces only).
    program_stack: *mut c_void,
    /// Whether init must make the memory it shares dumpable while it writes its id maps.
    dumpable_for_maps: bool,
    /// Init's stack and namespace flags, for an entry child that clones init (namespaces
    /// joined first only).
    init_stack: *mut c_void,
    ns_flags: c_int,
}

/// Starts the process tree `plan` describes, executing `exec`. Returns once the program has
/// been executed, or with the errno of the step that failed.
pub(crate) fn launch(plan: &ChildPlan, exec: &ExecPlan) -> io::Result<Launched> {
    let ns_flags = plan.namespaces.as_ref().map_or(0, |ns| ns.clone_flags);
    launch_init(plan, exec, ns_flags)
}

fn launch_init(plan: &ChildPlan, exec: &ExecPlan, ns_flags: c_int) -> io::Result<Launched> {
    let gate = plan
        .namespaces
        .as_ref()
        .is_some_and(|ns| ns.id_maps.is_some())
        .then(IdMapGate::enter);
    let dumpable_for_maps = gate.as_ref().is_some_and(IdMapGate::dumpable_for_maps);
    let init_stack = Stack::new()?;
    let program_stack = Stack::new()?;
    let report = Box::<Report>::default();
    let (ready_read, ready_write) = rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    let shared = Shared {
        plan,
        exec,
        report: &report,
        ready: ready_write.as_raw_fd(),
        program_stack: program_stack.top(),
        dumpable_for_maps,
        init_stack: init_stack.top(),
        ns_flags,
    };
    let joins = plan
        .namespaces
        .as_ref()
        .is_some_and(|ns| ns.join_user_net.is_some());
    let (pid, pidfd) = if joins {
        clone_init_after_joining(&shared)?
    } else {
        clone_child(
            init_child,
            &init_stack,
            libc::CLONE_VM | ns_flags,
            arg(&shared),
        )?
    };
    drop(ready_write);
    // Until init says the program runs (or dies trying), it reads `shared`, so this thread
    // waits here and keeps it alive. rustix's read leaves errno alone (see the module docs).
    let mut byte = [0u8; 1];
    let mut root = None;
    let ready = loop {
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        match rustix::net::recvmsg(
            &ready_read,
            &mut [io::IoSliceMut::new(&mut byte)],
            &mut control,
            rustix::net::RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                for message in control.drain() {
                    if let rustix::net::RecvAncillaryMessage::ScmRights(mut fds) = message {
                        root = fds.next();
                    }
                }
                break msg.bytes == 1;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break false,
        }
    };
    if !ready {
        let error = report
            .failure()
            .unwrap_or_else(|| io::Error::other("the sandbox's init process died while starting"));
        if !reap_now(&pidfd) {
            std::mem::forget((report, init_stack, program_stack));
        }
        return Err(error);
    }
    let (group, kill_first) = if plan.namespaces.is_some() {
        (pid, KillFirst::Init)
    } else {
        let program = report.program_pid.load(Ordering::Acquire);
        // The program is init's child, and init reaps it only once it has ended: until then
        // its pid cannot be reused.
        let pidfd = rustix::process::Pid::from_raw(program).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        (program, KillFirst::Program(pidfd))
    };
    Ok(Launched {
        pid,
        pidfd,
        group,
        kill_first,
        init: Some(InitMemory {
            report,
            _init_stack: init_stack,
            _program_stack: program_stack,
        }),
        root,
    })
}

/// Clones init through an entry child that first joins the shared user and network namespaces
/// (so init's own user namespace is made inside the shared one) and clones init as this
/// process's child. Returns init's pid and pidfd.
fn clone_init_after_joining(shared: &Shared<'_>) -> io::Result<(i32, OwnedFd)> {
    let entry_stack = Stack::new()?;
    let (_, entry) = clone_child(
        entry_child,
        &entry_stack,
        libc::CLONE_VM | libc::CLONE_VFORK,
        arg(shared),
    )?;
    // CLONE_VFORK: the entry child has exited by now.
    let _ = reap_now(&entry);
    let pid = shared.report.init_pid.load(Ordering::Acquire);
    let Some(init) = rustix::process::Pid::from_raw(pid) else {
        return Err(shared
            .report
            .failure()
            .unwrap_or_else(|| io::Error::other("the sandbox's entry process died")));
    };
    // Init is this process's child (CLONE_PARENT), so nobody else can reap it and its pid
    // cannot be reused before the pidfd is open.
    match rustix::process::pidfd_open(init, rustix::process::PidfdFlags::empty()) {
        Ok(pidfd) => Ok((pid, pidfd)),
        Err(e) => {
            // Init reads `shared` until it is ready: it must be gone before this returns.
            let _ = rustix::process::kill_process(init, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(init), rustix::process::WaitOptions::empty());
            Err(e.into())
        }
    }
}

/// `shared` as the argument of a child's entry function.
fn arg<T>(shared: &T) -> *mut c_void {
    std::ptr::from_ref(shared).cast_mut().cast()
}

/// Clones a child that runs `entry(arg)` on `stack`, with every signal blocked around the
/// clone so none is handled on the child's stack before it has reset the handlers.
fn clone_child(
    entry: extern "C" fn(*mut c_void) -> c_int,
    stack: &Stack,
    flags: c_int,
    arg: *mut c_void,
) -> io::Result<(i32, OwnedFd)> {
    let mut pidfd: c_int = -1;
    let (all, mut old) = (full_sigset(), empty_sigset());
    // SAFETY: the sets are initialised; pthread_sigmask only changes this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old) };
    // SAFETY: the child runs `entry` on its own stack with `arg`, which points to data on this
    // thread's stack that lives until this function's caller is done with the child (see the
    // module documentation for what the child may touch). CLONE_PIDFD stores a descriptor in
    // `pidfd`.
    let pid = unsafe {
        libc::clone(
            entry,
            stack.top(),
            flags | libc::CLONE_PIDFD | libc::SIGCHLD,
            arg,
            &mut pidfd as *mut c_int,
            std::ptr::null_mut::<c_void>(),
            std::ptr::null_mut::<c_int>(),
        )
    };
    let cloned = if pid == -1 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: CLONE_PIDFD made this descriptor for us.
        Ok((pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
    };
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    cloned
}

/// Kills a child and reaps it; says whether it was reaped (if not, it may still run in this
/// process's memory, which must then never be freed).
pub(crate) fn reap_now(pidfd: &OwnedFd) -> bool {
    use std::os::fd::AsFd;
    let _ = rustix::process::pidfd_send_signal(pidfd.as_fd(), rustix::process::Signal::KILL);
    loop {
        match rustix::process::waitid(
            rustix::process::WaitId::PidFd(pidfd.as_fd()),
            rustix::process::WaitIdOptions::EXITED,
        ) {
            Err(rustix::io::Errno::INTR) => {}
            done => return done.is_ok(),
        }
    }
}

fn full_sigset() -> libc::sigset_t {
    let mut set = empty_sigset();
    // SAFETY: fills the set it is given.
    unsafe { libc::sigfillset(&mut set) };
    set
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    unsafe {
        let mut set = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}

/// In a child: every handler back to the default (ignored signals stay ignored, as across exec,
/// except SIGPIPE, which Rust ignores for itself and programs expect at its default).
fn reset_signal_handlers() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || (32..libc::SIGRTMIN()).contains(&sig) {
            continue;
        }
        // SAFETY: sigaction with a valid number and a zeroed (SIG_DFL) action to read into.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old);
            if old.sa_sigaction != libc::SIG_DFL
                && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
    }
}

/// In the program, just before exec: no signal blocked, as a fresh process expects.
pub(crate) fn unblock_signals() {
    let none = empty_sigset();
    // SAFETY: an initialised set; only this process's mask changes.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) };
}
