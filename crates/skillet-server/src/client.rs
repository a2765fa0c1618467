//! Talking to the daemon, starting it first when it is not running.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skillet_engine::session::Reply;

use crate::api::method::{
    DaemonStatus, DaemonStop, JobCancel, JobGet, JobList, JobLogs, JobSubmit, JobWait,
    SessionClose, SessionList, SessionLogs, SessionPipe, SessionSend, SessionStart,
};
use crate::api::{
    ErrorCode, Job, JobIdParams, JobListParams, JobOutput, JobSubmitParams, JobWaitParams, Method,
    NoParams, PipeReply, Request, Response, ResponseError, Session, SessionIdParams,
    SessionListParams, SessionLogsReply, SessionPipeParams, SessionSendParams, SessionStartParams,
    StatusReply, StopReply,
};
use crate::paths::{SocketPaths, private_dir};

/// How long a command waits for a daemon it started to listen.
const START_WAIT: Duration = Duration::from_secs(10);

/// A connection to the daemon, one request at a time.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    paths: SocketPaths,
    /// Set by [`Client::connect_or_start`]: the executable that starts a daemon again when the
    /// one connected to went away without reading a request (see [`Client::request`]).
    restart_with: Option<std::path::PathBuf>,
}

/// Why a request got no result.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon listens on the socket.
    #[error("no skillet daemon is running on {0}")]
    NotRunning(std::path::PathBuf),
    /// A daemon was started but did not come up.
    #[error("started a skillet daemon, but it did not listen on {socket} within {} s; its log is {log}", START_WAIT.as_secs())]
    DidNotStart {
        /// The socket.
        socket: std::path::PathBuf,
        /// Its log file.
        log: std::path::PathBuf,
    },
    /// Reading or writing the socket failed.
    #[error("talking to the skillet daemon failed: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon closed the connection before answering.
    #[error(
        "the skillet daemon closed the connection without answering; `skillet daemon status` says whether it is still running, and its log {log} why it stopped"
    )]
    Closed {
        /// The daemon's log file.
        log: std::path::PathBuf,
    },
    /// A message could not be written, or the daemon's answer could not be read.
    #[error("the skillet daemon answered something unreadable: {what}: {source}")]
    Protocol {
        /// What was being written or read.
        what: String,
        /// Why it failed.
        source: serde_json::Error,
    },
    /// The daemon refused the request.
    #[error("{}", .0.message)]
    Refused(ResponseError),
}

impl ClientError {
    /// The daemon's error code, when it refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused(e) => Some(e.code),
            _ => None,
        }
    }
}

