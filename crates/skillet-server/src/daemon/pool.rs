//! `pool.run`: a stateless call of a pooled skill, served from the daemon's warm pools and
//! recorded in the history as any run.

use skillet_engine::{EngineSetup, Observe, Phase, RunRequest, StdinSource};

use super::Daemon;
use crate::api::{ErrorCode, PoolRunParams, PoolRunReply, ResponseError};

impl Daemon {
    pub(super) async fn pool_run(&self, p: PoolRunParams) -> Result<PoolRunReply, ResponseError> {
        let refused = |e: String| ResponseError::new(ErrorCode::Refused, e);
        // Started before the skills are found, which is part of resolving the name.
        let observe = (p.debug || p.profile).then(|| Observe::new(p.debug, p.profile));
        let setup = EngineSetup::load_in(&self.env, &p.caller_dir).map_err(|e| {
            refused(format!(
                "cannot set up the run in {}: {e}",
                p.caller_dir.display()
            ))
        })?;
        let mut engine = setup.engine(self.store.clone());
        if let Some(dir) = &p.workspace {
            engine = engine
                .with_workspace(dir)
                .map_err(|e| refused(e.to_string()))?;
        }
        let engine = engine.with_pools(self.pools.clone());
        let registry = setup.registry_for_memo(&p.skill, &self.specs);
        if let Some(o) = &observe {
            o.lap(Phase::Resolve);
        }
        let request = RunRequest {
            params: p.params,
            stdin: p
                .stdin
                .map_or(StdinSource::Null, |t| StdinSource::Bytes(t.into_bytes())),
            caller_dir: p.caller_dir,
            live: None,
            overrides: p.overrides,
            asked_by: None,
            cancel: None,
        };
        let result = match &observe {
            Some(o) => engine.run_observed(&registry, &p.skill, request, o).await,
            None => engine.run(&registry, &p.skill, request).await,
        };
        let execution = serde_json::to_value(&result).map_err(|e| {
            ResponseError::new(
                ErrorCode::Internal,
                format!("the result cannot be written: {e}"),
            )
        })?;
        Ok(PoolRunReply { execution })
    }
}
