//! Spawning, timing out and reaping a process group.

use std::io::IsTerminal;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

use crate::capture::{Captured, OutputChunk, Stream, read_capped};
use crate::{Exit, Outcome, ProcessSpec, SandboxPolicy, SpawnError, StdinSource};

/// How long output may keep arriving after the main process ended and its group was killed.
/// Only a process that left the group (with `setsid`) can still hold the pipes open then.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// Runs `spec` under `policy` to completion, forwarding output to `live` as it arrives.
///
/// ```no_run
/// # async fn f() -> Result<(), skillet_sandbox::SpawnError> {
/// use skillet_sandbox::*;
/// let policy = SandboxPolicy {
///     env_passthrough: vec!["PATH".into()],
///     env: vec![],
///     wall_time: std::time::Duration::from_secs(5),
///     max_output_bytes: 1 << 20,
/// };
/// let spec = ProcessSpec { program: "echo".into(), args: vec!["hi".into()], cwd: ".".into(), stdin: StdinSource::Null };
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
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in &policy.env_passthrough {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
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

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| spawn_error(spec, e))?;
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
    let cap = policy.max_output_bytes;
    let stdout = child.stdout.take().map(|r| {
        tokio::spawn(read_capped(
            r,
            cap,
            Stream::Stdout,
            live.clone(),
            stop_rx.clone(),
        ))
    });
    let stderr = child
        .stderr
        .take()
        .map(|r| tokio::spawn(read_capped(r, cap, Stream::Stderr, live, stop_rx)));
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), stdin_bytes) {
        tokio::spawn(async move {
            // The child may exit without reading; a broken pipe is not an error of ours.
            let _ = pipe.write_all(&bytes).await;
        });
    }

    let deadline = tokio::time::Instant::from_std(started + policy.wall_time);
    let (status, timed_out) = tokio::select! {
        status = child.wait() => (status, false),
        () = tokio::time::sleep_until(deadline) => {
            kill_group();
            (child.wait().await, true)
        }
    };
    let duration = started.elapsed();
    // The main process is gone; anything still in its group is a stray and dies with it.
    kill_group();
    let status = status.map_err(|e| spawn_error(spec, e))?;

    let mut collect = Box::pin(async { (join(stdout).await, join(stderr).await) });
    let (out, err) = match tokio::time::timeout(DRAIN_GRACE, &mut collect).await {
        Ok(both) => both,
        Err(_) => {
            // Told to stop, the readers return what they have at once.
            let _ = stop_tx.send(true);
            collect.await
        }
    };
    Ok(finish(status, timed_out, duration, out, err))
}

async fn join(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    match task {
        Some(t) => t.await.unwrap_or_default(),
        None => Captured::default(),
    }
}

fn finish(
    status: std::process::ExitStatus,
    timed_out: bool,
    duration: Duration,
    out: Captured,
    err: Captured,
) -> Outcome {
    let exit = match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    };
    Outcome {
        exit,
        timed_out,
        stdout: out.bytes,
        stderr: err.bytes,
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        duration,
    }
}

fn spawn_error(spec: &ProcessSpec, e: std::io::Error) -> SpawnError {
    let program = spec.program.to_string_lossy().into_owned();
    match e.kind() {
        std::io::ErrorKind::NotFound => SpawnError::NotFound {
            on_path: !program.contains('/'),
            program,
        },
        std::io::ErrorKind::PermissionDenied => SpawnError::PermissionDenied { program },
        _ => SpawnError::Io { program, source: e },
    }
}
