//! The resource limits of a run, and the one rule that settles each of them.
//!
//! Limits are the user's. The global `skillet.toml` `[defaults]` (else skillet's own defaults)
//! are caps: a skill that sets nothing gets the cap, a skill's `timeout` or `resource_limits`
//! and a workspace's `[defaults]` may only go lower. Going higher takes the user's grant
//! (`raise_limits` in `[grants.<skill>]`, or `--allow-raise-limits`); without it the request is
//! held at the cap and the run says so.

use skillet_registry::{Defaults, LayeredDefaults};
use skillet_spec::SkillSpec;

use super::PolicyContext;

/// Wall-clock limit when neither the skill nor the configuration sets one.
pub const DEFAULT_TIMEOUT_S: u64 = 30;
/// Output kept per stream when neither the skill nor the configuration sets a cap.
pub const DEFAULT_MAX_OUTPUT_KB: u64 = 1024;
/// Memory of the default policy.
pub const DEFAULT_MAX_MEMORY_MB: u64 = 512;
/// Processes and threads of the default policy.
pub const DEFAULT_MAX_PROCESSES: u32 = 64;
/// Largest file the default policy lets a skill write.
pub const DEFAULT_MAX_FILE_SIZE_MB: u64 = 256;
/// All writable scratch of one run together, in the default policy.
pub const DEFAULT_MAX_SCRATCH_MB: u64 = 256;
/// The longest wall-clock limit even a grant gives: far past any real run, and short enough
/// that deadlines computed from it cannot overflow.
pub const MAX_GRANTED_TIMEOUT_S: u64 = 366 * 24 * 3600;

/// The settled limits of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLimits {
    /// Wall clock, in seconds.
    pub wall_time_s: u64,
    /// Output kept per stream, in KiB.
    pub max_output_kb: u64,
    /// Memory, in MiB.
    pub max_memory_mb: u64,
    /// Processes and threads.
    pub max_processes: u64,
    /// Largest file written, in MiB.
    pub max_file_size_mb: u64,
    /// All writable scratch together, in MiB.
    pub max_scratch_mb: u64,
    /// Requests that were held at a cap, and how the user can raise it.
    pub warnings: Vec<String>,
}

/// One kind of limit: how it is named and what skillet caps it at when the user sets nothing.
pub(crate) struct Kind {
    /// The skill's field (and the `[defaults]` key).
    pub(crate) field: &'static str,
    /// Written after a value in messages (`" s"`, `" MiB"`, or nothing).
    pub(crate) unit: &'static str,
    /// The cap when the user's global `[defaults]` sets none.
    pub(crate) builtin: u64,
    /// The user's cap in the global file (or the workspace's lowering in its file).
    pub(crate) global: fn(&Defaults) -> Option<u64>,
}

/// Settles one limit of `skill` by the one rule (the user's cap, the workspace's lowering, the
/// user's `raise_limits` grant), for limits that live outside [`RunLimits`] (retries, sessions).
pub(crate) fn settle(
    kind: &Kind,
    skill_asks: Option<u64>,
    skill: &str,
    ctx: &PolicyContext,
    warnings: &mut Vec<String>,
) -> u64 {
    let rule = Rule {
        defaults: &ctx.defaults,
        raise: ctx.grant.raise_limits,
        raise_grant: ctx.grant_hint(skill, "raise_limits = true"),
    };
    rule.settle(kind, skill_asks, warnings)
}

const TIMEOUT: Kind = Kind {
    field: "timeout",
    unit: " s",
    builtin: DEFAULT_TIMEOUT_S,
    global: |d| d.timeout,
};
const OUTPUT: Kind = Kind {
    field: "max_output_kb",
    unit: " KiB",
    builtin: DEFAULT_MAX_OUTPUT_KB,
    global: |d| d.max_output_kb,
};
const MEMORY: Kind = Kind {
    field: "max_memory_mb",
    unit: " MiB",
    builtin: DEFAULT_MAX_MEMORY_MB,
    global: |d| d.max_memory_mb,
};
const PROCESSES: Kind = Kind {
    field: "max_processes",
    unit: "",
    builtin: DEFAULT_MAX_PROCESSES as u64,
    global: |d| d.max_processes.map(u64::from),
};
const SCRATCH: Kind = Kind {
    field: "max_scratch_mb",
    unit: " MiB",
    builtin: DEFAULT_MAX_SCRATCH_MB,
    global: |d| d.max_scratch_mb,
};
const FILE_SIZE: Kind = Kind {
    field: "max_file_size_mb",
    unit: " MiB",
    builtin: DEFAULT_MAX_FILE_SIZE_MB,
    global: |d| d.max_file_size_mb,
};

