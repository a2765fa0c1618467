//! The SQLite store: one file, WAL mode, safe for several skillet processes at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::sqlite_ids::find_by_id;
use crate::{
    BreakerRecord, ExecutionQuery, ExecutionRecord, IndexedFile, LeaseGrant, LeaseRequest,
    PruneReport, Retention, SessionLease, SessionQuery, SessionRecord, Store, StoreError,
    TurnRecord,
};

/// The default store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    /// Refuses a database written by a newer skillet, and a file that is not a database
    /// ([`StoreError::Corrupt`]; [`SqliteStore::move_aside`] is the remedy).
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = crate::sqlite_open::open_connection(path)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// Renames an unreadable database at `path` (and its WAL files) to
    /// `<name>.corrupt-<unix seconds>`, so that the next [`SqliteStore::open`] starts a fresh
    /// one; returns the new name. Nothing is deleted.
    pub fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
        crate::sqlite_open::move_aside(path)
    }

    /// Reads every page (`PRAGMA quick_check`): [`StoreError::Corrupt`] when any is damaged.
    /// Takes time in proportion to the database's size; for `skillet doctor`, not every open.
    pub fn check(&self) -> Result<(), StoreError> {
        self.checked(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare("PRAGMA quick_check")?;
            let problems: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()?;
            if problems.len() == 1 && problems[0] == "ok" {
                return Ok(());
            }
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                problem: format!("damaged pages: {}", problems.join("; ")),
            })
        })
    }

    /// Adds many executions in one transaction (a restore from an export, a benchmark's or a
    /// test's history of a million rows): thousands of times faster than one
    /// [`Store::record`] each, which commits every row. Returns how many were added.
    pub fn import(
        &self,
        records: &mut dyn Iterator<Item = ExecutionRecord>,
    ) -> Result<u64, StoreError> {
        self.checked(|| -> Result<u64, StoreError> {
            let mut conn = self.conn();
            let tx =
                rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
            let mut added = 0;
            {
                let mut stmt = tx.prepare(&format!(
                    "INSERT INTO executions ({COLUMNS}) VALUES ({INSERT_PARAMS})"
                ))?;
                for e in records {
                    stmt.execute(record_params!(e))?;
                    added += 1;
                }
            }
            tx.commit()?;
            Ok(added)
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What `work` returns, with an error that says the file is damaged naming the file and
    /// the remedy.
    pub(crate) fn checked<T>(
        &self,
        work: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work().map_err(|e| match e {
            StoreError::Database(e) => crate::sqlite_open::classify(&self.path, e),
            other => other,
        })
    }
}

const COLUMNS: &str = "id, skill, version, scope, params_hash, params, status, exit_code, attempt, correlation_id, \
    parent_id, started_at, finished_at, duration_ms, peak_memory_kb, cpu_time_ms, truncated, limit_hit, error, origin, request_id, cached";

const INSERT_PARAMS: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22";

/// The values of [`COLUMNS`] for an `INSERT`, in order.
macro_rules! record_params {
    ($e:ident) => {
        params![
            $e.id,
            $e.skill,
            $e.version,
            $e.scope,
            $e.params_hash,
            $e.params,
            $e.status,
            $e.exit_code,
            $e.attempt,
            $e.correlation_id,
            $e.parent_id,
            $e.started_at_ms,
            $e.finished_at_ms,
            $e.duration_ms,
            $e.peak_memory_kb,
            $e.cpu_time_ms,
            $e.truncated,
            $e.limit_hit,
            $e.error,
            $e.origin,
            $e.request_id,
            $e.cached
        ]
    };
}
use record_params;

fn from_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: r.get(0)?,
        skill: r.get(1)?,
        version: r.get(2)?,
        scope: r.get(3)?,
        params_hash: r.get(4)?,
        params: r.get(5)?,
        status: r.get(6)?,
        exit_code: r.get(7)?,
        attempt: r.get(8)?,
        correlation_id: r.get(9)?,
        parent_id: r.get(10)?,
        started_at_ms: r.get(11)?,
        finished_at_ms: r.get(12)?,
        duration_ms: r.get(13)?,
        peak_memory_kb: r.get(14)?,
        cpu_time_ms: r.get(15)?,
        truncated: r.get(16)?,
        limit_hit: r.get(17)?,
        error: r.get(18)?,
        origin: r.get(19)?,
        request_id: r.get(20)?,
        cached: r.get(21)?,
    })
}

