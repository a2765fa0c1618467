//! Paths a manifest or an index names: untrusted text until checked here.
//!
//! Two checks, in this order. [`normalize_relative`] is lexical and needs no files: it refuses
//! every spelling that could leave the package (absolute, `..`, a home path, a backslash, a
//! drive letter) or name `.git`/`.skillet`. [`resolve_skills`] then resolves each path on disk
//! (symbolic links included) and keeps it only when what it resolves to is still inside the
//! package's canonical root and is a skill.

use std::path::{Component, Path, PathBuf};

use skillet_registry::{MAX_DIR_ENTRIES, MAX_SKILL_FILES, skill_manifest};

use super::ManifestError;

/// Folder names a package path may never pass through, in any letter case (a case-insensitive
/// file system takes `.GIT` for `.git`).
const FORBIDDEN_COMPONENTS: &[&str] = &[".git", ".skillet"];

/// Checks a relative path from an untrusted file and returns it in one spelling: components
/// joined by `/`, without `.` or empty components. The package root itself is `""`.
///
/// The error says, in words, what is wrong with it.
pub(crate) fn normalize_relative(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("is empty: write a path relative to the package, such as `./skills/x`".into());
    }
    if raw.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if raw.contains('\\') {
        return Err("contains a backslash: separate folders with `/`".into());
    }
    if raw.starts_with('/') {
        return Err("is absolute: write it relative to the package, such as `./skills/x`".into());
    }
    if raw.starts_with('~') {
        return Err("starts with `~` (a home directory): write it relative to the package".into());
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("starts with a drive letter: write it relative to the package".into());
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err("contains `..`: a package may only name files inside itself".into());
            }
            p if FORBIDDEN_COMPONENTS
                .iter()
                .any(|f| p.eq_ignore_ascii_case(f)) =>
            {
                return Err(format!(
                    "passes through `{p}`, which a package may never name"
                ));
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The skills a list of paths names inside the package at `root` (canonical), each checked
/// lexically, then resolved on disk: a path that leads out of `root` (through a symbolic link),
/// into `.git`/`.skillet`, or to something that is not a skill is an error naming `listed_in`.
///
/// A path is a skill when it is a skill folder (`SKILL.md`, `skill.json` or `<name>/<name>.json`
/// inside), a `.json` skill file, or a `SKILL.md` file (its folder is the skill). A folder that
/// is none of these is a folder of skills: each skill directly inside it counts. The package
/// root itself, when it is the skill, is `"."`.
pub(crate) fn resolve_skills(
    root: &Path,
    listed: &[String],
    package: &str,
    listed_in: &str,
) -> Result<Vec<String>, ManifestError> {
    let mut found = Vec::new();
    for raw in listed {
        let bad = |problem: String| ManifestError::SkillPath {
            package: package.to_owned(),
            listed_in: listed_in.to_owned(),
            path: raw.clone(),
            problem,
        };
        let rel = normalize_relative(raw).map_err(bad)?;
        let target = resolve_inside(root, &rel).map_err(bad)?;
        let before = found.len();
        if target.is_dir() {
            if let Some(manifest) = skill_manifest(&target) {
                resolve_inside(root, &relative_to(root, &manifest)).map_err(bad)?;
                found.push(skill_id(root, &target));
            } else {
                skills_in(root, &target, &mut found).map_err(bad)?;
                if found.len() == before {
                    return Err(bad(
                        "holds no skill (no folder with a SKILL.md or skill.json in it)".into(),
                    ));
                }
            }
        } else if target
            .file_name()
            .is_some_and(|n| n == skillet_spec::AGENT_SKILL_FILE)
        {
            let folder = target.parent().unwrap_or(root);
            found.push(skill_id(root, folder));
        } else if target.extension().is_some_and(|e| e == "json") {
            found.push(skill_id(root, &target));
        } else {
            return Err(bad(
                "is a file that is not a skill: name a skill folder, a SKILL.md or a .json skill file".into(),
            ));
        }
        if found.len() > MAX_SKILL_FILES {
            return Err(bad(format!(
                "brings the package past {MAX_SKILL_FILES} skills, the most skillet loads"
            )));
        }
    }
    dedup_in_order(&mut found);
    Ok(found)
}

/// The skills directly inside the folder `skills/` of the package at `root` (canonical): what a
/// package that lists none contains. Empty when there is no such folder.
pub(crate) fn default_skills(
    root: &Path,
    package: &str,
    listed_in: &str,
) -> Result<Vec<String>, ManifestError> {
    let dir = root.join("skills");
    // A `skills` that is a link or a file is not the default folder: only a real folder is
    // looked into, so a link cannot make the default reach outside.
    if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    skills_in(root, &dir, &mut found).map_err(|problem| ManifestError::SkillPath {
        package: package.to_owned(),
        listed_in: listed_in.to_owned(),
        path: "skills/".into(),
        problem,
    })?;
    Ok(found)
}

/// Adds each skill directly inside `dir` to `found`, in name order. An entry whose resolved
/// location leaves `root` is an error, not skipped: a package that tries it is refused whole.
fn skills_in(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot be listed: {e}"))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot be listed: {e}"))?;
        names.push(entry.file_name());
        if names.len() > MAX_DIR_ENTRIES {
            return Err(format!("has more than {MAX_DIR_ENTRIES} entries"));
        }
    }
    names.sort();
    for name in names {
        let Some(text) = name.to_str() else { continue };
        if text.starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        let is_dir = path.is_dir();
        let is_skill = if is_dir {
            skill_manifest(&path).is_some()
        } else {
            text.ends_with(".json")
        };
        if !is_skill {
            continue;
        }
        let rel = relative_to(root, &path);
        let target = resolve_inside(root, &rel).map_err(|p| format!("has `{text}`, which {p}"))?;
        if is_dir && let Some(manifest) = skill_manifest(&target) {
            resolve_inside(root, &relative_to(root, &manifest))
                .map_err(|p| format!("has `{text}`, whose skill file {p}"))?;
        }
        found.push(skill_id(root, &target));
    }
    Ok(())
}

