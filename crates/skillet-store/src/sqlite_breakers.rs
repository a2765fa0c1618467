//! The SQLite table of circuit breakers: one row per skill whose breaker is not plainly closed.
//!
//! Apart from the executions because its one write is a read-decide-write that must be atomic
//! across processes (see [`update`]), where an execution is written once and never changed.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{BreakerRecord, StoreError};

const COLUMNS: &str =
    "skill, state, consecutive_failures, opened_at, updated_at, trial_started, recent";

fn from_row(r: &Row<'_>) -> rusqlite::Result<BreakerRecord> {
    Ok(BreakerRecord {
        skill: r.get(0)?,
        state: r.get(1)?,
        consecutive_failures: r.get(2)?,
        opened_at_ms: r.get(3)?,
        updated_at_ms: r.get(4)?,
        trial_started_ms: r.get(5)?,
        recent: r.get(6)?,
    })
}

/// See [`crate::Store::update_breaker`].
pub(crate) fn update(
    conn: &mut Connection,
    skill: &str,
    change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
) -> Result<Option<BreakerRecord>, StoreError> {
    // IMMEDIATE takes the write lock first, so two processes cannot both read "open, reset
    // time passed" and both let a trial through.
    let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    let current = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM breakers WHERE skill = ?1"))?
        .query_row([skill], from_row)
        .optional()?;
    let next = change(current.clone());
    if next != current {
        match &next {
            Some(b) => {
                tx.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO breakers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))?
                .execute(params![
                        b.skill,
                        b.state,
                        b.consecutive_failures,
                        b.opened_at_ms,
                        b.updated_at_ms,
                        b.trial_started_ms,
                        b.recent
                    ])?;
            }
            None => {
                tx.prepare_cached("DELETE FROM breakers WHERE skill = ?1")?
                    .execute([skill])?;
            }
        }
    }
    tx.commit()?;
    Ok(next)
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<BreakerRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM breakers ORDER BY skill"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use crate::{BreakerRecord, SqliteStore, Store};

    #[test]
    fn breaker_rows_change_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        let open = BreakerRecord {
            skill: "s".into(),
            state: "open".into(),
            consecutive_failures: 5,
            opened_at_ms: Some(10),
            updated_at_ms: 10,
            trial_started_ms: None,
            recent: String::new(),
        };
        store
            .update_breaker("s", &mut |cur| {
                assert!(cur.is_none());
                Some(open.clone())
            })
            .unwrap();
        assert_eq!(store.breakers().unwrap(), std::slice::from_ref(&open));
        store.update_breaker("s", &mut |_| None).unwrap();
        assert!(store.breakers().unwrap().is_empty());
    }
}
