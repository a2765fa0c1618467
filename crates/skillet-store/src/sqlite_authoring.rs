//! Authoring events in SQLite: one row per event, read back per skill in time order (the
//! `authoring_by_skill` index's own order, so nothing is sorted in memory).

use rusqlite::{Connection, Row, params, params_from_iter};

use crate::authoring::{
    AuthoringEvent, AuthoringQuery, AuthoringRecord, AuthoringStats, AuthoringStore,
};
use crate::{SqliteStore, StoreError};

fn insert(conn: &Connection, r: &AuthoringRecord) -> Result<(), StoreError> {
    let (passed, failed, skipped, duration, outcome) = match &r.event {
        AuthoringEvent::Created => (None, None, None, None, None),
        AuthoringEvent::Tested {
            passed,
            failed,
            skipped,
            duration_ms,
        } => (
            Some(*passed),
            Some(*failed),
            Some(*skipped),
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
    conn.execute(
        "INSERT INTO authoring_events \
         (workspace, skill, kind, at, passed, failed, skipped, duration_ms, outcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.workspace,
            r.skill,
            r.event.kind(),
            r.at_ms,
            passed,
            failed,
            skipped,
            duration,
            outcome
        ],
    )?;
    Ok(())
}

fn clamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A row as an event; `None` for a kind this build does not know (a newer skillet's).
fn from_row(r: &Row<'_>) -> rusqlite::Result<Option<AuthoringRecord>> {
    let kind: String = r.get(2)?;
    let ms = |i| -> rusqlite::Result<u64> {
        Ok(u64::try_from(r.get::<_, Option<i64>>(i)?.unwrap_or(0)).unwrap_or(0))
    };
    let event = match kind.as_str() {
        "create" => AuthoringEvent::Created,
        "test" => AuthoringEvent::Tested {
            passed: r.get::<_, Option<u32>>(4)?.unwrap_or(0),
            failed: r.get::<_, Option<u32>>(5)?.unwrap_or(0),
            skipped: r.get::<_, Option<u32>>(6)?.unwrap_or(0),
            duration_ms: ms(7)?,
        },
        "dev" => AuthoringEvent::DevReload {
            save_to_result_ms: ms(7)?,
            outcome: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
        },
        _ => return Ok(None),
    };
    Ok(Some(AuthoringRecord {
        workspace: r.get(0)?,
        skill: r.get(1)?,
        at_ms: r.get(3)?,
        event,
    }))
}

fn stats(conn: &Connection, q: &AuthoringQuery) -> Result<Vec<AuthoringStats>, StoreError> {
    if q.workspaces.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; q.workspaces.len()].join(", ");
    let mut values: Vec<&str> = q.workspaces.iter().map(String::as_str).collect();
    let skill = match &q.skill {
        Some(name) => {
            values.push(name);
            "AND skill = ?"
        }
        None => "",
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT workspace, skill, kind, at, passed, failed, skipped, duration_ms, outcome \
         FROM authoring_events WHERE workspace IN ({marks}) {skill} \
         ORDER BY workspace, skill, at, rowid"
    ))?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut summary = crate::AuthoringSummarizer::default();
    while let Some(row) = rows.next()? {
        if let Some(record) = from_row(row)? {
            summary.add(record);
        }
    }
    Ok(summary.finish())
}

impl AuthoringStore for SqliteStore {
    fn record_authoring(&self, record: &AuthoringRecord) -> Result<(), StoreError> {
        self.checked(|| insert(&self.conn(), record))
    }

    fn authoring_stats(&self, query: &AuthoringQuery) -> Result<Vec<AuthoringStats>, StoreError> {
        self.checked(|| stats(&self.conn(), query))
    }
}

