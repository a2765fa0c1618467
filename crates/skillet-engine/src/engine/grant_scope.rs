//! Which configured grant a skill gets. `[grants.NAME]` in the global `skillet.toml` is for the
//! user's own skill called NAME (a global skill, or one of a package installed globally), and
//! for a workspace's skill called NAME only where the grant lists that workspace
//! (`workspaces = [...]`). A name alone is no identity: any cloned repository can call one of
//! its skills `deploy`, and must not be handed the token the user granted their own `deploy`.

use std::path::{Path, PathBuf};

use skillet_registry::{Grant, Scope, SkillEntry};

use super::Engine;
use crate::policy::real_path;

/// The grant of the global `skillet.toml` a skill gets, and what a run says about it.
#[derive(Debug, Default)]
pub(crate) struct ConfiguredGrant<'a> {
    /// The grant, when one of the skill's name is configured and is for this skill.
    pub grant: Option<&'a Grant>,
    /// Why a grant of the skill's name is configured but not given (a warning of every run).
    pub withheld: Option<String>,
    /// For a workspace's skill: the workspace a grant must list to be this skill's.
    pub workspace: Option<PathBuf>,
}

impl Engine {
    /// The configured grant `entry` gets (see the module documentation).
    pub(crate) fn configured_grant(&self, entry: &SkillEntry) -> ConfiguredGrant<'_> {
        let configured = self.settings.grants.get(&entry.name);
        if entry.scope == Scope::Global {
            return ConfiguredGrant {
                grant: configured,
                ..ConfiguredGrant::default()
            };
        }
        // The workspace whose skills the registry found (resolved when it was found), not the
        // one a command names: `--workspace W` from a repository nested in W runs the nested
        // repository's skill, which is not W's.
        let workspace = self.settings.skills_workspace.clone();
        let Some(grant) = configured else {
            return ConfiguredGrant {
                workspace,
                ..ConfiguredGrant::default()
            };
        };
        let home = self.settings.home.as_deref();
        if let Some(ws) = &workspace
            && grant
                .workspaces
                .iter()
                .any(|listed| names_workspace(listed, ws, home))
        {
            return ConfiguredGrant {
                grant: Some(grant),
                withheld: None,
                workspace,
            };
        }
        let place = workspace.as_deref().map_or_else(
            || "no workspace".to_owned(),
            |w| format!("the workspace {}", w.display()),
        );
        let why = if grant.workspaces.is_empty() {
            "it lists no workspaces, so it is for your own (global) skill of that name only"
        } else {
            "its workspaces do not include this one"
        };
        ConfiguredGrant {
            grant: None,
            withheld: Some(format!(
                "[grants.{name}] of the global skillet.toml is not given to this `{name}`, which \
                 comes from {place}: {why}; if you mean to grant this workspace's skill, add \
                 workspaces = [\"{ws}\"] to it",
                name = entry.name,
                ws = workspace.as_deref().unwrap_or(Path::new("DIR")).display(),
            )),
            workspace,
        }
    }
}

/// Whether `listed` (as typed in a grant's `workspaces`) is the workspace whose real root is
/// `workspace`. Only an absolute or `~/` path counts; it is resolved before it is compared, so
/// a link to the workspace names it and a lexical look-alike does not.
fn names_workspace(listed: &str, workspace: &Path, home: Option<&Path>) -> bool {
    let path = match (listed.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        (Some(_), None) => return false,
        (None, _) => PathBuf::from(listed),
    };
    path.is_absolute() && real_path(&path) == workspace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_workspace_is_compared_resolved() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        std::fs::create_dir_all(ws.join("nested")).unwrap();
        std::os::unix::fs::symlink(&ws, tmp.path().join("link")).unwrap();
        let real = real_path(&ws);
        let home = Some(tmp.path());
        assert!(names_workspace(&ws.to_string_lossy(), &real, home));
        assert!(names_workspace("~/link", &real, home));
        assert!(names_workspace(
            &format!("{}/nested/..", ws.display()),
            &real,
            home
        ));
        // A parent, a child, a relative path and a `~/` without a home name no workspace.
        assert!(!names_workspace(&tmp.path().to_string_lossy(), &real, home));
        let nested = real_path(&ws.join("nested"));
        assert!(!names_workspace(&ws.to_string_lossy(), &nested, home));
        assert!(!names_workspace("ws", &real, home));
        assert!(!names_workspace("~/ws", &real, None));
    }
}
