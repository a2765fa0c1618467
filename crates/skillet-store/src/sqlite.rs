//! The SQLite store: one file, WAL mode, safe for several skillet processes at once.
//!
//! This module owns the connection and the errors that name the file; each table's SQL lives
//! in its own `sqlite_*` module, so a schema change touches one table's file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

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
    checkpointer: Mutex<Option<crate::sqlite_checkpoint::Checkpointer>>,
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
            checkpointer: Mutex::new(None),
        })
    }

    /// For a process that serves many calls (the daemon, an MCP server): the log is copied
    /// into the database by a thread of its own instead of by the commit that takes it past
    /// 1,000 pages, so no reply waits for that commit's `fsync`s. The thread ends with the
    /// store. Calling it again does nothing.
    pub fn checkpoint_in_background(&self) -> Result<(), StoreError> {
        let mut slot = self
            .checkpointer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(crate::sqlite_checkpoint::Checkpointer::start(
                &self.conn(),
                &self.path,
            )?);
        }
        Ok(())
    }

    /// Compiles the statements that recording every run uses (the row and the bounded prune's
    /// check) into this connection's cache. SQLite compiles a statement the
    /// first time a connection runs it, ~0.3 ms for these: a process that opens the store
    /// beside a run (`skillet run`, see [`crate::OpeningStore`]) or before its first call
    /// (`skillet mcp`, the daemon) pays it there instead of after the run. A statement that
    /// cannot be compiled here is compiled, and its error reported, where it is used.
    pub fn prepare_recording(&self) {
        let conn = self.conn();
        // Not the output tail's: only a run that printed something uses them, and compiling
        // its insert opens the full-text index (its triggers), more than all of these.
        for sql in [
            crate::sqlite_executions::insert_sql(),
            crate::sqlite_retention::due_sql(),
        ] {
            let _ = conn.prepare_cached(sql);
        }
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
        self.checked(|| crate::sqlite_executions::import(&mut self.conn(), records))
    }

    /// The schema version of the database at `path`, read without changing it; 0 when there is
    /// no file yet.
    pub fn schema_version_of(path: &Path) -> Result<i64, StoreError> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(0);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| crate::sqlite_open::classify(path, e))?;
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| crate::sqlite_open::classify(path, e))
    }

    /// The schema version and how many rows each table holds (`skillet store status`).
    pub fn status(&self) -> Result<crate::StoreStatus, StoreError> {
        self.checked(|| {
            let conn = self.conn();
            let schema_version: i64 =
                conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let mut tables = Vec::new();
            for table in crate::COUNTED_TABLES {
                // Table names come from the fixed list, never from input.
                let rows: i64 =
                    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                tables.push(crate::TableCount { table, rows });
            }
            Ok(crate::StoreStatus {
                backend: "sqlite",
                location: self.path.display().to_string(),
                schema_version,
                supported_version: crate::SCHEMA_VERSION,
                server_version: rusqlite::version().to_owned(),
                tables,
            })
        })
    }

    /// Every live skill state document (`skillet store copy`).
    pub fn export_states(&self) -> Result<Vec<crate::StateRecord>, StoreError> {
        self.checked(|| crate::sqlite_state::export(&self.conn()))
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

impl Store for SqliteStore {
    fn ready(&self) -> Result<(), StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The schema version written back as it is: a real write (a read-only file, a
            // full disk or a lock held too long all fail it) that changes nothing.
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
            tx.commit()?;
            Ok(())
        })
    }

    fn update_breaker(
        &self,
        skill: &str,
        change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        self.checked(|| crate::sqlite_breakers::update(&mut self.conn(), skill, change))
    }

    fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError> {
        self.checked(|| crate::sqlite_breakers::list(&self.conn()))
    }

    fn record(&self, e: &ExecutionRecord) -> Result<(), StoreError> {
        self.checked(|| crate::sqlite_executions::record(&self.conn(), e))
    }

    fn record_with_output(
        &self,
        e: &ExecutionRecord,
        output: &[crate::LogLine],
    ) -> Result<(), StoreError> {
        self.checked(|| {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            crate::sqlite_executions::record(&tx, e)?;
            crate::sqlite_logs::append_in(
                &tx,
                output,
                crate::log::MAX_LOG_LINES,
                crate::log::MAX_LOG_BYTES,
            )?;
            tx.commit()?;
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
        self.checked(|| crate::sqlite_executions::scan(&self.conn(), q, visit))
    }

    fn scan_figures(
        &self,
        q: &ExecutionQuery,
        visit: &mut dyn FnMut(crate::ExecutionFigures) -> bool,
    ) -> Result<(), StoreError> {
        self.checked(|| crate::sqlite_executions::scan_figures(&self.conn(), q, visit))
    }

    fn prune(&self, rule: &Retention) -> Result<PruneReport, StoreError> {
        self.checked(|| crate::sqlite_retention::prune(&mut self.conn(), rule))
    }

    fn get(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        self.checked(|| crate::sqlite_executions::get(&self.conn(), id))
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

    fn save_job(&self, job: &crate::JobRecord) -> Result<(), StoreError> {
        self.checked(|| crate::sqlite_jobs::save(&self.conn(), job))
    }

    fn job(&self, id: &str) -> Result<Option<crate::JobRecord>, StoreError> {
        self.checked(|| crate::sqlite_jobs::get(&self.conn(), id))
    }

    fn jobs(&self, unfinished: bool, limit: usize) -> Result<Vec<crate::JobRecord>, StoreError> {
        self.checked(|| crate::sqlite_jobs::list(&self.conn(), unfinished, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite_schema::{SCHEMA_VERSION, STEPS};

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
            .record(&ExecutionRecord::at("01", "x", "ok", 1))
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