/// Resolves `rel` (already normalised) beneath `root` (canonical) and returns where it leads,
/// refusing what does not exist, what leaves `root`, and what lands in `.git`/`.skillet`.
pub(crate) fn resolve_inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let joined = root.join(rel);
    let target = match std::fs::canonicalize(&joined) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("does not exist in the package".into());
        }
        Err(e) => return Err(format!("cannot be resolved: {e}")),
    };
    let Ok(inside) = target.strip_prefix(root) else {
        return Err(format!(
            "leaves the package (it resolves to {}); a package may only name files inside itself",
            target.display()
        ));
    };
    for c in inside.components() {
        if let Component::Normal(part) = c
            && let Some(part) = part.to_str()
            && FORBIDDEN_COMPONENTS
                .iter()
                .any(|f| part.eq_ignore_ascii_case(f))
        {
            return Err(format!(
                "resolves into `{part}` (through a symbolic link), which a package may never name"
            ));
        }
    }
    Ok(target)
}

/// `path` relative to `root`, `/`-separated (`""` for the root itself).
fn relative_to(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => p.to_str(),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// How a skill is recorded in a manifest: its path relative to the root, `"."` for the root.
fn skill_id(root: &Path, path: &Path) -> String {
    let rel = relative_to(root, path);
    if rel.is_empty() { ".".into() } else { rel }
}

/// Removes repeated entries, keeping the first of each.
pub(crate) fn dedup_in_order(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|s| seen.insert(s.clone()));
}

#[cfg(test)]
mod tests {
    use super::normalize_relative;

    #[test]
    fn spellings_of_the_same_path_agree() {
        for raw in [
            "skills/x",
            "./skills/x",
            "skills//x/",
            "./skills/./x",
            "skills/x/.",
        ] {
            assert_eq!(normalize_relative(raw).as_deref(), Ok("skills/x"), "{raw}");
        }
        assert_eq!(normalize_relative("./").as_deref(), Ok(""));
        assert_eq!(normalize_relative(".").as_deref(), Ok(""));
    }

    #[test]
    fn hostile_spellings_are_refused() {
        for raw in [
            "",
            "..",
            "../x",
            "./../x",
            "skills/../../x",
            "skills/..",
            "/etc",
            "//etc",
            "~/x",
            "~root/x",
            "..\\x",
            "skills\\..\\..\\x",
            "C:/x",
            "c:x",
            ".git",
            "./.git/hooks",
            "x/.GIT",
            ".skillet/x",
            "x/.Skillet",
            "x\0y",
            "x\ny",
        ] {
            assert!(normalize_relative(raw).is_err(), "{raw:?} was accepted");
        }
    }
}
