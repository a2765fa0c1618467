//! Which skills may be offered to an agent: enabled ones, and a workspace's own only once the
//! user trusts that workspace.
//!
//! A repository someone else wrote can ship skills in `.skillet/skills/`. Served over MCP, an
//! agent could call them without the user ever choosing to, so workspace skills stay hidden
//! from agents until `skillet trust` records the workspace in the global `skillet.toml`, as
//! Claude Code and Codex gate project configuration. The user's own (global) skills are trusted.
//!
//! The edits keep the rest of the file as written: comments, order and formatting.

use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::config::{CONFIG_FILE, Config, ConfigError};
use crate::layout::{Environment, Scope};
use crate::registry::SkillEntry;

/// Whether a skill may be offered to an agent, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Enabled, and from a trusted place.
    Available,
    /// Turned off with `skillet disable`.
    Disabled,
    /// From a workspace the user has not trusted (`skillet trust`).
    Untrusted,
}

impl Availability {
    /// The word used in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Disabled => "disabled",
            Availability::Untrusted => "untrusted",
        }
    }
}

impl Config {
    /// Whether the workspace at `root` is trusted: it, or a directory above it, was trusted.
    pub fn trusts(&self, root: &Path) -> bool {
        let root = canonical(root);
        self.trust
            .workspaces
            .iter()
            .any(|trusted| root.starts_with(canonical(trusted)))
    }

    /// The `disabled` entry that turns off every skill of the installed package `name`
    /// (`skillet disable PACKAGE`): `package:NAME`, which no skill name can be.
    pub fn package_entry(name: &str) -> String {
        format!("package:{name}")
    }

    /// Whether the installed package `name` is disabled.
    pub fn package_disabled(&self, name: &str) -> bool {
        self.disabled.contains(&Config::package_entry(name))
    }

    /// Whether `entry` may be offered to an agent in `env`.
    pub fn availability(&self, env: &Environment, entry: &SkillEntry) -> Availability {
        self.availability_with(self.workspace_untrusted(env), entry)
    }

