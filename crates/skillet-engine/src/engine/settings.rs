//! What shapes a run besides the skill: the user's caps and grants, the sandbox's strictness,
//! skillet's own directories, the store and its retention, made from the configuration.

use std::path::PathBuf;

use skillet_registry::{Grant, LayeredDefaults};
use skillet_sandbox::Isolation;
use skillet_store::Store;

/// Everything about the machine and the user that shapes a run but is not the skill.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// `[defaults]` of the global (the user's caps) and workspace (lowerings) `skillet.toml`.
    pub defaults: LayeredDefaults,
    /// Grants by skill name, from the global `skillet.toml`.
    pub grants: std::collections::BTreeMap<String, Grant>,
    /// How strict the sandbox is.
    pub isolation: Option<Isolation>,
    /// All live scratch together, in MiB (`[sandbox] max_scratch_total_mb` of the global
    /// file); `None` bounds each run on its own only.
    pub scratch_total_mb: Option<u64>,
    /// The workspace root.
    pub workspace: Option<PathBuf>,
    /// The workspace whose skills the registry beside this engine found: the root found from
    /// where skillet started (resolved). `--workspace` (and a client's `workspace`) moves
    /// [`EngineSettings::workspace`], where runs go, but not this: whose skills they are, which a
    /// configured grant's `workspaces` must name (see `grant_scope`).
    pub skills_workspace: Option<PathBuf>,
    /// The user's home directory.
    pub home: Option<PathBuf>,
    /// skillet's own directories (configuration first, then data and runtime), and the store's
    /// password file: never writable by a skill, their history, settings and secrets never
    /// readable.
    pub protected: Vec<PathBuf>,
    /// Every directory skills are discovered in (both scopes, `skill_dirs` of both
    /// `skillet.toml` files): read-only inside any write grant, and the global ones are where a
    /// skill's folder may lie outside the workspace.
    pub skill_dirs: Vec<skillet_registry::SkillDir>,
    /// Where skillet was started, when no workspace can be taken from there (`/`, the home
    /// directory or a parent of it): code skills are refused.
    pub no_workspace: Option<PathBuf>,
    /// Where executions are recorded; `None` keeps no history.
    pub store: Option<std::sync::Arc<dyn Store>>,
    /// Record parameter values, not only their hash.
    pub store_params: bool,
    /// Where the key that parameter hashes are made with is kept (skillet's data directory,
    /// see [`skillet_store::ParamsKey`]); `None` records no hash.
    pub params_key_dir: Option<PathBuf>,
    /// Keep the tails of each run's output as log lines (`[history] store_output`).
    pub store_output: bool,
    /// Days the history keeps (`[history] keep_days`); `None` keeps everything. Each recorded
    /// run removes a bounded batch of what is due.
    pub history_keep_days: Option<u64>,
    /// Executions the history keeps (`[history] max_rows`); `None` for no cap.
    pub history_max_rows: Option<u64>,
    /// Bytes the result cache keeps at most (`[cache] max_mb`); 0 caches nothing.
    pub cache_max_bytes: u64,
    /// Skills turned off with `skillet disable`: refused before anything runs.
    pub disabled: std::collections::BTreeSet<String>,
    /// The model conversation skills talk to (`[llm]` in the global `skillet.toml`).
    pub llm: Option<skillet_registry::LlmSettings>,
    /// Why the workspace `skillet.toml` was ignored: every call is refused with it, since the
    /// file may have disabled skills or lowered limits that ignoring it would lift.
    pub workspace_config_error: Option<String>,
    /// Where the slots of skills that bound their runs at once (`concurrency`) are locked:
    /// `slots/` in skillet's data directory. `None` leaves the bound unenforced, with a warning.
    pub slots_dir: Option<PathBuf>,
}

impl EngineSettings {
    /// The settings a command run in `env` with `config` works under.
    pub fn from_config(
        env: &skillet_registry::Environment,
        config: &skillet_registry::Config,
        store: Option<std::sync::Arc<dyn Store>>,
    ) -> EngineSettings {
        let isolation = match config.sandbox.isolation {
            skillet_registry::IsolationSetting::Required => Isolation::Required,
            skillet_registry::IsolationSetting::BestEffort => Isolation::BestEffort,
        };
        EngineSettings {
            defaults: config.defaults.clone(),
            grants: config.grants.clone(),
            isolation: Some(isolation),
            scratch_total_mb: config.sandbox.max_scratch_total_mb(),
            workspace: env.workspace_root(),
            skills_workspace: env.workspace_root(),
            home: env.home.clone(),
            // The store's password file is skillet's own too, wherever the user keeps it.
            protected: crate::workspace::own_dirs(env)
                .into_iter()
                .chain(config.store.password_file.clone())
                .collect(),
            skill_dirs: skillet_registry::skill_dirs(
                env,
                &config.workspace_skill_dirs,
                &config.global_skill_dirs,
            ),
            no_workspace: env.outside_any_workspace().then(|| env.cwd.clone()),
            store,
            store_params: config.history.store_params,
            params_key_dir: env.data_dir(),
            store_output: config.history.store_output(),
            history_keep_days: config.history.keep_days(),
            history_max_rows: config.history.max_rows(),
            cache_max_bytes: config.cache.max_bytes(),
            disabled: config.disabled.clone(),
            llm: config.llm.clone(),
            workspace_config_error: config.workspace_error.clone(),
            slots_dir: env.data_dir().map(|d| d.join("slots")),
        }
    }
}
