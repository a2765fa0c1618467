//! Rewriting a skill file of any supported format into the canonical format.

use std::path::{Path, PathBuf};

use crate::compat::SkillFormat;
use crate::diagnostic::Diagnostic;
use crate::load::{AGENT_SKILL_FILE, PACKAGE_SKILL_FILE, Purpose, load_path};

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
    /// Everything noticed while converting: warnings say what was changed, errors what could
    /// not be repaired.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether `after` is a valid skill. When it is not, the errors in `diagnostics` say what a
    /// person still has to fix, and the file should not be written.
    pub complete: bool,
}

impl Migration {
    /// The problems that are left after the repairs.
    pub fn unrepaired(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Whether writing would change anything.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// Plans the migration of `path`, repairing what it can. Fails, with the reasons, only when the
/// file cannot be read or parsed at all. A migration that is not [`complete`](Migration::complete)
/// must not be written: migrating never turns a working file into a broken one, and the errors
/// left say what to fix by hand.
pub fn migrate_file(path: &Path) -> Result<Migration, Vec<Diagnostic>> {
    let loaded = load_path(path, Purpose::Migrate);
    let complete = loaded.spec.is_some();
    let Some(canonical) = loaded.canonical else {
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
    // What is there now, shown in the diff: read only when it is a regular file beside the
    // source (a `skill.json` planted as a link to a secret or a FIFO is shown as absent).
    let before = target
        .parent()
        .zip(target.file_name())
        .and_then(|(dir, name)| {
            crate::files::read_beneath(dir, Path::new(name), crate::MAX_SKILL_FILE_BYTES as u64)
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default();
    Ok(Migration {
        source: path.to_path_buf(),
        format: loaded.format,
        target,
        before,
        after,
        diagnostics: loaded.diagnostics,
        complete,
    })
}
