//! One client connection: who is on the other end (only the daemon's own user is served, and
//! a confined peer only in part), then requests and their responses, one a line, until it
//! closes. Requests are carried out and answered one at a time, in order, except the queue's:
//! a `queue.turn` waits beside them and is answered under its `id` when granted, and
//! `queue.release`/`queue.withdraw` are answered at once, so a connection waiting for turns is
//! always read (the release that ends a wait, and the close that frees everything).

use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use serde_json::Value;
use skillet_mcp::lines::{Line, LineReader};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use super::{Daemon, warn};
use crate::api::method::{QueueRelease, QueueTurn, QueueWithdraw};
use crate::api::{ErrorCode, Method as _, QueueWithdrawReply, Request, Response};
use crate::peer::Confinement;

impl Daemon {
    /// Serves `stream` until the client closes it.
    pub(super) async fn connection(self: Arc<Self>, mut stream: UnixStream) {
        let Some((peer, peer_pid)) = admit(&mut stream).await else {
            return;
        };
        // Who its jobs are queued for, for fair share: taken once, while the peer surely lives.
        let client: Arc<str> = crate::jobs::client_of(peer_pid).into();
        let peer = Arc::new(peer);
        let _client = Counted::new(&self.clients);
        let connection = self.turns.connection();
        self.touch();
        let (read, write) = stream.into_split();
        // Requests are answered in order, one at a time, as they always were, except the
        // queue's: a `queue.turn` waits beside them (answered by its `id` when granted), and a
        // `queue.release` or `queue.withdraw` is answered at once. So the connection is always
        // read while turns wait: the release that ends a wait, and the close that frees
        // everything, are never stuck behind the wait itself.
        let (answers, answered) = mpsc::channel::<Answer>(MAX_PENDING);
        let writer = tokio::spawn(self.clone().write_answers(write, answered));
        let (in_order, pending) = mpsc::channel::<(Request, Held)>(MAX_PENDING);
        // What the connection's unanswered requests may hold (see PENDING_BYTES).
        let budget = Arc::new(Semaphore::new(PENDING_BYTES));
        let worker = tokio::spawn(self.clone().serve_in_order(
            pending,
            peer.clone(),
            client.clone(),
            connection,
            answers.clone(),
        ));
        let mut waits = Waits::default();
        let mut lines = LineReader::new(read, MAX_REQUEST_BYTES);
        while let Ok(Some(read)) = lines.next().await {
            self.touch();
            let (request, size) = match read {
                Line::Complete(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Line::Complete(bytes) => match serde_json::from_slice::<Request>(&bytes) {
                    Ok(request) => match request.id_problem() {
                        None => (request, bytes.len()),
                        Some(why) => {
                            let bad = Response::err(Value::Null, ErrorCode::BadRequest, why);
                            let _ = answers.send((bad, None, None)).await;
                            continue;
                        }
                    },
                    Err(e) => {
                        let bad = format!("not a request: {e}");
                        let _ = answers
                            .send((
                                Response::err(Value::Null, ErrorCode::BadRequest, bad),
                                None,
                                None,
                            ))
                            .await;
                        continue;
                    }
                },
                Line::TooLong => {
                    let too_long = Response::err(
                        Value::Null,
                        ErrorCode::BadRequest,
                        format!(
                            "the request line is longer than {MAX_REQUEST_BYTES} bytes and was skipped; send a smaller request (a long session input can go in a file the session reads)"
                        ),
                    );
                    let _ = answers.send((too_long, None, None)).await;
                    continue;
                }
            };
            let unconfined = peer.reason().is_none();
            let method = request.method.as_str();
            let queue =
                [QueueWithdraw::NAME, QueueRelease::NAME, QueueTurn::NAME].contains(&method);
            if unconfined && queue && size > QUEUE_LINE_BYTES {
                // Such requests are read past the budget (a release must always be read), and
                // a wait holds its request: small ones only.
                let big = Response::err(
                    request.id,
                    ErrorCode::BadRequest,
                    format!("a {method} request is at most {QUEUE_LINE_BYTES} bytes"),
                );
                let _ = answers.send((big, None, None)).await;
            } else if unconfined && method == QueueWithdraw::NAME {
                let answer = waits.withdraw(&request);
                let _ = answers.send((answer, None, None)).await;
            } else if unconfined && method == QueueRelease::NAME {
                let answer = self.answer(request, &peer, &client, connection).await;
                let _ = answers.send((answer, None, None)).await;
            } else if unconfined && method == QueueTurn::NAME {
                if waits.is_waiting(&request.id.to_string()) {
                    let taken = Response::err(
                        request.id,
                        ErrorCode::BadRequest,
                        "a queue.turn with this id still waits on this connection; give each request an id of its own",
                    );
                    let _ = answers.send((taken, None, None)).await;
                    continue;
                }
                if waits.waiting() >= MAX_WAITS {
                    let busy = Response::err(
                        request.id,
                        ErrorCode::Busy,
                        format!(
                            "busy: this connection already has {MAX_WAITS} queue.turn requests waiting; wait for one to be answered"
                        ),
                    );
                    let _ = answers.send((busy, None, None)).await;
                    continue;
                }
                let daemon = self.clone();
                let (peer, client, answers) = (peer.clone(), client.clone(), answers.clone());
                let key = request.id.to_string();
                waits.spawn(key, move |withdrawn| async move {
                    let id = request.id.clone();
                    // A turn is taken in the same step as its answer is made, so dropping the
                    // wait (withdrawn, or the connection closed) never drops a granted turn.
                    let response = tokio::select! {
                        biased;
                        answer = daemon.answer(request, &peer, &client, connection) => answer,
                        Ok(()) = withdrawn => Response::err(id, ErrorCode::Refused, "withdrawn"),
                    };
                    let _ = answers.send((response, None, None)).await;
                });
            } else {
                // Read no further while earlier requests hold the budget: the client waits, not
                // the daemon's memory. Only these wait so; a queue request is always read.
                let cost = u32::try_from(size.clamp(1, PENDING_BYTES)).unwrap_or(u32::MAX);
                let Ok(held) = budget.clone().acquire_many_owned(cost).await else {
                    break;
                };
                if in_order.send((request, held)).await.is_err() {
                    break;
                }
            }
        }
        // Closed: what still waits for a turn leaves the queue, and the turns this connection
        // holds are free again, before anyone else is served.
        waits.end().await;
        self.turns.release_all(connection);
        // What was read before the close is still served, as it always was.
        drop(in_order);
        let _ = worker.await;
        drop(answers);
        let _ = writer.await;
        self.touch();
    }

    /// Serves `pending`, one request at a time, in the order they came.
    async fn serve_in_order(
        self: Arc<Self>,
        mut pending: mpsc::Receiver<(Request, Held)>,
        peer: Arc<Confinement>,
        client: Arc<str>,
        connection: u64,
        answers: mpsc::Sender<Answer>,
    ) {
        while let Some((request, held)) = pending.recv().await {
            // Counted before `stopping` is read, until its answer is written: a stopping
            // daemon either waits for this request and its answer, or it is answered
            // `Stopping` (see `serve`).
            let serving = InFlight::new(&self);
            let response = if self.stopping.load(Ordering::SeqCst) {
                stopping(request.id)
            } else {
                self.answer(request, &peer, &client, connection).await
            };
            if answers
                .send((response, Some(serving), Some(held)))
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Writes each answer as its request is done, until every sender is gone.
    async fn write_answers(
        self: Arc<Self>,
        mut write: tokio::net::unix::OwnedWriteHalf,
        mut answered: mpsc::Receiver<Answer>,
    ) {
        while let Some((response, _serving, _held)) = answered.recv().await {
            self.touch();
            if write.write_all(line(&response).as_bytes()).await.is_err() {
                // The client is gone; the answers still coming are dropped with the channel.
                answered.close();
                continue;
            }
            // Written: a pooled call's used member may now be replaced (off its path).
            self.pools.answered();
        }
    }

    /// The answer to `request`; a bug that panics while handling it is answered as one, so
    /// the client is told and the connection (and the daemon) serve on.
    pub(super) async fn answer(
        &self,
        request: Request,
        peer: &Confinement,
        client: &str,
        connection: u64,
    ) -> Response {
        let id = request.id.clone();
        // Quoted and cut short: the name is the client's, and goes in the log.
        let method = format!("{:?}", request.method.chars().take(64).collect::<String>());
        match AssertUnwindSafe(self.handle(request, peer, client, connection))
            .catch_unwind()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                // The panic hook has written what and where to the log already.
                warn(&format!("a bug ended the handling of {method}"));
                Response::err(
                    id,
                    ErrorCode::Internal,
                    format!(
                        "skillet hit a bug handling {method} and did not finish it; the daemon's log says where; please report it"
                    ),
                )
            }
        }
    }
}

/// Who is on the other end of `stream`, and its pid; `None` for a process of another user
/// (told why) or one whose credentials cannot be read: only this user's processes may drive
/// sessions that run as this user.
pub(super) async fn admit(stream: &mut UnixStream) -> Option<(Confinement, Option<i32>)> {
    let me = rustix::process::geteuid().as_raw();
    let accepted = crate::peer::now_ticks();
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me => {
            // Even this user's process may not weaken confinement from inside a sandbox.
            let peer = crate::peer::inspect(stream.as_fd(), cred.pid(), accepted);
            if let Some(why) = peer.reason() {
                warn(&format!(
                    "a confined process (pid {}) connected: {why}",
                    cred.pid().unwrap_or(0)
                ));
            }
            Some((peer, cred.pid()))
        }
        Ok(cred) => {
            warn(&format!("refused a connection from uid {}", cred.uid()));
            let refusal = Response::err(
                Value::Null,
                ErrorCode::BadRequest,
                "this daemon serves only the user that started it",
            );
            let _ = stream.write_all(line(&refusal).as_bytes()).await;
            None
        }
        Err(e) => {
            warn(&format!(
                "refused a connection with no peer credentials: {e}"
            ));
            None
        }
    }
}

