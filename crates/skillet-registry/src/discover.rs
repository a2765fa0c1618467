//! Scanning one skills directory for candidate skill files.

use std::path::{Path, PathBuf};

use skillet_spec::{AGENT_SKILL_FILE, Diagnostic, PACKAGE_SKILL_FILE};

use crate::layout::{DirKind, Scope, SkillDir};

/// A file that should hold a skill.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The skill file.
    pub path: PathBuf,
    /// Warnings about how it was reached (symlinks leaving the directory).
    pub warnings: Vec<Diagnostic>,
    /// For a workspace skill, the directory the file must be read beneath: a repository may ship
    /// `x.json -> ~/.aws/credentials`, and what skillet reads from a workspace stays in it.
    pub within: Option<PathBuf>,
    /// The installed package it belongs to, for a skill of a package.
    pub package: Option<crate::packages::PackageRef>,
    /// The skill file's path with every link and `..` resolved, when discovery knows it without
    /// asking the file system again: what the metadata cache keys a file on. `None` leaves the
    /// file uncached.
    pub canonical: Option<PathBuf>,
}

/// Most skill files read from one scope (workspace or global). A repository with more is
/// hostile or a mistake; the rest are reported once, unread.
pub const MAX_SKILL_FILES: usize = 10_000;
/// Most entries of one skills directory looked at. Listing a directory costs time even when its
/// files are never read, so a directory of millions of entries must not slow every command.
pub const MAX_DIR_ENTRIES: usize = 100_000;

/// Lists at most `room` skill files in `dir`, sorted by file name so results never depend on
/// the file system's order, and the number of entries past `room` left unread. A missing
/// directory simply has none.
pub(crate) fn scan(
    dir: &SkillDir,
    room: usize,
    warnings: &mut Vec<Diagnostic>,
) -> (Vec<Candidate>, usize) {
    if dir.kind == DirKind::Packages {
        return crate::packages::scan_packages(dir, room, warnings);
    }
    let Ok(entries) = std::fs::read_dir(&dir.path) else {
        return (Vec::new(), 0);
    };
    let mut entries: Vec<std::fs::DirEntry> = entries
        .filter_map(Result::ok)
        .take(MAX_DIR_ENTRIES + 1)
        .collect();
    if entries.len() > MAX_DIR_ENTRIES {
        warnings.push(
            Diagnostic::warning(format!(
                "{} has more than {MAX_DIR_ENTRIES} entries, the limit; only the first {MAX_DIR_ENTRIES} listed were looked at",
                dir.path.display()
            ))
            .with_hint("a skills directory holds skills only; move other files elsewhere"),
        );
        entries.truncate(MAX_DIR_ENTRIES);
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    // Resolved once: an entry that is no link lies in the resolved directory under its name.
    let root = std::fs::canonicalize(&dir.path).ok();
    // Sized once: doubling would hold half again as many candidates as there are skills.
    let mut out = Vec::with_capacity(entries.len().min(room));
    let mut strays = Vec::new();
    let mut unread = 0;
    let mut entries = entries.into_iter();
    while let Some(entry) = entries.next() {
        if out.len() == room {
            unread = unread_entries(std::iter::once(entry).chain(entries));
            break;
        }
        if let Some(candidate) = candidate(dir, root.as_deref(), entry, &mut strays) {
            out.push(candidate);
        }
    }
    // A directory of thousands of stray folders must not bury everything else in warnings.
    if strays.len() > MAX_STRAY_WARNINGS {
        let more = strays.len() - MAX_STRAY_WARNINGS;
        strays.truncate(MAX_STRAY_WARNINGS);
        strays.push(Diagnostic::warning(format!(
            "{more} more entries of {} are not skills and were skipped",
            dir.path.display()
        )));
    }
    warnings.extend(strays);
    (out, unread)
}

/// Warnings about entries that are not skills, listed one by one per directory.
const MAX_STRAY_WARNINGS: usize = 20;

/// How many of the remaining entries might have been skills (hidden files never are).
fn unread_entries(rest: impl Iterator<Item = std::fs::DirEntry>) -> usize {
    rest.filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .count()
}

/// The candidates for skill `name` in `dir`, found by file name alone (no listing): the
/// entries `<name>` and `<name>.json`, in the order a full scan would meet them. What a full
/// scan would say of them (a folder holding no skill, a link leaving the directory) is said
/// the same way.
pub(crate) fn named(dir: &SkillDir, name: &str, warnings: &mut Vec<Diagnostic>) -> Vec<Candidate> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\0']) {
        return Vec::new();
    }
    if dir.kind == DirKind::Packages {
        return crate::packages::named_in_packages(dir, name, warnings);
    }
    let mut out = Vec::new();
    // Sorted by file name, as `scan` sorts: `x` before `x.json`.
    for entry_name in [name.to_owned(), format!("{name}.json")] {
        let path = dir.path.join(&entry_name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let link = meta.file_type().is_symlink();
        let is_dir = if link { path.is_dir() } else { meta.is_dir() };
        if let Some(c) = candidate_at(dir, None, path, &entry_name, link, is_dir, warnings) {
            out.push(c);
        }
    }
    out
}

/// The skill file one entry of a skills directory stands for, with how it was reached.
fn candidate(
    dir: &SkillDir,
    root: Option<&Path>,
    entry: std::fs::DirEntry,
    warnings: &mut Vec<Diagnostic>,
) -> Option<Candidate> {
    let name = entry.file_name();
    let Some(name_str) = name.to_str() else {
        warnings.push(Diagnostic::warning(format!(
            "skipped {}: the name is not UTF-8",
            dir.path.join(&name).display()
        )));
        return None;
    };
    if name_str.starts_with('.') {
        return None;
    }
    let path = entry.path();
    // The file type from the directory listing costs no system call; only links need more.
    let link = entry.file_type().is_ok_and(|t| t.is_symlink());
    let is_dir = if link {
        path.is_dir()
    } else {
        entry.file_type().is_ok_and(|t| t.is_dir())
    };
    candidate_at(dir, root, path, name_str, link, is_dir, warnings)
}

