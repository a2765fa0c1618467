//! The install journal: what a change in flight replaces, written before anything moves, so
//! the next command can put everything back after a Ctrl-C, a SIGKILL or a full disk.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::AtFlags;
use serde::{Deserialize, Serialize};

use super::error::InstallError;
use super::handle::{self, DirId};
use super::scope::{STAGING, ScopeLock, ScopePaths};
use crate::PackageName;
use crate::lock::LOCK_FILE;

/// The journal's file name, in the packages directory.
pub const JOURNAL_FILE: &str = ".install-journal.json";

/// What a change in flight is about to do, enough to undo it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Journal {
    /// `skillet.lock` as it was before the change; `None` when there was none.
    pub lockfile_before: Option<String>,
    /// The packages the change touches, in the order it touches them.
    pub entries: Vec<Entry>,
    /// The packages directory it was written in (filled in by [`Journal::write`]): a journal
    /// that does not name this one was not written here and is never acted on.
    #[serde(default)]
    pub packages_dir: Option<DirId>,
}

/// One package a change touches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The package.
    pub name: PackageName,
    /// Its version before the change, for the message after a roll back.
    pub previous: Option<semver::Version>,
    /// Where its previous folder is moved while the change is in flight, relative to the
    /// packages directory; `None` when it was not installed.
    pub aside: Option<String>,
    /// Whether a new folder takes its place (false: it is being removed).
    pub installs: bool,
}

/// An interrupted change that was rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Each package touched, with the version it is back at (`None`: not installed again).
    pub packages: Vec<(PackageName, Option<semver::Version>)>,
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .packages
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name} is back at {v}"),
                None => format!("{name} is not installed"),
            })
            .collect();
        write!(
            f,
            "an interrupted install was rolled back to the previous state ({})",
            parts.join(", ")
        )
    }
}

impl Journal {
    /// Writes the journal durably, through the opened packages directory: after this returns,
    /// a crash leaves it readable. It records which directory it was written in, so a journal
    /// copied or committed from elsewhere is never acted on.
    pub fn write(&self, lock: &ScopeLock) -> Result<(), InstallError> {
        let paths = lock.paths();
        let mut journal = self.clone();
        journal.packages_dir = Some(
            DirId::of(lock.packages_fd())
                .map_err(InstallError::io("cannot read", paths.packages()))?,
        );
        let text = serde_json::to_string_pretty(&journal)
            .map_err(|e| InstallError::Part(format!("cannot write the install journal: {e}")))?;
        handle::write_atomic_at(
            lock.packages_fd(),
            JOURNAL_FILE,
            text.as_bytes(),
            &paths.journal(),
        )
    }

    /// Removes the journal: the change is committed.
    pub fn commit(lock: &ScopeLock) -> Result<(), InstallError> {
        let path = lock.paths().journal();
        rustix::fs::unlinkat(lock.packages_fd(), JOURNAL_FILE, AtFlags::empty())
            .map_err(|e| InstallError::io("cannot remove", &path)(e.into()))?;
        let _ = rustix::fs::fsync(lock.packages_fd());
        Ok(())
    }
}

/// Where an entry's previous folder waits: `.staging/<dir>/<slot>`, as [`StagingDir`] names
/// them (`<pid>-<8 hex digits>` and `old-<n>`).
///
/// [`StagingDir`]: super::staging::StagingDir
struct Aside<'a> {
    dir: &'a str,
    slot: &'a str,
}

/// Reads an entry's `aside` only in the one shape skillet writes; anything else (an absolute
/// path, `..`, another folder) means the journal is not skillet's.
fn parse_aside(text: &str) -> Option<Aside<'_>> {
    let rest = text.strip_prefix(STAGING)?.strip_prefix('/')?;
    let (dir, slot) = rest.split_once('/')?;
    let (pid, nanos) = dir.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let hex = nanos.len() == 8 && nanos.bytes().all(|b| b.is_ascii_hexdigit());
    let n = slot.strip_prefix("old-")?;
    (digits(pid) && hex && digits(n)).then_some(Aside { dir, slot })
}

/// The largest journal read: one names a few packages, never megabytes.
const MAX_JOURNAL: u64 = 4 << 20;

