//! The daemon: one per user, owning the live sessions, answering on its socket.
//!
//! Its life is here: the lock that makes it the only one, the socket, the accept loop, idle
//! exit and orderly stop. One connection's traffic is in `connection`, what each method does
//! in `dispatch`, and MCP over HTTP in `http`.

mod alerts;
mod config_stamp;
mod connection;
mod dispatch;
mod http;
mod overflow;
mod pool;
#[cfg(feature = "otlp")]
mod telemetry;
mod turns;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skillet_engine::session::SessionManager;
use skillet_engine::{Engine, EngineSetup, SetupError};
use skillet_mcp::{HttpOptions, HttpSetupError};
use skillet_observe::journal::About;
use skillet_registry::{Environment, Registry};
use skillet_store::{LogLevel, Store};
use tokio::net::UnixListener;
use tokio::sync::watch;

use crate::jobs::{JobLimits, Jobs};
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
    Mcp(#[source] SetupError),
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
    /// Warm interpreters of pooled `code_session` skills (`pool.run`).
    pools: Arc<skillet_engine::session::Pools>,
    /// The skill files calls have read, so an unchanged one is not parsed for every call.
    specs: skillet_registry::SpecMemo,
    jobs: Arc<Jobs>,
    /// Turns in the jobs' queue held by callers that run skills themselves (`queue.turn`).
    turns: turns::Turns,
    env: Environment,
    store: Option<Arc<dyn Store>>,
    paths: SocketPaths,
    started: Instant,
    started_ms: i64,
    idle_timeout: Duration,
    clients: AtomicUsize,
    /// Requests being served: a stopping daemon answers them before it ends its sessions.
    in_flight: AtomicUsize,
    /// Set once the daemon has begun to stop: a request read after it is answered `Stopping`
    /// (nothing done), which the client sends again to the next daemon.
    stopping: AtomicBool,
    last_activity: std::sync::Mutex<Instant>,
    stop: watch::Sender<bool>,
    /// The alert watcher's state: while it watches a rule the daemon does not exit when idle.
    alerts: Arc<alerts::Watch>,
    /// Whether traces are exported ([telemetry]): the daemon then stays up.
    #[cfg(feature = "otlp")]
    telemetry: Arc<telemetry::Export>,
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
    // A daemon killed with sessions open left their scratch behind; this one takes it away
    // before it restores anything, even if it never runs a skill.
    skillet_sandbox::sweep_dead_scratch();
    // Once-per-process work (the sandbox's; the marks each peer is compared with), done before
    // the first call while sessions are restored, so no client's first session start pays it.
    drop(skillet_sandbox::prepare(
        &skillet_sandbox::SandboxPolicy::new(Duration::from_secs(30)),
    ));
    crate::peer::prepare();
    // `[jobs]` is read from the global file only (Config::load ignores a workspace's).
    let (jobs_settings, daemon_settings, shared_store) =
        match skillet_registry::Config::load(&options.env) {
            Ok(config) => (config.jobs, config.daemon, config.store.url.is_some()),
            Err(e) => {
                warn(&format!(
                    "[jobs] and [daemon] settings unreadable, using defaults: {e}"
                ));
                Default::default()
            }
        };
    let limits = JobLimits::from_settings(&jobs_settings);
    let pools = Arc::new(skillet_engine::session::Pools::from_settings(
        &daemon_settings,
    ));
    let mut jobs = Jobs::new(
        options.store.clone(),
        options.env.clone(),
        // The machine is part of the holder: on a store several machines share, a job
        // held elsewhere is never judged by a pid of this one.
        format!(
            "{} on {}",
            paths.socket.display(),
            skillet_engine::session::this_host()
        ),
        limits,
    )
    .with_pools(pools.clone());
    if shared_store && options.store.is_some() {
        jobs = jobs.with_shared_store(Duration::from_secs(
            jobs_settings.lease_s.unwrap_or(30).max(1),
        ));
    }
    let jobs = Arc::new(jobs);
    // Before any connection: a job a dead daemon held is `lost` by the time anyone asks.
    for line in jobs.recover() {
        log(&line);
    }
    jobs.share();
    let daemon = Arc::new(Daemon {
        manager: Arc::new(
            SessionManager::new(options.store.clone())
                .with_holder(format!("the daemon on {}", paths.socket.display())),
        ),
        pools,
        specs: skillet_registry::SpecMemo::default(),
        jobs,
        turns: turns::Turns::default(),
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
        in_flight: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
        last_activity: std::sync::Mutex::new(Instant::now()),
        stop: watch::channel(false).0,
        alerts: Arc::new(alerts::Watch {
            active: AtomicBool::new(false),
        }),
        #[cfg(feature = "otlp")]
        telemetry: Arc::new(telemetry::Export {
            active: AtomicBool::new(false),
        }),
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
            let context = |dir: &Path| match daemon.context(dir) {
                Ok(context) => Some(context),
                Err(e) => {
                    // The engine says a missing directory itself; anything else only we know.
                    if !matches!(e, SetupError::NoSuchDirectory(_)) {
                        warn(&format!(
                            "cannot restore a session started in {}: {e}",
                            dir.display()
                        ));
                    }
                    None
                }
            };
            for line in daemon.manager.restore_planned(plan, &context).await {
                log(&line);
            }
        });
    }

    // Listening only now, with everything that can fail done: a client that connects is
    // answered. Bound earlier, a daemon that then failed (say, its store busy) reset the
    // connections waiting to be accepted, and a command that had just started it said so.
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
        None => format!(
            "idle exit after {} s, none while alert rules are watched",
            options.idle_timeout.as_secs()
        ),
    };
    log(&format!(
        "listening on {} (pid {}, {idle})",
        paths.socket.display(),
        std::process::id(),
    ));

    // Alerts are evaluated over the history: without a store there is nothing to watch.
    #[cfg(not(feature = "otlp"))]
    if skillet_registry::Config::load(&daemon.env)
        .is_ok_and(|c| c.telemetry.otlp_endpoint.is_some())
    {
        warn(
            "telemetry: this skillet was built without OTLP export (cargo feature `otlp`); [telemetry] otlp_endpoint is not supported by it",
        );
    }
    if let Some(store) = daemon.store.clone() {
        alerts::spawn(
            daemon.env.clone(),
            store.clone(),
            daemon.alerts.clone(),
            daemon.stop.subscribe(),
        );
        #[cfg(feature = "otlp")]
        telemetry::spawn(
            daemon.env.clone(),
            store,
            daemon.telemetry.clone(),
            daemon.stop.subscribe(),
        );
    }
    let http_stop = match &options.http {
        Some(http) => Some(http::serve_http(&daemon, http, daemon.store.clone()).await?),
        None => None,
    };

    let mut slots = overflow::Slots::new();
    let mut stop = daemon.stop.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut log_complaint = None;
    let mut term = signal(tokio::signal::unix::SignalKind::terminate());
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt());
    loop {
        tokio::select! {
            accepted = listener.accept() => slots.accepted(&daemon, accepted).await,
            _ = tick.tick() => {
                keep_log(daemon.store.as_ref(), &mut log_complaint);
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
    // No more connections from here: one accepted now would wait through the shutdown and then
    // be reset. A command that finds nobody listening starts a daemon of its own, which waits
    // for this one's lock (the socket file goes last, as `daemon stop` waits for it).
    drop(listener);
    daemon.stopping.store(true, Ordering::SeqCst);
    // The requests read before are answered first (a session being started is started, and
    // ended below with the rest), for a while at most: a long `job.wait` is not waited out.
    let draining = Instant::now();
    while daemon.in_flight.load(Ordering::SeqCst) > 0 && draining.elapsed() < DRAIN_FOR {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(token) = http_stop {
        token.cancel();
    }
    daemon.jobs.shutdown().await;
    // Pools never keep the daemon up (an idle exit does not wait for them): their members end
    // here, those still starting too.
    let ended = daemon.pools.shutdown().await;
    if ended > 0 {
        log(&format!("ended {ended} warm pool member(s)"));
    }
    daemon.manager.shutdown().await;
    for line in daemon.manager.take_problems() {
        log(&line);
    }
    let _ = std::fs::remove_file(&paths.socket);
    log("stopped");
    keep_log(daemon.store.as_ref(), &mut log_complaint);
    Ok(())
}

/// How long a stopping daemon waits for the requests it is serving to be answered.
const DRAIN_FOR: Duration = Duration::from_secs(5);

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

/// One line of the daemon's log (on its stderr, and kept for `skillet logs`). Lines quote what
/// clients sent (a method name, a skill's name), so each is made safe for the terminal that may
/// show the log, and kept to one line.
pub(crate) fn log(line: &str) {
    log_at(LogLevel::Info, line);
}

/// A line of the daemon's log about something that went wrong (`skillet logs --level warn`).
pub(crate) fn warn(line: &str) {
    log_at(LogLevel::Warn, line);
}

/// A line of the daemon's log about one skill's execution, which `skillet logs --skill` and
/// `--execution` find.
pub(crate) fn log_about(line: &str, about: About<'_>) {
    emit(LogLevel::Info, line, about);
}

fn log_at(level: LogLevel, line: &str) {
    emit(level, line, About::default());
}

fn emit(level: LogLevel, line: &str, about: About<'_>) {
    let line =
        skillet_spec::display::terminal_safe(line, skillet_spec::display::Lines::Escape, 4_000);
    skillet_observe::journal::emit(level, "skillet::daemon", "skillet daemon", &line, about);
}

/// Moves the daemon's queued log lines into the store, saying on stderr (once a minute at
/// most) when it cannot.
fn keep_log(store: Option<&Arc<dyn Store>>, last_complaint: &mut Option<Instant>) {
    let Some(store) = store else {
        return;
    };
    // The index too, so that a search finds little left to index.
    let kept = skillet_observe::journal::drain_into(store.as_ref())
        .and_then(|_| store.index_logs().map(|_| ()));
    if let Err(e) = kept
        && last_complaint.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
    {
        *last_complaint = Some(Instant::now());
        eprintln!("skillet daemon: log lines are not kept for `skillet logs`: {e}");
    }
}

impl Daemon {
    fn idle(&self) -> bool {
        let last = *self
            .last_activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.manager.live_count() == 0
            && !self.alerts.active.load(Ordering::SeqCst)
            && !self.exporting()
            && self.jobs.active() == 0
            && self.clients.load(Ordering::SeqCst) == 0
            && last.elapsed() >= self.idle_timeout
    }

    /// Whether traces are being exported (the daemon then does not exit when idle).
    fn exporting(&self) -> bool {
        #[cfg(feature = "otlp")]
        return self.telemetry.active.load(Ordering::SeqCst);
        #[cfg(not(feature = "otlp"))]
        return false;
    }

    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// The engine and skills a command run in `dir` would see.
    fn context(&self, dir: &Path) -> Result<(Engine, Registry), SetupError> {
        let setup = EngineSetup::load_in(&self.env, dir)?;
        Ok((setup.engine(self.store.clone()), setup.registry()))
    }

    /// The engine, and the skill `name` as `skillet run NAME` in `dir` would resolve it (the
    /// files named for it), so a session starts the skill a run would.
    fn context_for(&self, dir: &Path, name: &str) -> Result<(Engine, Registry), SetupError> {
        let setup = EngineSetup::load_in(&self.env, dir)?;
        Ok((
            setup.engine(self.store.clone()),
            setup.registry_for_memo(name, &self.specs),
        ))
    }
}
