//! A throwaway view of the workspace for `skillet test` and `skillet dev`: a copy the sandbox
//! sees as the workspace, so a skill under development that writes files cannot damage the real
//! tree; what it changed is shown as a diff against the real tree and applied only when the
//! user asks (`--apply`).
//!
//! Where this process may mount one (root, see overlay.rs), the view is a copy-on-write
//! overlay over the real tree in a mount namespace of skillet's own; elsewhere it is a copy,
//! and [`View::backing`] says which and why. The copy is made by handle, one name at a time: a link is copied as a link and never followed, so a link
//! in the workspace cannot make the copy read outside it. `.git`, credential and `.env` files
//! are not copied (a run cannot read them in the real workspace either); the skill folders and
//! `skillet.toml` are copied, so the skills run from the view, but they are never part of the
//! diff: no grant covers them, so no `--apply` may write them either. Applying works by handle
//! too: every folder on the way is opened without following a link, an entry the user changed
//! since the copy is left alone, a file is replaced by renaming a new one over it (never written
//! through a hard link), and a link that would lead out of the workspace is not created.

mod apply;
mod changes;
mod copy;
mod handle;
mod overlay;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use apply::{Applied, Skipped};
pub use changes::{Change, ChangeKind, Changes};
pub use handle::Kind;
pub use overlay::{Backing, FORCE_COPY_ENV};

use handle::Stamp;

/// How much of a workspace is copied at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Files, folders and links.
    pub max_entries: usize,
    /// Bytes of file content.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 20_000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Folders nested deeper than this are refused, in the workspace and in what a run left: the
/// walks recurse once per level.
pub const MAX_DEPTH: usize = 512;

/// Entries a run may leave in the copy beyond what was copied before comparing refuses.
pub const MAX_NEW_ENTRIES: usize = 100_000;

/// Why the view could not be made, compared or applied.
#[derive(Debug, thiserror::Error)]
pub enum IsolateError {
    /// The workspace is larger than a copy may be.
    #[error(
        "the workspace {root} is too large to copy for an isolated run ({what}); run with \
         `--no-isolate` to run against the real tree, or from a smaller workspace"
    )]
    TooLarge {
        /// The workspace.
        root: PathBuf,
        /// Which bound was passed.
        what: String,
    },
    /// The temporary directory lies inside the workspace: the view would copy itself.
    #[error(
        "the temporary directory {tmp} lies inside the workspace {root}; set TMPDIR to a \
         directory outside it, or run with `--no-isolate`"
    )]
    TempInside {
        /// The temporary directory.
        tmp: PathBuf,
        /// The workspace.
        root: PathBuf,
    },
    /// A run left more in the copy than can be compared.
    #[error(
        "the run left {what} in its view of the workspace, more than skillet compares; nothing \
         was applied. Make the skill write less, or run it with `--no-isolate`"
    )]
    TooManyChanges {
        /// What was passed.
        what: String,
    },
    /// A file system operation failed.
    #[error("{action} {path}: {source}; check the permissions there, or run with `--no-isolate`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(rustix::io::Errno) -> IsolateError {
    let path = path.to_path_buf();
    move |e| IsolateError::Io {
        action,
        path,
        source: e.into(),
    }
}

fn io_std(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> IsolateError {
    let path = path.to_path_buf();
    move |source| IsolateError::Io {
        action,
        path,
        source,
    }
}

/// Whether the entry at `rel` (relative to the workspace root) is left out of the view: never
/// copied when `copying` is false... see [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Copied, compared and applied.
    Tracked,
    /// Copied so skills run from the view, never compared nor applied (skill folders and
    /// `skillet.toml`: no grant covers them).
    CopiedOnly,
    /// Neither copied nor compared: `.git`, credential and `.env` files.
    Left,
}

