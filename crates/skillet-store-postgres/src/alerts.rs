//! Alert events.

use skillet_store::{AlertEvent, AlertStore, MAX_ALERT_EVENTS, StoreError};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::error::OrStoreError;

const SELECT: &str = "SELECT name, skill, state, value, condition, at, notified FROM alert_events";

fn from_row(r: &Row) -> AlertEvent {
    AlertEvent {
        name: r.get(0),
        skill: r.get(1),
        state: r.get(2),
        value: r.get(3),
        condition: r.get(4),
        at_ms: r.get(5),
        notified: r.get(6),
    }
}

impl PostgresStore {
    fn alert_query(&self, sql: &str, limit: Option<i64>) -> Result<Vec<AlertEvent>, StoreError> {
        self.connections().call(async |c| {
            let rows = c.query(sql, &[&limit]).await.db()?;
            Ok(rows.iter().map(from_row).collect())
        })
    }
}

impl AlertStore for PostgresStore {
    fn record_alert(&self, e: &AlertEvent) -> Result<i64, StoreError> {
        self.connections().call(async |c| {
            let tx = c.transaction().await.db()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO alert_events (name, skill, state, value, condition, at, notified)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &e.name,
                        &e.skill,
                        &e.state,
                        &e.value,
                        &e.condition,
                        &e.at_ms,
                        &e.notified,
                    ],
                )
                .await
                .db()?
                .get(0);
            // The newest event of each pair stays whatever the bound: it is the alert's state.
            // Counted back from the id just given (the newest this transaction sees), so that
            // the id index finds at once that nothing is beyond the bound, as is usual.
            tx.execute(
                "DELETE FROM alert_events WHERE id <= $1
                 AND id NOT IN (SELECT max(id) FROM alert_events GROUP BY name, skill)",
                &[&id.saturating_sub(MAX_ALERT_EVENTS)],
            )
            .await
            .db()?;
            tx.commit().await.db()?;
            Ok(id)
        })
    }

    fn set_alert_notified(&self, id: i64, notified: &str) -> Result<(), StoreError> {
        self.connections().call(async |c| {
            c.execute(
                "UPDATE alert_events SET notified = $2 WHERE id = $1",
                &[&id, &notified],
            )
            .await
            .db()?;
            Ok(())
        })
    }

    fn alert_events(&self, limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
        let limit = match limit {
            0 => None,
            n => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        };
        self.alert_query(&format!("{SELECT} ORDER BY id DESC LIMIT $1"), limit)
    }

    fn alert_states(&self) -> Result<Vec<AlertEvent>, StoreError> {
        self.alert_query(
            &format!(
                "{SELECT} WHERE id IN (SELECT max(id) FROM alert_events GROUP BY name, skill)
                 ORDER BY id DESC LIMIT $1"
            ),
            None,
        )
    }
}
