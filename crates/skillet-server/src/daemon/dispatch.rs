//! What the daemon answers: a request's params read as its method's type, carried out on the
//! session manager, and the method's result type written back.

use serde_json::Value;
use skillet_engine::session::{Reply, SessionError};
use skillet_store::SessionQuery;

use super::{Daemon, warn};
use crate::api::method::{
    DaemonStatus, DaemonStop, JobCancel, JobGet, JobList, JobLogs, JobSubmit, JobWait, NAMES,
    PoolRun, QueueRelease, QueueTurn, SessionClose, SessionList, SessionLogs, SessionPipe,
    SessionSend, SessionStart,
};
use crate::api::{
    ErrorCode, Method, PipeReply, Request, Response, ResponseError, Session, SessionListParams,
    SessionLogsReply, SessionPipeParams, SessionSendParams, SessionStartParams, StatusReply,
    StopReply,
};
use crate::peer::Confinement;

impl From<SessionError> for ResponseError {
    fn from(e: SessionError) -> ResponseError {
        let code = match &e {
            SessionError::NotFound(_) => ErrorCode::NotFound,
            SessionError::Over { .. } | SessionError::Conversation(_) => ErrorCode::SessionOver,
            SessionError::TooMany { .. } => ErrorCode::TooMany,
            SessionError::Refused { .. }
            | SessionError::Framing(_)
            | SessionError::Owned { .. } => ErrorCode::Refused,
            SessionError::Start(_) => ErrorCode::StartFailed,
            SessionError::Store(_) | SessionError::NotRecorded { .. } => ErrorCode::Internal,
        };
        let hint = e.hint();
        ResponseError {
            hint,
            ..ResponseError::new(code, e.to_string())
        }
    }
}

impl Daemon {
    /// Answers one request from a peer of confinement `peer`, whose jobs are queued as
    /// `client`'s, on the connection numbered `connection` (which holds its queue turns).
    pub(super) async fn handle(
        &self,
        request: Request,
        peer: &Confinement,
        client: &str,
        connection: u64,
    ) -> Response {
        let id = request.id.clone();
        if let Some(refused) = crate::peer::refusal(&request.method, &request.params, peer) {
            warn(&format!("refused `{}`: {refused}", request.method));
            return Response::err(id, refused.code, refused.message);
        }
        match self
            .dispatch(&request.method, request.params, client, connection)
            .await
        {
            Ok(result) => Response::ok(id, result),
            // Whole, hint included: the client says it in its own words.
            Err(failure) => Response {
                id,
                result: None,
                error: Some(failure),
            },
        }
    }

    async fn dispatch(
        &self,
        method: &str,
        params: Value,
        client: &str,
        connection: u64,
    ) -> Result<Value, ResponseError> {
        match method {
            DaemonStatus::NAME => answer::<DaemonStatus>(Ok(self.status())),
            DaemonStop::NAME => answer::<DaemonStop>(Ok(self.stop())),
            SessionStart::NAME => {
                answer::<SessionStart>(self.start(read::<SessionStart>(params)?).await)
            }
            SessionSend::NAME => {
                answer::<SessionSend>(self.send(read::<SessionSend>(params)?).await)
            }
            SessionList::NAME => answer::<SessionList>(self.list(read::<SessionList>(params)?)),
            SessionClose::NAME => {
                let p = read::<SessionClose>(params)?;
                answer::<SessionClose>(
                    self.manager
                        .close(&p.id)
                        .await
                        .map(Session::from)
                        .map_err(ResponseError::from),
                )
            }
            SessionLogs::NAME => answer::<SessionLogs>(self.logs(&read::<SessionLogs>(params)?.id)),
            SessionPipe::NAME => answer::<SessionPipe>(self.pipe(read::<SessionPipe>(params)?)),
            JobSubmit::NAME => {
                answer::<JobSubmit>(self.jobs.submit(read::<JobSubmit>(params)?, client))
            }
            JobList::NAME => {
                answer::<JobList>(self.jobs.list(read::<JobList>(params)?.limit.unwrap_or(0)))
            }
            JobGet::NAME => answer::<JobGet>(self.jobs.get(&read::<JobGet>(params)?.id)),
            JobWait::NAME => {
                let p = read::<JobWait>(params)?;
                let timeout = p.timeout_ms.map(std::time::Duration::from_millis);
                answer::<JobWait>(self.jobs.wait(&p.id, timeout).await)
            }
            JobLogs::NAME => answer::<JobLogs>(self.jobs.output(&read::<JobLogs>(params)?.id)),
            PoolRun::NAME => answer::<PoolRun>(self.pool_run(read::<PoolRun>(params)?).await),
            QueueTurn::NAME => answer::<QueueTurn>(
                self.queue_turn(read::<QueueTurn>(params)?, client, connection)
                    .await,
            ),
            QueueRelease::NAME => answer::<QueueRelease>(Ok(
                self.queue_release(&read::<QueueRelease>(params)?, connection)
            )),
            JobCancel::NAME => {
                answer::<JobCancel>(self.jobs.cancel(&read::<JobCancel>(params)?.id).await)
            }
            other => Err(ResponseError::new(
                ErrorCode::UnknownMethod,
                format!(
                    "no method `{other}`; the daemon answers {} (docs/daemon-api.md)",
                    NAMES.join(", ")
                ),
            )),
        }
    }

