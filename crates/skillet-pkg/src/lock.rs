//! `skillet.lock`: what is installed in a scope, exactly enough to reproduce it elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PackageName;
use crate::source::Pinned;

/// The lockfile's name, in the scope's directory (`.skillet/` or the global config directory).
pub const LOCK_FILE: &str = "skillet.lock";

/// The whole lockfile. Written in a deterministic order, so a team can review its diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    /// The lockfile format's version.
    pub version: u32,
    /// Every installed package, by name.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPackage {
    /// Its name.
    pub name: PackageName,
    /// Its version.
    pub version: semver::Version,
    /// Where it came from, pinned.
    pub source: Pinned,
    /// Whether the user asked for it (not only pulled in as a dependency).
    #[serde(default)]
    pub requested: bool,
    /// The packages it depends on.
    #[serde(default)]
    pub dependencies: Vec<PackageName>,
    /// The sha256 of every installed file, by path relative to the package's folder.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The index entry it was installed from, when an index defined it (a marketplace entry
    /// may pick some skills of a larger repository): `install --locked` reads the fetched
    /// folder the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<crate::index::IndexEntry>,
}

/// The lockfile format this skillet writes and reads. A newer one is refused: an older skillet
/// would drop what it does not understand.
pub const LOCK_VERSION: u32 = 1;

/// The largest lockfile read: one line per installed file, so more is a mistake or hostile.
const MAX_LOCK_BYTES: u64 = 64 << 20;

/// Why a lockfile could not be read or written, or a package's files not hashed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The lockfile.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a lockfile skillet can read.
    #[error(
        "{path} is not a valid lockfile: {message}; fix it, or remove it and run `skillet install` again"
    )]
    Invalid {
        /// The lockfile.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A newer skillet wrote it.
    #[error(
        "{path} has format version {found}, but this skillet reads version {LOCK_VERSION} at most; upgrade skillet"
    )]
    TooNew {
        /// The lockfile.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The lockfile.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A package's files could not be hashed.
    #[error("cannot hash the files of {root}: {source}")]
    Hash {
        /// The package's folder.
        root: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Default for Lockfile {
    fn default() -> Self {
        Lockfile {
            version: LOCK_VERSION,
            packages: Vec::new(),
        }
    }
}

impl Lockfile {
    /// Reads the lockfile at `path`; a missing file is an empty lockfile.
    pub fn read(path: &Path) -> Result<Lockfile, LockError> {
        use std::io::Read;
        let read_err = |source| LockError::Read {
            path: path.to_path_buf(),
            source,
        };
        let invalid = |message: String| LockError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        // Never through a link, nor blocking on a FIFO: a cloned repository may ship
        // `skillet.lock -> ~/.ssh/id_rsa`, and a parse error would quote what it read.
        let flags = rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::NOFOLLOW
            | rustix::fs::OFlags::NONBLOCK
            | rustix::fs::OFlags::CLOEXEC;
        let file = match rustix::fs::open(path, flags, rustix::fs::Mode::empty()) {
            Ok(fd) => std::fs::File::from(fd),
            Err(rustix::io::Errno::NOENT) => return Ok(Lockfile::default()),
            Err(rustix::io::Errno::LOOP) => {
                return Err(invalid(
                    "it is a symbolic link; skillet.lock must be a regular file: remove the link"
                        .to_owned(),
                ));
            }
            Err(e) => return Err(read_err(e.into())),
        };
        if !file.metadata().map_err(read_err)?.is_file() {
            return Err(invalid(
                "it is not a regular file; remove it and reinstall".to_owned(),
            ));
        }
        let mut text = String::new();
        file.take(MAX_LOCK_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_err)?;
        if text.len() as u64 > MAX_LOCK_BYTES {
            return Err(invalid(format!("larger than {MAX_LOCK_BYTES} bytes")));
        }
        // The version first: a newer format may not parse as this one, and deserves "upgrade"
        // rather than a confusing field error.
        let table: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let found = match table.get("version") {
            Some(toml::Value::Integer(v)) => u32::try_from(*v)
                .map_err(|_| invalid(format!("`version = {v}` is not a format version")))?,
            Some(_) => return Err(invalid("`version` must be a number".into())),
            None => {
                return Err(invalid(format!(
                    "no `version` (this skillet writes `version = {LOCK_VERSION}`)"
                )));
            }
        };
        if found > LOCK_VERSION {
            return Err(LockError::TooNew {
                path: path.to_path_buf(),
                found,
            });
        }
        if found == 0 {
            return Err(invalid("`version = 0` is not a format version".into()));
        }
        let mut lock: Lockfile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        lock.normalize();
        let mut names: Vec<&PackageName> = lock.packages.iter().map(|p| &p.name).collect();
        names.dedup();
        if names.len() != lock.packages.len() {
            return Err(invalid("a package is listed twice".into()));
        }
        Ok(lock)
    }

    /// Writes the lockfile to `path` atomically (a temporary file beside it, flushed, renamed
    /// over it), in a deterministic order: packages by name, their dependencies and files sorted.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let text = self.to_toml().map_err(|e| LockError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        skillet_registry::packages::write_atomic(path, text.as_bytes()).map_err(|source| {
            LockError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// The lockfile's text, as [`Lockfile::write`] writes it.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut lock = self.clone();
        lock.version = LOCK_VERSION;
        lock.normalize();
        let body = toml::to_string(&lock)?;
        Ok(format!(
            "# This file is written by skillet: do not edit it by hand. Commit it, so that\n# `skillet install --locked` installs exactly these files elsewhere.\n{body}"
        ))
    }

    /// The package named `name`, if installed.
    pub fn get(&self, name: &PackageName) -> Option<&LockedPackage> {
        self.packages.iter().find(|p| &p.name == name)
    }

    /// Adds `package`, or replaces the one of the same name.
    pub fn upsert(&mut self, package: LockedPackage) {
        match self.packages.iter_mut().find(|p| p.name == package.name) {
            Some(slot) => *slot = package,
            None => self.packages.push(package),
        }
        self.normalize();
    }

    /// Removes the package named `name`, returning it.
    pub fn remove(&mut self, name: &PackageName) -> Option<LockedPackage> {
        let i = self.packages.iter().position(|p| &p.name == name)?;
        Some(self.packages.remove(i))
    }

    fn normalize(&mut self) {
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &mut self.packages {
            p.dependencies.sort();
            p.dependencies.dedup();
        }
    }
}

/// The sha256 of every file under `root` (a package's folder), by path relative to it with `/`
/// separators, its receipt excluded: what the lockfile records. A symlink's digest is
/// `symlink:` and the sha256 of its target; a FIFO, socket or device is an error.
pub fn hash_tree(root: &Path) -> Result<BTreeMap<String, String>, LockError> {
    skillet_registry::packages::tree_digests(root).map_err(|source| LockError::Hash {
        root: root.to_path_buf(),
        source,
    })
}
