//! A store opened on a thread of its own, for a process that runs one skill and exits.
//!
//! Opening the SQLite file is a good share of a short `skillet run`: SQLite reads the log back
//! into a fresh index (in proportion to its size) and every few dozen opens checkpoints it, with
//! `fsync`s. A run needs the store only to record its row at the end (and before, only when the
//! skill has a circuit breaker, a cache or state), so the open can go on beside discovery, the
//! sandbox's setup and the skill itself. [`OpeningStore`] is that: a [`Store`] whose first use
//! waits for the open to finish.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::{
    AlertEvent, AlertStore, AuthoringQuery, AuthoringRecord, AuthoringStats, AuthoringStore,
    BreakerRecord, CacheEntry, CacheSkillStats, CacheStore, ChannelInfo, ChannelKey, ChannelLimits,
    ChannelMessage, ChannelSend, ChannelStore, ExecutionFigures, ExecutionQuery, ExecutionRecord,
    FileDigest, IndexedFile, JobRecord, LeaseGrant, LeaseRequest, LogLine, LogQuery, LogStore,
    PruneReport, Retention, SessionLease, SessionQuery, SessionRecord, StateCommit, StateKey,
    StateRecord, StateStore, StateWrite, Store, StoreError, TurnRecord,
};

type Opened = Result<Arc<dyn Store>, StoreError>;

/// A [`Store`] being opened on another thread; each call waits for the open, the first time.
///
/// When the open fails, `on_error` gets the error once, on the thread that first needed the
/// store (so a warning prints where the store was wanted, not at a random moment), and every
/// call answers [`StoreError::Open`] with the same reason.
///
/// ```
/// use std::sync::Arc;
/// use skillet_store::{ExecutionRecord, OpeningStore, SqliteStore, Store};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("skillet.db");
/// let opened = path.clone();
/// let store = OpeningStore::spawn(
///     &path,
///     move || Ok(Arc::new(SqliteStore::open(&opened)?) as Arc<dyn Store>),
///     |e| eprintln!("skillet: warning: executions are not recorded: {e}"),
/// );
/// // Other work here, while the database opens.
/// store.record(&ExecutionRecord::new("0190-…", "count-lines", "ok"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OpeningStore {
    path: PathBuf,
    opened: OnceLock<Result<Arc<dyn Store>, String>>,
    pending: Mutex<Option<Pending>>,
}

struct Pending {
    thread: JoinHandle<Opened>,
    on_error: Box<dyn FnOnce(StoreError) + Send>,
}

impl OpeningStore {
    /// Starts `open` on a thread of its own; `path` names the database in errors.
    pub fn spawn(
        path: &Path,
        open: impl FnOnce() -> Opened + Send + 'static,
        on_error: impl FnOnce(StoreError) + Send + 'static,
    ) -> OpeningStore {
        let thread = std::thread::Builder::new()
            .name("skillet-store-open".into())
            .spawn(open);
        let (opened, pending) = match thread {
            Ok(thread) => (
                OnceLock::new(),
                Some(Pending {
                    thread,
                    on_error: Box::new(on_error),
                }),
            ),
            // No thread to be had: nothing can be opened beside the work, so say why once.
            Err(e) => {
                let error = StoreError::Open {
                    path: path.to_path_buf(),
                    source: format!("cannot start a thread to open it: {e}").into(),
                };
                let reason = reason(&error);
                on_error(error);
                (OnceLock::from(Err(reason)), None)
            }
        };
        OpeningStore {
            path: path.to_path_buf(),
            opened,
            pending: Mutex::new(pending),
        }
    }

    /// The opened store, waiting for it the first time.
    fn ready(&self) -> Result<&Arc<dyn Store>, StoreError> {
        let opened = self.opened.get_or_init(|| {
            let pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let Some(Pending { thread, on_error }) = pending else {
                return Err("it was never opened".into());
            };
            let outcome = thread.join().unwrap_or_else(|_| {
                Err(StoreError::Open {
                    path: self.path.clone(),
                    source: "the thread opening it stopped on a bug".into(),
                })
            });
            outcome.map_err(|e| {
                let reason = reason(&e);
                on_error(e);
                reason
            })
        });
        opened.as_ref().map_err(|reason| StoreError::Open {
            path: self.path.clone(),
            source: reason.clone().into(),
        })
    }
}

