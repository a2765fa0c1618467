//! The daemon: one per user, owning the live sessions, answering on its socket.

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use skillet_engine::session::{SessionError, SessionManager, SessionStart};
use skillet_engine::{Engine, EngineSettings};
use skillet_mcp::{HttpOptions, HttpSetupError, McpOptions, SkillServer};
use skillet_registry::{Config, Environment, Registry};
use skillet_store::{SessionQuery, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::api::{ErrorCode, Request, Response};
use crate::paths::{SocketPaths, private_dir};

/// How long the daemon stays up with no live session and no client, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Its files.
    pub paths: SocketPaths,
    /// Exit after this long with no live session and no client.
    pub idle_timeout: Duration,
    /// The store sessions are recorded in.
    pub store: Option<Arc<dyn Store>>,
    /// The environment requests' directories are read in (home, XDG directories). Its working
    /// directory is the workspace served over HTTP.
    pub env: Environment,
    /// Also serve MCP over streamable HTTP. The daemon then stays up until stopped.
    pub http: Option<HttpMcp>,
}

/// MCP over HTTP, served by the daemon beside its socket.
#[derive(Debug, Clone)]
pub struct HttpMcp {
    /// Address, token and allowed origins.
    pub options: HttpOptions,
    /// Tool calls run at once.
    pub max_concurrent_calls: usize,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another daemon holds the lock.
    #[error("a skillet daemon is already running{} on {socket}; `skillet daemon stop` stops it", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning {
        /// Its pid, if it wrote one.
        pid: Option<u32>,
        /// Its socket.
        socket: PathBuf,
    },
    /// MCP over HTTP cannot be served as asked.
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    /// The skills to serve over HTTP cannot be read.
    #[error("cannot serve MCP: {0}")]
    Mcp(String),
    /// The HTTP address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The socket or its directory could not be set up.
    #[error("cannot listen on {path}: {source}")]
    Listen {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

struct Daemon {
    manager: Arc<SessionManager>,
    env: Environment,
    store: Option<Arc<dyn Store>>,
    paths: SocketPaths,
    started: Instant,
    started_ms: i64,
    idle_timeout: Duration,
    clients: AtomicUsize,
    last_activity: std::sync::Mutex<Instant>,
    stop: watch::Sender<bool>,
}

/// Runs the daemon until it is stopped (`daemon.stop`, SIGTERM, SIGINT) or has been idle for
/// `idle_timeout`. Ends every live session before returning.
pub async fn serve(options: DaemonOptions) -> Result<(), DaemonError> {
    let paths = options.paths.clone();
    let listen_err = |source| DaemonError::Listen {
        path: paths.socket.clone(),
        source,
    };
    private_dir(paths.dir()).map_err(listen_err)?;
    let _lock = take_lock(&paths)?;
    // Holding the lock, any socket file left is a dead daemon's.
    match std::fs::remove_file(&paths.socket) {
        Ok(()) => log(&format!(
            "replaced the stale socket {}",
            paths.socket.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(listen_err(e)),
    }
    let listener = UnixListener::bind(&paths.socket).map_err(listen_err)?;
    std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600))
        .map_err(listen_err)?;
    let idle = match &options.http {
        Some(_) => "no idle exit while serving HTTP".to_owned(),
        None => format!("idle exit after {} s", options.idle_timeout.as_secs()),
    };
    log(&format!(
        "listening on {} (pid {}, {idle})",
        paths.socket.display(),
        std::process::id(),
    ));

    let daemon = Arc::new(Daemon {
        manager: Arc::new(
            SessionManager::new(options.store.clone())
                .with_holder(format!("the daemon on {}", paths.socket.display())),
        ),
        env: options.env,
        store: options.store,
        paths: paths.clone(),
        started: Instant::now(),
        started_ms: skillet_store::now_ms(),
        // Agents reach an HTTP server whenever they like: it must not go away when idle.
        idle_timeout: if options.http.is_some() {
            Duration::MAX
        } else {
            options.idle_timeout
        },
        clients: AtomicUsize::new(0),
        last_activity: std::sync::Mutex::new(Instant::now()),
        stop: watch::channel(false).0,
    });
    {
        // Planned before the first connection is accepted: a request for a session being
        // replayed then waits for the replay instead of finding no such live session.
        let (plan, lines) = daemon.manager.plan_restore();
        for line in lines {
            log(&line);
        }
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let context = |dir: &Path| daemon.context(dir).ok();
            for line in daemon.manager.restore_planned(plan, &context).await {
                log(&line);
            }
        });
    }

    let http_stop = match &options.http {
        Some(http) => Some(serve_http(&daemon, http, daemon.store.clone()).await?),
        None => None,
    };

    let mut stop = daemon.stop.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut term = signal(tokio::signal::unix::SignalKind::terminate());
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let daemon = daemon.clone();
                    tokio::spawn(async move { daemon.connection(stream).await });
                }
                Err(e) => log(&format!("accept failed: {e}")),
            },
            _ = tick.tick() => {
                daemon.manager.tick().await;
                for line in daemon.manager.take_problems() {
                    log(&line);
                }
                if daemon.idle() {
                    log("idle with no sessions; exiting");
                    break;
                }
            }
            _ = stop.wait_for(|s| *s) => {
                log("stop requested");
                break;
            }
            _ = recv(&mut term) => { log("SIGTERM; stopping"); break; }
            _ = recv(&mut int) => { log("SIGINT; stopping"); break; }
        }
    }
    if let Some(token) = http_stop {
        token.cancel();
    }
    daemon.manager.shutdown().await;
    for line in daemon.manager.take_problems() {
        log(&line);
    }
    let _ = std::fs::remove_file(&paths.socket);
    log("stopped");
    Ok(())
}

