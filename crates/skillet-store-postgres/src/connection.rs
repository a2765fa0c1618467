//! The connection pool, and how a synchronous store call talks to it.
//!
//! The [`skillet_store::Store`] trait is synchronous, and it is called from plain threads and
//! from inside tokio runtimes alike (the daemon, the MCP server). The `postgres` crate's blocking
//! client starts a runtime per call, which panics inside another runtime. So the connections
//! live on a runtime of the store's own (one thread, which does the sockets' I/O), and a call
//! drives the client's futures on its own thread with a plain executor: those futures only
//! exchange messages with the connection task, so they need no runtime where they are polled,
//! and the data a call borrows (a record, a visitor) stays on the caller's thread.

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use skillet_store::StoreError;

/// How long a call waits for a free connection before it fails with
/// [`StoreError::Unreachable`].
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long making a connection may take (unless the URL sets `connect_timeout`): a server that
/// does not answer at all (a host that drops packets) costs a command this much, not minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections to one database.
pub(crate) struct Connections {
    pool: Pool,
    /// Taken only by `drop`.
    runtime: Option<tokio::runtime::Runtime>,
    /// The URL without its password, for errors.
    shown: String,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// A pool of at most `max` connections to `url` (with `password` when given); none is made
    /// until the first call.
    pub(crate) fn new(
        url: &str,
        password: Option<&str>,
        max: usize,
    ) -> Result<Connections, StoreError> {
        let shown = crate::url::without_password(url);
        // The parser's message may quote the URL, password and all: not passed on.
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|_| StoreError::Unreachable {
                url: shown.clone(),
                problem: "it is not a PostgreSQL URL this skillet can read; write it as \
                          postgres://USER@HOST/DATABASE (see docs/scaling.md)"
                    .into(),
            })?;
        if let Some(password) = password {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // No call waits without end on a lock another session holds, or on a statement the
        // server never finishes (a run would otherwise hang on its history row): unless the
        // URL chooses its own.
        let options = config.get_options().unwrap_or_default().to_owned();
        let mut added = options.clone();
        for (name, value) in [("lock_timeout", "5s"), ("statement_timeout", "60s")] {
            if !options.contains(name) {
                added.push_str(&format!(" -c {name}={value}"));
            }
        }
        config.options(added.trim());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("skillet-store-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unreachable {
                url: shown.clone(),
                problem: format!("cannot start the connection thread: {e}"),
            })?;
        let manager = Manager::from_config(
            config,
            crate::tls::connector(),
            ManagerConfig {
                // A connection that the server closed (a restart) is seen as closed and
                // replaced; one that looks open but fails is dropped by `call` below.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Unreachable {
                url: shown.clone(),
                problem: e.to_string(),
            })?;
        Ok(Connections {
            pool,
            runtime: Some(runtime),
            shown,
        })
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// A connection from the pool (made on the store's runtime when none is free).
    pub(crate) fn get(&self) -> Result<Object, StoreError> {
        let pool = self.pool.clone();
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Unreachable {
                url: self.shown.clone(),
                problem: "the store is closing".into(),
            })?;
        let got = futures_executor::block_on(runtime.spawn(async move { pool.get().await }))
            .map_err(|e| StoreError::Unreachable {
                url: self.shown.clone(),
                problem: format!("the connection thread failed: {e}"),
            })?;
        got.map_err(|e| StoreError::Unreachable {
            url: self.shown.clone(),
            problem: match e {
                deadpool_postgres::PoolError::Backend(e) => crate::error::describe(&e),
                deadpool_postgres::PoolError::Timeout(_) => format!(
                    "no connection within {} s (the server accepts connections but does not \
                     answer, or every connection of this process is busy)",
                    CONNECT_TIMEOUT.as_secs()
                ),
                other => other.to_string(),
            },
        })
    }

    /// Runs `work` with a connection. A connection the server closed under it is not put back,
    /// so the next call makes a new one (a restarted server is met again without a restart
    /// of skillet).
    pub(crate) fn call<T>(
        &self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.get()?;
        let result = block_on(work(&mut client));
        if client.is_closed() {
            let _ = Object::take(client);
        }
        result.map_err(|e| self.unreachable_if_closed(e))
    }

    fn unreachable_if_closed(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Server(problem) if problem.starts_with(crate::error::CLOSED) => {
                StoreError::Unreachable {
                    url: self.shown.clone(),
                    problem,
                }
            }
            other => other,
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        self.pool.close();
        // A store may be dropped inside another runtime (a daemon shutting down), where
        // dropping a runtime the usual way, which waits for its tasks, panics.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Drives `future` to its end on this thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}
