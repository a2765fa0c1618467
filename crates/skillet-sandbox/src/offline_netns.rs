//! One empty network namespace per process, which offline runs join instead of each creating
//! (and the kernel then tearing down) their own.
//!
//! Creating a network namespace is the most expensive step of a sandboxed spawn (~0.55 ms of
//! ~2.8). An empty one has nothing to share but its abstract unix socket names, and a run may
//! only join it when Landlock's abstract-socket scope (ABI 6) is in force, which confines each
//! run's abstract sockets to its own Landlock domain. Its loopback stays down and every run has
//! dropped the capabilities that could change that, and the syscall filter refuses every socket
//! family but unix. One thing is visible across runs: `/proc/net/unix` lists the names bound by
//! concurrent runs (not their traffic).
//!
//! `setns` into a network namespace needs `CAP_SYS_ADMIN` in the user namespace that owns it.
//! Root has it. For anyone else, [`shared_unprivileged`] keeps a user namespace of the user's
//! own (its ids mapped to themselves) with the empty network namespace it owns: a run enters
//! both before its init is cloned, so the run's own user namespace is made inside the kept one
//! and has no capability over the network namespace it shares.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

/// The shared namespace, made on first use; `None` if it cannot be made (then runs create
/// their own, as before).
pub(crate) fn shared() -> Option<BorrowedFd<'static>> {
    static NETNS: OnceLock<Option<OwnedFd>> = OnceLock::new();
    NETNS.get_or_init(create).as_ref().map(AsFd::as_fd)
}

/// For runs by a user other than root: the kept user namespace and the network namespace it
/// owns, made on first use; `None` if they cannot be made (then runs create their own).
pub(crate) fn shared_unprivileged() -> Option<(BorrowedFd<'static>, BorrowedFd<'static>)> {
    static HELD: OnceLock<Option<(OwnedFd, OwnedFd)>> = OnceLock::new();
    HELD.get_or_init(|| {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        let maps = (
            format!("{uid} {uid} 1\n").into_bytes(),
            format!("{gid} {gid} 1\n").into_bytes(),
        );
        crate::launch::hold_user_and_net_namespaces(&maps).ok()
    })
    .as_ref()
    .map(|(user, net)| (user.as_fd(), net.as_fd()))
}

/// Unshares the network namespace of a short-lived thread (namespaces belong to threads, so
/// the rest of the process keeps the host's network) and keeps a descriptor to it.
fn create() -> Option<OwnedFd> {
    std::thread::Builder::new()
        .name("skillet-netns".into())
        .spawn(|| {
            // SAFETY: this thread shares nothing with the others that a new network namespace
            // could break; it only opens one file before it ends.
            #[allow(unsafe_code)]
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.ok()?;
            rustix::fs::open(
                "/proc/thread-self/ns/net",
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok()
        })
        .ok()?
        .join()
        .ok()
        .flatten()
}
