//! Choosing one version of every package so that every requirement holds, with `pubgrub`, and
//! explaining a conflict in words a person can act on.

use std::collections::BTreeMap;

use pubgrub::PubGrubError;

use crate::PackageName;

mod provider;
mod ranges;
mod report;

pub use ranges::SemverSet;

use provider::{Node, Provider, root_version};

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

/// No choice of versions satisfies every requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The requirements conflict, a package is unknown, or no version of it matches; the
    /// explanation says which, and what to try.
    #[error("{explanation}")]
    Unsatisfiable {
        /// The plain-words explanation, one problem a line.
        explanation: String,
    },
}

/// Chooses one version of every package `roots` need, directly or through dependencies.
///
/// The newest version that fits is chosen, except that a version in `preferred` (what is
/// installed) is kept while it still satisfies every requirement. Pre-releases are chosen only
/// where a requirement asks for one (semver's rule); build metadata is ignored when comparing.
/// Cycles between packages are fine.
///
/// ```
/// use std::collections::BTreeMap;
/// use skillet_pkg::PackageName;
/// use skillet_pkg::resolve::{resolve, CandidateVersion, Catalog};
///
/// struct One;
/// impl Catalog for One {
///     fn versions(&self, name: &PackageName) -> Vec<CandidateVersion> {
///         if name.as_str() != "lint-core" { return Vec::new(); }
///         ["1.0.0", "1.2.0"].iter().map(|v| CandidateVersion {
///             version: v.parse().unwrap(), dependencies: BTreeMap::new(),
///         }).collect()
///     }
/// }
/// let lint = PackageName::new("lint-core").unwrap();
/// let chosen = resolve(&[(lint.clone(), "^1".parse().unwrap())], &One, &BTreeMap::new()).unwrap();
/// assert_eq!(chosen[&lint].to_string(), "1.2.0");
/// let err = resolve(&[(lint, "^3".parse().unwrap())], &One, &BTreeMap::new()).unwrap_err();
/// assert_eq!(err.to_string(), "you asked for lint-core ^3, but lint-core has 1.0.0, 1.2.0; none matches ^3.");
/// ```
pub fn resolve(
    roots: &[(PackageName, semver::VersionReq)],
    catalog: &dyn Catalog,
    preferred: &BTreeMap<PackageName, semver::Version>,
) -> Result<BTreeMap<PackageName, semver::Version>, ResolveError> {
    let provider = Provider::new(roots, catalog, preferred);
    match pubgrub::resolve(&provider, Node::Root, root_version()) {
        Ok(chosen) => Ok(chosen
            .into_iter()
            .filter_map(|(node, version)| match node {
                Node::Root => None,
                Node::Package(name) => {
                    let original = provider.original(&name, &version);
                    Some((name, original))
                }
            })
            .collect()),
        Err(PubGrubError::NoSolution(tree)) => Err(ResolveError::Unsatisfiable {
            explanation: report::explain(&tree, &provider),
        }),
        // The provider cannot fail (its error type is uninhabited); pubgrub's other errors
        // only carry the provider's.
        Err(other) => Err(ResolveError::Unsatisfiable {
            explanation: format!("dependency resolution stopped: {other}"),
        }),
    }
}

#[cfg(test)]
mod tests;
