//! Installed packages, as discovery sees them.
//!
//! An install (`skillet-pkg`) leaves each package in `<scope dir>/packages/<name>/` with a
//! receipt, [`RECEIPT_FILE`], written last: the package's name and version, the skills it
//! provides (paths relative to the package's folder) and the size, modification times and sha256
//! of every file it installed. Discovery reads the receipts only, never `skillet.lock`, and on
//! every load compares each skill's files with its receipt: by size and times first, hashing only
//! a file whose metadata differs, so the check stays cheap. A file changed, missing or added
//! under a skill's folder marks that skill broken until the user reinstalls the package or
//! accepts the change (`skillet verify --accept`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layout::{Environment, Scope};

mod check;
mod scan;
mod tree;

pub(crate) use scan::{named_in_packages, scan_packages};
pub use tree::{tree_digests, tree_digests_each};

/// The folder of a scope's directory that holds installed packages.
pub const PACKAGES_DIR: &str = "packages";

/// The receipt an install writes last in a package's folder. A folder without one is an
/// interrupted install or a stray folder, and is ignored with a warning.
pub const RECEIPT_FILE: &str = ".skillet-receipt.json";

/// The largest receipt read: a receipt lists one line per file, so a bigger one is hostile.
const MAX_RECEIPT_BYTES: u64 = 16 << 20;

/// The directory of a scope: `<workspace root>/.skillet/` or `$XDG_CONFIG_HOME/skillet/`.
/// `None` when there is no workspace, or no home to find the global one in.
pub fn scope_dir(env: &Environment, scope: Scope) -> Option<PathBuf> {
    match scope {
        Scope::Workspace => env.workspace_root().map(|r| r.join(".skillet")),
        Scope::Global => env.global_dir(),
    }
}

/// What an install left in a package's folder: what discovery and the integrity check read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageReceipt {
    /// The package's name (the folder's name).
    pub name: String,
    /// Its version.
    pub version: String,
    /// The skills it provides: paths relative to the package's folder, each a skill folder
    /// (`skills/pdf`), a skill file (`lint.json`) or `.` for a package that is one skill.
    pub skills: Vec<String>,
    /// Every file installed, sorted by path; the receipt itself is not listed.
    pub files: Vec<ReceiptFile>,
}

/// One installed file, as it was when the receipt was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptFile {
    /// Its path relative to the package's folder, `/`-separated.
    pub path: String,
    /// Its size in bytes (a symlink's: the length of its target).
    pub size: u64,
    /// Its modification time, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Its status change time, in nanoseconds since the epoch. Nobody but the kernel sets it, so
    /// an edit that puts the modification time back is still noticed without hashing.
    #[serde(default)]
    pub ctime_ns: i64,
    /// The sha256 of its contents, lowercase hex; for a symlink `symlink:` and the sha256 of
    /// its target.
    pub sha256: String,
}

/// Why a receipt could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The package's folder has no receipt.
    #[error(
        "{dir} has no {RECEIPT_FILE}: an install was interrupted, or the folder was not made by skillet; reinstall the package or remove the folder"
    )]
    Missing {
        /// The package's folder.
        dir: PathBuf,
    },
    /// The receipt could not be read.
    #[error("cannot read {path}: {source}; reinstall the package")]
    Read {
        /// The receipt.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The receipt is not one skillet wrote.
    #[error("{path} is not a valid receipt ({message}); reinstall the package")]
    Invalid {
        /// The receipt.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl PackageReceipt {
    /// The receipt of the package installed in `root`, from its files as they are now.
    pub fn for_tree(
        name: impl Into<String>,
        version: impl Into<String>,
        skills: Vec<String>,
        root: &Path,
    ) -> std::io::Result<PackageReceipt> {
        let files = tree::walk(root)?
            .into_iter()
            .map(|f| {
                let sha256 = tree::digest(&root.join(&f.path), &f.stat)?;
                Ok(ReceiptFile {
                    path: f.path,
                    size: f.stat.size,
                    mtime_ns: f.stat.mtime_ns,
                    ctime_ns: f.stat.ctime_ns,
                    sha256,
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(PackageReceipt {
            name: name.into(),
            version: version.into(),
            skills,
            files,
        })
    }

    /// Writes the receipt into `package_dir` atomically: a temporary file, flushed to disk,
    /// renamed over the old one, so a crash leaves the old receipt or the new one, never half.
    pub fn write(&self, package_dir: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        write_atomic(&package_dir.join(RECEIPT_FILE), &text)
    }

    /// Reads the receipt of `package_dir`.
    pub fn read(package_dir: &Path) -> Result<PackageReceipt, ReceiptError> {
        use std::io::Read;
        let path = package_dir.join(RECEIPT_FILE);
        let read_err = |source| ReceiptError::Read {
            path: path.clone(),
            source,
        };
        let file = match tree::open_regular(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReceiptError::Missing {
                    dir: package_dir.to_path_buf(),
                });
            }
            Err(e) => return Err(read_err(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_RECEIPT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_RECEIPT_BYTES {
            return Err(ReceiptError::Invalid {
                path,
                message: format!("larger than {MAX_RECEIPT_BYTES} bytes"),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ReceiptError::Invalid {
            path,
            message: e.to_string(),
        })
    }

    /// The recorded files by path.
    pub fn files_by_path(&self) -> BTreeMap<&str, &ReceiptFile> {
        self.files.iter().map(|f| (f.path.as_str(), f)).collect()
    }
}

/// Which installed package a skill comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    /// The package's name.
    pub name: String,
    /// Its version, as its receipt says.
    pub version: String,
    /// The scope it is installed in (workspace packages follow the workspace trust rule).
    pub scope: Scope,
    /// The package's folder.
    pub dir: PathBuf,
}

/// Writes `bytes` to `path` through a temporary file in the same directory, flushed to disk
/// and renamed over `path`; the directory is flushed too, so the rename survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let tmp = tmp_name(dir, name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A temporary file's name beside the target, unique to this process and call; it starts with
/// `.` so discovery never takes it for a package or a skill.
fn tmp_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(
        ".tmp-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    dir.join(tmp)
}