/// Starts MCP over HTTP on the daemon's sessions; the token stops it.
async fn serve_http(
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
    .map_err(|e| DaemonError::Mcp(e.to_string()))?;
    let router = skillet_mcp::http_service(server.clone(), &http.options)?;
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
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { until.cancelled().await })
            .await;
        if let Err(e) = served {
            log(&format!("MCP over HTTP stopped: {e}"));
        }
    });
    log(&format!(
        "serving MCP on http://{bound}{} ({} tools)",
        skillet_mcp::MCP_PATH,
        server.tool_names().len()
    ));
    Ok(stop)
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Takes the lock file (kept open, and so held, for the daemon's life) and writes our pid in it.
fn take_lock(paths: &SocketPaths) -> Result<std::fs::File, DaemonError> {
    use std::io::Read as _;
    let err = |source| DaemonError::Listen {
        path: paths.lock.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&paths.lock)
        .map_err(err)?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Err(DaemonError::AlreadyRunning {
            pid: text.trim().parse().ok(),
            socket: paths.socket.clone(),
        });
    }
    file.set_len(0).map_err(err)?;
    write!(file, "{}", std::process::id()).map_err(err)?;
    Ok(file)
}

fn log(line: &str) {
    let now = skillet_store::now_ms();
    eprintln!("skillet daemon [{}.{:03}] {line}", now / 1000, now % 1000);
}

