//! What stays read-only inside a write grant, and what stays unreadable inside a readable tree.
//!
//! Inside every write grant: `.git` (and, when `.git` is a pointer file as in worktrees and
//! submodules, the git directory it names), the folders skillet discovers skills in,
//! `skillet.toml`, `.env*`, every configured skill directory and skillet's own directories. They are listed whether or not they
//! exist, so a skill cannot create them either. Inside every readable tree, `.env*` files,
//! known credential locations and skillet's history and configuration are masked.

use std::path::{Path, PathBuf};

use skillet_registry::{CONFIG_FILE, SKILL_FOLDERS};

use super::paths::{Boundaries, real_path};

/// How deep under a tree nested repositories and `.env` files are looked for.
pub(crate) const MAX_DEPTH: usize = 4;
/// How many directory entries one tree's walk looks at, at most.
const MAX_ENTRIES: usize = 20_000;
/// Directories not walked into: generated trees, large and never a project's own settings.
const SKIPPED: &[&str] = &["node_modules", "target", ".venv", "venv", "__pycache__"];

/// The paths to keep read-only under the write grant `root`.
pub(crate) fn protected_under(root: &Path, bounds: &Boundaries) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // Names are protected under directories only: nothing can be created inside a granted
    // file, and the file itself was checked against the protected list when it was granted.
    if !root.is_dir() {
        return out;
    }
    let mut push = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for dir in walk_dirs(root) {
        for name in [".git"].iter().chain(SKILL_FOLDERS).chain([&CONFIG_FILE]) {
            let path = dir.join(name);
            // Nested ones only where they exist; the top ones also before they exist.
            if dir == root || path.symlink_metadata().is_ok() {
                push(path);
            }
        }
        if let Some(gitdir) = pointed_gitdir(&dir.join(".git")) {
            push(gitdir);
        }
        for env in files_named(&dir, is_env_name) {
            push(env);
        }
        if dir == root {
            push(root.join(".env"));
        }
    }
    for own in &bounds.own {
        if own.starts_with(root) {
            push(own.clone());
        }
    }
    // Skill directories by their configured place, also before they exist: a run must not
    // plant a skill there (a global one is served in every workspace, trusted or not).
    for dir in &bounds.skill_dirs {
        if dir.starts_with(root) && !out.iter().any(|p| dir.starts_with(p)) {
            out.push(dir.clone());
        }
    }
    out
}

