//! Authoring events (`skillet create`, `test`, `dev`), one row each, folded into per-skill
//! figures exactly as the SQLite store folds them.

use skillet_store::{
    AuthoringEvent, AuthoringQuery, AuthoringRecord, AuthoringStats, AuthoringStore,
    AuthoringSummarizer, StoreError,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::error::OrStoreError;

impl AuthoringStore for PostgresStore {
    fn record_authoring(&self, r: &AuthoringRecord) -> Result<(), StoreError> {
        let (passed, failed, skipped, duration, outcome) = match &r.event {
            AuthoringEvent::Created => (None, None, None, None, None),
            AuthoringEvent::Tested {
                passed,
                failed,
                skipped,
                duration_ms,
            } => (
                Some(i64::from(*passed)),
                Some(i64::from(*failed)),
                Some(i64::from(*skipped)),
                Some(clamp(*duration_ms)),
                None,
            ),
            AuthoringEvent::DevReload {
                save_to_result_ms,
                outcome,
            } => (
                None,
                None,
                None,
                Some(clamp(*save_to_result_ms)),
                Some(outcome.as_str()),
            ),
        };
        let kind = r.event.kind();
        self.connections().call(async |c| {
            let stmt = c
                .prepare_cached(
                    "INSERT INTO authoring_events \
                     (workspace, skill, kind, at, passed, failed, skipped, duration_ms, outcome) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .await
                .db()?;
            c.execute(
                &stmt,
                &[
                    &r.workspace,
                    &r.skill,
                    &kind,
                    &r.at_ms,
                    &passed,
                    &failed,
                    &skipped,
                    &duration,
                    &outcome,
                ],
            )
            .await
            .db()?;
            Ok(())
        })
    }

    fn authoring_stats(&self, q: &AuthoringQuery) -> Result<Vec<AuthoringStats>, StoreError> {
        if q.workspaces.is_empty() {
            return Ok(Vec::new());
        }
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![&q.workspaces];
        let skill = match &q.skill {
            Some(name) => {
                values.push(name);
                "AND skill = $2"
            }
            None => "",
        };
        // Sorted in code point order (SQLite's), so that the figures come in the same order;
        // ties in time in the order the rows were written, as near as PostgreSQL tells.
        let sql = format!(
            "SELECT workspace, skill, kind, at, passed, failed, skipped, duration_ms, outcome \
             FROM authoring_events WHERE workspace = ANY($1) {skill} \
             ORDER BY workspace COLLATE \"C\", skill COLLATE \"C\", at, ctid"
        );
        self.connections().call(async |c| {
            let mut summary = AuthoringSummarizer::default();
            crate::executions::stream(c, &sql, &values, &mut |row| {
                if let Some(record) = from_row(row)? {
                    summary.add(record);
                }
                Ok(true)
            })
            .await?;
            Ok(summary.finish())
        })
    }
}

fn clamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A row as an event; `None` for a kind this build does not know (a newer skillet's).
fn from_row(r: &Row) -> Result<Option<AuthoringRecord>, StoreError> {
    let kind: String = r.try_get(2).db()?;
    let count = |i| -> Result<u32, StoreError> {
        Ok(u32::try_from(r.try_get::<_, Option<i64>>(i).db()?.unwrap_or(0)).unwrap_or(0))
    };
    let ms = |i| -> Result<u64, StoreError> {
        Ok(u64::try_from(r.try_get::<_, Option<i64>>(i).db()?.unwrap_or(0)).unwrap_or(0))
    };
    let event = match kind.as_str() {
        "create" => AuthoringEvent::Created,
        "test" => AuthoringEvent::Tested {
            passed: count(4)?,
            failed: count(5)?,
            skipped: count(6)?,
            duration_ms: ms(7)?,
        },
        "dev" => AuthoringEvent::DevReload {
            save_to_result_ms: ms(7)?,
            outcome: r.try_get::<_, Option<String>>(8).db()?.unwrap_or_default(),
        },
        _ => return Ok(None),
    };
    Ok(Some(AuthoringRecord {
        workspace: r.try_get(0).db()?,
        skill: r.try_get(1).db()?,
        at_ms: r.try_get(3).db()?,
        event,
    }))
}
