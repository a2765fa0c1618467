//! Which installed packages need which: what refuses an uninstall, and what `--prune` removes.

use std::collections::BTreeSet;

use crate::PackageName;
use crate::lock::Lockfile;

/// The installed packages that depend on `name`.
pub fn dependents_of(lockfile: &Lockfile, name: &PackageName) -> Vec<PackageName> {
    lockfile
        .packages
        .iter()
        .filter(|p| &p.name != name && p.dependencies.contains(name))
        .map(|p| p.name.clone())
        .collect()
}

/// The packages that removing `removed` leaves unneeded: pulled in only as dependencies (never
/// requested by the user) and needed by nothing that stays, transitively.
pub fn prunable(lockfile: &Lockfile, removed: &[PackageName]) -> Vec<PackageName> {
    let mut gone: BTreeSet<&PackageName> = removed.iter().collect();
    loop {
        let needed: BTreeSet<&PackageName> = lockfile
            .packages
            .iter()
            .filter(|p| !gone.contains(&p.name))
            .flat_map(|p| p.dependencies.iter())
            .collect();
        let more: Vec<&PackageName> = lockfile
            .packages
            .iter()
            .filter(|p| !p.requested && !gone.contains(&p.name) && !needed.contains(&p.name))
            .map(|p| &p.name)
            .collect();
        if more.is_empty() {
            break;
        }
        gone.extend(more);
    }
    gone.into_iter()
        .filter(|n| !removed.contains(n))
        .cloned()
        .collect()
}