/// Settles every limit of `spec`'s runs under `ctx` (the user's caps, the workspace's
/// lowerings, the user's `raise_limits` grant).
pub fn run_limits(spec: &SkillSpec, ctx: &PolicyContext) -> RunLimits {
    let asked = spec
        .security
        .as_ref()
        .and_then(|s| s.resource_limits.clone())
        .unwrap_or_default();
    let rule = Rule {
        defaults: &ctx.defaults,
        raise: ctx.grant.raise_limits,
        raise_grant: ctx.grant_hint(&spec.name, "raise_limits = true"),
    };
    let mut warnings = Vec::new();
    // Both fields bound the same clock: the skill asks for the smaller.
    let timeout = [spec.timeout, asked.max_execution_time]
        .into_iter()
        .flatten()
        .min();
    let wall_time_s = rule
        .settle(&TIMEOUT, timeout, &mut warnings)
        .min(MAX_GRANTED_TIMEOUT_S);
    RunLimits {
        wall_time_s,
        max_output_kb: rule.settle(&OUTPUT, asked.max_output_kb, &mut warnings),
        max_memory_mb: rule.settle(&MEMORY, asked.max_memory_mb, &mut warnings),
        max_processes: rule.settle(
            &PROCESSES,
            asked.max_processes.map(u64::from),
            &mut warnings,
        ),
        max_file_size_mb: rule.settle(&FILE_SIZE, asked.max_file_size_mb, &mut warnings),
        // Skills have no field for it: only the user's and the workspace's `[defaults]` count.
        max_scratch_mb: rule.settle(&SCRATCH, None, &mut warnings),
        warnings,
    }
}

/// A run's wall-clock limit in seconds (see [`run_limits`]).
pub fn wall_time_s(spec: &SkillSpec, ctx: &PolicyContext) -> u64 {
    run_limits(spec, ctx).wall_time_s
}

struct Rule<'a> {
    defaults: &'a LayeredDefaults,
    raise: bool,
    /// How the user lets this skill's numbers exceed the caps, for good.
    raise_grant: String,
}

