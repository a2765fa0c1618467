//! Starting a confined process and owning it until it is gone: its pipes, process group,
//! cgroup and scratch directory.
//!
//! [`spawn`] is the half of [`crate::run`] that outlives a single call: a session's interpreter
//! is spawned once and then written to and read from for as long as the session lives.
//! Dropping a [`Confined`] kills whatever is left of it and removes its cgroup and scratch
//! directory, so no path out of a session can leave a process or a file behind.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::cgroup::RunCgroup;
use crate::dumpable::protect_supervisor;
use crate::exec_plan::{ChildStdio, ExecPlan};
use crate::launch::launch;
use crate::plan::prepare;
use crate::policy::{Isolation, SandboxPolicy};
use crate::process::ChildProcess;
use crate::scratch::{Scratch, create_private_dir_once, default_scratch_parent};
use crate::{Exit, Layers, LimitHit, ProcessSpec, SpawnError, StdinSource, find_program, probe};

/// A running confined process.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use skillet_sandbox::*;
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
/// let policy = SandboxPolicy::new(std::time::Duration::from_secs(5));
/// let spec = ProcessSpec { program: "cat".into(), args: vec![], cwd: "/".into(), stdin: StdinSource::Pipe, inherit_fd: None };
/// let mut cat = spawn(&spec, &policy)?;
/// cat.stdin.as_mut().unwrap().write_all(b"hello\n").await?;
/// let mut line = String::new();
/// tokio::io::BufReader::new(cat.stdout.take().unwrap()).read_line(&mut line).await?;
/// assert_eq!(line, "hello\n");
/// cat.kill();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Confined {
    /// Its standard input, with [`StdinSource::Pipe`].
    pub stdin: Option<ChildStdin>,
    /// Its standard output.
    pub stdout: Option<ChildStdout>,
    /// Its standard error.
    pub stderr: Option<ChildStderr>,
    /// Which confinement layers are active.
    pub layers: Layers,
    /// Limits asked for that cannot be enforced here, with the reason.
    pub unenforced: Vec<(&'static str, String)>,
    child: ChildProcess,
    group: Option<rustix::process::Pid>,
    cgroup: Option<RunCgroup>,
    scratch: Option<tempfile::TempDir>,
    /// The scratch as the supervisor reads it (see scratch.rs).
    scratch_fs: Scratch,
    /// [`crate::Limits::scratch_bytes`] and `max_file_size_bytes`, to explain how the run ended.
    scratch_cap: u64,
    max_file_size: Option<u64>,
    keep_scratch: bool,
    started: Instant,
    stdin_bytes: Option<Vec<u8>>,
    /// Placeholders of protected names (placeholders.rs), removed when this is dropped: after
    /// `Drop::drop` has killed and reaped the run, so no mount is left on them.
    _placeholders: crate::placeholders::Placeholders,
}

