//! Rewriting a skill file of any supported format into the canonical format.

use std::path::{Path, PathBuf};

use crate::compat::SkillFormat;
use crate::diagnostic::Diagnostic;
use crate::load::{AGENT_SKILL_FILE, PACKAGE_SKILL_FILE, load_file};

/// A planned rewrite of one file.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The file read.
    pub source: PathBuf,
    /// The format it was in.
    pub format: SkillFormat,
    /// Where the canonical file goes: the same file, or `skill.json` beside a `SKILL.md`.
    pub target: PathBuf,
    /// The current text of `target` (empty when it does not exist yet).
    pub before: String,
    /// The canonical text.
    pub after: String,
    /// Everything noticed while converting.
    pub diagnostics: Vec<Diagnostic>,
}

impl Migration {
    /// Whether writing would change anything.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// Plans the migration of `path`. Fails, with the reasons, when the file cannot be converted
/// into a valid canonical skill: migrating must never turn a working file into a broken one.
pub fn migrate_file(path: &Path) -> Result<Migration, Vec<Diagnostic>> {
    let loaded = load_file(path);
    let Some(canonical) = loaded.canonical.filter(|_| loaded.spec.is_some()) else {
        return Err(loaded.diagnostics);
    };
    let target = if loaded.format == SkillFormat::AgentSkill {
        path.with_file_name(PACKAGE_SKILL_FILE)
    } else {
        path.to_path_buf()
    };
    debug_assert!(target.file_name().is_some_and(|n| n != AGENT_SKILL_FILE));
    let mut after = serde_json::to_string_pretty(&canonical).unwrap_or_default();
    after.push('\n');
    let before = std::fs::read_to_string(&target).unwrap_or_default();
    Ok(Migration {
        source: path.to_path_buf(),
        format: loaded.format,
        target,
        before,
        after,
        diagnostics: loaded.diagnostics,
    })
}
