//! Running skills.
//!
//! This crate owns what happens between "run skill X with these values" and the
//! [`ExecutionResult`]: resolving the name, checking the values against the declarations,
//! building the process's argv and environment without ever going through a shell, choosing the
//! limits, and calling the executor of the skill's type: `code_inline` (a supervised process),
//! `prompt_inline` (a rendered prompt) and `code_session` (an interpreter kept alive by a
//! [`session::SessionManager`]) and `conversation` (an exchange with a model through
//! `skillet-llm`, kept as a session: [`Engine::converse`]). Around the executor it owns the
//! sandbox policy of a run (`policy/`), retries, circuit breakers and fallbacks, the context
//! files a conversation sends, and the record of every run in the store, whoever called it.
//!
//! It must not parse skill files (`skillet-spec`), find them (`skillet-registry`) or touch the
//! kernel's process machinery directly (`skillet-sandbox`). Its errors describe the problem;
//! command hints (`run skillet trust`) are the CLI's and the MCP server's to add, from the typed
//! [`Hint`] a refusal carries ([`ExecutionResult::hint`], `SessionError::hint`,
//! `ConversationError::hint`, [`PolicyError::hint`]).
//!
//! ```no_run
//! # async fn f(registry: skillet_registry::Registry) {
//! use skillet_engine::{Engine, RunRequest};
//! let mut request = RunRequest::default();
//! request.params.insert("file".into(), "Cargo.toml".into());
//! let result = Engine::default().run(&registry, "count-lines", request).await;
//! println!("{}: {}", result.status.as_str(), result.stdout);
//! # }
//! ```

mod batch;
mod breaker;
mod cache;
mod cancel;
pub mod channels;
mod concurrency;
mod context;
mod context_report;
pub mod conversation;
mod credentials;
mod engine;
mod execute;
mod hint;
mod insight;
mod invocation;
mod params;
mod policy;
mod prepare;
mod recovery;
mod result;
mod run_queue;
pub mod session;
mod setup;
pub mod state;
mod workspace;

pub use batch::{BatchCall, BatchLineError, BatchOptions, default_jobs, parse_batch};
pub use breaker::{
    Admission, BreakerConfig, DEFAULT_FAILURE_THRESHOLD, DEFAULT_RESET_AFTER, counts_as_failure,
};
pub use cache::CacheUse;
pub use cancel::Cancel;
pub use context::{
    BYTES_PER_TOKEN, ContextError, ContextFile, ContextSelection, DEFAULT_MAX_FILE_SIZE_KB,
    DEFAULT_MAX_FILES, DEFAULT_MAX_TOTAL_KB, SkippedFile, select_context,
};
pub use context_report::{ContextReport, ContextRequestError, FileChange};
pub use credentials::is_secret_file;
pub use engine::{
    AskedBy, Engine, EngineSettings, MAX_FALLBACK_DEPTH, Prepared, RunOverrides, RunRequest,
    SKILL_DIR_ENV, WORKSPACE_ENV,
};
pub use hint::Hint;
pub use insight::{
    AttemptView, ConversationView, DebugReport, EnvOrigin, EnvVar, LayersView, LimitsView,
    MountView, Observe, ParamView, Phase, PhaseTimes, PlanView, PolicyView, ProcessView, Profile,
    SourceView,
};
pub use invocation::{
    Dirs, Invocation, MAX_ARG_STRLEN, build_invocation, program_path, render_prompt,
};
pub use params::{ParamValues, confine_paths, resolve_params};
pub use policy::{
    Boundaries, DEFAULT_ENV_PASSTHROUGH, DEFAULT_MAX_FILE_SIZE_MB, DEFAULT_MAX_MEMORY_MB,
    DEFAULT_MAX_OUTPUT_KB, DEFAULT_MAX_PROCESSES, DEFAULT_TIMEOUT_S, MAX_GRANTED_TIMEOUT_S,
    PolicyContext, PolicyError, PolicyPlan, RunLimits, Toolchain, credential_reason, looks_secret,
    plan_policy, redact_credentials, run_limits, toolchain, wall_time_s,
};
pub use recovery::{
    DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS_CAP, DEFAULT_MAX_BACKOFF,
    RetryPlan, full_jitter, max_attempts,
};
pub use result::{ExecutionResult, Status};
pub use run_queue::{NoTurn, Priority, QueuedRun, RunQueue, Turn, TurnAsked};
pub use setup::{EngineSetup, STORE_FILE, SetupError, StoreLocation};
pub use skillet_sandbox::{Isolation, OutputChunk, StdinSource, Stream};
