//! `skillet.toml`: the user's settings, global (`$XDG_CONFIG_HOME/skillet/skillet.toml`) and per
//! workspace (`.skillet/skillet.toml`). Skill directories from both are searched, each in its own
//! scope. The workspace file comes from the repository, so it can only take away: its
//! `[defaults]` are kept apart from the global ones (the user's caps) and may only lower them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layout::Environment;

mod lenient;
mod settings;
#[cfg(test)]
mod tests;

use lenient::read_lenient;
pub(crate) use lenient::read_workspace_text;
pub use settings::{
    AlertNotify, AlertRule, CacheSettings, DaemonSettings, Defaults, Grant, GrantedNetwork,
    HistorySettings, IsolationSetting, JobsSettings, LlmProvider, LlmSettings, McpSettings,
    SandboxSettings, StoreSettings, TelemetrySettings, TrustSettings,
};

/// File name of the configuration file.
pub const CONFIG_FILE: &str = "skillet.toml";

/// One configuration file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// More directories to search for skills, relative to the file's directory.
    #[serde(default)]
    pub skill_dirs: Vec<PathBuf>,
    /// Defaults for skills that set nothing themselves.
    #[serde(default)]
    pub defaults: Defaults,
    /// How strict the sandbox is. Read from the global file only.
    #[serde(default)]
    pub sandbox: SandboxSettings,
    /// What the user allows each skill beyond the default policy. Read from the global file only.
    #[serde(default)]
    pub grants: BTreeMap<String, Grant>,
    /// What the execution history keeps. Read from the global file only.
    #[serde(default)]
    pub history: HistorySettings,
    /// Where the store is (SQLite by default, or PostgreSQL). Read from the global file only.
    #[serde(default)]
    pub store: StoreSettings,
    /// The result cache's bound. Read from the global file only.
    #[serde(default)]
    pub cache: CacheSettings,
    /// The session daemon. Read from the global file only.
    #[serde(default)]
    pub daemon: DaemonSettings,
    /// The daemon's job queue. Read from the global file only.
    #[serde(default)]
    pub jobs: JobsSettings,
    /// Workspaces whose skills the user trusts. Read from the global file only.
    #[serde(default)]
    pub trust: TrustSettings,
    /// The MCP server. Read from the global file only.
    #[serde(default)]
    pub mcp: McpSettings,
    /// The model conversation skills talk to. Read from the global file only.
    #[serde(default)]
    pub llm: Option<LlmSettings>,
    /// Skills turned off (`skillet disable`): not served to agents, refused by `skillet run`.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Alert rules the daemon evaluates. Read from the global file only.
    #[serde(default)]
    pub alerts: Vec<AlertRule>,
    /// Where the daemon exports traces. Read from the global file only.
    #[serde(default)]
    pub telemetry: TelemetrySettings,
}

/// `[defaults]` of both files, kept apart: the global file's are the user's caps, the
/// workspace file's can only lower them (the engine's limit rule applies both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayeredDefaults {
    /// From the global `skillet.toml`: the user's caps.
    pub global: Defaults,
    /// From the workspace `.skillet/skillet.toml`: lowerings, never raises.
    pub workspace: Defaults,
    /// The workspace file they came from, to name it in warnings.
    pub workspace_file: Option<PathBuf>,
}

/// The merged configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Extra workspace-scope skill directories (absolute).
    pub workspace_skill_dirs: Vec<PathBuf>,
    /// Extra global-scope skill directories (absolute).
    pub global_skill_dirs: Vec<PathBuf>,
    /// `[defaults]` of the global and the workspace file, apart.
    pub defaults: LayeredDefaults,
    /// Sandbox strictness (global file only).
    pub sandbox: SandboxSettings,
    /// Grants by skill name (global file only).
    pub grants: BTreeMap<String, Grant>,
    /// History settings (global file only).
    pub history: HistorySettings,
    /// Where the store is (global file only).
    pub store: StoreSettings,
    /// Result cache settings (global file only).
    pub cache: CacheSettings,
    /// Daemon settings (global file only).
    pub daemon: DaemonSettings,
    /// The daemon's job queue (global file only).
    pub jobs: JobsSettings,
    /// Trusted workspaces (global file only).
    pub trust: TrustSettings,
    /// MCP server settings (global file only).
    pub mcp: McpSettings,
    /// The model conversation skills talk to (global file only).
    pub llm: Option<LlmSettings>,
    /// Disabled skill names, from either file.
    pub disabled: std::collections::BTreeSet<String>,
    /// Alert rules (global file only).
    pub alerts: Vec<AlertRule>,
    /// Trace export (global file only).
    pub telemetry: TelemetrySettings,
    /// Settings that were ignored, and why.
    pub warnings: Vec<String>,
    /// Why the workspace `.skillet/skillet.toml` was ignored as a whole (it cannot be read or
    /// parsed, or holds an invalid value), with the file and the line. Commands that only show
    /// skills go on with a warning; runs in that workspace are refused with this text, since
    /// the file may have disabled a skill or lowered a limit that ignoring it would lift.
    pub workspace_error: Option<String>,
    /// The files that were read, global first.
    pub files: Vec<PathBuf>,
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and a snippet.
        message: String,
    },
}

