//! The unprivileged offline namespaces' holder: a helper that makes a user namespace and the
//! empty network namespace it owns, and hands both over as descriptors (see offline_netns.rs).

#![allow(unsafe_code)] // unshare and raw descriptors in a helper sharing the supervisor's memory.

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use super::stack::Stack;
use super::{arg, clone_child, reap_now, reset_signal_handlers};
use crate::child::{errno_of, write_id_maps};
use crate::dumpable::IdMapGate;

/// What [`holder_child`] is given and reports.
struct Holder<'a> {
    maps: &'a (Vec<u8>, Vec<u8>),
    dumpable_for_maps: bool,
    errno: AtomicI32,
    user: AtomicI32,
    net: AtomicI32,
}

/// A user namespace mapping `maps` (this user's own ids to themselves) and an empty network
/// namespace it owns, kept by the two descriptors returned. Made by a helper that shares this
/// process's descriptor table, since a multi-threaded process cannot enter a new user
/// namespace itself.
pub(crate) fn hold_user_and_net_namespaces(
    maps: &(Vec<u8>, Vec<u8>),
) -> io::Result<(OwnedFd, OwnedFd)> {
    let gate = IdMapGate::enter();
    let holder = Holder {
        maps,
        dumpable_for_maps: gate.dumpable_for_maps(),
        errno: AtomicI32::new(0),
        user: AtomicI32::new(-1),
        net: AtomicI32::new(-1),
    };
    let stack = Stack::new()?;
    let (_, helper) = clone_child(
        holder_child,
        &stack,
        libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_FILES,
        arg(&holder),
    )?;
    let _ = reap_now(&helper);
    let take = |slot: &AtomicI32| match slot.load(Ordering::Acquire) {
        // SAFETY: the helper opened this descriptor in the table it shares with us and kept no
        // other owner of it.
        fd if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => None,
    };
    match (take(&holder.user), take(&holder.net)) {
        (Some(user), Some(net)) => Ok((user, net)),
        _ => Err(match holder.errno.load(Ordering::Acquire) {
            0 => io::Error::other("the namespace helper died"),
            e => io::Error::from_raw_os_error(e),
        }),
    }
}

extern "C" fn holder_child(arg: *mut c_void) -> c_int {
    use rustix::fs::{Mode, OFlags, open};
    use std::os::fd::IntoRawFd;
    // SAFETY: `arg` is the `Holder` the supervisor passed, alive while it waits (CLONE_VFORK).
    let holder = unsafe { &*arg.cast::<Holder<'_>>() };
    reset_signal_handlers();
    let made = (|| {
        let flags = rustix::thread::UnshareFlags::NEWUSER | rustix::thread::UnshareFlags::NEWNET;
        // SAFETY: this child shares memory and descriptors but not its filesystem state or its
        // namespaces with the supervisor; new user and network namespaces change only its own.
        unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(errno_of)?;
        write_id_maps(holder.maps, holder.dumpable_for_maps)?;
        let ns =
            |path| open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(errno_of);
        let (user, net) = (ns(c"/proc/self/ns/user")?, ns(c"/proc/self/ns/net")?);
        // Into the shared table, owned by the supervisor from here on (never closed here).
        holder.user.store(user.into_raw_fd(), Ordering::Release);
        holder.net.store(net.into_raw_fd(), Ordering::Release);
        Ok(())
    })();
    if let Err(e) = made {
        holder.errno.store(e, Ordering::Release);
    }
    // SAFETY: _exit only makes the exit_group system call.
    unsafe { libc::_exit(0) }
}
