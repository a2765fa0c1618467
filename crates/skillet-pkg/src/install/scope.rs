//! One scope's package directories, and the lock that serialises changes to them.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::error::InstallError;
use super::journal::{self, Recovered};
use crate::PackageName;
use crate::lock::LOCK_FILE;

/// The packages directory inside a scope's directory.
const PACKAGES: &str = "packages";
/// The staging directory inside the packages directory (same file system: renames are atomic).
const STAGING: &str = ".staging";
/// The file whose lock serialises installs in one scope.
const LOCK: &str = ".install.lock";

/// Where a scope keeps its packages: `<scope dir>/packages/`, `skillet.lock` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePaths {
    /// The scope's directory: `<workspace>/.skillet/` or the global configuration directory.
    pub dir: PathBuf,
}

impl ScopePaths {
    /// The scope whose directory is `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ScopePaths { dir: dir.into() }
    }

    /// `<scope dir>/packages/`.
    pub fn packages(&self) -> PathBuf {
        self.dir.join(PACKAGES)
    }

    /// One installed package's folder.
    pub fn package(&self, name: &PackageName) -> PathBuf {
        self.packages().join(name.as_str())
    }

    /// `<scope dir>/packages/.staging/`.
    pub fn staging(&self) -> PathBuf {
        self.packages().join(STAGING)
    }

    /// `<scope dir>/skillet.lock`.
    pub fn lockfile(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// The journal of an install in flight.
    pub fn journal(&self) -> PathBuf {
        self.packages().join(journal::JOURNAL_FILE)
    }

    fn lock_file(&self) -> PathBuf {
        self.packages().join(LOCK)
    }
}

/// The scope's install lock, held for the whole of a command that changes its packages. While
/// it is held no other skillet changes the scope, so the journal and staging are ours.
#[derive(Debug)]
pub struct ScopeLock {
    paths: ScopePaths,
    // Held for its lock; released when dropped (or when the process dies, however it dies).
    _file: File,
}

impl ScopeLock {
    /// Takes the lock of `paths` (creating its directories), waiting for another skillet that
    /// holds it (`on_wait` is called once first, to say so). Then rolls back an interrupted
    /// install and removes what interrupted fetches left in staging.
    pub fn acquire(
        paths: &ScopePaths,
        on_wait: impl FnOnce(),
    ) -> Result<(ScopeLock, Option<Recovered>), InstallError> {
        let packages = paths.packages();
        fs::create_dir_all(&packages).map_err(InstallError::io("cannot create", &packages))?;
        let file = open_lock(paths)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock()
                    .map_err(InstallError::io("cannot lock", paths.lock_file()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(InstallError::io("cannot lock", paths.lock_file())(e));
            }
        }
        let lock = ScopeLock {
            paths: paths.clone(),
            _file: file,
        };
        let recovered = journal::recover(&lock)?;
        lock.clear_staging();
        Ok((lock, recovered))
    }

    /// The scope this lock holds.
    pub fn paths(&self) -> &ScopePaths {
        &self.paths
    }

    /// Removes every staging directory: under the lock, none belongs to a live install.
    fn clear_staging(&self) {
        let staging = self.paths.staging();
        if let Ok(entries) = fs::read_dir(&staging) {
            for entry in entries.flatten() {
                // Best effort: what cannot be removed now is tried again next time.
                let _ = remove_any(&entry.path());
            }
        }
    }
}

fn open_lock(paths: &ScopePaths) -> Result<File, InstallError> {
    let path = paths.lock_file();
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(InstallError::io("cannot open", path))
}

/// Rolls back an interrupted install in `paths`, when its journal is there and no other
/// skillet is installing (a live install's journal is not a leftover). Cheap when there is no
/// journal: what commands that only read packages (`list`, `run`) call first.
pub fn recover_if_interrupted(paths: &ScopePaths) -> Result<Option<Recovered>, InstallError> {
    if !paths.journal().exists() {
        return Ok(None);
    }
    let file = open_lock(paths)?;
    if file.try_lock().is_err() {
        return Ok(None);
    }
    let lock = ScopeLock {
        paths: paths.clone(),
        _file: file,
    };
    let recovered = journal::recover(&lock)?;
    lock.clear_staging();
    Ok(recovered)
}

/// Removes a file, a link or a whole directory tree (never following a link).
pub(crate) fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
