//! `skillet verify`: every installed file of a scope against `skillet.lock`, hashed in full
//! (discovery's check on every load compares metadata first; this one trusts nothing), and
//! `skillet verify --accept`, which records the files as they are now.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use skillet_registry::packages::{PACKAGES_DIR, PackageReceipt, tree_digests_each};

use crate::PackageName;
use crate::lock::{LOCK_FILE, LockError, Lockfile};

/// What `verify` found in one scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every package the lockfile lists, by name.
    pub packages: Vec<PackageCheck>,
    /// Package folders in `packages/` that the lockfile does not list (a stray folder, or an
    /// install the lockfile never recorded).
    pub unlisted: Vec<String>,
}

/// What `verify` found for one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageCheck {
    /// The package.
    pub name: PackageName,
    /// Its version, as locked.
    pub version: semver::Version,
    /// Its folder.
    pub dir: PathBuf,
    /// Whether its folder exists: a package the lockfile lists but nothing installed.
    pub installed: bool,
    /// Files whose contents differ from the lockfile (or that cannot be read).
    pub changed: Vec<String>,
    /// Files the lockfile lists that are gone.
    pub missing: Vec<String>,
    /// Files that the lockfile does not list: a planted script is a change too.
    pub added: Vec<String>,
    /// What is wrong with its receipt (missing, unreadable, or not matching the lockfile), which
    /// discovery relies on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_problem: Option<String>,
    /// A problem that stopped the check (a folder too large, a name that is not UTF-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PackageCheck {
    /// Whether the package is installed exactly as locked.
    pub fn is_clean(&self) -> bool {
        self.installed
            && self.changed.is_empty()
            && self.missing.is_empty()
            && self.added.is_empty()
            && self.receipt_problem.is_none()
            && self.error.is_none()
    }
}

impl VerifyReport {
    /// Whether every package is installed exactly as locked, and nothing else is installed.
    pub fn is_clean(&self) -> bool {
        self.unlisted.is_empty() && self.packages.iter().all(PackageCheck::is_clean)
    }
}

/// Why verify or accept could not be done.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The lockfile could not be read or written.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The packages folder could not be listed.
    #[error("cannot list {path}: {source}")]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A package cannot be accepted as it is.
    #[error("cannot accept package `{name}` as it is: {why}")]
    CannotAccept {
        /// The package.
        name: PackageName,
        /// Why, and what to do.
        why: String,
    },
    /// A receipt could not be written.
    #[error("cannot write the receipt of package `{name}` in {dir}: {source}")]
    WriteReceipt {
        /// The package.
        name: PackageName,
        /// Its folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Checks every package `lock` lists against the files in `scope_dir/packages/`, hashing every
/// file, and lists the package folders the lockfile does not.
pub fn verify(scope_dir: &Path, lock: &Lockfile) -> Result<VerifyReport, VerifyError> {
    let packages_dir = scope_dir.join(PACKAGES_DIR);
    let mut report = VerifyReport::default();
    for locked in &lock.packages {
        let dir = packages_dir.join(locked.name.as_str());
        let mut check = PackageCheck {
            name: locked.name.clone(),
            version: locked.version.clone(),
            dir: dir.clone(),
            installed: dir.is_dir(),
            changed: Vec::new(),
            missing: Vec::new(),
            added: Vec::new(),
            receipt_problem: None,
            error: None,
        };
        if !check.installed {
            check.missing = locked.files.keys().cloned().collect();
            report.packages.push(check);
            continue;
        }
        match tree_digests_each(&dir) {
            Err(e) => check.error = Some(e.to_string()),
            Ok(found) => {
                for (path, digest) in &found {
                    match (locked.files.get(path), digest) {
                        (None, _) => check.added.push(path.clone()),
                        (Some(want), Ok(got)) if want == got => {}
                        (Some(_), _) => check.changed.push(path.clone()),
                    }
                }
                check.missing = locked
                    .files
                    .keys()
                    .filter(|p| !found.contains_key(*p))
                    .cloned()
                    .collect();
            }
        }
        check.receipt_problem = receipt_problem(&dir, locked);
        report.packages.push(check);
    }
    let listed: BTreeSet<&str> = lock.packages.iter().map(|p| p.name.as_str()).collect();
    report.unlisted = package_folders(&packages_dir)?
        .into_iter()
        .filter(|name| !listed.contains(name.as_str()))
        .collect();
    Ok(report)
}

/// What is wrong with a package's receipt, compared with its lockfile entry.
fn receipt_problem(dir: &Path, locked: &crate::lock::LockedPackage) -> Option<String> {
    let receipt = match PackageReceipt::read(dir) {
        Ok(r) => r,
        Err(e) => return Some(e.to_string()),
    };
    let recorded: BTreeMap<&str, &str> = receipt
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let locked_files: BTreeMap<&str, &str> = locked
        .files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_str()))
        .collect();
    if receipt.name != locked.name.as_str() || receipt.version != locked.version.to_string() {
        return Some(format!(
            "its receipt is for {} {}, but the lockfile has {} {}; reinstall the package",
            receipt.name, receipt.version, locked.name, locked.version
        ));
    }
    (recorded != locked_files).then(|| {
        "its receipt does not record the same files as the lockfile; reinstall the package, or accept what is installed with `skillet verify --accept`".to_owned()
    })
}