impl Rule<'_> {
    /// The workspace `skillet.toml`, as a message names it.
    fn workspace_file(&self) -> String {
        self.defaults.workspace_file.as_ref().map_or_else(
            || "the workspace skillet.toml".to_owned(),
            |f| f.display().to_string(),
        )
    }

    /// The one rule every limit follows: the cap is the global value, else skillet's own; the
    /// workspace may lower it; the skill's request stands when it is at most the cap. Anything
    /// above the cap stands only with the user's `raise_limits` grant, and is held at the cap
    /// with a warning otherwise.
    fn settle(&self, kind: &Kind, skill_asks: Option<u64>, warnings: &mut Vec<String>) -> u64 {
        let user_cap = (kind.global)(&self.defaults.global).unwrap_or(kind.builtin);
        let (field, unit) = (kind.field, kind.unit);
        // A zero limit would end every run at once (a run killed at 0 s, no output kept): from
        // a workspace or a skill, neither of which may stop the user's runs, it means "not set".
        let workspace = match (kind.global)(&self.defaults.workspace) {
            Some(0) => {
                warnings.push(format!(
                    "{} sets [defaults] {field} = 0, which would stop every run at once; ignored \
                     (remove it, or set a positive value)",
                    self.workspace_file()
                ));
                None
            }
            other => other,
        };
        let skill_asks = match skill_asks {
            Some(0) => {
                warnings.push(format!(
                    "{field} 0 would stop the run at once; ignored, using the cap (set a \
                     positive value in the skill)"
                ));
                None
            }
            other => other,
        };
        if self.raise {
            // The user trusts this skill's own numbers, and the workspace's in their absence.
            return skill_asks.or(workspace).unwrap_or(user_cap);
        }
        let raise_hint = format!(
            "the user raises it with --allow-raise-limits, `{}` or [defaults] {field} in the global skillet.toml",
            self.raise_grant
        );
        let cap = match workspace {
            Some(w) if w > user_cap => {
                let file = self.workspace_file();
                warnings.push(format!(
                    "{file} sets [defaults] {field} = {w}{unit}, above the cap of {user_cap}{unit}; using {user_cap}{unit} (a workspace can only lower limits; {raise_hint})"
                ));
                user_cap
            }
            Some(w) => w,
            None => user_cap,
        };
        match skill_asks {
            Some(v) if v > cap => {
                warnings.push(format!(
                    "{field} {v}{unit} is above the cap of {cap}{unit}; using {cap}{unit} ({raise_hint})"
                ));
                cap
            }
            Some(v) => v,
            None => cap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::{ctx, spec};
    use serde_json::json;

    fn huge() -> serde_json::Value {
        json!({"security": {"resource_limits": {"max_execution_time": 99999, "max_memory_mb": 1_000_000_000_u64,
            "max_output_kb": 1_000_000_000_u64, "max_processes": 100_000, "max_file_size_mb": 1_000_000_000_u64}}})
    }

    #[test]
    fn a_skill_asking_for_more_than_the_defaults_is_held_at_them_and_warned() {
        for (asks, what) in [
            (json!({"timeout": 99999}), "timeout"),
            (
                json!({"security": {"resource_limits": {"max_execution_time": 99999}}}),
                "max_execution_time",
            ),
            (
                json!({"timeout": 99999, "security": {"resource_limits": {"max_execution_time": 99998}}}),
                "both",
            ),
            (
                json!({"timeout": 5, "security": {"resource_limits": {"max_execution_time": 99998}}}),
                "the smaller is 5",
            ),
        ] {
            let l = run_limits(
                &spec(asks),
                &ctx(Defaults::default(), Defaults::default(), false),
            );
            if what == "the smaller is 5" {
                assert_eq!(l.wall_time_s, 5, "{what}");
                assert!(l.warnings.is_empty(), "{what}: {:?}", l.warnings);
                continue;
            }
            assert_eq!(l.wall_time_s, DEFAULT_TIMEOUT_S, "{what}");
            assert_eq!(l.warnings.len(), 1, "{what}: {:?}", l.warnings);
            assert!(
                l.warnings[0].contains("above the cap of 30 s")
                    && l.warnings[0].contains("--allow-raise-limits"),
                "{what}: {:?}",
                l.warnings
            );
        }
        let l = run_limits(
            &spec(huge()),
            &ctx(Defaults::default(), Defaults::default(), false),
        );
        assert_eq!(
            (
                l.wall_time_s,
                l.max_memory_mb,
                l.max_output_kb,
                l.max_processes,
                l.max_file_size_mb
            ),
            (
                DEFAULT_TIMEOUT_S,
                DEFAULT_MAX_MEMORY_MB,
                DEFAULT_MAX_OUTPUT_KB,
                u64::from(DEFAULT_MAX_PROCESSES),
                DEFAULT_MAX_FILE_SIZE_MB
            )
        );
        assert_eq!(l.warnings.len(), 5, "{:?}", l.warnings);
    }

    #[test]
    fn the_global_file_sets_the_caps_in_both_directions() {
        let global = Defaults {
            timeout: Some(2),
            max_memory_mb: Some(2048),
            ..Defaults::default()
        };
        let l = run_limits(
            &spec(json!({"timeout": 60, "security": {"resource_limits": {"max_memory_mb": 1024}}})),
            &ctx(global, Defaults::default(), false),
        );
        assert_eq!((l.wall_time_s, l.max_memory_mb), (2, 1024));
        assert!(
            l.warnings[0].contains("timeout 60 s is above the cap of 2 s"),
            "{:?}",
            l.warnings
        );
        assert_eq!(l.warnings.len(), 1);
        let roomy = Defaults {
            max_scratch_mb: Some(4096),
            ..Defaults::default()
        };
        let l = run_limits(
            &spec(json!({})),
            &ctx(roomy.clone(), Defaults::default(), false),
        );
        assert_eq!(l.max_scratch_mb, 4096, "the user raises the scratch cap");
        let l = run_limits(
            &spec(json!({})),
            &ctx(
                roomy,
                Defaults {
                    max_scratch_mb: Some(8),
                    ..Defaults::default()
                },
                false,
            ),
        );
        assert_eq!(l.max_scratch_mb, 8, "a workspace lowers it");
    }

    #[test]
    fn a_workspace_can_lower_the_caps_but_not_raise_them() {
        let workspace = Defaults {
            timeout: Some(99999),
            max_output_kb: Some(u64::MAX),
            max_memory_mb: Some(1 << 40),
            max_processes: Some(u32::MAX),
            max_file_size_mb: Some(1 << 40),
            max_scratch_mb: Some(1 << 40),
            max_attempts: Some(u32::MAX),
            ..Defaults::default()
        };
        let l = run_limits(
            &spec(json!({})),
            &ctx(Defaults::default(), workspace, false),
        );
        assert_eq!(l.max_scratch_mb, DEFAULT_MAX_SCRATCH_MB);
        assert_eq!(
            (
                l.wall_time_s,
                l.max_output_kb,
                l.max_memory_mb,
                l.max_processes
            ),
            (
                DEFAULT_TIMEOUT_S,
                DEFAULT_MAX_OUTPUT_KB,
                DEFAULT_MAX_MEMORY_MB,
                u64::from(DEFAULT_MAX_PROCESSES)
            )
        );
        assert_eq!(l.warnings.len(), 6, "{:?}", l.warnings);
        assert!(
            l.warnings[0].contains("/ws/.skillet/skillet.toml sets [defaults] timeout = 99999 s")
                && l.warnings[0].contains("a workspace can only lower limits"),
            "{:?}",
            l.warnings
        );

        // Lowering: the workspace's value is the new cap, for skills that ask and that do not.
        let lower = Defaults {
            timeout: Some(3),
            max_output_kb: Some(8),
            ..Defaults::default()
        };
        let quiet = run_limits(
            &spec(json!({})),
            &ctx(Defaults::default(), lower.clone(), false),
        );
        assert_eq!((quiet.wall_time_s, quiet.max_output_kb), (3, 8));
        assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
        let asks = run_limits(
            &spec(json!({"timeout": 20})),
            &ctx(Defaults::default(), lower, false),
        );
        assert_eq!(asks.wall_time_s, 3);
        assert!(
            asks.warnings[0].contains("above the cap of 3 s"),
            "{:?}",
            asks.warnings
        );
    }

    #[test]
    fn the_users_grant_raises_them() {
        let l = run_limits(
            &spec(huge()),
            &ctx(Defaults::default(), Defaults::default(), true),
        );
        assert_eq!(
            (l.wall_time_s, l.max_memory_mb, l.max_processes),
            (99999, 1_000_000_000, 100_000)
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let workspace = Defaults {
            timeout: Some(99999),
            max_output_kb: Some(1 << 30),
            ..Defaults::default()
        };
        let l = run_limits(&spec(json!({})), &ctx(Defaults::default(), workspace, true));
        assert_eq!((l.wall_time_s, l.max_output_kb), (99999, 1 << 30));
        // Even a grant stays within what a deadline can hold.
        let l = run_limits(
            &spec(json!({"timeout": u64::MAX})),
            &ctx(Defaults::default(), Defaults::default(), true),
        );
        assert_eq!(l.wall_time_s, MAX_GRANTED_TIMEOUT_S);
    }

    #[test]
    fn a_zero_from_a_workspace_or_a_skill_is_not_set() {
        let zero = Defaults {
            timeout: Some(0),
            max_output_kb: Some(0),
            max_memory_mb: Some(0),
            max_processes: Some(0),
            max_file_size_mb: Some(0),
            max_scratch_mb: Some(0),
            max_attempts: Some(0),
            ..Defaults::default()
        };
        let asks = spec(json!({"security": {"resource_limits": {
            "max_memory_mb": 0, "max_output_kb": 0, "max_processes": 0, "max_execution_time": 0}}}));
        for raise in [false, true] {
            let l = run_limits(&asks, &ctx(Defaults::default(), zero.clone(), raise));
            assert_eq!(l.wall_time_s, DEFAULT_TIMEOUT_S);
            assert_eq!(l.max_output_kb, DEFAULT_MAX_OUTPUT_KB);
            assert_eq!(l.max_memory_mb, DEFAULT_MAX_MEMORY_MB);
            assert_eq!(l.max_processes, u64::from(DEFAULT_MAX_PROCESSES));
            assert_eq!(l.max_scratch_mb, DEFAULT_MAX_SCRATCH_MB);
            assert!(
                l.warnings.iter().any(|w| w.contains("timeout = 0")),
                "{:?}",
                l.warnings
            );
        }
    }
}
