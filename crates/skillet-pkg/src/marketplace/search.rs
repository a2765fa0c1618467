//! `skillet search`: packages whose name or description holds every word asked for.

use std::collections::BTreeMap;

use serde::Serialize;

use super::MarketplaceCatalog;
use crate::PackageName;

/// One package found: its newest version in one marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// The package.
    pub name: PackageName,
    /// Its newest version there.
    pub version: semver::Version,
    /// The marketplace offering it.
    pub marketplace: String,
    /// What it is for (the newest version's words; untrusted text).
    pub description: String,
}

/// The packages in `catalog` whose name or description contains every one of `words` (case
/// does not matter; no words matches everything), one hit per package and marketplace. Names
/// holding every word come first, then by name and marketplace.
pub fn search(catalog: &MarketplaceCatalog, words: &[String]) -> Vec<SearchHit> {
    let words: Vec<String> = words
        .iter()
        .flat_map(|w| w.split_whitespace())
        .map(str::to_lowercase)
        .collect();
    let mut newest: BTreeMap<(&PackageName, &str), &crate::index::IndexEntry> = BTreeMap::new();
    for offer in catalog.offers() {
        let slot = newest
            .entry((&offer.entry.name, offer.marketplace.as_str()))
            .or_insert(&offer.entry);
        // Pre-releases only stand for a package that has nothing else.
        let better = |new: &semver::Version, old: &semver::Version| {
            (new.pre.is_empty(), new) > (old.pre.is_empty(), old)
        };
        if better(&offer.entry.version, &slot.version) {
            *slot = &offer.entry;
        }
    }
    let mut hits: Vec<(bool, SearchHit)> = newest
        .into_iter()
        .filter_map(|((name, marketplace), entry)| {
            let (n, d) = (
                name.as_str().to_lowercase(),
                entry.description.to_lowercase(),
            );
            words
                .iter()
                .all(|w| n.contains(w) || d.contains(w))
                .then(|| {
                    (
                        !words.iter().all(|w| n.contains(w)),
                        SearchHit {
                            name: name.clone(),
                            version: entry.version.clone(),
                            marketplace: marketplace.to_owned(),
                            description: entry.description.clone(),
                        },
                    )
                })
        })
        .collect();
    hits.sort_by(|a, b| {
        (a.0, &a.1.name, &a.1.marketplace).cmp(&(b.0, &b.1.name, &b.1.marketplace))
    });
    hits.into_iter().map(|(_, hit)| hit).collect()
}
