//! skillet's persistent state on PostgreSQL.
//!
//! A team that serves skills from several machines (replicas of `skillet serve` behind a load
//! balancer, CI runners, a fleet of dev boxes) shares one database: [`PostgresStore`] is the
//! [`skillet_store::Store`] for it, chosen by `[store] url` in the global `skillet.toml`. It
//! keeps every behaviour of the SQLite store, and the steps that must be atomic across
//! processes (a circuit breaker's update, a state commit's compare-and-swap, a session lease)
//! are atomic across every replica, by row locks in one transaction.
//!
//! Like `skillet-store`, it must not know how skills run or what their results mean; and it
//! never shows a password (errors and [`PostgresStore::url`] print the URL without it).
//!
//! ```no_run
//! use skillet_store::{ExecutionRecord, Store};
//! use skillet_store_postgres::PostgresStore;
//! let store = PostgresStore::open("postgres://skillet@db.internal/skillet", None)?;
//! store.record(&ExecutionRecord::new("0190-…", "count-lines", "ok"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alerts;
mod authoring;
mod backlog;
mod breakers;
mod cache;
mod channels;
mod connection;
mod context_index;
mod copy;
mod error;
mod executions;
mod ids;
mod job_queue;
mod jobs;
mod leases;
mod logs;
mod retention;
mod schema;
mod sessions;
mod state;
mod status;
pub mod test_server;
mod text;
mod tls;
mod url;

use skillet_store::{
    BreakerRecord, ExecutionFigures, ExecutionQuery, ExecutionRecord, IndexedFile, JobRecord,
    LeaseGrant, LeaseRequest, LogLine, PruneReport, Retention, SessionLease, SessionQuery,
    SessionRecord, Store, StoreError, StoreStatus, TurnRecord,
};

pub use copy::{CopyProgress, CopyReport, copy_from_sqlite};
pub use schema::SCHEMA_VERSION;

use connection::Connections;

/// How many connections one process keeps at most: a daemon runs a few calls at once, and a
/// team's server holds a few hundred connections in all.
const MAX_CONNECTIONS: usize = 8;

/// The store on a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    connections: Connections,
    backlog: backlog::Backlog,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]`) and
    /// brings its schema up to date. `password`, when given, is used in place of one in the
    /// URL (so that it can be kept in a file of its own). Refuses a database a newer skillet
    /// wrote ([`StoreError::TooNew`]); [`StoreError::Unreachable`] when the server cannot be
    /// reached.
    pub fn open(url: &str, password: Option<&str>) -> Result<PostgresStore, StoreError> {
        let store = PostgresStore::connect(url, password)?;
        // Migrating takes a lock and several statements; a schema already current (nearly
        // every open) is seen in one round trip.
        let current = store
            .connections
            .call(async |c| schema::quick_version(c).await)?;
        if current != SCHEMA_VERSION {
            store.migrate()?;
        }
        Ok(store)
    }

    /// [`PostgresStore::open`] without touching the schema (`skillet store status` reads a
    /// database as it is). A store connected this way answers calls only once
    /// [`PostgresStore::migrate`] has run, here or by another process.
    pub fn connect(url: &str, password: Option<&str>) -> Result<PostgresStore, StoreError> {
        Ok(PostgresStore {
            connections: Connections::new(url, password, MAX_CONNECTIONS)?,
            backlog: backlog::Backlog::default(),
        })
    }

    /// Brings the schema up to [`SCHEMA_VERSION`] (nothing when it is there); returns the
    /// version the database was at. Safe while other replicas use or migrate it.
    pub fn migrate(&self) -> Result<i64, StoreError> {
        let shown = self.connections.shown().to_owned();
        self.connections
            .call(async |c| schema::migrate(c, &shown).await)
    }

    /// For a process that serves many calls (the daemon, an MCP server): an execution that
    /// cannot be written while the server is unreachable is kept in memory (up to 10,000) and
    /// written once it answers again, and the write answers [`StoreError::Deferred`]. Whatever
    /// still waits when the store is dropped is tried once more then.
    pub fn keep_unwritten_executions(&self) {
        self.backlog.enable();
    }

    /// Executions kept in memory, waiting for the server ([`PostgresStore::keep_unwritten_executions`]).
    pub fn unwritten_executions(&self) -> usize {
        self.backlog.len()
    }

    fn write_backlog(&self) {
        self.backlog
            .flush(|e, output| executions::record_unless_there(self, e, output));
    }

    /// `url` as it may be shown, rebuilt from what was parsed: user, hosts, ports and database,
    /// with `***` for a password however it was written; parameters are left out.
    ///
    /// ```
    /// use skillet_store_postgres::PostgresStore;
    /// assert_eq!(PostgresStore::shown_url("postgres://me:pw@db/x"), "postgres://me:***@db:5432/x");
    /// ```
    pub fn shown_url(url: &str) -> String {
        url::without_password(url)
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        self.connections.shown()
    }

    /// The schema version, and how many rows each table holds.
    pub fn status(&self) -> Result<StoreStatus, StoreError> {
        status::read(self)
    }

    /// Adds many executions in one transaction (`skillet store copy`). Returns how many were
    /// added; an execution already there (same id) is left as it is.
    pub fn import(
        &self,
        records: &mut dyn Iterator<Item = ExecutionRecord>,
    ) -> Result<u64, StoreError> {
        executions::import(self, records)
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }
}