/// Starts `spec` confined by `policy` and returns at once. The policy's wall-clock and output
/// limits are the caller's to enforce (as [`crate::run`] does); every other limit is in force.
pub fn spawn(spec: &ProcessSpec, policy: &SandboxPolicy) -> Result<Confined, SpawnError> {
    if !spec.cwd.is_dir() {
        return Err(SpawnError::NoWorkingDir(spec.cwd.clone()));
    }
    // Checked before anything is made; a runtime without I/O is caught after the launch
    // (process.rs), since Tokio cannot be asked.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(spawn_error(
            spec,
            std::io::Error::other(crate::process::NO_RUNTIME),
        ));
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
    create_private_dir_once(&scratch_parent).map_err(|e| setup("cannot create", e))?;
    // A grant holding the scratch directories (`--allow-read $XDG_RUNTIME_DIR`) would be bound
    // over them: the run could not write its own scratch, and would see every run's scratch,
    // the daemon's socket and other programs' sockets there.
    let real_parent = std::fs::canonicalize(&scratch_parent).unwrap_or(scratch_parent.clone());
    if let Some(grant) = policy
        .fs
        .read
        .iter()
        .chain(&policy.fs.write)
        .find(|g| real_parent.starts_with(g))
    {
        return Err(SpawnError::UnsafePath {
            path: grant.clone(),
            reason: format!(
                "cannot be granted: it holds {}, where skillet keeps the scratch directories of \
                 all runs and its own sockets; grant the directory inside it that the skill \
                 needs instead",
                real_parent.display()
            ),
        });
    }
    let root_dir = scratch_parent.join(".root");
    create_private_dir_once(&root_dir).map_err(|e| setup("cannot create the root under", e))?;
    // Checked before the scratch is made, and the cap lowered to what is left under the bound
    // on all scratch together, so a skill that writes past the bound is stopped as at its cap.
    let scratch_cap = crate::scratch_total::admit(
        &scratch_parent,
        policy.limits.scratch_bytes,
        policy.limits.scratch_total_bytes,
    )
    .map_err(SpawnError::ScratchFull)?;
    let lowered;
    let policy = if scratch_cap < policy.limits.scratch_bytes {
        let mut p = policy.clone();
        p.limits.scratch_bytes = scratch_cap;
        lowered = p;
        &lowered
    } else {
        policy
    };
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
            crate::cgroup::sweep_now_and_then(mode);

            let run = scratch
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = crate::cgroup::run_name(&run);
            let (group, procs) = RunCgroup::create(mode, &name, limits)?;
            (Some(group), procs)
        }
        (Err(reason), true) => {
            // Without a cgroup, an unprivileged sandbox still caps its processes in its own user
            // namespace (see child/).
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
                    unenforced.push((name, reason.to_string()));
                }
            }
            (None, Vec::new())
        }
    };
    // From here on, any early return drops `cgroup`, which removes it.
    let prepared = prepare(
        policy,
        caps,
        scratch.path(),
        &root_dir,
        &spec.cwd,
        &spec.program,
        procs,
    )?;
    let mut layers = prepared.layers;
    if cgroup.is_some() {
        layers.active.push("cgroups");
    }
    let child_plan = prepared.plan;
    let placeholders = prepared.placeholders;

    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = policy
        .env_passthrough
        .iter()
        .filter_map(|name| Some((name.into(), std::env::var_os(name)?)))
        .collect();
    if policy.isolation != Isolation::Disabled {
        // Programs write caches under HOME and temporary files under TMPDIR: both go to scratch.
        env.push(("HOME".into(), scratch.path().into()));
        env.push(("TMPDIR".into(), scratch.path().into()));
    }
    env.extend(policy.env.iter().cloned());
    let (stdin, stdin_bytes) = match &spec.stdin {
        StdinSource::Bytes(bytes) => (ChildStdio::Pipe, Some(bytes.clone())),
        StdinSource::Pipe => (ChildStdio::Pipe, None),
        StdinSource::Inherit if !std::io::stdin().is_terminal() => (ChildStdio::Inherit, None),
        StdinSource::Inherit | StdinSource::Null => (ChildStdio::Null, None),
    };
    // A private root enters the working directory itself, inside the new root.
    let cwd = child_plan
        .namespaces
        .is_none()
        .then_some(spec.cwd.as_path());
    if policy.isolation != Isolation::Disabled && child_plan.namespaces.is_none() && !caps.is_root {
        protect_supervisor();
    }
    // Without spawning, env's exec of a script's interpreter would be a second exec.
    let direct = (!policy.allow_spawn && policy.isolation != Isolation::Disabled)
        .then(|| crate::exec_allow::through_env(&spec.program, &spec.args))
        .flatten();
    let (program, args) = direct.as_ref().map_or(
        (spec.program.as_os_str(), spec.args.as_slice()),
        |(p, a)| (p.as_os_str(), a.as_slice()),
    );
    let started = Instant::now();
    let launched = ExecPlan::new(
        program,
        args,
        &env,
        cwd,
        [stdin, ChildStdio::Pipe, ChildStdio::Pipe],
    )
    .and_then(|exec| exec.inheriting(spec.inherit_fd.as_ref()))
    .and_then(|mut exec| {
        let launched = launch(&child_plan, &exec)?;
        let [stdin, stdout, stderr] = std::mem::take(&mut exec.parent_ends);
        Ok((launched, stdin, stdout, stderr))
    });
    // The ruleset and cgroup files are the children's; close the parent's copies now.
    drop(child_plan);
    let (mut launched, stdin, stdout, stderr) = launched.map_err(|e| spawn_error(spec, e))?;
    let group = rustix::process::Pid::from_raw(launched.group);
    let scratch_fs = Scratch::hold(launched.root.take(), &scratch_parent);
    let child = match ChildProcess::new(launched) {
        Ok(child) => child,
        Err(e) => {
            // Init is gone; without namespaces the program and what it started may not be yet.
            if let Some(pgid) = group {
                let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            }
            if let Some(g) = &cgroup {
                g.kill_all();
            }
            return Err(spawn_error(spec, e));
        }
    };
    let io = |e| spawn_error(spec, e);
    Ok(Confined {
        stdin: stdin
            .map(|fd| ChildStdin::from_std(fd.into()))
            .transpose()
            .map_err(io)?,
        stdout: stdout
            .map(|fd| ChildStdout::from_std(fd.into()))
            .transpose()
            .map_err(io)?,
        stderr: stderr
            .map(|fd| ChildStderr::from_std(fd.into()))
            .transpose()
            .map_err(io)?,
        layers,
        unenforced,
        child,
        group,
        cgroup,
        scratch: Some(scratch),
        scratch_fs,
        scratch_cap: limits.scratch_bytes,
        max_file_size: limits.max_file_size_bytes,
        keep_scratch: policy.keep_scratch,
        _placeholders: placeholders,
        started,
        stdin_bytes,
    })
}

