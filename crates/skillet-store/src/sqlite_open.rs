//! Opening the SQLite file: creating it whole, refusing one that is not a database, setting it
//! aside on request.
//!
//! A new database is built in a private temporary file (WAL mode set, schema migrated) and
//! linked into place in one step, so no process ever sees a half-made one: several skillet
//! processes starting together on a machine with no database yet used to race through
//! `journal_mode = WAL` and the first migration on the same empty file. Because of that, an
//! empty file at the database's path is never one of ours being born: it is damage, and is
//! reported rather than silently turned into a new, empty history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use rusqlite_migration::{M, Migrations};

use crate::StoreError;
use crate::sqlite_schema::{SCHEMA_VERSION, STEPS};

/// How long a writer waits for another process's transaction before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the database at `path`, creating it (and its directory) when there is none.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
        path: path.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|e| fail(e.into()))?;
    }
    tighten(path);
    // A file removed between the look and the open is looked at again.
    for _ in 0..3 {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_whole(path)?,
            Err(e) => return Err(fail(e.into())),
            Ok(meta) if meta.len() == 0 => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    problem: "the file is empty (0 bytes), so it holds no database".into(),
                });
            }
            Ok(_) => {}
        }
        // No CREATE flag: a file that vanished is created whole on the next turn, never
        // recreated empty by SQLite here.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match Connection::open_with_flags(path, flags) {
            Ok(conn) => {
                // First of all: a connection dropped because the file turned out damaged must
                // not copy the log into it and delete the log on the way out (a close's
                // checkpoint), which would change both files while the error says nothing was.
                conn.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                    true,
                )
                .map_err(|e| classify_open(path, e))?;
                return prepare(conn, path).and_then(|c| keep_log_at_close(c, path));
            }
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) && !path.exists() => {}
            Err(e) => return Err(classify_open(path, e)),
        }
    }
    Err(fail(
        "the file keeps disappearing while it is opened".into(),
    ))
}

/// Settings every connection needs, then the schema brought up to date.
fn prepare(mut conn: Connection, path: &Path) -> Result<Connection, StoreError> {
    let sql = |e: rusqlite::Error| classify_open(path, e);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // Room for every statement a run prepares (recording, breakers, output, the prune check)
    // and the daemon's own, so a long-lived process parses each once.
    conn.set_prepared_statement_cache_capacity(64);
    // WAL lets readers and one writer work at once; NORMAL is durable across process
    // crashes (only a power loss can lose the last transactions). A database created by this
    // build is already in WAL mode, and then this takes no lock.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        migrate(&mut conn).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
    }
    Ok(conn)
}

/// How large the log may be found at open before it is checkpointed into the database
/// (about 256 pages: some 40 runs).
const CHECKPOINT_AT_OPEN_BYTES: u64 = 256 * (4096 + 24);

/// The fast path of a short-lived process (`skillet run`): closing the last connection used to
/// checkpoint the log into the database and delete it (an `fsync` of each), and the next
/// process's first commit made the log again (an `fsync` of it and of its directory): four per
/// run. Now the log stays and commits append to it without an `fsync` (WAL with
/// `synchronous=NORMAL`: a committed transaction survives the process being killed at any point,
/// only a power loss can take the last ones).
///
/// The log is checkpointed here, at open, once it has grown past [`CHECKPOINT_AT_OPEN_BYTES`]
/// (a few `fsync`s: four on this machine): about once every 40 runs. Not at commit, as SQLite
/// does by itself: a process that opens the database first rebuilds the log's index from the
/// file and forgets how much of it was already copied, and a log only starts over at a write
/// that begins after a checkpoint. Checkpointed at a commit, the log of one-run processes never
/// started over, grew without end, and every run copied all of it again (three `fsync`s a run).
/// Checkpointed at open, this process's own write starts the log over. `PASSIVE` never waits
/// for other processes; what they still read is copied by a later checkpoint. Long-lived
/// processes (the daemon, an MCP server) also keep SQLite's own checkpoint at 1,000 pages.
/// `journal_size_limit = 0`: a log that starts over is cut to what is written into it, so its
/// size is what it holds (what the check above reads) and a fresh process reads back only that.
fn keep_log_at_close(conn: Connection, path: &Path) -> Result<Connection, StoreError> {
    // `SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE` is set as soon as the connection is open.
    let sql = |e: rusqlite::Error| classify(path, e);
    conn.pragma_update(None, "journal_size_limit", 0)
        .map_err(sql)?;
    let log_bytes = std::fs::metadata(log_path(&conn, path)).map_or(0, |m| m.len());
    if log_bytes >= CHECKPOINT_AT_OPEN_BYTES {
        // Best effort: a checkpoint that fails leaves the log as it was, and the next open
        // tries again; the store works the same either way.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
    Ok(conn)
}

/// Builds a complete database beside `path` and links it into place, unless another process
/// got there first (then theirs is used).
fn create_whole(path: &Path) -> Result<(), StoreError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
        path: path.to_path_buf(),
        source: e,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skillet.db".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_file_name(format!(".{name}.new-{}-{nanos}", std::process::id()));
    let built = (|| -> Result<(), StoreError> {
        // Made private before SQLite sees it: SQLite gives the WAL files the database's mode.
        create_private_file(&tmp).map_err(|e| fail(e.into()))?;
        let conn = Connection::open(&tmp).map_err(|e| classify(&tmp, e))?;
        // Before any table exists, when it is free: pruned history gives its pages back.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(|e| classify(&tmp, e))?;
        // Closing the only connection checkpoints the WAL into the file and removes it.
        drop(prepare(conn, &tmp)?);
        Ok(())
    })();
    let placed = built.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(e.into())),
    });
    for leftover in [tmp.clone(), sidecar(&tmp, "-wal"), sidecar(&tmp, "-shm")] {
        let _ = std::fs::remove_file(leftover); // best effort: a stray temporary file is harmless
    }
    placed
}

