//! The sections of `skillet.toml`, one type each: `[llm]`, `[mcp]`, `[trust]`, `[daemon]`,
//! `[history]`, `[sandbox]`, `[grants.<skill>]` and `[defaults]`. Which file may set which
//! section is decided where the files are merged (`config.rs`), not here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    /// Warm pool interpreters (idle or starting) kept at once across every pooled skill,
    /// workspace and parameter set (default: four per core, between 8 and 32). Past it, the
    /// pools used least recently give up their idle members first.
    pub max_warm_interpreters: Option<usize>,
}

/// `[jobs]`: the daemon's queue of background jobs (`skillet run --detach`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// Jobs and MCP-over-HTTP calls run at once (default: eight per core, between 8 and 64).
    pub max_running: Option<usize>,
    /// Jobs waiting at most; one more is refused as busy (default 1000).
    pub max_queued: Option<usize>,
    /// Seconds a waiting job takes to climb one priority level (default 30).
    pub aging_s: Option<u64>,
    /// Percent of the machine's memory the running jobs' memory limits may add up to
    /// (default 50; never below one default-sized run). A job that would pass it waits.
    pub memory_percent: Option<u8>,
    /// The same budget in MiB, in place of `memory_percent`.
    pub memory_budget_mb: Option<u64>,
    /// With a store several machines share (`[store] url`): seconds a daemon holds a running
    /// job without renewing its lease before another daemon takes it over (default 30).
    pub lease_s: Option<u64>,
}

/// `[store]`: where the history, circuit breakers, sessions, state, cache and jobs are kept.
/// Absent, they are in the SQLite file `$XDG_DATA_HOME/skillet/skillet.db`; with `url`, in a
/// PostgreSQL database that several machines share (docs/scaling.md). Global file only: a
/// repository must not be able to send the history elsewhere.
///
/// ```toml
/// [store]
/// url = "postgres://skillet@db.internal/skillet"   # ?sslmode=require for TLS
/// password_file = "/run/secrets/skillet-db"        # the password, kept out of this file
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// The PostgreSQL database, `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
    pub url: Option<String>,
    /// A file holding the password (its first line), used in place of one in `url`.
    pub password_file: Option<PathBuf>,
}

/// `[history]`: what is kept of each execution, and for how long.
///
/// ```toml
/// [history]
/// store_params = false   # keep parameter values, not only their hash
/// store_output = true    # keep the last lines of each run's output for `skillet logs`
/// keep_days = 90         # executions and ended sessions' transcripts older than this go (0: keep all)
/// max_rows = 1000000     # at most this many executions are kept, the newest (0: no cap)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Keep parameter values, not only their hash. Off by default: values may hold secrets.
    #[serde(default)]
    pub store_params: bool,
    /// Keep the tails of each run's stdout and stderr (the last 40 lines, 4 KiB of each,
    /// credentials redacted) where `skillet logs` finds them (default true).
    pub store_output: Option<bool>,
    /// Days an execution (and an ended session with its transcript) is kept; 0 keeps them
    /// forever (default [`HistorySettings::DEFAULT_KEEP_DAYS`]).
    pub keep_days: Option<u64>,
    /// Most executions kept, the most recently recorded; 0 for no cap (default
    /// [`HistorySettings::DEFAULT_MAX_ROWS`]).
    pub max_rows: Option<u64>,
}

impl HistorySettings {
    /// Days kept when `keep_days` is not set.
    pub const DEFAULT_KEEP_DAYS: u64 = 90;
    /// Executions kept when `max_rows` is not set.
    pub const DEFAULT_MAX_ROWS: u64 = 1_000_000;

    /// Whether runs' output tails are kept.
    pub fn store_output(&self) -> bool {
        self.store_output.unwrap_or(true)
    }

    /// Days kept, `None` for forever.
    pub fn keep_days(&self) -> Option<u64> {
        Some(self.keep_days.unwrap_or(Self::DEFAULT_KEEP_DAYS)).filter(|d| *d > 0)
    }

    /// Executions kept, `None` for no cap.
    pub fn max_rows(&self) -> Option<u64> {
        Some(self.max_rows.unwrap_or(Self::DEFAULT_MAX_ROWS)).filter(|n| *n > 0)
    }
}

