//! The file system part of a policy: what a run reads, writes, must not change and must not see,
//! every path resolved before a rule is derived from it.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use skillet_sandbox::FsPolicy;
use skillet_spec::SkillSpec;

use super::grants::{self, Access, inode};
use super::paths::{Boundaries, lexical, real_path};
use super::protected::{MAX_ENTRIES, hidden_under, is_git_settings, protected_under};
use super::toolchain::toolchain;
use super::{PolicyContext, PolicyError};

/// The file system policy of one run, and the program's real path when the sandbox must run
/// that instead of the name it was found under.
pub(crate) struct FsPlan {
    pub fs: FsPolicy,
    pub program: Option<PathBuf>,
}

pub(crate) fn plan_fs(
    spec: &SkillSpec,
    skill_dir: &Path,
    program: &str,
    ctx: &PolicyContext,
    warnings: &mut Vec<String>,
) -> Result<FsPlan, PolicyError> {
    let mut bounds = Boundaries::new(
        ctx.home.as_deref(),
        ctx.workspace.as_deref(),
        &ctx.protected,
    );
    // Each skill directory by its real path, and by its own name when that is a link: a run
    // that can replace the link could point the user's skill directory at its own files.
    for dir in &ctx.skill_dirs {
        let named = match (dir.path.parent(), dir.path.file_name()) {
            (Some(parent), Some(name)) => real_path(parent).join(name),
            _ => real_path(&dir.path),
        };
        for p in [named, real_path(&dir.path)] {
            if !bounds.skill_dirs.contains(&p) {
                bounds.skill_dirs.push(p);
            }
        }
    }
    // Relative grants typed for this run start where the run starts, when that lies in the
    // workspace; configured grants and the skill's asks start at the workspace root.
    let base = ctx.dir.as_deref().map(real_path).filter(|d| {
        bounds
            .workspace
            .as_ref()
            .is_some_and(|ws| d.starts_with(ws))
    });
    let base = base.as_deref();
    let mut fs = FsPolicy::default();
    fs.read.extend(bounds.workspace.iter().cloned());
    fs.read.push(skill_folder(spec, skill_dir, ctx, &bounds)?);
    let readable = fs.read.clone();
    // An interpreter installed outside the system directories must be visible to run at all;
    // its installation is code, not user data, and only as much of it as running needs.
    let tool = toolchain(program, &spec.args, &bounds, &readable);
    fs.read.extend(tool.read);

    let grant = &ctx.grant;
    let mut exact = Vec::new();
    let mut typed_write = Vec::new();
    let mut granted_reads = Vec::new();
    let (reads_from, writes_from) = ctx.flags_from;
    for (i, typed) in grant.read.iter().enumerate() {
        let base = base.filter(|_| i >= reads_from);
        if let Some(r) = grants::resolve(typed, Access::Read, &bounds, base, warnings)? {
            if r.exact {
                exact.push(r.path.clone());
            }
            granted_reads.push(r.path);
        }
    }
    fs.read.extend(granted_reads.iter().cloned());
    // What stays read-only is known before any write grant is checked against it.
    let mut guarded: Vec<PathBuf> = bounds.own.clone();
    guarded.extend(bounds.skill_dirs.iter().cloned());
    // Walking the workspace costs; only write grants are checked against it, and it is walked
    // once for them all.
    let ws_protected = match bounds.workspace.as_ref() {
        Some(ws) if !grant.write.is_empty() => protected_under(ws, &bounds)?,
        _ => Vec::new(),
    };
    guarded.extend(ws_protected.iter().cloned());
    // Only a write grant can reach a hard link to one of them: without one, nothing is walked
    // (the runtime and data directories hold every live run's and session's files).
    let guarded_files = if grant.write.is_empty() {
        Vec::new()
    } else {
        files_of(&guarded)?
    };
    for (i, typed) in grant.write.iter().enumerate() {
        let base = base.filter(|_| i >= writes_from);
        let Some(r) = grants::resolve(typed, Access::Write, &bounds, base, warnings)? else {
            continue;
        };
        // A protected name a link led to counts, in whichever tree it lies (names the user
        // typed are the user's: a workspace may itself live under `~/.claude`).
        let common = r
            .path
            .components()
            .zip(r.typed.components())
            .take_while(|(a, b)| a == b)
            .count();
        let named = r
            .path
            .ancestors()
            .filter(|a| a.components().count() > common)
            .find(|a| {
                a.file_name()
                    .is_some_and(|n| is_protected_name(&n.to_string_lossy()))
            });
        let reached = guarded
            .iter()
            .map(PathBuf::as_path)
            .chain(named)
            .find(|p| !r.exact && r.path.starts_with(p))
            .map(Path::to_path_buf);
        if let Some(protected) = reached {
            return Err(PolicyError::Protected {
                typed: typed.clone(),
                real: r.path,
                protected,
            });
        }
        let id = inode(&r.path).filter(|_| r.path.is_file());
        let linked = guarded_files
            .iter()
            .find(|(p, i, _)| Some(*i) == id && *p != r.path);
        if let Some((p, _, _)) = linked {
            return Err(PolicyError::HardLink {
                typed: typed.clone(),
                real: r.path,
                protected: p.clone(),
            });
        }
        if r.exact {
            exact.push(r.path.clone());
        }
        typed_write.push(lexical_grant(typed, &bounds, base));
        fs.write.push(r.path);
    }

    for w in &fs.write {
        let holds_ws = bounds
            .workspace
            .as_ref()
            .is_some_and(|ws| ws.starts_with(w));
        // The workspace's own list was made above; a grant of the workspace itself adds nothing.
        let mut under = if bounds.workspace.as_ref() == Some(w) {
            Vec::new()
        } else {
            protected_under(w, &bounds)?
        };
        if holds_ws {
            under.extend(ws_protected.iter().cloned());
        }
        for p in under {
            if !fs.read_only.contains(&p) {
                fs.read_only.push(p);
            }
        }
        // `.env*` is a pattern no list can name before it exists: a workspace a grant holds
        // takes no new entries at its top (the sandbox's `sealed`).
        if let Some(ws) = bounds.workspace.as_ref().filter(|ws| ws.starts_with(w))
            && !fs.sealed.contains(ws)
        {
            fs.sealed.push(ws.clone());
            warnings.push(format!(
                "the write grant {} holds the workspace root {}: files and folders in it can be \
                 changed, but no entry can be created, renamed or removed directly in the root \
                 (so that .env*, .git and skill folders cannot be planted); grant the folder the \
                 skill writes to instead, e.g. --allow-write ./out",
                w.display(),
                ws.display()
            ));
        }
    }
    for own in &bounds.own {
        if !fs.read_only.contains(own) {
            fs.read_only.push(own.clone());
        }
    }
    // A file in a granted folder may be another name of a guarded one (a hard link made
    // before the run, `shared/x` to `.git/hooks/pre-commit`): it stays read-only with it.
    // Looked for only when a guarded file has another name at all, which is rare.
    let linked: Vec<(u64, u64)> = guarded_files
        .iter()
        .filter(|(_, _, names)| *names > 1)
        .map(|(_, id, _)| *id)
        .collect();
    if !linked.is_empty() {
        for p in other_names(&fs.write, &linked)? {
            if !fs.read_only.iter().any(|r| p.starts_with(r)) {
                fs.read_only.push(p);
            }
        }
    }
    // A path the user granted by its exact name is theirs to write.
    fs.read_only
        .retain(|p| !exact.contains(p) || !fs.write.contains(p));
    let mut trees: Vec<PathBuf> = readable
        .iter()
        .chain(&granted_reads)
        .chain(&fs.write)
        .filter(|p| p.is_dir())
        .cloned()
        .collect();
    trees.sort();
    trees.dedup();
    // A tree inside another is walked with it, whole (the skill's folder inside the
    // workspace).
    let walked = |t: &PathBuf| trees.iter().any(|o| o != t && t.starts_with(o));
    for tree in trees.iter().filter(|t| !walked(t)) {
        for p in hidden_under(tree, &bounds)? {
            if !exact.contains(&p) && !fs.hidden.contains(&p) {
                fs.hidden.push(p);
            }
        }
    }

    // skillet's own files outside its directories (the store's password file) are masked
    // wherever they are, the system directories included: no grant or tree reaches them.
    let own_files: Vec<PathBuf> = bounds.own.iter().filter(|p| p.is_file()).cloned().collect();
    for own in &own_files {
        if !fs.hidden.contains(own) {
            fs.hidden.push(own.clone());
        }
    }
    // And by any other name it has in what the run can reach (a hard link in the workspace):
    // looked for only when such a file has another name at all.
    let own_linked: Vec<(u64, u64)> = files_of(&own_files)?
        .into_iter()
        .filter(|(_, _, names)| *names > 1)
        .map(|(_, id, _)| id)
        .collect();
    if !own_linked.is_empty() {
        for p in other_names(&trees, &own_linked)? {
            if !fs.hidden.contains(&p) {
                fs.hidden.push(p);
            }
        }
    }
    // A path inside a masked one is masked with it.
    let all_hidden = fs.hidden.clone();
    fs.hidden
        .retain(|p| !all_hidden.iter().any(|q| q != p && p.starts_with(q)));
    // Git cannot run without opening its settings: they read as empty.
    fs.emptied = fs
        .hidden
        .iter()
        .filter(|p| is_git_settings(p) && p.is_file())
        .cloned()
        .collect();

    let flag = format!(
        "--allow-write PATH or {}",
        ctx.grant_hint(&spec.name, "write = [...]")
    );
    let asked = spec
        .security
        .as_ref()
        .and_then(|s| s.permissions.clone())
        .unwrap_or_default();
    for path in &asked.file_write {
        let want = lexical_grant(path, &bounds, None);
        let real = real_path(&want);
        if !typed_write.contains(&want) && !fs.write.contains(&real) {
            warnings.push(format!("asks to write {path}: not granted ({flag})"));
        }
    }
    for path in &asked.file_read {
        let p = real_path(&lexical_grant(path, &bounds, None));
        if !fs.read.iter().chain(&fs.write).any(|r| p.starts_with(r)) {
            warnings.push(format!(
                "asks to read {path}: not granted (--allow-read PATH or {})",
                ctx.grant_hint(&spec.name, "read = [...]")
            ));
        }
    }
    Ok(FsPlan {
        fs,
        program: tool.program,
    })
}