/// The package folders in `packages_dir` (hidden entries, such as staging, left out).
fn package_folders(packages_dir: &Path) -> Result<Vec<String>, VerifyError> {
    let entries = match std::fs::read_dir(packages_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(VerifyError::ReadDir {
                path: packages_dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// Accepts the installed files of every package `lock` lists as they are now: rewrites each
/// package's receipt and its files in `lock`, then writes `lock` to `scope_dir/skillet.lock`.
/// Returns what was accepted (the report before accepting). Nothing is changed when a listed
/// package is not installed or has no readable receipt: reinstall it first.
pub fn accept(scope_dir: &Path, lock: &mut Lockfile) -> Result<VerifyReport, VerifyError> {
    let report = verify(scope_dir, lock)?;
    let packages_dir = scope_dir.join(PACKAGES_DIR);
    let mut receipts = Vec::new();
    for locked in &lock.packages {
        let dir = packages_dir.join(locked.name.as_str());
        let cannot = |why: String| VerifyError::CannotAccept {
            name: locked.name.clone(),
            why,
        };
        // Not `is_dir`: a package folder swapped for a link is not accepted through it.
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Err(cannot(format!(
                "it is not installed ({} is missing); run `skillet install --locked` to reinstall it, or `skillet uninstall {}`",
                dir.display(),
                locked.name
            )));
        }
        let old = PackageReceipt::read(&dir).map_err(|e| cannot(e.to_string()))?;
        let receipt = PackageReceipt::for_tree(
            locked.name.to_string(),
            locked.version.to_string(),
            old.skills,
            &dir,
        )
        .map_err(|e| {
            cannot(format!(
                "{e}; remove what is not a regular file or a symlink, or reinstall the package"
            ))
        })?;
        // A link's digest covers only where it points: accepting a file swapped for one (or a
        // link planted) would hide every later change to its target. Links the package came
        // with, unchanged, stay accepted.
        if let Some(f) = receipt.files.iter().find(|f| {
            f.sha256.starts_with("symlink:") && locked.files.get(&f.path) != Some(&f.sha256)
        }) {
            return Err(cannot(format!(
                "{} is a symbolic link that skillet.lock does not record; only regular files are accepted: replace it with the file, or reinstall the package (`skillet install --locked`)",
                f.path
            )));
        }
        receipts.push((locked.name.clone(), dir, receipt));
    }
    for (name, dir, receipt) in receipts {
        receipt
            .write(&dir)
            .map_err(|source| VerifyError::WriteReceipt {
                name: name.clone(),
                dir: dir.clone(),
                source,
            })?;
        let files = receipt
            .files
            .into_iter()
            .map(|f| (f.path, f.sha256))
            .collect();
        if let Some(locked) = lock.packages.iter_mut().find(|p| p.name == name) {
            locked.files = files;
        }
    }
    lock.write(&scope_dir.join(LOCK_FILE))?;
    Ok(report)
}