/// Counts (`dry_run`) or deletes up to `limit` events older than `before_ms`.
pub(crate) fn prune(
    conn: &mut Connection,
    before_ms: Option<i64>,
    limit: Option<usize>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    crate::sqlite_retention::prune_older(conn, "authoring_events", before_ms, limit, dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Retention, Store};

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("skillet.db")).expect("open");
        (dir, store)
    }

    fn event(workspace: &str, skill: &str, at_ms: i64, event: AuthoringEvent) -> AuthoringRecord {
        AuthoringRecord {
            workspace: workspace.into(),
            skill: skill.into(),
            at_ms,
            event,
        }
    }

    fn tested(passed: u32, failed: u32) -> AuthoringEvent {
        AuthoringEvent::Tested {
            passed,
            failed,
            skipped: 0,
            duration_ms: 3,
        }
    }

    #[test]
    fn events_come_back_as_figures_per_workspace_and_skill() {
        let (_dir, store) = open();
        for r in [
            event("/a", "greet", 1_000, AuthoringEvent::Created),
            event("/a", "greet", 3_000, tested(1, 0)),
            event("/a", "greet", 2_000, tested(0, 1)),
            event(
                "/a",
                "greet",
                4_000,
                AuthoringEvent::DevReload {
                    save_to_result_ms: 42,
                    outcome: "ok".into(),
                },
            ),
            event("/b", "greet", 9_000, tested(0, 1)),
            event("", "global", 5_000, AuthoringEvent::Created),
        ] {
            store.record_authoring(&r).expect("record");
        }
        let query = AuthoringQuery {
            workspaces: vec!["/a".into(), String::new()],
            skill: None,
        };
        let stats = store.authoring_stats(&query).expect("stats");
        let names: Vec<(&str, &str)> = stats
            .iter()
            .map(|s| (s.workspace.as_str(), s.skill.as_str()))
            .collect();
        assert_eq!(names, [("", "global"), ("/a", "greet")]);
        let greet = &stats[1];
        assert_eq!(
            (greet.test_runs, greet.failed_runs, greet.create_to_pass_ms),
            (2, 1, Some(2_000))
        );
        assert_eq!(
            (
                greet.dev_reloads,
                greet.dev_median_ms,
                greet.last_activity_ms
            ),
            (1, Some(42), 4_000)
        );
        let one = store
            .authoring_stats(&AuthoringQuery {
                workspaces: vec!["/b".into()],
                skill: Some("greet".into()),
            })
            .expect("stats");
        assert_eq!((one.len(), one[0].failed_runs), (1, 1));
    }

    #[test]
    fn events_follow_the_history_time_rule() {
        let (_dir, store) = open();
        store
            .record_authoring(&event("/a", "old", 10, AuthoringEvent::Created))
            .expect("record");
        store
            .record_authoring(&event("/a", "new", 1_000, AuthoringEvent::Created))
            .expect("record");
        let rule = |dry_run| Retention {
            before_ms: Some(500),
            dry_run,
            ..Retention::default()
        };
        assert_eq!(store.prune(&rule(true)).expect("dry run").authoring, 1);
        let query = AuthoringQuery {
            workspaces: vec!["/a".into()],
            skill: None,
        };
        assert_eq!(store.authoring_stats(&query).expect("stats").len(), 2);
        let report = store.prune(&rule(false)).expect("prune");
        assert_eq!(report.authoring, 1);
        let left = store.authoring_stats(&query).expect("stats");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].skill, "new");
    }

    #[test]
    fn the_bounded_prune_after_a_run_takes_one_batch() {
        let (_dir, store) = open();
        for at in [1, 2, 3] {
            store
                .record_authoring(&event("/a", "old", at, AuthoringEvent::Created))
                .expect("record");
        }
        let rule = Retention {
            before_ms: Some(500),
            batch: Some(2),
            ..Retention::default()
        };
        assert_eq!(store.prune(&rule).expect("prune").authoring, 2);
        assert_eq!(store.prune(&rule).expect("prune").authoring, 1);
        assert_eq!(store.prune(&rule).expect("prune").authoring, 0);
    }
}
