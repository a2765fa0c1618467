//! The resource limits of a run: skillet's defaults, and what a skill may ask for.

use skillet_registry::Defaults;
use skillet_spec::SkillSpec;

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
/// A run's wall-clock limit in seconds: the smaller of `timeout` and
/// `security.resource_limits.max_execution_time`, else the configured default, else
/// [`DEFAULT_TIMEOUT_S`].
pub fn wall_time_s(spec: &SkillSpec, defaults: &Defaults) -> u64 {
    let asked = spec
        .security
        .as_ref()
        .and_then(|s| s.resource_limits.as_ref())
        .and_then(|l| l.max_execution_time);
    let declared = [spec.timeout, asked].into_iter().flatten().min();
    declared.or(defaults.timeout).unwrap_or(DEFAULT_TIMEOUT_S)
}