    fn status(&self) -> StatusReply {
        StatusReply {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            socket: self.paths.socket.clone(),
            started_at_ms: self.started_ms,
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            live_sessions: self.manager.live_count(),
            idle_timeout_s: self.idle_timeout.as_secs(),
            store: self.store.is_some(),
            pools: self.pools.status(),
        }
    }

    fn stop(&self) -> StopReply {
        self.stop.send_replace(true);
        StopReply { stopping: true }
    }

    async fn start(&self, p: SessionStartParams) -> Result<Session, ResponseError> {
        let (engine, registry) = self
            .context_for(&p.start.caller_dir, &p.skill)
            .map_err(|e| ResponseError::new(ErrorCode::Refused, e.to_string()))?;
        let record = self
            .manager
            .start(&engine, &registry, &p.skill, p.start)
            .await?;
        Ok(record.into())
    }

    async fn send(&self, p: SessionSendParams) -> Result<Reply, ResponseError> {
        let m = &self.manager;
        if let Some(skill) = &p.skill {
            let session = m.info(&p.id)?;
            if session.skill != *skill {
                return Err(ResponseError::new(
                    ErrorCode::Refused,
                    format!(
                        "session {} is a session of `{}`, not `{skill}`; `skillet session list` shows them",
                        session.id, session.skill
                    ),
                ));
            }
        }
        let reply = match (&p.from, &p.input) {
            (Some(from), None) => m.send_from(&p.id, from).await,
            (None, Some(input)) => m.send(&p.id, input, "user").await,
            _ => {
                return Err(ResponseError::new(
                    ErrorCode::BadRequest,
                    "give exactly one of `input` and `from`",
                ));
            }
        };
        Ok(reply?)
    }

    fn list(&self, p: SessionListParams) -> Result<Vec<Session>, ResponseError> {
        let query = SessionQuery {
            skill: p.skill,
            status: p.status,
            limit: p.limit.unwrap_or(0),
        };
        let sessions = self.manager.list(&query)?;
        Ok(sessions.into_iter().map(Session::from).collect())
    }

    fn logs(&self, id: &str) -> Result<SessionLogsReply, ResponseError> {
        let (session, turns) = self.manager.history(id)?;
        Ok(SessionLogsReply {
            session: session.into(),
            turns: turns.into_iter().map(Into::into).collect(),
        })
    }

    fn pipe(&self, p: SessionPipeParams) -> Result<PipeReply, ResponseError> {
        if p.stop {
            let removed = self.manager.unpipe(&p.from, &p.to);
            return Ok(PipeReply {
                from: p.from,
                to: p.to,
                piped: false,
                removed: Some(removed),
            });
        }
        let (from, to) = self.manager.pipe(&p.from, &p.to)?;
        Ok(PipeReply {
            from,
            to,
            piped: true,
            removed: None,
        })
    }
}

/// The params of method `M`; a request with none (`null`) has empty ones.
fn read<M: Method>(params: Value) -> Result<M::Params, ResponseError> {
    let params = if params.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        params
    };
    serde_json::from_value(params).map_err(|e| {
        ResponseError::new(
            ErrorCode::BadRequest,
            format!("bad params for `{}`: {e}", M::NAME),
        )
    })
}

/// The result of method `M`, as the response carries it.
fn answer<M: Method>(result: Result<M::Result, ResponseError>) -> Result<Value, ResponseError> {
    serde_json::to_value(result?).map_err(|e| {
        ResponseError::new(
            ErrorCode::Internal,
            format!("the result of `{}` cannot be written: {e}", M::NAME),
        )
    })
}