impl Config {
    /// Reads the global and workspace configuration files that exist.
    pub fn load(env: &Environment) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(global) = env.global_dir()
            && let Some(file) = read(&global.join(CONFIG_FILE))?
        {
            if let Some(field) = file.defaults.zero_limit() {
                return Err(ConfigError::Parse {
                    path: global.join(CONFIG_FILE),
                    message: format!(
                        "[defaults] {field} = 0 would stop every run at once; set a positive \
                         value, or remove the line for skillet's default"
                    ),
                });
            }
            config.global_skill_dirs = absolute(&global, &file.skill_dirs);
            config.defaults.global = file.defaults;
            config.sandbox = file.sandbox;
            for (name, grant) in &file.grants {
                for listed in grant.workspaces.iter().filter(|w| {
                    !w.starts_with("~/") && !std::path::Path::new(w.as_str()).is_absolute()
                }) {
                    config.warnings.push(format!(
                        "{}: [grants.{name}] workspaces: `{listed}` is not an absolute path, so it \
                         names no workspace; write the workspace's root as an absolute path or \
                         ~/…",
                        global.join(CONFIG_FILE).display()
                    ));
                }
            }
            config.grants = file.grants;
            config.history = file.history;
            config.store = file.store;
            // A relative password file is the global file's neighbour, wherever skillet runs.
            config.store.password_file = config.store.password_file.map(|p| global.join(p));
            config.cache = file.cache;
            config.daemon = file.daemon;
            config.jobs = file.jobs;
            config.trust = file.trust;
            config.mcp = file.mcp;
            config.llm = file.llm;
            config.alerts = file.alerts;
            config.telemetry = file.telemetry;
            config.disabled.extend(file.disabled);
            config.files.push(global.join(CONFIG_FILE));
        }
        if let Some(root) = env.workspace_root() {
            let dir = root.join(".skillet");
            let path = dir.join(CONFIG_FILE);
            // The file comes with the repository: a broken one must not stop `list`, `info` or
            // `validate` there (the global file, the user's own, stays a hard error).
            let read = read_lenient(&path, &mut config.warnings).unwrap_or_else(|e| {
                let problem = format!(
                    "{}\nthis workspace configuration is ignored, and runs in this workspace are \
                     refused until you fix or remove it",
                    e.to_string().trim_end()
                );
                config.warnings.push(problem.clone());
                config.workspace_error = Some(problem);
                None
            });
            if let Some(file) = read {
                config.workspace_skill_dirs = absolute(&dir, &file.skill_dirs);
                // A cloned repository must not be able to loosen its own sandbox.
                if file.sandbox != SandboxSettings::default()
                    || !file.grants.is_empty()
                    || file.history != HistorySettings::default()
                    || file.store != StoreSettings::default()
                    || file.cache != CacheSettings::default()
                    || file.daemon != DaemonSettings::default()
                    || file.jobs != JobsSettings::default()
                    || file.trust != TrustSettings::default()
                    || file.mcp != McpSettings::default()
                    || file.llm.is_some()
                    || !file.alerts.is_empty()
                    || file.telemetry != TelemetrySettings::default()
                {
                    config.warnings.push(format!(
                        "{}: [sandbox], [grants], [history], [store], [cache], [daemon], [jobs], [trust], [mcp], [llm], [telemetry] and [[alerts]] are ignored in a workspace configuration; put them in the global skillet.toml",
                        dir.join(CONFIG_FILE).display()
                    ));
                }
                // Turning a skill off only ever takes something away, so a workspace may.
                config.disabled.extend(file.disabled);
                // Not merged here: whether a value lowers or would raise a cap is the engine's
                // one limit rule to decide, with a warning when it is held back.
                config.defaults.workspace = file.defaults;
                config.defaults.workspace_file = Some(dir.join(CONFIG_FILE));
                config.files.push(dir.join(CONFIG_FILE));
            }
        }
        Ok(config)
    }
}

/// Largest `skillet.toml` read, global or workspace.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads the global file.
fn read(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let Some(text) = read_global_text(path)? else {
        return Ok(None);
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// The text of the global file, `None` when there is none. It is the user's own, but it is still
/// opened without blocking and read only up to [`MAX_CONFIG_BYTES`]: a FIFO or a device left
/// there must not hang every command.
pub(crate) fn read_global_text(path: &Path) -> Result<Option<String>, ConfigError> {
    use skillet_spec::files::{FileError, read_regular};
    let error = |message: String| ConfigError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(message),
    };
    match read_regular(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| error("it is not UTF-8 text; save it as UTF-8".into())),
        Err(FileError::NotFound) => Ok(None),
        Err(FileError::Io(source)) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) => Err(error(format!("it {e}"))),
    }
}

fn absolute(base: &Path, dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().map(|d| base.join(d)).collect()
}
