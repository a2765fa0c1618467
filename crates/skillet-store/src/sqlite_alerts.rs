//! [`AlertStore`] on SQLite.

use rusqlite::{Connection, params};

use crate::alert::{AlertEvent, AlertStore, MAX_ALERT_EVENTS};
use crate::{SqliteStore, StoreError};

const SELECT: &str = "SELECT name, skill, state, value, condition, at, notified FROM alert_events";

impl AlertStore for SqliteStore {
    fn record_alert(&self, e: &AlertEvent) -> Result<i64, StoreError> {
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
            let id = tx.last_insert_rowid();
            // The newest event of each pair stays whatever the bound: it is the alert's state.
            tx.execute(
                "DELETE FROM alert_events WHERE id <= (SELECT max(id) FROM alert_events) - ?1
                 AND id NOT IN (SELECT max(id) FROM alert_events GROUP BY name, skill)",
                params![MAX_ALERT_EVENTS],
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    fn set_alert_notified(&self, id: i64, notified: &str) -> Result<(), StoreError> {
        self.checked(|| {
            self.conn().execute(
                "UPDATE alert_events SET notified = ?2 WHERE id = ?1",
                params![id, notified],
            )?;
            Ok(())
        })
    }

    fn alert_events(&self, limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
        let limit = match limit {
            0 => -1,
            n => i64::try_from(n).unwrap_or(i64::MAX),
        };
        self.checked(|| {
            events(
                &self.conn(),
                &format!("{SELECT} ORDER BY id DESC LIMIT ?1"),
                limit,
            )
        })
    }

    fn alert_states(&self) -> Result<Vec<AlertEvent>, StoreError> {
        self.checked(|| {
            events(
                &self.conn(),
                &format!(
                    "{SELECT} WHERE id IN (SELECT max(id) FROM alert_events GROUP BY name, skill)
                     ORDER BY id DESC LIMIT ?1"
                ),
                -1,
            )
        })
    }
}

fn events(conn: &Connection, sql: &str, limit: i64) -> Result<Vec<AlertEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
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
        // The state of (a, s) is its newest event, whatever came before.
        assert_eq!(store.alert_states().unwrap(), [event(4)]);
        let id = store.record_alert(&event(5)).unwrap();
        store.set_alert_notified(id, "command: exited 1").unwrap();
        assert_eq!(
            store.alert_events(1).unwrap()[0].notified,
            "command: exited 1"
        );
        // The bound holds as rows come in, and keeps the state of a pair beyond it.
        store
            .conn()
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MAX_ALERT_EVENTS})
                 INSERT INTO alert_events (name, skill, state, condition, at, notified)
                 SELECT 'b', 't' || i, 'firing', 'x', i, 'ok' FROM n"
            ))
            .unwrap();
        let mut other = event(6);
        other.skill = "u".into();
        store.record_alert(&other).unwrap();
        let count: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM alert_events", [], |r| r.get(0))
            .unwrap();
        // Each of the 10,000 `b` rows is the state of its own pair: all kept, with (a, s).
        assert!(count >= MAX_ALERT_EVENTS, "{count}");
        assert!(store.alert_states().unwrap().iter().any(|e| e.skill == "s"));
    }
}