impl Daemon {
    fn idle(&self) -> bool {
        let last = *self
            .last_activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.manager.live_count() == 0
            && self.clients.load(Ordering::SeqCst) == 0
            && last.elapsed() >= self.idle_timeout
    }

    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    async fn connection(self: Arc<Self>, stream: UnixStream) {
        // Only this user's processes may drive sessions that run as this user.
        let me = rustix::process::geteuid().as_raw();
        let accepted = crate::peer::now_ticks();
        let peer = match stream.peer_cred() {
            Ok(cred) if cred.uid() == me => {
                // Even this user's process may not weaken confinement from inside a sandbox.
                let peer = crate::peer::inspect(stream.as_fd(), cred.pid(), accepted);
                if let Some(why) = peer.reason() {
                    log(&format!(
                        "a confined process (pid {}) connected: {why}",
                        cred.pid().unwrap_or(0)
                    ));
                }
                peer
            }
            Ok(cred) => {
                log(&format!("refused a connection from uid {}", cred.uid()));
                let mut stream = stream;
                let refusal = Response::err(
                    Value::Null,
                    ErrorCode::BadRequest,
                    "this daemon serves only the user that started it",
                );
                let _ = stream
                    .write_all(format!("{}\n", json!(refusal)).as_bytes())
                    .await;
                return;
            }
            Err(e) => {
                log(&format!(
                    "refused a connection with no peer credentials: {e}"
                ));
                return;
            }
        };
        self.clients.fetch_add(1, Ordering::SeqCst);
        self.touch();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            let response = match serde_json::from_str::<Request>(&line) {
                Ok(request) => self.handle(request, &peer).await,
                Err(e) => Response::err(
                    Value::Null,
                    ErrorCode::BadRequest,
                    format!("not a request: {e}"),
                ),
            };
            self.touch();
            let mut out = serde_json::to_string(&response).unwrap_or_default();
            out.push('\n');
            if write.write_all(out.as_bytes()).await.is_err() {
                break;
            }
        }
        self.clients.fetch_sub(1, Ordering::SeqCst);
        self.touch();
    }

    async fn handle(&self, request: Request, peer: &crate::peer::Confinement) -> Response {
        let id = request.id.clone();
        if let Some((code, message)) = crate::peer::refusal(&request.method, &request.params, peer)
        {
            log(&format!("refused `{}`: {message}", request.method));
            return Response::err(id, code, message);
        }
        match self.dispatch(&request.method, request.params).await {
            Ok(result) => Response::ok(id, result),
            Err((code, message)) => Response::err(id, code, message),
        }
    }

    async fn dispatch(&self, method: &str, params: Value) -> Result<Value, (ErrorCode, String)> {
        let m = &self.manager;
        match method {
            "daemon.status" => Ok(json!({
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "socket": self.paths.socket,
                "started_at_ms": self.started_ms,
                "uptime_ms": self.started.elapsed().as_millis() as u64,
                "live_sessions": m.live_count(),
                "idle_timeout_s": self.idle_timeout.as_secs(),
                "store": self.store.is_some(),
            })),
            "daemon.stop" => {
                self.stop.send_replace(true);
                Ok(json!({"stopping": true}))
            }
            "session.start" => {
                let p: StartParams = parse(params)?;
                let (engine, registry) = self
                    .context(&p.start.caller_dir)
                    .map_err(|e| (ErrorCode::Refused, e))?;
                let record = m
                    .start(&engine, &registry, &p.skill, p.start)
                    .await
                    .map_err(session_error)?;
                Ok(json!(record))
            }
            "session.send" => {
                let p: SendParams = parse(params)?;
                if let Some(skill) = &p.skill {
                    let session = m.info(&p.id).map_err(session_error)?;
                    if session.skill != *skill {
                        return Err((
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
                        return Err((
                            ErrorCode::BadRequest,
                            "give exactly one of `input` and `from`".into(),
                        ));
                    }
                }
                .map_err(session_error)?;
                Ok(json!(reply))
            }
            "session.list" => {
                let p: ListParams = parse(params)?;
                let query = SessionQuery {
                    skill: p.skill,
                    status: p.status,
                    limit: p.limit.unwrap_or(0),
                };
                Ok(json!(m.list(&query).map_err(session_error)?))
            }
            "session.close" => {
                let p: IdParams = parse(params)?;
                Ok(json!(m.close(&p.id).await.map_err(session_error)?))
            }
            "session.logs" => {
                let p: IdParams = parse(params)?;
                let (session, turns) = m.history(&p.id).map_err(session_error)?;
                Ok(json!({"session": session, "turns": turns}))
            }
            "session.pipe" => {
                let p: PipeParams = parse(params)?;
                if p.stop {
                    let removed = m.unpipe(&p.from, &p.to);
                    return Ok(
                        json!({"from": p.from, "to": p.to, "piped": false, "removed": removed}),
                    );
                }
                let (from, to) = m.pipe(&p.from, &p.to).map_err(session_error)?;
                Ok(json!({"from": from, "to": to, "piped": true}))
            }
            other => Err((
                ErrorCode::UnknownMethod,
                format!("no method `{other}`; docs/daemon-api.md lists them"),
            )),
        }
    }

    /// The engine and skills a command run in `dir` would see.
    fn context(&self, dir: &Path) -> Result<(Engine, Registry), String> {
        if !dir.is_dir() {
            return Err(format!("the directory {} does not exist", dir.display()));
        }
        let env = Environment {
            cwd: dir.to_path_buf(),
            ..self.env.clone()
        };
        let config = Config::load(&env).map_err(|e| e.to_string())?;
        let registry = Registry::discover(&env, &config);
        let settings = EngineSettings::from_config(&env, &config, self.store.clone());
        Ok((Engine::new(settings), registry))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(params: Value) -> Result<T, (ErrorCode, String)> {
    let params = if params.is_null() { json!({}) } else { params };
    serde_json::from_value(params).map_err(|e| (ErrorCode::BadRequest, format!("bad params: {e}")))
}

fn session_error(e: SessionError) -> (ErrorCode, String) {
    let code = match &e {
        SessionError::NotFound(_) => ErrorCode::NotFound,
        SessionError::Over { .. } | SessionError::Conversation(_) => ErrorCode::SessionOver,
        SessionError::TooMany { .. } => ErrorCode::TooMany,
        SessionError::Refused(_) | SessionError::Framing(_) | SessionError::Owned { .. } => {
            ErrorCode::Refused
        }
        SessionError::Start(_) => ErrorCode::StartFailed,
        SessionError::Store(_) => ErrorCode::Internal,
    };
    (code, e.to_string())
}

#[derive(Deserialize)]
struct StartParams {
    skill: String,
    #[serde(flatten)]
    start: SessionStart,
}

#[derive(Deserialize)]
struct SendParams {
    id: String,
    /// When given, the session must be one of this skill's.
    skill: Option<String>,
    input: Option<String>,
    from: Option<String>,
}

#[derive(Deserialize)]
struct ListParams {
    skill: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct IdParams {
    id: String,
}

#[derive(Deserialize)]
struct PipeParams {
    from: String,
    to: String,
    #[serde(default)]
    stop: bool,
}
