//! Every package the added marketplaces offer, for the resolver ([`Catalog`]) and for finding
//! the one entry a user means by `NAME`, `NAME@MARKETPLACE` or `NAME@REQ`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::PackageName;
use crate::index::{Index, IndexEntry};
use crate::resolve::{CandidateVersion, Catalog};

/// One version of one package, and the marketplace offering it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The marketplace's name.
    pub marketplace: String,
    /// The index's entry.
    pub entry: IndexEntry,
}

/// Every version of every package in the added marketplaces.
#[derive(Debug, Clone, Default)]
pub struct MarketplaceCatalog {
    marketplaces: Vec<String>,
    offers: Vec<Offer>,
    /// Packages the user tied to one marketplace (`NAME@MARKETPLACE`).
    chosen: BTreeMap<PackageName, String>,
}

/// Why no entry fits what the user asked for; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// No marketplace is added at all.
    #[error(
        "no marketplace offers `{0}`: none is added; add one with `skillet marketplace add SOURCE`, or install from a folder, git URL or archive"
    )]
    NoMarketplaces(PackageName),
    /// `NAME@MARKETPLACE` with a marketplace that is not added.
    #[error("no marketplace named `{marketplace}`{}: `skillet marketplace list` shows them", did_you_mean(.suggestion))]
    UnknownMarketplace {
        /// As written.
        marketplace: String,
        /// The closest added name.
        suggestion: Option<String>,
    },
    /// No marketplace (or not the one named) offers the package.
    #[error("{}", not_offered(.name, .marketplace.as_deref(), .suggestion.as_ref(), .elsewhere))]
    NotOffered {
        /// The package.
        name: PackageName,
        /// The marketplace that was asked, when one was.
        marketplace: Option<String>,
        /// The closest package name on offer.
        suggestion: Option<PackageName>,
        /// Other marketplaces that do offer it.
        elsewhere: Vec<String>,
    },
    /// Several marketplaces offer the package and none was named.
    #[error("`{name}` is offered by {}: write {}", and_list(.marketplaces), or_list(.name, .marketplaces))]
    Ambiguous {
        /// The package.
        name: PackageName,
        /// The marketplaces offering it.
        marketplaces: Vec<String>,
    },
    /// The package is offered, but no version fits the requirement.
    #[error("no version of `{name}`{} matches {req} (offered: {}){}", in_marketplace(.marketplace.as_deref()), versions_list(.offered), hint_any(.name))]
    NoVersion {
        /// The package.
        name: PackageName,
        /// The requirement.
        req: semver::VersionReq,
        /// The marketplace, when one was named or only one offers it.
        marketplace: Option<String>,
        /// The versions there are.
        offered: Vec<semver::Version>,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn in_marketplace(m: Option<&str>) -> String {
    m.map(|m| format!(" in `{m}`")).unwrap_or_default()
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => format!("`{one}`"),
        [init @ .., last] => format!(
            "{} and `{last}`",
            init.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn or_list(name: &PackageName, marketplaces: &[String]) -> String {
    marketplaces
        .iter()
        .map(|m| format!("`{name}@{m}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn versions_list(v: &[semver::Version]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn hint_any(name: &PackageName) -> String {
    format!("; write `{name}` alone for the newest")
}

fn not_offered(
    name: &PackageName,
    marketplace: Option<&str>,
    suggestion: Option<&PackageName>,
    elsewhere: &[String],
) -> String {
    let mut text = match marketplace {
        Some(m) => format!("marketplace `{m}` does not offer `{name}`"),
        None => format!("no marketplace offers `{name}`"),
    };
    if !elsewhere.is_empty() {
        text.push_str(&format!(
            "; it is offered by {}: write {}",
            and_list(elsewhere),
            or_list(name, elsewhere)
        ));
    } else if let Some(s) = suggestion {
        text.push_str(&format!("; did you mean `{s}`?"));
    } else {
        text.push_str("; `skillet search WORDS` looks through every marketplace");
    }
    text
}

/// The candidate most like `wanted`, when one is close enough to be a likely typo.
fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::normalized_damerau_levenshtein(wanted, c), c))
        .filter(|(score, c)| *score >= 0.6 || c.contains(wanted) || wanted.contains(c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

impl MarketplaceCatalog {
    /// A catalog of `indexes`, each with its marketplace's name.
    pub fn new(indexes: Vec<(String, Index)>) -> MarketplaceCatalog {
        let mut catalog = MarketplaceCatalog::default();
        for (marketplace, index) in indexes {
            catalog.marketplaces.push(marketplace.clone());
            catalog
                .offers
                .extend(index.packages.into_iter().map(|entry| Offer {
                    marketplace: marketplace.clone(),
                    entry,
                }));
        }
        catalog
    }

    /// Every offer, marketplace by marketplace in the order they were given.
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// The marketplaces' names.
    pub fn marketplaces(&self) -> &[String] {
        &self.marketplaces
    }

    /// Takes `name` only from `marketplace` from now on (the user wrote `NAME@MARKETPLACE`):
    /// [`Catalog::versions`] and [`MarketplaceCatalog::find`] then ignore other marketplaces'
    /// offers of it.
    pub fn choose(&mut self, name: PackageName, marketplace: String) {
        self.chosen.insert(name, marketplace);
    }

    fn offers_of(&self, name: &PackageName, marketplace: Option<&str>) -> Vec<&Offer> {
        let marketplace = marketplace.or_else(|| self.chosen.get(name).map(String::as_str));
        self.offers
            .iter()
            .filter(|o| &o.entry.name == name && marketplace.is_none_or(|m| o.marketplace == m))
            .collect()
    }

    /// The entry a user means by `name` (from `marketplace` when given) whose version matches
    /// `req`: the newest such (a pre-release only when nothing else fits or `req` names one).
    pub fn find(
        &self,
        name: &PackageName,
        marketplace: Option<&str>,
        req: Option<&semver::VersionReq>,
    ) -> Result<IndexEntry, FindError> {
        self.find_offer(name, marketplace, req)
            .map(|o| o.entry.clone())
    }

    /// [`MarketplaceCatalog::find`], with the marketplace the entry comes from.
    pub fn find_offer(
        &self,
        name: &PackageName,
        marketplace: Option<&str>,
        req: Option<&semver::VersionReq>,
    ) -> Result<&Offer, FindError> {
        if self.marketplaces.is_empty() {
            return Err(FindError::NoMarketplaces(name.clone()));
        }
        if let Some(m) = marketplace
            && !self.marketplaces.iter().any(|k| k == m)
        {
            return Err(FindError::UnknownMarketplace {
                marketplace: m.to_owned(),
                suggestion: closest(m, self.marketplaces.iter().map(String::as_str))
                    .map(str::to_owned),
            });
        }
        let offers = self.offers_of(name, marketplace);
        if offers.is_empty() {
            let mut elsewhere: Vec<String> = self
                .offers
                .iter()
                .filter(|o| &o.entry.name == name)
                .map(|o| o.marketplace.clone())
                .collect();
            elsewhere.dedup();
            let suggestion = closest(
                name.as_str(),
                self.offers.iter().map(|o| o.entry.name.as_str()),
            )
            .and_then(|s| PackageName::new(s).ok());
            return Err(FindError::NotOffered {
                name: name.clone(),
                marketplace: marketplace
                    .or_else(|| self.chosen.get(name).map(String::as_str))
                    .map(str::to_owned),
                suggestion,
                elsewhere,
            });
        }
        let mut from: Vec<String> = offers.iter().map(|o| o.marketplace.clone()).collect();
        from.sort();
        from.dedup();
        if from.len() > 1 {
            return Err(FindError::Ambiguous {
                name: name.clone(),
                marketplaces: from,
            });
        }
        let fits = |o: &&&Offer| req.is_none_or(|r| r.matches(&o.entry.version));
        let newest = |stable: bool| {
            offers
                .iter()
                .filter(fits)
                .filter(|o| !stable || o.entry.version.pre.is_empty())
                .max_by(|a, b| a.entry.version.cmp(&b.entry.version))
                .copied()
        };
        newest(true).or_else(|| newest(false)).ok_or_else(|| {
            let mut offered: Vec<semver::Version> =
                offers.iter().map(|o| o.entry.version.clone()).collect();
            offered.sort();
            offered.dedup();
            FindError::NoVersion {
                name: name.clone(),
                req: req.cloned().unwrap_or_default(),
                marketplace: from.pop(),
                offered,
            }
        })
    }
}

impl Catalog for MarketplaceCatalog {
    fn versions(&self, name: &PackageName) -> Vec<CandidateVersion> {
        let mut out: Vec<CandidateVersion> = Vec::new();
        for offer in self.offers_of(name, None) {
            // Two marketplaces offering the same version: one candidate; `find` then asks the
            // user which marketplace they mean.
            if out.iter().any(|c| c.version == offer.entry.version) {
                continue;
            }
            out.push(CandidateVersion {
                version: offer.entry.version.clone(),
                dependencies: offer.entry.dependencies.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests;
