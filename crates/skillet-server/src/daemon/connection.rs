//! One client connection: who is on the other end (only the daemon's own user is served, and
//! a confined peer only in part), then one request and one response per line until it closes.

use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use serde_json::Value;
use skillet_mcp::lines::{Line, LineReader};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use super::{Daemon, warn};
use crate::api::{ErrorCode, Request, Response};
use crate::peer::Confinement;

impl Daemon {
    /// Serves `stream` until the client closes it.
    pub(super) async fn connection(self: Arc<Self>, stream: UnixStream) {
        // Only this user's processes may drive sessions that run as this user.
        let me = rustix::process::geteuid().as_raw();
        let accepted = crate::peer::now_ticks();
        let peer_pid;
        let peer = match stream.peer_cred() {
            Ok(cred) if cred.uid() == me => {
                peer_pid = cred.pid();
                // Even this user's process may not weaken confinement from inside a sandbox.
                let peer = crate::peer::inspect(stream.as_fd(), cred.pid(), accepted);
                if let Some(why) = peer.reason() {
                    warn(&format!(
                        "a confined process (pid {}) connected: {why}",
                        cred.pid().unwrap_or(0)
                    ));
                }
                peer
            }
            Ok(cred) => {
                warn(&format!("refused a connection from uid {}", cred.uid()));
                let refusal = Response::err(
                    Value::Null,
                    ErrorCode::BadRequest,
                    "this daemon serves only the user that started it",
                );
                let mut stream = stream;
                let _ = stream.write_all(line(&refusal).as_bytes()).await;
                return;
            }
            Err(e) => {
                warn(&format!(
                    "refused a connection with no peer credentials: {e}"
                ));
                return;
            }
        };
        // Who its jobs are queued for, for fair share: taken once, while the peer surely lives.
        let client = crate::jobs::client_of(peer_pid);
        let _client = Counted::new(&self.clients);
        let connection = self.turns.connection();
        self.touch();
        let (read, mut write) = stream.into_split();
        let mut lines = LineReader::new(read, MAX_REQUEST_BYTES);
        while let Ok(Some(read)) = lines.next().await {
            // Counted before `stopping` is read: a stopping daemon either waits for this
            // request or it is answered `Stopping` (see `serve`).
            let _serving = Counted::new(&self.in_flight);
            let response = match read {
                Line::Complete(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Line::Complete(bytes) => match serde_json::from_slice::<Request>(&bytes) {
                    Ok(request) if self.stopping.load(Ordering::SeqCst) => Response::err(
                        request.id,
                        ErrorCode::Stopping,
                        "the skillet daemon is stopping and did nothing; run the command again \
                         (a new daemon starts for it)",
                    ),
                    Ok(request) => self.answer(request, &peer, &client, connection).await,
                    Err(e) => Response::err(
                        Value::Null,
                        ErrorCode::BadRequest,
                        format!("not a request: {e}"),
                    ),
                },
                Line::TooLong => Response::err(
                    Value::Null,
                    ErrorCode::BadRequest,
                    format!(
                        "the request line is longer than {MAX_REQUEST_BYTES} bytes and was skipped; send a smaller request (a long session input can go in a file the session reads)"
                    ),
                ),
            };
            self.touch();
            if write.write_all(line(&response).as_bytes()).await.is_err() {
                break;
            }
            // Written: a pooled call's used member may now be replaced (off its path).
            self.pools.answered();
        }
        // Whatever ended the connection, the turns it held are free again.
        self.turns.release_all(connection);
        self.touch();
    }

    /// The answer to `request`; a bug that panics while handling it is answered as one, so
    /// the client is told and the connection (and the daemon) serve on.
    async fn answer(
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

/// Connections served at once; one more is answered with an error and closed. With
/// [`MAX_REQUEST_BYTES`] this bounds what clients can make the daemon hold (512 MiB).
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// Answers a connection over [`MAX_CONNECTIONS`] and closes it.
pub(super) async fn refuse_busy(mut stream: UnixStream) {
    warn(&format!(
        "refused a connection: {MAX_CONNECTIONS} are open already"
    ));
    let refusal = Response::err(
        Value::Null,
        ErrorCode::BadRequest,
        format!(
            "the daemon serves at most {MAX_CONNECTIONS} connections at once; try again when one has closed"
        ),
    );
    let _ = stream.write_all(line(&refusal).as_bytes()).await;
}

/// `response` as one line of the wire format.
fn line(response: &Response) -> String {
    // A response holds only JSON values and strings: writing it cannot fail.
    let mut out = serde_json::to_string(response).unwrap_or_default();
    out.push('\n');
    out
}
