//! What can go wrong while installing, and what to do about it.

use std::io;
use std::path::PathBuf;

use crate::PackageName;

/// An install, update or removal that could not be done. Each message names the package or
/// the file involved and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A file operation on the scope's directories failed.
    #[error(
        "{what} {}: {source}; check that the directory is writable and the disk has room, then run the command again",
        path.display()
    )]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The journal of an interrupted install cannot be read, so it cannot be rolled back.
    #[error(
        "the journal of an interrupted install, {}, cannot be read ({reason}); look at the folders under {} and skillet.lock, then remove the journal",
        path.display(),
        packages.display()
    )]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// The scope's packages directory.
        packages: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// One of the scope's own directories or files (`.skillet`, `packages`, `.staging`, the
    /// lock, the journal) is a link or the wrong kind of file: a workspace may come from a
    /// clone, so skillet never follows one there.
    #[error(
        "{} is {what}; skillet keeps packages only in real directories inside the scope and never follows a link there: remove it (`rm {}`), check where it came from (a cloned repository?), and run the command again",
        path.display(),
        path.display()
    )]
    UnsafeScope {
        /// The entry.
        path: PathBuf,
        /// What it is instead ("a symbolic link", "not a directory").
        what: &'static str,
    },
    /// An install in this scope was interrupted; a command that only reads packages does not
    /// roll it back.
    #[error(
        "an install in this scope was interrupted ({} is still there); run `skillet verify` (or any install or uninstall) in this scope to roll it back",
        journal.display()
    )]
    Interrupted {
        /// The journal left behind.
        journal: PathBuf,
    },
    /// A fetched package is not the one its source was expected to hold.
    #[error(
        "{source_text} holds package {found} {found_version}, not {expected}; check the source (or the index that names it)"
    )]
    Mismatch {
        /// What was expected.
        expected: String,
        /// The package found.
        found: PackageName,
        /// Its version.
        found_version: semver::Version,
        /// Where it was fetched from.
        source_text: String,
    },
    /// A fetched file does not match the digest `skillet.lock` records.
    #[error(
        "package {package} from {source_text}: {file} {problem} what skillet.lock records; the source changed since the lock was written: run `skillet install {package}` without --locked to accept the new content, or ask whoever published it"
    )]
    LockedMismatch {
        /// The package.
        package: PackageName,
        /// Where it was fetched from.
        source_text: String,
        /// The file (relative to the package folder).
        file: String,
        /// "differs from", "is missing from", "is not in".
        problem: &'static str,
    },
    /// Two packages of one scope would provide a skill of the same name.
    #[error(
        "package {package} answers to `{skill}` (a skill's name or alias), and so does {other}: only one package may answer to a name, so nothing was installed; {fix}"
    )]
    NameClash {
        /// The name (or alias).
        skill: String,
        /// The package being installed.
        package: String,
        /// The package already answering to it, and where it is ("package tools, installed in
        /// this scope").
        other: String,
        /// What to do.
        fix: String,
    },
    /// Any other failure of a part (fetching, reading the manifest, the lockfile), already
    /// worded for a person.
    #[error("{0}")]
    Part(String),
}

impl InstallError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| InstallError::Io { what, path, source }
    }
}
