//! Spawning a confined process, enforcing time and output limits, and reaping everything.

use std::io::IsTerminal;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{Notify, mpsc, watch};

use crate::capture::{Captured, OutputChunk, Stream, read_capped};
use crate::cgroup::RunCgroup;
use crate::plan::prepare;
use crate::policy::{Isolation, SandboxPolicy};
use crate::{Exit, LimitHit, Outcome, ProcessSpec, SpawnError, StdinSource, find_program, probe};

/// How long output may keep arriving after the main process ended and its group was killed.
/// Only a process that left the group and the namespace can still hold the pipes open then.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Runs `spec` confined by `policy` to completion, forwarding output to `live` as it arrives.
///
/// ```no_run
/// # async fn f() -> Result<(), skillet_sandbox::SpawnError> {
/// use skillet_sandbox::*;
/// let policy = SandboxPolicy::new(std::time::Duration::from_secs(5));
/// let spec = ProcessSpec { program: "echo".into(), args: vec!["hi".into()], cwd: "/".into(), stdin: StdinSource::Null };
/// let outcome = run(&spec, &policy, None).await?;
/// assert_eq!(outcome.stdout, b"hi\n");
/// # Ok(()) }
/// ```
pub async fn run(
    spec: &ProcessSpec,
    policy: &SandboxPolicy,
    live: Option<mpsc::UnboundedSender<OutputChunk>>,
) -> Result<Outcome, SpawnError> {
    if !spec.cwd.is_dir() {
        return Err(SpawnError::NoWorkingDir(spec.cwd.clone()));
    }
    let caps = probe::capabilities();
    let scratch_parent = policy
        .fs
        .scratch_parent
        .clone()
        .unwrap_or_else(default_scratch_parent);
    let setup = |what: &str, e: std::io::Error| {
        SpawnError::Setup(format!("{what} {}: {e}", scratch_parent.display()))
    };
    create_private_dir(&scratch_parent).map_err(|e| setup("cannot create", e))?;
    let root_dir = scratch_parent.join(".root");
    create_private_dir(&root_dir).map_err(|e| setup("cannot create the root under", e))?;
    let scratch = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&scratch_parent)
        .map_err(|e| setup("cannot create a scratch directory in", e))?;

    let mut unenforced = Vec::new();
    let limits = &policy.limits;
    let wants_cgroup = limits.memory_bytes.is_some()
        || limits.max_processes.is_some()
        || limits.cpu_percent.is_some();
    let (cgroup, procs) = match (&caps.cgroups, wants_cgroup) {
        (_, false) => (None, Vec::new()),
        (Ok(mode), true) => {
            crate::cgroup::sweep(mode);

            let run = scratch
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = format!("{}-{run}", std::process::id());
            let (group, procs) =
                RunCgroup::create(mode, &name, limits).map_err(SpawnError::Setup)?;
            (Some(group), procs)
        }
        (Err(reason), true) => {
            // Without a cgroup, an unprivileged sandbox still caps its processes in its own user
            // namespace (see child.rs).
            let nproc_in_userns = !caps.is_root
                && caps.namespaces.is_ok()
                && policy.namespaces
                && policy.isolation != Isolation::Disabled;
            for (name, set) in [
                ("memory", limits.memory_bytes.is_some()),
                (
                    "max_processes",
                    limits.max_processes.is_some() && !nproc_in_userns,
                ),
                ("cpu_percent", limits.cpu_percent.is_some()),
            ] {
                if set {
                    unenforced.push((name, reason.clone()));
                }
            }
            (None, Vec::new())
        }
    };
    let prepared = match prepare(
        policy,
        caps,
        scratch.path(),
        &root_dir,
        &spec.cwd,
        &spec.program,
        procs,
    ) {
        Ok(p) => p,
        Err(e) => {
            if let Some(g) = &cgroup {
                g.remove();
            }
            return Err(e);
        }
    };
    let mut layers = prepared.layers;
    if cgroup.is_some() {
        layers.active.push("cgroups");
    }
    let mut child_plan = prepared.plan;

    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in &policy.env_passthrough {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    if policy.isolation != Isolation::Disabled {
        // Programs write caches under HOME and temporary files under TMPDIR: both go to scratch.
        cmd.env("HOME", scratch.path())
            .env("TMPDIR", scratch.path());
    }
    cmd.envs(policy.env.iter().map(|(k, v)| (k, v)));
    let stdin_bytes = match &spec.stdin {
        StdinSource::Bytes(bytes) => {
            cmd.stdin(Stdio::piped());
            Some(bytes.clone())
        }
        StdinSource::Inherit if !std::io::stdin().is_terminal() => {
            cmd.stdin(Stdio::inherit());
            None
        }
        StdinSource::Inherit | StdinSource::Null => {
            cmd.stdin(Stdio::null());
            None
        }
    };
    // SAFETY: `ChildPlan::apply` only makes system calls on data prepared before fork (see
    // child.rs); it allocates nothing and takes no locks.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || child_plan.apply());
    }

    let usage_before = children_usage();
    let started = Instant::now();
    let spawned = cmd.spawn();
    // The ruleset and cgroup files live in the closure; close the parent's copies now.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            if let Some(g) = &cgroup {
                g.remove();
            }
            return Err(spawn_error(spec, e));
        }
    };
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    let kill_group = || {
        if let Some(pgid) = group {
            // ESRCH (nobody left in the group) is the normal case after a clean exit.
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let overflow = Arc::new(Notify::new());
    let cap = limits.max_output_bytes;
    let stdout = child.stdout.take().map(|r| {
        tokio::spawn(read_capped(
            r,
            cap,
            Stream::Stdout,
            live.clone(),
            stop_rx.clone(),
            overflow.clone(),
        ))
    });
    let stderr = child.stderr.take().map(|r| {
        tokio::spawn(read_capped(
            r,
            cap,
            Stream::Stderr,
            live,
            stop_rx,
            overflow.clone(),
        ))
    });
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), stdin_bytes) {
        tokio::spawn(async move {
            // The child may exit without reading; a broken pipe is not an error of ours.
            let _ = pipe.write_all(&bytes).await;
        });
    }

    let deadline = tokio::time::Instant::from_std(started + limits.wall_time);
    let (status, mut limit) = tokio::select! {
        status = child.wait() => (status, None),
        () = tokio::time::sleep_until(deadline) => {
            kill_group();
            (child.wait().await, Some(LimitHit::Time))
        }
        () = overflow.notified() => {
            kill_group();
            (child.wait().await, Some(LimitHit::Output))
        }
    };
    let duration = started.elapsed();
    // The main process is gone; anything still in its group or cgroup is a stray and dies too.
    kill_group();
    if let Some(g) = &cgroup {
        g.kill_all();
    }
    let status = status.map_err(|e| spawn_error(spec, e))?;
    let exit = match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    };
    if limit.is_none() {
        limit = if cgroup.as_ref().is_some_and(RunCgroup::oom_killed) {
            Some(LimitHit::Memory)
        } else {
            match exit {
                Exit::Signal(libc::SIGXCPU) => Some(LimitHit::Cpu),
                Exit::Signal(libc::SIGXFSZ) => Some(LimitHit::FileSize),
                // A refused fork is only the cause when the run failed; a skill may handle
                // EAGAIN and still succeed.
                Exit::Code(0) => None,
                _ if cgroup.as_ref().is_some_and(RunCgroup::pids_exhausted) => {
                    Some(LimitHit::Processes)
                }
                _ => None,
            }
        };
    }

    let mut collect = Box::pin(async { (join(stdout).await, join(stderr).await) });
    let (out, err) = match tokio::time::timeout(DRAIN_GRACE, &mut collect).await {
        Ok(both) => both,
        Err(_) => {
            // Told to stop, the readers return what they have at once.
            let _ = stop_tx.send(true);
            collect.await
        }
    };
    if let Some(g) = &cgroup {
        g.remove();
    }
    let usage_after = children_usage();
    let scratch_kept = policy.keep_scratch.then(|| scratch.keep());
    Ok(Outcome {
        exit,
        limit,
        denied_syscall: exit == Exit::Signal(libc::SIGSYS),
        stdout: out.bytes,
        stderr: err.bytes,
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        duration,
        layers,
        unenforced,
        scratch_kept,
        cpu_time: usage_after.0.checked_sub(usage_before.0),
        peak_memory_kb: usage_after.1,
    })
}

