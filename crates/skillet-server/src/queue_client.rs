//! [`DaemonQueue`]: runs made in this process (`skillet batch`, `skillet mcp` on stdio) wait
//! for their turn in the daemon's job queue, so they share one `max_running`, one memory budget
//! and fair share with detached jobs and agents' calls over HTTP (docs/jobs.md, "One queue").
//!
//! Turns are asked for on one connection, which holds them: if this process dies, the daemon
//! sees it close and frees them. They are given back on a second connection, since the first
//! may be waiting for the next turn meanwhile (and that turn may be waiting for this one).
//! This process keeps its own cap beside (`--jobs`, `--max-concurrent`); when the daemon cannot
//! be reached or started, or refuses a caller inside a sandbox, that cap alone bounds its runs,
//! as before, and the caller is told once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use skillet_engine::{NoTurn, QueuedRun, RunQueue, Turn, TurnAsked};

use crate::api::method::{QueueRelease, QueueTurn};
use crate::api::{ErrorCode, QueueReleaseParams, QueueTurnParams};
use crate::{Client, ClientError, SocketPaths};

/// How long runs go without asking after the daemon could not be reached or started.
const ASK_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// The daemon's job queue, asked over its socket.
pub struct DaemonQueue {
    inner: Arc<Inner>,
}

struct Inner {
    paths: SocketPaths,
    /// The skillet executable, to start a daemon when none runs.
    exe: PathBuf,
    /// `$SKILLET_CLIENT`: who the runs are for, when not this process's session.
    client: Option<String>,
    /// The connection turns are asked for (and held) on.
    asking: Mutex<Option<Client>>,
    /// Turns to give back, to the thread that does.
    releases: Mutex<mpsc::Sender<String>>,
    /// This process's own cap on its runs, beside the daemon's queue (and alone, when the
    /// daemon cannot be asked).
    cap: Arc<tokio::sync::Semaphore>,
    /// Says `warn` once, not for every run.
    warned: AtomicBool,
    /// After the daemon could not be asked, runs do not ask again until then: a daemon that
    /// fails to start must not cost every run the wait for it.
    not_before: Mutex<Option<Instant>>,
    warn: Box<dyn Fn(&str) + Send + Sync>,
}

impl DaemonQueue {
    /// A queue letting at most `cap` runs of this process go at once, each after a turn in the
    /// queue of the daemon at `paths` (started from `exe` when none runs). When the daemon
    /// cannot be asked, `cap` alone bounds them, and `warn` is told why, once.
    pub fn new(
        paths: SocketPaths,
        exe: PathBuf,
        cap: usize,
        warn: impl Fn(&str) + Send + Sync + 'static,
    ) -> DaemonQueue {
        let (tx, rx) = mpsc::channel::<String>();
        let release_paths = paths.clone();
        std::thread::Builder::new()
            .name("skillet-turns".into())
            .spawn(move || give_back(&release_paths, &rx))
            .ok();
        DaemonQueue {
            inner: Arc::new(Inner {
                paths,
                exe,
                client: std::env::var("SKILLET_CLIENT").ok(),
                asking: Mutex::new(None),
                releases: Mutex::new(tx),
                cap: Arc::new(tokio::sync::Semaphore::new(cap.max(1))),
                warned: AtomicBool::new(false),
                not_before: Mutex::new(None),
                warn: Box::new(warn),
            }),
        }
    }
}

impl RunQueue for DaemonQueue {
    fn admit(&self, run: QueuedRun) -> TurnAsked<'_> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let asked = Instant::now();
            let permit = inner
                .cap
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| NoTurn::refused("skillet is stopping"))?;
            let ask = inner.clone();
            // The turn is made (and so given back when dropped) on the blocking thread: were
            // this future dropped while it waits, a turn granted later is still released.
            let answer = tokio::task::spawn_blocking(move || ask.ask(&run))
                .await
                .unwrap_or_else(|e| {
                    Err(Asked::Unreachable(format!("the asking thread failed: {e}")))
                });
            let held = match answer {
                Ok(held) => Some(held),
                Err(Asked::No(no)) => return Err(no),
                Err(Asked::Unreachable(why)) => {
                    if !inner.warned.swap(true, Ordering::SeqCst) {
                        (inner.warn)(&format!(
                            "runs wait under this process's own cap only, not in the skillet daemon's queue: {why}"
                        ));
                    }
                    None
                }
            };
            Ok(Turn {
                waited: asked.elapsed(),
                slot: Box::new((permit, held)),
            })
        })
    }
}

/// Why no turn came from the daemon.
enum Asked {
    /// It answered: no.
    No(NoTurn),
    /// It could not be asked.
    Unreachable(String),
}

impl Inner {
    /// Asks the daemon for `run`'s turn, waiting for it (blocking).
    fn ask(&self, run: &QueuedRun) -> Result<Held, Asked> {
        let params = QueueTurnParams {
            skill: run.skill.clone(),
            memory_mb: run.memory_mb,
            client: self.client.clone().or_else(|| run.client.clone()),
        };
        // One question at a time on the connection; the others wait here, in order.
        let mut asking = self.asking.lock().unwrap_or_else(|p| p.into_inner());
        if asking.is_none() {
            let mut not_before = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            if not_before.is_some_and(|t| Instant::now() < t) {
                return Err(Asked::Unreachable(
                    "it could not be reached a moment ago".into(),
                ));
            }
            match Client::connect_or_start(&self.paths, &self.exe) {
                Ok(client) => *asking = Some(client),
                Err(e) => {
                    *not_before = Some(Instant::now() + ASK_AGAIN_AFTER);
                    return Err(Asked::Unreachable(e.to_string()));
                }
            }
        }
        let Some(client) = asking.as_mut() else {
            return Err(Asked::Unreachable("no connection".into()));
        };
        match client.request::<QueueTurn>(&params) {
            Ok(reply) => Ok(Held {
                turn: reply.turn,
                releases: self
                    .releases
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
            }),
            Err(ClientError::Refused(r)) => match r.code {
                ErrorCode::Busy | ErrorCode::Stopping => Err(Asked::No(NoTurn::for_now(r.message))),
                // A caller inside a sandbox may not take the daemon's turns; it still runs.
                ErrorCode::Forbidden | ErrorCode::UnknownMethod => {
                    Err(Asked::Unreachable(r.message))
                }
                _ => Err(Asked::No(NoTurn::refused(r.message))),
            },
            Err(e) => {
                // The next run connects afresh (to a daemon started anew, if need be).
                *asking = None;
                Err(Asked::Unreachable(e.to_string()))
            }
        }
    }
}

/// A turn held in the daemon; given back when dropped.
struct Held {
    turn: String,
    releases: mpsc::Sender<String>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // The thread is gone only with the process, whose connections close with it.
        let _ = self.releases.send(std::mem::take(&mut self.turn));
    }
}

/// Gives back each turn sent on `turns`, on a connection of its own.
fn give_back(paths: &SocketPaths, turns: &mpsc::Receiver<String>) {
    let mut client: Option<Client> = None;
    while let Ok(turn) = turns.recv() {
        if client.is_none() {
            // No daemon: the turn went with it.
            client = Client::connect(paths).ok();
        }
        if let Some(c) = client.as_mut()
            && c.request::<QueueRelease>(&QueueReleaseParams { turn })
                .is_err()
        {
            client = None;
        }
    }
}
