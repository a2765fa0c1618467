//! What the engine's integration tests share: a real workspace, store and engine.

// Each test binary uses its own part of this.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use skillet_engine::{Engine, EngineSettings, ExecutionResult, RunRequest, Status};
use skillet_registry::{Config, Environment, Registry};
use skillet_store::{ExecutionQuery, ExecutionRecord, SqliteStore, Store};

/// A trusted workspace with its own configuration, data and home directories, and the store
/// and engine a command run there would get.
pub struct Workspace {
    _dir: tempfile::TempDir,
    /// The workspace root (real path).
    pub root: PathBuf,
    /// The database file.
    pub db: PathBuf,
    /// Its history.
    pub store: Arc<SqliteStore>,
    /// The engine a command run there would get.
    pub engine: Engine,
    /// Its skills.
    pub registry: Registry,
}

impl Workspace {
    /// A workspace holding `skills` (each a skill file's JSON).
    pub fn with(skills: &[Value]) -> Workspace {
        let dir = tempfile::tempdir().expect("temporary directory");
        // Real, so that what the engine resolves compares with what the test wrote.
        let base = dir.path().canonicalize().expect("real temporary directory");
        let root = base.join("ws");
        let skills_dir = root.join(".skillet/skills");
        std::fs::create_dir_all(&skills_dir).expect("skills directory");
        std::fs::create_dir_all(root.join(".git")).expect("repository marker");
        for skill in skills {
            let name = skill["name"].as_str().expect("skill name");
            std::fs::write(skills_dir.join(format!("{name}.json")), skill.to_string())
                .expect("skill file");
        }
        let config_dir = base.join("config/skillet");
        std::fs::create_dir_all(&config_dir).expect("config directory");
        std::fs::write(
            config_dir.join("skillet.toml"),
            format!("[trust]\nworkspaces = [{:?}]\n", root.display().to_string()),
        )
        .expect("global skillet.toml");
        let env = Environment {
            cwd: root.clone(),
            home: Some(base.join("home")),
            config_home: Some(base.join("config")),
            data_home: Some(base.join("data")),
        };
        std::fs::create_dir_all(base.join("home")).expect("home");
        let config = Config::load(&env).expect("configuration");
        let registry = Registry::discover(&env, &config);
        std::fs::create_dir_all(base.join("data/skillet")).expect("data directory");
        let db = base.join("data/skillet/skillet.db");
        let store = Arc::new(SqliteStore::open(&db).expect("store"));
        let shared: Arc<dyn Store> = store.clone();
        let engine = Engine::new(EngineSettings::from_config(&env, &config, Some(shared)));
        Workspace {
            _dir: dir,
            root,
            db,
            store,
            engine,
            registry,
        }
    }

    /// Runs `name` with `params` from the workspace root, as `skillet run` would.
    pub fn run(&self, name: &str, params: Value) -> ExecutionResult {
        let request = RunRequest {
            params: params.as_object().cloned().unwrap_or_default(),
            caller_dir: self.root.clone(),
            ..RunRequest::default()
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(self.engine.run(&self.registry, name, request))
    }

    /// The history rows of `skill`, oldest first.
    pub fn history(&self, skill: &str) -> Vec<ExecutionRecord> {
        let mut rows = self
            .store
            .list(&ExecutionQuery {
                skill: Some(skill.into()),
                ..ExecutionQuery::default()
            })
            .expect("history");
        rows.reverse();
        rows
    }
}

/// Whether the run could not happen because this machine lacks a sandbox layer: reported as
/// skipped, or a failure under SKILLET_REQUIRE_SANDBOX=1.
pub fn sandbox_missing(result: &ExecutionResult) -> bool {
    let missing = result.status == Status::Error
        && result
            .error
            .as_deref()
            .is_some_and(|e| e.contains("refusing to run without"));
    if missing {
        let reason = result.error.clone().unwrap_or_default();
        assert!(
            std::env::var_os("SKILLET_REQUIRE_SANDBOX").is_none_or(|v| v != "1"),
            "the sandbox is required here: {reason}"
        );
        eprintln!("SKIPPED: {reason}");
    }
    missing
}

/// A `code_inline` skill called `name`, with the fields of `extra`.
pub fn skill(name: &str, extra: Value) -> Value {
    let mut skill = json!({"name": name, "description": "test skill", "type": "code_inline"});
    if let (Some(s), Some(e)) = (skill.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    skill
}
