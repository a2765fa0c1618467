//! The HTTP listener's bounds: how many connections are served at once, and how long a new
//! one may take to send its first request's head.
//!
//! A connection that never sends a whole request is never refused for a missing token: it
//! only holds a file descriptor. Without these bounds, many of them (no token needed) take
//! every descriptor the daemon has, and then its own socket can accept nobody, so the user's
//! `skillet daemon status` and sessions hang.

use std::future::Future as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// HTTP connections served at once; past it, new ones wait in the kernel's backlog.
pub(super) const MAX_CONNECTIONS: usize = 256;

/// How long a new connection has to send its first request's head (through the blank line).
pub(super) const FIRST_HEAD_WITHIN: Duration = Duration::from_secs(20);

/// A TCP listener that serves at most [`MAX_CONNECTIONS`] at once and closes a connection
/// whose first request's head has not come within [`FIRST_HEAD_WITHIN`].
pub(super) struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    first_head_within: Duration,
}

impl BoundedListener {
    /// `inner`, serving at most `max` connections, each given `first_head_within`.
    pub(super) fn new(
        inner: TcpListener,
        max: usize,
        first_head_within: Duration,
    ) -> BoundedListener {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            first_head_within,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Never closed, so a slot always comes.
        let Ok(slot) = self.slots.clone().acquire_owned().await else {
            unreachable!("the listener's semaphore is never closed")
        };
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (
            BoundedStream {
                inner: stream,
                _slot: slot,
                head: HeadSeen::default(),
                deadline: Some(Box::pin(tokio::time::sleep(self.first_head_within))),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection, holding its slot until it closes.
pub(super) struct BoundedStream {
    inner: TcpStream,
    _slot: OwnedSemaphorePermit,
    head: HeadSeen,
    /// Until the first head has been read.
    deadline: Option<Pin<Box<Sleep>>>,
}

/// Finds the end of a request head across reads: a blank line, ended by `\r\n` or, as the
/// HTTP parser also accepts, by a bare `\n` (`\n\n` or `\n\r\n` after the last header).
#[derive(Default)]
struct HeadSeen {
    /// 1: a line just ended; 2: then a `\r`.
    state: u8,
}

impl HeadSeen {
    /// Feeds `bytes`; true once the blank line ending the head has gone by.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            self.state = match (self.state, b) {
                (1 | 2, b'\n') => return true,
                (_, b'\n') => 1,
                (1, b'\r') => 2,
                _ => 0,
            };
        }
        false
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.deadline.is_some() && this.head.feed(&buf.filled()[before..]) {
                    this.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let late = this
                    .deadline
                    .as_mut()
                    .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                if late {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no whole request head within the time allowed",
                    )))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use axum::serve::Listener as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::{BoundedListener, HeadSeen};

    #[tokio::test]
    async fn a_connection_without_a_whole_head_is_closed_and_slots_bound_the_rest() {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut listener = BoundedListener::new(tcp, 2, Duration::from_millis(300));
        // A slowloris: part of a head, then nothing.
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        let (mut slow_in, _) = listener.accept().await;
        // A client that sends its whole head, then waits for its answer.
        let mut fine = tokio::net::TcpStream::connect(addr).await.unwrap();
        fine.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (mut fine_in, _) = listener.accept().await;
        let started = Instant::now();
        let mut buf = vec![0u8; 64];
        let n = slow_in.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"GET / HTTP/1.1\r\nHo");
        let err = slow_in.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(250));
        // Past its head, a connection has no deadline: it may wait on a long call.
        let n = fine_in.read(&mut buf).await.unwrap();
        assert!(buf[..n].ends_with(b"\r\n\r\n"));
        let waited = tokio::time::timeout(Duration::from_millis(600), fine_in.read(&mut buf)).await;
        assert!(waited.is_err(), "still open and waiting: {waited:?}");
        // Both slots are held: a third connection waits until one closes.
        let _third = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), listener.accept())
                .await
                .is_err()
        );
        drop(slow_in);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), listener.accept())
                .await
                .is_ok()
        );
        drop((slow, fine));
    }

    #[test]
    fn the_end_of_a_head_is_found_across_reads_and_only_there() {
        let mut h = HeadSeen::default();
        assert!(!h.feed(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(!h.feed(b"\r"));
        assert!(h.feed(b"\nbody"));
        let mut h = HeadSeen::default();
        assert!(!h.feed(b"GET / HTTP/1.1\r\n\r\r\n"));
        assert!(h.feed(b"\r\n"));
        // Bare line ends, which the HTTP parser accepts too.
        assert!(HeadSeen::default().feed(b"GET / HTTP/1.1\nHost: x\n\n"));
        assert!(HeadSeen::default().feed(b"GET / HTTP/1.1\nHost: x\n\r\n"));
        assert!(!HeadSeen::default().feed(b"GET / HTTP/1.1\r\nHost: x\r\r\n"));
    }
}
