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

/// The packages in a dependency cycle with `name` (each needs `name` and `name` needs it,
/// directly or through others), `name` left out. Uninstalling `name` removes them with it:
/// none can stay without it, and each would otherwise forever be "needed by" the other.
pub fn cycle_of(lockfile: &Lockfile, name: &PackageName) -> Vec<PackageName> {
    let reach = |step: &dyn Fn(&PackageName) -> Vec<PackageName>| {
        let mut seen: BTreeSet<PackageName> = BTreeSet::new();
        let mut todo = vec![name.clone()];
        while let Some(next) = todo.pop() {
            for n in step(&next) {
                if seen.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    let needs = reach(&|n: &PackageName| {
        lockfile
            .get(n)
            .map(|p| p.dependencies.clone())
            .unwrap_or_default()
    });
    let needed_by = reach(&|n: &PackageName| dependents_of(lockfile, n));
    needs
        .intersection(&needed_by)
        .filter(|n| *n != name && lockfile.get(n).is_some())
        .cloned()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lockfile(edges: &[(&str, &[&str], bool)]) -> Lockfile {
        Lockfile {
            version: crate::lock::LOCK_VERSION,
            packages: edges
                .iter()
                .map(|(name, deps, requested)| crate::lock::LockedPackage {
                    name: n(name),
                    version: semver::Version::new(1, 0, 0),
                    source: crate::source::Pinned::Dir {
                        path: format!("/p/{name}").into(),
                    },
                    requested: *requested,
                    dependencies: deps.iter().map(|d| n(d)).collect(),
                    files: Default::default(),
                    entry: None,
                })
                .collect(),
        }
    }

    fn names(list: Vec<PackageName>) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    fn n(s: &str) -> PackageName {
        PackageName::new(s).expect("valid name")
    }

    #[test]
    fn a_cycle_is_found_from_either_member_and_outsiders_are_not_in_it() {
        let lock = lockfile(&[
            ("cyc-a", &["cyc-b"], true),
            ("cyc-b", &["cyc-c"], false),
            ("cyc-c", &["cyc-a", "leaf"], false),
            ("leaf", &[], false),
            ("user", &["cyc-b"], true),
        ]);
        assert_eq!(names(cycle_of(&lock, &n("cyc-a"))), ["cyc-b", "cyc-c"]);
        assert_eq!(names(cycle_of(&lock, &n("cyc-b"))), ["cyc-a", "cyc-c"]);
        assert!(cycle_of(&lock, &n("leaf")).is_empty());
        assert!(cycle_of(&lock, &n("user")).is_empty());
    }
}
