//! A change to a scope's packages (installs, replacements, removals) and its atomic commit.

use std::fs;
use std::path::Path;

use super::consent::{PackageSkill, load_skills};
use super::error::InstallError;
use super::journal::{Entry, Journal, sync_dir};
use super::scope::{ScopeLock, ScopePaths};
use super::staging::{StagedPackage, StagingDir};
use crate::PackageName;
use crate::lock::{LockedPackage, Lockfile};
use crate::manifest::PackageManifest;

/// One package as installed in a scope.
#[derive(Debug, Clone)]
pub struct Installed {
    /// What `skillet.lock` records for it.
    pub locked: LockedPackage,
    /// Its manifest, read from its folder (`None` when the folder is gone or unreadable).
    pub manifest: Option<PackageManifest>,
    /// Its skills, loaded from its folder.
    pub skills: Vec<PackageSkill>,
}

/// The scope's lockfile and every package it records, read from their folders.
pub fn installed_packages(paths: &ScopePaths) -> Result<(Lockfile, Vec<Installed>), InstallError> {
    let lockfile = read_lockfile(paths)?;
    let installed = lockfile
        .packages
        .iter()
        .map(|locked| {
            let root = paths.package(&locked.name);
            // A package a marketplace entry defines (a plugin folder without a manifest, or
            // the chosen skills of a larger repository) is read as that entry says.
            let manifest = match &locked.entry {
                Some(entry) => crate::manifest::read_package_for(&root, entry).ok(),
                None => crate::manifest::read_package(&root).ok(),
            };
            let skills = manifest
                .as_ref()
                .map(|m| load_skills(&root, m))
                .unwrap_or_default();
            Installed {
                locked: locked.clone(),
                manifest,
                skills,
            }
        })
        .collect();
    Ok((lockfile, installed))
}

pub(crate) fn read_lockfile(paths: &ScopePaths) -> Result<Lockfile, InstallError> {
    Lockfile::read(&paths.lockfile()).map_err(|e| InstallError::Part(e.to_string()))
}

/// One package a transaction changes.
// A transaction holds a handful of changes: boxing the staged package would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Change {
    /// Install (or replace) a package with a staged one.
    Install {
        /// The package, fetched and read.
        staged: StagedPackage,
        /// Whether the user asked for it by name or source (not only as a dependency).
        requested: bool,
    },
    /// Remove an installed package.
    Remove {
        /// The package.
        name: PackageName,
    },
}

impl Change {
    /// The package changed.
    pub fn name(&self) -> &PackageName {
        match self {
            Change::Install { staged, .. } => &staged.manifest.name,
            Change::Remove { name } => name,
        }
    }
}

/// Changes to one scope, committed together or not at all.
#[derive(Debug)]
pub struct Transaction<'a> {
    lock: &'a ScopeLock,
    staging: &'a StagingDir,
    changes: Vec<Change>,
    /// Installed packages the user now asks for by name: recorded as requested (so
    /// `uninstall --prune` keeps them) even when nothing else about them changes.
    marked: Vec<PackageName>,
}

impl<'a> Transaction<'a> {
    /// An empty transaction on the locked scope, using `staging` for what it moves aside.
    pub fn new(lock: &'a ScopeLock, staging: &'a StagingDir) -> Self {
        Transaction {
            lock,
            staging,
            changes: Vec::new(),
            marked: Vec::new(),
        }
    }

