//! Starting a process confined by a [`SandboxPolicy`], and supervising it to the end.
//!
//! This crate knows nothing about skills: it takes a policy and a command. On Linux it layers:
//!
//! - **Process hygiene**: an empty environment plus the named variables, a new session, parent
//!   death signal, no-new-privs, every descriptor but 0/1/2 closed, and stdin never a terminal.
//!   The program runs under an init of its own, a subreaper when there are no namespaces, so
//!   what it leaves running dies with the run.
//! - **Namespaces** (user when not root, mount, PID, network when offline, IPC, UTS): the program
//!   runs as PID 1 of its own PID namespace inside a private root that holds only the system
//!   directories (read-only, secrets masked), the allowed paths, a minimal `/dev`, a fresh
//!   `/proc` and private tmpfs `/tmp`, `/run`, `/dev/shm`. When PID 1 exits the kernel kills
//!   everything else in the namespace, so nothing outlives a run.
//! - **Landlock**: the same read and write allowlists enforced by the kernel again, TCP bind and
//!   connect denied (or limited to ports), abstract unix sockets and signals scoped.
//! - **seccomp**: system calls only an escape needs kill the process; the x32 ABI and foreign
//!   architectures are refused; with networking off only `AF_UNIX` sockets can be made. A run
//!   without a private root (namespaces off or unavailable) can make no `AF_UNIX` socket and
//!   no datagram socket pair, only stream and seqpacket pairs: Landlock does not check a
//!   `connect` to a pathname socket, so nothing else keeps the host's (the D-Bus session bus,
//!   `docker.sock`, an SSH agent, skillet's daemon) out of reach there.
//! - **Limits**: wall clock (the process group and namespace are killed), output (the run is
//!   killed past the cap), CPU seconds, file size and open files (rlimits), memory, processes
//!   and CPU share (cgroups, when the machine lets us create them).
//!
//! Processes are started with `clone(CLONE_VM)`, not `fork`, so a spawn costs the same whatever
//! the supervisor's size (see `launch/`); an unprivileged supervisor that runs programs
//! without namespaces makes itself undumpable, so they cannot read its environment.
//!
//! [`probe::report`] says which layers this machine supports. With [`Isolation::Required`] a run
//! whose layers are unavailable is refused rather than run unconfined.
//!
//! On other systems the crate compiles, [`probe::report`] answers "unavailable", and only
//! [`Isolation::Disabled`] runs.

#[cfg(target_os = "linux")]
mod bpf_chain;
mod capture;
#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
mod confined;
#[cfg(target_os = "linux")]
mod dumpable;
#[cfg(target_os = "linux")]
mod exec_allow;
#[cfg(target_os = "linux")]
mod exec_plan;
#[cfg(target_os = "linux")]
mod fs_rules;
#[cfg(target_os = "linux")]
mod handles;
#[cfg(target_os = "linux")]
mod launch;
#[cfg(target_os = "linux")]
mod offline_netns;
#[cfg(target_os = "linux")]
mod placeholders;
#[cfg(target_os = "linux")]
mod plan;
mod policy;
#[cfg(target_os = "linux")]
mod prepare;
#[cfg(target_os = "linux")]
pub mod probe;
#[cfg(target_os = "linux")]
mod proc_stat;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod root_plan;
#[cfg(target_os = "linux")]
mod scratch;
#[cfg(target_os = "linux")]
mod scratch_owner;
#[cfg(target_os = "linux")]
mod scratch_total;
mod setup_error;
#[cfg(target_os = "linux")]
mod supervise;
#[cfg(not(target_os = "linux"))]
mod unsupported;
#[cfg(target_os = "linux")]
mod write_caps;
#[cfg(not(target_os = "linux"))]
pub use unsupported::{Preparing, prepare, probe, run};
#[cfg(target_os = "linux")]
mod syscall_filter;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub use capture::{OutputChunk, Stream};
#[cfg(target_os = "linux")]
pub use confined::{Confined, spawn};
pub use policy::{
    FsPolicy, Isolation, Limits, NetworkPolicy, SECRET_FILES, SYSTEM_READ_DIRS, SandboxPolicy,
};
#[cfg(target_os = "linux")]
pub use prepare::{Preparing, prepare};
#[cfg(target_os = "linux")]
pub use proc_stat::{ProcStat, has_exited};
#[cfg(target_os = "linux")]
pub use scratch::{create_private_dir, remove_tree};

