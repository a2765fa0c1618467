//! Where the daemon's socket and lock live.

use std::path::{Path, PathBuf};

/// The longest path a Unix socket address holds (`sun_path`, less the final NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The daemon's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketPaths {
    /// The socket.
    pub socket: PathBuf,
    /// Held (flock) by the running daemon, with its pid inside.
    pub lock: PathBuf,
    /// Where a daemon started in the background writes its log.
    pub log: PathBuf,
}

/// Why the daemon's files cannot be placed.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    /// Neither `$XDG_RUNTIME_DIR` nor a data directory is known.
    #[error(
        "neither XDG_RUNTIME_DIR nor HOME is set, so there is no place for the daemon's socket; pass --socket PATH"
    )]
    NoPlace,
    /// The socket path is longer than the kernel accepts.
    #[error(
        "the socket path {0} is longer than the 107 bytes a Unix socket address holds; pass a shorter --socket PATH"
    )]
    TooLong(PathBuf),
}

impl SocketPaths {
    /// `socket` if given, else `$XDG_RUNTIME_DIR/skillet/skillet.sock`, else
    /// `$XDG_DATA_HOME/skillet/run/skillet.sock` (default `~/.local/share`). The lock and log
    /// sit beside the socket.
    pub fn for_user(socket: Option<&Path>) -> Result<SocketPaths, PathsError> {
        let socket = match socket {
            Some(s) => std::path::absolute(s).unwrap_or_else(|_| s.to_path_buf()),
            None => default_socket().ok_or(PathsError::NoPlace)?,
        };
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(PathsError::TooLong(socket));
        }
        let beside = |name: &str| socket.with_file_name(name);
        Ok(SocketPaths {
            lock: beside(&format!("{}.lock", file_name(&socket))),
            log: beside(&format!("{}.log", file_name(&socket))),
            socket,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.socket.parent().unwrap_or(Path::new("/"))
    }
}

fn file_name(p: &Path) -> String {
    p.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skillet".into())
}

fn default_socket() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").and_then(absolute) {
        return Some(runtime.join("skillet").join("skillet.sock"));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })?;
    Some(data.join("skillet").join("run").join("skillet.sock"))
}

/// [`skillet_sandbox::create_private_dir`], naming `dir` in its error: the socket's safety
/// rests on nobody else reaching it.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    skillet_sandbox::create_private_dir(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}
