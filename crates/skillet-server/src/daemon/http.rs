//! MCP over streamable HTTP, served by the daemon beside its socket on the same sessions.

use std::sync::Arc;

use skillet_mcp::{McpOptions, SkillServer};
use skillet_store::Store;

use super::{Daemon, DaemonError, HttpMcp, log, warn};

mod listener;

/// Starts MCP over HTTP on the daemon's sessions; the token stops it.
pub(super) async fn serve_http(
    daemon: &Daemon,
    http: &HttpMcp,
    store: Option<Arc<dyn Store>>,
) -> Result<tokio_util::sync::CancellationToken, DaemonError> {
    let server = SkillServer::new(McpOptions {
        env: daemon.env.clone(),
        store,
        sessions: daemon.manager.clone(),
        max_concurrent_calls: http.max_concurrent_calls,
    })
    .map_err(DaemonError::Mcp)?;
    // Runs of skills wait in the daemon's one queue, with its jobs (see jobs/calls.rs).
    server.route_runs_through(Arc::new(crate::jobs::QueueForCalls(daemon.jobs.clone())));
    let dashboard = skillet_mcp::ExtraRoutes {
        router: skillet_dashboard::router(daemon.store.clone()),
        public: skillet_dashboard::is_page,
        actions: skillet_dashboard::is_action,
    };
    let router = skillet_mcp::http_service_with(server.clone(), &http.options, Some(dashboard))?;
    let addr = http.options.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DaemonError::Bind { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    if let Err(e) = skillet_mcp::watch_skills(server.clone()) {
        log(&format!("{e}; skill changes need a restart"));
    }
    for (name, why) in server.hidden() {
        log(&format!("not serving `{name}`: {}", why.as_str()));
    }
    let stop = http.options.shutdown.clone();
    let until = stop.clone();
    tokio::spawn(async move {
        let bounded = listener::BoundedListener::new(
            listener,
            listener::MAX_CONNECTIONS,
            listener::FIRST_HEAD_WITHIN,
        );
        let served = axum::serve(bounded, router)
            .with_graceful_shutdown(async move { until.cancelled().await })
            .await;
        if let Err(e) = served {
            warn(&format!("MCP over HTTP stopped: {e}"));
        }
    });
    log(&format!(
        "serving MCP on http://{bound}{} ({} tools), the dashboard on http://{bound}/",
        skillet_mcp::MCP_PATH,
        server.tool_names().len()
    ));
    Ok(stop)
}