/// Claims this process's scratch directory and removes those of processes that died without
/// removing theirs (a `kill -9`, a crash). Runs by itself before the first confined run; a
/// long-lived process (the daemon) calls it at start so leftovers go even if it runs nothing.
#[cfg(target_os = "linux")]
pub fn sweep_dead_scratch() {
    let _ = scratch::default_scratch_parent();
}

/// This process's own directory for what a run writes (its scratch directories live there):
/// private to the user, out of every sandboxed skill's sight, and refused as a grant. Other
/// per-run files skillet hands a skill (its state document) belong here too, not in `/tmp`,
/// which a skill granted `/tmp` could read and write.
#[cfg(target_os = "linux")]
pub fn scratch_parent() -> std::path::PathBuf {
    scratch::default_scratch_parent()
}
pub use setup_error::{CgroupError, FilterError, RulesetError};
#[cfg(target_os = "linux")]
pub use supervise::run;

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
    /// A pipe the caller writes to ([`Confined::stdin`] after [`spawn`]); [`run`] closes it at
    /// once.
    Pipe,
}

/// The process to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Program: a path, or a name looked up on the child's `PATH`.
    pub program: OsString,
    /// Arguments, each passed as one argv element.
    pub args: Vec<OsString>,
    /// Working directory (must be visible under the policy).
    pub cwd: PathBuf,
    /// Standard input.
    pub stdin: StdinSource,
    /// One more descriptor the program inherits, placed at [`INHERITED_FD`] (every other
    /// descriptor above 2 is closed, as always). Already open and connected: nothing in the
    /// confinement is loosened for it.
    pub inherit_fd: Option<InheritedFd>,
}

/// The number a [`ProcessSpec::inherit_fd`] has in the program.
pub const INHERITED_FD: i32 = 3;

/// A descriptor to hand the program ([`ProcessSpec::inherit_fd`]); clones share it, and the
/// program gets its own copy, so the caller's end stays the caller's.
#[derive(Debug, Clone)]
pub struct InheritedFd(std::sync::Arc<std::os::fd::OwnedFd>);

impl From<std::os::fd::OwnedFd> for InheritedFd {
    fn from(fd: std::os::fd::OwnedFd) -> Self {
        InheritedFd(std::sync::Arc::new(fd))
    }
}

impl std::os::fd::AsFd for InheritedFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl PartialEq for InheritedFd {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InheritedFd {}

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

/// A limit that ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// The wall clock.
    Time,
    /// Memory (the cgroup's OOM killer).
    Memory,
    /// CPU seconds.
    Cpu,
    /// Output bytes.
    Output,
    /// The largest file size: a process was stopped by `SIGXFSZ`, a shell reported a command
    /// that was, or the failed run left a file at the limit in its scratch (a writer that
    /// ignored the signal and got `EFBIG`).
    FileSize,
    /// The process count: the run failed after the pids cgroup refused a fork.
    Processes,
    /// All writable scratch together ([`Limits::scratch_bytes`]): the run failed with its
    /// scratch full, or (without namespaces) went past the cap and was stopped.
    ScratchDisk,
    /// A capped write grant ([`FsPolicy::capped`]) held more than its cap, and the run was
    /// killed.
    WriteCap,
}

impl LimitHit {
    /// The limit's name, as reported to users.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitHit::Time => "time",
            LimitHit::Memory => "memory",
            LimitHit::Cpu => "cpu",
            LimitHit::Output => "output",
            LimitHit::FileSize => "max_file_size",
            LimitHit::Processes => "processes",
            LimitHit::ScratchDisk => "scratch_disk",
            LimitHit::WriteCap => "write_cap",
        }
    }
}

/// Whether a confinement layer works on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerState {
    /// Enforced.
    Active,
    /// Not available here; see the detail.
    Unavailable,
}

impl LayerState {
    /// `active` or `unavailable`.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerState::Active => "active",
            LayerState::Unavailable => "unavailable",
        }
    }
}

