//! Checkpoints of a long-lived process's log, on a thread of their own.
//!
//! SQLite checkpoints the log into the database at the commit that takes it past 1,000 pages,
//! on the committing thread, with an `fsync` of the log and of the database. In the daemon that
//! commit is a session exchange's or a job's, so about one reply in two hundred waited for two
//! `fsync`s (the warm session round trip's p99). A process that serves many calls turns that
//! off for its connection and lets [`Checkpointer`] copy the log from a connection of its own.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// How often the log's size is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The log's size from which it is checkpointed: SQLite's own default of 1,000 pages.
const CHECKPOINT_FROM_BYTES: u64 = 1_000 * (4_096 + 24);

/// The thread that checkpoints a store's log. It ends when this is dropped (with its store).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: Sender<()>,
}

impl Checkpointer {
    /// Turns off the checkpoint at commit on `serving` and starts the thread, with its own
    /// connection to the database at `path`.
    pub(crate) fn start(serving: &Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        let own = crate::sqlite_open::open_connection(path)?;
        let classify = |e| crate::sqlite_open::classify(path, e);
        // The thread's own connection must not checkpoint at commit either: it never commits.
        serving
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(classify)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let log = crate::sqlite_open::log_path(serving, path);
        std::thread::Builder::new()
            .name("skillet-ckpt".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(LOOK_EVERY) {
                    let size = std::fs::metadata(&log).map_or(0, |m| m.len());
                    if size >= CHECKPOINT_FROM_BYTES {
                        // PASSIVE never waits for a reader or a writer; what it could not copy
                        // is copied next time. A failure leaves the log as it was.
                        let _ = own.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::CHECKPOINT_FROM_BYTES;
    use crate::{ExecutionRecord, SqliteStore, Store};

    fn log_bytes(store: &SqliteStore) -> u64 {
        let log = crate::sqlite_open::log_path(&store.conn(), store.path());
        std::fs::metadata(log).map_or(0, |m| m.len())
    }

    fn checkpointers() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .flatten()
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.trim() == "skillet-ckpt")
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    fn row(n: usize) -> ExecutionRecord {
        let mut r = ExecutionRecord::new(format!("0190{n:028x}"), "s", "ok");
        r.params = Some("x".repeat(6_000));
        r
    }

    #[test]
    fn a_serving_store_commits_without_checkpointing_and_its_thread_copies_the_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("skillet.db")).expect("open");
        copies_the_log(store);
    }

    /// SQLite keeps the log beside the file a link points to: that is the log to watch.
    #[test]
    fn the_log_of_a_database_reached_through_a_link_is_copied_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("elsewhere");
        std::fs::create_dir(&real).expect("mkdir");
        drop(SqliteStore::open(&real.join("history.db")).expect("create"));
        let link = dir.path().join("skillet.db");
        std::os::unix::fs::symlink(real.join("history.db"), &link).expect("symlink");
        let store = SqliteStore::open(&link).expect("open through the link");
        copies_the_log(store);
        assert!(
            real.join("history.db-wal").exists(),
            "the log is beside the real file"
        );
    }

    /// The tests count the process's checkpoint threads: one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn copies_the_log(store: SqliteStore) {
        let _turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.checkpoint_in_background().expect("start");
        store
            .checkpoint_in_background()
            .expect("a second call does nothing");
        // The thread names itself once it runs.
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while checkpointers() != 1 {
            assert!(Instant::now() < deadline, "one thread: {}", checkpointers());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let at_commit: i64 = store
            .conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(at_commit, 0, "no commit of this store checkpoints");

        // Past SQLite's 1,000 pages in one commit, then small commits until the log starts
        // over: only the thread can have copied it.
        store
            .import(&mut (0..1_000).map(row))
            .expect("import 1,000 rows");
        assert!(log_bytes(&store) > CHECKPOINT_FROM_BYTES);
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        let mut n = 1_000;
        while log_bytes(&store) > CHECKPOINT_FROM_BYTES {
            assert!(Instant::now() < deadline, "the log was never checkpointed");
            std::thread::sleep(std::time::Duration::from_millis(50));
            store.record(&row(n)).expect("record");
            n += 1;
        }
        assert_eq!(
            store.list(&Default::default()).expect("list").len(),
            n,
            "every row is kept"
        );

        drop(store);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while checkpointers() > 0 {
            assert!(Instant::now() < deadline, "the thread outlived its store");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
