//! MCP over streamable HTTP: rmcp's service behind skillet's own front door, with
//! `/metrics`, `/healthz` and `/readyz` beside it (see `http_observe`).
//!
//! In front of rmcp every request is checked, in this order: the browser `Origin` (whole
//! origins, port included), the bearer token, and for a POST the body (media type, size, and
//! [`crate::jsonrpc::screen`]). Whatever is refused, here or by rmcp, is answered with a
//! JSON-RPC error body, never plain text: 400 for a bad body, 401 without the token, 403 for a
//! foreign origin, 503 when every session is in use. `DELETE` of a session answers 204.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::StreamableHttpServerConfig;
use rmcp::transport::StreamableHttpService;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::auth::{Expected, MIN_TOKEN_LEN, Origin, bearer_token};
use crate::http_observe::{self, HEALTHZ_PATH, METRICS_PATH, Observed, READYZ_PATH};
use crate::http_sessions::CappedSessions;
use crate::jsonrpc::{
    INVALID_REQUEST, Rejection, Screened, is_initialize, repeated_initialize, screen,
};
use crate::server::SkillServer;

pub use crate::http_sessions::{DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT};

/// The path the HTTP transport answers on.
pub const MCP_PATH: &str = "/mcp";

/// The largest request body read: the same 4 MiB as a stdio line.
const MAX_BODY_BYTES: usize = crate::stdio::DEFAULT_MAX_LINE_BYTES;

/// JSON-RPC server error (implementation-defined range): the caller is not let in.
const UNAUTHORIZED: i32 = -32001;
/// JSON-RPC server error (implementation-defined range): no room for another session.
const BUSY: i32 = -32000;

const SESSION_HEADER: &str = "mcp-session-id";

/// Who may call.
#[derive(Clone, PartialEq, Eq)]
pub enum HttpAuth {
    /// Every request carries `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// Anyone who reaches the port may call; only the user chooses this (`--no-auth`), and
    /// only on loopback.
    None,
}

impl std::fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpAuth::Bearer(_) => f.write_str("Bearer(…)"),
            HttpAuth::None => f.write_str("None"),
        }
    }
}

/// How the HTTP transport is exposed.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The address it is bound to: loopback, or anything else with a token.
    pub addr: SocketAddr,
    /// The bearer token every request must carry, or none.
    pub auth: HttpAuth,
    /// Browser origins allowed besides the server's own (`https://app.example.com:443`);
    /// without a port the scheme's default is meant, `:*` allows every port.
    pub allowed_origins: Vec<String>,
    /// Most MCP sessions live at once.
    pub max_sessions: usize,
    /// A session with no traffic for this long is ended.
    pub session_idle_timeout: Duration,
    /// Where to write the bearer token (mode 0600) when the service is set up, for clients
    /// run by the same user to read. The directory must exist and be private.
    pub token_file: Option<PathBuf>,
    /// Cancelled to end every stream when the server stops.
    pub shutdown: CancellationToken,
}

/// Why the HTTP transport refuses to be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// Anyone on the network could call the skills.
    #[error(
        "{0} is not a loopback address: serving skills there needs a token (drop --no-auth, or pass --auth-token TOKEN; clients send `Authorization: Bearer TOKEN`)"
    )]
    NeedsToken(SocketAddr),
    /// A token too short to resist guessing.
    #[error(
        "the auth token is too short: use at least 16 characters (`openssl rand -hex 32` makes a good one)"
    )]
    WeakToken,
    /// An `--allow-origin` that is not an origin.
    #[error(
        "--allow-origin {0:?} is not an origin: write scheme://host[:port] (e.g. http://localhost:5173), or scheme://host:* for every port"
    )]
    BadOrigin(String),
    /// The token file could not be written.
    #[error(transparent)]
    Token(#[from] crate::auth::TokenError),
}

/// Routes served beside MCP, behind the same front door (the dashboard): every request to them
/// passes the host and origin checks, and the token check unless `public` says the path holds
/// no data.
#[derive(Clone)]
pub struct ExtraRoutes {
    /// The routes.
    pub router: axum::Router,
    /// Requests served without the token: fixed text a browser loads before it has one.
    pub public: fn(&Method, &str) -> bool,
    /// Requests other than GET let through (with the token), for the few actions the routes
    /// take; every other path outside `/mcp` answers GET only.
    pub actions: fn(&Method, &str) -> bool,
}

impl std::fmt::Debug for ExtraRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtraRoutes")
    }
}

/// What the front door checks, shared by every request.
struct Door {
    /// Served on a loopback address: a `Host` must be a loopback name (DNS rebinding).
    loopback: bool,
    token: Option<Expected>,
    origins: Vec<Origin>,
    sessions: Arc<CappedSessions>,
    /// Counts the requests it lets in, for `/metrics`.
    observed: Arc<Observed>,
    /// Requests served without the token (see [`ExtraRoutes::public`]).
    public: fn(&Method, &str) -> bool,
    /// Requests other than GET let through outside `/mcp` (see [`ExtraRoutes::actions`]).
    actions: fn(&Method, &str) -> bool,
}

