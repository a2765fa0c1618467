//! Session leases: which process drives a live session.
//!
//! Taking a lease reads and writes the session's row inside one transaction that holds its row
//! lock (`SELECT … FOR UPDATE`), so replicas asking at the same moment are served one after the
//! other and only one of them gets the lease. Renewing and releasing are one `UPDATE` each,
//! conditioned on the owner, so they are atomic by themselves.

use skillet_store::{LeaseGrant, LeaseRequest, SessionLease, StoreError, now_ms};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::error::OrStoreError;

const COLUMNS: &str = "id, lease_owner, lease_pid, lease_host, lease_holder, lease_expires_at";

fn from_row(r: &Row) -> Option<SessionLease> {
    let owner: Option<String> = r.get(1);
    owner.map(|owner| SessionLease {
        session_id: r.get(0),
        owner,
        pid: r.get::<_, Option<i64>>(2).unwrap_or(0),
        host: r.get::<_, Option<String>>(3).unwrap_or_default(),
        holder: r.get::<_, Option<String>>(4).unwrap_or_default(),
        expires_at_ms: r.get::<_, Option<i64>>(5).unwrap_or(0),
    })
}

pub(crate) fn lease(
    s: &PostgresStore,
    id: &str,
    request: &LeaseRequest,
    holder_gone: &dyn Fn(&SessionLease) -> bool,
) -> Result<LeaseGrant, StoreError> {
    // PostgreSQL text holds no NUL: no session has such an id.
    if id.contains('\0') {
        return Ok(LeaseGrant::NoSession);
    }
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        let Some(row) = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM sessions WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .db()?
        else {
            return Ok(LeaseGrant::NoSession);
        };
        let current = from_row(&row);
        let now = now_ms();
        let previous = current.filter(|c| c.owner != request.owner);
        if let Some(other) = &previous
            && other.expires_at_ms > now
            && !holder_gone(other)
        {
            return Ok(LeaseGrant::Held(other.clone()));
        }
        tx.execute(
            "UPDATE sessions SET lease_owner = $2, lease_pid = $3, lease_host = $4,
             lease_holder = $5, lease_expires_at = $6 WHERE id = $1",
            &[
                &id,
                &request.owner,
                &request.pid,
                &request.host,
                &request.holder,
                &now.saturating_add(request.ttl_ms),
            ],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(LeaseGrant::Acquired { previous })
    })
}

pub(crate) fn renew(
    s: &PostgresStore,
    id: &str,
    owner: &str,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    if id.contains('\0') || owner.contains('\0') {
        return Ok(false);
    }
    let expires = now_ms().saturating_add(ttl_ms);
    s.connections().call(async |c| {
        let changed = c
            .execute(
                "UPDATE sessions SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2",
                &[&id, &owner, &expires],
            )
            .await
            .db()?;
        Ok(changed == 1)
    })
}

pub(crate) fn release(s: &PostgresStore, id: &str, owner: &str) -> Result<(), StoreError> {
    if id.contains('\0') || owner.contains('\0') {
        return Ok(());
    }
    s.connections().call(async |c| {
        c.execute(
            "UPDATE sessions SET lease_owner = NULL, lease_pid = NULL, lease_host = NULL,
             lease_holder = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2",
            &[&id, &owner],
        )
        .await
        .db()?;
        Ok(())
    })
}

pub(crate) fn get(s: &PostgresStore, id: &str) -> Result<Option<SessionLease>, StoreError> {
    if id.contains('\0') {
        return Ok(None);
    }
    s.connections().call(async |c| {
        Ok(c.query_opt(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"),
            &[&id],
        )
        .await
        .db()?
        .and_then(|r| from_row(&r)))
    })
}
