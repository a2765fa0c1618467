//! What stays read-only inside a write grant, and what stays unreadable inside a readable tree.
//!
//! Inside every write grant: `.git` (and, when `.git` is a pointer file as in worktrees and
//! submodules, the git directory it names), the folders skillet discovers skills in,
//! `skillet.toml`, `.env*`, every configured skill directory and skillet's own directories.
//! They are listed whether or not they exist, so a skill cannot create them either. Inside
//! every readable tree: `.env*` files, known credential files and locations, git's settings
//! (`.git/config`, which may hold a token), every socket, and skillet's own files but its
//! skill and package folders are masked. Trees are walked whole, at any depth; a tree too
//! large to walk is refused, never partly walked.

use std::fs::FileType;
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};

use skillet_registry::{CONFIG_FILE, SKILL_FOLDERS};

use super::PolicyError;
use super::paths::{Boundaries, real_path};

/// How many entries one tree's walk looks at, at most. There is no bound on depth: a masked or
/// protected name is found wherever it lies, and a tree too large to walk is refused rather
/// than partly walked (what was not looked at would not be masked).
pub(crate) const MAX_ENTRIES: usize = 1_000_000;

/// The paths to keep read-only under the write grant `root`.
pub(crate) fn protected_under(
    root: &Path,
    bounds: &Boundaries,
) -> Result<Vec<PathBuf>, PolicyError> {
    let mut out = Vec::new();
    // Names are protected under directories only: nothing can be created inside a granted
    // file, and the file itself was checked against the protected list when it was granted.
    if !root.is_dir() {
        return Ok(out);
    }
    let mut push = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    // `.git` is read-only whole: nothing inside it needs listing.
    let mut envs = Vec::new();
    let dirs = walk(root, false, |path, name, _| {
        if is_env_name(name) {
            envs.push(path.to_path_buf());
        }
    })?;
    for dir in dirs {
        for name in [".git"].iter().chain(SKILL_FOLDERS).chain([&CONFIG_FILE]) {
            let path = dir.join(name);
            // Nested ones only where they exist; the top ones also before they exist.
            if dir == root || path.symlink_metadata().is_ok() {
                push(path);
            }
        }
        // A worktree's git directory, and the repository it shares hooks and settings with
        // (its `commondir`: the main `.git`, or a bare repository), which git runs from there.
        if let Some(gitdir) = pointed_gitdir(&dir.join(".git")) {
            if let Some(common) = common_dir(&gitdir) {
                push(common);
            }
            push(gitdir);
        }
        if dir == root {
            push(root.join(".env"));
        }
    }
    for env in envs {
        push(env);
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
    Ok(out)
}

/// The paths to mask under the readable tree `root`: `.env*` files, credentials (git's
/// configuration among them), host sockets, skillet's own history and configuration.
pub(crate) fn hidden_under(root: &Path, bounds: &Boundaries) -> Result<Vec<PathBuf>, PolicyError> {
    let mut out = Vec::new();
    let mut pointers = Vec::new();
    let dirs = walk(root, true, |path, name, kind| {
        // A socket is a door to whatever listens on it (a git fsmonitor daemon, a database):
        // read-only binds do not stop `connect`, a mount over it does.
        if kind.is_socket() || is_masked(path) || is_git_secret(path) {
            out.push(path.to_path_buf());
        } else if name == ".git" && kind.is_file() {
            pointers.push(path.to_path_buf());
        }
    })?;
    // A worktree's or submodule's `.git` file names its git directory elsewhere: its settings
    // and the main repository's are masked too, wherever they are seen.
    for pointer in pointers {
        if let Some(gitdir) = pointed_gitdir(&pointer) {
            out.extend(git_settings(&gitdir));
            out.extend(common_dir(&gitdir).iter().flat_map(|c| git_settings(c)));
        }
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
        if !own.starts_with(root) || !own.exists() {
            continue;
        }
        // Global skills and packages run from the configuration directory: their folders
        // stay readable; everything else in skillet's own directories (settings that may hold
        // an API key, marketplaces.toml and skillet.lock whose git URLs may carry a token,
        // history, sockets) does not.
        let runs_from = |name: &std::ffi::OsStr| {
            name == "skills" || name == skillet_registry::packages::PACKAGES_DIR
        };
        let entries: Vec<_> = std::fs::read_dir(own)
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        if !entries.iter().any(|e| runs_from(&e.file_name())) {
            out.push(own.clone());
            continue;
        }
        out.extend(
            entries
                .iter()
                .filter(|e| !runs_from(&e.file_name()))
                .map(std::fs::DirEntry::path),
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The settings files of the git directory `gitdir` that exist: they may hold tokens.
fn git_settings(gitdir: &Path) -> Vec<PathBuf> {
    ["config", "config.worktree"]
        .iter()
        .map(|n| gitdir.join(n))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

/// Whether a masked `path` is one of git's settings files, which git must be able to open:
/// masked as an empty file rather than an unreadable one.
pub(crate) fn is_git_settings(path: &Path) -> bool {
    is_git_secret(path)
        && path
            .file_name()
            .is_some_and(|n| n == "config" || n == "config.worktree")
}

/// Git's files that may hold credentials: a repository's `config` (actions/checkout's
/// `http.extraheader`, remotes like `https://x-access-token:…@`), `config.worktree`, and
/// anything named like a credential, in any `.git` directory (submodules' under
/// `.git/modules`) or bare repository (`NAME.git`).
fn is_git_secret(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    let in_git = path.parent().is_some_and(|p| {
        p.iter().any(|c| {
            let c = c.to_string_lossy();
            c == ".git" || c.ends_with(".git")
        })
    });
    in_git
        && (name == "config"
            || name == "config.worktree"
            || name.to_ascii_lowercase().contains("credential"))
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

/// `root` and every directory under it, not following symlinks; `visit` sees every entry
/// (its path, name and type). `.git` directories are entered only `into_git`. Past
/// [`MAX_ENTRIES`] entries the walk stops with an error: what it did not look at cannot be
/// masked, so the run is refused.
fn walk(
    root: &Path,
    into_git: bool,
    visit: impl FnMut(&Path, &str, FileType),
) -> Result<Vec<PathBuf>, PolicyError> {
    walk_bounded(root, into_git, MAX_ENTRIES, visit)
}

/// [`walk`] with its bound given.
fn walk_bounded(
    root: &Path,
    into_git: bool,
    max_entries: usize,
    mut visit: impl FnMut(&Path, &str, FileType),
) -> Result<Vec<PathBuf>, PolicyError> {
    let mut out = vec![root.to_path_buf()];
    let mut next = 0;
    let mut seen = 0usize;
    while let Some(dir) = out.get(next).cloned() {
        next += 1;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > max_entries {
                return Err(PolicyError::TooLarge {
                    tree: root.to_path_buf(),
                    entries: max_entries,
                });
            }
            let Ok(kind) = e.file_type() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            let path = e.path();
            visit(&path, &name, kind);
            if kind.is_dir() && (into_git || name != ".git") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The repository a worktree's git directory `gitdir` shares (its `commondir` file), resolved.
fn common_dir(gitdir: &Path) -> Option<PathBuf> {
    let common = std::fs::read_to_string(gitdir.join("commondir")).ok()?;
    Some(real_path(&gitdir.join(common.trim())))
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
        std::fs::write(main.join(".git/worktrees/wt/commondir"), "../..\n").unwrap();
        std::fs::create_dir_all(ws.join("sub/inner/.git")).unwrap();
        std::fs::write(ws.join(".git"), "gitdir: ../main/.git/worktrees/wt\n").unwrap();
        std::fs::write(ws.join(".env.local"), "A=1").unwrap();
        let own = root.join("wt/cfg/skillet");
        let b = Boundaries::new(None, Some(&ws), std::slice::from_ref(&own));
        let p = protected_under(&ws, &b).unwrap();
        for want in [
            ws.join(".git"),
            main.join(".git/worktrees/wt"),
            // The shared repository, whose hooks git runs in the worktree.
            main.join(".git"),
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
        let h = hidden_under(&ws, &b).unwrap();
        assert_eq!(h, [ws.join(".env.local")]);
        // Another name of the same file is masked with it.
        std::fs::hard_link(ws.join(".env.local"), ws.join("sub/notes.txt")).unwrap();
        let h = hidden_under(&ws, &b).unwrap();
        assert_eq!(h, [ws.join(".env.local"), ws.join("sub/notes.txt")]);
    }

    #[test]
    fn masked_names_are_found_at_any_depth_and_git_settings_with_them() {
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        let deep = ws.join("a/b/c/d/e/f/g");
        std::fs::create_dir_all(&deep).unwrap();
        let secrets = [
            ws.join("a/b/c/d/e/.env"),
            ws.join("a/b/c/d/e/id_rsa"),
            deep.join("credentials.json"),
            ws.join("node_modules/pkg/.env.local"),
            ws.join("target/debug/.envrc"),
            ws.join(".git/config"),
            ws.join(".git/modules/sub/config"),
            ws.join(".git/git-credentials-cache"),
            deep.join("inner/.git/config"),
            deep.join("bare.git/config"),
            ws.join("main/.git/worktrees/wt/config.worktree"),
            ws.join("main/.git/config"),
        ];
        for f in &secrets {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "TOKEN=x").unwrap();
        }
        // A worktree elsewhere: its `.git` file points at the main repository's git dir.
        std::fs::write(
            deep.join(".git"),
            "gitdir: ../../../../../../../main/.git/worktrees/wt\n",
        )
        .unwrap();
        std::fs::write(ws.join("main/.git/worktrees/wt/commondir"), "../..\n").unwrap();
        let b = Boundaries::new(None, Some(&ws), &[]);
        let h = hidden_under(&ws, &b).unwrap();
        for want in &secrets {
            assert!(h.contains(want), "{} missing from {h:?}", want.display());
        }
        // Git's other files stay readable: `git log` needs them.
        for plain in [ws.join(".git/HEAD"), deep.join("notes.txt")] {
            std::fs::write(&plain, "x").unwrap();
            assert!(!hidden_under(&ws, &b).unwrap().contains(&plain));
        }
        // The worktree's main repository outside the tree: its settings too.
        let sub = ws.join("a/b/c/d/e/f/g");
        let h = hidden_under(&sub, &b).unwrap();
        assert!(h.contains(&ws.join("main/.git/config")), "{h:?}");
        assert!(
            h.contains(&ws.join("main/.git/worktrees/wt/config.worktree")),
            "{h:?}"
        );
    }

    #[test]
    fn sockets_are_masked_at_any_depth() {
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        let mut socks = Vec::new();
        for dir in [ws.join(".git"), ws.join("a/b/c"), ws.join("a/b/c/d/e/f/g")] {
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join("daemon.ipc");
            socks.push((std::os::unix::net::UnixListener::bind(&p).unwrap(), p));
        }
        let h = hidden_under(&ws, &Boundaries::new(None, Some(&ws), &[])).unwrap();
        for (_, p) in &socks {
            assert!(h.contains(p), "{} missing from {h:?}", p.display());
        }
    }

    #[test]
    fn nested_repositories_are_protected_at_any_depth() {
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        let nested = ws.join("v/a/b/c/d/nested");
        std::fs::create_dir_all(nested.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(nested.join("x/y/z")).unwrap();
        std::fs::write(nested.join("x/y/z/.env.prod"), "A=1").unwrap();
        let p = protected_under(&ws, &Boundaries::new(None, Some(&ws), &[])).unwrap();
        assert!(p.contains(&nested.join(".git")), "{p:?}");
        assert!(p.contains(&nested.join("x/y/z/.env.prod")), "{p:?}");
    }

    #[test]
    fn a_tree_too_large_to_walk_is_refused_not_partly_masked() {
        let t = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(t.path()).unwrap();
        for i in 0..30 {
            std::fs::write(ws.join(format!("f{i}")), "").unwrap();
        }
        let e = walk_bounded(&ws, true, 20, |_, _, _| {}).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&ws.display().to_string()) && msg.contains("narrower"),
            "{msg}"
        );
        assert!(walk_bounded(&ws, true, 31, |_, _, _| {}).is_ok());
    }

    #[test]
    fn skillet_own_files_are_masked_but_its_skill_and_package_folders() {
        let t = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(t.path()).unwrap();
        let cfg = home.join(".config/skillet");
        for d in ["skills", "packages"] {
            std::fs::create_dir_all(cfg.join(d)).unwrap();
        }
        for f in ["skillet.toml", "marketplaces.toml", "skillet.lock"] {
            std::fs::write(cfg.join(f), "x").unwrap();
        }
        let b = Boundaries::new(Some(&home), None, std::slice::from_ref(&cfg));
        let h = hidden_under(&home, &b).unwrap();
        for f in ["skillet.toml", "marketplaces.toml", "skillet.lock"] {
            assert!(h.contains(&cfg.join(f)), "{f}: {h:?}");
        }
        for d in ["skills", "packages"] {
            assert!(!h.iter().any(|p| cfg.join(d).starts_with(p)), "{d}: {h:?}");
        }
    }
}
