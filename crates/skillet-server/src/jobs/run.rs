//! One job's run: the engine and skills its submitter's directory sees, then `Engine::run`
//! as `skillet run` calls it, its output copied aside for `job.logs` while it runs.

use std::sync::Arc;

use skillet_engine::{
    AskedBy, Cancel, EngineSetup, ExecutionResult, RunRequest, Status, StdinSource,
};
use tokio::sync::mpsc;

use super::Jobs;
use crate::api::JobSubmitParams;

/// Runs job `id`, which waited `waited_ms` in the queue and holds `reserved_mb` of the memory
/// budget, and records how it ended.
pub(super) async fn run(
    jobs: Arc<Jobs>,
    id: String,
    params: JobSubmitParams,
    cancel: Cancel,
    (waited_ms, reserved_mb): (u64, u64),
) {
    let skill = params.skill.clone();
    let inner = {
        let jobs = jobs.clone();
        let id = id.clone();
        // In a task of its own: a panic in a run ends that run as `internal`, recorded, and
        // leaves the daemon and the other jobs alone.
        tokio::spawn(
            async move { execute(&jobs, &id, params, cancel, (waited_ms, reserved_mb)).await },
        )
    };
    let result = match inner.await {
        Ok(result) => result,
        Err(e) => ExecutionResult::internal(
            &skill,
            format!("skillet hit a bug running this job ({e}); please report it"),
        ),
    };
    jobs.finish(&id, &result);
}

async fn execute(
    jobs: &Arc<Jobs>,
    id: &str,
    params: JobSubmitParams,
    cancel: Cancel,
    (waited_ms, reserved_mb): (u64, u64),
) -> ExecutionResult {
    let setup = match EngineSetup::load_in(jobs.env(), &params.caller_dir) {
        Ok(setup) => setup,
        Err(e) => {
            return not_run(
                &params.skill,
                format!(
                    "cannot set up the run in {}: {e}",
                    params.caller_dir.display()
                ),
            );
        }
    };
    let mut engine = setup
        .engine(jobs.store.clone())
        .with_pools(jobs.pools.clone());
    if let Some(dir) = &params.workspace {
        engine = match engine.with_workspace(dir) {
            Ok(engine) => engine,
            Err(e) => {
                return not_run(&params.skill, e.to_string());
            }
        };
    }
    let registry = setup.registry_for(&params.skill);
    // The skill is read again now: one changed while the job waited must not hold more of the
    // memory budget than was counted for it.
    let now_mb = super::budget::memory_mb_in(&engine, &registry, &params);
    if now_mb > reserved_mb {
        return not_run(
            &params.skill,
            format!(
                "`{}` now runs with a memory limit of {now_mb} MiB, more than the {reserved_mb} MiB it had when the job was queued, which is what the jobs' memory budget counted for it; it was not run: submit it again",
                params.skill
            ),
        );
    }
    let (live, mut chunks) = mpsc::unbounded_channel();
    let copying = {
        let jobs = jobs.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            while let Some(chunk) = chunks.recv().await {
                jobs.append(&id, &chunk);
            }
        })
    };
    let request = RunRequest {
        params: params.params,
        // A detached job has no terminal: only what was given.
        stdin: params.stdin.map_or(StdinSource::Null, |text| {
            StdinSource::Bytes(text.into_bytes())
        }),
        caller_dir: params.caller_dir,
        live: Some(live),
        overrides: params.overrides,
        asked_by: Some(AskedBy {
            origin: "job".into(),
            request_id: id.to_owned(),
            queue_wait_ms: Some(waited_ms),
        }),
        cancel: Some(cancel),
    };
    let result = engine.run(&registry, &params.skill, request).await;
    // The sender went with the request: the copier ends once it has drained.
    let _ = copying.await;
    result
}

/// A job that could not start (its directory or workspace is gone, say), as `skillet run`
/// reports a run it refuses: status `error`.
fn not_run(skill: &str, message: String) -> ExecutionResult {
    let mut result = ExecutionResult::internal(skill, message);
    result.status = Status::Error;
    result
}
