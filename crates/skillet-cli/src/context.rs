//! What every command starts from: where we are, the configuration, the skills.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::{Context as _, Result};
use skillet_engine::{Engine, EngineSettings};
use skillet_registry::{Config, Environment, Registry};
use skillet_store::{SqliteStore, Store};

/// The environment, configuration and (on demand) registry of one command.
pub struct Context {
    pub env: Environment,
    pub config: Config,
}

impl Context {
    pub fn new(cwd: Option<&Path>) -> Result<Context> {
        let mut env = Environment::from_process().context("cannot read the current directory")?;
        if let Some(dir) = cwd {
            let dir = env.cwd.join(dir);
            anyhow::ensure!(dir.is_dir(), "-C {}: no such directory", dir.display());
            env.cwd = dir;
        }
        let config = Config::load(&env)?;
        tracing::debug!(
            cwd = %env.cwd.display(),
            workspace = ?env.workspace_root(),
            files = ?config.files,
            "configuration read"
        );
        for w in &config.warnings {
            eprintln!("skillet: warning: {w}");
        }
        Ok(Context { env, config })
    }

    /// What shapes a run besides the skill: defaults, grants, isolation, the workspace.
    pub fn engine(&self) -> Engine {
        let store = match self.store() {
            Ok(store) => Some(store),
            Err(e) => {
                eprintln!(
                    "skillet: warning: executions are not recorded: {}",
                    crate::output::explain(&e)
                );
                None
            }
        };
        Engine::new(EngineSettings::from_config(&self.env, &self.config, store))
    }

    /// The execution history, `$XDG_DATA_HOME/skillet/skillet.db`.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        let dir = self.env.data_dir().context(
            "neither XDG_DATA_HOME nor HOME is set, so there is nowhere to keep the history",
        )?;
        Ok(Arc::new(SqliteStore::open(&dir.join("skillet.db"))?))
    }

    pub fn registry(&self) -> Registry {
        let registry = Registry::discover(&self.env, &self.config);
        tracing::debug!(
            skills = registry.entries().len(),
            broken = registry.entries().iter().filter(|e| !e.is_valid()).count(),
            dirs = ?registry.dirs().iter().map(|d| &d.path).collect::<Vec<_>>(),
            "skills discovered"
        );
        registry
    }

    /// `path` relative to the working directory when it is inside it, for shorter messages.
    pub fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.env.cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }
}
