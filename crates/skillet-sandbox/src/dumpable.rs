//! Keeping the supervisor's environment and memory out of its programs' reach, and the one
//! thing that makes harder: an init, which shares the supervisor's memory, writing its id
//! maps while that memory is undumpable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Whether [`protect_supervisor`] made this process undumpable; never goes back.
static UNDUMPABLE: AtomicBool = AtomicBool::new(false);
/// Orders the writing of id maps against the change to undumpable (see [`IdMapGate`]).
static ID_MAP_GATE: RwLock<()> = RwLock::new(());

/// Held by an unprivileged launch with namespaces until its init has written its id maps.
///
/// A process's /proc files belong to root while it is undumpable, so an init, which shares
/// this process's memory, can write its own maps only while the memory is dumpable. Before
/// [`protect_supervisor`] has run, launches share the gate and the change waits for them; after
/// it, each init makes the memory dumpable for the moment it writes its maps, one launch at a
/// time, so that none turns it back while another is writing. Only a process that starts
/// unprivileged runs both with and without namespaces pays for that (skillet does not: it runs
/// without namespaces only where there are none).
pub(crate) enum IdMapGate {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

impl IdMapGate {
    pub(crate) fn enter() -> IdMapGate {
        let shared = ID_MAP_GATE.read().unwrap_or_else(PoisonError::into_inner);
        if !UNDUMPABLE.load(Ordering::SeqCst) {
            return IdMapGate::Shared(shared);
        }
        drop(shared);
        IdMapGate::Exclusive(ID_MAP_GATE.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether init must make the memory dumpable while it writes its maps.
    pub(crate) fn dumpable_for_maps(&self) -> bool {
        matches!(self, IdMapGate::Exclusive(_))
    }
}

/// Makes this process undumpable, once: called before a confined child without namespaces
/// is started by a user other than root.
///
/// A process may read the environment and memory of another process of the same user
/// (`/proc/PID/environ`, `/proc/PID/maps`) unless that process is undumpable or holds
/// capabilities the reader lacks, and Landlock's ptrace scoping does not stop these reads on
/// every kernel (it did not on 6.18 here). Without namespaces the program is the supervisor's
/// child and can name its pid. Root's programs drop every capability, so root's supervisor
/// is out of their reach already; anyone else's is made undumpable, like `ssh-agent`, so that
/// its environment (tokens it was started with) and memory stay out of every skill's reach.
/// The cost: no core dumps, and a debugger needs `CAP_SYS_PTRACE` to attach.
///
/// With namespaces nothing is needed: init, which shares the supervisor's memory, holds every
/// capability of its user namespace and the program none.
pub(crate) fn protect_supervisor() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Not while an init is writing its id maps.
        let _gate = ID_MAP_GATE.write().unwrap_or_else(PoisonError::into_inner);
        if rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
            .is_ok()
        {
            UNDUMPABLE.store(true, Ordering::SeqCst);
        }
    });
}
