//! A package's manifest: skillet's `skillet-package.toml`, or read-only a Claude Code plugin's
//! `.claude-plugin/plugin.json` with its `skills/` folder.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PackageName;

/// skillet's own manifest file, at a package's root.
pub const MANIFEST_FILE: &str = "skillet-package.toml";

/// What a package is, whatever file described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageManifest {
    /// The package's name.
    pub name: PackageName,
    /// Its version (`0.0.0` when a Claude Code plugin names none).
    pub version: semver::Version,
    /// One line saying what it is for.
    #[serde(default)]
    pub description: String,
    /// An SPDX expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The skills it contains: paths relative to the package root, each a `<name>.json` file, a
    /// `<name>/skill.json` folder or an Agent Skills `<name>/SKILL.md` folder.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Other packages it needs, with semver requirements.
    #[serde(default)]
    pub dependencies: BTreeMap<PackageName, semver::VersionReq>,
    /// The skillet versions it works with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skillet: Option<semver::VersionReq>,
}
