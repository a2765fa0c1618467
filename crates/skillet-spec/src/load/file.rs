//! Reading a skill file from disk, bounded and by handle, and handing its text to the parse.

use std::path::Path;

use super::{AGENT_SKILL_FILE, LoadedSkill, Purpose, load_json_for};
use crate::compat::SkillFormat;
use crate::diagnostic::Diagnostic;
use crate::limits::{MAX_SKILL_FILE_BYTES, MAX_SKILL_MD_BYTES};

/// Loads a skill file from disk: `SKILL.md` as an Agent Skill, anything else as JSON.
pub fn load_file(path: &Path) -> LoadedSkill {
    load_path(path, Purpose::Use)
}

/// Loads a skill file of a workspace: like [`load_file`], but the file is opened beneath `root`
/// and refused, unread, when a symbolic link leads it out (a cloned repository may ship
/// `x.json -> ~/.aws/credentials`).
pub fn load_file_within(path: &Path, root: &Path) -> LoadedSkill {
    load_path_within(path, Some(root), Purpose::Use)
}

/// [`load_file`] (or, with `within`, [`load_file_within`]), with the identity of the file the
/// skill was read from when it could be read: what a cache of loaded skills keys on.
pub fn load_file_identified(
    path: &Path,
    within: Option<&Path>,
) -> (LoadedSkill, Option<crate::files::FileIdentity>) {
    load_identified(path, within, Purpose::Use)
}

/// [`load_file`], for the given purpose.
pub(crate) fn load_path(path: &Path, purpose: Purpose) -> LoadedSkill {
    load_path_within(path, None, purpose)
}

fn load_path_within(path: &Path, within: Option<&Path>, purpose: Purpose) -> LoadedSkill {
    load_identified(path, within, purpose).0
}

fn load_identified(
    path: &Path,
    within: Option<&Path>,
    purpose: Purpose,
) -> (LoadedSkill, Option<crate::files::FileIdentity>) {
    match read_skill_file(path, within) {
        Err(failed) => (failed, None),
        Ok((text, read)) => (parse_skill_text(path, &text, purpose), Some(read)),
    }
}

/// The first half of [`load_file_identified`]: the text of the skill file at `path` (read as it
/// reads it: beneath `within` when given, bounded, a regular file, UTF-8) and the identity of
/// the file read; what the load is when it cannot be read. With [`load_skill_text`], the other
/// half, a caller can tell a file's text from what it last parsed before parsing it again.
pub fn read_skill_file(
    path: &Path,
    within: Option<&Path>,
) -> Result<(String, crate::files::FileIdentity), LoadedSkill> {
    let (is_md, format) = skill_format(path);
    read_limited(path, within, is_md).map_err(|d| {
        let mut failed = LoadedSkill::failed(format, d);
        for d in &mut failed.diagnostics {
            d.file = Some(path.to_path_buf());
        }
        failed
    })
}

/// The second half of [`load_file_identified`]: the skill that `text`, read from `path`,
/// loads to. The same text at the same path always loads to the same skill.
pub fn load_skill_text(path: &Path, text: &str) -> LoadedSkill {
    parse_skill_text(path, text, Purpose::Use)
}

fn skill_format(path: &Path) -> (bool, SkillFormat) {
    let is_md = path.file_name().is_some_and(|n| n == AGENT_SKILL_FILE);
    let format = if is_md {
        SkillFormat::AgentSkill
    } else {
        SkillFormat::Canonical
    };
    (is_md, format)
}

fn parse_skill_text(path: &Path, text: &str, purpose: Purpose) -> LoadedSkill {
    let (is_md, _) = skill_format(path);
    let mut loaded = if is_md {
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str());
        crate::skill_md::load_skill_md_in(text, folder)
    } else {
        load_json_for(text, path.parent(), purpose)
    };
    for d in &mut loaded.diagnostics {
        d.file = Some(path.to_path_buf());
    }
    loaded
}

/// Reads a skill file, refusing anything over [`MAX_SKILL_FILE_BYTES`] (a `SKILL.md`:
/// [`MAX_SKILL_MD_BYTES`]) by its size before reading it, and anything but a regular file (a
/// FIFO or `/dev/stdin` would block discovery forever). With `within`, the file is opened beneath
/// that directory and a link leading out of it is refused.
fn read_limited(
    path: &Path,
    within: Option<&Path>,
    is_md: bool,
) -> Result<(String, crate::files::FileIdentity), Diagnostic> {
    let limit = if is_md {
        MAX_SKILL_MD_BYTES
    } else {
        MAX_SKILL_FILE_BYTES
    } as u64;
    let read = match within {
        Some(root) => crate::files::read_beneath_identified(root, path, limit),
        None => crate::files::read_regular_identified(path, limit),
    };
    let (bytes, identity) = read.map_err(|e| match e {
        crate::files::FileError::TooLarge { size, .. } if is_md => crate::skill_md::too_large(size),
        crate::files::FileError::TooLarge { size, .. } => crate::json_source::too_large(size),
        e => Diagnostic::error(format!("cannot read the file: it {e}")),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(format!(
            "file is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
        .with_hint("save the file as UTF-8")
    })?;
    Ok((text, identity))
}