fn breaker_from_row(r: &Row<'_>) -> rusqlite::Result<BreakerRecord> {
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

const BREAKER_COLUMNS: &str =
    "skill, state, consecutive_failures, opened_at, updated_at, trial_started, recent";

impl Store for SqliteStore {
    fn update_breaker(
        &self,
        skill: &str,
        change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        self.checked(|| -> Result<Option<BreakerRecord>, StoreError> {
            let mut conn = self.conn();
            // IMMEDIATE takes the write lock first, so two processes cannot both read "open, reset
            // time passed" and both let a trial through.
            let tx = rusqlite::Transaction::new(&mut conn, rusqlite::TransactionBehavior::Immediate)?;
            let current = tx
                .query_row(
                    &format!("SELECT {BREAKER_COLUMNS} FROM breakers WHERE skill = ?1"),
                    [skill],
                    breaker_from_row,
                )
                .optional()?;
            let next = change(current.clone());
            if next != current {
                match &next {
                    Some(b) => {
                        tx.execute(
                            &format!("INSERT OR REPLACE INTO breakers ({BREAKER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                            params![b.skill, b.state, b.consecutive_failures, b.opened_at_ms, b.updated_at_ms, b.trial_started_ms, b.recent],
                        )?;
                    }
                    None => {
                        tx.execute("DELETE FROM breakers WHERE skill = ?1", [skill])?;
                    }
                }
            }
            tx.commit()?;
            Ok(next)
        })
    }

    fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError> {
        self.checked(|| -> Result<Vec<BreakerRecord>, StoreError> {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {BREAKER_COLUMNS} FROM breakers ORDER BY skill"
            ))?;
            let rows = stmt.query_map([], breaker_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn record(&self, e: &ExecutionRecord) -> Result<(), StoreError> {
        self.checked(|| -> Result<(), StoreError> {
            self.conn().execute(
                &format!("INSERT INTO executions ({COLUMNS}) VALUES ({INSERT_PARAMS})"),
                record_params!(e),
            )?;
            Ok(())
        })
    }

    fn list(&self, q: &ExecutionQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        let mut rows = Vec::new();
        self.scan(q, &mut |r| {
            rows.push(r);
            true
        })?;
        Ok(rows)
    }

    fn scan(
        &self,
        q: &ExecutionQuery,
        visit: &mut dyn FnMut(ExecutionRecord) -> bool,
    ) -> Result<(), StoreError> {
        self.checked(|| -> Result<(), StoreError> {
            let limit = if q.limit == 0 {
                -1
            } else {
                i64::try_from(q.limit).unwrap_or(i64::MAX)
            };
            // Only the filters given are in the text: `(?1 IS NULL OR skill = ?1)` would keep
            // SQLite from using the index of the filter that is there.
            let mut filters = Vec::new();
            if q.skill.is_some() {
                filters.push("skill = :skill");
            }
            if q.status.is_some() {
                filters.push("status = :status");
            }
            if q.since_ms.is_some() {
                filters.push("started_at >= :since");
            }
            let filter = if filters.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", filters.join(" AND "))
            };
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM executions {filter} ORDER BY started_at DESC, id DESC LIMIT :limit"
            ))?;
            let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":limit", &limit)];
            if let Some(skill) = &q.skill {
                named.push((":skill", skill));
            }
            if let Some(status) = &q.status {
                named.push((":status", status));
            }
            if let Some(since) = &q.since_ms {
                named.push((":since", since));
            }
            // One row at a time, straight from SQLite to `visit`: the whole history never sits in
            // memory.
            let mut rows = stmt.query(named.as_slice())?;
            while let Some(row) = rows.next()? {
                if !visit(from_row(row)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn prune(&self, rule: &Retention) -> Result<PruneReport, StoreError> {
        self.checked(|| crate::sqlite_retention::prune(&mut self.conn(), rule))
    }

    fn get(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        self.checked(|| -> Result<Option<ExecutionRecord>, StoreError> {
            find_by_id(&self.conn(), "executions", COLUMNS, id, from_row)
        })
    }

    fn context_index(&self, skill: &str) -> Result<Vec<IndexedFile>, StoreError> {
        self.checked(|| -> Result<Vec<IndexedFile>, StoreError> {
            crate::context_index::load(&self.conn(), skill)
        })
    }

    fn replace_context_index(&self, skill: &str, files: &[IndexedFile]) -> Result<(), StoreError> {
        self.checked(|| -> Result<(), StoreError> {
            crate::context_index::replace(&mut self.conn(), skill, files)
        })
    }

    fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.checked(|| -> Result<(), StoreError> {
            crate::sqlite_sessions::save(&self.conn(), session)
        })
    }

    fn sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        self.checked(|| -> Result<Vec<SessionRecord>, StoreError> {
            crate::sqlite_sessions::list(&self.conn(), query)
        })
    }

    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.checked(|| -> Result<Option<SessionRecord>, StoreError> {
            crate::sqlite_sessions::get(&self.conn(), id)
        })
    }

    fn add_turn(&self, turn: &TurnRecord) -> Result<(), StoreError> {
        self.checked(|| -> Result<(), StoreError> {
            crate::sqlite_sessions::add_turn(&self.conn(), turn)
        })
    }

    fn turns(&self, session_id: &str) -> Result<Vec<TurnRecord>, StoreError> {
        self.checked(|| -> Result<Vec<TurnRecord>, StoreError> {
            crate::sqlite_sessions::turns(&self.conn(), session_id)
        })
    }

    fn lease_session(
        &self,
        session_id: &str,
        request: &LeaseRequest,
        holder_gone: &dyn Fn(&SessionLease) -> bool,
    ) -> Result<LeaseGrant, StoreError> {
        self.checked(|| {
            crate::sqlite_lease::acquire(&mut self.conn(), session_id, request, holder_gone)
        })
    }

    fn renew_session_lease(
        &self,
        session_id: &str,
        owner: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        self.checked(|| crate::sqlite_lease::renew(&self.conn(), session_id, owner, ttl_ms))
    }

    fn release_session_lease(&self, session_id: &str, owner: &str) -> Result<(), StoreError> {
        self.checked(|| crate::sqlite_lease::release(&self.conn(), session_id, owner))
    }

    fn session_lease(&self, session_id: &str) -> Result<Option<SessionLease>, StoreError> {
        self.checked(|| crate::sqlite_lease::get(&self.conn(), session_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite_schema::{SCHEMA_VERSION, STEPS};

    fn record(id: &str, skill: &str, status: &str, started: i64) -> ExecutionRecord {
        let mut r = ExecutionRecord::new(id, skill, status);
        r.started_at_ms = started;
        r.finished_at_ms = started + 5;
        r
    }

    #[test]
    fn records_round_trip_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a/b/skillet.db")).unwrap();
        let mut full = record("01-aaa", "x", "failed", 100);
        full.exit_code = Some(3);
        full.params_hash = Some("sha256:00".into());
        full.truncated = true;
        store.record(&full).unwrap();
        store.record(&record("02-bbb", "y", "ok", 200)).unwrap();
        store.record(&record("03-ccc", "x", "ok", 300)).unwrap();
        let all = store.list(&ExecutionQuery::default()).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["03-ccc", "02-bbb", "01-aaa"]
        );
        let q = ExecutionQuery {
            skill: Some("x".into()),
            status: Some("failed".into()),
            ..Default::default()
        };
        assert_eq!(store.list(&q).unwrap(), [full.clone()]);
        let q = ExecutionQuery {
            since_ms: Some(200),
            limit: 1,
            ..Default::default()
        };
        assert_eq!(store.list(&q).unwrap()[0].id, "03-ccc");
        assert_eq!(store.get("01").unwrap(), Some(full));
        assert!(store.get("0").is_err(), "ambiguous prefix");
        assert_eq!(store.get("%").unwrap(), None, "wildcards are literal");
    }

    #[test]
    fn a_database_from_a_newer_skillet_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skillet.db");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer than this skillet understands"), "{err}");
    }

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

    #[test]
    fn a_version_one_database_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skillet.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(STEPS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let b = BreakerRecord {
            skill: "s".into(),
            state: "half_open".into(),
            consecutive_failures: 1,
            opened_at_ms: None,
            updated_at_ms: 1,
            trial_started_ms: Some(7),
            recent: String::new(),
        };
        store.update_breaker("s", &mut |_| Some(b.clone())).unwrap();
        assert_eq!(store.breakers().unwrap()[0].trial_started_ms, Some(7));
    }

    #[test]
    fn reopening_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skillet.db");
        SqliteStore::open(&path)
            .unwrap()
            .record(&record("01", "x", "ok", 1))
            .unwrap();
        assert_eq!(
            SqliteStore::open(&path)
                .unwrap()
                .list(&ExecutionQuery::default())
                .unwrap()
                .len(),
            1
        );
    }
}
