//! The web dashboard that `skillet serve --http` answers at `/`.
//!
//! This crate owns the page (HTML, CSS and a little JavaScript, embedded in the binary at build
//! time: no Node build step) and the JSON it reads under `/api/`: skills with their success
//! rate, latency and a sparkline of their latest runs, recent executions with filters, one
//! execution's detail (parameters when kept, outcome, output tail, spans), open sessions,
//! breakers (with a button that closes one), the job queue, the cache and alerts. The page
//! polls, so a run shows up within two seconds of ending.
//!
//! Every figure comes from skillet-observe and the store's own lists, the ones `skillet stats`,
//! `history`, `health` and `/metrics` use: the dashboard defines none of its own.
//!
//! It must not authenticate callers: skillet-mcp's front door does that for every path, with
//! the rule [`is_page`] and [`is_action`] describe (the page itself holds no data and is served
//! without the token; the page sends the token, read from its URL's `#token=` fragment, on
//! every API call). It must not run skills.

mod api;
mod page;

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};
use skillet_store::Store;

/// The dashboard's routes: the page, its assets and the API over `store` (without a store the
/// API answers 503 and says why).
pub fn router(store: Option<Arc<dyn Store>>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/{name}", get(page::asset))
        .route("/api/overview", get(api::overview))
        .route("/api/executions", get(api::executions))
        .route("/api/executions/{id}", get(api::execution))
        .route("/api/breakers/{skill}/close", post(api::close_breaker))
        .with_state(api::Shared::new(store))
}

/// Whether `method path` is the page or one of its assets: fixed text with no data in it,
/// which a browser loads before it has the token to send.
///
/// ```
/// use axum::http::Method;
/// assert!(skillet_dashboard::is_page(&Method::GET, "/"));
/// assert!(skillet_dashboard::is_page(&Method::GET, "/assets/app.js"));
/// assert!(!skillet_dashboard::is_page(&Method::GET, "/api/overview"));
/// assert!(!skillet_dashboard::is_page(&Method::POST, "/"));
/// ```
pub fn is_page(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && (path == "/"
            || page::ASSETS
                .iter()
                .any(|(name, _, _)| path == format!("/assets/{name}")))
}

/// Whether `method path` is one of the dashboard's actions (it changes something, so it is a
/// POST, behind the token and the origin check like every call).
///
/// ```
/// use axum::http::Method;
/// assert!(skillet_dashboard::is_action(&Method::POST, "/api/breakers/review/close"));
/// assert!(!skillet_dashboard::is_action(&Method::POST, "/api/breakers/review/close/x"));
/// assert!(!skillet_dashboard::is_action(&Method::GET, "/api/breakers/review/close"));
/// ```
pub fn is_action(method: &Method, path: &str) -> bool {
    method == Method::POST
        && path
            .strip_prefix("/api/breakers/")
            .and_then(|rest| rest.strip_suffix("/close"))
            .is_some_and(|skill| !skill.is_empty() && !skill.contains('/'))
}