impl Store for PostgresStore {
    fn record(&self, execution: &ExecutionRecord) -> Result<(), StoreError> {
        self.write_backlog();
        executions::record(self, execution).map_err(|e| self.backlog.keep_or(e, execution, &[]))
    }

    fn record_with_output(
        &self,
        execution: &ExecutionRecord,
        output: &[LogLine],
    ) -> Result<(), StoreError> {
        self.write_backlog();
        executions::record_with_output(self, execution, output)
            .map_err(|e| self.backlog.keep_or(e, execution, output))
    }

    fn list(&self, query: &ExecutionQuery) -> Result<Vec<ExecutionRecord>, StoreError> {
        let mut rows = Vec::new();
        self.scan(query, &mut |r| {
            rows.push(r);
            true
        })?;
        Ok(rows)
    }

    fn scan(
        &self,
        query: &ExecutionQuery,
        visit: &mut dyn FnMut(ExecutionRecord) -> bool,
    ) -> Result<(), StoreError> {
        executions::scan(self, query, visit)
    }

    fn scan_figures(
        &self,
        query: &ExecutionQuery,
        visit: &mut dyn FnMut(ExecutionFigures) -> bool,
    ) -> Result<(), StoreError> {
        executions::scan_figures(self, query, visit)
    }

    fn prune(&self, rule: &Retention) -> Result<PruneReport, StoreError> {
        retention::prune(self, rule)
    }

    fn get(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        executions::get(self, id)
    }

    fn update_breaker(
        &self,
        skill: &str,
        change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        breakers::update(self, skill, change)
    }

    fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError> {
        breakers::list(self)
    }

    fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sessions::save(self, session)
    }

    fn sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::list(self, query)
    }

    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        sessions::get(self, id)
    }

    fn add_turn(&self, turn: &TurnRecord) -> Result<(), StoreError> {
        sessions::add_turn(self, turn)
    }

    fn turns(&self, session_id: &str) -> Result<Vec<TurnRecord>, StoreError> {
        sessions::turns(self, session_id)
    }

    fn lease_session(
        &self,
        session_id: &str,
        request: &LeaseRequest,
        holder_gone: &dyn Fn(&SessionLease) -> bool,
    ) -> Result<LeaseGrant, StoreError> {
        leases::lease(self, session_id, request, holder_gone)
    }

    fn renew_session_lease(
        &self,
        session_id: &str,
        owner: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        leases::renew(self, session_id, owner, ttl_ms)
    }

    fn release_session_lease(&self, session_id: &str, owner: &str) -> Result<(), StoreError> {
        leases::release(self, session_id, owner)
    }

    fn session_lease(&self, session_id: &str) -> Result<Option<SessionLease>, StoreError> {
        leases::get(self, session_id)
    }

    fn context_index(&self, skill: &str) -> Result<Vec<IndexedFile>, StoreError> {
        context_index::get(self, skill)
    }

    fn replace_context_index(&self, skill: &str, files: &[IndexedFile]) -> Result<(), StoreError> {
        context_index::replace(self, skill, files)
    }

    fn save_job(&self, job: &JobRecord) -> Result<(), StoreError> {
        jobs::save(self, job)
    }

    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        jobs::get(self, id)
    }

    fn jobs(&self, unfinished: bool, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        jobs::list(self, unfinished, limit)
    }

    fn ready(&self) -> Result<(), StoreError> {
        // A write that changes nothing, committed: a read-only replica or a full disk fails it.
        self.connections.call(async |c| {
            use crate::error::OrStoreError;
            c.execute("UPDATE skillet_schema SET version = version", &[])
                .await
                .db()?;
            Ok(())
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // A serving process stopping: one last try for what waits.
        self.write_backlog();
    }
}
