//! Connections past [`MAX_CONNECTIONS`]: a few more are served `daemon.status` and
//! `daemon.stop` only, so a user whose clients have taken every slot can still see the daemon
//! and stop it; anything else on them is refused with the reason, and past those few a
//! connection is refused at once.
//!
//! What such a connection can make the daemon hold stays small: a short request line, for a
//! short while.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use skillet_mcp::lines::{Line, LineReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::Semaphore;

use super::connection::{InFlight, MAX_CONNECTIONS, admit, line, stopping};
use super::{Daemon, warn};
use crate::api::method::{DaemonStatus, DaemonStop};
use crate::api::{ErrorCode, Method as _, Request, Response, ResponseError};

/// Connections served past [`MAX_CONNECTIONS`], for `daemon.status` and `daemon.stop`.
pub(super) const CONTROL_CONNECTIONS: usize = 4;

/// The longest request line read on such a connection (`daemon.stop` needs a few dozen bytes).
const CONTROL_LINE_BYTES: usize = 4096;

/// How long a client refused for want of a connection is asked to wait.
const RETRY_AFTER_MS: u64 = 200;

/// How long a refused connection is read (and what comes dropped) before it is closed.
const REFUSAL_LINGER: Duration = Duration::from_millis(200);

/// How long such a connection is served before it is closed.
const CONTROL_TIME: Duration = Duration::from_secs(10);

/// The connections served at once: [`MAX_CONNECTIONS`] (each may hold a request line of up
/// to `MAX_REQUEST_BYTES`: bounding how many are open bounds what clients can make the daemon
/// hold), then [`CONTROL_CONNECTIONS`] for status and stop only.
pub(super) struct Slots {
    full: Arc<Semaphore>,
    control: Arc<Semaphore>,
    /// Accepts failed in a row (see [`Slots::accepted`]).
    failing: u32,
}

impl Slots {
    pub(super) fn new() -> Slots {
        Slots {
            full: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            control: Arc::new(Semaphore::new(CONTROL_CONNECTIONS)),
            failing: 0,
        }
    }

    /// Serves what the listener accepted. After an error, waits before the next accept, longer
    /// as errors go on (10 ms, doubling, up to 1 s), and logs the first and every hundredth:
    /// a daemon out of file descriptors would otherwise retry at once, spinning a core and
    /// writing its log at ~100,000 lines a second.
    pub(super) async fn accepted(
        &mut self,
        daemon: &Arc<Daemon>,
        accepted: std::io::Result<(UnixStream, tokio::net::unix::SocketAddr)>,
    ) {
        match accepted {
            Ok((stream, _)) => {
                self.failing = 0;
                self.serve(daemon, stream);
            }
            Err(e) => {
                self.failing = self.failing.saturating_add(1);
                if self.failing == 1 || self.failing.is_multiple_of(100) {
                    warn(&format!(
                        "accept failed ({} in a row): {e}; waiting before accepting again",
                        self.failing
                    ));
                }
                let wait = Duration::from_millis(10 << (self.failing - 1).min(7));
                tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
            }
        }
    }

    /// Serves the accepted `stream` in a task of its own, as far as the slots free allow.
    pub(super) fn serve(&self, daemon: &Arc<Daemon>, stream: UnixStream) {
        let daemon = daemon.clone();
        if let Ok(slot) = self.full.clone().try_acquire_owned() {
            tokio::spawn(async move {
                daemon.connection(stream).await;
                drop(slot);
            });
        } else if let Ok(slot) = self.control.clone().try_acquire_owned() {
            tokio::spawn(async move {
                daemon.control_only(stream).await;
                drop(slot);
            });
        } else {
            tokio::spawn(refuse_busy(stream));
        }
    }
}

impl Daemon {
    /// Serves `stream`, a connection past [`MAX_CONNECTIONS`]: `daemon.status` and
    /// `daemon.stop` as on any connection, every other request refused as busy.
    pub(super) async fn control_only(self: Arc<Self>, mut stream: UnixStream) {
        let Some((peer, _pid)) = admit(&mut stream).await else {
            return;
        };
        warn(&format!(
            "{MAX_CONNECTIONS} connections are open: serving one more for daemon.status and daemon.stop only"
        ));
        self.touch();
        let (read, mut write) = stream.into_split();
        let mut lines = LineReader::new(read, CONTROL_LINE_BYTES);
        let serve = async {
            while let Ok(Some(read)) = lines.next().await {
                let request = match read {
                    Line::Complete(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                    Line::Complete(bytes) => serde_json::from_slice::<Request>(&bytes),
                    Line::TooLong => Err(serde::de::Error::custom("longer than a control request")),
                };
                let (response, serving) = match request {
                    Err(e) => (
                        Response::err(
                            Value::Null,
                            ErrorCode::BadRequest,
                            format!("not a request: {e}"),
                        ),
                        None,
                    ),
                    Ok(request)
                        if request.method == DaemonStatus::NAME
                            || request.method == DaemonStop::NAME =>
                    {
                        // Counted until written, as on any connection: a stopping daemon
                        // answers `daemon.stop` before it exits.
                        let serving = InFlight::new(&self);
                        let response = if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                            stopping(request.id)
                        } else {
                            self.answer(request, &peer, "", 0).await
                        };
                        (response, Some(serving))
                    }
                    Ok(request) => (busy(request.id), None),
                };
                if write.write_all(line(&response).as_bytes()).await.is_err() {
                    return;
                }
                drop(serving);
            }
        };
        let _ = tokio::time::timeout(CONTROL_TIME, serve).await;
        self.touch();
    }
}

/// Answers a connection past [`MAX_CONNECTIONS`] and [`CONTROL_CONNECTIONS`] more, and
/// closes it.
async fn refuse_busy(mut stream: UnixStream) {
    warn(&format!(
        "refused a connection: {} are open already",
        MAX_CONNECTIONS + CONTROL_CONNECTIONS
    ));
    let _ = stream.write_all(line(&busy(Value::Null)).as_bytes()).await;
    // Closed at once, a client still writing its request would see a broken pipe instead of
    // this answer: what it sends is read (and dropped) for a moment first.
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The refusal of a request past [`MAX_CONNECTIONS`]: `busy`, to be asked again shortly.
fn busy(id: Value) -> Response {
    Response {
        id,
        result: None,
        error: Some(ResponseError {
            retry_after_ms: Some(RETRY_AFTER_MS),
            ..ResponseError::new(
                ErrorCode::Busy,
                format!(
                    "busy: the daemon serves at most {MAX_CONNECTIONS} connections at once; try again when one has closed \
                     (`skillet daemon status` and `skillet daemon stop` still work)"
                ),
            )
        }),
    }
}
