//! Skill state in SQLite: each commit is one `BEGIN IMMEDIATE` transaction that checks the
//! revision and writes, so concurrent writers in any number of processes are served one after
//! the other and only the first of those that read the same revision succeeds.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::state::{StateCommit, StateKey, StateRecord, StateStore, StateWrite};
use crate::{SqliteStore, StoreError, now_ms};

const COLUMNS: &str = "owner, workspace, doc, rev, schema_version, updated_at, writer, expires_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StateRecord> {
    Ok(StateRecord {
        key: StateKey {
            owner: r.get(0)?,
            workspace: r.get(1)?,
        },
        doc: r.get(2)?,
        rev: r.get(3)?,
        schema_version: r.get(4)?,
        updated_at_ms: r.get(5)?,
        writer: r.get(6)?,
        expires_at_ms: r.get(7)?,
    })
}

fn read(conn: &Connection, key: &StateKey) -> rusqlite::Result<Option<StateRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM skill_state WHERE owner = ?1 AND workspace = ?2"),
        params![key.owner, key.workspace],
        from_row,
    )
    .optional()
}

/// An expired document reads as cleared: its row (and revision) stays until the prune.
fn live(mut record: StateRecord, now: i64) -> StateRecord {
    if record.expires_at_ms.is_some_and(|t| t <= now) {
        record.doc = None;
    }
    record
}

impl StateStore for SqliteStore {
    fn state(&self, key: &StateKey) -> Result<Option<StateRecord>, StoreError> {
        self.checked(|| Ok(read(&self.conn(), key)?.map(|r| live(r, now_ms()))))
    }