/// The skill file the entry `name_str` (at `path`, a link or not, a directory or not) of a
/// skills directory stands for, with how it was reached. `root` is the directory resolved,
/// when known: the candidate's resolved path follows from it.
fn candidate_at(
    dir: &SkillDir,
    root: Option<&Path>,
    path: PathBuf,
    name_str: &str,
    link: bool,
    is_dir: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Option<Candidate> {
    let Some(file) = skill_file_in(&path, name_str, dir.kind, is_dir) else {
        // `skillet test` keeps snapshots and cassettes of one-file skills in these folders
        // beside them; no skill name starts with `_`, so they are never a skill to warn about.
        let test_data = matches!(name_str, "__snapshots__" | "__cassettes__");
        if is_dir && !test_data && matches!(dir.kind, DirKind::Skillet | DirKind::Configured) {
            warnings.push(
                Diagnostic::warning(format!("{} holds no skill", path.display())).with_hint(
                    format!("a skill folder needs a {PACKAGE_SKILL_FILE} or a {AGENT_SKILL_FILE}"),
                ),
            );
        }
        return None;
    };
    let mut candidate = Candidate {
        path: file,
        warnings: Vec::new(),
        within: workspace_bound(dir),
        package: None,
        canonical: None,
    };
    let manifest_link = is_dir
        && std::fs::symlink_metadata(&candidate.path).is_ok_and(|m| m.file_type().is_symlink());
    if !link && !manifest_link {
        candidate.canonical = root.and_then(|r| {
            let rel = candidate.path.strip_prefix(&dir.path).ok()?;
            Some(r.join(rel))
        });
    }
    if link || manifest_link {
        let real = std::fs::canonicalize(&candidate.path).ok();
        candidate.canonical = real.clone();
        let real = real.unwrap_or_else(|| candidate.path.clone());
        let root = std::fs::canonicalize(&dir.path).unwrap_or_else(|_| dir.path.clone());
        // Out of a workspace altogether, loading refuses the file: no warning to trust it.
        let refused = candidate
            .within
            .as_ref()
            .is_some_and(|w| !real.starts_with(w));
        if !real.starts_with(&root) && !refused {
            candidate.warnings.push(
                Diagnostic::warning(format!(
                    "follows a symlink out of {} to {}",
                    dir.path.display(),
                    real.display()
                ))
                .with_hint("make sure you trust the target; copy the skill in to silence this"),
            );
        }
    }
    Some(candidate)
}

/// The directory a workspace skills directory's files must resolve beneath: the workspace root
/// for the directories skillet knows (`<root>/.skillet/skills`, `<root>/.claude/skills`,
/// `<root>/.q-skills`), the directory itself for one the workspace configured.
fn workspace_bound(dir: &SkillDir) -> Option<PathBuf> {
    if dir.scope != Scope::Workspace {
        return None;
    }
    let up = match dir.kind {
        DirKind::Skillet | DirKind::AgentSkills => 2,
        DirKind::QSkills => 1,
        DirKind::Configured | DirKind::Packages => 0,
    };
    dir.path.ancestors().nth(up).map(Path::to_path_buf)
}

/// The skill file an entry of a skills directory stands for, if any.
fn skill_file_in(entry: &Path, name: &str, kind: DirKind, is_dir: bool) -> Option<PathBuf> {
    let is_json = name.ends_with(".json");
    match kind {
        DirKind::QSkills => (is_json && !is_dir).then(|| entry.to_path_buf()),
        DirKind::AgentSkills => {
            Some(entry.join(AGENT_SKILL_FILE)).filter(|f| is_dir && is_manifest(f))
        }
        // Packages are read through their receipts (`crate::packages`), never entry by entry.
        DirKind::Packages => None,
        DirKind::Skillet | DirKind::Configured if is_dir => skill_manifest(entry),
        DirKind::Skillet | DirKind::Configured => is_json.then(|| entry.to_path_buf()),
    }
}

/// The skill file of a skill folder: its `skill.json`, a JSON file named after the folder
/// (`x/x.json`), or its `SKILL.md`, the first that is there and not a directory. `None` when it holds none of
/// them (a skills directory, or not a skill at all).
///
/// Discovery and `skillet validate <folder>` both ask this, so a folder is a skill to both or to
/// neither.
pub fn skill_manifest(folder: &Path) -> Option<PathBuf> {
    let name = folder.file_name().and_then(|n| n.to_str());
    [
        Some(folder.join(PACKAGE_SKILL_FILE)),
        name.map(|n| folder.join(format!("{n}.json"))),
        Some(folder.join(AGENT_SKILL_FILE)),
    ]
    .into_iter()
    .flatten()
    .find(|f| is_manifest(f))
}

/// Whether a manifest is there: anything but a directory. A FIFO or a link to a device is
/// taken, so that loading reports why it cannot be read rather than the folder going quiet;
/// `stat` never opens it, so nothing blocks here.
fn is_manifest(file: &Path) -> bool {
    std::fs::metadata(file).is_ok_and(|m| !m.is_dir())
}

/// The skill file a path names: the manifest of a skill folder ([`skill_manifest`]), otherwise
/// the path itself.
pub fn skill_file(path: &Path) -> PathBuf {
    if path.is_dir()
        && let Some(file) = skill_manifest(path)
    {
        return file;
    }
    path.to_path_buf()
}
