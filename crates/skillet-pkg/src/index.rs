//! Indexes of packages: skillet's own JSON index, and read-only a Claude Code marketplace
//! (`.claude-plugin/marketplace.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PackageName;
use crate::source::Source;

/// Every package an index offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Index {
    /// The index's own name (a marketplace's `name`), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its packages; one entry per version.
    pub packages: Vec<IndexEntry>,
}

/// One version of one package in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The package.
    pub name: PackageName,
    /// This entry's version.
    pub version: semver::Version,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Where to fetch it (relative paths already resolved against the index's own location).
    pub source: Source,
    /// What it needs.
    #[serde(default)]
    pub dependencies: BTreeMap<PackageName, semver::VersionReq>,
    /// Its skills' paths, when the index lists them (a marketplace's `skills`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
}
