//! The HTTP transport's MCP sessions, capped in number and ended when idle.
//!
//! Every `initialize` makes a session that rmcp keeps until the client deletes it or it has
//! been idle for the keep-alive time, so a client that only initializes (10,000 times, say)
//! held hundreds of MB. Here at most `max` live at once: a new one takes the place of the least
//! recently used session with no stream open, and when every session has one, the new one is
//! refused (the HTTP layer answers 503).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// HTTP sessions live at once unless `--max-sessions` says otherwise.
pub const DEFAULT_MAX_SESSIONS: usize = 256;
/// An HTTP session with no traffic for this long is ended, unless `--session-idle-timeout`
/// says otherwise.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Usage {
    last_used: Instant,
    /// Streams open to the client: a session with one is in use, never evicted.
    streams: usize,
}

/// Why a session could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// Every session has a stream open.
    #[error("all {0} MCP sessions are in use; retry later, or raise --max-sessions")]
    Full(usize),
    /// rmcp's own error.
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
}

/// rmcp's [`LocalSessionManager`] with a cap and least-recently-used eviction.
#[derive(Debug)]
pub(crate) struct CappedSessions {
    inner: LocalSessionManager,
    usage: Arc<Mutex<HashMap<SessionId, Usage>>>,
    max: usize,
}

impl CappedSessions {
    pub(crate) fn new(max: usize, idle_timeout: Duration) -> CappedSessions {
        let mut inner = LocalSessionManager::default();
        inner.session_config.keep_alive = Some(idle_timeout);
        CappedSessions {
            inner,
            usage: Arc::default(),
            max: max.max(1),
        }
    }

    fn usage(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Usage>> {
        self.usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many sessions are live.
    pub(crate) fn open(&self) -> usize {
        self.usage().len()
    }

    /// Whether `id` is a live session.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.usage().keys().any(|k| k.as_ref() == id)
    }

    fn touch(&self, id: &SessionId) {
        if let Some(u) = self.usage().get_mut(id) {
            u.last_used = Instant::now();
        }
    }

    /// Ends the least recently used idle session when at the cap. `Err` when all are in use.
    pub(crate) async fn make_room(&self) -> Result<(), SessionsError> {
        let victim = {
            let usage = self.usage();
            if usage.len() < self.max {
                return Ok(());
            }
            usage
                .iter()
                .filter(|(_, u)| u.streams == 0)
                .min_by_key(|(_, u)| u.last_used)
                .map(|(id, _)| id.clone())
        };
        match victim {
            Some(id) => self.close_session(&id).await,
            None => Err(SessionsError::Full(self.max)),
        }
    }

    /// `stream`, counted as open on `id` until it is dropped.
    fn tracked<S>(&self, id: &SessionId, stream: S) -> Tracked<S> {
        if let Some(u) = self.usage().get_mut(id) {
            u.streams += 1;
            u.last_used = Instant::now();
        }
        Tracked {
            inner: Box::pin(stream),
            id: id.clone(),
            usage: self.usage.clone(),
        }
    }
}

/// A stream to the client, marking its session in use while open.
pub(crate) struct Tracked<S> {
    inner: Pin<Box<S>>,
    id: SessionId,
    usage: Arc<Mutex<HashMap<SessionId, Usage>>>,
}

impl<S: Stream> Stream for Tracked<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        let mut usage = self
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(u) = usage.get_mut(&self.id) {
            u.streams = u.streams.saturating_sub(1);
            u.last_used = Instant::now();
        }
    }
}

impl SessionManager for CappedSessions {
    type Error = SessionsError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.make_room().await?;
        let (id, transport) = self.inner.create_session().await?;
        self.usage().insert(
            id.clone(),
            Usage {
                last_used: Instant::now(),
                streams: 0,
            },
        );
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.usage().remove(id);
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.create_stream(id, message).await?;
        Ok(self.tracked(id, stream))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.touch(id);
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(self.tracked(id, stream))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(self.tracked(id, stream))
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        Ok(self.inner.restore_session(id).await?)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}