/// What to say after "cannot open the database PATH: " when `e` is asked for again.
fn reason(e: &StoreError) -> String {
    match e {
        StoreError::Open { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

impl std::fmt::Debug for OpeningStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpeningStore")
            .field("path", &self.path)
            .field("opened", &self.opened.get().map(|o| o.is_ok()))
            .finish()
    }
}

/// Each method waits for the store, then asks it.
macro_rules! forward {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.ready()?.$name($($arg),*)
        })*
    };
}

impl Store for OpeningStore {
    forward! {
        fn record(&self, execution: &ExecutionRecord) -> Result<(), StoreError>;
        fn record_with_output(
            &self,
            execution: &ExecutionRecord,
            output: &[LogLine]
        ) -> Result<(), StoreError>;
        fn list(&self, query: &ExecutionQuery) -> Result<Vec<ExecutionRecord>, StoreError>;
        fn scan(
            &self,
            query: &ExecutionQuery,
            visit: &mut dyn FnMut(ExecutionRecord) -> bool
        ) -> Result<(), StoreError>;
        fn scan_figures(
            &self,
            query: &ExecutionQuery,
            visit: &mut dyn FnMut(ExecutionFigures) -> bool
        ) -> Result<(), StoreError>;
        fn prune(&self, rule: &Retention) -> Result<PruneReport, StoreError>;
        fn get(&self, id: &str) -> Result<Option<ExecutionRecord>, StoreError>;
        fn update_breaker(
            &self,
            skill: &str,
            change: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>
        ) -> Result<Option<BreakerRecord>, StoreError>;
        fn breakers(&self) -> Result<Vec<BreakerRecord>, StoreError>;
        fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
        fn sessions(&self, query: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError>;
        fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
        fn add_turn(&self, turn: &TurnRecord) -> Result<(), StoreError>;
        fn turns(&self, session_id: &str) -> Result<Vec<TurnRecord>, StoreError>;
        fn lease_session(
            &self,
            session_id: &str,
            request: &LeaseRequest,
            holder_gone: &dyn Fn(&SessionLease) -> bool
        ) -> Result<LeaseGrant, StoreError>;
        fn renew_session_lease(
            &self,
            session_id: &str,
            owner: &str,
            ttl_ms: i64
        ) -> Result<bool, StoreError>;
        fn release_session_lease(&self, session_id: &str, owner: &str) -> Result<(), StoreError>;
        fn session_lease(&self, session_id: &str) -> Result<Option<SessionLease>, StoreError>;
        fn context_index(&self, skill: &str) -> Result<Vec<IndexedFile>, StoreError>;
        fn replace_context_index(
            &self,
            skill: &str,
            files: &[IndexedFile]
        ) -> Result<(), StoreError>;
        fn save_job(&self, job: &JobRecord) -> Result<(), StoreError>;
        fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;
        fn jobs(&self, unfinished: bool, limit: usize) -> Result<Vec<JobRecord>, StoreError>;
        fn ready(&self) -> Result<(), StoreError>;
    }
}

impl crate::JobQueueStore for OpeningStore {
    forward! {
        fn claim_job(&self, id: &str, claim: &crate::JobClaim) -> Result<bool, StoreError>;
        fn claim_next_job(&self, claim: &crate::JobClaim) -> Result<Option<JobRecord>, StoreError>;
        fn renew_job_leases(&self, holder: &str, until_ms: i64) -> Result<Vec<String>, StoreError>;
        fn requeue_lapsed_jobs(&self, now_ms: i64) -> Result<crate::LapsedJobs, StoreError>;
        fn cancel_queued_job(&self, id: &str, error: &str, now_ms: i64) -> Result<bool, StoreError>;
        fn request_job_cancel(&self, id: &str) -> Result<bool, StoreError>;
    }
}

impl StateStore for OpeningStore {
    forward! {
        fn state(&self, key: &StateKey) -> Result<Option<StateRecord>, StoreError>;
        fn commit_state(
            &self,
            key: &StateKey,
            read_rev: i64,
            write: &StateWrite<'_>
        ) -> Result<StateCommit, StoreError>;
        fn states(
            &self,
            workspace: &str,
            owner: Option<&str>
        ) -> Result<Vec<StateRecord>, StoreError>;
    }
}

impl CacheStore for OpeningStore {
    forward! {
        fn cache_lookup(
            &self,
            skill: &str,
            key: &str,
            now_ms: i64,
            count_miss: bool
        ) -> Result<Option<CacheEntry>, StoreError>;
        fn cache_put(&self, entry: &CacheEntry, max_bytes: u64) -> Result<u64, StoreError>;
        fn cache_stats(&self) -> Result<Vec<CacheSkillStats>, StoreError>;
        fn cache_entries(&self, skill: Option<&str>) -> Result<Vec<CacheEntry>, StoreError>;
        fn cache_clear(&self, skill: Option<&str>) -> Result<u64, StoreError>;
        fn file_digests(&self, paths: &[String]) -> Result<Vec<FileDigest>, StoreError>;
        fn save_file_digests(&self, files: &[FileDigest]) -> Result<(), StoreError>;
    }
}

impl AlertStore for OpeningStore {
    forward! {
        fn record_alert(&self, event: &AlertEvent) -> Result<i64, StoreError>;
        fn set_alert_notified(&self, id: i64, notified: &str) -> Result<(), StoreError>;
        fn alert_events(&self, limit: usize) -> Result<Vec<AlertEvent>, StoreError>;
        fn alert_states(&self) -> Result<Vec<AlertEvent>, StoreError>;
    }
}

impl LogStore for OpeningStore {
    forward! {
        fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError>;
        fn index_logs(&self) -> Result<u64, StoreError>;
        fn scan_logs(
            &self,
            query: &LogQuery,
            visit: &mut dyn FnMut(LogLine) -> bool
        ) -> Result<(), StoreError>;
    }
}

impl AuthoringStore for OpeningStore {
    forward! {
        fn record_authoring(&self, record: &AuthoringRecord) -> Result<(), StoreError>;
        fn authoring_stats(
            &self,
            query: &AuthoringQuery
        ) -> Result<Vec<AuthoringStats>, StoreError>;
    }
}

impl ChannelStore for OpeningStore {
    forward! {
        fn send_message(
            &self,
            key: &ChannelKey,
            sender: &str,
            body: &str,
            limits: &ChannelLimits
        ) -> Result<ChannelSend, StoreError>;
        fn read_messages(
            &self,
            key: &ChannelKey,
            since: i64,
            limit: usize,
            ttl_ms: i64
        ) -> Result<Vec<ChannelMessage>, StoreError>;
        fn channels(&self, workspace: &str) -> Result<Vec<ChannelInfo>, StoreError>;
        fn clear_channel(&self, key: &ChannelKey) -> Result<u64, StoreError>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    #[test]
    fn a_call_waits_for_the_open_and_sees_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skillet.db");
        let opened = path.clone();
        let store = OpeningStore::spawn(
            &path,
            move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok(Arc::new(SqliteStore::open(&opened)?) as Arc<dyn Store>)
            },
            |e| panic!("{e}"),
        );
        store
            .record(&ExecutionRecord::new("e-1", "s", "ok"))
            .unwrap();
        let direct = SqliteStore::open(&path).unwrap();
        assert!(direct.get("e-1").unwrap().is_some());
    }

    #[test]
    fn a_failed_open_is_told_once_and_every_call_fails_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("data");
        std::fs::write(&blocker, "not a directory").unwrap();
        let path = blocker.join("skillet.db");
        let opened = path.clone();
        let told = Arc::new(Mutex::new(Vec::new()));
        let seen = told.clone();
        let store = OpeningStore::spawn(
            &path,
            move || Ok(Arc::new(SqliteStore::open(&opened)?) as Arc<dyn Store>),
            move |e| seen.lock().unwrap().push(e.to_string()),
        );
        let first = store.get("x").unwrap_err().to_string();
        let second = store.breakers().unwrap_err().to_string();
        assert_eq!(told.lock().unwrap().len(), 1, "the error is told once");
        assert_eq!(first, second);
        assert_eq!(told.lock().unwrap()[0], first);
        assert!(first.contains("cannot open the database"), "{first}");
        assert_eq!(
            first.matches("cannot open the database").count(),
            1,
            "{first}"
        );
    }
}
