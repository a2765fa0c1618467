//! Circuit breakers: one row per skill, updated under a row lock.
//!
//! An update is one transaction: the row is locked (`SELECT … FOR UPDATE`) before `change`
//! sees it, so replicas asking at once are served one after the other. A skill with no row yet
//! gets a placeholder inserted first, in the same transaction: a second replica's insert waits
//! on it, so two replicas never both see "no breaker" and both act on it. The placeholder is
//! never committed as it is: it is replaced by what `change` returns, or deleted.

use skillet_store::{BreakerRecord, StoreError};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::error::OrStoreError;

const COLUMNS: &str =
    "skill, state, consecutive_failures, opened_at, updated_at, trial_started, recent";

fn from_row(r: &Row) -> BreakerRecord {
    BreakerRecord {
        skill: r.get(0),
        state: r.get(1),
        consecutive_failures: r.get(2),
        opened_at_ms: r.get(3),
        updated_at_ms: r.get(4),
        trial_started_ms: r.get(5),
        recent: r.get(6),
    }
}

/// See [`skillet_store::Store::update_breaker`]. `change` is called exactly once, while the
/// row (or the placeholder standing for its absence) is locked.
pub(crate) fn update(
    s: &PostgresStore,
    skill: &str,
    change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
) -> Result<Option<BreakerRecord>, StoreError> {
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        let select = format!("SELECT {COLUMNS} FROM breakers WHERE skill = $1 FOR UPDATE");
        let current = loop {
            if let Some(row) = tx.query_opt(&select, &[&skill]).await.db()? {
                break Some(from_row(&row));
            }
            // None yet: hold its place. Another replica's insert of the same skill waits here
            // until this transaction ends, then finds what it left.
            let placed = tx
                .query_opt(
                    "INSERT INTO breakers (skill, state, updated_at) VALUES ($1, '', 0)
                     ON CONFLICT (skill) DO NOTHING RETURNING skill",
                    &[&skill],
                )
                .await
                .db()?;
            if placed.is_some() {
                break None;
            }
            // Another replica made it (and committed) between the two statements: lock it.
        };
        let next = change(current.clone());
        // The placeholder is there whenever there was no row, so it is always written over.
        if next != current || current.is_none() {
            match &next {
                Some(b) => {
                    tx.execute(
                        &format!(
                            "INSERT INTO breakers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                             ON CONFLICT (skill) DO UPDATE SET state = excluded.state,
                               consecutive_failures = excluded.consecutive_failures,
                               opened_at = excluded.opened_at, updated_at = excluded.updated_at,
                               trial_started = excluded.trial_started, recent = excluded.recent"
                        ),
                        &[
                            &b.skill,
                            &b.state,
                            &b.consecutive_failures,
                            &b.opened_at_ms,
                            &b.updated_at_ms,
                            &b.trial_started_ms,
                            &b.recent,
                        ],
                    )
                    .await
                    .db()?;
                    // A record kept under another name (as the SQLite store keeps it) leaves
                    // no placeholder behind.
                    if b.skill != skill && current.is_none() {
                        tx.execute("DELETE FROM breakers WHERE skill = $1", &[&skill])
                            .await
                            .db()?;
                    }
                }
                None => {
                    tx.execute("DELETE FROM breakers WHERE skill = $1", &[&skill])
                        .await
                        .db()?;
                }
            }
        }
        tx.commit().await.db()?;
        Ok(next)
    })
}

pub(crate) fn list(s: &PostgresStore) -> Result<Vec<BreakerRecord>, StoreError> {
    s.connections().call(async |c| {
        let rows = c
            .query(
                &format!("SELECT {COLUMNS} FROM breakers ORDER BY skill COLLATE \"C\""),
                &[],
            )
            .await
            .db()?;
        Ok(rows.iter().map(from_row).collect())
    })
}
