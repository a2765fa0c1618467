//! Leases on session rows: which process may drive a live session.
//!
//! Every step reads and writes inside one `BEGIN IMMEDIATE` transaction, so two daemons asking
//! at the same moment are served one after the other and only one of them gets the lease.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{LeaseGrant, LeaseRequest, SessionLease, StoreError, now_ms};

const COLUMNS: &str = "id, lease_owner, lease_pid, lease_host, lease_holder, lease_expires_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Option<SessionLease>> {
    let owner: Option<String> = r.get(1)?;
    Ok(match owner {
        Some(owner) => Some(SessionLease {
            session_id: r.get(0)?,
            owner,
            pid: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            host: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            holder: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            expires_at_ms: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
        }),
        None => None,
    })
}

pub(crate) fn acquire(
    conn: &mut Connection,
    id: &str,
    request: &LeaseRequest,
    holder_gone: &dyn Fn(&SessionLease) -> bool,
) -> Result<LeaseGrant, StoreError> {
    let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    let current = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?;
    let Some(current) = current else {
        return Ok(LeaseGrant::NoSession);
    };
    let now = now_ms();
    let previous = current.filter(|c| c.owner != request.owner);
    if let Some(other) = &previous
        && other.expires_at_ms > now
        && !holder_gone(other)
    {
        return Ok(LeaseGrant::Held(other.clone()));
    }
    tx.execute(
        "UPDATE sessions SET lease_owner = ?2, lease_pid = ?3, lease_host = ?4, lease_holder = ?5,
         lease_expires_at = ?6 WHERE id = ?1",
        params![
            id,
            request.owner,
            request.pid,
            request.host,
            request.holder,
            now.saturating_add(request.ttl_ms)
        ],
    )?;
    tx.commit()?;
    Ok(LeaseGrant::Acquired { previous })
}

pub(crate) fn renew(
    conn: &Connection,
    id: &str,
    owner: &str,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE sessions SET lease_expires_at = ?3 WHERE id = ?1 AND lease_owner = ?2",
        params![id, owner, now_ms().saturating_add(ttl_ms)],
    )?;
    Ok(changed == 1)
}

pub(crate) fn release(conn: &Connection, id: &str, owner: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET lease_owner = NULL, lease_pid = NULL, lease_host = NULL,
         lease_holder = NULL, lease_expires_at = NULL WHERE id = ?1 AND lease_owner = ?2",
        params![id, owner],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<SessionLease>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?
        .flatten())
}
