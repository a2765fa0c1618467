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
//! Only root joins: `setns` into a network namespace needs `CAP_SYS_ADMIN` in the caller's own
//! user namespace, which an unprivileged run only gains by creating a user namespace, and from
//! there it may not enter one owned by another. Unprivileged runs create their own.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

/// The shared namespace, made on first use; `None` if it cannot be made (then runs create
/// their own, as before).
pub(crate) fn shared() -> Option<BorrowedFd<'static>> {
    static NETNS: OnceLock<Option<OwnedFd>> = OnceLock::new();
    NETNS.get_or_init(create).as_ref().map(AsFd::as_fd)
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
