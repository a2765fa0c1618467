//! What a confined process may do. The caller decides; this crate enforces.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Directories every program needs to read: binaries, libraries, configuration.
/// Secrets under them are masked (see [`SECRET_FILES`]).
pub const SYSTEM_READ_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/opt",
];

/// Files under [`SYSTEM_READ_DIRS`] that are never readable inside the sandbox, even for root.
pub const SECRET_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

/// Everything the sandbox enforces for one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Names of parent environment variables passed through (when set in the parent).
    pub env_passthrough: Vec<String>,
    /// Variables set in the child, after the passed-through ones.
    pub env: Vec<(OsString, OsString)>,
    /// Files the process may read and write.
    pub fs: FsPolicy,
    /// Network access.
    pub network: NetworkPolicy,
    /// Whether the process may start other processes (fork, clone, exec after the first).
    pub allow_spawn: bool,
    /// Resource limits.
    pub limits: Limits,
    /// How much confinement is required.
    pub isolation: Isolation,
    /// Keep the per-execution scratch directory after the run.
    pub keep_scratch: bool,
    /// Use namespaces (private root, PID, network, IPC, UTS). Off leaves Landlock, seccomp and
    /// limits: weaker (the host's file system is visible through Landlock's allowlists, and
    /// other processes are visible), for hosts that forbid namespaces and for measuring the
    /// layers separately. With no private root to hide the host's unix sockets, seccomp then
    /// refuses to make any `AF_UNIX` socket or datagram socket pair (stream and seqpacket pairs
    /// still work), so a program that serves or reaches a unix socket by path fails with
    /// `EPERM`.
    pub namespaces: bool,
}

impl SandboxPolicy {
    /// The default policy: read the system directories, write nothing but the scratch directory,
    /// no network, no extra processes beyond the default limit, full isolation required.
    pub fn new(wall_time: Duration) -> Self {
        SandboxPolicy {
            env_passthrough: vec!["PATH".into()],
            env: Vec::new(),
            fs: FsPolicy::default(),
            network: NetworkPolicy::Off,
            allow_spawn: true,
            limits: Limits::new(wall_time),
            isolation: Isolation::Required,
            keep_scratch: false,
            namespaces: true,
        }
    }
}

/// Paths, beyond the system directories, that the process may touch. Everything else is
/// invisible (with namespaces) or denied (with Landlock alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsPolicy {
    /// Readable (and executable) paths.
    pub read: Vec<PathBuf>,
    /// Writable paths (also readable).
    pub write: Vec<PathBuf>,
    /// Paths kept read-only even inside a writable path (`.git/hooks`, configuration).
    pub read_only: Vec<PathBuf>,
    /// Paths masked (unreadable) inside readable trees: `.env` files, credentials, skillet's
    /// own history and settings. Listed by the engine in their real form.
    pub hidden: Vec<PathBuf>,
    /// Those of `hidden` that, in a private root, read as empty files rather than failing to
    /// open: settings a program must open to work at all (git's `.git/config`, which may hold
    /// a token). Without namespaces they are unreadable like the rest.
    pub emptied: Vec<PathBuf>,
    /// Directories inside write grants whose own entries stay as they are for the run: nothing
    /// is made, removed or renamed directly in them (their files stay writable, their
    /// subdirectories wholly so). For protected names that are patterns (`.env*`), which no
    /// list can name before they exist: a workspace root, say.
    pub sealed: Vec<PathBuf>,
    /// Write grants (each also listed in `write`) that may hold at most this many bytes while
    /// the run goes on: the supervisor measures them through a handle opened before the run,
    /// every few milliseconds and once more at its end, and kills a run found past a cap
    /// ([`crate::LimitHit::WriteCap`]). Every entry counts for at least 1 KiB. Not a kernel
    /// bound: a fast writer gets somewhat past the cap before it is seen. For small
    /// directories a caller made for one run, not for the user's own. Enforced by
    /// [`crate::run`], which supervises the run; [`crate::spawn`] alone does not.
    pub capped: Vec<(PathBuf, u64)>,
    /// Where the fresh per-execution scratch directory is created. It is the process's
    /// `TMPDIR` and `HOME`, and is removed afterwards unless `keep_scratch` is set.
    pub scratch_parent: Option<PathBuf>,
}

/// Network access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkPolicy {
    /// No network: a private network namespace with only loopback, no TCP via Landlock, and no
    /// socket families but `AF_UNIX` via seccomp.
    Off,
    /// The host's network.
    Host,
    /// The host's network, but TCP connections only to these ports (Landlock). Host names are
    /// not enforced; UDP is not restricted.
    TcpPorts(Vec<u16>),
}

/// Resource limits. `None` means "not limited by skillet".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall clock; the whole process tree is killed when it passes.
    pub wall_time: Duration,
    /// CPU seconds (RLIMIT_CPU).
    pub cpu_time: Option<Duration>,
    /// Memory in bytes (cgroup memory controller; swap 0).
    pub memory_bytes: Option<u64>,
    /// Processes and threads (pids cgroup).
    pub max_processes: Option<u32>,
    /// Largest file the process may write (RLIMIT_FSIZE).
    pub max_file_size_bytes: Option<u64>,
    /// Open file descriptors (RLIMIT_NOFILE).
    pub max_open_files: Option<u64>,
    /// Bytes kept of each of stdout and stderr; more kills the run.
    pub max_output_bytes: usize,
    /// CPU share in percent of one core (cgroup cpu controller).
    pub cpu_percent: Option<u32>,
    /// All writable scratch of a run together: the scratch directory (`HOME`, `TMPDIR`) and the
    /// private `/tmp`, `/run`, `/var/tmp` and `/dev/shm`. With namespaces they share one tmpfs
    /// of this size, so the kernel refuses a write past it (`ENOSPC`); without, only the
    /// scratch directory is writable and the supervisor measures it, ending a run found past
    /// the cap. Either way the run is reported as stopped by `scratch_disk`. Write grants are
    /// the user's own directories and are not counted. The tmpfs is at least 1 MiB.
    pub scratch_bytes: u64,
    /// All live scratch of the user's runs and sessions together, in every process that runs
    /// skills: a run is refused when less than 1 MiB of it is left, and otherwise gets at most
    /// what is left as its [`Limits::scratch_bytes`]. `None`: no bound but each run's own.
    pub scratch_total_bytes: Option<u64>,
}

impl Limits {
    /// Defaults: the wall time given, 1 MiB of output per stream, 1,024 open files, 256 MiB of
    /// scratch.
    pub fn new(wall_time: Duration) -> Self {
        Limits {
            wall_time,
            cpu_time: None,
            memory_bytes: None,
            max_processes: None,
            max_file_size_bytes: None,
            max_open_files: Some(1024),
            max_output_bytes: 1 << 20,
            cpu_percent: None,
            scratch_bytes: 256 << 20,
            scratch_total_bytes: None,
        }
    }
}

/// How much confinement a run requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Every layer the policy needs must be active, or the run is refused.
    Required,
    /// Apply what the machine supports; the outcome lists what was missing.
    BestEffort,
    /// No confinement: only process hygiene and limits (`--allow-unsandboxed`).
    Disabled,
}
