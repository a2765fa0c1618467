//! Setting a workspace up for writing skills: `skillet init` ([`init_workspace`]) and the git
//! pre-commit hook of `skillet hooks install` ([`install_hook`]).
//!
//! Both write into a repository someone else may have prepared, so every directory on the way
//! is opened by handle without following a link ([`handle`]): a `.vscode`, `.skillet` or hooks
//! file planted as a link to somewhere else is refused, never written through.

mod handle;
mod hooks;
mod init;

use std::path::PathBuf;

pub use hooks::{HookInstalled, hook_script, install_hook};
pub use init::{
    FileAction, InitReport, InitedFile, SCHEMA_FILE, SETTINGS_FILE, init_workspace, schema_ref_for,
    settings_entry, write_schema,
};

/// Why a workspace could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A path on the way is a symbolic link, or not the kind of file expected.
    #[error(
        "{} is a symbolic link or not a plain {kind}: skillet does not write through it; \
         remove or replace it, then run the command again",
        path.display()
    )]
    NotPlain {
        /// The path.
        path: PathBuf,
        /// `directory` or `file`.
        kind: &'static str,
    },
    /// A file is larger than skillet reads.
    #[error("{} is larger than {limit} bytes; skillet does not edit it", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest size read.
        limit: u64,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {}: {source}; check that it is writable", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `git` could not tell where the hooks go.
    #[error("{0}")]
    Git(String),
    /// A pre-commit hook is already there.
    #[error(
        "{} already exists and is not skillet's: run `skillet hooks install --force` to replace \
         it (it is kept as pre-commit.bak), or call skillet from it yourself",
        .0.display()
    )]
    HookExists(PathBuf),
}