/// Whether the sandbox masks the file `name` at `rel` in a readable tree: `.env*`, and what
/// holds credentials by its name or place, except certificates and keys known only by their
/// extension (projects keep test fixtures so named). The same rule as the engine's
/// (`policy::protected::is_masked`, private there), so a test reads what a real run reads.
fn masked(name: &str, rel: &Path) -> bool {
    const FIXTURE_EXTENSIONS: &[&str] = &["pem", "key", "crt", "cer", "p12", "pfx", "jks"];
    if name.starts_with(".env") {
        return true;
    }
    if !skillet_spec::is_secret_file(&rel.to_string_lossy()) {
        return false;
    }
    let by_extension_only = name.rsplit_once('.').is_some_and(|(stem, ext)| {
        FIXTURE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
            && !skillet_spec::is_secret_file(stem)
    });
    !by_extension_only
}

fn policy(rel: &Path) -> Policy {
    let mut copied_only = false;
    for c in rel.components() {
        let name = c.as_os_str().to_string_lossy();
        if name == ".git" {
            return Policy::Left;
        }
        if skillet_registry::SKILL_FOLDERS.contains(&name.as_ref())
            || name == skillet_registry::CONFIG_FILE
        {
            copied_only = true;
        }
    }
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if masked(&name, rel) {
        return Policy::Left;
    }
    if copied_only {
        Policy::CopiedOnly
    } else {
        Policy::Tracked
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.backing == Backing::Overlay {
            overlay::unmount(self.dir.path(), &self.root());
        }
        // A run may have left folders it cannot be removed from; the temporary directory's
        // own removal follows.
        copy::make_removable(&self.root());
    }
}

/// What a view's directory is called in the temporary directory, before its random part.
const VIEW_PREFIX: &str = "skillet-view-";
/// The lock file a live view holds, beside its `root`.
const VIEW_LOCK: &str = ".lock";

