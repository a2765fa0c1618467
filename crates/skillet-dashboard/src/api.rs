//! The JSON the page reads. Each answer is made from skillet-observe's figures and the store's
//! lists, off the runtime's threads (SQLite reads block).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use skillet_observe::{StatsQuery, parse_window, recent_runs, skill_health, skill_stats};
use skillet_store::{
    ExecutionQuery, LogQuery, SessionQuery, SessionStatus, Store, StoreError, now_ms,
};

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Shared {
    store: Option<Arc<dyn Store>>,
}

impl Shared {
    pub(crate) fn new(store: Option<Arc<dyn Store>>) -> Shared {
        Shared { store }
    }
}

/// Runs shown per skill's sparkline.
const SPARKLINE_RUNS: usize = 30;
/// Executions listed at most per request.
const MAX_LISTED: usize = 500;
/// Output lines shown in an execution's detail at most.
const MAX_OUTPUT_LINES: usize = 200;

/// Why a request got no answer, as the page shows it.
enum Failure {
    BadRequest(String),
    NotFound(String),
    Unavailable(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::Ambiguous { .. } | StoreError::Invalid(_) => {
                Failure::BadRequest(e.to_string())
            }
            other => Failure::Unavailable(format!("cannot read the store: {other}")),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Failure::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Failure::NotFound(m) => (StatusCode::NOT_FOUND, m),
            Failure::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
        };
        (status, Json(json!({"error": message}))).into_response()
    }
}

/// Runs `read` on the store off the runtime's threads.
async fn with_store<T: Send + 'static>(
    shared: &Shared,
    read: impl FnOnce(&dyn Store) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let Some(store) = shared.store.clone() else {
        return Err(Failure::Unavailable(
            "this server runs without a history store, so there is nothing to show".into(),
        ));
    };
    tokio::task::spawn_blocking(move || read(store.as_ref()))
        .await
        .unwrap_or_else(|e| {
            Err(Failure::Unavailable(format!(
                "skillet hit a bug reading the store ({e}); please report it"
            )))
        })
}

fn answer(result: Result<Value, Failure>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(failure) => failure.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct OverviewQuery {
    window: Option<String>,
}

/// `GET /api/overview?window=24h`: skills, breakers, sessions, queue, cache and alerts.
pub(crate) async fn overview(
    State(shared): State<Shared>,
    q: Result<Query<OverviewQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return Failure::BadRequest(e.body_text()).into_response(),
    };
    let window = q.window.unwrap_or_else(|| "24h".into());
    let window_ms = match parse_window(&window) {
        Ok(ms) => ms,
        Err(e) => return Failure::BadRequest(format!("window {e}")).into_response(),
    };
    answer(
        with_store(&shared, move |store| {
            let now = now_ms();
            let since = now.saturating_sub(window_ms);
            let stats: BTreeMap<String, _> = skill_stats(
                store,
                &StatsQuery {
                    skill: None,
                    since_ms: Some(since),
                },
            )?
            .into_iter()
            .map(|s| (s.skill.clone(), s))
            .collect();
            let mut recent = recent_runs(store, since, SPARKLINE_RUNS)?;
            let skills: Vec<Value> = skill_health(store, since)?
                .into_iter()
                .map(|h| {
                    let s = stats.get(&h.skill);
                    json!({
                        "skill": h.skill,
                        "state": h.state.as_str(),
                        "runs": h.runs,
                        "success_rate": h.success_rate,
                        "breaker": h.breaker,
                        "last_error": h.last_error,
                        "duration_ms": s.map(|s| &s.duration_ms),
                        "cache_hit_rate": s.and_then(|s| s.cache_hit_rate),
                        "peak_memory_kb": s.and_then(|s| s.peak_memory_kb),
                        "recent": recent.remove(&h.skill).unwrap_or_default(),
                    })
                })
                .collect();
            // Only what the page shows: a session's row also keeps how it was started (its
            // parameters, for a restore), which `[history] store_params` may say not to show.
            let sessions: Vec<Value> = store
                .sessions(&SessionQuery {
                    limit: 500,
                    ..SessionQuery::default()
                })?
                .into_iter()
                .filter(|s| {
                    matches!(
                        s.status,
                        SessionStatus::Live | SessionStatus::Open | SessionStatus::Restoring
                    )
                })
                .map(|s| {
                    json!({"id": s.id, "skill": s.skill, "label": s.label,
                           "status": s.status.as_str(), "created_at_ms": s.created_at_ms,
                           "last_used_at_ms": s.last_used_at_ms, "turns": s.turns})
                })
                .collect();
            let jobs = store.jobs(true, 200)?;
            let running = jobs.iter().filter(|j| j.status == "running").count();
            let jobs: Vec<Value> = jobs
                .iter()
                .map(|j| {
                    json!({"id": j.id, "skill": j.skill, "status": j.status,
                           "priority": j.priority, "submitted_at_ms": j.submitted_at_ms,
                           "started_at_ms": j.started_at_ms})
                })
                .collect();
            Ok(json!({
                "now_ms": now,
                "window": window,
                "window_ms": window_ms,
                "skills": skills,
                "breakers": store.breakers()?,
                "sessions": sessions,
                "queue": {"running": running, "waiting": jobs.len() - running, "jobs": jobs},
                "cache": store.cache_stats()?,
                "alerts": store.alert_states()?,
            }))
        })
        .await,
    )
}

#[derive(Deserialize)]
pub(crate) struct ExecutionsQuery {
    skill: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/executions?skill=S&status=failed&limit=50`: newest first.
pub(crate) async fn executions(
    State(shared): State<Shared>,
    q: Result<Query<ExecutionsQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return Failure::BadRequest(e.body_text()).into_response(),
    };
    let query = ExecutionQuery {
        skill: q.skill.filter(|s| !s.is_empty()),
        status: q.status.filter(|s| !s.is_empty()),
        since_ms: None,
        limit: q.limit.unwrap_or(50).clamp(1, MAX_LISTED),
    };
    answer(with_store(&shared, move |store| Ok(json!(store.list(&query)?))).await)
}

/// `GET /api/executions/{id}`: one execution, its spans and its output's tail.
pub(crate) async fn execution(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    answer(
        with_store(&shared, move |store| {
            let Some(record) = store.get(&id)? else {
                return Err(Failure::NotFound(format!("no execution has the id {id:?}")));
            };
            let mut output = Vec::new();
            let lines = LogQuery {
                execution: Some(record.id.clone()),
                oldest_first: true,
                ..LogQuery::default()
            };
            store.scan_logs(&lines, &mut |line| {
                output.push(line);
                output.len() < MAX_OUTPUT_LINES
            })?;
            Ok(json!({"execution": record, "spans": record.spans, "output": output}))
        })
        .await,
    )
}

/// `POST /api/breakers/{skill}/close`: as `skillet breaker --reset SKILL`.
pub(crate) async fn close_breaker(
    State(shared): State<Shared>,
    Path(skill): Path<String>,
) -> Response {
    answer(
        with_store(&shared, move |store| {
            let reset = store.reset_breaker(&skill)?;
            Ok(json!({"skill": skill, "reset": reset}))
        })
        .await,
    )
}