/// Creates `dir` (0700) once per process; later runs skip the system calls.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    static DONE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    if DONE.lock().is_ok_and(|d| d.iter().any(|p| p == dir)) && dir.is_dir() {
        return Ok(());
    }
    create_private_dir_now(dir)?;
    if let Ok(mut d) = DONE.lock() {
        d.push(dir.to_path_buf());
    }
    Ok(())
}

/// CPU time (user + system) and largest resident set of this process's reaped children. The
/// difference across one run is that run's CPU time; the peak is the largest of any child so far,
/// exact when one run happens per process (the CLI) and an upper bound otherwise.
fn children_usage() -> (Duration, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is always valid.
    #[allow(unsafe_code)]
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv =
        |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
    (
        tv(usage.ru_utime) + tv(usage.ru_stime),
        usage.ru_maxrss.max(0) as u64,
    )
}

/// `$XDG_RUNTIME_DIR/skillet` (private to the user by construction), else
/// `/dev/shm/skillet-<uid>`, else `$TMPDIR/skillet-<uid>` (the last two checked by
/// [`create_private_dir_now`]). Memory-backed places come first: creating and removing a
/// directory per run costs ~0.1 ms on ext4 and ~0.015 ms on tmpfs, and scratch files are
/// charged to the run's memory cgroup there. Chosen once per process: runs are many, and the
/// answer does not change under them.
fn default_scratch_parent() -> PathBuf {
    static PARENT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PARENT.get_or_init(choose_scratch_parent).clone()
}

