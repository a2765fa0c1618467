//! skillet's persistent state.
//!
//! This crate owns what outlives one process: the record of every execution, circuit breakers,
//! sessions with their transcripts, the result cache, and searchable logs. Callers see only the [`Store`] trait, so a
//! PostgreSQL store for teams running several daemons can follow without touching them;
//! [`SqliteStore`] is the default, one file at `$XDG_DATA_HOME/skillet/skillet.db`.
//!
//! It must not know how skills run or what their results mean beyond the plain fields it stores.
//!
//! ```
//! use skillet_store::{ExecutionQuery, ExecutionRecord, SqliteStore, Store};
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(&dir.path().join("skillet.db"))?;
//! store.record(&ExecutionRecord::new("0190-…", "count-lines", "ok"))?;
//! let rows = store.list(&ExecutionQuery { skill: Some("count-lines".into()), ..Default::default() })?;
//! assert_eq!(rows.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alert;
mod authoring;
mod cache;
mod channel;
mod context_index;
mod job_queue;
mod log;
mod opening;
mod params_key;
mod record;
mod retention;
mod session;
mod session_state;
mod sqlite;
mod sqlite_alerts;
mod sqlite_authoring;
mod sqlite_breakers;
mod sqlite_cache;
mod sqlite_channels;
mod sqlite_checkpoint;
mod sqlite_executions;
mod sqlite_ids;
mod sqlite_job_queue;
mod sqlite_jobs;
mod sqlite_lease;
mod sqlite_logs;
mod sqlite_open;
mod sqlite_retention;
mod sqlite_schema;
mod sqlite_sessions;
mod sqlite_state;
mod state;
mod status;

use std::path::PathBuf;

pub use alert::{AlertEvent, AlertStore, MAX_ALERT_EVENTS};
pub use authoring::{
    AuthoringEvent, AuthoringQuery, AuthoringRecord, AuthoringStats, AuthoringStore,
    AuthoringSummarizer,
};
pub use cache::{CacheEntry, CacheSkillStats, CacheStore, FileDigest};
pub use channel::{
    ChannelInfo, ChannelKey, ChannelLimits, ChannelMessage, ChannelSend, ChannelStore,
};
pub use context_index::IndexedFile;
pub use job_queue::{JobClaim, JobQueueStore, LAPSED_JOB_ERROR, LapsedJobs};
pub use log::{
    LogLevel, LogLine, LogQuery, LogStore, MAX_LOG_BYTES, MAX_LOG_LINES, MAX_LOG_MESSAGE_BYTES,
    MIN_INDEXED_TEXT,
};
pub use opening::OpeningStore;
pub use params_key::{PARAMS_KEY_FILE, ParamsKey, ParamsKeyError};
pub use record::{
    BreakerRecord, ExecutionFigures, ExecutionQuery, ExecutionRecord, MAX_SPANS, SpanRecord,
    now_ms, rfc3339,
};
pub use retention::{PruneReport, Retention};
pub use session::{
    LeaseGrant, LeaseRequest, SessionLease, SessionQuery, SessionRecord, SessionStatus,
    TurnOutcome, TurnRecord,
};
pub use sqlite::SqliteStore;
pub use sqlite_jobs::{JobRecord, MAX_JOB_OUTPUT_BYTES, cap_output};
pub use sqlite_schema::SCHEMA_VERSION;
pub use state::{StateCommit, StateKey, StateRecord, StateStore, StateWrite};
pub use status::{COUNTED_TABLES, StoreStatus, TableCount};

