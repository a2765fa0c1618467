//! Where skills live: the workspace root, the global config directory, and the ordered list of
//! skill directories in each scope.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The folders skillet discovers skills in, in the workspace and in the home directory. A write
/// grant never makes them writable through another name (see the engine's policy).
pub const SKILL_FOLDERS: &[&str] = &[".skillet", ".q-skills", ".agents", ".claude"];

/// Where a skill was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The project being worked on (`.skillet/skills/` and friends). Beats global on a clash.
    Workspace,
    /// The user's own skills (`$XDG_CONFIG_HOME/skillet/skills/` and friends).
    Global,
}

impl Scope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Workspace => "workspace",
            Scope::Global => "global",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The flavour of a skills directory, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirKind {
    /// `.skillet/skills/`: `<name>.json`, `<name>/skill.json`, and SKILL.md folders.
    Skillet,
    /// A directory named in `skillet.toml` `skill_dirs`: same contents as `Skillet`.
    Configured,
    /// `.q-skills/`: Q CLI `<name>.json` files.
    QSkills,
    /// `.agents/skills/` or `.claude/skills/`: Agent Skills `<name>/SKILL.md` folders.
    AgentSkills,
    /// `<scope dir>/packages/`: installed packages, each a folder whose receipt lists its skills
    /// (see [`crate::packages`]).
    Packages,
}

/// One directory searched for skills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillDir {
    /// The directory.
    pub path: PathBuf,
    /// Its scope.
    pub scope: Scope,
    /// What it may contain.
    pub kind: DirKind,
}

