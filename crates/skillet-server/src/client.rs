//! Talking to the daemon, starting it first when it is not running.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{ErrorCode, Request, Response, ResponseError};
use crate::paths::{SocketPaths, private_dir};

/// How long a command waits for a daemon it started to listen.
const START_WAIT: Duration = Duration::from_secs(10);

/// A connection to the daemon. Requests on one connection are answered in order.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
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
    /// The daemon answered something that is not a response.
    #[error("the skillet daemon answered something unreadable: {0}")]
    Protocol(String),
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
        })
    }

    /// Connects to the daemon, first starting `exe serve --socket …` in the background when
    /// none is running. Two commands racing to start one end up sharing the one that wins the
    /// lock.
    pub fn connect_or_start(paths: &SocketPaths, exe: &Path) -> Result<Client, ClientError> {
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

    /// Calls `method` with `params` and waits for its result.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.next_id += 1;
        let request = Request {
            id: json!(self.next_id),
            method: method.to_owned(),
            params,
        };
        let mut line =
            serde_json::to_string(&request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(ClientError::Protocol(
                "the daemon closed the connection without answering".into(),
            ));
        }
        let response: Response = serde_json::from_str(&answer)
            .map_err(|e| ClientError::Protocol(format!("{e}: {answer}")))?;
        match (response.result, response.error) {
            (_, Some(error)) => Err(ClientError::Refused(error)),
            (Some(result), None) => Ok(result),
            (None, None) => Ok(Value::Null),
        }
    }
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
