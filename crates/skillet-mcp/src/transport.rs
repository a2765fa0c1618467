//! The two ways an agent reaches the server: standard input and output, or streamable HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::ServiceExt as _;
use rmcp::transport::StreamableHttpServerConfig;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::server::SkillServer;

/// The path the HTTP transport answers on.
pub const MCP_PATH: &str = "/mcp";

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The client never completed the opening of the connection.
    #[error("the MCP connection did not start: {0}")]
    Start(Box<rmcp::service::ServerInitializeError>),
    /// The connection failed while running.
    #[error("the MCP connection failed: {0}")]
    Run(#[from] tokio::task::JoinError),
}

/// How often the sessions of a stdio server are checked for expiry and death.
const SESSION_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Serves `server` on this process's standard input and output until the client hangs up,
/// reloading when skill files change. The server owns its sessions here: they are checked for
/// expiry while it runs and ended when it returns.
pub async fn serve_stdio(server: SkillServer) -> Result<(), TransportError> {
    if let Err(e) = crate::watch_skills(server.clone()) {
        eprintln!("skillet mcp: {e}; skill changes need a restart");
    }
    let sessions = server.shared.options.sessions.clone();
    let ticking = {
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SESSION_TICK);
            loop {
                tick.tick().await;
                sessions.tick().await;
            }
        })
    };
    let served = async {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| TransportError::Start(Box::new(e)))?;
        running.waiting().await?;
        Ok(())
    }
    .await;
    ticking.abort();
    sessions.shutdown().await;
    served
}

/// How the HTTP transport is exposed.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The address it is bound to: loopback, or anything else with a token.
    pub addr: SocketAddr,
    /// The bearer token every request must carry; required off loopback.
    pub auth_token: Option<String>,
    /// Browser origins allowed besides the loopback ones (`https://app.example.com:443`).
    pub allowed_origins: Vec<String>,
    /// Cancelled to end every stream when the server stops.
    pub shutdown: CancellationToken,
}

/// Why the HTTP transport refuses to be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// Anyone on the network could call the skills.
    #[error(
        "{0} is not a loopback address: serving skills there needs --auth-token TOKEN (clients send `Authorization: Bearer TOKEN`)"
    )]
    NeedsToken(SocketAddr),
    /// A token too short to resist guessing.
    #[error(
        "the auth token is too short: use at least 16 characters (`openssl rand -hex 32` makes a good one)"
    )]
    WeakToken,
}

/// The router answering MCP at `/mcp`, with `Host` and `Origin` checked (the spec's defence
/// against DNS rebinding) and, when a token is set, `Authorization: Bearer` required.
pub fn http_service(
    server: SkillServer,
    options: &HttpOptions,
) -> Result<axum::Router, HttpSetupError> {
    let loopback = options.addr.ip().is_loopback();
    if !loopback && options.auth_token.is_none() {
        return Err(HttpSetupError::NeedsToken(options.addr));
    }
    if options.auth_token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(HttpSetupError::WeakToken);
    }
    let origins = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        .into_iter()
        .map(str::to_owned)
        .chain(options.allowed_origins.iter().cloned());
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_cancellation_token(options.shutdown.clone());
    if !loopback {
        // Off loopback the client names the machine however it reaches it; the token is the guard.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service(MCP_PATH, service);
    Ok(match &options.auth_token {
        None => router,
        Some(token) => router.layer(axum::middleware::from_fn_with_state(
            Arc::new(Sha256::digest(token.as_bytes())),
            require_bearer,
        )),
    })
}

/// Refuses a request without the right bearer token. Digests are compared, so the time taken
/// says nothing about how much of a guess was right.
async fn require_bearer(
    State(expected): State<Arc<sha2::digest::Output<Sha256>>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if Sha256::digest(token.as_bytes()) == *expected => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid `Authorization: Bearer TOKEN` header is required\n",
        )
            .into_response(),
    }
}
