//! Memory budgets: the running jobs' memory limits add up to at most a share of the machine's
//! memory. A job's share is its run's memory limit (`max_memory_mb` after the user's caps, the
//! workspace's lowerings and grants), read when it is submitted; a job that would pass the
//! budget waits, and one that could never fit is refused at once.

use skillet_engine::{Engine, EngineSetup};
use skillet_registry::{Environment, JobsSettings, Registry};

use crate::api::{ErrorCode, JobSubmitParams, ResponseError};

/// Percent of the machine's memory the running jobs may hold, by default.
pub const DEFAULT_MEMORY_PERCENT: u8 = 50;

/// The budget in MiB `settings` give on a machine of `machine_mb` (unknown: no budget): the
/// absolute `memory_budget_mb` if set, else `memory_percent` of the machine. A budget from the
/// percentage never drops below one run of the default size, so a small machine still runs
/// jobs one at a time rather than refusing them all.
pub(crate) fn budget_mb(settings: &JobsSettings, machine_mb: Option<u64>) -> Option<u64> {
    if let Some(mb) = settings.memory_budget_mb {
        return Some(mb.max(1));
    }
    let percent = u64::from(
        settings
            .memory_percent
            .unwrap_or(DEFAULT_MEMORY_PERCENT)
            .clamp(1, 100),
    );
    machine_mb.map(|total| (total * percent / 100).max(skillet_engine::DEFAULT_MAX_MEMORY_MB))
}

/// This machine's memory in MiB, from `/proc/meminfo`.
pub(crate) fn machine_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// The memory limit in MiB of the run job `params` asks for, as it would run now; 0 for a
/// skill that runs no program (a prompt) or that cannot be found (its run then fails with
/// the reason, holding nothing).
pub(crate) fn job_memory_mb(env: &Environment, params: &JobSubmitParams) -> u64 {
    let Ok(setup) = EngineSetup::load_in(env, &params.caller_dir) else {
        return 0;
    };
    let mut engine = setup.engine(None);
    if let Some(dir) = &params.workspace {
        match engine.with_workspace(dir) {
            Ok(e) => engine = e,
            Err(_) => return 0,
        }
    }
    memory_mb_in(&engine, &setup.registry_for(&params.skill), params)
}

/// The memory limit in MiB of job `params`'s run with `engine` and `registry` (see
/// [`job_memory_mb`]).
pub(crate) fn memory_mb_in(engine: &Engine, registry: &Registry, params: &JobSubmitParams) -> u64 {
    engine.memory_mb(registry, &params.skill, &params.overrides)
}

/// The refusal of a job needing `need_mb` under a budget of `budget_mb`, if it can never fit.
pub(crate) fn refusal(skill: &str, need_mb: u64, budget_mb: Option<u64>) -> Option<ResponseError> {
    let budget = budget_mb?;
    (need_mb > budget).then(|| {
        ResponseError::new(
            ErrorCode::Refused,
            format!(
                "`{skill}` runs with a memory limit of {need_mb} MiB, more than the {budget} MiB all running jobs may hold together ([jobs] memory_percent or memory_budget_mb in the global skillet.toml); nothing was queued: lower the skill's max_memory_mb, run it without --detach, or raise the budget and restart the daemon (`skillet daemon stop`)"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_share_of_the_machine_never_below_one_default_run() {
        let none = JobsSettings::default();
        assert_eq!(budget_mb(&none, Some(16_384)), Some(8_192));
        assert_eq!(budget_mb(&none, Some(600)), Some(512));
        assert_eq!(budget_mb(&none, None), None);
        let quarter = JobsSettings {
            memory_percent: Some(25),
            ..JobsSettings::default()
        };
        assert_eq!(budget_mb(&quarter, Some(16_384)), Some(4_096));
        let over = JobsSettings {
            memory_percent: Some(250),
            ..JobsSettings::default()
        };
        assert_eq!(budget_mb(&over, Some(16_384)), Some(16_384));
        let fixed = JobsSettings {
            memory_budget_mb: Some(300),
            memory_percent: Some(90),
            ..JobsSettings::default()
        };
        assert_eq!(budget_mb(&fixed, Some(16_384)), Some(300));
        assert!(machine_mb().is_some_and(|mb| mb > 0));
    }

    #[test]
    fn only_a_job_larger_than_the_whole_budget_is_refused() {
        assert!(refusal("s", 300, Some(300)).is_none());
        assert!(refusal("s", 300, None).is_none());
        let refused = refusal("s", 301, Some(300)).unwrap();
        assert_eq!(refused.code, ErrorCode::Refused);
        assert!(
            refused.message.contains("max_memory_mb"),
            "{}",
            refused.message
        );
    }
}