/// Removes the views in `tmp` that are this user's and whose process is gone (their lock is
/// free): a `skillet test` killed mid-run leaves its copy, which may be large.
fn sweep_left_views(tmp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(VIEW_PREFIX) {
            continue;
        }
        let path = entry.path();
        // Only real directories of this user: nothing reached through a link is removed.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        // A view being made has its lock a moment after its directory: young ones are left.
        let young = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < std::time::Duration::from_secs(60));
        if !meta.is_dir() || meta.uid() != me || young {
            continue;
        }
        let Ok(lock) = std::fs::File::open(path.join(VIEW_LOCK)) else {
            continue;
        };
        if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok() {
            copy::make_removable(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// One throwaway copy of a workspace. Dropping it removes the copy.
#[derive(Debug)]
pub struct View {
    dir: tempfile::TempDir,
    /// Held locked while the view lives: a view whose lock is free was left by a process that
    /// died (`kill`, a CI timeout), and the next view made sweeps it.
    _lock: std::fs::File,
    real: PathBuf,
    limits: Limits,
    backing: Backing,
    /// Each entry copied, by path relative to the root: its stamp in the real tree then, and
    /// the stamp of its copy.
    copied: BTreeMap<PathBuf, (Stamp, Stamp)>,
}

impl View {
    /// Makes a view of the workspace `real` (a directory) in a new temporary directory: an
    /// overlay where this process may mount one, else a copy.
    pub fn create(real: &Path, limits: Limits) -> Result<View, IsolateError> {
        let real = std::fs::canonicalize(real).map_err(io_std("cannot resolve", real))?;
        let tmp = std::env::temp_dir();
        let tmp_real = std::fs::canonicalize(&tmp).unwrap_or(tmp);
        if tmp_real.starts_with(&real) {
            return Err(IsolateError::TempInside {
                tmp: tmp_real,
                root: real,
            });
        }
        // The user's alone: the copy holds files that were private to the workspace (a 0700
        // home, a 0700 project folder), and /tmp is everyone's.
        sweep_left_views(&tmp_real);
        let dir = tempfile::Builder::new()
            .prefix(VIEW_PREFIX)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&tmp_real)
            .map_err(io_std("cannot make a temporary directory in", &tmp_real))?;
        let lock_path = dir.path().join(VIEW_LOCK);
        let lock = std::fs::File::create_new(&lock_path)
            .and_then(|f| {
                rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
                Ok(f)
            })
            .map_err(io_std("cannot lock", &lock_path))?;
        let mut view = View {
            dir,
            _lock: lock,
            real,
            limits,
            backing: match overlay::unavailable() {
                None => Backing::Overlay,
                Some(reason) => Backing::Copy { reason },
            },
            copied: BTreeMap::new(),
        };
        view.sync()?;
        Ok(view)
    }

    /// How the view was made: an overlay, or a copy and why.
    pub fn backing(&self) -> &Backing {
        &self.backing
    }

    /// Makes the view a fresh copy of the real tree again (what the last run did is dropped).
    pub fn sync(&mut self) -> Result<(), IsolateError> {
        let root = self.root();
        if self.backing == Backing::Overlay {
            // `build` unmounts the last run's overlay and layers itself.
            match overlay::build(&self.real, self.dir.path(), &root, self.limits)? {
                Ok(stamps) => {
                    self.copied = stamps;
                    return Ok(());
                }
                // Not mountable here after all (a file system overlayfs cannot stack on):
                // a copy, saying why.
                Err(overlay::Refused(reason)) => self.backing = Backing::Copy { reason },
            }
        }
        if root.symlink_metadata().is_ok() {
            copy::make_removable(&root);
            std::fs::remove_dir_all(&root).map_err(io_std("cannot clear the view", &root))?;
        }
        std::fs::create_dir(&root).map_err(io_std("cannot make the view", &root))?;
        self.copied = copy::copy_tree(&self.real, &root, self.limits)?;
        // The view is found as the workspace by its `.skillet` folder, wherever the copy lies.
        let anchor = root.join(".skillet");
        if anchor.symlink_metadata().is_err() {
            std::fs::create_dir(&anchor).map_err(io_std("cannot make", &anchor))?;
        }
        Ok(())
    }

    /// The view's root: what the sandbox sees as the workspace.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Where an isolated run keeps its own state, cache and other records: beside the copy,
    /// out of the sandbox's reach.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The real workspace, resolved.
    pub fn real_root(&self) -> &Path {
        &self.real
    }

    /// `path` in the real workspace, as the same place in the view; a path outside the
    /// workspace is returned as it is.
    pub fn map(&self, path: &Path) -> PathBuf {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        match real.strip_prefix(&self.real) {
            Ok(rel) => self.root().join(rel),
            Err(_) => path.to_path_buf(),
        }
    }

    /// A granted path as typed (`~/` for `home`, absolute, or relative to the workspace),
    /// moved into the view when it leads into the real workspace: a grant the user made for
    /// real runs (`write = ["/home/u/proj/out"]`) gives an isolated run the copy's `out`, never
    /// the real one. Anything else is returned as typed, for the engine to check as usual.
    pub fn map_grant(&self, typed: &str, home: Option<&Path>) -> String {
        let path = match (typed.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(typed),
        };
        if !path.is_absolute() {
            return typed.to_owned();
        }
        // The longest part that exists, resolved (links and `..` as the kernel sees them),
        // and the rest as typed.
        let mut rest = Vec::new();
        let mut base = path.as_path();
        let resolved = loop {
            if let Ok(real) = std::fs::canonicalize(base) {
                break Some(real);
            }
            match (base.parent(), base.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    base = parent;
                }
                _ => break None,
            }
        };
        let Some(mut real) = resolved else {
            return typed.to_owned();
        };
        for name in rest.iter().rev() {
            real.push(name);
        }
        match real.strip_prefix(&self.real) {
            Ok(rel) => self.root().join(rel).to_string_lossy().into_owned(),
            Err(_) => typed.to_owned(),
        }
    }

    /// What the runs since the last [`View::sync`] changed in the view, against the real tree.
    pub fn changes(&self) -> Result<Changes, IsolateError> {
        changes::compare(self)
    }

    /// Writes `changes` into the real tree, entry by entry, by handle. An entry the user changed
    /// in the real tree since the copy, or whose folder became a link, is skipped and reported.
    pub fn apply(&self, changes: &Changes) -> Result<Applied, IsolateError> {
        apply::apply(self, changes)
    }
}
