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
}

/// Lists the skill files in `dir`, sorted by file name so results never depend on the file
/// system's order. A missing directory simply has none.
pub(crate) fn scan(dir: &SkillDir, warnings: &mut Vec<Diagnostic>) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir(&dir.path) else {
        return Vec::new();
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else {
            warnings.push(Diagnostic::warning(format!(
                "skipped {}: the name is not UTF-8",
                dir.path.join(&name).display()
            )));
            continue;
        };
        if name_str.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // The file type from the directory listing costs no system call; only links need more.
        let link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let is_dir = if link {
            path.is_dir()
        } else {
            entry.file_type().is_ok_and(|t| t.is_dir())
        };
        let Some(file) = skill_file_in(&path, name_str, dir.kind, is_dir) else {
            if is_dir && matches!(dir.kind, DirKind::Skillet | DirKind::Configured) {
                warnings.push(
                    Diagnostic::warning(format!("{} holds no skill", path.display())).with_hint(
                        format!(
                            "a skill folder needs a {PACKAGE_SKILL_FILE} or a {AGENT_SKILL_FILE}"
                        ),
                    ),
                );
            }
            continue;
        };
        let mut candidate = Candidate {
            path: file,
            warnings: Vec::new(),
            within: workspace_bound(dir),
        };
        let manifest_link = is_dir
            && std::fs::symlink_metadata(&candidate.path).is_ok_and(|m| m.file_type().is_symlink());
        if link || manifest_link {
            let real =
                std::fs::canonicalize(&candidate.path).unwrap_or_else(|_| candidate.path.clone());
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
        out.push(candidate);
    }
    out
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
        DirKind::Configured => 0,
    };
    dir.path.ancestors().nth(up).map(Path::to_path_buf)
}

/// The skill file an entry of a skills directory stands for, if any.
fn skill_file_in(entry: &Path, name: &str, kind: DirKind, is_dir: bool) -> Option<PathBuf> {
    let is_json = name.ends_with(".json");
    match kind {
        DirKind::QSkills => (is_json && !is_dir).then(|| entry.to_path_buf()),
        DirKind::AgentSkills => {
            Some(entry.join(AGENT_SKILL_FILE)).filter(|f| is_dir && f.is_file())
        }
        DirKind::Skillet | DirKind::Configured => {
            if !is_dir {
                return is_json.then(|| entry.to_path_buf());
            }
            [
                entry.join(PACKAGE_SKILL_FILE),
                entry.join(format!("{name}.json")),
                entry.join(AGENT_SKILL_FILE),
            ]
            .into_iter()
            .find(|f| f.is_file())
        }
    }
}
