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
    // Tools' own logins and tokens.
    ".terraform.d/credentials.tfrc.json",
    ".terraformrc",
    ".vault-token",
    ".my.cnf",
    ".mylogin.cnf",
    ".s3cfg",
    ".boto",
    ".oci",
    ".config/rclone",
    ".config/composer/auth.json",
    ".composer/auth.json",
    ".m2/settings.xml",
    ".m2/settings-security.xml",
    ".gradle/gradle.properties",
    ".config/hub",
    ".config/op",
    ".config/doctl",
    ".config/containers/auth.json",
    ".config/git/credentials",
    ".config/gopass",
    ".local/share/gopass",
    // Keyrings and browser profiles (saved passwords, session cookies).
    ".local/share/keyrings",
    ".local/share/kwalletd",
    ".mozilla",
    ".thunderbird",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    ".config/vivaldi",
    ".config/opera",
    // Shell and REPL histories: where typed secrets end up.
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".history",
    ".local/share/fish/fish_history",
    ".local/share/atuin",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
    ".sqlite_history",
];

/// The real form of `path`: the longest existing ancestor with symlinks and `..` resolved by the
/// kernel, then the components that do not exist yet, folded lexically.
///
/// Resolved one component at a time, as `realpath(3)` does (an entry that is a symlink is
/// resolved whole by the kernel), so a path whose end does not exist yet costs one lookup per
/// component rather than a failed `realpath` per missing level. While a [`OneResolution`] is
/// held on this thread, each existing entry is resolved once.
pub(crate) fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    // From the first component that does not resolve on, the rest is folded lexically.
    let mut missing = false;
    for c in absolute.components() {
        match c {
            Component::Normal(name) if !missing => {
                let at = out.join(name);
                match resolved_entry(&at) {
                    Some(real) => out = real,
                    None => {
                        missing = true;
                        out = at;
                    }
                }
            }
            other => push_lexical(&mut out, &other),
        }
    }
    out
}

/// The real form of `at`, whose parent is already real: `at` itself unless it is a symlink;
/// `None` when it does not resolve (absent, a dangling or looping link, not searchable).
fn resolved_entry(at: &Path) -> Option<PathBuf> {
    if let Some(known) = RESOLVED.with_borrow(|m| m.as_ref().and_then(|m| m.get(at).cloned())) {
        return Some(known);
    }
    let meta = std::fs::symlink_metadata(at).ok()?;
    let real = if meta.file_type().is_symlink() {
        std::fs::canonicalize(at).ok()?
    } else {
        at.to_path_buf()
    };
    RESOLVED.with_borrow_mut(|m| {
        if let Some(m) = m {
            m.insert(at.to_path_buf(), real.clone());
        }
    });
    Some(real)
}

thread_local! {
    /// Entries resolved while a [`OneResolution`] is held: only what exists, never an absence.
    static RESOLVED: std::cell::RefCell<Option<std::collections::HashMap<PathBuf, PathBuf>>> =
        const { std::cell::RefCell::new(None) };
}

/// Held while one run's policy is planned: every path of the plan is resolved against one view
/// of the file system, and a directory shared by many of its paths (the home, the workspace)
/// is looked up once instead of once per path. Nothing is kept past the guard, so the next
/// plan resolves everything afresh; the plan's paths are opened by handle afterwards all the
/// same. Nested guards share the outermost one's view.
#[must_use = "the view lasts only while the guard is held"]
pub(crate) struct OneResolution {
    outermost: bool,
}

impl OneResolution {
    pub(crate) fn begin() -> OneResolution {
        let outermost = RESOLVED.with_borrow_mut(|m| {
            let outermost = m.is_none();
            m.get_or_insert_with(Default::default);
            outermost
        });
        OneResolution { outermost }
    }
}

impl Drop for OneResolution {
    fn drop(&mut self) {
        if self.outermost {
            RESOLVED.with_borrow_mut(|m| *m = None);
        }
    }
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

    /// The one-component-at-a-time resolution agrees with the kernel's `realpath` on every
    /// path that resolves, and on the others resolves what exists and folds the rest.
    #[test]
    fn real_path_agrees_with_realpath_through_links_and_dot_dots() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        let b = |p: &str| base.join(p);
        std::fs::create_dir_all(b("a/b/c")).unwrap();
        std::fs::write(b("a/file"), "").unwrap();
        std::os::unix::fs::symlink("a/b", b("rel")).unwrap();
        std::os::unix::fs::symlink(b("rel/c"), b("chain")).unwrap();
        std::os::unix::fs::symlink("../..", b("a/b/c/up")).unwrap();
        std::os::unix::fs::symlink(b("nowhere"), b("dangling")).unwrap();
        std::os::unix::fs::symlink("loop", b("loop")).unwrap();
        for p in [
            "rel",
            "chain",
            "chain/..",
            "rel/../file",
            "a/b/c/up/b",
            "chain/up/file",
            ".",
        ] {
            assert_eq!(
                real_path(&b(p)),
                std::fs::canonicalize(b(p)).unwrap(),
                "{p}"
            );
        }
        for (p, want) in [
            ("chain/new/deeper", "a/b/c/new/deeper"),
            ("chain/new/../../x", "a/b/x"),
            ("a/file/x", "a/file/x"),
            ("dangling/x", "dangling/x"),
            ("loop/x", "loop/x"),
        ] {
            assert_eq!(real_path(&b(p)), b(want), "{p}");
        }
    }

    /// Within one view a directory is looked up once; a link changed after the view is seen
    /// by the next, and a path that did not exist is looked up again even within the view.
    #[test]
    fn a_view_lasts_only_while_held() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(base.join("one")).unwrap();
        std::fs::create_dir_all(base.join("two")).unwrap();
        std::os::unix::fs::symlink("one", base.join("link")).unwrap();
        {
            let _view = OneResolution::begin();
            assert_eq!(real_path(&base.join("link/x")), base.join("one/x"));
            std::fs::create_dir(base.join("one/x")).unwrap();
            std::os::unix::fs::symlink("../../two", base.join("one/x/y")).unwrap();
            // Absent before: looked up again, and now found.
            assert_eq!(real_path(&base.join("link/x/y")), base.join("two"));
            {
                let _inner = OneResolution::begin();
            }
            std::fs::remove_file(base.join("link")).unwrap();
            std::os::unix::fs::symlink("two", base.join("link")).unwrap();
            // The same view, though the inner guard has ended.
            assert_eq!(real_path(&base.join("link")), base.join("one"));
        }
        assert_eq!(real_path(&base.join("link")), base.join("two"));
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
