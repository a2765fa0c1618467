//! The limits of one session's life: its skill's `session_config`, held at the user's caps.

use std::time::Duration;

use skillet_spec::SkillSpec;

use crate::policy::{Kind, MAX_GRANTED_TIMEOUT_S, PolicyContext, settle};

/// Longest life of a session when the user sets no cap: one hour.
pub const DEFAULT_SESSION_TIMEOUT_S: u64 = 3600;
/// Idle time after which a session is closed when the user sets no cap: ten minutes.
pub const DEFAULT_IDLE_TIMEOUT_S: u64 = 600;
/// Live sessions per skill when the user sets no cap.
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

const SESSION_TIMEOUT: Kind = Kind {
    field: "session_timeout",
    unit: " s",
    builtin: DEFAULT_SESSION_TIMEOUT_S,
    global: |d| d.session_timeout,
};
const IDLE_TIMEOUT: Kind = Kind {
    field: "idle_timeout",
    unit: " s",
    builtin: DEFAULT_IDLE_TIMEOUT_S,
    global: |d| d.idle_timeout,
};
const MAX_SESSIONS: Kind = Kind {
    field: "max_sessions",
    unit: "",
    builtin: DEFAULT_MAX_SESSIONS as u64,
    global: |d| d.max_sessions.map(u64::from),
};

impl Lifecycle {
    /// The lifecycle of `spec`'s sessions under `ctx`; `answer_timeout` is the run's wall-clock
    /// limit. A skill's `session_config` can only lower the user's caps (`[defaults]`
    /// `session_timeout`, `idle_timeout`, `max_sessions` of the global `skillet.toml`, else
    /// skillet's own defaults), by the same rule as every limit; what was held back is told in
    /// `warnings`.
    pub fn of(
        spec: &SkillSpec,
        ctx: &PolicyContext,
        answer_timeout: Duration,
        warnings: &mut Vec<String>,
    ) -> Lifecycle {
        let cfg = spec.session_config.as_ref();
        let mut cap = |kind: &Kind, asked: Option<u64>| {
            settle(kind, asked, &spec.name, ctx, warnings).clamp(1, MAX_GRANTED_TIMEOUT_S)
        };
        let session_timeout = cap(&SESSION_TIMEOUT, cfg.and_then(|c| c.session_timeout));
        let idle_timeout = cap(&IDLE_TIMEOUT, cfg.and_then(|c| c.idle_timeout));
        let max_sessions = cap(
            &MAX_SESSIONS,
            cfg.and_then(|c| c.max_sessions).map(u64::from),
        );
        Lifecycle {
            session_timeout: Duration::from_secs(session_timeout),
            idle_timeout: Duration::from_secs(idle_timeout),
            max_sessions: u32::try_from(max_sessions).unwrap_or(u32::MAX),
            cleanup_on_exit: cfg.and_then(|c| c.cleanup_on_exit).unwrap_or(true),
            answer_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillet_registry::{Defaults, Grant, LayeredDefaults};

    fn spec(config: serde_json::Value) -> SkillSpec {
        serde_json::from_value(serde_json::json!({"name": "s", "type": "code_session",
            "command": "bash", "session_config": config}))
        .unwrap()
    }

    fn ctx(global: Defaults, raise: bool) -> PolicyContext {
        PolicyContext {
            defaults: LayeredDefaults {
                global,
                ..LayeredDefaults::default()
            },
            grant: Grant {
                raise_limits: raise,
                ..Grant::default()
            },
            ..PolicyContext::default()
        }
    }

    #[test]
    fn a_skill_only_lowers_the_users_session_caps() {
        let greedy = spec(serde_json::json!({"session_timeout": 999_999_999_u64,
            "idle_timeout": 999_999_999_u64, "max_sessions": 100_000}));
        let mut warnings = Vec::new();
        let l = Lifecycle::of(
            &greedy,
            &ctx(Defaults::default(), false),
            Duration::from_secs(30),
            &mut warnings,
        );
        assert_eq!(
            (
                l.session_timeout.as_secs(),
                l.idle_timeout.as_secs(),
                l.max_sessions
            ),
            (
                DEFAULT_SESSION_TIMEOUT_S,
                DEFAULT_IDLE_TIMEOUT_S,
                DEFAULT_MAX_SESSIONS
            )
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[2].contains("max_sessions 100000 is above the cap of 8"),
            "{warnings:?}"
        );

        let user = Defaults {
            session_timeout: Some(60),
            max_sessions: Some(20),
            ..Defaults::default()
        };
        let modest = spec(serde_json::json!({"session_timeout": 10, "max_sessions": 12}));
        let l = Lifecycle::of(
            &modest,
            &ctx(user.clone(), false),
            Duration::from_secs(30),
            &mut Vec::new(),
        );
        assert_eq!((l.session_timeout.as_secs(), l.max_sessions), (10, 12));
        let l = Lifecycle::of(
            &greedy,
            &ctx(user, false),
            Duration::from_secs(30),
            &mut Vec::new(),
        );
        assert_eq!((l.session_timeout.as_secs(), l.max_sessions), (60, 20));
        // The user's grant lets the skill's own numbers stand (a year at most).
        let l = Lifecycle::of(
            &greedy,
            &ctx(Defaults::default(), true),
            Duration::from_secs(30),
            &mut Vec::new(),
        );
        assert_eq!(l.max_sessions, 100_000);
        assert_eq!(l.session_timeout.as_secs(), MAX_GRANTED_TIMEOUT_S);
    }
}
