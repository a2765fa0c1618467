//! Starting and supervising the process of a skill.
//!
//! This crate takes a [`SandboxPolicy`] and a [`ProcessSpec`] and runs the process to completion.
//! It knows nothing about skills. What it enforces today:
//!
//! - **Environment**: the child starts from an empty environment; only the variables the policy
//!   names are passed through from the parent, plus the ones it sets.
//! - **Process group**: the child leads a new process group. When the wall-clock limit passes the
//!   whole group is killed, and when the main process exits whatever it left running in its group
//!   is killed too, so no grandchild outlives the run.
//! - **Output**: standard output and error are captured up to a cap each and drained past it, so a
//!   flood neither fills memory nor blocks the child.
//! - **Standard input**: never the user's terminal (a terminal on stdin is replaced by `/dev/null`,
//!   which closes TIOCSTI-style injection into the user's shell).
//!
//! Confinement (namespaces, Landlock, seccomp, rlimits, cgroups) is not implemented yet;
//! [`confinement_available`] says so, and callers must tell their users.

mod capture;
mod supervise;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub use capture::{OutputChunk, Stream};
pub use supervise::run;

/// What the sandbox lets a process have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Names of parent environment variables passed through (when set in the parent).
    pub env_passthrough: Vec<String>,
    /// Variables set in the child, after the passed-through ones.
    pub env: Vec<(OsString, OsString)>,
    /// Wall-clock limit.
    pub wall_time: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output_bytes: usize,
}

/// Where the child's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StdinSource {
    /// `/dev/null`.
    #[default]
    Null,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
    /// This process's own standard input, unless it is a terminal (then `/dev/null`).
    Inherit,
}

/// The process to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Program: a path, or a name looked up on the child's `PATH`.
    pub program: OsString,
    /// Arguments, each passed as one argv element.
    pub args: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Standard input.
    pub stdin: StdinSource,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Exit {
    /// The exit code a shell would report: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// The result of a supervised run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How the main process ended.
    pub exit: Exit,
    /// Whether the wall-clock limit killed it.
    pub timed_out: bool,
    /// Captured standard output (at most the cap).
    pub stdout: Vec<u8>,
    /// Captured standard error (at most the cap).
    pub stderr: Vec<u8>,
    /// Whether stdout was cut at the cap.
    pub stdout_truncated: bool,
    /// Whether stderr was cut at the cap.
    pub stderr_truncated: bool,
    /// From spawn to the end of the main process.
    pub duration: Duration,
}

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program does not exist (or is not on `PATH`).
    #[error("program {program:?} not found{}", if *.on_path { " on PATH" } else { "" })]
    NotFound {
        /// The program as given.
        program: String,
        /// Whether it was looked up on `PATH` (no `/` in the name).
        on_path: bool,
    },
    /// The program is not executable.
    #[error("program {program:?} is not executable")]
    PermissionDenied {
        /// The program as given.
        program: String,
    },
    /// The working directory does not exist.
    #[error("working directory {0} does not exist")]
    NoWorkingDir(PathBuf),
    /// Any other failure of the operating system.
    #[error("cannot start {program:?}: {source}")]
    Io {
        /// The program as given.
        program: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Whether kernel confinement is available in this build. Not yet: see the crate docs.
pub fn confinement_available() -> bool {
    false
}