/// The paths to mask under the readable tree `root`: `.env*` files, credentials, skillet's
/// history and global configuration.
pub(crate) fn hidden_under(root: &Path, bounds: &Boundaries) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dirs = walk_dirs(root);
    for dir in &dirs {
        out.extend(entries_where(dir, is_masked));
    }
    out.extend(other_names(&dirs, &out));
    out.extend(bounds.credentials_under(root));
    if let Some(home) = bounds
        .home
        .as_ref()
        .filter(|h| h.starts_with(root) && *h != root)
    {
        out.extend(bounds.credentials_under(home));
    }
    for own in &bounds.own {
        // Global skills run from the configuration directory: its skill folders stay readable,
        // its settings (which may hold an API key) do not.
        let config = own.join(CONFIG_FILE);
        for masked in [own.join("skillet.db"), own.join("run"), config] {
            if masked.starts_with(root) && masked.symlink_metadata().is_ok() {
                out.push(masked);
            }
        }
        if own.starts_with(root) && !own.join("skills").is_dir() && own.exists() {
            out.push(own.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Other names (hard links) in `dirs` of the files in `masked` that have more than one: the
/// same file under an innocent name (`notes.txt` linked to `.env`) is masked with it.
fn other_names(dirs: &[PathBuf], masked: &[PathBuf]) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let linked: Vec<(u64, u64)> = masked
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .filter(|m| m.is_file() && m.nlink() > 1)
        .map(|m| (m.dev(), m.ino()))
        .collect();
    if linked.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(m) = entry.metadata() else { continue };
            if m.is_file() && linked.contains(&(m.dev(), m.ino())) {
                let path = entry.path();
                if !masked.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
    out
}

/// Environment files by the documented pattern `.env*`: `.env`, `.env.local`, direnv's `.envrc`.
pub(crate) fn is_env_name(name: &str) -> bool {
    name.starts_with(".env")
}

/// What is masked in a readable tree: environment files, and what holds credentials by
/// convention by its name or its place (the list context selection uses too, so a skill's
/// sandbox and a conversation's context agree: `credentials.json`, `*.tfstate`,
/// `.kube/config`, `.docker/config.json`, …), except certificates and keys known only by their
/// extension (`*.pem`, `*.key`): projects keep test fixtures so named, and skills run their
/// tests. A private key by its conventional name (`id_rsa`) stays masked.
fn is_masked(path: &Path) -> bool {
    const FIXTURE_EXTENSIONS: &[&str] = &["pem", "key", "crt", "cer", "p12", "pfx", "jks"];
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    if is_env_name(&name) {
        return true;
    }
    if !crate::is_secret_file(&path.to_string_lossy()) {
        return false;
    }
    let by_extension_only = name.rsplit_once('.').is_some_and(|(stem, ext)| {
        FIXTURE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
            && !crate::is_secret_file(stem)
    });
    !by_extension_only
}

/// The entries directly in `dir` whose path `wanted` accepts.
fn entries_where(dir: &Path, wanted: fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| wanted(p))
        .collect()
}

/// The entries directly in `dir` whose name `wanted` accepts.
fn files_named(dir: &Path, wanted: fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| wanted(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect()
}

/// `root` and the directories under it, not following symlinks, bounded in depth and size.
fn walk_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut frontier = vec![root.to_path_buf()];
    let mut seen = 0;
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for dir in frontier {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.filter_map(Result::ok) {
                seen += 1;
                if seen > MAX_ENTRIES {
                    return out;
                }
                let name = e.file_name();
                let skip = name == ".git" || SKIPPED.iter().any(|s| name == *s);
                if !skip && e.file_type().is_ok_and(|t| t.is_dir()) {
                    next.push(e.path());
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

/// The git directory a `.git` pointer file names (`gitdir: PATH`), resolved.
fn pointed_gitdir(dot_git: &Path) -> Option<PathBuf> {
    let meta = dot_git.symlink_metadata().ok()?;
    if meta.file_type().is_symlink() {
        return Some(real_path(dot_git));
    }
    if !meta.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(dot_git).ok()?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let base = dot_git.parent()?;
    Some(real_path(&base.join(target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_paths_are_listed_before_they_exist_and_through_pointers() {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        let (ws, main) = (root.join("wt"), root.join("main"));
        std::fs::create_dir_all(main.join(".git/worktrees/wt")).unwrap();
        std::fs::create_dir_all(ws.join("sub/inner/.git")).unwrap();
        std::fs::write(ws.join(".git"), "gitdir: ../main/.git/worktrees/wt\n").unwrap();
        std::fs::write(ws.join(".env.local"), "A=1").unwrap();
        let own = root.join("wt/cfg/skillet");
        let b = Boundaries::new(None, Some(&ws), std::slice::from_ref(&own));
        let p = protected_under(&ws, &b);
        for want in [
            ws.join(".git"),
            main.join(".git/worktrees/wt"),
            ws.join(".skillet"),
            ws.join(".claude"),
            ws.join(".agents"),
            ws.join(".q-skills"),
            ws.join("skillet.toml"),
            ws.join(".env"),
            ws.join(".env.local"),
            ws.join("sub/inner/.git"),
            own,
        ] {
            assert!(p.contains(&want), "{} missing from {p:?}", want.display());
        }
        assert!(!p.contains(&ws.join("sub/.skillet")), "{p:?}");
        let h = hidden_under(&ws, &b);
        assert_eq!(h, [ws.join(".env.local")]);
        // Another name of the same file is masked with it.
        std::fs::hard_link(ws.join(".env.local"), ws.join("sub/notes.txt")).unwrap();
        let h = hidden_under(&ws, &b);
        assert_eq!(h, [ws.join(".env.local"), ws.join("sub/notes.txt")]);
    }
}
