//! One client connection: who is on the other end (only the daemon's own user is served, and
//! a confined peer only in part), then one request and one response per line until it closes.

use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{Daemon, log};
use crate::api::{ErrorCode, Request, Response};

impl Daemon {
    /// Serves `stream` until the client closes it.
    pub(super) async fn connection(self: Arc<Self>, stream: UnixStream) {
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
        while let Ok(Some(text)) = lines.next_line().await {
            if text.trim().is_empty() {
                continue;
            }
            let response = match serde_json::from_str::<Request>(&text) {
                Ok(request) => self.handle(request, &peer).await,
                Err(e) => Response::err(
                    Value::Null,
                    ErrorCode::BadRequest,
                    format!("not a request: {e}"),
                ),
            };
            self.touch();
            if write.write_all(line(&response).as_bytes()).await.is_err() {
                break;
            }
        }
        self.clients.fetch_sub(1, Ordering::SeqCst);
        self.touch();
    }
}

/// `response` as one line of the wire format.
fn line(response: &Response) -> String {
    // A response holds only JSON values and strings: writing it cannot fail.
    let mut out = serde_json::to_string(response).unwrap_or_default();
    out.push('\n');
    out
}
