//! Which sockets a run may make.
//!
//! Offline, only `AF_UNIX` ones: every other family fails with `EAFNOSUPPORT`.
//!
//! Without a private root (namespaces off, or unavailable under best-effort isolation), none of
//! those either. Such a run sees the host's file system through Landlock, and Landlock does not
//! check `connect` or `sendto` to a pathname unix socket: the D-Bus session bus
//! (`systemd-run --user` runs anything outside the sandbox), `docker.sock`, an SSH agent, X11
//! and Wayland, skillet's own daemon. So making an `AF_UNIX` socket fails with `EPERM`: a
//! socket that cannot be made cannot connect, send to a path or bind. `socketpair` still makes
//! a stream or seqpacket pair, connected from birth to its other end only (`connect` answers
//! `EISCONN`, a send ignores or refuses an address), as Python's asyncio and multiprocessing
//! need; the datagram kinds are refused (`SOCK_RAW` is a datagram socket for `AF_UNIX`), since
//! a datagram socket can be connected again, or sent from, to any path. The other ways to such
//! a descriptor are closed elsewhere: descriptors above 2 are closed at exec, opening a
//! socket's path (or its `/proc/<pid>/fd` link) fails with `ENXIO`, `pidfd_getfd` is killed
//! (and needs ptrace rights, which Landlock withholds from a sandboxed process over any process
//! outside it), and `io_uring`, whose operations seccomp never sees, is killed.
//!
//! The two sets name the same calls with disjoint conditions (a family is `AF_UNIX` or not), so
//! their order in the joined program does not matter.

use std::collections::BTreeMap;

use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

use super::compile_error;
use crate::setup_error::FilterError;

/// The bit of a socket type that `SOCK_DGRAM` (2) and `SOCK_RAW` (3, a datagram socket for
/// `AF_UNIX`) have and `SOCK_STREAM` (1) and `SOCK_SEQPACKET` (5) lack; the kernel reads the
/// type's low four bits, and `SOCK_NONBLOCK`/`SOCK_CLOEXEC` are far above them.
const DATAGRAM_TYPE_BIT: u64 = 0x2;

/// A test of the low half of argument `arg`: a socket's family and type are `int`s.
fn cond32(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, FilterError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(compile_error)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, FilterError> {
    SeccompRule::new(conditions).map_err(compile_error)
}

/// For a run without a private root, answered `EPERM`: every `AF_UNIX` socket, and every
/// `AF_UNIX` pair of a datagram kind.
pub(super) fn no_unix() -> Result<BTreeMap<i64, Vec<SeccompRule>>, FilterError> {
    let unix = || cond32(0, SeccompCmpOp::Eq, libc::AF_UNIX as u64);
    let datagram = cond32(
        1,
        SeccompCmpOp::MaskedEq(DATAGRAM_TYPE_BIT),
        DATAGRAM_TYPE_BIT,
    )?;
    Ok(BTreeMap::from([
        (libc::SYS_socket, vec![rule(vec![unix()?])?]),
        (libc::SYS_socketpair, vec![rule(vec![unix()?, datagram])?]),
    ]))
}

/// For an offline run, answered `EAFNOSUPPORT`: sockets and pairs of every family but
/// `AF_UNIX`.
pub(super) fn unix_only() -> Result<BTreeMap<i64, Vec<SeccompRule>>, FilterError> {
    let not_unix = rule(vec![cond32(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?])?;
    Ok(BTreeMap::from([
        (libc::SYS_socket, vec![not_unix.clone()]),
        (libc::SYS_socketpair, vec![not_unix]),
    ]))
}
