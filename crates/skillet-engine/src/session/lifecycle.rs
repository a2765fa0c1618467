//! The limits of one session's life, from its skill's `session_config`.

use std::time::Duration;

use skillet_spec::SkillSpec;

/// Longest life of a session when the skill does not say: one hour.
pub const DEFAULT_SESSION_TIMEOUT_S: u64 = 3600;
/// Idle time after which a session is closed when the skill does not say: ten minutes.
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 600;
/// Live sessions per skill when the skill does not say.
pub const DEFAULT_MAX_SESSIONS: u32 = 8;

/// When a session ends by itself, and how long one input may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// Longest life.
    pub session_timeout: Duration,
    /// Longest time without an input.
    pub idle_timeout: Duration,
    /// Most live sessions of the skill.
    pub max_sessions: u32,
    /// Delete the scratch directory when the daemon stops.
    pub cleanup_on_exit: bool,
    /// Longest time one input may take: the skill's `timeout`, as for a run.
    pub answer_timeout: Duration,
}

impl Lifecycle {
    /// The lifecycle of `spec`'s sessions; `answer_timeout` is the run's wall-clock limit.
    pub fn of(spec: &SkillSpec, answer_timeout: Duration) -> Lifecycle {
        let cfg = spec.session_config.as_ref();
        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default).max(1));
        Lifecycle {
            session_timeout: secs(
                cfg.and_then(|c| c.session_timeout),
                DEFAULT_SESSION_TIMEOUT_S,
            ),
            idle_timeout: secs(cfg.and_then(|c| c.idle_timeout), DEFAULT_IDLE_TIMEOUT_S),
            max_sessions: cfg
                .and_then(|c| c.max_sessions)
                .unwrap_or(DEFAULT_MAX_SESSIONS)
                .max(1),
            cleanup_on_exit: cfg.and_then(|c| c.cleanup_on_exit).unwrap_or(true),
            answer_timeout,
        }
    }
}
