//! The catalog as pubgrub's `DependencyProvider`: newest version first, except that an installed
//! version that still satisfies is kept.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::rc::Rc;

use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics,
    VersionSet,
};
use semver::{Version, VersionReq};

use super::Catalog;
use super::ranges::{SemverSet, without_build};
use crate::PackageName;

/// A node of the graph: the virtual root (what the user asked for), or a package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Node {
    /// The requirements the user gave; it has one version, [`root_version`].
    Root,
    /// A package from the catalog.
    Package(PackageName),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => f.write_str("your request"),
            Node::Package(name) => write!(f, "{name}"),
        }
    }
}

/// The one version of [`Node::Root`].
pub(crate) fn root_version() -> Version {
    Version::new(0, 0, 0)
}

/// One version of a package as the solver reads it.
#[derive(Debug)]
pub(crate) struct Candidate {
    /// The version without build metadata (what the solver compares).
    pub(crate) key: Version,
    /// The version as the catalog wrote it (what the caller gets back).
    pub(crate) original: Version,
    /// What it needs.
    pub(crate) dependencies: Vec<(PackageName, SemverSet)>,
    /// The same, as written (for explanations).
    pub(crate) requirements: BTreeMap<PackageName, VersionReq>,
}

/// Answers pubgrub from a [`Catalog`], reading each package from it once.
pub(crate) struct Provider<'a> {
    catalog: &'a dyn Catalog,
    roots: DependencyConstraints<Node, SemverSet>,
    preferred: &'a BTreeMap<PackageName, Version>,
    /// Every package asked about so far, newest version first.
    packages: RefCell<HashMap<PackageName, Rc<Vec<Candidate>>>>,
    /// The text each set was written as, so explanations quote the author's `^3`, not a range.
    texts: RefCell<HashMap<SemverSet, String>>,
    sets: RefCell<HashMap<VersionReq, SemverSet>>,
}

impl<'a> Provider<'a> {
    pub(crate) fn new(
        roots: &[(PackageName, VersionReq)],
        catalog: &'a dyn Catalog,
        preferred: &'a BTreeMap<PackageName, Version>,
    ) -> Self {
        let provider = Provider {
            catalog,
            roots: DependencyConstraints::default(),
            preferred,
            packages: RefCell::default(),
            texts: RefCell::default(),
            sets: RefCell::default(),
        };
        // The same package asked for twice must satisfy both requirements.
        let mut merged: BTreeMap<&PackageName, (SemverSet, Vec<String>)> = BTreeMap::new();
        for (name, req) in roots {
            let set = provider.set_of(req);
            let entry = merged
                .entry(name)
                .or_insert_with(|| (SemverSet::full(), Vec::new()));
            entry.0 = entry.0.intersection(&set);
            entry.1.push(req.to_string());
        }
        let mut constraints = Vec::new();
        for (name, (set, texts)) in merged {
            provider
                .texts
                .borrow_mut()
                .entry(set.clone())
                .or_insert_with(|| texts.join(", "));
            constraints.push((Node::Package(name.clone()), set));
        }
        Provider {
            roots: constraints.into_iter().collect(),
            ..provider
        }
    }

    fn set_of(&self, req: &VersionReq) -> SemverSet {
        if let Some(set) = self.sets.borrow().get(req) {
            return set.clone();
        }
        let set = SemverSet::from_req(req);
        self.texts
            .borrow_mut()
            .entry(set.clone())
            .or_insert_with(|| req.to_string());
        self.sets.borrow_mut().insert(req.clone(), set.clone());
        set
    }

    /// The versions of `name` on offer, newest first.
    pub(crate) fn candidates(&self, name: &PackageName) -> Rc<Vec<Candidate>> {
        if let Some(found) = self.packages.borrow().get(name) {
            return Rc::clone(found);
        }
        let mut list: Vec<Candidate> = self
            .catalog
            .versions(name)
            .into_iter()
            .map(|c| Candidate {
                key: without_build(&c.version),
                dependencies: c
                    .dependencies
                    .iter()
                    .map(|(dep, req)| (dep.clone(), self.set_of(req)))
                    .collect(),
                requirements: c.dependencies,
                original: c.version,
            })
            .collect();
        // Newest first; of two that differ only in build metadata, the first the catalog gave.
        list.sort_by(|a, b| b.key.cmp(&a.key));
        list.dedup_by(|later, earlier| later.key == earlier.key);
        let list = Rc::new(list);
        self.packages
            .borrow_mut()
            .insert(name.clone(), Rc::clone(&list));
        list
    }

    /// The requirement text `set` was written as, or the set itself in words.
    pub(crate) fn text_of(&self, set: &SemverSet) -> String {
        self.texts
            .borrow()
            .get(set)
            .cloned()
            .unwrap_or_else(|| set.to_string())
    }

    /// The version the caller gets back for a chosen key.
    pub(crate) fn original(&self, name: &PackageName, key: &Version) -> Version {
        self.candidates(name)
            .iter()
            .find(|c| &c.key == key)
            .map(|c| c.original.clone())
            .unwrap_or_else(|| key.clone())
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Node;
    type V = Version;
    type VS = SemverSet;
    type M = String;
    type Err = Infallible;
    /// Packages with conflicts first, then those with the fewest versions left (so a dead end
    /// shows early), as pubgrub advises.
    type Priority = (u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Node,
        range: &SemverSet,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Node::Package(name) = package else {
            return (u32::MAX, Reverse(0));
        };
        let left = self
            .candidates(name)
            .iter()
            .filter(|c| range.contains(&c.key))
            .count();
        if left == 0 {
            return (u32::MAX, Reverse(0));
        }
        (stats.conflict_count(), Reverse(left))
    }

    fn choose_version(
        &self,
        package: &Node,
        range: &SemverSet,
    ) -> Result<Option<Version>, Infallible> {
        let Node::Package(name) = package else {
            return Ok(Some(root_version()));
        };
        let candidates = self.candidates(name);
        // What is installed stays when it still satisfies: an install of one package must not
        // upgrade its neighbours behind the user's back.
        if let Some(installed) = self.preferred.get(name).map(without_build)
            && range.contains(&installed)
            && candidates.iter().any(|c| c.key == installed)
        {
            return Ok(Some(installed));
        }
        Ok(candidates
            .iter()
            .find(|c| range.contains(&c.key))
            .map(|c| c.key.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Node,
        version: &Version,
    ) -> Result<Dependencies<Node, SemverSet, String>, Infallible> {
        let Node::Package(name) = package else {
            return Ok(Dependencies::Available(self.roots.clone()));
        };
        let candidates = self.candidates(name);
        let Some(candidate) = candidates.iter().find(|c| &c.key == version) else {
            return Ok(Dependencies::Unavailable(format!(
                "the catalog no longer lists {name} {version}"
            )));
        };
        // One entry per dependency: the catalog gives them as a map.
        Ok(Dependencies::Available(
            candidate
                .dependencies
                .iter()
                .map(|(dep, set)| (Node::Package(dep.clone()), set.clone()))
                .collect(),
        ))
    }
}