    fn commit_state(
        &self,
        key: &StateKey,
        read_rev: i64,
        write: &StateWrite<'_>,
    ) -> Result<StateCommit, StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx =
                rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
            let now = now_ms();
            let current = read(&tx, key)?.map_or(0, |r| r.rev);
            if current != read_rev {
                return Ok(StateCommit::Conflict(current));
            }
            let rev = current + 1;
            tx.execute(
                "INSERT INTO skill_state (owner, workspace, doc, rev, schema_version, updated_at,
                     writer, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (owner, workspace) DO UPDATE SET doc = ?3, rev = ?4,
                     schema_version = ?5, updated_at = ?6, writer = ?7, expires_at = ?8",
                params![
                    key.owner,
                    key.workspace,
                    write.doc,
                    rev,
                    write.schema_version,
                    now,
                    write.writer,
                    write.ttl_ms.map(|t| now.saturating_add(t)),
                ],
            )?;
            tx.commit()?;
            Ok(StateCommit::Committed(rev))
        })
    }

    fn states(&self, workspace: &str, owner: Option<&str>) -> Result<Vec<StateRecord>, StoreError> {
        self.checked(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM skill_state
                 WHERE workspace IN (?1, '') AND (?2 IS NULL OR owner = ?2) AND doc IS NOT NULL
                   AND (expires_at IS NULL OR expires_at > ?3)
                 ORDER BY owner, workspace"
            ))?;
            let rows = stmt
                .query_map(params![workspace, owner, now_ms()], from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

/// Every live document (`skillet store copy`): a cleared or expired one has nothing to copy.
pub(crate) fn export(conn: &Connection) -> Result<Vec<StateRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM skill_state
         WHERE doc IS NOT NULL AND (expires_at IS NULL OR expires_at > ?1)
         ORDER BY owner, workspace"
    ))?;
    let rows = stmt
        .query_map(params![now_ms()], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Removes (or, for a dry run, counts) the documents whose `ttl_days` ran out.
pub(crate) fn expire(conn: &Connection, dry_run: bool) -> Result<u64, StoreError> {
    let now = now_ms();
    // Counted first: a prune with nothing due must not wait for the write lock.
    let due = conn.query_row(
        "SELECT COUNT(*) FROM skill_state WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        [now],
        |r| r.get::<_, i64>(0),
    )?;
    let n = if dry_run || due == 0 {
        due
    } else {
        i64::try_from(conn.execute(
            "DELETE FROM skill_state WHERE expires_at IS NOT NULL AND expires_at <= ?1",
            [now],
        )?)
        .unwrap_or(i64::MAX)
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(owner: &str) -> StateKey {
        StateKey {
            owner: owner.into(),
            workspace: "/w".into(),
        }
    }

    fn write(doc: Option<&str>) -> StateWrite<'_> {
        StateWrite {
            doc,
            schema_version: 1,
            writer: "test",
            ttl_ms: None,
        }
    }

    fn open(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&dir.path().join("skillet.db")).expect("open")
    }

    #[test]
    fn a_commit_from_a_stale_revision_is_a_conflict_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        let k = key("workspace:count");
        assert_eq!(store.state(&k).expect("read"), None);
        let first = store.commit_state(&k, 0, &write(Some("{\"n\":1}")));
        assert_eq!(first.expect("commit"), StateCommit::Committed(1));
        // A second writer that also read "nothing yet" loses.
        let stale = store.commit_state(&k, 0, &write(Some("{\"n\":99}")));
        assert_eq!(stale.expect("commit"), StateCommit::Conflict(1));
        let now = store.state(&k).expect("read").expect("row");
        assert_eq!((now.rev, now.doc.as_deref()), (1, Some("{\"n\":1}")));
    }

    #[test]
    fn a_cleared_document_keeps_its_revision_so_an_old_reader_still_conflicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        let k = key("workspace:count");
        store
            .commit_state(&k, 0, &write(Some("1")))
            .expect("commit");
        store.commit_state(&k, 1, &write(None)).expect("clear");
        let cleared = store.state(&k).expect("read").expect("row");
        assert_eq!((cleared.rev, cleared.doc), (2, None));
        assert_eq!(
            store
                .commit_state(&k, 0, &write(Some("2")))
                .expect("commit"),
            StateCommit::Conflict(2)
        );
        assert!(store.states("/w", None).expect("list").is_empty());
    }

    #[test]
    fn owners_and_workspaces_are_kept_apart_and_global_state_is_listed_everywhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        let here = key("workspace:a");
        let there = StateKey {
            owner: "workspace:a".into(),
            workspace: "/other".into(),
        };
        let global = StateKey {
            owner: "global:b".into(),
            workspace: String::new(),
        };
        for k in [&here, &there, &global] {
            store
                .commit_state(k, 0, &write(Some("{}")))
                .expect("commit");
        }
        let owners: Vec<_> = store
            .states("/w", None)
            .expect("list")
            .into_iter()
            .map(|r| (r.key.owner, r.key.workspace))
            .collect();
        assert_eq!(
            owners,
            vec![
                ("global:b".to_owned(), String::new()),
                ("workspace:a".to_owned(), "/w".to_owned())
            ]
        );
        assert!(
            store
                .states("/w", Some("workspace:zz"))
                .expect("list")
                .is_empty()
        );
    }

    #[test]
    fn an_expired_document_reads_as_cleared_and_the_prune_removes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir);
        let k = key("workspace:t");
        let w = StateWrite {
            ttl_ms: Some(-1),
            ..write(Some("{}"))
        };
        store.commit_state(&k, 0, &w).expect("commit");
        let read = store.state(&k).expect("read").expect("row");
        assert_eq!((read.rev, read.doc), (1, None));
        // The bounded prune after each run, with no age or count limit set.
        let bounded = crate::Retention {
            batch: Some(10),
            ..crate::Retention::default()
        };
        let report = crate::Store::prune(&store, &bounded).expect("prune");
        assert_eq!(report.states, 1);
        assert_eq!(store.state(&k).expect("read"), None);
    }

    #[test]
    fn eight_writers_in_their_own_connections_lose_no_increment() {
        let dir = tempfile::tempdir().expect("tempdir");
        open(&dir);
        let k = key("workspace:counter");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let store = open(&dir);
                    for _ in 0..10 {
                        loop {
                            let read = store.state(&k).expect("read");
                            let (rev, n) = read.map_or((0, 0), |r| {
                                (
                                    r.rev,
                                    r.doc.and_then(|d| d.parse::<i64>().ok()).unwrap_or(0),
                                )
                            });
                            let next = (n + 1).to_string();
                            match store
                                .commit_state(&k, rev, &write(Some(&next)))
                                .expect("commit")
                            {
                                StateCommit::Committed(_) => break,
                                StateCommit::Conflict(_) => continue,
                            }
                        }
                    }
                });
            }
        });
        let last = open(&dir).state(&k).expect("read").expect("row");
        assert_eq!(last.doc.as_deref(), Some("80"));
        assert_eq!(last.rev, 80);
    }
}