/// The parts of the process environment discovery depends on. Tests build one by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The directory skillet was started in.
    pub cwd: PathBuf,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`, or `~/.config`.
    pub config_home: Option<PathBuf>,
    /// `$XDG_DATA_HOME`, or `~/.local/share`.
    pub data_home: Option<PathBuf>,
}

impl Environment {
    /// Reads the environment of this process.
    pub fn from_process() -> std::io::Result<Self> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        // The XDG specification: an unset, empty or relative value means the default.
        let xdg = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| home.as_ref().map(|h| h.join(default)))
        };
        let (config_home, data_home) = (
            xdg("XDG_CONFIG_HOME", ".config"),
            xdg("XDG_DATA_HOME", ".local/share"),
        );
        Ok(Environment {
            cwd: std::env::current_dir()?,
            home,
            config_home,
            data_home,
        })
    }

    /// skillet's data directory (the database lives here).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data_home.as_ref().map(|d| d.join("skillet"))
    }

    /// skillet's global configuration directory.
    pub fn global_dir(&self) -> Option<PathBuf> {
        self.config_home.as_ref().map(|c| c.join("skillet"))
    }

    /// The workspace root: the nearest directory, from `cwd` up, holding `.skillet/`, not looking
    /// past the repository root (the nearest ancestor with `.git`). With no `.skillet/` found, the
    /// repository root, or `cwd` outside a repository. Never `/`, the home directory or a parent
    /// of it: they hold far more than one project (and the home's skill directories are the
    /// global scope's). Paths are resolved (symlinks, `..`) before they are compared.
    pub fn workspace_root(&self) -> Option<PathBuf> {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let cwd = real(&self.cwd);
        let home = self.home.as_deref().map(real);
        let too_wide = |dir: &Path| {
            dir.parent().is_none() || home.as_deref().is_some_and(|h| h.starts_with(dir))
        };
        let mut repo_root = None;
        for dir in cwd.ancestors() {
            if too_wide(dir) {
                break;
            }
            if dir.join(".skillet").is_dir() {
                return Some(dir.to_path_buf());
            }
            if dir.join(".git").exists() {
                repo_root = Some(dir.to_path_buf());
                break;
            }
        }
        let root = repo_root.unwrap_or(cwd);
        (!too_wide(&root)).then_some(root)
    }

    /// Whether `cwd` is somewhere no workspace can be found: `/`, the home directory or a parent
    /// of it, outside any repository. Code skills are refused there.
    pub fn outside_any_workspace(&self) -> bool {
        self.workspace_root().is_none()
    }
}

/// The skill directories of both scopes, highest precedence first: workspace skills, workspace
/// packages, global skills, global packages.
pub fn skill_dirs(
    env: &Environment,
    workspace_extra: &[PathBuf],
    global_extra: &[PathBuf],
) -> Vec<SkillDir> {
    let mut dirs = Vec::new();
    let mut push = |path: PathBuf, scope, kind| dirs.push(SkillDir { path, scope, kind });
    if let Some(root) = env.workspace_root() {
        push(
            root.join(".skillet").join("skills"),
            Scope::Workspace,
            DirKind::Skillet,
        );
        for extra in workspace_extra {
            push(extra.clone(), Scope::Workspace, DirKind::Configured);
        }
        compat_dirs(&root, Scope::Workspace, &mut push);
        push(
            root.join(".skillet").join(crate::packages::PACKAGES_DIR),
            Scope::Workspace,
            DirKind::Packages,
        );
    }
    if let Some(global) = env.global_dir() {
        push(global.join("skills"), Scope::Global, DirKind::Skillet);
    }
    for extra in global_extra {
        push(extra.clone(), Scope::Global, DirKind::Configured);
    }
    if let Some(home) = &env.home {
        compat_dirs(home, Scope::Global, &mut push);
    }
    if let Some(global) = env.global_dir() {
        push(
            global.join(crate::packages::PACKAGES_DIR),
            Scope::Global,
            DirKind::Packages,
        );
    }
    dirs
}

fn compat_dirs(base: &Path, scope: Scope, push: &mut impl FnMut(PathBuf, Scope, DirKind)) {
    push(base.join(".q-skills"), scope, DirKind::QSkills);
    push(
        base.join(".agents").join("skills"),
        scope,
        DirKind::AgentSkills,
    );
    push(
        base.join(".claude").join("skills"),
        scope,
        DirKind::AgentSkills,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(cwd: &Path, home: &Path) -> Environment {
        Environment {
            cwd: cwd.to_path_buf(),
            home: Some(home.to_path_buf()),
            config_home: Some(home.join(".config")),
            data_home: None,
        }
    }

    #[test]
    fn workspace_root_is_found_up_to_the_repository_root() {
        let t = tempfile::tempdir().unwrap();
        let (home, repo) = (t.path().join("home"), t.path().join("work/repo"));
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        assert_eq!(
            env(&repo.join("a/b"), &home).workspace_root(),
            Some(repo.clone())
        );
        std::fs::create_dir_all(repo.join("a/.skillet")).unwrap();
        assert_eq!(
            env(&repo.join("a/b"), &home).workspace_root(),
            Some(repo.join("a"))
        );
        // A .skillet above the repository root is not this repository's.
        std::fs::create_dir_all(t.path().join("work/.skillet")).unwrap();
        std::fs::remove_dir_all(repo.join("a/.skillet")).unwrap();
        assert_eq!(env(&repo.join("a/b"), &home).workspace_root(), Some(repo));
    }

    #[test]
    fn home_root_and_their_parents_are_never_a_workspace() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("users/u");
        std::fs::create_dir_all(home.join("proj")).unwrap();
        assert_eq!(env(t.path(), t.path()).workspace_root(), None);
        assert_eq!(env(&home, &home).workspace_root(), None);
        assert_eq!(env(&t.path().join("users"), &home).workspace_root(), None);
        assert_eq!(env(&home.join("proj/.."), &home).workspace_root(), None);
        assert_eq!(env(Path::new("/"), &home).workspace_root(), None);
        // A symlink to the home is the home.
        std::os::unix::fs::symlink(&home, t.path().join("link")).unwrap();
        assert_eq!(env(&t.path().join("link"), &home).workspace_root(), None);
        let real = std::fs::canonicalize(home.join("proj")).unwrap();
        assert_eq!(env(&home.join("proj"), &home).workspace_root(), Some(real));
    }

    #[test]
    fn directories_are_ordered_by_precedence() {
        let t = tempfile::tempdir().unwrap();
        let (home, ws) = (t.path().join("home"), t.path().join("ws"));
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        let dirs = skill_dirs(&env(&ws, &home), &[ws.join("more")], &[]);
        let shown: Vec<_> = dirs
            .iter()
            .map(|d| {
                (
                    d.scope,
                    d.path.strip_prefix(t.path()).unwrap().to_path_buf(),
                )
            })
            .collect();
        let p = PathBuf::from;
        assert_eq!(
            shown,
            [
                (Scope::Workspace, p("ws/.skillet/skills")),
                (Scope::Workspace, p("ws/more")),
                (Scope::Workspace, p("ws/.q-skills")),
                (Scope::Workspace, p("ws/.agents/skills")),
                (Scope::Workspace, p("ws/.claude/skills")),
                (Scope::Workspace, p("ws/.skillet/packages")),
                (Scope::Global, p("home/.config/skillet/skills")),
                (Scope::Global, p("home/.q-skills")),
                (Scope::Global, p("home/.agents/skills")),
                (Scope::Global, p("home/.claude/skills")),
                (Scope::Global, p("home/.config/skillet/packages")),
            ]
        );
    }
}
