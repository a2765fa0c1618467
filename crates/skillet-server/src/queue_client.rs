//! [`DaemonQueue`]: runs made in this process (`skillet batch`, `skillet mcp` on stdio) wait
//! for their turn in the daemon's job queue, so they share one `max_running`, one memory budget
//! and fair share with detached jobs and agents' calls over HTTP (docs/jobs.md, "One queue").
//!
//! One connection carries every request of this process, side by side: each run's `queue.turn`
//! (several wait at once, so fair share sees all of them), the `queue.release` of each turn
//! when its run ends, and the `queue.withdraw` of a wait its run gave up. The daemon holds the
//! turns for this connection: if the process dies, it sees the connection close and frees them
//! and every wait. This process keeps its own cap beside (`--jobs`, `--max-concurrent`); when
//! the daemon cannot be reached or started, or refuses a caller inside a sandbox, that cap alone
//! bounds its runs, as before, and the caller is told once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillet_engine::{NoTurn, QueuedRun, RunQueue, Turn, TurnAsked};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::api::method::{QueueRelease, QueueTurn, QueueWithdraw};
use crate::api::{ErrorCode, Method, QueueTurnParams, QueueTurnReply, Response};
use crate::{Client, SocketPaths};

/// How long a run asks again while the daemon answers that it is stopping.
const STOPPING_WAIT: Duration = Duration::from_secs(10);

/// How long runs go without asking after the daemon could not be reached or started.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(30);

/// How long the connection stays open after the last run that used it ends: calls that come
/// in a burst (an agent's calls one after another, a batch's lines) share one instead of each
/// connecting again, and an idle process still holds none soon after.
const LINGER: Duration = Duration::from_secs(2);

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
    /// The connection while any run waits or holds a turn, and for [`LINGER`] after; made
    /// again after it is lost. It closes when nothing needs it, so an idle agent's
    /// `skillet mcp` holds none of the daemon's connections (and does not keep an idle daemon
    /// up).
    link: tokio::sync::Mutex<std::sync::Weak<Link>>,
    /// The connection kept for [`LINGER`] after its last use, and when that was.
    kept: Kept,
    /// This process's own cap on its runs, beside the daemon's queue (and alone, when the
    /// daemon cannot be asked).
    cap: Arc<tokio::sync::Semaphore>,
    /// After the daemon could not be asked, runs do not ask again until then: a daemon that
    /// fails to start must not cost every run the wait for it.
    not_before: Mutex<Option<Instant>>,
    /// Says `warn` once, not for every run.
    warned: AtomicBool,
    warn: Box<dyn Fn(&str) + Send + Sync>,
}

/// The connection kept open after its last use, and when that use ended (see [`LINGER`]).
type Kept = Arc<Mutex<Option<(Arc<Link>, Instant)>>>;

