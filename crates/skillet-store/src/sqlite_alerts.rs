//! [`AlertStore`] on SQLite.

use rusqlite::{Connection, params};

use crate::alert::{AlertEvent, AlertStore, MAX_ALERT_EVENTS};
use crate::{SqliteStore, StoreError};

impl AlertStore for SqliteStore {
    fn record_alert(&self, e: &AlertEvent) -> Result<(), StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO alert_events (name, skill, state, value, condition, at, notified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    e.name,
                    e.skill,
                    e.state,
                    e.value,
                    e.condition,
                    e.at_ms,
                    e.notified
                ],
            )?;
            tx.execute(
                "DELETE FROM alert_events WHERE id <= (SELECT max(id) FROM alert_events) - ?1",
                params![MAX_ALERT_EVENTS],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn alert_events(&self, limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
        self.checked(|| events(&self.conn(), limit))
    }
}

fn events(conn: &Connection, limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
    let limit = if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    };
    let mut stmt = conn.prepare_cached(
        "SELECT name, skill, state, value, condition, at, notified FROM alert_events
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(AlertEvent {
            name: r.get(0)?,
            skill: r.get(1)?,
            state: r.get(2)?,
            value: r.get(3)?,
            condition: r.get(4)?,
            at_ms: r.get(5)?,
            notified: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> AlertEvent {
        AlertEvent {
            name: "a".into(),
            skill: "s".into(),
            state: if n % 2 == 0 { "firing" } else { "resolved" }.into(),
            value: Some(n as f64 / 10.0),
            condition: "failure_rate > 0.2".into(),
            at_ms: n,
            notified: "ok".into(),
        }
    }

    #[test]
    fn events_come_back_newest_first_and_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        for n in 0..5 {
            store.record_alert(&event(n)).unwrap();
        }
        let back = store.alert_events(0).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back[0], event(4));
        assert_eq!(store.alert_events(2).unwrap().len(), 2);
        // The bound holds as rows come in.
        let conn = store.conn();
        conn.execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MAX_ALERT_EVENTS})
             INSERT INTO alert_events (name, skill, state, condition, at, notified)
             SELECT 'a', 's', 'firing', 'x', i, 'ok' FROM n"
        ))
        .unwrap();
        drop(conn);
        store.record_alert(&event(6)).unwrap();
        let count: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM alert_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, MAX_ALERT_EVENTS);
    }
}
