//! The install journal: what a change in flight replaces, written before anything moves, so
//! the next command can put everything back after a Ctrl-C, a SIGKILL or a full disk.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::InstallError;
use super::scope::{ScopeLock, ScopePaths, remove_any};
use crate::PackageName;

/// The journal's file name, in the packages directory.
pub const JOURNAL_FILE: &str = ".install-journal.json";

/// What a change in flight is about to do, enough to undo it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Journal {
    /// `skillet.lock` as it was before the change; `None` when there was none.
    pub lockfile_before: Option<String>,
    /// The packages the change touches, in the order it touches them.
    pub entries: Vec<Entry>,
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
    /// Writes the journal durably: after this returns, a crash leaves it readable.
    pub fn write(&self, paths: &ScopePaths) -> Result<(), InstallError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| InstallError::Part(format!("cannot write the install journal: {e}")))?;
        write_atomic(&paths.journal(), text.as_bytes())
    }

    /// Removes the journal: the change is committed.
    pub fn commit(paths: &ScopePaths) -> Result<(), InstallError> {
        let path = paths.journal();
        fs::remove_file(&path).map_err(InstallError::io("cannot remove", &path))?;
        sync_dir(&paths.packages());
        Ok(())
    }
}

/// Puts back what the journal says a change replaced, if a journal is there. Idempotent: a
/// roll back interrupted in its turn is finished by the next one.
pub(crate) fn recover(lock: &ScopeLock) -> Result<Option<Recovered>, InstallError> {
    let paths = lock.paths();
    let path = paths.journal();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(paths, e.to_string())),
    };
    let journal: Journal = match serde_json::from_str(&text) {
        Ok(j) => j,
        // A journal cut short was never complete, and nothing moves before it is: the
        // temporary file is renamed into place whole, so this is damage, not a crash.
        Err(e) => return Err(unreadable(paths, e.to_string())),
    };
    let packages = paths.packages();
    let mut restored = Vec::new();
    for entry in journal.entries.iter().rev() {
        let dest = paths.package(&entry.name);
        match &entry.aside {
            Some(aside) => {
                let aside = packages.join(aside);
                if aside.exists() {
                    remove_any(&dest).map_err(InstallError::io("cannot remove", &dest))?;
                    fs::rename(&aside, &dest).map_err(InstallError::io("cannot restore", &dest))?;
                }
            }
            None if entry.installs => {
                remove_any(&dest).map_err(InstallError::io("cannot remove", &dest))?;
            }
            None => {}
        }
        restored.push((entry.name.clone(), entry.previous.clone()));
    }
    let lockfile = paths.lockfile();
    match &journal.lockfile_before {
        Some(text) => write_atomic(&lockfile, text.as_bytes())?,
        None => remove_any(&lockfile).map_err(InstallError::io("cannot remove", &lockfile))?,
    }
    Journal::commit(paths)?;
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

/// Writes `bytes` to `path` through a temporary file beside it, synced, then renamed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(InstallError::io("cannot write", path)(e));
    }
    sync_dir(dir);
    Ok(())
}

/// Makes a directory's entries (renames, removals) durable; best effort, as not every file
/// system can sync a directory.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
