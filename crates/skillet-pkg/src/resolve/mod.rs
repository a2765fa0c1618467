//! Choosing one version of every package so that every requirement holds, with `pubgrub`, and
//! explaining a conflict in words a person can act on.

use std::collections::BTreeMap;

use crate::PackageName;

/// One version of a package, as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateVersion {
    /// The version.
    pub version: semver::Version,
    /// What it needs.
    pub dependencies: BTreeMap<PackageName, semver::VersionReq>,
}

/// Every version of every package the resolver may choose from (the added marketplaces,
/// a local folder, what is installed).
pub trait Catalog {
    /// The versions of `name` on offer, in any order; empty when it is unknown.
    fn versions(&self, name: &PackageName) -> Vec<CandidateVersion>;
}