/// The real form of the skill's folder, which the run reads. A folder outside the workspace is
/// only read when it lies in one of the user's global skill directories (as discovered, before
/// the user's own links are followed): a workspace skill whose folder is a symlink out of the
/// workspace, or in a workspace `skill_dirs` entry elsewhere, would make whatever directory it
/// names readable (`/tmp`, another user's files), so its run is refused.
fn skill_folder(
    spec: &SkillSpec,
    skill_dir: &Path,
    ctx: &PolicyContext,
    bounds: &Boundaries,
) -> Result<PathBuf, PolicyError> {
    let real = real_path(skill_dir);
    let Some(ws) = bounds.workspace.as_ref() else {
        return Ok(real);
    };
    let plain = !skill_dir
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir));
    // Named inside the workspace, it is the repository's, whatever else it lies in.
    let users = plain
        && !skill_dir.starts_with(ws)
        && ctx
            .skill_dirs
            .iter()
            .filter(|d| d.scope == skillet_registry::Scope::Global)
            .any(|d| skill_dir.starts_with(&d.path));
    if real.starts_with(ws) || users {
        return Ok(real);
    }
    Err(PolicyError::SkillFolder {
        skill: spec.name.clone(),
        dir: skill_dir.to_path_buf(),
        real,
        workspace: ws.clone(),
    })
}