/// Puts back what the journal says a change replaced, if a journal is there. Idempotent: a
/// roll back interrupted in its turn is finished by the next one.
///
/// A journal is acted on only when skillet wrote it here: a regular file owned by this user,
/// recording this very packages directory (so one committed to a repository, or copied, is
/// refused), with package names and aside folders of the shapes skillet writes. Everything it
/// moves or removes is inside the opened packages directory, by handle, never through a link.
pub(crate) fn recover(lock: &ScopeLock) -> Result<Option<Recovered>, InstallError> {
    let paths = lock.paths();
    let path = paths.journal();
    let Some((mut file, st)) = handle::open_file(lock.packages_fd(), JOURNAL_FILE, &path)? else {
        return Ok(None);
    };
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(unreadable(
            paths,
            "it belongs to another user, so skillet did not write it for you".into(),
        ));
    }
    if st.st_size < 0 || st.st_size as u64 > MAX_JOURNAL {
        return Err(unreadable(
            paths,
            "it is far larger than any journal skillet writes".into(),
        ));
    }
    let mut text = String::new();
    (&mut file)
        .take(MAX_JOURNAL)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(paths, e.to_string()))?;
    let journal: Journal = match serde_json::from_str(&text) {
        Ok(j) => j,
        // A journal cut short was never complete, and nothing moves before it is: the
        // temporary file is renamed into place whole, so this is damage, not a crash.
        Err(e) => return Err(unreadable(paths, e.to_string())),
    };
    let here =
        DirId::of(lock.packages_fd()).map_err(InstallError::io("cannot read", paths.packages()))?;
    if journal.packages_dir != Some(here) {
        return Err(unreadable(
            paths,
            "it was not written in this directory (copied, or committed to a repository?), so nothing it names is moved".into(),
        ));
    }
    // Every entry is checked before anything moves.
    let mut plan = Vec::new();
    for entry in &journal.entries {
        let aside = match &entry.aside {
            Some(text) => Some(parse_aside(text).ok_or_else(|| {
                unreadable(
                    paths,
                    format!(
                        "the folder it names for {}, {text:?}, is not one skillet makes",
                        entry.name
                    ),
                )
            })?),
            None => None,
        };
        plan.push((entry, aside));
    }
    let packages = lock.packages_fd();
    let mut restored = Vec::new();
    for (entry, aside) in plan.into_iter().rev() {
        let name = entry.name.as_str();
        let dest = paths.package(&entry.name);
        match aside {
            Some(aside) => {
                let staged = paths.staging().join(aside.dir);
                if handle::exists_at(lock.staging_fd(), aside.dir).unwrap_or(false) {
                    let dir = handle::open_dir(lock.staging_fd(), aside.dir, false, &staged)?;
                    if handle::exists_at(dir.as_fd(), aside.slot).unwrap_or(false) {
                        handle::remove_at(packages, name.as_ref())
                            .map_err(InstallError::io("cannot remove", &dest))?;
                        rustix::fs::renameat(&dir, aside.slot, packages, name)
                            .map_err(|e| InstallError::io("cannot restore", &dest)(e.into()))?;
                    }
                }
            }
            None if entry.installs => {
                handle::remove_at(packages, name.as_ref())
                    .map_err(InstallError::io("cannot remove", &dest))?;
            }
            None => {}
        }
        restored.push((entry.name.clone(), entry.previous.clone()));
    }
    let lockfile = paths.lockfile();
    match &journal.lockfile_before {
        Some(text) => {
            handle::write_atomic_at(lock.scope_fd(), LOCK_FILE, text.as_bytes(), &lockfile)?
        }
        None => handle::remove_at(lock.scope_fd(), LOCK_FILE.as_ref())
            .map_err(InstallError::io("cannot remove", &lockfile))?,
    }
    Journal::commit(lock)?;
    restored.reverse();
    Ok(Some(Recovered { packages: restored }))
}

fn unreadable(paths: &ScopePaths, reason: String) -> InstallError {
    InstallError::Journal {
        path: paths.journal(),
        packages: paths.packages(),
        reason,
    }
}

/// Makes a directory's entries (renames, removals) durable; best effort, as not every file
/// system can sync a directory.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