/// An answer to write, with the count of its request in `in_flight` (for requests carried
/// out in order), given up once it is written.
/// A response, what counts it in flight, and the share of the connection's budget its request
/// holds: both until it is written.
type Answer = (Response, Option<InFlight>, Option<Held>);

/// A request's share of its connection's [`PENDING_BYTES`].
type Held = tokio::sync::OwnedSemaphorePermit;

/// One request counted in the daemon's `in_flight` until dropped: held until its answer is
/// written, so a stopping daemon does not exit between carrying out a request (`daemon.stop`
/// itself) and answering it.
pub(super) struct InFlight(Arc<Daemon>);

impl InFlight {
    pub(super) fn new(daemon: &Arc<Daemon>) -> InFlight {
        daemon.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(daemon.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One counted in a gauge of `Daemon` (`clients`, `in_flight`) until it is dropped, however
/// what it counts ends (a panic included), so the daemon never waits on a count that leaked.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(count: &'a AtomicUsize) -> Counted<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Counted(count)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The longest request line read from a client, not counting its line end: 8 MiB. A longer
/// one is answered with an error and skipped without being held, so no client (a confined one
/// included) can make the daemon allocate without bound.
pub(crate) const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// Requests of one connection read and not yet served (or answers not yet written); past that
/// the connection is read no further until one is. What they may hold is bounded by
/// [`PENDING_BYTES`].
const MAX_PENDING: usize = 256;

/// Bytes of request lines one connection may have read and not yet answered, not counting the
/// queue's (each line counts its length; one of [`MAX_REQUEST_BYTES`] always fits). Past that the connection is read no
/// further until answers are written. Without it, [`MAX_PENDING`] lines of
/// [`MAX_REQUEST_BYTES`] each made one connection hold 2 GiB while an earlier request ran,
/// and a client that did not read its answers could do the same.
const PENDING_BYTES: usize = MAX_REQUEST_BYTES;

/// The longest `queue.turn`, `queue.release` or `queue.withdraw` line. They are read whatever the
/// budget (a release must always get through), and each of up to [`MAX_WAITS`] waits holds its
/// request, so they are kept small: a turn names a skill, a client and a few numbers.
const QUEUE_LINE_BYTES: usize = 8 * 1024;

/// `queue.turn` requests of one connection waiting at once; one more is answered `busy`, so
/// waits never stop the connection from being read.
const MAX_WAITS: usize = 4096;

/// The `queue.turn` requests of one connection still waiting, so `queue.withdraw` can take one
/// back and the connection's close takes all.
#[derive(Default)]
struct Waits {
    tasks: JoinSet<()>,
    by_request: std::collections::HashMap<String, oneshot::Sender<()>>,
}

impl Waits {
    /// Serves a `queue.turn` request keyed `key`: `serve` is given what says it was withdrawn.
    fn spawn<F>(&mut self, key: String, serve: impl FnOnce(oneshot::Receiver<()>) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.forget_done();
        let (withdraw, withdrawn) = oneshot::channel();
        self.tasks.spawn(serve(withdrawn));
        self.by_request.insert(key, withdraw);
    }

    /// Whether a `queue.turn` keyed `key` still waits.
    fn is_waiting(&self, key: &str) -> bool {
        self.by_request.get(key).is_some_and(|w| !w.is_closed())
    }

    /// How many `queue.turn` requests still wait.
    fn waiting(&mut self) -> usize {
        self.forget_done();
        self.tasks.len()
    }

    /// Forgets the waits that were answered, as new ones come, so the map stays as large as
    /// what waits.
    fn forget_done(&mut self) {
        while self.tasks.try_join_next().is_some() {}
        self.by_request.retain(|_, withdraw| !withdraw.is_closed());
    }

    /// `queue.withdraw`: the `queue.turn` request it names, if it still waits, leaves the queue
    /// and is answered `withdrawn`. One granted meanwhile is answered with its turn as usual
    /// (whoever withdrew it gives it back).
    fn withdraw(&mut self, request: &Request) -> Response {
        let named = request.params.get("request").map(Value::to_string);
        let withdrawn = named
            .and_then(|key| self.by_request.remove(&key))
            .is_some_and(|withdraw| withdraw.send(()).is_ok());
        match serde_json::to_value(QueueWithdrawReply { withdrawn }) {
            Ok(result) => Response::ok(request.id.clone(), result),
            Err(e) => Response::err(request.id.clone(), ErrorCode::Internal, e.to_string()),
        }
    }

    /// Ends every wait (the connection closed), and waits until each has let go of its place.
    async fn end(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Connections served at once; one more is answered with an error and closed. With
/// [`MAX_REQUEST_BYTES`] (the line being read) and [`PENDING_BYTES`] (the lines not yet
/// answered) this bounds what clients can make the daemon hold: 16 MiB a connection, 1 GiB in
/// all.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// The answer to a request read once the daemon is stopping.
pub(super) fn stopping(id: Value) -> Response {
    Response::err(
        id,
        ErrorCode::Stopping,
        "the skillet daemon is stopping and did nothing; run the command again \
         (a new daemon starts for it)",
    )
}

/// `response` as one line of the wire format.
pub(super) fn line(response: &Response) -> String {
    // A response holds only JSON values and strings: writing it cannot fail.
    let mut out = serde_json::to_string(response).unwrap_or_default();
    out.push('\n');
    out
}
