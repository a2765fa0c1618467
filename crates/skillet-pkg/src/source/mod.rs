//! Where a package comes from, and fetching it into a staging directory.
//!
//! A [`Source`] is what a user or an index names; fetching it yields a [`Pinned`] source (the
//! exact git commit, the archive's digest) that `skillet.lock` records, so a second machine gets
//! the same bytes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where a package's files come from, as named by a user or an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// A folder on this machine (copied, never linked).
    Dir {
        /// The folder.
        path: PathBuf,
    },
    /// A git repository, fetched with the `git` program.
    Git {
        /// Anything `git` accepts: `https://…`, `file://…`, `git@host:org/repo.git`, a path.
        url: String,
        /// A branch, tag or commit; the remote's default branch when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The package's folder inside the repository, when it is not the root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subdir: Option<String>,
    },
    /// A `.tar.gz` archive over `https://` or `file://`, which must match its digest.
    Archive {
        /// The archive's URL.
        url: String,
        /// Its sha256, lowercase hex. Required: an archive is never installed unchecked.
        sha256: String,
    },
}

/// A fetched source, exact enough to fetch the same bytes again: what `skillet.lock` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pinned {
    /// A folder; its files' digests in the lockfile are what pin it.
    Dir {
        /// The folder, as given.
        path: PathBuf,
    },
    /// A git repository at one commit.
    Git {
        /// The repository.
        url: String,
        /// The full commit hash that was checked out.
        commit: String,
        /// The package's folder inside the repository, when it is not the root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subdir: Option<String>,
    },
    /// An archive with its digest.
    Archive {
        /// The archive's URL.
        url: String,
        /// Its sha256, lowercase hex.
        sha256: String,
    },
}
