//! The skillet daemon and the client that talks to it.
//!
//! Sessions outlive the command that starts them, so they live in a daemon: one per user,
//! started in the background by the first command that needs it, listening on a Unix socket
//! that only its user can reach (the socket is 0600 in a 0700 directory, and every connection's
//! peer credentials are checked). The API is newline-delimited JSON, one request and one
//! response per line, documented in `docs/daemon-api.md`.
//!
//! With `skillet serve --http ADDR` the daemon also serves MCP over streamable HTTP, sharing
//! its sessions with the socket API; what MCP means for skills is `skillet-mcp`'s.
//!
//! This crate owns the socket, the daemon's life (single instance, stale sockets, idle exit,
//! orderly stop), the HTTP listener and the wire format ([`api`], shared by the daemon and the
//! [`Client`]: every method's params and result are typed there). It must not run skills itself:
//! sessions are the engine's [`skillet_engine::session::SessionManager`].
//!
//! ```no_run
//! use skillet_server::{Client, SocketPaths};
//! let paths = SocketPaths::for_user(None)?;
//! let mut client = Client::connect_or_start(&paths, std::path::Path::new("/usr/bin/skillet"))?;
//! let status = client.status()?;
//! println!("pid {}, {} live sessions", status.pid, status.live_sessions);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
mod client;
mod daemon;
mod jobs;
mod paths;
mod peer;
mod queue_client;

pub use api::{ErrorCode, Request, Response, ResponseError};
pub use client::{Client, ClientError};
pub use daemon::{DEFAULT_IDLE_TIMEOUT, DaemonError, DaemonOptions, HttpMcp, serve};
pub use jobs::{DEFAULT_AGING_S, DEFAULT_MAX_QUEUED, JobLimits};
pub use paths::{PathsError, SocketPaths};
pub use queue_client::DaemonQueue;
