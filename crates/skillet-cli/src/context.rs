//! What every command starts from: where we are, the configuration, the skills.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::{Context as _, Result};
use skillet_engine::{Engine, EngineSetup, SetupError};
use skillet_registry::{Environment, Registry};
use skillet_store::Store;

/// The environment, configuration and (on demand) registry of one command: the engine setup
/// of its directory (`ctx.env`, `ctx.config` are the setup's), with the CLI's warnings.
pub struct Context {
    setup: EngineSetup,
}

impl std::ops::Deref for Context {
    type Target = EngineSetup;

    fn deref(&self) -> &EngineSetup {
        &self.setup
    }
}

impl Context {
    pub fn new(cwd: Option<&Path>) -> Result<Context> {
        let mut env = Environment::from_process().context("cannot read the current directory")?;
        if let Some(dir) = cwd {
            let dir = env.cwd.join(dir);
            anyhow::ensure!(dir.is_dir(), "-C {}: no such directory", dir.display());
            env.cwd = dir;
        }
        let setup = EngineSetup::load(env).map_err(setup_error)?;
        tracing::debug!(
            cwd = %setup.env.cwd.display(),
            workspace = ?setup.env.workspace_root(),
            files = ?setup.config.files,
            "configuration read"
        );
        for w in &setup.config.warnings {
            // A workspace skillet.toml is the repository's text: its unknown keys are quoted.
            eprintln!("skillet: warning: {}", crate::output::text(w));
        }
        Ok(Context { setup })
    }

    /// What shapes a run besides the skill: defaults, grants, isolation, the workspace.
    pub fn engine(&self) -> Engine {
        let store = match self.store() {
            Ok(store) => Some(store),
            Err(e) => {
                warn_unrecorded(&e);
                None
            }
        };
        self.setup.engine(store)
    }

    /// [`Context::engine`], with `--workspace DIR` applied when given.
    pub fn engine_in(&self, workspace: Option<&Path>) -> Result<Engine> {
        self.with_workspace(self.engine(), workspace)
    }

    /// [`Context::engine_in`] for a command that runs one skill and exits: the history is
    /// opened on a thread of its own while the command discovers, sandboxes and runs the
    /// skill, and warned about (as [`Context::engine`] does) if it cannot be opened.
    pub fn engine_opening_store(&self, workspace: Option<&Path>) -> Result<Engine> {
        let store = self.setup.open_store_in_background(|e| {
            warn_unrecorded(&anyhow::Error::from(e));
        });
        let engine = match store {
            Ok(store) => self.setup.engine(Some(store)),
            Err(e) => {
                warn_unrecorded(&setup_error(e));
                self.setup.engine(None)
            }
        };
        self.with_workspace(engine, workspace)
    }

    fn with_workspace(&self, engine: Engine, workspace: Option<&Path>) -> Result<Engine> {
        match workspace {
            Some(dir) => Ok(engine.with_workspace(&self.env.cwd.join(dir))?),
            None => Ok(engine),
        }
    }

    /// The execution history, `$XDG_DATA_HOME/skillet/skillet.db`.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        self.setup.open_store().map_err(setup_error)
    }

    /// [`Context::store`] for a command that serves many calls (the daemon, `skillet mcp`):
    /// the history's log is checkpointed beside the calls, never by one of them.
    pub fn store_serving(&self) -> Result<Arc<dyn Store>> {
        self.setup.open_store_serving().map_err(setup_error)
    }

    pub fn registry(&self) -> Registry {
        Self::logged(self.setup.registry())
    }

    /// What running the skill `name` needs: the files named for it, when they suffice.
    pub fn registry_for(&self, name: &str) -> Registry {
        Self::logged(self.setup.registry_for(name))
    }

    /// Logs what discovery found (`-v`), for every way a command loads skills.
    pub(crate) fn logged(registry: Registry) -> Registry {
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

/// Says that the history could not be opened, with what to do about it.
fn warn_unrecorded(e: &anyhow::Error) {
    eprintln!(
        "skillet: warning: executions are not recorded: {}",
        crate::output::text(&crate::output::explain_with_hint(e))
    );
}

/// The setup's error as the error it wraps, so that commands can still tell a damaged store
/// (`StoreError::Corrupt`) or an invalid configuration apart by its type.
fn setup_error(e: SetupError) -> anyhow::Error {
    match e {
        SetupError::Config(e) => e.into(),
        SetupError::Store(e) => e.into(),
        other => other.into(),
    }
}