/// `[sandbox]`: how strict confinement is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// `required` (default): refuse to run when a layer is unavailable. `best-effort`: run with
    /// what the machine supports and say what is missing.
    #[serde(default)]
    pub isolation: IsolationSetting,
    /// All live scratch of every run and session together, in MiB: a run or session is refused
    /// when it is used up, and each gets at most what is left (default
    /// [`SandboxSettings::DEFAULT_MAX_SCRATCH_TOTAL_MB`]; 0: no bound but each run's own
    /// `max_scratch_mb`).
    pub max_scratch_total_mb: Option<u64>,
}

impl SandboxSettings {
    /// The bound on all scratch together when `max_scratch_total_mb` is not set.
    pub const DEFAULT_MAX_SCRATCH_TOTAL_MB: u64 = 4096;

    /// The bound on all scratch together in MiB, `None` for none.
    pub fn max_scratch_total_mb(&self) -> Option<u64> {
        Some(
            self.max_scratch_total_mb
                .unwrap_or(Self::DEFAULT_MAX_SCRATCH_TOTAL_MB),
        )
        .filter(|n| *n > 0)
    }
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
    /// The workspaces (root directories, absolute or `~/`) whose own skill of this name the
    /// grant is for as well. Left empty, it is for the user's own skill of this name only (a
    /// global skill, or one of a package installed globally): a cloned repository cannot take
    /// a grant by naming one of its skills after it.
    #[serde(default)]
    pub workspaces: Vec<String>,
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
    /// Largest state document a skill keeps, in KiB (skillet's own default: 1024).
    pub max_state_kb: Option<u64>,
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
            ("max_state_kb", self.max_state_kb),
        ]
        .into_iter()
        .find_map(|(field, v)| (v == Some(0)).then_some(field))
    }
}

/// `[cache]` of the global `skillet.toml`: how much the result cache may keep.
///
/// ```toml
/// [cache]
/// max_mb = 256   # stored results together; the least recently used go first
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// MiB all stored results may take (default [`CacheSettings::DEFAULT_MAX_MB`]); 0 stores
    /// nothing.
    pub max_mb: Option<u64>,
}

impl CacheSettings {
    /// MiB kept when `max_mb` is not set.
    pub const DEFAULT_MAX_MB: u64 = 256;

    /// The bound, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_mb
            .unwrap_or(Self::DEFAULT_MAX_MB)
            .saturating_mul(1024 * 1024)
    }
}

/// `[telemetry]`: where the daemon sends each execution's trace (OTLP over HTTP, protobuf).
///
/// ```toml
/// [telemetry]
/// otlp_endpoint = "http://127.0.0.1:4318"   # the collector; traces go to /v1/traces
/// service_name = "skillet"                   # service.name of the spans' resource
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The OpenTelemetry collector's OTLP/HTTP address (`http://host:4318`), or the full
    /// traces URL (ending in `/v1/traces`). Absent: nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` of the exported spans (default `skillet`).
    pub service_name: Option<String>,
}

/// One `[[alerts]]` rule: the daemon watches a figure of the history and tells the user when a
/// condition starts and stops holding. Read from the global file only: a notification runs the
/// user's own command or reaches the user's own URL.
///
/// ```toml
/// [[alerts]]
/// name = "review failing"
/// skill = "review"                       # absent: every skill, each on its own
/// when = "failure_rate > 0.2"            # a figure of `skillet stats`, a comparison, a number
/// window = "15m"                         # over the runs of the last 15 minutes (default)
/// notify = { command = ["notify-send", "skillet"] }   # or { webhook = "http://…" }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// What the alert is called in notifications and `skillet alerts`.
    pub name: String,
    /// The skill watched; absent: every skill with runs, each firing on its own.
    pub skill: Option<String>,
    /// The condition: `FIGURE OP NUMBER`, e.g. `failure_rate > 0.2`, `p95_ms >= 2000`.
    pub when: String,
    /// The runs the figure is taken over: `90s`, `15m`, `1h`, … (default 15m).
    pub window: Option<String>,
    /// Fewer runs than this in the window never fire (default 1).
    pub min_runs: Option<u64>,
    /// How long the condition must stay false before the alert resolves: `30s`, `5m`, …
    /// (default 1m), so a condition that flickers fires once, not at every flicker.
    pub resolve_after: Option<String>,
    /// Whom to tell.
    pub notify: AlertNotify,
}

/// Where an alert's notifications go: a command, a webhook, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertNotify {
    /// A program and its arguments, run without a shell, the event as JSON on its stdin and
    /// in `SKILLET_ALERT_*` variables.
    pub command: Option<Vec<String>>,
    /// An `http://` or `https://` URL the event is POSTed to as JSON.
    pub webhook: Option<String>,
}
