//! The record of one execution, as `skillet run --json` prints it.

use serde::Serialize;

use crate::hint::Hint;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran and exited 0 (or, for prompt skills, rendered).
    Ok,
    /// Ran and exited non-zero, or was killed by a signal.
    Failed,
    /// Killed at its wall-clock limit.
    Timeout,
    /// Stopped by a resource limit: memory, CPU seconds, output size, file size or scratch disk
    /// (see `limit`).
    ResourceLimit,
    /// Killed by the sandbox for a forbidden system call.
    SandboxDenied,
    /// The parameters did not fit the declarations; nothing ran.
    InvalidParams,
    /// No skill or alias has that name.
    NotFound,
    /// The program could not be started (not found, not executable, sandbox setup failed).
    SpawnFailed,
    /// A bug in skillet; the message says what to report.
    Internal,
    /// Refused without running: the skill's circuit breaker is open.
    CircuitOpen,
    /// Anything else that kept the skill from running: a broken skill file, a program that
    /// cannot be started, a skill type this version cannot run.
    Error,
    /// Stopped from outside before it ended (`skillet run` got SIGINT or SIGTERM, an MCP
    /// client cancelled the call); its processes were killed.
    Cancelled,
}

impl Status {
    /// The status as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::ResourceLimit => "resource_limit",
            Status::SandboxDenied => "sandbox_denied",
            Status::InvalidParams => "invalid_params",
            Status::NotFound => "not_found",
            Status::SpawnFailed => "spawn_failed",
            Status::Internal => "internal",
            Status::CircuitOpen => "circuit_open",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
        }
    }
}

/// One execution of a skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionResult {
    /// UUIDv7; the correlation id of this execution everywhere.
    pub execution_id: String,
    /// The skill's name (the alias is resolved), or the name asked for when none matched.
    pub skill: String,
    /// How it ended.
    pub status: Status,
    /// The process's exit code (128 + signal when killed by one); absent when nothing ran or it
    /// timed out.
    pub exit_code: Option<i32>,
    /// Standard output, up to the cap (invalid UTF-8 replaced).
    pub stdout: String,
    /// Standard error, up to the cap (invalid UTF-8 replaced).
    pub stderr: String,
    /// Wall-clock time of the process, in milliseconds.
    pub duration_ms: u64,
    /// Whether stdout or stderr was cut at the cap.
    pub truncated: bool,
    /// The limit that stopped the run (`time`, `memory`, `cpu`, `output`, `max_file_size`,
    /// `processes`, `scratch_disk`, `write_cap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
    /// CPU time of the process tree, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time_ms: Option<u64>,
    /// Largest resident set of the run's processes, in KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_kb: Option<u64>,
    /// The most processes of the run alive at once (from its cgroup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_processes: Option<u64>,
    /// Bytes the run wrote to storage devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_written: Option<u64>,
    /// What a conversation asked of its model, when it asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmUse>,
    /// What went wrong, for statuses other than `ok` and `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What would get a refused call going; each interface says it in its own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<Hint>,
    /// Things the user should know: declarations refused or not enforced, retries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
    /// Shared by every attempt of one call, and by its fallbacks: the id of the first.
    pub correlation_id: String,
    /// The skill this one answered for, as its fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
    /// Answered from the result cache: nothing ran, the output is a stored run's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Every decision of the call, when asked for (`--debug`, [`crate::Observe`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<Box<crate::insight::DebugReport>>,
    /// Where the call's time went, when asked for (`--profile`, [`crate::Observe`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Box<crate::insight::Profile>>,
    /// How long this attempt waited for a slot of the skill's own `concurrency` bound, for
    /// the history's queue wait; not part of the result a caller reads.
    #[serde(skip)]
    pub slot_wait_ms: Option<u64>,
    /// The credentials the run was given (a grant's or `--allow-env`'s), by name and value:
    /// never shown or stored, only looked for, in any common encoding, in the output the cache
    /// would keep and the log lines keep (see `cache/mod.rs` and `output_log.rs`).
    #[serde(skip)]
    pub(crate) given_credentials: Vec<(String, String)>,
}

impl ExecutionResult {
    pub(crate) fn new(skill: impl Into<String>, status: Status) -> Self {
        let execution_id = uuid::Uuid::now_v7().to_string();
        ExecutionResult {
            correlation_id: execution_id.clone(),
            attempt: 1,
            fallback_from: None,
            execution_id,
            skill: skill.into(),
            status,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            duration_ms: 0,
            truncated: false,
            limit: None,
            cpu_time_ms: None,
            peak_memory_kb: None,
            peak_processes: None,
            bytes_written: None,
            llm: None,
            error: None,
            hint: None,
            warnings: Vec::new(),
            cached: false,
            debug: None,
            profile: None,
            slot_wait_ms: None,
            given_credentials: Vec::new(),
        }
    }

    /// The same result, with `hint` saying what would get it going.
    pub(crate) fn with_hint(mut self, hint: Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The result of a call that skillet itself failed (a bug), with `message` saying so.
    pub fn internal(skill: &str, message: String) -> Self {
        ExecutionResult::new(skill, Status::Internal).with_error(message)
    }

    pub(crate) fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// What a conversation asked of its model during one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LlmUse {
    /// Tokens sent, as the provider counted them (0 when it does not say).
    pub input_tokens: u64,
    /// Tokens answered.
    pub output_tokens: u64,
    /// Time spent waiting on the model, every request and retry together.
    pub request_ms: u64,
}