/// Whether a file or directory of this name stays read-only wherever it is.
fn is_protected_name(name: &str) -> bool {
    name == ".git"
        || name == skillet_registry::CONFIG_FILE
        || skillet_registry::SKILL_FOLDERS.contains(&name)
        || super::protected::is_env_name(name)
}

/// A grant as typed, made absolute without resolving anything (a relative one from `base`,
/// else the workspace): for comparing asks and grants.
fn lexical_grant(typed: &str, bounds: &Boundaries, base: Option<&Path>) -> PathBuf {
    let base = base
        .map(Path::to_path_buf)
        .or_else(|| bounds.workspace.clone())
        .unwrap_or_else(|| PathBuf::from("/"));
    match (typed.strip_prefix("~/"), &bounds.home) {
        (Some(rest), Some(home)) => lexical(&home.join(rest)),
        _ => lexical(&base.join(typed)),
    }
}

/// A file, its `(device, inode)`, and how many names it has.
type FileAt = (PathBuf, (u64, u64), u64);

/// The files in the directories `trees` that are another name of one of the files `ids`
/// (walked as [`files_of`] walks, with its bound).
fn other_names(trees: &[PathBuf], ids: &[(u64, u64)]) -> Result<Vec<PathBuf>, PolicyError> {
    Ok(files_of(trees)?
        .into_iter()
        .filter(|(_, id, names)| *names > 1 && ids.contains(id))
        .map(|(path, _, _)| path)
        .collect())
}

/// The files among `paths`, and all those inside the directories among them, by inode: a
/// hard link elsewhere to one of them is the same file. Past [`MAX_ENTRIES`] entries the run
/// is refused: a file not looked at could be linked to unnoticed.
fn files_of(paths: &[PathBuf]) -> Result<Vec<FileAt>, PolicyError> {
    let mut out = Vec::new();
    let mut seen = 0;
    let mut frontier: Vec<(PathBuf, bool)> = paths.iter().map(|p| (p.clone(), true)).collect();
    while let Some((p, top)) = frontier.pop() {
        // The guarded paths themselves as they resolve; nothing inside followed.
        let meta = if top {
            std::fs::metadata(&p)
        } else {
            std::fs::symlink_metadata(&p)
        };
        let Ok(meta) = meta else { continue };
        if meta.is_file() {
            out.push((p, (meta.dev(), meta.ino()), meta.nlink()));
        } else if meta.is_dir() && !p.ends_with(".git/objects") {
            // Git's objects are many, content-addressed and never run: not walked.
            for entry in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                seen += 1;
                if seen > MAX_ENTRIES {
                    return Err(PolicyError::TooLarge {
                        tree: p,
                        entries: MAX_ENTRIES,
                    });
                }
                frontier.push((entry.path(), false));
            }
        }
    }
    Ok(out)
}
