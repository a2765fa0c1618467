//! Scanning one skills directory for candidate skill files.

use std::path::{Path, PathBuf};

use skillet_spec::{AGENT_SKILL_FILE, Diagnostic, PACKAGE_SKILL_FILE};

use crate::layout::{DirKind, SkillDir};

/// A file that should hold a skill.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The skill file.
    pub path: PathBuf,
    /// Warnings about how it was reached (symlinks leaving the directory).
    pub warnings: Vec<Diagnostic>,
}

/// Lists the skill files in `dir`, sorted by file name so results never depend on the file
/// system's order. A missing directory simply has none.
pub(crate) fn scan(dir: &SkillDir, warnings: &mut Vec<Diagnostic>) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir(&dir.path) else { return Vec::new() };
    let root = std::fs::canonicalize(&dir.path).unwrap_or_else(|_| dir.path.clone());
    let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.file_name()).collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let Some(name_str) = name.to_str() else {
            warnings.push(Diagnostic::warning(format!("skipped {}: the name is not UTF-8", dir.path.join(&name).display())));
            continue;
        };
        if name_str.starts_with('.') {
            continue;
        }
        let entry = dir.path.join(&name);
        let Some(file) = skill_file_in(&entry, name_str, dir.kind) else {
            if entry.is_dir() && matches!(dir.kind, DirKind::Skillet | DirKind::Configured) {
                warnings.push(
                    Diagnostic::warning(format!("{} holds no skill", entry.display()))
                        .with_hint(format!("a skill folder needs a {PACKAGE_SKILL_FILE} or a {AGENT_SKILL_FILE}")),
                );
            }
            continue;
        };
        let mut candidate = Candidate { path: file, warnings: Vec::new() };
        if let Ok(real) = std::fs::canonicalize(&candidate.path) {
            if !real.starts_with(&root) {
                candidate.warnings.push(
                    Diagnostic::warning(format!("follows a symlink out of {} to {}", dir.path.display(), real.display()))
                        .with_hint("make sure you trust the target; copy the skill in to silence this"),
                );
            }
        }
        out.push(candidate);
    }
    out
}

/// The skill file an entry of a skills directory stands for, if any.
fn skill_file_in(entry: &Path, name: &str, kind: DirKind) -> Option<PathBuf> {
    let is_json = name.ends_with(".json");
    match kind {
        DirKind::QSkills => (is_json && entry.is_file()).then(|| entry.to_path_buf()),
        DirKind::AgentSkills => Some(entry.join(AGENT_SKILL_FILE)).filter(|f| f.is_file()),
        DirKind::Skillet | DirKind::Configured => {
            if entry.is_file() {
                return is_json.then(|| entry.to_path_buf());
            }
            [entry.join(PACKAGE_SKILL_FILE), entry.join(format!("{name}.json")), entry.join(AGENT_SKILL_FILE)]
                .into_iter()
                .find(|f| f.is_file())
        }
    }
}
