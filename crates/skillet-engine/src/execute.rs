//! Running one prepared process in the sandbox and turning its outcome into a result.

use skillet_sandbox::{Exit, LimitHit, ProcessSpec, SpawnError};
use skillet_spec::SkillSpec;

use crate::engine::RunRequest;
use crate::hint::Hint;
use crate::insight::{self, Phase};
use crate::invocation::Invocation;
use crate::policy::PolicyPlan;
use crate::result::{ExecutionResult, Status};

fn limit_message(limit: LimitHit, limits: &skillet_sandbox::Limits) -> String {
    let mib = |b: u64| b >> 20;
    match limit {
        LimitHit::Memory => format!(
            "killed at the memory limit ({} MiB)",
            limits.memory_bytes.map_or(0, mib)
        ),
        LimitHit::Cpu => format!(
            "killed at the CPU limit ({} CPU seconds)",
            limits.cpu_time.map_or(0, |d| d.as_secs())
        ),
        LimitHit::Output => format!(
            "killed for writing more than {} KiB of output",
            limits.max_output_bytes / 1024
        ),
        LimitHit::FileSize => format!(
            "stopped at the file-size limit ({} MiB); raise max_file_size_mb if the skill needs larger files",
            limits.max_file_size_bytes.map_or(0, mib)
        ),
        LimitHit::ScratchDisk => format!(
            "stopped at the scratch-disk limit ({} MiB for HOME, TMPDIR, /tmp and the rest together); \
             write large output to a granted directory, or raise the limit",
            mib(limits.scratch_bytes)
        ),
        LimitHit::WriteCap => {
            "killed for writing more than a directory it was given may hold".into()
        }
        LimitHit::Time => "killed at the wall-clock limit".into(),
        LimitHit::Processes => format!(
            "failed after reaching the process limit ({} processes)",
            limits.max_processes.unwrap_or(0)
        ),
    }
}

pub(crate) async fn execute(
    spec: &SkillSpec,
    invocation: Invocation,
    plan: PolicyPlan,
    request: RunRequest,
) -> ExecutionResult {
    let process = ProcessSpec {
        program: invocation.program.into(),
        args: invocation.args.into_iter().map(Into::into).collect(),
        cwd: invocation.cwd,
        stdin: request.stdin,
        inherit_fd: plan.inherit_fd.clone(),
    };
    let mut warnings = plan.warnings;
    insight::lap(Phase::SandboxSetup);
    let called = std::time::Instant::now();
    let mut result = match skillet_sandbox::run(&process, &plan.policy, request.live).await {
        Ok(outcome) => {
            insight::sandbox(called.elapsed(), &outcome);
            let status = match (outcome.limit, outcome.denied_syscall, outcome.exit) {
                (Some(LimitHit::Time), _, _) => Status::Timeout,
                (Some(_), _, _) => Status::ResourceLimit,
                (None, true, _) => Status::SandboxDenied,
                (None, false, Exit::Code(0)) => Status::Ok,
                (None, false, _) => Status::Failed,
            };
            let mut r = ExecutionResult::new(&spec.name, status);
            r.exit_code = (status != Status::Timeout).then(|| outcome.exit.shell_code());
            r.stdout = String::from_utf8_lossy(&outcome.stdout).into_owned();
            r.stderr = String::from_utf8_lossy(&outcome.stderr).into_owned();
            r.duration_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
            r.truncated = outcome.stdout_truncated || outcome.stderr_truncated;
            r.limit = outcome.limit.map(LimitHit::as_str);
            r.cpu_time_ms = outcome
                .cpu_time
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            r.peak_memory_kb = Some(outcome.peak_memory_kb).filter(|kb| *kb > 0);
            r.peak_processes = outcome.peak_processes;
            r.bytes_written = outcome.bytes_written;
            r.error = match (outcome.limit, status) {
                (Some(LimitHit::Time), _) => Some(format!(
                    "killed after the {} s wall-clock limit",
                    plan.policy.limits.wall_time.as_secs()
                )),
                (Some(limit), _) => Some(limit_message(limit, &plan.policy.limits)),
                (None, Status::SandboxDenied) => {
                    Some("killed by the sandbox for a forbidden system call (SIGSYS)".into())
                }
                _ => None,
            };
            warnings.extend(
                outcome
                    .layers
                    .missing
                    .iter()
                    .map(|m| format!("sandbox layer missing (best-effort isolation): {m}")),
            );
            // The default limits' absence is `skillet doctor`'s to report; a limit the skill
            // declared itself is worth a word on every run.
            let declared = spec
                .security
                .as_ref()
                .and_then(|s| s.resource_limits.as_ref());
            for (limit, reason) in &outcome.unenforced {
                let asked = declared.is_some_and(|l| match *limit {
                    "memory" => l.max_memory_mb.is_some(),
                    "max_processes" => l.max_processes.is_some(),
                    _ => l.max_cpu_percent.is_some(),
                });
                if asked {
                    warnings.push(format!("{limit} limit not enforced here: {reason}"));
                }
            }

            if let Some(kept) = &outcome.scratch_kept {
                warnings.push(format!("scratch directory kept at {}", kept.display()));
            }
            r
        }
        Err(SpawnError::Unavailable { layer, reason }) => {
            ExecutionResult::new(&spec.name, Status::Error)
                .with_error(format!(
                    "refusing to run without the {layer} sandbox layer: {reason}"
                ))
                .with_hint(Hint::SandboxLayers)
        }
        // Refused before anything ran: says nothing of the skill's health (no breaker count).
        Err(e @ SpawnError::ScratchFull(_)) => {
            ExecutionResult::new(&spec.name, Status::Error).with_error(e.to_string())
        }
        Err(e) => ExecutionResult::new(&spec.name, Status::SpawnFailed).with_error(e.to_string()),
    };
    result.warnings = warnings;
    result.given_credentials = crate::policy::passed_credentials(&plan.policy.env_passthrough);
    // A refused spawn spent its time setting up; a run's remaining bookkeeping is teardown.
    insight::lap(
        if result.exit_code.is_some() || result.status == Status::Timeout {
            Phase::Teardown
        } else {
            Phase::SandboxSetup
        },
    );
    result
}
