//! The canonical skill format as Rust types.
//!
//! These types are the single source of truth: the JSON Schema (`skillet schema`), the unknown-field
//! check and deserialization are all derived from them. Field doc comments become schema descriptions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::self_test::SkillTest;

/// One skill, as declared in a skill file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "skillet skill")]
pub struct SkillSpec {
    /// Optional JSON Schema reference, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unique name: lowercase letters, digits, `-` and `_`, starting with a letter or digit.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub name: String,
    /// What the skill does, in one line. Shown by `skillet list` and to agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Semantic version of the skill.
    #[serde(default = "default_version")]
    pub version: String,
    /// Other names the skill answers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// How the skill runs.
    #[serde(rename = "type")]
    pub kind: SkillKind,
    /// Program to run (code types). Looked up on `PATH` unless it contains a `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments. A `{param}` placeholder is replaced inside one argument, never through a shell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Working directory. Relative to where the skill runs by default: the directory skillet
    /// was called from inside the workspace, else the workspace root. `{skill_dir}/…` names
    /// the skill's own folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Extra environment variables for the process. Values may use `{param}` placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Wall-clock limit in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout: Option<u64>,
    /// Declared parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterSpec>,
    /// Prompt text with `{param}` placeholders (prompt types). `{{` and `}}` are literal braces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
    /// Alias of `prompt_template`; use one or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Project files given to a conversation as context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_files: Option<ContextFiles>,
    /// Questions a conversation skill asks, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guided_questions: Vec<String>,
    /// Most turns a conversation may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// How a conversation is summed up when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<Completion>,
    /// LLM model override for conversation skills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Lifecycle of sessions (code_session, conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_config: Option<SessionConfig>,
    /// What the skill asks to be allowed. The user grants it; the skill alone cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// Retry policy for retryable failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Circuit breaker policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Skill run with the same parameters when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Result caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// How many runs of this skill may go at once (code_inline skills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// A JSON document the skill keeps between runs (code_inline skills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<crate::state::StateSpec>,
    /// Named message channels the skill's runs and sessions use at `$SKILLET_CHANNEL_FD`
    /// (code_inline and code_session skills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<crate::channels::ChannelsSpec>,
    /// Other skills this one needs, with semver requirements.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, String>,
    /// License of the skill (SPDX expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Free-form metadata (author, tags, fields carried over from other formats).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Self-tests run by `skillet test`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<SkillTest>,
}

fn default_version() -> String {
    "0.0.0".to_owned()
}

impl SkillSpec {
    /// The prompt text, whichever of `prompt_template` or `prompt` holds it.
    pub fn prompt_text(&self) -> Option<&str> {
        self.prompt_template.as_deref().or(self.prompt.as_deref())
    }
}

/// The four kinds of skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkillKind {
    /// Run a command and return its output.
    CodeInline,
    /// Keep an interpreter alive across calls.
    CodeSession,
    /// A guided LLM sub-conversation.
    Conversation,
    /// Render a parameterised prompt.
    PromptInline,
}

impl SkillKind {
    /// The name used in skill files.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillKind::CodeInline => "code_inline",
            SkillKind::CodeSession => "code_session",
            SkillKind::Conversation => "conversation",
            SkillKind::PromptInline => "prompt_inline",
        }
    }

    /// Whether the skill runs a program.
    pub fn is_code(self) -> bool {
        matches!(self, SkillKind::CodeInline | SkillKind::CodeSession)
    }
}

impl std::fmt::Display for SkillKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Name used in `{placeholders}` and in `SKILL_PARAM_<NAME>`.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// What the parameter means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a value must be given (a default also satisfies it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// Value used when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Allowed values (`enum` type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Regular expression the whole value must match (string, path, enum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Smallest value (number, integer) or shortest length in characters (string, path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (number, integer) or longest length in characters (string, path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allow a value starting with `-` where it would stand as its own argument.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_flag_like: bool,
}

/// Parameter value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Any text.
    String,
    /// A finite number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// One of `values`.
    Enum,
    /// A file system path; relative paths are resolved against the caller's directory.
    Path,
}

impl ParamKind {
    /// The name used in skill files.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Number => "number",
            ParamKind::Integer => "integer",
            ParamKind::Boolean => "boolean",
            ParamKind::Enum => "enum",
            ParamKind::Path => "path",
        }
    }
}

/// Which project files a conversation reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextFiles {
    /// Glob patterns, relative to the workspace.
    pub patterns: Vec<String>,
    /// Glob patterns to leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Most files to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// Largest single file, in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size_kb: Option<u64>,
    /// Largest total, in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_kb: Option<u64>,
    /// Most tokens the files may take, estimated at 4 bytes a token; the file that crosses the
    /// budget is cut at a line, and the cut is marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_context_tokens: Option<u64>,
}

/// How a conversation ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// Template of the summary returned to the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_format: Option<String>,
    /// Prompt asking the model for the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_prompt: Option<String>,
}