impl Confined {
    /// The process id of the main process (outside any PID namespace), while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The private directory that is the process's `HOME` and `TMPDIR`, as a host path. With
    /// namespaces the files written there live in the run's private tmpfs, and appear in this
    /// directory only when it is kept, once the process is finished.
    pub fn scratch(&self) -> Option<&Path> {
        self.scratch.as_ref().map(tempfile::TempDir::path)
    }

    /// Keeps the scratch directory when the process is finished, whatever the policy said.
    pub fn keep_scratch(&mut self) {
        self.keep_scratch = true;
    }

    /// How long ago it was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The bytes [`StdinSource::Bytes`] asked to be written, for the caller to write.
    pub(crate) fn take_stdin_bytes(&mut self) -> Option<Vec<u8>> {
        self.stdin_bytes.take()
    }

    /// Waits for the main process to end.
    pub async fn wait(&mut self) -> Result<Exit, std::io::Error> {
        self.child.wait().await
    }

    /// How it ended, if it has; never blocks.
    pub fn try_exit(&mut self) -> Option<Exit> {
        self.child.try_wait().ok()?
    }

    /// Kills the run: its init with namespaces (which ends them), or its program without (init,
    /// the run's subreaper, then kills what is left), the process group and everything in the
    /// cgroup. The main process still has to be reaped ([`Confined::wait`]); dropping does that
    /// too.
    pub fn kill(&self) {
        self.child.start_kill();
        if let Some(pgid) = self.group {
            // ESRCH (nobody left in the group) is the normal case after a clean exit.
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
        if let Some(g) = &self.cgroup {
            g.kill_all();
        }
    }

    /// Kills the program and what it left, and lets init reap them before it exits (see
    /// `ChildProcess::stop_program`), so a run cut short still has its CPU time counted.
    /// [`Confined::kill`] ends whatever is left.
    pub(crate) fn stop_program(&self) {
        self.child.stop_program();
    }

    /// CPU time of every process of the run, when it has a cgroup to read it from.
    pub(crate) fn cgroup_cpu_time(&self) -> Option<Duration> {
        self.cgroup.as_ref().and_then(RunCgroup::cpu_time)
    }

    /// The most processes the run's cgroup held at once, when it has one that counts them.
    pub(crate) fn cgroup_peak_processes(&self) -> Option<u64> {
        self.cgroup.as_ref().and_then(RunCgroup::peak_processes)
    }

    /// Bytes the run's cgroup wrote to block devices, when the cgroup counts them.
    pub(crate) fn cgroup_bytes_written(&self) -> Option<u64> {
        self.cgroup.as_ref().and_then(RunCgroup::bytes_written)
    }

    /// The limit that explains how a process ended, when it left a trace of one. Call it once
    /// the process has ended: it looks at what the run left in its scratch.
    pub fn limit_behind(&self, exit: Exit) -> Option<LimitHit> {
        if self.cgroup.as_ref().is_some_and(RunCgroup::oom_killed) {
            return Some(LimitHit::Memory);
        }
        match exit {
            Exit::Signal(libc::SIGXCPU) => return Some(LimitHit::Cpu),
            Exit::Signal(libc::SIGXFSZ) => return Some(LimitHit::FileSize),
            _ => {}
        }
        let host = self.scratch.as_ref().map(tempfile::TempDir::path);
        let full = || host.is_some_and(|h| self.scratch_fs.full(h, self.scratch_cap));
        // Nothing stopped a write past the cap there: the run broke the limit, however it ended.
        if !self.scratch_fs.capped_by_kernel() && full() {
            return Some(LimitHit::ScratchDisk);
        }
        // A refused fork, a full disk or a file cut at its limit is only the cause when the run
        // failed: a skill may handle EAGAIN, ENOSPC or EFBIG and still succeed.
        if exit == Exit::Code(0) {
            return None;
        }
        if self.cgroup.as_ref().is_some_and(RunCgroup::pids_exhausted) {
            return Some(LimitHit::Processes);
        }
        // A shell reports a command killed by SIGXFSZ as 128 + the signal.
        if self.max_file_size.is_some() && exit == Exit::Code(128 + libc::SIGXFSZ) {
            return Some(LimitHit::FileSize);
        }
        if full() {
            return Some(LimitHit::ScratchDisk);
        }
        // A writer that ignored SIGXFSZ got EFBIG instead, and left its file at the limit.
        match (self.max_file_size, host) {
            (Some(size), Some(h)) if self.scratch_fs.has_file_of(h, size) => {
                Some(LimitHit::FileSize)
            }
            _ => None,
        }
    }

    /// The host scratch directory and its cap, when the supervisor must measure it during the
    /// run (no private tmpfs caps it).
    pub(crate) fn scratch_to_watch(&self) -> Option<(PathBuf, u64)> {
        if self.scratch_fs.capped_by_kernel() {
            return None;
        }
        let dir = self.scratch.as_ref()?.path().to_path_buf();
        Some((dir, self.scratch_cap))
    }

    /// Kills what is left, reaps it, removes the cgroup, and removes the scratch directory
    /// unless the policy keeps it (then its path is returned).
    pub async fn finish(mut self) -> Option<PathBuf> {
        self.kill();
        let _ = self.child.wait().await;
        self.release()
    }

    fn release(&mut self) -> Option<PathBuf> {
        // The tmpfs is freed with the last hold on it, before the cgroup its pages count in.
        let scratch_fs = std::mem::replace(&mut self.scratch_fs, Scratch::Host);
        if let (true, Some(dir)) = (self.keep_scratch, &self.scratch) {
            scratch_fs.copy_out(dir.path());
        }
        if matches!(scratch_fs, Scratch::Tmpfs(_)) {
            drop(scratch_fs);
            crate::scratch_total::publish();
        }
        // Dropping the group removes it.
        drop(self.cgroup.take());
        let scratch = self.scratch.take()?;
        if self.keep_scratch {
            Some(crate::scratch_owner::outlive_owner(scratch.keep()))
        } else {
            // Not by the TempDir's own drop: it gives up on a folder the run made unlistable.
            crate::scratch::remove_tree(&scratch.keep());
            None
        }
    }
}

impl Drop for Confined {
    fn drop(&mut self) {
        if self.cgroup.is_none() && self.scratch.is_none() {
            return;
        }
        self.kill();
        // Killed, the main process ends at once; reaping it here keeps it from lingering as a
        // zombie when no runtime is left to do it.
        self.child.kill_and_reap_blocking();
        self.release();
    }
}

/// Names the failure. The error may come from the sandbox setup in the child as well as from
/// exec, so "not found" is only said of a program that really cannot be found.
pub(crate) fn spawn_error(spec: &ProcessSpec, e: std::io::Error) -> SpawnError {
    let program = spec.program.to_string_lossy().into_owned();
    let missing = find_program(&program).is_none();
    match e.kind() {
        std::io::ErrorKind::NotFound if missing => SpawnError::NotFound {
            on_path: !program.contains('/'),
            program,
        },
        std::io::ErrorKind::PermissionDenied if missing => SpawnError::PermissionDenied { program },
        // The private root's checks (child/root.rs): what the parent opened is gone or another.
        _ if e.raw_os_error() == Some(libc::ESTALE) => SpawnError::Setup(format!(
            "a path of the policy was removed or replaced while the run started (before {program} \
             could run); check what changed in the granted folders and run again"
        )),
        _ => SpawnError::Io { program, source: e },
    }
}
