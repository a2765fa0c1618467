//! From configuration to a ready engine: the one way the CLI, the MCP server and the daemon set
//! up the engine, so that they cannot drift apart on what a run in a directory sees.
//!
//! The steps are the same everywhere: read the configuration of a directory (global
//! `skillet.toml`, then the workspace's), discover the skills it sees, open the history store,
//! and build an [`Engine`] from all three. Callers differ only in what they do when the store
//! cannot be opened (the CLI warns and runs without a history), which is why that step returns
//! its error rather than deciding for them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use skillet_registry::{Config, ConfigError, Environment, Registry};
use skillet_store::{SqliteStore, Store, StoreError};
use skillet_store_postgres::PostgresStore;

use crate::{Engine, EngineSettings};

/// The file the history is kept in, inside skillet's data directory.
pub const STORE_FILE: &str = "skillet.db";

/// Why an engine could not be set up for a directory.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The directory a request named is not there.
    #[error("the directory {} does not exist; run from an existing directory", .0.display())]
    NoSuchDirectory(PathBuf),
    /// A configuration file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// There is no data directory to keep the history in.
    #[error("neither XDG_DATA_HOME nor HOME is set, so there is nowhere to keep the history")]
    NoDataDir,
    /// The history store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the store is: `[store]` of the global configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The SQLite file (the default).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`[store] url`).
    Postgres {
        /// Its URL, as written.
        url: String,
        /// The file holding its password (`[store] password_file`).
        password_file: Option<PathBuf>,
    },
}

impl StoreLocation {
    /// Opens the store there, bringing its schema up to date; `serving` for a process that
    /// serves many calls.
    pub fn open(&self, serving: bool) -> Result<Arc<dyn Store>, StoreError> {
        self.open_as(serving, false)
    }

    /// [`StoreLocation::open`] for a process that records runs: what recording one needs is
    /// prepared now (see [`SqliteStore::prepare_recording`]), while the process has other
    /// work or waits for its first call, rather than after the run.
    pub fn open_recording(&self, serving: bool) -> Result<Arc<dyn Store>, StoreError> {
        self.open_as(serving, true)
    }

    fn open_as(&self, serving: bool, recording: bool) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            StoreLocation::Sqlite(path) => {
                let store = SqliteStore::open(path)?;
                if serving {
                    store.checkpoint_in_background()?;
                }
                if recording {
                    store.prepare_recording();
                }
                Ok(Arc::new(store))
            }
            StoreLocation::Postgres { url, .. } => {
                let password = self.password()?;
                let store = PostgresStore::open(url, password.as_deref())?;
                if serving {
                    store.keep_unwritten_executions();
                }
                Ok(Arc::new(store))
            }
        }
    }

    /// How it is named to the user: the file, or the URL without its password.
    pub fn shown(&self) -> PathBuf {
        match self {
            StoreLocation::Sqlite(path) => path.clone(),
            StoreLocation::Postgres { url, .. } => PathBuf::from(PostgresStore::shown_url(url)),
        }
    }

    /// The password of `[store] password_file` (its first line); `None` without one.
    pub fn password(&self) -> Result<Option<String>, StoreError> {
        let StoreLocation::Postgres {
            password_file: Some(file),
            ..
        } = self
        else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot read [store] password_file {}: {e}; fix the path in the global skillet.toml",
                file.display()
            ))
        })?;
        Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
    }
}

/// The configuration of one directory, from which its skills, its history store and its engine
/// are made.
///
/// ```no_run
/// use skillet_engine::EngineSetup;
/// let setup = EngineSetup::load(skillet_registry::Environment::from_process()?)?;
/// let registry = setup.registry();
/// let engine = setup.engine(setup.open_store().ok());
/// # let _ = (registry, engine);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EngineSetup {
    /// Where skillet runs: the working directory, home and XDG directories.
    pub env: Environment,
    /// The configuration read for `env`.
    pub config: Config,
}

impl EngineSetup {
    /// Reads the configuration `env` sees.
    pub fn load(env: Environment) -> Result<EngineSetup, SetupError> {
        let config = Config::load(&env)?;
        Ok(EngineSetup { env, config })
    }

    /// Reads the configuration a command run in `dir` would see, with the rest of `base`
    /// (home, XDG directories) unchanged: how the daemon serves requests from several
    /// directories.
    pub fn load_in(base: &Environment, dir: &Path) -> Result<EngineSetup, SetupError> {
        if !dir.is_dir() {
            return Err(SetupError::NoSuchDirectory(dir.to_path_buf()));
        }
        EngineSetup::load(Environment {
            cwd: dir.to_path_buf(),
            ..base.clone()
        })
    }

