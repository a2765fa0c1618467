//! Skill state: compare-and-swap on a document's revision.
//!
//! A commit is one statement that checks and writes at once: the first commit of a document is
//! an `INSERT … ON CONFLICT DO NOTHING` (a second replica's insert of the same key waits for the
//! first and then finds the row there), a later one an `UPDATE … WHERE rev = read_rev` (a second
//! replica's update waits for the row lock and then no longer matches). So of any number of
//! writers that read the same revision, in any number of processes, exactly one commits.

use skillet_store::{
    StateCommit, StateKey, StateRecord, StateStore, StateWrite, StoreError, now_ms,
};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::error::OrStoreError;

const COLUMNS: &str = "owner, workspace, doc, rev, schema_version, updated_at, writer, expires_at";

fn from_row(r: &Row) -> Result<StateRecord, StoreError> {
    let schema_version: i64 = r.get(4);
    Ok(StateRecord {
        key: StateKey {
            owner: r.get(0),
            workspace: r.get(1),
        },
        doc: r.get(2),
        rev: r.get(3),
        schema_version: u32::try_from(schema_version).map_err(|_| {
            StoreError::Invalid(format!(
                "state schema version {schema_version} is out of range"
            ))
        })?,
        updated_at_ms: r.get(5),
        writer: r.get(6),
        expires_at_ms: r.get(7),
    })
}

/// An expired document reads as cleared: its row (and revision) stays until the prune.
fn live(mut record: StateRecord, now: i64) -> StateRecord {
    if record.expires_at_ms.is_some_and(|t| t <= now) {
        record.doc = None;
    }
    record
}

impl StateStore for PostgresStore {
    fn state(&self, key: &StateKey) -> Result<Option<StateRecord>, StoreError> {
        self.connections().call(async |c| {
            let row = c
                .query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM skill_state WHERE owner = $1 AND workspace = $2"
                    ),
                    &[&key.owner, &key.workspace],
                )
                .await
                .db()?;
            Ok(row
                .map(|r| from_row(&r))
                .transpose()?
                .map(|r| live(r, now_ms())))
        })
    }

    fn commit_state(
        &self,
        key: &StateKey,
        read_rev: i64,
        write: &StateWrite<'_>,
    ) -> Result<StateCommit, StoreError> {
        let schema_version = i64::from(write.schema_version);
        self.connections().call(async |c| {
            loop {
                let now = now_ms();
                let expires = write.ttl_ms.map(|t| now.saturating_add(t));
                let written = if read_rev == 0 {
                    c.query_opt(
                        "INSERT INTO skill_state (owner, workspace, doc, rev, schema_version,
                             updated_at, writer, expires_at)
                         VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
                         ON CONFLICT (owner, workspace) DO NOTHING RETURNING rev",
                        &[
                            &key.owner,
                            &key.workspace,
                            &write.doc,
                            &schema_version,
                            &now,
                            &write.writer,
                            &expires,
                        ],
                    )
                    .await
                    .db()?
                } else {
                    c.query_opt(
                        "UPDATE skill_state SET doc = $4, rev = rev + 1, schema_version = $5,
                             updated_at = $6, writer = $7, expires_at = $8
                         WHERE owner = $1 AND workspace = $2 AND rev = $3 RETURNING rev",
                        &[
                            &key.owner,
                            &key.workspace,
                            &read_rev,
                            &write.doc,
                            &schema_version,
                            &now,
                            &write.writer,
                            &expires,
                        ],
                    )
                    .await
                    .db()?
                };
                if let Some(row) = written {
                    return Ok(StateCommit::Committed(row.get(0)));
                }
                let current: i64 = c
                    .query_opt(
                        "SELECT rev FROM skill_state WHERE owner = $1 AND workspace = $2",
                        &[&key.owner, &key.workspace],
                    )
                    .await
                    .db()?
                    .map_or(0, |r| r.get(0));
                if current != read_rev {
                    return Ok(StateCommit::Conflict(current));
                }
                // The document changed between the two statements (removed by the prune and
                // written again): the revision read is current after all, so try again.
            }
        })
    }

    fn states(&self, workspace: &str, owner: Option<&str>) -> Result<Vec<StateRecord>, StoreError> {
        self.connections().call(async |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM skill_state
                         WHERE workspace IN ($1, '') AND ($2::TEXT IS NULL OR owner = $2)
                           AND doc IS NOT NULL AND (expires_at IS NULL OR expires_at > $3)
                         ORDER BY owner COLLATE \"C\", workspace COLLATE \"C\""
                    ),
                    &[&workspace, &owner, &now_ms()],
                )
                .await
                .db()?;
            rows.iter().map(from_row).collect()
        })
    }
}
