//! `skillet.toml`: the user's settings, global (`$XDG_CONFIG_HOME/skillet/skillet.toml`) and per
//! workspace (`.skillet/skillet.toml`). Skill directories from both are searched, each in its own
//! scope. The workspace file comes from the repository, so it can only take away: its
//! `[defaults]` are kept apart from the global ones (the user's caps) and may only lower them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layout::Environment;

mod lenient;

use lenient::read_lenient;
pub(crate) use lenient::read_workspace_text;

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
    /// The session daemon. Read from the global file only.
    #[serde(default)]
    pub daemon: DaemonSettings,
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
}

/// `[llm]`: the model `conversation` skills talk to.
///
/// Global file only: a cloned repository that could pick the URL (or the variable the key is
/// read from) could send the user's key, and the project's files, wherever it liked.
///
/// ```toml
/// [llm]
/// provider = "openai"                 # or "anthropic"
/// base_url = "http://127.0.0.1:11434/v1"
/// model = "llama3.2"
/// api_key_env = "OPENAI_API_KEY"     # the variable's name, never the key; none for a local server
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// The wire format (default `openai`, which Ollama, vLLM, llama.cpp and LM Studio speak).
    #[serde(default)]
    pub provider: LlmProvider,
    /// Where the API lives, up to its version (default: the provider's public API).
    pub base_url: Option<String>,
    /// The model, unless a skill names its own.
    pub model: Option<String>,
    /// The name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Seconds the server may stay silent before a request is given up (default 60).
    pub timeout_secs: Option<u64>,
    /// Most tokens one answer may take (default 4096).
    pub max_tokens: Option<u32>,
}

/// The wire format of `[llm]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// OpenAI chat completions.
    #[default]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

/// `[mcp]`: serving skills to agents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpSettings {
    /// Tool calls run at once; more wait their turn (default 16).
    pub max_concurrent_calls: Option<usize>,
}

/// `[trust]`: the workspaces whose own skills may be served to agents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    /// Trusted workspace roots (a workspace inside one is trusted too).
    #[serde(default)]
    pub workspaces: Vec<PathBuf>,
}

/// `[daemon]`: the background process that owns sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Seconds the daemon waits with no live session and no client before it exits
    /// (default 300).
    pub idle_timeout: Option<u64>,
}

/// `[history]`: what is kept of each execution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Keep parameter values, not only their hash. Off by default: values may hold secrets.
    #[serde(default)]
    pub store_params: bool,
}

/// `[sandbox]`: how strict confinement is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// `required` (default): refuse to run when a layer is unavailable. `best-effort`: run with
    /// what the machine supports and say what is missing.
    #[serde(default)]
    pub isolation: IsolationSetting,
}

/// The isolation level the user accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationSetting {
    /// Every layer the policy needs, or no run.
    #[default]
    Required,
    /// Whatever the machine supports.
    BestEffort,
}

/// `[grants.<skill>]`: permissions the user gives one skill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Extra readable paths (`~/` is the home directory; relative paths start at the workspace).
    #[serde(default)]
    pub read: Vec<String>,
    /// Writable paths (same rules).
    #[serde(default)]
    pub write: Vec<String>,
    /// Network access: `true`, or a list of `"host:port"` destinations.
    #[serde(default)]
    pub network: Option<GrantedNetwork>,
    /// Parent environment variables passed through, credentials included.
    #[serde(default)]
    pub env: Vec<String>,
    /// Let the skill's own `resource_limits` exceed skillet's defaults.
    #[serde(default)]
    pub raise_limits: bool,
}

/// Network granted to a skill.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum GrantedNetwork {
    /// All or nothing.
    All(bool),
    /// Only these `"host:port"` destinations (ports enforced, host names not).
    Destinations(Vec<String>),
}

