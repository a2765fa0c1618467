//! Finding the skills of the packages installed in one scope, from their receipts.

use std::path::{Path, PathBuf};

use skillet_spec::{Diagnostic, PACKAGE_SKILL_FILE};

use super::check::integrity_error;
use super::{PackageReceipt, PackageRef};
use crate::discover::{Candidate, skill_manifest};
use crate::layout::{Scope, SkillDir};

/// Most package folders looked at in one scope.
const MAX_PACKAGES: usize = 10_000;

/// One package with a readable receipt.
struct Installed {
    dir: PathBuf,
    receipt: PackageReceipt,
}

/// The skills of every package installed in `dir` (a scope's `packages/` folder), at most
/// `room` of them, sorted by path, and how many more were left unread.
pub(crate) fn scan_packages(
    dir: &SkillDir,
    room: usize,
    warnings: &mut Vec<Diagnostic>,
) -> (Vec<Candidate>, usize) {
    let mut out = Vec::new();
    for pkg in installed(dir, warnings) {
        for rel in &pkg.receipt.skills {
            out.extend(candidate(dir, &pkg, rel, warnings));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    let unread = out.len().saturating_sub(room);
    out.truncate(room);
    (out, unread)
}

/// The skills named `name` (by their folder or file name, as a skills directory is searched)
/// among the packages installed in `dir`: what `skillet run NAME` reads, without loading every
/// package's skills.
pub(crate) fn named_in_packages(
    dir: &SkillDir,
    name: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for pkg in installed(dir, warnings) {
        for rel in &pkg.receipt.skills {
            let Some(clean) = clean_path(rel) else {
                continue;
            };
            if skill_name_of(&clean, &pkg.receipt.name) == name {
                out.extend(candidate(dir, &pkg, rel, warnings));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The packages of `dir` whose receipt can be read; the other folders are reported.
fn installed(dir: &SkillDir, warnings: &mut Vec<Diagnostic>) -> Vec<Installed> {
    let Ok(entries) = std::fs::read_dir(&dir.path) else {
        return Vec::new();
    };
    let mut entries: Vec<std::fs::DirEntry> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .take(MAX_PACKAGES)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            warnings.push(
                Diagnostic::warning(format!(
                    "ignored {}: installed packages are folders (a link or a file is not one)",
                    path.display()
                ))
                .with_hint("remove it, and install packages with `skillet install`"),
            );
            continue;
        }
        if let Some(why) = leaves_workspace(dir, &path) {
            warnings.push(
                Diagnostic::warning(format!("ignored {}: {why}", path.display()))
                    .with_hint("what skillet reads from a workspace stays in it; remove the link"),
            );
            continue;
        }
        match PackageReceipt::read(&path) {
            Ok(receipt)
                if Some(receipt.name.as_str()) == entry.file_name().to_str()
                    && skillet_spec::is_valid_skill_name(&receipt.name) =>
            {
                out.push(Installed { dir: path, receipt })
            }
            Ok(receipt) => warnings.push(
                Diagnostic::warning(format!(
                    "ignored {}: its receipt names package {:?}, not this folder's name or not a valid package name",
                    path.display(),
                    receipt.name
                ))
                .with_hint("reinstall the package, or remove the folder"),
            ),
            Err(e) => warnings.push(Diagnostic::warning(format!("ignored package: {e}"))),
        }
    }
    out
}

/// For a workspace package, why its folder is not read: it resolves out of the workspace (the
/// packages folder, or `.skillet`, is a link), since a repository decides where those lead.
fn leaves_workspace(dir: &SkillDir, package: &Path) -> Option<String> {
    if dir.scope != Scope::Workspace {
        return None;
    }
    let root = dir.path.ancestors().nth(2)?;
    let root = std::fs::canonicalize(root).ok()?;
    match std::fs::canonicalize(package) {
        Ok(real) if real.starts_with(&root) => None,
        Ok(real) => Some(format!(
            "it resolves to {}, outside the workspace {}",
            real.display(),
            root.display()
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// A receipt's skill path made plain (`./a/b/` -> `a/b`, `.` -> ``), or `None` when it could
/// lead out of the package or into a folder skillet keeps for itself.
fn clean_path(rel: &str) -> Option<String> {
    let trimmed = rel.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed.is_empty() || trimmed == "." {
        return Some(String::new());
    }
    if trimmed.starts_with('/') || trimmed.contains('\0') || trimmed.contains('\\') {
        return None;
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    let bad =
        |p: &&str| p.is_empty() || *p == "." || *p == ".." || *p == ".git" || *p == ".skillet";
    (!parts.iter().any(bad)).then(|| parts.join("/"))
}

/// The name a skill path answers to, as in a skills directory: its last part without `.json`,
/// or the package's name for a package that is one skill.
fn skill_name_of(clean: &str, package: &str) -> String {
    match clean.rsplit('/').next() {
        Some(last) if !last.is_empty() => last.strip_suffix(".json").unwrap_or(last).to_owned(),
        _ => package.to_owned(),
    }
}

/// The candidate for one skill of an installed package, its integrity checked.
fn candidate(
    dir: &SkillDir,
    pkg: &Installed,
    rel: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Option<Candidate> {
    let Some(clean) = clean_path(rel) else {
        warnings.push(
            Diagnostic::warning(format!(
                "ignored skill {rel:?} of package `{}` ({}): the path leaves the package or names a folder skillet keeps for itself",
                pkg.receipt.name,
                pkg.dir.display()
            ))
            .with_hint("reinstall the package"),
        );
        return None;
    };
    let at = if clean.is_empty() {
        pkg.dir.clone()
    } else {
        pkg.dir.join(&clean)
    };
    let path = skill_file_at(&at);
    let within = std::fs::canonicalize(&pkg.dir).unwrap_or_else(|_| pkg.dir.clone());
    let files = pkg.receipt.files_by_path();
    let mut problems = Vec::new();
    // The check covers the files under the skill's path as named; through a link they would
    // be other files, unchecked. Installs record resolved paths, so a link here was put later.
    if !clean.is_empty() && std::fs::canonicalize(&at).is_ok_and(|real| real != within.join(&clean))
    {
        problems.push(
            Diagnostic::error(format!(
                "package `{}`: {} is a symbolic link (or lies beneath one), which the install did not record as the skill's folder",
                pkg.receipt.name,
                at.display()
            ))
            .with_hint(super::check::CHANGE_HINT),
        );
    }
    if let Some(e) = integrity_error(&pkg.receipt.name, &pkg.dir, &clean, &files) {
        problems.push(e);
    }
    Some(Candidate {
        path,
        warnings: problems,
        within: Some(within),
        // Not cached: a package skill is checked against its receipt on every load anyway.
        canonical: None,
        package: Some(PackageRef {
            name: pkg.receipt.name.clone(),
            version: pkg.receipt.version.clone(),
            scope: dir.scope,
            dir: pkg.dir.clone(),
        }),
    })
}

/// The skill file a receipt's skill path stands for: a folder's manifest, or the path itself
/// (a skill file, or something missing, which loading then reports). A folder holding no
/// manifest names where one should be, so loading says it is missing.
fn skill_file_at(at: &Path) -> PathBuf {
    if at.is_dir() {
        skill_manifest(at).unwrap_or_else(|| at.join(PACKAGE_SKILL_FILE))
    } else {
        at.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_paths_stay_in_the_package() {
        assert_eq!(clean_path("./skills/pdf/").as_deref(), Some("skills/pdf"));
        assert_eq!(clean_path(".").as_deref(), Some(""));
        assert_eq!(clean_path("").as_deref(), Some(""));
        for bad in [
            "../x",
            "a/../../x",
            "/etc",
            "a//b",
            "a/./b",
            ".git/x",
            "a/.skillet",
            "a\\..\\b",
        ] {
            assert_eq!(clean_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_skill_answers_to_its_folder_or_file_name() {
        assert_eq!(skill_name_of("skills/pdf", "p"), "pdf");
        assert_eq!(skill_name_of("lint.json", "p"), "lint");
        assert_eq!(skill_name_of("", "p"), "p");
    }
}