    /// [`Config::availability`] of many entries, resolving the workspace and its trust once
    /// rather than once a skill (a listing of thousands of skills spent most of its system
    /// calls there).
    pub fn availabilities<'a>(
        &self,
        env: &Environment,
        entries: impl IntoIterator<Item = &'a SkillEntry>,
    ) -> Vec<Availability> {
        let untrusted = self.workspace_untrusted(env);
        entries
            .into_iter()
            .map(|e| self.availability_with(untrusted, e))
            .collect()
    }

    fn workspace_untrusted(&self, env: &Environment) -> bool {
        env.workspace_root().is_some_and(|root| !self.trusts(&root))
    }

    fn availability_with(&self, workspace_untrusted: bool, entry: &SkillEntry) -> Availability {
        let disabled = self.disabled.contains(&entry.name)
            || entry.aliases().iter().any(|a| self.disabled.contains(a))
            || entry
                .package
                .as_ref()
                .is_some_and(|p| self.package_disabled(&p.name));
        if disabled {
            return Availability::Disabled;
        }
        if entry.scope == Scope::Workspace && workspace_untrusted {
            Availability::Untrusted
        } else {
            Availability::Available
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Which `skillet.toml` an edit goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigScope {
    /// `$XDG_CONFIG_HOME/skillet/skillet.toml`.
    Global,
    /// `<workspace>/.skillet/skillet.toml`.
    Workspace,
}

/// Why a configuration file could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// There is no such file location (no home directory, no workspace).
    #[error("no {0} configuration directory: set $HOME or $XDG_CONFIG_HOME")]
    NoDirectory(&'static str),
    /// The file could not be read or parsed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The file an edit in `scope` changes.
pub fn config_path(env: &Environment, scope: ConfigScope) -> Result<PathBuf, EditError> {
    match scope {
        ConfigScope::Global => env
            .global_dir()
            .map(|d| d.join(CONFIG_FILE))
            .ok_or(EditError::NoDirectory("global")),
        ConfigScope::Workspace => env
            .workspace_root()
            .map(|r| r.join(".skillet").join(CONFIG_FILE))
            .ok_or(EditError::NoDirectory("workspace")),
    }
}

/// Trusts (or, with `trusted` false, stops trusting) the workspace at `root`, in the global file.
/// Returns whether the file changed.
pub fn set_trusted(env: &Environment, root: &Path, trusted: bool) -> Result<bool, EditError> {
    let root = canonical(root);
    let entry = root.display().to_string();
    edit(env, ConfigScope::Global, |doc| {
        let table = doc
            .entry("trust")
            .or_insert_with(|| Item::Table(Table::new()));
        let Some(table) = table.as_table_like_mut() else {
            return false;
        };
        let list = table
            .entry("workspaces")
            .or_insert_with(|| value(Array::new()));
        toggle(list, &entry, trusted, |item| {
            canonical(Path::new(item)) == root
        })
    })
}

/// Turns the skill `name` off (or back on) in the file of `scope`. Returns whether it changed.
pub fn set_disabled(
    env: &Environment,
    scope: ConfigScope,
    name: &str,
    disabled: bool,
) -> Result<bool, EditError> {
    edit(env, scope, |doc| {
        let list = doc.entry("disabled").or_insert_with(|| value(Array::new()));
        toggle(list, name, disabled, |item| item == name)
    })
}

/// Adds `entry` to (or removes every match from) the string array in `item`.
fn toggle(item: &mut Item, entry: &str, present: bool, matches: impl Fn(&str) -> bool) -> bool {
    let Some(array) = item.as_array_mut() else {
        return false;
    };
    let found = array.iter().any(|v| v.as_str().is_some_and(&matches));
    match (present, found) {
        (true, false) => {
            array.push(entry);
            true
        }
        (false, true) => {
            array.retain(|v| !v.as_str().is_some_and(&matches));
            true
        }
        _ => false,
    }
}

fn edit(
    env: &Environment,
    scope: ConfigScope,
    change: impl FnOnce(&mut DocumentMut) -> bool,
) -> Result<bool, EditError> {
    let path = config_path(env, scope)?;
    let text = match scope {
        // A workspace file may be a link planted by the repository: read it only beneath it.
        ConfigScope::Workspace => crate::config::read_workspace_text(&path)?.unwrap_or_default(),
        _ => crate::config::read_global_text(&path)?.unwrap_or_default(),
    };
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        EditError::Config(ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })
    })?;
    if !change(&mut doc) {
        return Ok(false);
    }
    let write_err = |source| EditError::Write {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    // Written beside and renamed over, so a crash never leaves half a file.
    let partial = path.with_extension("toml.partial");
    // A workspace may ship `skillet.toml.partial` as a link to `~/.bashrc`: remove whatever is
    // there (a link itself, never its target) and create the file afresh, never through a link.
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(write_err(e)),
        _ => {}
    }
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(write_err)?;
        file.write_all(doc.to_string().as_bytes())
            .map_err(write_err)?;
    }
    std::fs::rename(&partial, &path).map_err(write_err)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(t: &Path) -> Environment {
        std::fs::create_dir_all(t.join("ws/.skillet")).unwrap();
        Environment {
            cwd: t.join("ws"),
            home: Some(t.join("home")),
            config_home: Some(t.join("home/.config")),
            data_home: None,
        }
    }

    #[test]
    fn trusting_keeps_comments_and_is_undone_by_revoking() {
        let t = tempfile::tempdir().unwrap();
        let env = env(t.path());
        let file = t.path().join("home/.config/skillet/skillet.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "# mine\n[defaults]\ntimeout = 5 # short\n").unwrap();
        let root = env.workspace_root().unwrap();

        assert!(!Config::load(&env).unwrap().trusts(&root));
        assert!(set_trusted(&env, &root, true).unwrap());
        assert!(!set_trusted(&env, &root, true).unwrap(), "twice is once");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# mine\n[defaults]\ntimeout = 5 # short\n"),
            "{text}"
        );
        let config = Config::load(&env).unwrap();
        assert!(config.trusts(&root) && config.trusts(&root.join("sub")));

        assert!(set_trusted(&env, &root, false).unwrap());
        assert!(!Config::load(&env).unwrap().trusts(&root));
    }

    #[test]
    fn editing_a_global_file_that_is_a_fifo_is_an_error_not_a_hang() {
        let t = tempfile::tempdir().unwrap();
        let env = env(t.path());
        let file = t.path().join("home/.config/skillet/skillet.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&file).status();
        assert!(made.unwrap().success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let done = set_disabled(&env, ConfigScope::Global, "x", true);
            let _ = tx.send(done.map_err(|e| e.to_string()));
        });
        let done = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("editing blocked on the FIFO");
        let err = done.unwrap_err();
        assert!(err.contains("FIFO"), "{err}");
    }

    #[test]
    fn a_workspace_can_disable_but_not_trust_itself() {
        let t = tempfile::tempdir().unwrap();
        let env = env(t.path());
        assert!(set_disabled(&env, ConfigScope::Workspace, "rm-rf", true).unwrap());
        std::fs::write(
            t.path().join("ws/.skillet/skillet.toml"),
            format!(
                "{}[trust]\nworkspaces = [\"/\"]\n",
                std::fs::read_to_string(t.path().join("ws/.skillet/skillet.toml")).unwrap()
            ),
        )
        .unwrap();
        let config = Config::load(&env).unwrap();
        assert!(config.disabled.contains("rm-rf"));
        assert!(!config.trusts(&env.workspace_root().unwrap()));
        assert!(
            config.warnings[0].contains("[trust]"),
            "{:?}",
            config.warnings
        );
    }

    #[test]
    fn editing_a_workspace_file_never_writes_through_a_planted_link() {
        let t = tempfile::tempdir().unwrap();
        let env = env(t.path());
        std::fs::create_dir_all(t.path().join("home")).unwrap();
        let bashrc = t.path().join("home/.bashrc");
        std::fs::write(&bashrc, "KEEP\n").unwrap();
        let ws = t.path().join("ws/.skillet");
        std::os::unix::fs::symlink(&bashrc, ws.join("skillet.toml.partial")).unwrap();
        assert!(set_disabled(&env, ConfigScope::Workspace, "x", true).unwrap());
        assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "KEEP\n");
        // The config itself linked out of the workspace: refused, target untouched.
        std::fs::remove_file(ws.join("skillet.toml")).unwrap();
        std::os::unix::fs::symlink(&bashrc, ws.join("skillet.toml")).unwrap();
        let e = set_disabled(&env, ConfigScope::Workspace, "y", true).unwrap_err();
        assert!(e.to_string().contains("leaves"), "{e}");
        assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "KEEP\n");
    }
}
