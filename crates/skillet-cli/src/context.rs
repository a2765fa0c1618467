//! What every command starts from: where we are, the configuration, the skills.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use skillet_engine::{Engine, EngineSettings, Isolation};
use skillet_registry::{Config, Environment, IsolationSetting, Registry};

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
        for w in &config.warnings {
            eprintln!("skillet: warning: {w}");
        }
        Ok(Context { env, config })
    }

    /// What shapes a run besides the skill: defaults, grants, isolation, the workspace.
    pub fn engine(&self) -> Engine {
        let isolation = match self.config.sandbox.isolation {
            IsolationSetting::Required => Isolation::Required,
            IsolationSetting::BestEffort => Isolation::BestEffort,
        };
        Engine::new(EngineSettings {
            defaults: self.config.defaults.clone(),
            grants: self.config.grants.clone(),
            isolation: Some(isolation),
            workspace: self.env.workspace_root(),
            home: self.env.home.clone(),
            protected: self.env.global_dir().into_iter().collect(),
        })
    }

    pub fn registry(&self) -> Registry {
        Registry::discover(&self.env, &self.config)
    }

    /// `path` relative to the working directory when it is inside it, for shorter messages.
    pub fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.env.cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }
}