fn choose_scratch_parent() -> PathBuf {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let uid = rustix::process::getuid().as_raw();
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
    {
        return runtime.join("skillet");
    }
    let shm = Path::new("/dev/shm");
    // `f_type`'s integer type differs between architectures.
    #[allow(clippy::useless_conversion)]
    let tmpfs = rustix::fs::statfs(shm).is_ok_and(|s| i64::from(s.f_type) == TMPFS_MAGIC);
    if tmpfs && rustix::fs::access(shm, rustix::fs::Access::WRITE_OK).is_ok() {
        return shm.join(format!("skillet-{uid}"));
    }
    std::env::temp_dir().join(format!("skillet-{uid}"))
}

/// Creates `dir` with mode 0700, or accepts an existing one only if it is a real directory that
/// this user owns and nobody else can enter: in a shared `/tmp` another user could have made it
/// first, to read or plant files in the skills' scratch space.
fn create_private_dir_now(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(dir)?;
    let mine = meta.uid() == rustix::process::geteuid().as_raw();
    if !meta.is_dir() || !mine || meta.mode() & 0o077 != 0 {
        return Err(std::io::Error::other(
            "refusing to use it: it must be a directory owned by this user with no access for others (mode 0700)",
        ));
    }
    Ok(())
}

async fn join(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    match task {
        Some(t) => t.await.unwrap_or_default(),
        None => Captured::default(),
    }
}

/// Names the failure. The error may come from the sandbox setup in the child as well as from
/// exec, so "not found" is only said of a program that really cannot be found.
fn spawn_error(spec: &ProcessSpec, e: std::io::Error) -> SpawnError {
    let program = spec.program.to_string_lossy().into_owned();
    let missing = find_program(&program).is_none();
    match e.kind() {
        std::io::ErrorKind::NotFound if missing => SpawnError::NotFound {
            on_path: !program.contains('/'),
            program,
        },
        std::io::ErrorKind::PermissionDenied if missing => SpawnError::PermissionDenied { program },
        _ => SpawnError::Io { program, source: e },
    }
}