/// Persistent state, whatever the database.
pub trait Store:
    StateStore
    + JobQueueStore
    + CacheStore
    + AuthoringStore
    + ChannelStore
    + AlertStore
    + LogStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Adds one execution (one attempt of one call).
    fn record(&self, execution: &ExecutionRecord) -> Result<(), StoreError>;
    /// Adds one execution and the tail of its output ([`LogStore::append_logs`]) together: a
    /// store that can do both in one transaction does (one commit on every run's path), and
    /// either both are kept or neither.
    fn record_with_output(
        &self,
        execution: &ExecutionRecord,
        output: &[LogLine],
    ) -> Result<(), StoreError> {
        self.record(execution)?;
        self.append_logs(output)
    }
    /// Executions matching `query`, newest first.
    fn list(&self, query: &ExecutionQuery) -> Result<Vec<ExecutionRecord>, StoreError>;
    /// Executions matching `query`, newest first, handed to `visit` one at a time (it returns
    /// `false` to stop): memory stays flat however many there are.
    fn scan(
        &self,
        query: &ExecutionQuery,
        visit: &mut dyn FnMut(ExecutionRecord) -> bool,
    ) -> Result<(), StoreError>;
    /// The figures of the executions matching `query` (its `limit` aside), in no set order,
    /// one at a time: [`Store::scan`] narrowed to what statistics need, which a store may read
    /// faster than whole rows.
    fn scan_figures(
        &self,
        query: &ExecutionQuery,
        visit: &mut dyn FnMut(ExecutionFigures) -> bool,
    ) -> Result<(), StoreError> {
        self.scan(query, &mut |r| visit(r.into()))
    }
    /// Removes (or, for a dry run, counts) what `rule` says the history no longer keeps. Never
    /// touches a live or open session, a leased one, or a circuit breaker.
    fn prune(&self, rule: &Retention) -> Result<PruneReport, StoreError>;
    /// The execution whose id is `id` or starts with it (a prefix is compared in lower case).
    fn get(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError>;
    /// Reads a skill's circuit breaker and writes what `change` returns (`None` deletes it), as
    /// one atomic step across every process sharing the store. Returns the new state.
    fn update_breaker(
        &self,
        skill: &str,
        change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
    ) -> Result<Option<BreakerRecord>, StoreError>;
    /// Closes a skill's circuit (forgets its breaker state, as one atomic step); `true` when
    /// there was state to forget.
    fn reset_breaker(&self, skill: &str) -> Result<bool, StoreError> {
        let mut existed = false;
        self.update_breaker(skill, &mut |current| {
            existed = current.is_some();
            None
        })?;
        Ok(existed)
    }
    /// Every breaker on record.
    fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError>;
    /// Adds or replaces a session's row.
    fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Sessions matching `query`, newest first.
    fn sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError>;
    /// The session whose id is `id` or starts with it.
    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Adds one exchange to a session's transcript.
    fn add_turn(&self, turn: &TurnRecord) -> Result<(), StoreError>;
    /// A session's transcript, in order.
    fn turns(&self, session_id: &str) -> Result<Vec<TurnRecord>, StoreError>;
    /// Takes (or, for its owner, extends) the lease on session `session_id`, as one atomic step
    /// across every process sharing the store. A lease held by another owner is taken over only
    /// once it has expired, or when `holder_gone` says its holder no longer exists.
    fn lease_session(
        &self,
        session_id: &str,
        request: &LeaseRequest,
        holder_gone: &dyn Fn(&SessionLease) -> bool,
    ) -> Result<LeaseGrant, StoreError>;
    /// Pushes the expiry of a lease `owner` holds; `false` when it no longer holds it.
    fn renew_session_lease(
        &self,
        session_id: &str,
        owner: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Gives up the lease `owner` holds on `session_id` (nothing when it holds none).
    fn release_session_lease(&self, session_id: &str, owner: &str) -> Result<(), StoreError>;
    /// The lease on session `session_id` (its exact id), expired or not.
    fn session_lease(&self, session_id: &str) -> Result<Option<SessionLease>, StoreError>;
    /// The files the last context selection of `skill` saw.
    fn context_index(&self, skill: &str) -> Result<Vec<IndexedFile>, StoreError>;
    /// Replaces what the last context selection of `skill` saw.
    fn replace_context_index(&self, skill: &str, files: &[IndexedFile]) -> Result<(), StoreError>;
    /// Adds or replaces a background job's row.
    fn save_job(&self, job: &JobRecord) -> Result<(), StoreError>;
    /// The job whose id is `id` or starts with it.
    fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// Jobs newest first (only queued and running ones with `unfinished`); `limit` 0 is all.
    fn jobs(&self, unfinished: bool, limit: usize) -> Result<Vec<JobRecord>, StoreError>;
    /// Whether the store can be read and written now (`/readyz`, `skillet health`): one
    /// write that changes nothing, committed.
    fn ready(&self) -> Result<(), StoreError>;
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file cannot be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by a newer skillet.
    #[error(
        "the database {} has schema version {found}, newer than this skillet understands ({supported}); \
         upgrade skillet, or point {} elsewhere",
        path.display(),
        if path.to_string_lossy().starts_with("postgres") { "[store] url" } else { "XDG_DATA_HOME" }
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The file is not a sound SQLite database (empty, overwritten, damaged).
    #[error(
        "the skillet database {} is unreadable: {problem}. Nothing was changed. Move it aside \
         to start a fresh history, or restore it from a backup",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite (or the size check) said.
        problem: String,
    },
    /// An id prefix matches several rows.
    #[error("`{prefix}` matches {}{count} {what}; give more of the id", if *.at_least { "at least " } else { "" })]
    Ambiguous {
        /// What was looked for (`executions`, `sessions`).
        what: &'static str,
        /// What was given.
        prefix: String,
        /// How many matched, counted only so far (a short prefix of a big history).
        count: usize,
        /// Whether counting stopped there, so that more match.
        at_least: bool,
    },
    /// A request the store cannot answer as asked (the message says why and what to ask).
    #[error("{0}")]
    Invalid(String),
    /// A database server (PostgreSQL) cannot be reached: it is down, the address is wrong, or
    /// it refused the login. `url` is shown without its password.
    #[error(
        "cannot reach the store at {url}: {problem}. Check that the server is up, and `[store] url` \
         in the global skillet.toml"
    )]
    Unreachable {
        /// The store's address, password removed.
        url: String,
        /// What the connection attempt met.
        problem: String,
    },
    /// Not written yet, but kept: a store that serves many calls holds an execution it could
    /// not write while its server was unreachable, and writes it once the server answers. The
    /// message says why and how many wait.
    #[error("{0}")]
    Deferred(String),
    /// An error a database server (PostgreSQL) reported, with its SQLSTATE code.
    #[error("database error: {0}")]
    Server(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}