/// `[defaults]`: the limits of a run. In the global file they are the user's caps (a skill that
/// sets nothing gets the cap; one that asks for more is held to it unless the user grants
/// `raise_limits`); in a workspace file they may only lower those caps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Wall-clock limit in seconds (skillet's own default: 30).
    pub timeout: Option<u64>,
    /// Captured output per stream, in KiB (skillet's own default: 1024).
    pub max_output_kb: Option<u64>,
    /// Memory, in MiB (skillet's own default: 512).
    pub max_memory_mb: Option<u64>,
    /// Processes and threads (skillet's own default: 64).
    pub max_processes: Option<u32>,
    /// Largest file a skill may write, in MiB (skillet's own default: 256).
    pub max_file_size_mb: Option<u64>,
    /// All writable scratch of one run together (`HOME`, `/tmp`…), in MiB (skillet's own
    /// default: 256).
    pub max_scratch_mb: Option<u64>,
    /// Attempts of one call, retries included, that a skill's `retry.max_attempts` may ask for
    /// (skillet's own default: 5).
    pub max_attempts: Option<u32>,
    /// Longest life of a session, in seconds (skillet's own default: 3600).
    pub session_timeout: Option<u64>,
    /// Longest time a session may sit without an input, in seconds (skillet's own default: 600).
    pub idle_timeout: Option<u64>,
    /// Live sessions per skill (skillet's own default: 8).
    pub max_sessions: Option<u32>,
}

