//! What `skillet serve --http` answers besides MCP: `/metrics` (Prometheus text, from the
//! store through skillet-observe, with this server's own MCP counts), `/healthz` (the process
//! answers) and `/readyz` (the store can be written and the sandbox can confine). They sit
//! behind the same front door as `/mcp`: a scraper or probe sends the bearer token too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
use serde_json::json;
use skillet_observe::metrics::{CONTENT_TYPE, LiveFigures, render};
use skillet_store::Store;

use crate::http_sessions::CappedSessions;

/// Paths served here.
pub(crate) const METRICS_PATH: &str = "/metrics";
pub(crate) const HEALTHZ_PATH: &str = "/healthz";
pub(crate) const READYZ_PATH: &str = "/readyz";

/// What the observability endpoints read.
pub(crate) struct Observed {
    store: Option<Arc<dyn Store>>,
    sessions: Arc<CappedSessions>,
    /// MCP requests let in, by method; methods outside MCP's own count as `other`, so a
    /// client cannot grow this without bound.
    requests: Mutex<BTreeMap<&'static str, u64>>,
    /// One scrape at a time: each reads the whole history, so scrapes at once would only add
    /// up memory and wait on each other anyway.
    scrape: tokio::sync::Mutex<()>,
}

impl Observed {
    pub(crate) fn new(store: Option<Arc<dyn Store>>, sessions: Arc<CappedSessions>) -> Observed {
        Observed {
            store,
            sessions,
            requests: Mutex::default(),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Counts `message` if it is a request.
    pub(crate) fn count(&self, message: &ClientJsonRpcMessage) {
        let JsonRpcMessage::Request(request) = message else {
            return;
        };
        let method = match &request.request {
            ClientRequest::CustomRequest(_) => "other",
            known => known_method(known.method()),
        };
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry(method).or_default() += 1;
    }

    fn live(&self) -> LiveFigures {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        LiveFigures {
            mcp_requests: requests
                .iter()
                .map(|(m, n)| ((*m).to_owned(), *n))
                .collect(),
            mcp_sessions: self.sessions.open() as u64,
        }
    }
}

/// The method names of MCP itself, as `'static` labels.
const METHODS: [&str; 20] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/list",
    "tasks/cancel",
    "tasks/result",
    "skills/list",
    "skills/get",
    "server/discover",
];

fn known_method(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(observed): State<Arc<Observed>>) -> Response {
    let Some(store) = observed.store.clone() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "this server runs without a history store, so it has no metrics"}),
        );
    };
    let _turn = observed.scrape.lock().await;
    let live = observed.live();
    // SQLite reads block: off the runtime's threads.
    let rendered = tokio::task::spawn_blocking(move || render(store.as_ref(), &live)).await;
    match rendered {
        Ok(Ok(text)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            text,
        )
            .into_response(),
        Ok(Err(e)) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": format!("cannot read the metrics: {e}")}),
        ),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": format!("skillet hit a bug rendering the metrics ({e}); please report it")}),
        ),
    }
}

/// `GET /healthz`: the process is up and answering.
pub(crate) async fn healthz() -> Response {
    json_response(StatusCode::OK, json!({"status": "ok"}))
}

/// `GET /readyz`: calls can be served: the store takes a write and the sandbox can confine.
pub(crate) async fn readyz(State(observed): State<Arc<Observed>>) -> Response {
    let store = observed.store.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let store = match store {
            None => Err("no history store".to_owned()),
            Some(store) => store.ready().map_err(|e| e.to_string()),
        };
        let missing: Vec<&str> = skillet_sandbox::probe::report()
            .iter()
            .filter(|r| r.missing_essential())
            .map(|r| r.layer)
            .collect();
        let sandbox = if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {}", missing.join(", ")))
        };
        (store, sandbox)
    })
    .await;
    let Ok((store, sandbox)) = checked else {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"ready": false, "error": "skillet hit a bug checking readiness; please report it"}),
        );
    };
    let ready = store.is_ok() && sandbox.is_ok();
    let word = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(why) => json!({"ok": false, "detail": why}),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(
        status,
        json!({"ready": ready, "checks": {"store": word(&store), "sandbox": word(&sandbox)}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mcp_methods_are_labels() {
        assert_eq!(known_method("tools/call"), "tools/call");
        assert_eq!(known_method("tools/call2"), "other");
        assert_eq!(known_method(""), "other");
    }
}
