//! Where a run's workspace is, and where it cannot be: skillet's own directories, `--workspace`,
//! and the refusal to treat `/`, the home or a parent of it as one project.

use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::policy::PolicyError;

/// skillet's configuration, data, runtime and cache directories for `env` (configuration
/// first). The cache holds what `skillet list` shows of each skill, so no grant may reach it.
pub(crate) fn own_dirs(env: &skillet_registry::Environment) -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|p| p.join("skillet"));
    env.global_dir()
        .into_iter()
        .chain(env.data_dir())
        .chain(runtime)
        .chain(skillet_registry::cache_dir(env))
        .collect()
}

impl Engine {
    /// This engine with `dir` as the workspace (`--workspace DIR`), resolved. `/`, the home
    /// directory and its parents are refused: they hold far more than one project.
    pub fn with_workspace(mut self, dir: &Path) -> Result<Self, PolicyError> {
        let real = std::fs::canonicalize(dir).map_err(|e| PolicyError::Grant {
            flag: "--workspace",
            typed: dir.display().to_string(),
            reason: format!("{e}; name an existing project directory"),
        })?;
        let home = self
            .settings
            .home
            .as_deref()
            .map(|h| std::fs::canonicalize(h).unwrap_or_else(|_| h.to_path_buf()));
        if real.parent().is_none() || home.is_some_and(|h| h.starts_with(&real)) {
            return Err(PolicyError::NoWorkspace { cwd: real });
        }
        self.settings.workspace = Some(real);
        self.settings.no_workspace = None;
        Ok(self)
    }

    /// Where a skill's context files are chosen from: the workspace, else the caller's
    /// directory; refused where no workspace can be (`/`, the home and its parents), whose
    /// files are not one project's.
    pub(crate) fn context_root(&self, caller_dir: &Path) -> Result<PathBuf, PolicyError> {
        if let Some(cwd) = &self.settings.no_workspace {
            return Err(PolicyError::NoWorkspace { cwd: cwd.clone() });
        }
        Ok(self
            .settings
            .workspace
            .clone()
            .unwrap_or_else(|| caller_dir.to_path_buf()))
    }
}