/// Session lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Longest life of a session, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout: Option<u64>,
    /// Close a session idle this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
    /// Most live sessions of this skill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<u32>,
    /// Close sessions and delete their files when the daemon stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_exit: Option<bool>,
    /// How skillet knows where the output of one input ends (see docs/sessions.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SessionProtocol>,
    /// With `protocol: "repl"`, a regular expression matching the interpreter's prompt: the
    /// output of an input ends where the prompt appears. Needed only for interpreters skillet
    /// has no recipe for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What happens to a live session when the daemon restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<SessionRestore>,
    /// Pre-started interpreters that serve stateless calls (`skillet run`, MCP calls without a
    /// session id), each in a fresh namespace (see docs/sessions.md, "Warm pools").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolConfig>,
}

/// A warm pool of interpreters for a `code_session` skill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Interpreters kept started and idle, ready for the next call (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_idle: Option<u32>,
    /// Most interpreters at once, busy and idle (default 4; held at the user's
    /// `[defaults] max_sessions`). Calls past it wait for a free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Calls one interpreter serves before it is replaced: 1, the default and the only value
    /// allowed (an interpreter that served one caller could take over the next one's call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycle_after: Option<u32>,
    /// Code every interpreter runs once when it starts, before it is offered to a call, in a
    /// namespace of its own (such as `"import numpy"`): what it imports stays loaded, so no
    /// call pays for it; names it binds are not seen by calls (see docs/sessions.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preload: Option<String>,
}

/// How the output of one session input is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionProtocol {
    /// An interactive interpreter: skillet marks the end of each input's output itself.
    Repl,
    /// One JSON request per line in, one JSON response per line out.
    Jsonl,
}

/// What becomes of a session when the daemon that ran it restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionRestore {
    /// It ends.
    None,
    /// A new interpreter is started and given every recorded input again, in order.
    Replay,
}

/// What a skill asks to be allowed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_limits: Option<ResourceLimits>,
    /// Access the skill asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// Resource limits of one execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceLimits {
    /// Memory, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_mb: Option<u64>,
    /// Wall clock, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_execution_time: Option<u64>,
    /// CPU share, in percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu_percent: Option<u32>,
    /// Processes and threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u32>,
    /// Captured output per stream, in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_kb: Option<u64>,
    /// Largest file the skill may write, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size_mb: Option<u64>,
}

/// Access a skill asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Paths the skill may read, relative to the workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_read: Vec<String>,
    /// Paths the skill may write, relative to the workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_write: Vec<String>,
    /// `false`, `true`, or a list of `"host:port"` destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_access: Option<NetworkAccess>,
    /// Whether the skill may start further processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_spawn: Option<bool>,
    /// Names of parent environment variables passed through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_passthrough: Vec<String>,
}

/// Network access a skill asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NetworkAccess {
    /// All or nothing.
    Enabled(bool),
    /// Only these `"host:port"` destinations.
    Destinations(Vec<String>),
}

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// First backoff, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff_ms: Option<u64>,
    /// Largest backoff, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff_ms: Option<u64>,
    /// Exit codes that count as retryable failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on_exit_codes: Vec<i32>,
}

/// Circuit breaker policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the circuit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// Seconds before a trial call is let through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_after_s: Option<u64>,
    /// Also open when at least this share (0 to 1) of the last `window` calls failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_rate: Option<f64>,
    /// Calls the failure rate is measured over (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
}

/// Result caching: a run that ended ok answers later calls with the same key without running.
/// The key is the skill's content, the checked parameters, stdin, the grants in effect, the
/// values of `key_env` and the content of the files `key_files` match and `path` parameters name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// Seconds a cached result stays valid (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Globs, relative to the workspace root, of the files whose content the result depends on:
    /// editing any of them (or adding a matching file) makes a new key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_files: Vec<String>,
    /// Environment variables whose values the result depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_env: Vec<String>,
}

/// A skill's own bound on its runs at once, across every skillet process of the user (`skillet
/// run`, `batch`, the MCP server, the daemon): a run past it waits for one to end. For a skill
/// that calls a rate-limited service, or that uses a lot of memory.
///
/// ```
/// let spec: skillet_spec::SkillSpec = serde_json::from_str(
///     r#"{"name": "x", "type": "code_inline", "command": "true", "concurrency": {"max": 2}}"#,
/// ).unwrap();
/// assert_eq!(spec.concurrency.unwrap().max, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Concurrency {
    /// The most runs at once, 1 to 256.
    pub max: u32,
}

impl Concurrency {
    /// The largest `max` a skill may give.
    pub const MAX: u32 = 256;
}

impl Cache {
    /// Seconds a result stays valid when the skill sets no `ttl`.
    pub const DEFAULT_TTL: u64 = 300;

    /// Seconds a cached result stays valid.
    pub fn ttl_s(&self) -> u64 {
        self.ttl.unwrap_or(Self::DEFAULT_TTL)
    }
}