/// One connection to the daemon: requests written by a task of their own, answers routed to
/// whoever waits for them by `id`.
struct Link {
    out: mpsc::UnboundedSender<String>,
    waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Response>>>>,
    next_id: AtomicU64,
    open: Arc<AtomicBool>,
    /// What the daemon said when it turned the connection away (it serves a bounded number).
    refused: Arc<Mutex<Option<String>>>,
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
        DaemonQueue {
            inner: Arc::new(Inner {
                paths,
                exe,
                client: std::env::var("SKILLET_CLIENT").ok(),
                link: tokio::sync::Mutex::new(std::sync::Weak::new()),
                kept: Arc::default(),
                cap: Arc::new(tokio::sync::Semaphore::new(cap.max(1))),
                not_before: Mutex::new(None),
                warned: AtomicBool::new(false),
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
            let held = match inner.ask(&run).await {
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
    /// Asks the daemon for `run`'s turn and waits for it. Dropped while it waits, the wait is
    /// withdrawn; a turn granted all the same is given back when its answer comes.
    async fn ask(&self, run: &QueuedRun) -> Result<Held, Asked> {
        let params = QueueTurnParams {
            skill: run.skill.clone(),
            memory_mb: run.memory_mb,
            client: self.client.clone().or_else(|| run.client.clone()),
            priority: run.priority,
        };
        // A daemon that went away (stopped, or exited idle) while the run waited took the
        // wait with it: asked once more, of the daemon that starts next. One stopping answers
        // so until it is gone: asked again, boundedly, until the next one does.
        let mut again = true;
        let mut stopping_until: Option<Instant> = None;
        let (link, response) = loop {
            let link = self.link().await?;
            let Some((id, answer)) = link.send::<QueueTurn>(&params) else {
                // Closed since it was taken (the daemon stopped or died between two calls):
                // asked once more, on a new connection.
                if again {
                    again = false;
                    continue;
                }
                return Err(Asked::Unreachable(
                    "the connection to the daemon closed".into(),
                ));
            };
            let mut withdraw = Withdraw {
                link: link.clone(),
                id,
                armed: true,
            };
            let answered = answer.await;
            withdraw.armed = false;
            if answered.is_err() {
                let refused = link
                    .refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(why) = refused {
                    // Full, not gone: the run waits and asks again, as for a full queue.
                    return Err(Asked::No(NoTurn::for_now(format!("busy: {why}"))));
                }
            }
            match answered {
                Ok(response)
                    if response
                        .error
                        .as_ref()
                        .is_some_and(|e| e.code == ErrorCode::Stopping)
                        && stopping_until.is_none_or(|t| Instant::now() < t) =>
                {
                    stopping_until.get_or_insert_with(|| Instant::now() + STOPPING_WAIT);
                    link.open.store(false, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(response) => break (link, response),
                Err(_) if again => again = false,
                Err(_) => {
                    return Err(Asked::Unreachable(
                        "the connection to the daemon closed while the run waited".into(),
                    ));
                }
            }
        };
        match (response.result, response.error) {
            (Some(result), _) => {
                let reply: QueueTurnReply = serde_json::from_value(result).map_err(|e| {
                    Asked::Unreachable(format!("the daemon's answer cannot be read: {e}"))
                })?;
                Ok(Held {
                    turn: reply.turn,
                    link,
                    kept: self.kept.clone(),
                })
            }
            (None, Some(e)) => Err(match e.code {
                ErrorCode::Busy | ErrorCode::Stopping => Asked::No(NoTurn::for_now(e.message)),
                // A caller inside a sandbox may not take the daemon's turns; it still runs.
                ErrorCode::Forbidden | ErrorCode::UnknownMethod => Asked::Unreachable(e.message),
                _ => Asked::No(NoTurn::refused(e.message)),
            }),
            (None, None) => Err(Asked::Unreachable("the daemon's answer is empty".into())),
        }
    }

    /// The open connection, made (and the daemon started) when there is none.
    async fn link(&self) -> Result<Arc<Link>, Asked> {
        let mut link = self.link.lock().await;
        if let Some(open) = link.upgrade().filter(|l| l.open.load(Ordering::SeqCst)) {
            self.keep(&open);
            return Ok(open);
        }
        {
            let not_before = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            if not_before.is_some_and(|t| Instant::now() < t) {
                return Err(Asked::Unreachable(
                    "it could not be reached a moment ago".into(),
                ));
            }
        }
        // A running daemon is reached without a thread: connecting to a listening socket
        // does not block. Starting one waits for it, on a thread of the blocking pool.
        let connected = match tokio::net::UnixStream::connect(&self.paths.socket).await {
            Ok(stream) => Ok(stream),
            Err(_) => {
                let (paths, exe) = (self.paths.clone(), self.exe.clone());
                tokio::task::spawn_blocking(move || {
                    let stream = Client::connect_or_start(&paths, &exe)
                        .map_err(|e| e.to_string())?
                        .into_stream();
                    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
                    tokio::net::UnixStream::from_std(stream).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("connecting failed: {e}")))
            }
        };
        match connected {
            Ok(stream) => {
                let made = Arc::new(Link::over(stream));
                *link = Arc::downgrade(&made);
                self.keep(&made);
                Ok(made)
            }
            Err(why) => {
                *self.not_before.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Instant::now() + ASK_AGAIN_AFTER);
                Err(Asked::Unreachable(why))
            }
        }
    }
}

impl Inner {
    /// Keeps `link` open until [`LINGER`] passes without another use: one task per
    /// connection lets go of it then, and the connection closes once no run holds it either.
    fn keep(&self, link: &Arc<Link>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let same = kept.as_ref().is_some_and(|(k, _)| Arc::ptr_eq(k, link));
        *kept = Some((link.clone(), Instant::now()));
        if same {
            return;
        }
        let slot = Arc::downgrade(&self.kept);
        let watched = Arc::downgrade(link);
        tokio::spawn(async move {
            let mut wait = LINGER;
            loop {
                tokio::time::sleep(wait).await;
                let Some(slot) = slot.upgrade() else { return };
                let mut kept = slot.lock().unwrap_or_else(|p| p.into_inner());
                let Some((link, used)) = kept.as_ref() else {
                    return;
                };
                // Replaced by a newer connection: that one has a task of its own.
                if !std::ptr::eq(Arc::as_ptr(link), watched.as_ptr()) {
                    return;
                }
                let idle = used.elapsed();
                if idle >= LINGER {
                    *kept = None;
                    return;
                }
                wait = LINGER - idle;
            }
        });
    }
}

impl Link {
    /// Starts the tasks that write requests to `stream` and route its answers.
    fn over(stream: tokio::net::UnixStream) -> Link {
        let (read, mut write) = stream.into_split();
        let (out, mut lines) = mpsc::unbounded_channel::<String>();
        let waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Response>>>> = Arc::default();
        let open = Arc::new(AtomicBool::new(true));
        let refused: Arc<Mutex<Option<String>>> = Arc::default();
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let link = Link {
            out,
            waiting: waiting.clone(),
            next_id: AtomicU64::new(1),
            open: open.clone(),
            refused: refused.clone(),
        };
        // Weak: the connection closes once no run needs it (the writer ends with the last
        // sender), even while this task waits for answers.
        let giver = link.out.downgrade();
        tokio::spawn(async move {
            let mut answers = BufReader::new(read).lines();
            while let Ok(Some(line)) = answers.next_line().await {
                let Ok(response) = serde_json::from_str::<Response>(&line) else {
                    continue;
                };
                let Some(id) = response.id.as_u64() else {
                    // Answered to no request: the daemon turning the connection away.
                    if let Some(e) = response.error {
                        *refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.message);
                    }
                    continue;
                };
                let asker = waiting
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                let unclaimed = match asker {
                    Some(asker) => asker.send(response).err(),
                    None => Some(response),
                };
                // A turn nobody waits for any more (its wait was withdrawn or dropped) is
                // given back at once.
                if let Some(turn) = unclaimed
                    .and_then(|r| r.result)
                    .and_then(|r| serde_json::from_value::<QueueTurnReply>(r).ok())
                    && let Some(giver) = giver.upgrade()
                {
                    let _ =
                        giver.send(request_line::<QueueRelease>(0, &json!({"turn": turn.turn})));
                }
            }
            // Every wait still open learns the connection is gone; one asked from now on is
            // refused (see `send`).
            let mut waiting = waiting.lock().unwrap_or_else(|p| p.into_inner());
            open.store(false, Ordering::SeqCst);
            waiting.clear();
        });
        link
    }

    /// Sends `M` with `params`; the answer comes on the receiver. `None` when the connection
    /// is closed.
    fn send<M: Method>(&self, params: &M::Params) -> Option<(u64, oneshot::Receiver<Response>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let params = serde_json::to_value(params).ok()?;
        let (tx, rx) = oneshot::channel();
        {
            // Under the lock the reader clears the waits with when the connection ends: a wait
            // added after that would never be answered, nor told.
            let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            if !self.open.load(Ordering::SeqCst) {
                return None;
            }
            waiting.insert(id, tx);
        }
        if self.out.send(request_line::<M>(id, &params)).is_err() {
            self.waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return None;
        }
        Some((id, rx))
    }

    /// Sends `M` with `params` and does not wait for its answer (id 0, which nobody waits for).
    fn tell<M: Method>(&self, params: &Value) {
        let _ = self.out.send(request_line::<M>(0, params));
    }
}

/// One request line of method `M`.
fn request_line<M: Method>(id: u64, params: &Value) -> String {
    let mut line = json!({"id": id, "method": M::NAME, "params": params}).to_string();
    line.push('\n');
    line
}

/// Withdraws the wait of request `id` if dropped while armed (its run gave up).
struct Withdraw {
    link: Arc<Link>,
    id: u64,
    armed: bool,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        if self.armed {
            self.link
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.id);
            self.link
                .tell::<QueueWithdraw>(&json!({"request": self.id}));
        }
    }
}

/// A turn held in the daemon; given back when dropped.
struct Held {
    turn: String,
    link: Arc<Link>,
    /// [`Inner::kept`]: the connection lingers from the end of the run, not its start.
    kept: Kept,
}

impl Drop for Held {
    fn drop(&mut self) {
        // A connection gone already took its turns with it.
        self.link
            .tell::<QueueRelease>(&json!({"turn": std::mem::take(&mut self.turn)}));
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((link, used)) = kept.as_mut()
            && Arc::ptr_eq(link, &self.link)
        {
            *used = Instant::now();
        }
    }
}
