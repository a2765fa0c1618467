//! Snapshots: a test's expected output kept in a file beside the skill,
//! `<skill folder>/__snapshots__/<skill>-<n>.txt`, written by `skillet test --update-snapshots`.
//!
//! The folder sits in the workspace, which may come from someone else's repository, so it is
//! opened by handle and never through a link: `__snapshots__` or a snapshot that is a symbolic
//! link is refused, and a snapshot is replaced by renaming a fresh file over it, so neither a
//! link nor a second name (hard link) of another file can make `--update-snapshots` write
//! anywhere but the snapshot itself.

use std::path::{Path, PathBuf};

use crate::beside::{self, BesideError};

/// The folder snapshots live in, inside the skill's folder.
pub const SNAPSHOT_DIR: &str = "__snapshots__";

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The folder or the file is a symbolic link (or not what it should be).
    #[error(
        "{} is not a plain file or folder (a symbolic link?); snapshots are never read or written \
         through a link: remove it and run `skillet test --update-snapshots`",
        .0.display()
    )]
    NotPlain(PathBuf),
    /// The file is not UTF-8 text.
    #[error("{} is not UTF-8 text; remove it and run `skillet test --update-snapshots`", .0.display())]
    NotText(PathBuf),
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The file name of test `index` (counted from 1) of `skill`.
pub fn file_name(skill: &str, index: usize) -> String {
    format!("{skill}-{index}.txt")
}

/// Where the snapshot of test `index` of `skill` is, for messages.
pub fn path(skill_dir: &Path, skill: &str, index: usize) -> PathBuf {
    skill_dir.join(SNAPSHOT_DIR).join(file_name(skill, index))
}

impl From<BesideError> for SnapshotError {
    fn from(e: BesideError) -> SnapshotError {
        match e {
            BesideError::NotPlain(path) => SnapshotError::NotPlain(path),
            // Snapshots are not bounded: `max` is `u64::MAX`.
            BesideError::TooLarge { path, .. } => SnapshotError::NotText(path),
            BesideError::Io {
                action,
                path,
                source,
            } => SnapshotError::Io {
                action,
                path,
                source,
            },
        }
    }
}

/// The stored snapshot of test `index` of `skill`; `None` when there is none yet.
pub fn read(skill_dir: &Path, skill: &str, index: usize) -> Result<Option<String>, SnapshotError> {
    let Some(bytes) = beside::read(skill_dir, SNAPSHOT_DIR, &file_name(skill, index), u64::MAX)?
    else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| SnapshotError::NotText(path(skill_dir, skill, index)))
}

/// Stores `text` as the snapshot of test `index` of `skill`, replacing the old one whole.
pub fn write(
    skill_dir: &Path,
    skill: &str,
    index: usize,
    text: &str,
) -> Result<PathBuf, SnapshotError> {
    Ok(beside::write(
        skill_dir,
        SNAPSHOT_DIR,
        &file_name(skill, index),
        text.as_bytes(),
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn written_then_read() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read(tmp.path(), "s", 1).unwrap(), None);
        let at = write(tmp.path(), "s", 1, "one\n").unwrap();
        assert_eq!(at, tmp.path().join("__snapshots__/s-1.txt"));
        assert_eq!(read(tmp.path(), "s", 1).unwrap().as_deref(), Some("one\n"));
        write(tmp.path(), "s", 1, "two\n").unwrap();
        assert_eq!(read(tmp.path(), "s", 1).unwrap().as_deref(), Some("two\n"));
    }

    #[test]
    fn links_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "precious\n").unwrap();

        // The snapshot itself a symbolic link: refused both ways.
        let skill = tmp.path().join("a");
        std::fs::create_dir_all(skill.join(SNAPSHOT_DIR)).unwrap();
        std::os::unix::fs::symlink(&victim, skill.join("__snapshots__/s-1.txt")).unwrap();
        assert!(matches!(
            read(&skill, "s", 1),
            Err(SnapshotError::NotPlain(_))
        ));
        // Writing replaces the link itself, never the file it points to.
        write(&skill, "s", 1, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");

        // The folder a symbolic link to somewhere else: refused.
        let skill = tmp.path().join("b");
        std::fs::create_dir_all(&skill).unwrap();
        std::os::unix::fs::symlink(outside.path(), skill.join(SNAPSHOT_DIR)).unwrap();
        assert!(matches!(
            write(&skill, "victim", 1, "x"),
            Err(SnapshotError::NotPlain(_))
        ));
        assert!(matches!(
            read(&skill, "s", 1),
            Err(SnapshotError::NotPlain(_))
        ));
        assert!(!outside.path().join("victim-1.txt").exists());

        // A second name (hard link) of another file: replaced, the other file untouched.
        let skill = tmp.path().join("c");
        std::fs::create_dir_all(skill.join(SNAPSHOT_DIR)).unwrap();
        std::fs::hard_link(&victim, skill.join("__snapshots__/s-1.txt")).unwrap();
        write(&skill, "s", 1, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
}