    /// The skills this directory sees.
    pub fn registry(&self) -> Registry {
        Registry::discover(&self.env, &self.config)
    }

    /// What a call of the skill `name` needs of the skills this directory sees, read from the
    /// files named for it when that suffices (see [`Registry::from_dirs_for`]).
    pub fn registry_for(&self, name: &str) -> Registry {
        Registry::discover_for(&self.env, &self.config, name)
    }

    /// [`EngineSetup::registry_for`] in a process that serves many calls: an unchanged skill
    /// file is not parsed again (see [`skillet_registry::SpecMemo`]).
    pub fn registry_for_memo(&self, name: &str, memo: &skillet_registry::SpecMemo) -> Registry {
        Registry::discover_for_memo(&self.env, &self.config, name, memo)
    }

    /// Opens the store: the PostgreSQL database of `[store] url` when the global configuration
    /// names one, else the SQLite file `$XDG_DATA_HOME/skillet/skillet.db`.
    pub fn open_store(&self) -> Result<Arc<dyn Store>, SetupError> {
        Ok(self.store_location()?.open(false)?)
    }

    /// [`EngineSetup::open_store`] for a process that serves many calls (the daemon, an MCP
    /// server): a SQLite log's checkpoints run on a thread of their own, so no reply waits for
    /// their `fsync`s (see [`SqliteStore::checkpoint_in_background`]).
    pub fn open_store_serving(&self) -> Result<Arc<dyn Store>, SetupError> {
        Ok(self.store_location()?.open_recording(true)?)
    }

    /// [`EngineSetup::open_store`] on a thread of its own: the store answers at once and its
    /// first use waits for the open (see [`skillet_store::OpeningStore`]). For a process that
    /// runs one skill, so the open goes on beside discovery, the sandbox's setup and the run.
    /// `on_error` is told once, where the store is first needed, if the open fails.
    pub fn open_store_in_background(
        &self,
        on_error: impl FnOnce(StoreError) + Send + 'static,
    ) -> Result<Arc<dyn Store>, SetupError> {
        let location = self.store_location()?;
        let shown = location.shown();
        Ok(Arc::new(skillet_store::OpeningStore::spawn(
            &shown,
            move || location.open_recording(false),
            on_error,
        )))
    }

    /// Where the store is, as the configuration says.
    pub fn store_location(&self) -> Result<StoreLocation, SetupError> {
        if let Some(url) = &self.config.store.url {
            return Ok(StoreLocation::Postgres {
                url: url.clone(),
                password_file: self.config.store.password_file.clone(),
            });
        }
        let dir = self.env.data_dir().ok_or(SetupError::NoDataDir)?;
        Ok(StoreLocation::Sqlite(dir.join(STORE_FILE)))
    }

    /// The engine for this directory, recording every execution in `store` (none with `None`).
    pub fn engine(&self, store: Option<Arc<dyn Store>>) -> Engine {
        Engine::new(EngineSettings::from_config(&self.env, &self.config, store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(root: &Path) -> Environment {
        Environment {
            cwd: root.to_path_buf(),
            home: Some(root.join("home")),
            config_home: Some(root.join("config")),
            data_home: Some(root.join("data")),
        }
    }

    #[test]
    fn a_missing_directory_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let gone = tmp.path().join("gone");
        let err = EngineSetup::load_in(&env(tmp.path()), &gone).unwrap_err();
        assert!(matches!(&err, SetupError::NoSuchDirectory(p) if *p == gone));
        assert!(err.to_string().contains("gone"), "{err}");
    }

    #[test]
    fn the_store_lives_in_the_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let setup = EngineSetup::load(env(tmp.path())).unwrap();
        setup.open_store().unwrap();
        assert!(tmp.path().join("data/skillet").join(STORE_FILE).is_file());
        let nowhere = EngineSetup {
            env: Environment {
                data_home: None,
                ..setup.env.clone()
            },
            ..setup
        };
        assert!(matches!(nowhere.open_store(), Err(SetupError::NoDataDir)));
    }

    #[test]
    fn an_invalid_configuration_is_a_config_error() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("config/skillet")).unwrap();
        std::fs::write(tmp.path().join("config/skillet/skillet.toml"), "[[[").unwrap();
        let err = EngineSetup::load(env(tmp.path())).unwrap_err();
        assert!(matches!(err, SetupError::Config(_)), "{err}");
    }
}