/// One line of `skillet doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerReport {
    /// The layer.
    pub layer: &'static str,
    /// Active or not.
    pub state: LayerState,
    /// What it does here, or why it is unavailable.
    pub detail: String,
}

/// The layers without which code skills are refused, unless the user chose
/// `[sandbox] isolation = "best-effort"`; the others only weaken a run's limits.
pub const ESSENTIAL_LAYERS: [&str; 3] = ["landlock", "seccomp", "namespaces"];

impl LayerReport {
    /// Whether it is one of the [`ESSENTIAL_LAYERS`] and unavailable here.
    pub fn missing_essential(&self) -> bool {
        self.state == LayerState::Unavailable && ESSENTIAL_LAYERS.contains(&self.layer)
    }
}

/// The layers a run ended up with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers {
    /// Active layers, by name.
    pub active: Vec<&'static str>,
    /// Layers that were wanted but are unavailable here (only with best-effort isolation).
    pub missing: Vec<String>,
}

/// The executable `program` names: itself when it has a `/`, else the first executable of that
/// name on this process's `PATH` (which the default policy passes on).
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return Some(PathBuf::from(program)).filter(|p| executable(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// The result of a supervised run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How the main process ended.
    pub exit: Exit,
    /// The limit that ended it, if one did.
    pub limit: Option<LimitHit>,
    /// Whether seccomp killed it for a forbidden system call.
    pub denied_syscall: bool,
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
    /// From the call to the moment the program was executed: scratch, cgroup, opening the
    /// policy's paths, namespaces, the private root, Landlock and seccomp.
    pub setup: Duration,
    /// From the end of the main process to the return of the call: killing strays, draining
    /// the pipes, removing the cgroup and the scratch.
    pub teardown: Duration,
    /// Which confinement layers were active.
    pub layers: Layers,
    /// Limits that were asked for but cannot be enforced here: `memory`, `max_processes` or
    /// `cpu_percent`, with the reason.
    pub unenforced: Vec<(&'static str, String)>,

    /// The scratch directory, when it was kept.
    pub scratch_kept: Option<PathBuf>,
    /// CPU time (user + system) of the process tree.
    pub cpu_time: Option<Duration>,
    /// Largest resident set of any process of the run, in KiB (see `children_usage`).
    pub peak_memory_kb: u64,
    /// The most processes of the run alive at once, from its cgroup (`pids.peak`); `None`
    /// without a cgroup that counts them.
    pub peak_processes: Option<u64>,
    /// Bytes the run wrote to storage devices: its cgroup's `io.stat` (v2), else the
    /// difference in this process's children's `ru_oublock` (an upper bound when several runs
    /// end in one process at once). Writes to memory file systems (a private scratch tmpfs)
    /// are not storage and count nothing.
    pub bytes_written: Option<u64>,
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
    /// A confinement layer the policy requires is unavailable on this machine.
    #[error("the {layer} sandbox layer is unavailable: {reason}")]
    Unavailable {
        /// The layer.
        layer: &'static str,
        /// Why.
        reason: String,
    },
    /// Preparing the sandbox failed.
    #[error("cannot set up the sandbox: {0}")]
    Setup(String),
    /// The Landlock ruleset could not be built.
    #[error(transparent)]
    Landlock(#[from] RulesetError),
    /// The seccomp filter could not be built.
    #[error(transparent)]
    Seccomp(#[from] FilterError),
    /// The run's cgroup could not be made or limited.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// A path of the policy is not what it was when the policy was made (a symbolic link was
    /// planted in it), or was never resolved: the run is refused rather than follow it.
    #[error("refusing to run: {} {reason}", path.display())]
    UnsafePath {
        /// The path as the policy gives it.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The scratch directories already live hold all the space allowed to scratch together
    /// ([`Limits::scratch_total_bytes`]); the message says what holds it and what to do.
    #[error("{0}")]
    ScratchFull(String),
    /// Any other failure of the operating system.
    #[error("cannot start {program:?}: {source}")]
    Io {
        /// The program as given.
        program: String,
        /// The error.
        source: std::io::Error,
    },
}
