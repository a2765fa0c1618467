//! Where a policy may reach: the real form of a path, and the directories no rule may widen to
//! (`/`, the system roots, the home directory, anything holding the workspace or skillet's own
//! directories).

use std::path::{Component, Path, PathBuf};

/// Directories that are never an install prefix whose whole tree becomes readable: each holds
/// far more than one program's files.
const SYSTEM_ROOTS: &[&str] = &[
    "/usr",
    "/usr/local",
    "/usr/lib",
    "/usr/share",
    "/etc",
    "/opt",
    "/var",
    "/var/lib",
    "/var/tmp",
    "/var/run",
    "/tmp",
    "/run",
    "/proc",
    "/sys",
    "/dev",
    "/home",
    "/root",
    "/mnt",
    "/media",
    "/srv",
    "/boot",
    "/nix",
    "/nix/store",
    "/snap",
];

/// Under a granted or readable tree, what holds credentials by convention and stays masked.
const CREDENTIAL_PATHS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    ".docker/config.json",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".config/gh",
    ".config/gcloud",
    ".kube/config",
    ".azure",
    ".password-store",
];

/// The real form of `path`: the longest existing ancestor with symlinks and `..` resolved by the
/// kernel, then the components that do not exist yet, folded lexically.
pub(crate) fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component<'_>> = absolute.components().collect();
    for keep in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..keep].iter().collect();
        if let Ok(mut out) = std::fs::canonicalize(&head) {
            for c in &parts[keep..] {
                push_lexical(&mut out, c);
            }
            return out;
        }
    }
    lexical(&absolute)
}

/// `path` with `.` and `..` folded without looking at the file system.
pub(crate) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        push_lexical(&mut out, &c);
    }
    out
}

fn push_lexical(out: &mut PathBuf, c: &Component<'_>) {
    match c {
        Component::ParentDir => {
            out.pop();
        }
        Component::CurDir => {}
        other => out.push(other.as_os_str()),
    }
}

/// What no rule may widen to, every path in its real form.
#[derive(Debug, Clone, Default)]
pub struct Boundaries {
    /// The user's home.
    pub home: Option<PathBuf>,
    /// The workspace root.
    pub workspace: Option<PathBuf>,
    /// skillet's own configuration, data and runtime directories.
    pub own: Vec<PathBuf>,
    /// The directories skills are discovered in: read-only inside a write grant.
    pub skill_dirs: Vec<PathBuf>,
}

impl Boundaries {
    /// Resolves each path given.
    pub fn new(home: Option<&Path>, workspace: Option<&Path>, own: &[PathBuf]) -> Boundaries {
        Boundaries {
            home: home.map(real_path),
            workspace: workspace.map(real_path),
            own: own.iter().map(|p| real_path(p)).collect(),
            skill_dirs: Vec::new(),
        }
    }

    /// The real form of `path` (see the module documentation).
    pub fn real(&self, path: &Path) -> PathBuf {
        real_path(path)
    }

    /// Directories of the user's that hold far more than programs: the home, and the XDG
    /// data and configuration homes under it.
    fn personal(&self) -> Vec<PathBuf> {
        self.home
            .iter()
            .flat_map(|h| [h.clone(), h.join(".local/share"), h.join(".config")])
            .collect()
    }

    /// Whether the whole tree under `dir` may become readable as a program's installation.
    pub(crate) fn may_expose_tree(&self, dir: &Path) -> bool {
        if dir.components().count() <= 2 || SYSTEM_ROOTS.iter().any(|r| Path::new(r) == dir) {
            return false;
        }
        // Anyone's data and settings, not only this user's (skillet may run as root).
        if dir.ends_with(".local/share")
            || dir.iter().any(|c| {
                [".config", ".ssh", ".gnupg", ".aws"]
                    .iter()
                    .any(|n| c == *n)
            })
        {
            return false;
        }
        let holds = |p: &Path| p.starts_with(dir);
        if self.personal().iter().any(|p| holds(p)) || self.workspace.as_deref().is_some_and(holds)
        {
            return false;
        }
        !self
            .own
            .iter()
            .any(|o| o.starts_with(dir) || dir.starts_with(o))
            && !self.is_credential(dir)
    }

    /// Whether `path` is inside one of skillet's own directories.
    pub(crate) fn is_own(&self, path: &Path) -> bool {
        self.own_holding(path).is_some()
    }

    /// skillet's own directory that `path` is, or lies in.
    pub(crate) fn own_holding(&self, path: &Path) -> Option<&Path> {
        self.own
            .iter()
            .find(|o| path.starts_with(o))
            .map(PathBuf::as_path)
    }

    /// Whether `path` is, or lies in, a credential file or directory: by name anywhere
    /// ([`is_secret_file`](crate::is_secret_file)), or a known credential location of the home.
    pub(crate) fn is_credential(&self, path: &Path) -> bool {
        if crate::is_secret_file(&path.to_string_lossy())
            || path
                .iter()
                .any(|c| crate::is_secret_file(&c.to_string_lossy()))
        {
            return true;
        }
        self.home
            .as_ref()
            .is_some_and(|h| CREDENTIAL_PATHS.iter().any(|c| path.starts_with(h.join(c))))
    }

    /// The credential locations that exist under `root`.
    pub(crate) fn credentials_under(&self, root: &Path) -> Vec<PathBuf> {
        CREDENTIAL_PATHS
            .iter()
            .map(|c| root.join(c))
            .filter(|p| p.symlink_metadata().is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_path_resolves_what_exists_and_folds_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir(base.join("a")).unwrap();
        std::os::unix::fs::symlink(base.join("a"), base.join("link")).unwrap();
        assert_eq!(real_path(&base.join("link/new/../x")), base.join("a/x"));
        assert_eq!(real_path(&base.join("a/../link")), base.join("a"));
        assert_eq!(
            real_path(Path::new("/var/run/../bin")),
            real_path(Path::new("/bin"))
        );
    }

    #[test]
    fn no_tree_that_holds_the_home_workspace_or_skillet_is_exposed() {
        let b = Boundaries {
            home: Some("/home/u".into()),
            workspace: Some("/home/u/src/p".into()),
            own: vec!["/home/u/.local/share/skillet".into()],
            ..Default::default()
        };
        for bad in [
            "/",
            "/usr",
            "/home",
            "/home/u",
            "/home/u/src",
            "/home/u/.local",
            "/home/u/.local/share",
            "/home/u/.local/share/skillet/run",
            "/home/u/.ssh",
            "/data",
        ] {
            assert!(!b.may_expose_tree(Path::new(bad)), "{bad}");
        }
        for good in [
            "/home/u/.rustup/toolchains/x",
            "/srv/tools",
            "/nix/store/abc-py",
        ] {
            assert!(b.may_expose_tree(Path::new(good)), "{good}");
        }
        assert!(b.is_credential(Path::new("/home/u/.cargo/credentials.toml")));
        assert!(b.is_credential(Path::new("/home/u/.ssh/id_rsa")));
        assert!(!b.is_credential(Path::new("/home/u/.cargo/bin/rg")));
    }
}
