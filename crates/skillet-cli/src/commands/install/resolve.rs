//! The packages a change needs besides the ones named: dependencies, and packages named by
//! name (found in the added marketplaces).

use anyhow::Result;
use skillet_pkg::PackageName;
use skillet_pkg::install::{Change, ScopeLock, StagingDir, Transaction};

use crate::context::Context;
use crate::output;
use crate::progress::Bars;

/// A package asked for by name: `NAME`, `NAME@MARKETPLACE`, `NAME@REQ`.
pub type Named = (PackageName, Option<String>, Option<semver::VersionReq>);

/// Adds to `txn` the packages named, and every dependency of what it installs that is not
/// installed at a version that fits.
pub fn add_dependencies(
    _ctx: &Context,
    lock: &ScopeLock,
    _staging: &StagingDir,
    _bars: &Bars,
    txn: &mut Transaction<'_>,
    named: &[Named],
) -> Result<()> {
    if let Some((name, _, _)) = named.first() {
        return Err(output::failure(
            output::EXIT_SKILLET_ERROR,
            format!("cannot install {name} by name: installing from marketplaces is not supported yet"),
            Some("install it from its source instead: a folder (./path), git+URL#REF, or an archive URL with --sha256".into()),
        ));
    }
    let lockfile = skillet_pkg::lock::Lockfile::read(&lock.paths().lockfile())?;
    for change in txn.changes() {
        let Change::Install { staged, .. } = change else {
            continue;
        };
        for (dep, req) in &staged.manifest.dependencies {
            let have = txn
                .changes()
                .iter()
                .find_map(|c| match c {
                    Change::Install { staged, .. } if &staged.manifest.name == dep => {
                        Some(staged.manifest.version.clone())
                    }
                    _ => None,
                })
                .or_else(|| lockfile.get(dep).map(|p| p.version.clone()));
            match have {
                Some(v) if req.matches(&v) => {}
                have => {
                    let what = match have {
                        Some(v) => format!("{dep} {v} is installed"),
                        None => format!("{dep} is not installed"),
                    };
                    return Err(output::failure(
                        output::EXIT_SKILLET_ERROR,
                        format!(
                            "{} {} needs {dep} {req}, but {what}; fetching dependencies from marketplaces is not supported yet",
                            staged.manifest.name, staged.manifest.version
                        ),
                        Some(format!(
                            "install {dep} from its source first (a folder, git+URL#REF or an archive), then {} again",
                            staged.manifest.name
                        )),
                    ));
                }
            }
        }
    }
    Ok(())
}
