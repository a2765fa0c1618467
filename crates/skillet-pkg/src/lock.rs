//! `skillet.lock`: what is installed in a scope, exactly enough to reproduce it elsewhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PackageName;
use crate::source::Pinned;

/// The lockfile's name, in the scope's directory (`.skillet/` or the global config directory).
pub const LOCK_FILE: &str = "skillet.lock";

/// The whole lockfile. Written in a deterministic order, so a team can review its diff.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
}