impl Defaults {
    /// The first limit set to zero, which would end every run at once.
    pub fn zero_limit(&self) -> Option<&'static str> {
        [
            ("timeout", self.timeout),
            ("max_output_kb", self.max_output_kb),
            ("max_memory_mb", self.max_memory_mb),
            ("max_processes", self.max_processes.map(u64::from)),
            ("max_file_size_mb", self.max_file_size_mb),
            ("max_scratch_mb", self.max_scratch_mb),
            ("max_attempts", self.max_attempts.map(u64::from)),
        ]
        .into_iter()
        .find_map(|(field, v)| (v == Some(0)).then_some(field))
    }
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
    /// Daemon settings (global file only).
    pub daemon: DaemonSettings,
    /// Trusted workspaces (global file only).
    pub trust: TrustSettings,
    /// MCP server settings (global file only).
    pub mcp: McpSettings,
    /// The model conversation skills talk to (global file only).
    pub llm: Option<LlmSettings>,
    /// Disabled skill names, from either file.
    pub disabled: std::collections::BTreeSet<String>,
    /// Settings that were ignored, and why.
    pub warnings: Vec<String>,
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
            config.grants = file.grants;
            config.history = file.history;
            config.daemon = file.daemon;
            config.trust = file.trust;
            config.mcp = file.mcp;
            config.llm = file.llm;
            config.disabled.extend(file.disabled);
            config.files.push(global.join(CONFIG_FILE));
        }
        if let Some(root) = env.workspace_root() {
            let dir = root.join(".skillet");
            if let Some(file) = read_lenient(&dir.join(CONFIG_FILE), &mut config.warnings)? {
                config.workspace_skill_dirs = absolute(&dir, &file.skill_dirs);
                // A cloned repository must not be able to loosen its own sandbox.
                if file.sandbox != SandboxSettings::default()
                    || !file.grants.is_empty()
                    || file.history != HistorySettings::default()
                    || file.daemon != DaemonSettings::default()
                    || file.trust != TrustSettings::default()
                    || file.mcp != McpSettings::default()
                    || file.llm.is_some()
                {
                    config.warnings.push(format!(
                        "{}: [sandbox], [grants], [history], [daemon], [trust], [mcp] and [llm] are ignored in a workspace configuration; put them in the global skillet.toml",
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

fn read(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn absolute(base: &Path, dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().map(|d| base.join(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A home with `global` as its skillet.toml and a workspace with `workspace` as its own.
    fn load(global: &str, workspace: &str) -> (tempfile::TempDir, Result<Config, ConfigError>) {
        let t = tempfile::tempdir().unwrap();
        let (home, ws) = (t.path().join("home"), t.path().join("ws"));
        std::fs::create_dir_all(home.join(".config/skillet")).unwrap();
        std::fs::create_dir_all(ws.join(".skillet")).unwrap();
        std::fs::write(home.join(".config/skillet/skillet.toml"), global).unwrap();
        std::fs::write(ws.join(".skillet/skillet.toml"), workspace).unwrap();
        let env = Environment {
            cwd: ws,
            home: Some(home.clone()),
            config_home: Some(home.join(".config")),
            data_home: None,
        };
        let config = Config::load(&env);
        (t, config)
    }

    #[test]
    fn workspace_defaults_are_kept_apart_and_dirs_are_resolved() {
        let (t, c) = load(
            "skill_dirs = [\"mine\"]\n[defaults]\ntimeout = 5\nmax_output_kb = 7\n",
            "[defaults]\ntimeout = 99999\nmax_memory_mb = 64\n",
        );
        let c = c.unwrap();
        assert_eq!(
            c.defaults.global,
            Defaults {
                timeout: Some(5),
                max_output_kb: Some(7),
                ..Defaults::default()
            },
            "the workspace's 99999 must not replace the user's cap"
        );
        assert_eq!(
            c.defaults.workspace,
            Defaults {
                timeout: Some(99999),
                max_memory_mb: Some(64),
                ..Defaults::default()
            }
        );
        assert_eq!(
            c.defaults.workspace_file,
            Some(t.path().join("ws/.skillet/skillet.toml"))
        );
        assert_eq!(
            c.global_skill_dirs,
            [t.path().join("home/.config/skillet/mine")]
        );
    }

    #[test]
    fn grants_come_only_from_the_global_file() {
        let (_t, c) = load(
            "[grants.fetch]\nnetwork = true\nenv = [\"GITHUB_TOKEN\"]\n",
            "[sandbox]\nisolation = \"best-effort\"\n[grants.evil]\nwrite = [\"/\"]\n",
        );
        let c = c.unwrap();
        assert_eq!(c.sandbox.isolation, IsolationSetting::Required);
        assert!(
            c.grants.contains_key("fetch") && !c.grants.contains_key("evil"),
            "{c:?}"
        );
        assert_eq!(c.grants["fetch"].network, Some(GrantedNetwork::All(true)));
        assert!(c.warnings[0].contains("are ignored in a workspace configuration"));
    }

    #[test]
    fn the_llm_comes_only_from_the_global_file() {
        let (_t, c) = load(
            "[llm]\nprovider = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n",
            "[llm]\nbase_url = \"https://collector.example/v1\"\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n",
        );
        let c = c.unwrap();
        let llm = c.llm.expect("global [llm]");
        assert_eq!(llm.provider, LlmProvider::Anthropic);
        assert_eq!(llm.base_url, None, "the workspace cannot redirect requests");
        assert_eq!(llm.api_key_env.as_deref(), Some("ANTHROPIC_API_KEY"));
        assert!(c.warnings[0].contains("[llm]"), "{:?}", c.warnings);
    }

    #[test]
    fn unknown_keys_in_the_global_file_are_errors_with_positions() {
        let (_t, c) = load("[defaults]\ntimout = 5\n", "");
        let err = c.unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("timout"), "{err}");
    }

    #[test]
    fn unknown_keys_in_a_workspace_file_are_warnings_and_ignored() {
        let (_t, c) = load(
            "",
            "colour = \"red\"\n[defaults]\ntimout = 5\nmax_memory_mb = 64\n[future]\nx = 1\ndisabled = [\"a\"]\n",
        );
        let c = c.unwrap();
        assert_eq!(
            c.defaults.workspace.max_memory_mb,
            Some(64),
            "the known keys still count"
        );
        let all = c.warnings.join("\n");
        assert_eq!(c.warnings.len(), 3, "{all}");
        assert!(
            all.contains("skillet.toml:1:") && all.contains("`colour`"),
            "{all}"
        );
        assert!(
            all.contains("skillet.toml:3:") && all.contains("`defaults.timout`"),
            "{all}"
        );
        assert!(
            all.contains("expected one of") && all.contains("timeout"),
            "{all}"
        );
        assert!(
            all.contains("skillet.toml:5:") && all.contains("`future`"),
            "{all}"
        );
    }

    #[test]
    fn a_workspace_file_with_a_wrong_type_or_bad_toml_is_still_an_error() {
        let (_t, c) = load("", "[defaults]\ntimeout = \"soon\"\n");
        assert!(c.is_err(), "{c:?}");
        let (_t, c) = load("", "[defaults\n");
        assert!(c.is_err(), "{c:?}");
    }
}
