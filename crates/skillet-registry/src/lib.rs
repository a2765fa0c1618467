//! Finding skills.
//!
//! This crate owns *where* skills come from: the workspace and global scopes, their skill
//! directories (skillet's own and the compatibility ones of Q CLI and Agent Skills), the order of
//! precedence between them, aliases, `skillet.toml`, and which skills may be offered to an agent
//! (enabled, and from a trusted workspace). It loads every file through
//! `skillet-spec` and keeps broken skills visible (with their errors) instead of dropping them.
//!
//! It must not run skills or decide what they may do: that is `skillet-engine` and
//! `skillet-sandbox`.
//!
//! ```no_run
//! use skillet_registry::{Config, Environment, Registry};
//! let env = Environment::from_process()?;
//! let registry = Registry::discover(&env, &Config::load(&env)?);
//! for skill in registry.entries() {
//!     println!("{} ({}) {}", skill.name, skill.scope, if skill.is_valid() { "ok" } else { "broken" });
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod dependencies;
mod discover;
mod layout;
mod metadata_cache;
pub mod packages;
mod registry;
mod spec_memo;
mod summary;
mod trust;

pub use config::{
    AlertNotify, AlertRule, CONFIG_FILE, CacheSettings, Config, ConfigError, ConfigFile,
    DaemonSettings, Defaults, Grant, GrantedNetwork, HistorySettings, IsolationSetting,
    JobsSettings, LayeredDefaults, LlmProvider, LlmSettings, McpSettings, SandboxSettings,
    StoreSettings, TelemetrySettings, TrustSettings,
};
pub use discover::{MAX_DIR_ENTRIES, MAX_SKILL_FILES, skill_file, skill_manifest};
pub use layout::{DirKind, Environment, SKILL_FOLDERS, Scope, SkillDir, skill_dirs};
pub use metadata_cache::{MetadataCacheSettings, cache_dir};
pub use registry::{KeptSkill, Registry, SkillEntry};
pub use spec_memo::SpecMemo;
pub use summary::SkillSummary;
pub use trust::{Availability, ConfigScope, EditError, config_path, set_disabled, set_trusted};