impl Client {
    /// Connects to a running daemon.
    pub fn connect(paths: &SocketPaths) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(&paths.socket).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(paths.socket.clone())
            }
            _ => ClientError::Io(e),
        })?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_id: 0,
            paths: paths.clone(),
            restart_with: None,
        })
    }

    /// The connection itself, for a caller that speaks the protocol on its own (the queue's
    /// turns, [`crate::DaemonQueue`]). Nothing has been read from it yet.
    pub fn into_stream(self) -> UnixStream {
        self.writer
    }

    /// Connects to the daemon, first starting `exe serve --socket …` in the background when
    /// none is running. Two commands racing to start one end up sharing the one that wins the
    /// lock.
    pub fn connect_or_start(paths: &SocketPaths, exe: &Path) -> Result<Client, ClientError> {
        let mut client = Client::connect_or_spawn(paths, exe)?;
        client.restart_with = Some(exe.to_path_buf());
        Ok(client)
    }

    fn connect_or_spawn(paths: &SocketPaths, exe: &Path) -> Result<Client, ClientError> {
        match Client::connect(paths) {
            Err(ClientError::NotRunning(_)) => {}
            other => return other,
        }
        let started = Instant::now();
        let mut child = spawn_daemon(paths, exe)?;
        loop {
            match Client::connect(paths) {
                Ok(client) => {
                    // Reap it in the background if it exits (it lost the race to another).
                    std::thread::spawn(move || child.wait());
                    return Ok(client);
                }
                Err(ClientError::NotRunning(_)) if started.elapsed() < START_WAIT => {
                    // The one it lost the lock to may have been an idle daemon on its way
                    // out: then nobody is left to listen, so start another.
                    if child.try_wait().ok().flatten().is_some() {
                        child = spawn_daemon(paths, exe)?;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(ClientError::NotRunning(_)) => {
                    return Err(ClientError::DidNotStart {
                        socket: paths.socket.clone(),
                        log: paths.log.clone(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Calls the method `M` with `params` and waits for its result.
    ///
    /// A daemon that exits (idle, or stopped by another command) may have accepted this
    /// connection just before: it then goes away without reading the request, which the
    /// kernel reports as a broken pipe on writing or a reset on reading, or reads it and
    /// answers [`ErrorCode::Stopping`] without carrying it out. Either way the request was not
    /// served, so a client made by [`Client::connect_or_start`] sends it once more, to a
    /// daemon started afresh if need be. An answer that never came after the request was read (the
    /// daemon died while serving it) is not sent again: it may have been carried out.
    pub fn request<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, ClientError> {
        match self.request_once::<M>(params) {
            Err(ClientError::Io(e)) if unread(&e) => {}
            // Read while it was stopping, and not carried out: the next daemon is asked.
            Err(ClientError::Refused(r))
                if r.code == ErrorCode::Stopping && self.restart_with.is_some() => {}
            other => return other,
        }
        let Some(exe) = self.restart_with.clone() else {
            return Err(ClientError::Closed {
                log: self.paths.log.clone(),
            });
        };
        *self = Client::connect_or_start(&self.paths, &exe)?;
        match self.request_once::<M>(params) {
            Err(ClientError::Io(e)) if unread(&e) => Err(ClientError::Closed {
                log: self.paths.log.clone(),
            }),
            other => other,
        }
    }

    fn request_once<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, ClientError> {
        self.next_id += 1;
        let params = serde_json::to_value(params).map_err(|e| ClientError::Protocol {
            what: format!("the params of `{}` cannot be written", M::NAME),
            source: e,
        })?;
        let request = Request {
            id: self.next_id.into(),
            method: M::NAME.to_owned(),
            params,
        };
        let mut line = serde_json::to_string(&request).map_err(|e| ClientError::Protocol {
            what: format!("the request `{}` cannot be written", M::NAME),
            source: e,
        })?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(ClientError::Closed {
                log: self.paths.log.clone(),
            });
        }
        let response: Response =
            serde_json::from_str(&answer).map_err(|e| ClientError::Protocol {
                what: format!("not a response: {}", answer.trim_end()),
                source: e,
            })?;
        if let Some(error) = response.error {
            return Err(ClientError::Refused(error));
        }
        // A method with no result answers `null`, which only a result type that allows it reads.
        let result = response.result.unwrap_or_default();
        serde_json::from_value(result).map_err(|e| ClientError::Protocol {
            what: format!("the result of `{}` is not what this skillet expects (is the daemon another version? `skillet daemon stop` ends it)", M::NAME),
            source: e,
        })
    }

    /// `daemon.status`.
    pub fn status(&mut self) -> Result<StatusReply, ClientError> {
        self.request::<DaemonStatus>(&NoParams {})
    }

    /// `daemon.stop`: the daemon ends its sessions and exits.
    pub fn stop(&mut self) -> Result<StopReply, ClientError> {
        self.request::<DaemonStop>(&NoParams {})
    }

    /// `session.start`.
    pub fn session_start(&mut self, params: &SessionStartParams) -> Result<Session, ClientError> {
        self.request::<SessionStart>(params)
    }

    /// `session.send`.
    pub fn session_send(&mut self, params: &SessionSendParams) -> Result<Reply, ClientError> {
        self.request::<SessionSend>(params)
    }

    /// `session.list`.
    pub fn session_list(
        &mut self,
        params: &SessionListParams,
    ) -> Result<Vec<Session>, ClientError> {
        self.request::<SessionList>(params)
    }

    /// `session.close`.
    pub fn session_close(&mut self, id: &str) -> Result<Session, ClientError> {
        self.request::<SessionClose>(&SessionIdParams { id: id.to_owned() })
    }

    /// `session.logs`.
    pub fn session_logs(&mut self, id: &str) -> Result<SessionLogsReply, ClientError> {
        self.request::<SessionLogs>(&SessionIdParams { id: id.to_owned() })
    }

    /// `session.pipe`.
    pub fn session_pipe(&mut self, params: &SessionPipeParams) -> Result<PipeReply, ClientError> {
        self.request::<SessionPipe>(params)
    }

    /// `job.submit`.
    pub fn job_submit(&mut self, params: &JobSubmitParams) -> Result<Job, ClientError> {
        self.request::<JobSubmit>(params)
    }

    /// `job.list`.
    pub fn job_list(&mut self, params: &JobListParams) -> Result<Vec<Job>, ClientError> {
        self.request::<JobList>(params)
    }

    /// `job.get`.
    pub fn job_get(&mut self, id: &str) -> Result<Job, ClientError> {
        self.request::<JobGet>(&JobIdParams { id: id.to_owned() })
    }

    /// `job.wait`: at most `timeout_ms` (the daemon's bound: 30 s).
    pub fn job_wait(
        &mut self,
        id: &str,
        timeout_ms: Option<u64>,
    ) -> Result<JobOutput, ClientError> {
        self.request::<JobWait>(&JobWaitParams {
            id: id.to_owned(),
            timeout_ms,
        })
    }

    /// `job.logs`.
    pub fn job_logs(&mut self, id: &str) -> Result<JobOutput, ClientError> {
        self.request::<JobLogs>(&JobIdParams { id: id.to_owned() })
    }

    /// `job.cancel`.
    pub fn job_cancel(&mut self, id: &str) -> Result<Job, ClientError> {
        self.request::<JobCancel>(&JobIdParams { id: id.to_owned() })
    }
}

/// Whether `e` says the daemon closed the connection with the request unread: a write to a
/// socket it had already closed, or a read after it closed with the request still queued.
fn unread(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
    )
}

/// Starts `exe serve --socket …` detached, logging beside the socket.
fn spawn_daemon(paths: &SocketPaths, exe: &Path) -> Result<std::process::Child, ClientError> {
    private_dir(paths.dir())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .arg("--socket")
        .arg(&paths.socket)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: a Ctrl-C meant for this command must not reach the daemon.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    Ok(cmd.spawn()?)
}
