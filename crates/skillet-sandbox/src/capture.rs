//! Reading a child's output into a capped buffer, optionally forwarding it live.

use std::sync::Arc;
use std::time::Duration;

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

/// After `stop` fires, how long a reader keeps taking what is already in the pipe.
const STOP_DRAIN: Duration = Duration::from_millis(100);

/// Reads `reader` to its end, keeping at most `cap` bytes. The first byte past the cap fires
/// `overflow`, on which the supervisor kills the run; reading goes on (discarding) so the writer
/// is never blocked on a full pipe meanwhile.
///
/// When `stop` fires (the process is gone but something still holds the pipe open), what is
/// already in the pipe is still taken, for at most [`STOP_DRAIN`]: on a loaded machine this
/// task may not have run at all before the stop, and the output must not be lost for it.
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
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        let read = match drain_until {
            Some(deadline) => {
                match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
                    Ok(read) => read,
                    Err(_) => break,
                }
            }
            None => tokio::select! {
                read = reader.read(&mut chunk) => read,
                _ = stop.changed() => {
                    drain_until = Some(tokio::time::Instant::now() + STOP_DRAIN);
                    continue;
                }
            },
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_already_in_the_pipe_survives_a_stop_that_came_first() {
        let (mut writer, reader) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"late but whole")
            .await
            .unwrap();
        // The writer stays open, as a stray holding the pipe would keep it.
        let (stop_tx, stop_rx) = watch::channel(false);
        stop_tx.send(true).unwrap();
        let captured = read_capped(
            reader,
            1024,
            Stream::Stdout,
            None,
            stop_rx,
            Arc::new(Notify::new()),
        )
        .await;
        assert_eq!(captured.bytes, b"late but whole");
        drop(writer);
    }
}
