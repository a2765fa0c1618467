//! Reading a child's output into a capped buffer, optionally forwarding it live.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, mpsc, watch};

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A piece of output as it arrives, for showing it live. Only bytes within the cap are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// The stream.
    pub stream: Stream,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What one stream produced.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

/// Reads `reader` to its end (or until `stop` fires), keeping at most `cap` bytes. The first
/// byte past the cap fires `overflow`, on which the supervisor kills the run; reading goes on
/// (discarding) so the writer is never blocked on a full pipe meanwhile.
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(
    mut reader: R,
    cap: usize,
    stream: Stream,
    live: Option<mpsc::UnboundedSender<OutputChunk>>,
    mut stop: watch::Receiver<bool>,
    overflow: Arc<Notify>,
) -> Captured {
    let mut out = Captured::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            read = reader.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.changed() => break,
        };
        let room = cap.saturating_sub(out.bytes.len());
        let keep = n.min(room);
        if keep < n && !out.truncated {
            out.truncated = true;
            overflow.notify_one();
        }
        if keep > 0 {
            out.bytes.extend_from_slice(&chunk[..keep]);
            if let Some(tx) = &live {
                // A closed receiver only means nobody is watching live.
                let _ = tx.send(OutputChunk {
                    stream,
                    bytes: chunk[..keep].to_vec(),
                });
            }
        }
    }
    out
}
