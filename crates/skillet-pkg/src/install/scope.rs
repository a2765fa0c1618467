//! One scope's package directories, and the lock that serialises changes to them.
//!
//! A workspace's `.skillet/` may come from a clone, so nothing in it is trusted: `.skillet`,
//! `packages`, `.staging`, the lock and the journal are opened by handle, each without
//! following a link, and a link or a file of the wrong kind in their place is refused by name
//! (see [`super::handle`]). Only the global scope's own directory may be a link: the user's
//! configuration directory is theirs to arrange (a dotfiles manager often links it).

use std::fs::{self, File};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::error::InstallError;
use super::handle;
use super::journal::{self, Recovered};
use crate::PackageName;
use crate::lock::LOCK_FILE;

/// The packages directory inside a scope's directory.
const PACKAGES: &str = "packages";
/// The staging directory inside the packages directory (same file system: renames are atomic).
pub(crate) const STAGING: &str = ".staging";
/// The file whose lock serialises installs in one scope.
const LOCK: &str = ".install.lock";

/// Where a scope keeps its packages: `<scope dir>/packages/`, `skillet.lock` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePaths {
    /// The scope's directory: `<workspace>/.skillet/` or the global configuration directory.
    pub dir: PathBuf,
    /// Whether `dir` itself may be a link (the user's own configuration directory); never for
    /// a workspace, whose `.skillet` may come from a clone.
    dir_may_link: bool,
}

impl ScopePaths {
    /// The scope whose directory is `dir`, a workspace's `.skillet/`: `dir` must be a real
    /// directory in its parent, never a link.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ScopePaths {
            dir: dir.into(),
            dir_may_link: false,
        }
    }

    /// The global scope, whose directory is the user's configuration directory `dir`: it may be
    /// a link, what is inside it may not.
    pub fn global(dir: impl Into<PathBuf>) -> Self {
        ScopePaths {
            dir: dir.into(),
            dir_may_link: true,
        }
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

    /// Opens the scope directory and its packages directory by handle (creating them when
    /// `create`), refusing a link or a non-directory in their place. `None`: not created yet.
    fn open(&self, create: bool) -> Result<Option<(OwnedFd, OwnedFd)>, InstallError> {
        let scope = if self.dir_may_link {
            if create {
                fs::create_dir_all(&self.dir)
                    .map_err(InstallError::io("cannot create", &self.dir))?;
            }
            match rustix::fs::open(
                &self.dir,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if !create => return Ok(None),
                Err(e) => return Err(InstallError::io("cannot open", &self.dir)(e.into())),
            }
        } else {
            let (Some(parent), Some(name)) = (
                self.dir.parent(),
                self.dir.file_name().and_then(|n| n.to_str()),
            ) else {
                return Err(InstallError::Part(format!(
                    "{} cannot hold packages: it has no parent directory",
                    self.dir.display()
                )));
            };
            let parent_shown = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            // The workspace root is where the user runs skillet: created and opened as given.
            if create {
                fs::create_dir_all(parent_shown)
                    .map_err(InstallError::io("cannot create", parent_shown))?;
            }
            let parent_fd = rustix::fs::open(
                parent_shown,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| InstallError::io("cannot open", parent_shown)(e.into()))?;
            if !create && !handle::exists_at(parent_fd.as_fd(), name).unwrap_or(false) {
                return Ok(None);
            }
            handle::open_dir(parent_fd.as_fd(), name, create, &self.dir)?
        };
        if !create && !handle::exists_at(scope.as_fd(), PACKAGES).unwrap_or(false) {
            return Ok(None);
        }
        let packages = handle::open_dir(scope.as_fd(), PACKAGES, create, &self.packages())?;
        Ok(Some((scope, packages)))
    }
}

/// The scope's install lock, held for the whole of a command that changes its packages. While
/// it is held no other skillet changes the scope, so the journal and staging are ours.
#[derive(Debug)]
pub struct ScopeLock {
    paths: ScopePaths,
    scope: OwnedFd,
    packages: OwnedFd,
    staging: OwnedFd,
    // Held for its lock; released when dropped (or when the process dies, however it dies).
    _file: File,
}

impl ScopeLock {
    /// Takes the lock of `paths` (creating its directories), waiting for another skillet that
    /// holds it (`on_wait` is called once first, to say so). Then rolls back an interrupted
    /// install (when its journal is one skillet wrote there) and removes what interrupted
    /// fetches left in staging.
    pub fn acquire(
        paths: &ScopePaths,
        on_wait: impl FnOnce(),
    ) -> Result<(ScopeLock, Option<Recovered>), InstallError> {
        let Some((scope, packages)) = paths.open(true)? else {
            return Err(InstallError::Part(format!(
                "cannot create {}; check that the directory is writable",
                paths.packages().display()
            )));
        };
        let staging = handle::open_dir(packages.as_fd(), STAGING, true, &paths.staging())?;
        let file = handle::open_lock_file(packages.as_fd(), LOCK, &paths.lock_file())?;
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
            scope,
            packages,
            staging,
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

    /// The scope's directory, opened.
    pub(crate) fn scope_fd(&self) -> BorrowedFd<'_> {
        self.scope.as_fd()
    }

    /// The packages directory, opened.
    pub(crate) fn packages_fd(&self) -> BorrowedFd<'_> {
        self.packages.as_fd()
    }

    /// The staging directory, opened.
    pub(crate) fn staging_fd(&self) -> BorrowedFd<'_> {
        self.staging.as_fd()
    }

    /// Removes every staging directory: under the lock, none belongs to a live install. Only
    /// through the opened staging directory, never following a link.
    fn clear_staging(&self) {
        handle::clear_dir(self.staging.as_fd());
    }
}

/// Whether an install in `paths` was interrupted (its journal is there and no other skillet
/// holds the lock). Commands that only read packages (`list`) call this first; they never roll
/// back themselves, as a workspace's journal may not be one skillet wrote: an `Err` says what
/// was found and that the next install, uninstall or verify in the scope rolls it back.
/// Cheap when there is no journal. Always `Ok(None)` otherwise: nothing is changed here.
pub fn recover_if_interrupted(paths: &ScopePaths) -> Result<Option<Recovered>, InstallError> {
    let Some((_scope, packages)) = paths.open(false)? else {
        return Ok(None);
    };
    if !handle::exists_at(packages.as_fd(), journal::JOURNAL_FILE).unwrap_or(false) {
        return Ok(None);
    }
    if handle::exists_at(packages.as_fd(), LOCK).unwrap_or(false) {
        let file = handle::open_lock_file(packages.as_fd(), LOCK, &paths.lock_file())?;
        if file.try_lock().is_err() {
            // A live install's journal.
            return Ok(None);
        }
    }
    Err(InstallError::Interrupted {
        journal: paths.journal(),
    })
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
