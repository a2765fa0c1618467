//! The packages a change needs besides the ones given by source: packages named by name
//! (found in the added marketplaces) and every dependency, resolved together with what is
//! installed (kept while it still fits), then fetched.

use std::collections::BTreeMap;

use anyhow::Result;
use skillet_pkg::PackageName;
use skillet_pkg::install::{Change, Installed, ScopeLock, StagingDir, Transaction, stage_entry};
use skillet_pkg::marketplace::{FindError, MarketplaceCatalog, Marketplaces};
use skillet_pkg::resolve::{CandidateVersion, Catalog, resolve};

use crate::context::Context;
use crate::output;
use crate::progress::Bars;

/// A package asked for by name: `NAME`, `NAME@MARKETPLACE`, `NAME@REQ`.
pub type Named = (PackageName, Option<String>, Option<semver::VersionReq>);

/// What the resolver may choose from: a package given by source is only that version; others
/// are what the marketplaces offer plus the version installed.
struct Choices<'a> {
    given: BTreeMap<PackageName, CandidateVersion>,
    installed: BTreeMap<PackageName, CandidateVersion>,
    marketplaces: &'a MarketplaceCatalog,
}

impl Catalog for Choices<'_> {
    fn versions(&self, name: &PackageName) -> Vec<CandidateVersion> {
        if let Some(given) = self.given.get(name) {
            return vec![given.clone()];
        }
        let mut out = self.marketplaces.versions(name);
        if let Some(mine) = self.installed.get(name)
            && !out.iter().any(|c| c.version == mine.version)
        {
            out.push(mine.clone());
        }
        out
    }
}

/// The added marketplaces, each unreadable one a warning.
pub fn marketplaces(ctx: &Context) -> Result<MarketplaceCatalog> {
    let stored = Marketplaces::open(&ctx.env)?;
    let (catalog, errors) = stored.catalog();
    for e in errors {
        eprintln!("skillet: warning: {}", output::text(&e.to_string()));
    }
    Ok(catalog)
}

/// Why a package asked for by name cannot be had, with the exit code `run` and `info` use for a
/// name nothing answers to (127) when no marketplace offers it, else 125.
pub fn find_failure(e: FindError) -> anyhow::Error {
    let code = match e {
        FindError::NoMarketplaces(_)
        | FindError::UnknownMarketplace { .. }
        | FindError::NotOffered { .. } => output::EXIT_NOT_FOUND,
        FindError::Ambiguous { .. } | FindError::NoVersion { .. } => output::EXIT_SKILLET_ERROR,
    };
    output::failure(code, e.to_string(), None)
}

fn candidate(i: &Installed) -> Option<CandidateVersion> {
    Some(CandidateVersion {
        version: i.locked.version.clone(),
        dependencies: i.manifest.as_ref()?.dependencies.clone(),
    })
}

/// Adds to `txn` the packages `named`, and every package that what is installed and what
/// `txn` installs need, at the versions the resolver chooses. Installed versions are kept
/// while they fit, except for the packages in `unlock` (an update: newest allowed).
#[allow(clippy::too_many_arguments)]
pub fn add_dependencies(
    ctx: &Context,
    lock: &ScopeLock,
    staging: &StagingDir,
    bars: &Bars,
    txn: &mut Transaction<'_>,
    named: &[Named],
    unlock: &[PackageName],
) -> Result<()> {
    let (_, installed) = skillet_pkg::install::installed_packages(lock.paths())?;
    let given: BTreeMap<PackageName, CandidateVersion> = txn
        .changes()
        .iter()
        .filter_map(|c| match c {
            Change::Install { staged, .. } => Some((
                staged.manifest.name.clone(),
                CandidateVersion {
                    version: staged.manifest.version.clone(),
                    dependencies: staged.manifest.dependencies.clone(),
                },
            )),
            Change::Remove { .. } => None,
        })
        .collect();
    let mine: BTreeMap<PackageName, CandidateVersion> = installed
        .iter()
        .filter_map(|i| Some((i.locked.name.clone(), candidate(i)?)))
        .collect();
    let have = |name: &PackageName| given.get(name).or_else(|| mine.get(name));
    let unmet = given
        .values()
        .chain(mine.values())
        .flat_map(|c| c.dependencies.iter())
        .any(|(dep, req)| !have(dep).is_some_and(|c| req.matches(&c.version)));
    if named.is_empty() && unlock.is_empty() && !unmet {
        return Ok(());
    }
    let mut catalog = marketplaces(ctx)?;
    for (name, marketplace, req) in named {
        // `find` says precisely why nothing fits (no marketplace, not offered, ambiguous).
        catalog
            .find(name, marketplace.as_deref(), req.as_ref())
            .map_err(find_failure)?;
        if let Some(m) = marketplace {
            catalog.choose(name.clone(), m.clone());
        }
    }
    let mut roots: Vec<(PackageName, semver::VersionReq)> = named
        .iter()
        .map(|(n, _, req)| (n.clone(), req.clone().unwrap_or(semver::VersionReq::STAR)))
        .collect();
    for (name, c) in &given {
        let exact = semver::VersionReq::parse(&format!("={}", c.version))?;
        roots.push((name.clone(), exact));
    }
    for i in installed.iter().filter(|i| i.locked.requested) {
        if !roots.iter().any(|(n, _)| n == &i.locked.name) {
            roots.push((i.locked.name.clone(), semver::VersionReq::STAR));
        }
    }
    let preferred: BTreeMap<PackageName, semver::Version> = installed
        .iter()
        .filter(|i| !unlock.contains(&i.locked.name))
        .map(|i| (i.locked.name.clone(), i.locked.version.clone()))
        .collect();
    let choices = Choices {
        given: given.clone(),
        installed: mine,
        marketplaces: &catalog,
    };
    let chosen = resolve(&roots, &choices, &preferred).map_err(|e| {
        output::failure(
            output::EXIT_SKILLET_ERROR,
            format!("cannot choose versions that fit together:\n{e}"),
            Some("`skillet search NAME` shows the versions on offer; `skillet marketplace update` fetches the newest lists".into()),
        )
    })?;
    for (name, version) in chosen {
        if given.contains_key(&name) {
            continue;
        }
        let requested = named.iter().any(|(n, _, _)| n == &name);
        if let Some(kept) = installed
            .iter()
            .find(|i| i.locked.name == name && i.locked.version == version)
        {
            // Asked for by name now, though it came as a dependency: recorded as asked for.
            if requested && !kept.locked.requested {
                txn.mark_requested(name);
            }
            continue;
        }
        let exact = semver::VersionReq::parse(&format!("={version}"))?;
        let entry = catalog
            .find(&name, None, Some(&exact))
            .map_err(find_failure)?;
        let staged = stage_entry(&entry, staging, bars)?;
        txn.push(Change::Install { staged, requested });
    }
    Ok(())
}