/// The history holds session transcripts, and parameter values when the user keeps them: only
/// its owner may read it, whatever the umask (a fresh home is often 0755, and so was the data
/// directory skillet made in it).
const PRIVATE_DIR_MODE: u32 = 0o700;
/// See [`PRIVATE_DIR_MODE`]; also the mode SQLite gives the `-wal` and `-shm` files.
const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) readable by its owner only. An existing directory is left
/// as it is: it may be one the user chose and shares on purpose; the files in it are private.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)?;
    // The umask may have taken bits from the mode; set it exactly.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))
}

/// Creates `path` empty, owner read/write only, whatever the umask.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))
}

/// A database (or WAL file) that others may read, made by an older skillet, becomes private.
/// Only its owner can change the mode; for anyone else this quietly does nothing.
fn tighten(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for file in [
        path.to_path_buf(),
        sidecar(path, "-wal"),
        sidecar(path, "-shm"),
    ] {
        // Never through a link: the mode of whatever it points at is not ours to change.
        if let Ok(meta) = std::fs::symlink_metadata(&file)
            && meta.is_file()
            && meta.permissions().mode() & 0o077 != 0
        {
            let private = std::fs::Permissions::from_mode(PRIVATE_FILE_MODE);
            let _ = std::fs::set_permissions(&file, private); // best effort, see above
        }
    }
}

/// The write-ahead log of the database `conn` has open at `path`: beside the file SQLite
/// opened, which is where a link at `path` points, not beside the link.
pub(crate) fn log_path(conn: &Connection, path: &Path) -> PathBuf {
    let opened = conn.path().filter(|p| !p.is_empty()).map(Path::new);
    sidecar(opened.unwrap_or(path), "-wal")
}

pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A SQLite error, as [`StoreError::Corrupt`] when it says the file is not a sound database.
pub(crate) fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            problem: e.to_string(),
        },
        _ => StoreError::Database(e),
    }
}

/// [`classify`], for an error met while opening the database: SQLite says "unable to open
/// database file" alone, so what is wrong with the place is said too. Only here: a write that
/// fails later (the file moved away under a server) is no failure to open, and the look at the
/// directory writes a file.
fn classify_open(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::Open {
                path: path.to_path_buf(),
                source: match why_not_writable(path) {
                    Some(why) => format!("{e}: {why}").into(),
                    None => e.into(),
                },
            }
        }
        _ => classify(path, e),
    }
}

/// Why the database's directory cannot be written, when that is so: found by trying (SQLite
/// writes its log and index files beside the database even to read it).
fn why_not_writable(path: &Path) -> Option<String> {
    let dir = path.parent()?;
    let probe = dir.join(format!(".skillet-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => Some(format!(
            "{} is on a read-only file system; skillet keeps its history there, so remount it \
             writable or point XDG_DATA_HOME at a writable directory",
            dir.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
            "{} is not writable by this user; skillet keeps its history there, so give the user \
             write access to it (or point XDG_DATA_HOME elsewhere)",
            dir.display()
        )),
        Err(e) => Some(format!("{} cannot be written: {e}", dir.display())),
    }
}

/// Moves the database at `path` (and its WAL files) aside to `<name>.corrupt-<unix seconds>`
/// and returns where it went. Nothing is deleted.
pub fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let fail = |e: std::io::Error| StoreError::Open {
        path: path.to_path_buf(),
        source: e.into(),
    };
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skillet.db".into());
    let mut target = path.with_file_name(format!("{name}.corrupt-{secs}"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{name}.corrupt-{secs}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &target).map_err(fail)?;
    for suffix in ["-wal", "-shm"] {
        let from = sidecar(path, suffix);
        if from.exists() {
            std::fs::rename(&from, sidecar(&target, suffix)).map_err(fail)?;
        }
    }
    Ok(target)
}

/// Brings the schema up to date. Several processes may open an old database at once.
/// Migration transactions take the write lock as they begin (`BEGIN IMMEDIATE`), so a loser waits
/// on the busy timeout instead of failing at once when its snapshot turns stale; it then finds
/// its migration failing (the schema moved under it), reads the version again, and finds the
/// work done. The retries are a backstop for a heavily loaded machine.
fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let migrations = Migrations::new(STEPS.iter().map(|s| M::up(s)).collect());
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    let result = migrate_with_retries(conn, &migrations);
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Deferred);
    result
}

/// How many times a migration that failed is tried again (see [`migrate`]).
const MIGRATE_ATTEMPTS: u32 = 100;

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MigrateError {
    /// The schema version could not be read.
    #[error("cannot read the schema version: {0}")]
    Version(#[source] rusqlite::Error),
    /// Every attempt failed; the last one's error.
    #[error("cannot migrate the schema to version {SCHEMA_VERSION} ({attempts} attempts): {last}")]
    Failed {
        /// How many attempts were made.
        attempts: u32,
        /// What the last attempt met.
        #[source]
        last: rusqlite_migration::Error,
    },
}

fn migrate_with_retries(
    conn: &mut Connection,
    migrations: &Migrations<'_>,
) -> Result<(), MigrateError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let now: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(MigrateError::Version)?;
        if now >= SCHEMA_VERSION {
            return Ok(());
        }
        match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(last) if attempt >= MIGRATE_ATTEMPTS => {
                return Err(MigrateError::Failed {
                    attempts: attempt,
                    last,
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}
