//! One owner per session: the lease a manager holds in the store on every session it drives.
//!
//! Two daemons (started on different sockets) share one store. Without a lease both would
//! restore the same session after a restart and feed it different inputs, splitting its state.
//! The lease is taken before a session is started or replayed, renewed while it is live,
//! given up when it ends, and taken over by another process only after it expires, or at once
//! when its holder is a process of this machine that no longer exists (a daemon killed with
//! SIGKILL must not keep its sessions from a restart for the whole lease time).

use std::time::{Duration, Instant};

use skillet_store::{LeaseGrant, LeaseRequest, SessionLease};

use super::{Session, SessionError, SessionManager, lock};

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often a manager renews its leases (from [`SessionManager::tick`]).
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// This process as the owner of sessions.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    /// Unique per manager.
    pub(crate) id: String,
    /// What it is, for the message another process shows ("the daemon on …").
    pub(crate) holder: String,
}

impl Default for Owner {
    fn default() -> Self {
        Owner {
            id: uuid::Uuid::now_v7().to_string(),
            holder: "another skillet process".into(),
        }
    }
}

/// The machine and pid namespace a pid is meaningful in: the kernel's boot id and the pid
/// namespace's inode. Another process's pid can only be checked when both match ours (several
/// machines share a PostgreSQL store, and a pid of one means nothing on another).
pub fn this_host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let ns = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("{}/{ns}", boot.trim())
    })
    .clone()
}

/// Whether the holder of `lease` is a process of this machine that has exited.
fn holder_gone(lease: &SessionLease) -> bool {
    let host = this_host();
    // Without a boot id and namespace to compare, a pid means nothing: wait for expiry.
    if host == "/" || lease.host != host || lease.pid <= 0 {
        return false;
    }
    // A killed daemon whose parent has not reaped it yet is a zombie: gone all the same.
    i32::try_from(lease.pid).map_or(true, skillet_sandbox::has_exited)
}

impl SessionManager {
    /// Names this manager in the message another process gets when it asks for a session this
    /// one drives (the daemon passes "the daemon on SOCKET").
    pub fn with_holder(mut self, holder: impl Into<String>) -> SessionManager {
        self.owner.holder = holder.into();
        self
    }

    /// Takes the lease on session `id` for this manager, or says who holds it.
    pub(crate) fn take_lease(&self, id: &str) -> Result<(), SessionError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let request = LeaseRequest {
            owner: self.owner.id.clone(),
            pid: i64::from(std::process::id()),
            host: this_host(),
            holder: self.owner.holder.clone(),
            ttl_ms: i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX),
        };
        match store.lease_session(id, &request, &holder_gone)? {
            LeaseGrant::Acquired { .. } | LeaseGrant::NoSession => Ok(()),
            LeaseGrant::Held(lease) => Err(owned_elsewhere(lease)),
        }
    }

    /// Gives up the lease on `id`; a failure is kept for the log (the lease then lapses).
    pub(crate) fn release_lease(&self, id: &str) {
        if let Some(store) = &self.store
            && let Err(e) = store.release_session_lease(id, &self.owner.id)
        {
            self.problem(format!(
                "cannot release the lease on session {id} (it lapses in {} s): {e}",
                LEASE_TTL.as_secs()
            ));
        }
    }

    /// The lease another process holds on `id`, if it is still in force.
    pub(crate) fn held_elsewhere(&self, id: &str) -> Option<SessionLease> {
        let store = self.store.as_ref()?;
        let lease = match store.session_lease(id) {
            Ok(lease) => lease?,
            Err(e) => {
                // Read as unheld (the caller then shows the session as ended), and said.
                self.problem(format!("cannot read the lease on session {id}: {e}"));
                return None;
            }
        };
        (lease.owner != self.owner.id
            && lease.expires_at_ms > skillet_store::now_ms()
            && !holder_gone(&lease))
        .then_some(lease)
    }

    /// Renews the leases of the live sessions when it is time; a session whose lease another
    /// process has taken over is stopped here without touching its record, which is theirs now.
    pub(crate) async fn renew_leases(&self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        {
            let mut last = lock(&self.last_renewal);
            if last.is_some_and(|t| t.elapsed() < RENEW_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
        // A long replay must not let its lease lapse before the session is live.
        let restoring: Vec<String> = lock(&self.restoring).iter().cloned().collect();
        for id in restoring {
            if let Err(e) = store.renew_session_lease(&id, &self.owner.id, ttl) {
                self.problem(format!("cannot renew the lease on session {id}: {e}"));
            }
        }
        let sessions: Vec<std::sync::Arc<Session>> = lock(&self.live).values().cloned().collect();
        for s in sessions {
            let id = s.id();
            match store.renew_session_lease(&id, &self.owner.id, ttl) {
                Ok(true) => {}
                Ok(false) => {
                    let by = store
                        .session_lease(&id)
                        .ok()
                        .flatten()
                        .map(|l| format!(" by {} (pid {})", l.holder, l.pid))
                        .unwrap_or_default();
                    self.problem(format!(
                        "session {id} was taken over{by} after this process failed to renew its lease; stopped here"
                    ));
                    self.forget(&s).await;
                }
                Err(e) => self.problem(format!("cannot renew the lease on session {id}: {e}")),
            }
        }
    }

    /// Stops a live session whose record belongs to another process now.
    async fn forget(&self, session: &Session) {
        let id = session.id();
        lock(&self.live).remove(&id);
        lock(&self.pipes).retain(|(from, to)| *from != id && *to != id);
        session.ending.send_replace(true);
        if let Some(i) = session.interpreter.lock().await.take() {
            i.finish().await;
        }
    }
}

/// The refusal for a session another process drives.
pub(crate) fn owned_elsewhere(lease: SessionLease) -> SessionError {
    SessionError::Owned {
        id: lease.session_id,
        pid: lease.pid,
        holder: lease.holder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(pid: i64, host: String) -> SessionLease {
        SessionLease {
            session_id: "s".into(),
            owner: "o".into(),
            pid,
            host,
            holder: "h".into(),
            expires_at_ms: i64::MAX,
        }
    }

    #[test]
    fn only_a_holder_of_this_machine_that_has_exited_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let exited = i64::from(child.id());
        child.wait().unwrap();
        let me = i64::from(std::process::id());
        assert!(holder_gone(&lease(exited, this_host())));
        assert!(!holder_gone(&lease(me, this_host())));
        // Another machine's (or pid namespace's) pid says nothing here.
        assert!(!holder_gone(&lease(exited, "other-boot/pid:[1]".into())));
        assert!(!holder_gone(&lease(0, this_host())));
    }

    #[test]
    fn a_zombie_holder_is_gone() {
        // Not waited for: it stays a zombie until the end of the test.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !holder_gone(&lease(pid, this_host())) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(holder_gone(&lease(pid, this_host())));
        child.wait().unwrap();
    }
}