    /// Adds a change (a later change of the same package replaces an earlier one).
    pub fn push(&mut self, change: Change) {
        self.changes.retain(|c| c.name() != change.name());
        self.changes.push(change);
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Records an installed package as asked for by the user, as `install NAME` of a package
    /// that came only as a dependency does: `uninstall --prune` then keeps it.
    pub fn mark_requested(&mut self, name: PackageName) {
        if !self.marked.contains(&name) {
            self.marked.push(name);
        }
    }

    /// The packages [`Transaction::mark_requested`] named.
    pub fn marked(&self) -> &[PackageName] {
        &self.marked
    }

    /// The lockfile as it will be after the commit.
    pub fn next_lockfile(&self) -> Result<Lockfile, InstallError> {
        let mut lockfile = read_lockfile(self.lock.paths())?;
        for change in &self.changes {
            match change {
                Change::Install { staged, requested } => {
                    let was_requested = lockfile
                        .get(&staged.manifest.name)
                        .is_some_and(|p| p.requested);
                    lockfile.upsert(LockedPackage {
                        name: staged.manifest.name.clone(),
                        version: staged.manifest.version.clone(),
                        source: staged.pinned.clone(),
                        requested: *requested || was_requested,
                        dependencies: staged.manifest.dependencies.keys().cloned().collect(),
                        files: staged.files.clone(),
                        entry: staged.entry.clone(),
                    });
                }
                Change::Remove { name } => {
                    lockfile.remove(name);
                }
            }
        }
        for package in lockfile.packages.iter_mut() {
            if self.marked.contains(&package.name) {
                package.requested = true;
            }
        }
        Ok(lockfile)
    }

    /// Moves every change into place atomically and writes `skillet.lock`: first the journal
    /// (what is replaced), then the renames, then the lockfile; removing the journal commits.
    /// Interrupted anywhere, the next command rolls back to the state before.
    pub fn commit(self) -> Result<Lockfile, InstallError> {
        let lock = self.lock;
        self.commit_until(usize::MAX).inspect_err(|_| {
            // A failed step (a full disk, say) is undone now, not left to the next command;
            // if even that fails, the journal stays for the next command to finish it.
            if lock.paths().journal().exists() {
                let _ = super::journal::recover(lock);
            }
        })
    }

    /// [`Transaction::commit`], stopping (as a crash would) after `steps` steps: a test's way
    /// to interrupt it at each point.
    /// Refuses a transaction after which two packages of the scope would provide a skill of the
    /// same name. Which of them answers to the name would otherwise be decided by the order of
    /// their folders, so a package installed later could take a name another package (say, the
    /// one the user has used for months) answers to, without a word.
    pub fn check_names(&self) -> Result<(), InstallError> {
        let (_, installed) = installed_packages(self.lock.paths())?;
        let changed: Vec<&PackageName> = self.changes.iter().map(Change::name).collect();
        // Every name a package's skills answer to, aliases included (an alias is a name as
        // much as a skill's own): (name, package, whether it is installed already).
        let mut providers: Vec<(&str, &PackageName, bool)> = installed
            .iter()
            .filter(|p| !changed.contains(&&p.locked.name))
            .flat_map(|p| {
                p.skills
                    .iter()
                    .flat_map(answers_to)
                    .map(move |n| (n, &p.locked.name, true))
            })
            .collect();
        for change in &self.changes {
            let Change::Install { staged, .. } = change else {
                continue;
            };
            let package = &staged.manifest.name;
            for name in staged.skills.iter().flat_map(answers_to) {
                if let Some((_, other, installed)) = providers.iter().find(|(n, _, _)| *n == name) {
                    return Err(InstallError::NameClash {
                        skill: name.to_owned(),
                        package: package.to_string(),
                        other: if *installed {
                            format!("package {other}, installed in this scope")
                        } else {
                            format!("package {other}, installed by this same command")
                        },
                        fix: if *installed {
                            format!(
                                "uninstall {other} first if {package} is to replace it, or install {package} in the other scope (--global, or without it)"
                            )
                        } else {
                            format!("install only one of {package} and {other} in this scope")
                        },
                    });
                }
            }
            providers.extend(
                staged
                    .skills
                    .iter()
                    .flat_map(answers_to)
                    .map(|n| (n, package, false)),
            );
        }
        Ok(())
    }

    pub(crate) fn commit_until(self, steps: usize) -> Result<Lockfile, InstallError> {
        self.check_names()?;
        let paths = self.lock.paths();
        let packages = paths.packages();
        let next = self.next_lockfile()?;
        let lockfile_before = match fs::read_to_string(paths.lockfile()) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(InstallError::io("cannot read", paths.lockfile())(e)),
        };
        // Receipts are written in staging, so a package's folder appears whole, receipt
        // included, with its rename.
        for change in &self.changes {
            if let Change::Install { staged, .. } = change {
                write_receipt(staged)?;
            }
        }
        let mut entries = Vec::new();
        let previous = read_lockfile(paths)?;
        for change in &self.changes {
            let name = change.name();
            let dest = paths.package(name);
            let aside = match fs::symlink_metadata(&dest) {
                Ok(_) => Some(relative(&self.staging.slot("old"), &packages)?),
                Err(_) => None,
            };
            entries.push(Entry {
                name: name.clone(),
                previous: previous.get(name).map(|p| p.version.clone()),
                aside,
                installs: matches!(change, Change::Install { .. }),
            });
        }
        let journal = Journal {
            lockfile_before,
            entries,
            packages_dir: None,
        };
        journal.write(self.lock)?;
        let mut step = 0;
        let mut stop = || {
            step += 1;
            step > steps
        };
        for (change, entry) in self.changes.iter().zip(&journal.entries) {
            let dest = paths.package(change.name());
            if let Some(aside) = &entry.aside {
                if stop() {
                    return Ok(next);
                }
                let aside = packages.join(aside);
                fs::rename(&dest, &aside).map_err(InstallError::io("cannot move aside", &dest))?;
            }
            if let Change::Install { staged, .. } = change {
                if stop() {
                    return Ok(next);
                }
                fs::rename(&staged.root, &dest)
                    .map_err(InstallError::io("cannot move into place", &dest))?;
            }
        }
        if stop() {
            return Ok(next);
        }
        next.write(&paths.lockfile())
            .map_err(|e| InstallError::Part(e.to_string()))?;
        sync_dir(&packages);
        if stop() {
            return Ok(next);
        }
        Journal::commit(self.lock)?;
        Ok(next)
    }
}

fn write_receipt(staged: &StagedPackage) -> Result<(), InstallError> {
    let skills = staged.manifest.skills.clone();
    let receipt = skillet_registry::packages::PackageReceipt::for_tree(
        staged.manifest.name.as_str(),
        staged.manifest.version.to_string(),
        skills,
        &staged.root,
    )
    .map_err(InstallError::io(
        "cannot write the receipt in",
        &staged.root,
    ))?;
    receipt.write(&staged.root).map_err(InstallError::io(
        "cannot write the receipt in",
        &staged.root,
    ))
}

fn relative(path: &Path, base: &Path) -> Result<String, InstallError> {
    path.strip_prefix(base)
        .ok()
        .and_then(|p| p.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            InstallError::Part(format!(
                "the staging directory {} is not inside {}",
                path.display(),
                base.display()
            ))
        })
}

/// The names a package's skill answers to: its own and its aliases.
fn answers_to(skill: &super::consent::PackageSkill) -> impl Iterator<Item = &str> {
    std::iter::once(skill.name.as_str()).chain(
        skill
            .spec
            .iter()
            .flat_map(|spec| spec.aliases.iter().map(String::as_str)),
    )
}