/// The router answering MCP at `/mcp`. rmcp checks the `Host` header on loopback (the spec's
/// defence against DNS rebinding); skillet checks the rest (see the module documentation).
pub fn http_service(
    server: SkillServer,
    options: &HttpOptions,
) -> Result<axum::Router, HttpSetupError> {
    http_service_with(server, options, None)
}

/// [`http_service`], with `extra` routes behind the same front door.
pub fn http_service_with(
    server: SkillServer,
    options: &HttpOptions,
    extra: Option<ExtraRoutes>,
) -> Result<axum::Router, HttpSetupError> {
    let loopback = options.addr.ip().is_loopback();
    let token = match &options.auth {
        HttpAuth::None if !loopback => return Err(HttpSetupError::NeedsToken(options.addr)),
        HttpAuth::None => None,
        HttpAuth::Bearer(t) if t.len() < MIN_TOKEN_LEN => return Err(HttpSetupError::WeakToken),
        HttpAuth::Bearer(t) => Some(Expected::new(t)),
    };
    let origins = options
        .allowed_origins
        .iter()
        .map(|o| Origin::parse(o, true).ok_or_else(|| HttpSetupError::BadOrigin(o.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    if let (HttpAuth::Bearer(token), Some(path)) = (&options.auth, &options.token_file) {
        crate::auth::write_token_file(path, token)?;
    }
    let mut config =
        StreamableHttpServerConfig::default().with_cancellation_token(options.shutdown.clone());
    if !loopback {
        // Off loopback the client names the machine however it reaches it; the token is the guard.
        config = config.disable_allowed_hosts();
    }
    let sessions = Arc::new(CappedSessions::new(
        options.max_sessions,
        options.session_idle_timeout,
    ));
    let observed = Arc::new(Observed::new(
        server.shared.options.store.clone(),
        sessions.clone(),
    ));
    let service = StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    let never: fn(&Method, &str) -> bool = |_, _| false;
    let door = Arc::new(Door {
        loopback,
        token,
        origins,
        sessions,
        observed: observed.clone(),
        public: extra.as_ref().map_or(never, |e| e.public),
        actions: extra.as_ref().map_or(never, |e| e.actions),
    });
    let mut router = axum::Router::new()
        .route(METRICS_PATH, get(http_observe::metrics))
        .route(HEALTHZ_PATH, get(http_observe::healthz))
        .route(READYZ_PATH, get(http_observe::readyz))
        .with_state(observed)
        .nest_service(MCP_PATH, service);
    if let Some(extra) = extra {
        router = router.merge(extra.router);
    }
    Ok(router.layer(axum::middleware::from_fn_with_state(door, front_door)))
}

/// A JSON-RPC error as an HTTP response.
fn refuse(status: StatusCode, rejection: &Rejection) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        rejection.to_bytes(),
    )
        .into_response()
}

fn refuse_with(status: StatusCode, code: i32, message: impl Into<String>) -> Response {
    refuse(status, &Rejection::new(Value::Null, code, message))
}

async fn front_door(State(door): State<Arc<Door>>, request: Request, next: Next) -> Response {
    if let Some(refused) = check_host(&door, &request) {
        return refused;
    }
    if let Some(refused) = check_origin(&door, &request) {
        return refused;
    }
    let public = (door.public)(request.method(), request.uri().path());
    if let Some(expected) = door.token.as_ref().filter(|_| !public) {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        if !given.is_some_and(|g| expected.matches(g)) {
            let mut response = refuse_with(
                StatusCode::UNAUTHORIZED,
                UNAUTHORIZED,
                "unauthorized: send `Authorization: Bearer TOKEN` with the token `skillet serve` printed when it started (also in its token file)",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    let method = request.method().clone();
    let path = request.uri().path();
    let mcp = path == MCP_PATH || path.starts_with(&format!("{MCP_PATH}/"));
    // The other paths only read: nothing of MCP's (no body screened, counted or let make
    // room for a session) happens on them.
    if !mcp {
        if method == Method::GET || method == Method::HEAD || (door.actions)(&method, path) {
            return next.run(request).await;
        }
        return refuse_with(
            StatusCode::METHOD_NOT_ALLOWED,
            INVALID_REQUEST,
            format!("{path} answers GET only"),
        );
    }
    let request = if method == Method::POST {
        match check_body(&door, request).await {
            Ok(request) => request,
            Err(refused) => return *refused,
        }
    } else {
        request
    };
    if method == Method::DELETE {
        let unknown = request
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|id| !door.sessions.contains(id));
        if unknown {
            return refuse_with(
                StatusCode::NOT_FOUND,
                INVALID_REQUEST,
                "no such session: it has ended, was evicted, or never was",
            );
        }
    }
    let response = next.run(request).await;
    as_json_rpc(&method, response).await
}

/// On loopback, a request naming another host is a page that rebound a name of its own to
/// 127.0.0.1: refused on every path (rmcp checks `/mcp` too, but not the others). Every name
/// the request gives counts (each `Host` header, and the authority of an absolute-form or
/// HTTP/2 request), and it must give one: a client cannot slip past by sending two, or none.
fn check_host(door: &Door, request: &Request) -> Option<Response> {
    if !door.loopback {
        return None;
    }
    let mut names = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|h| h.to_str().ok())
        .chain(request.uri().authority().map(|a| Some(a.as_str())))
        .peekable();
    let refuse = |why: &str| {
        Some(refuse_with(
            StatusCode::FORBIDDEN,
            UNAUTHORIZED,
            format!("forbidden: {why}; this server answers on loopback only"),
        ))
    };
    if names.peek().is_none() {
        return refuse("the request names no host");
    }
    let loopback = |h: &str| {
        let name = match h.rsplit_once(':') {
            // `[::1]:8750`, `localhost:8750`; a bare `[::1]` has its colon inside the brackets.
            Some((name, port)) if !port.contains(']') => name,
            _ => h,
        };
        matches!(
            name.to_ascii_lowercase().as_str(),
            "localhost" | "127.0.0.1" | "[::1]"
        )
    };
    if names.all(|n| n.is_some_and(loopback)) {
        None
    } else {
        refuse("the Host header names another machine")
    }
}

/// A browser's request is let in from the server's own origin and from `--allow-origin` ones.
fn check_origin(door: &Door, request: &Request) -> Option<Response> {
    let origin = request.headers().get(header::ORIGIN)?;
    let forbidden = |why: &str| {
        Some(refuse_with(
            StatusCode::FORBIDDEN,
            UNAUTHORIZED,
            format!(
                "forbidden: {why}; the user lets a web app in with `skillet serve --allow-origin scheme://host:port`"
            ),
        ))
    };
    let Some(origin) = origin.to_str().ok().and_then(|o| Origin::parse(o, false)) else {
        return forbidden("the Origin header is not an http(s) origin");
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let own = host.is_some_and(|h| origin.is_own(h));
    if own || door.origins.iter().any(|o| o.covers(&origin)) {
        None
    } else {
        forbidden("requests from this browser origin are not allowed")
    }
}

/// Reads and screens a POST body; the request, rebuilt, or the refusal.
async fn check_body(door: &Door, request: Request) -> Result<Request, Box<Response>> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Box::new(refuse_with(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            "invalid request: the body must be JSON, sent with `Content-Type: application/json`",
        )));
    }
    // Refused before any of it is read: a body that says it is too large need never come (the
    // client would otherwise wait for an answer while the server waits for the body).
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(size) = declared.filter(|&n| n > MAX_BODY_BYTES as u64) {
        return Err(Box::new(refuse_with(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            format!(
                "invalid request: the body is {size} bytes, more than the {MAX_BODY_BYTES} allowed"
            ),
        )));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Err(Box::new(refuse_with(
            StatusCode::PAYLOAD_TOO_LARGE,
            INVALID_REQUEST,
            format!(
                "invalid request: the body is larger than {MAX_BODY_BYTES} bytes, or was cut short"
            ),
        )));
    };
    let message = match screen(&bytes) {
        Screened::Message(message) => {
            door.observed.count(&message);
            message
        }
        Screened::Reject(rejection) => {
            return Err(Box::new(refuse(StatusCode::BAD_REQUEST, &rejection)));
        }
        Screened::Drop => {
            return Err(Box::new(refuse_with(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "invalid request: a notification of this method with these params does not exist",
            )));
        }
    };
    // An existing session was initialized when it was made.
    if parts.headers.contains_key(SESSION_HEADER)
        && let Some(rejection) = repeated_initialize(&message)
    {
        return Err(Box::new(refuse(StatusCode::BAD_REQUEST, &rejection)));
    }
    if is_initialize(&message)
        && !parts.headers.contains_key(SESSION_HEADER)
        && let Err(e) = door.sessions.make_room().await
    {
        return Err(Box::new(refuse_with(
            StatusCode::SERVICE_UNAVAILABLE,
            BUSY,
            e.to_string(),
        )));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// rmcp answers some refusals in plain text, a bad body with 415 and a session's end with
/// 202: give every refusal a JSON-RPC body, a bad body 400 and a `DELETE` 204.
async fn as_json_rpc(method: &Method, response: Response) -> Response {
    let status = response.status();
    if *method == Method::DELETE && status == StatusCode::ACCEPTED {
        return StatusCode::NO_CONTENT.into_response();
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let status = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = if status.is_server_error() {
        BUSY
    } else {
        INVALID_REQUEST
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    let mut refused = refuse_with(status, code, message);
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            refused.headers_mut().insert(name, v.clone());
        }
    }
    refused
}
