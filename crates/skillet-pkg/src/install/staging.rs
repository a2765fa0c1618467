//! Fetching a package into a staging directory and reading what it is, before anything in the
//! scope changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::consent::{PackageSkill, load_skills};
use super::error::InstallError;
use super::scope::{ScopeLock, remove_any};
use crate::index::IndexEntry;
use crate::lock::LockedPackage;
use crate::manifest::PackageManifest;
use crate::source::{Pinned, Progress, Source};

/// One change's own directory under `packages/.staging/`, removed when dropped (and by the
/// next command's clean-up when the process dies first).
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
    next: AtomicU32,
}

impl StagingDir {
    /// A new, empty staging directory in the locked scope.
    pub fn new(lock: &ScopeLock) -> Result<StagingDir, InstallError> {
        let staging = lock.paths().staging();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("{}-{nanos:08x}", std::process::id());
        let path = staging.join(&name);
        // Through the staging directory the lock opened (never a link planted in its place).
        rustix::fs::mkdirat(
            lock.staging_fd(),
            name.as_str(),
            rustix::fs::Mode::from_raw_mode(0o755),
        )
        .map_err(|e| InstallError::io("cannot create", &path)(e.into()))?;
        Ok(StagingDir {
            path,
            next: AtomicU32::new(0),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh sub-directory name for one more fetch or one moved-aside folder.
    pub(crate) fn slot(&self, what: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.path.join(format!("{what}-{n}"))
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = remove_any(&self.path);
    }
}

/// A package fetched into staging, read and hashed, not yet installed.
#[derive(Debug, Clone)]
pub struct StagedPackage {
    /// What its manifest says.
    pub manifest: PackageManifest,
    /// Its folder inside the staging directory.
    pub root: PathBuf,
    /// Where it came from, pinned for `skillet.lock`.
    pub pinned: Pinned,
    /// The sha256 of every file, by relative path.
    pub files: BTreeMap<String, String>,
    /// Its skills, loaded.
    pub skills: Vec<PackageSkill>,
    /// The index entry that defined it, when it came from one.
    pub entry: Option<IndexEntry>,
}

/// Fetches `source` into `staging` and reads the package it holds.
pub fn stage(
    source: &Source,
    staging: &StagingDir,
    progress: &dyn Progress,
) -> Result<StagedPackage, InstallError> {
    let dir = staging.slot("fetch");
    let fetched = crate::source::fetch(source, &dir, progress)
        .map_err(|e| InstallError::Part(e.to_string()))?;
    read_staged(fetched.root, fetched.pinned, &source_text(source))
}

/// Fetches the package an index `entry` names and reads it as the entry describes it (a
/// marketplace entry may pick the skills of a larger repository).
pub fn stage_entry(
    entry: &IndexEntry,
    staging: &StagingDir,
    progress: &dyn Progress,
) -> Result<StagedPackage, InstallError> {
    let dir = staging.slot("fetch");
    let text = source_text(&entry.source);
    let fetched = crate::source::fetch(&entry.source, &dir, progress)
        .map_err(|e| InstallError::Part(format!("{} {}: {e}", entry.name, entry.version)))?;
    remove_git(&fetched.root)?;
    let manifest = crate::manifest::read_package_for(&fetched.root, entry)
        .map_err(|e| in_source_words(&e, &fetched.root, &text))?;
    if manifest.version != entry.version {
        return Err(InstallError::Mismatch {
            expected: format!("{} {} (as its index says)", entry.name, entry.version),
            found: manifest.name,
            found_version: manifest.version,
            source_text: text,
        });
    }
    let mut staged = finish_staged(fetched.root, fetched.pinned, manifest, &text)?;
    staged.entry = Some(entry.clone());
    Ok(staged)
}

/// Fetches exactly what `locked` records (its pinned source) and checks every file against
/// the digests in `skillet.lock`, naming the first that differs.
pub fn stage_pinned(
    locked: &LockedPackage,
    staging: &StagingDir,
    progress: &dyn Progress,
) -> Result<StagedPackage, InstallError> {
    let dir = staging.slot("fetch");
    let fetched = crate::source::fetch_pinned(&locked.source, &dir, progress)
        .map_err(|e| InstallError::Part(e.to_string()))?;
    let text = pinned_text(&locked.source);
    let staged = match &locked.entry {
        // Read as the entry defined it when installed, or its skills could differ.
        Some(entry) => {
            remove_git(&fetched.root)?;
            let manifest = crate::manifest::read_package_for(&fetched.root, entry)
                .map_err(|e| in_source_words(&e, &fetched.root, &text))?;
            let mut staged = finish_staged(fetched.root, fetched.pinned, manifest, &text)?;
            staged.entry = Some(entry.clone());
            staged
        }
        None => read_staged(fetched.root, fetched.pinned, &text)?,
    };
    if staged.manifest.name != locked.name || staged.manifest.version != locked.version {
        return Err(InstallError::Mismatch {
            expected: format!(
                "{} {} (as skillet.lock records)",
                locked.name, locked.version
            ),
            found: staged.manifest.name,
            found_version: staged.manifest.version,
            source_text: text,
        });
    }
    let mismatch = |file: &str, problem| InstallError::LockedMismatch {
        package: locked.name.clone(),
        source_text: text.clone(),
        file: file.to_owned(),
        problem,
    };
    for (file, digest) in &locked.files {
        match staged.files.get(file) {
            Some(d) if d == digest => {}
            Some(_) => return Err(mismatch(file, "differs from")),
            None => return Err(mismatch(file, "is missing, unlike")),
        }
    }
    if let Some(file) = staged.files.keys().find(|f| !locked.files.contains_key(*f)) {
        return Err(mismatch(file, "is new, not in"));
    }
    Ok(staged)
}

fn read_staged(
    root: PathBuf,
    pinned: Pinned,
    source_text: &str,
) -> Result<StagedPackage, InstallError> {
    remove_git(&root)?;
    let manifest = crate::manifest::read_package(&root)
        .map_err(|e| in_source_words(&e, &root, source_text))?;
    finish_staged(root, pinned, manifest, source_text)
}

/// An error about a package in staging, in the words of its source: the staging folder
/// (`…/.skillet/packages/.staging/123-ab/fetch-0/package`) means nothing to whoever typed
/// `skillet install ./kit`. A file in the package is named by its path in the package, after
/// the source (`git+https://h/r.git#v1: skills/x/SKILL.md: …`); the folder itself by the source.
fn in_source_words(e: &dyn std::fmt::Display, root: &Path, source_text: &str) -> InstallError {
    let mut text = e.to_string();
    // As given, and resolved: the manifest reader names the folder by its real path.
    let mut spellings = vec![root.display().to_string()];
    if let Ok(real) = std::fs::canonicalize(root) {
        spellings.push(real.display().to_string());
    }
    // The longer first: one may end with the other (a home reached through a link).
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    spellings.dedup();
    for staged in &spellings {
        text = text.replace(&format!("{staged}/"), "");
        text = text.replace(staged.as_str(), source_text);
    }
    if text.starts_with(source_text) {
        InstallError::Part(text)
    } else {
        InstallError::Part(format!("{source_text}: {text}"))
    }
}

/// The package's files as fetched, never its repository: a `.git` would make the installed
/// folder a repository of its own.
fn remove_git(root: &Path) -> Result<(), InstallError> {
    let git = root.join(".git");
    remove_any(&git).map_err(InstallError::io("cannot remove", &git))
}

fn finish_staged(
    root: PathBuf,
    pinned: Pinned,
    manifest: PackageManifest,
    source_text: &str,
) -> Result<StagedPackage, InstallError> {
    let files =
        crate::lock::hash_tree(&root).map_err(|e| in_source_words(&e, &root, source_text))?;
    let skills = load_skills(&root, &manifest);
    Ok(StagedPackage {
        manifest,
        root,
        pinned,
        files,
        skills,
        entry: None,
    })
}

/// A source in the words a user typed it.
pub fn source_text(source: &Source) -> String {
    match source {
        Source::Dir { path } => path.display().to_string(),
        Source::Git {
            url,
            reference,
            subdir,
        } => {
            let mut s = format!("git+{}", crate::source::without_credentials(url));
            if let Some(r) = reference {
                s.push('#');
                s.push_str(r);
            }
            if let Some(d) = subdir {
                s.push_str(&format!(" (folder {d})"));
            }
            s
        }
        Source::Archive { url, .. } => crate::source::without_credentials(url),
    }
}

/// A pinned source in words.
pub fn pinned_text(pinned: &Pinned) -> String {
    match pinned {
        Pinned::Dir { path } => path.display().to_string(),
        Pinned::Git { url, commit, .. } => {
            format!("git+{}#{commit}", crate::source::without_credentials(url))
        }
        Pinned::Archive { url, .. } => crate::source::without_credentials(url),
    }
}
