//! Spawning a confined process, enforcing time and output limits, and reaping everything.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc, watch};

use crate::capture::{Captured, OutputChunk, Stream, read_capped};
use crate::confined::{spawn, spawn_error};
use crate::policy::SandboxPolicy;
use crate::{Exit, LimitHit, Outcome, ProcessSpec, SpawnError};

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
    let usage_before = children_usage();
    let mut child = spawn(spec, policy)?;
    let limits = &policy.limits;

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
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), child.take_stdin_bytes()) {
        tokio::spawn(async move {
            // The child may exit without reading; a broken pipe is not an error of ours.
            let _ = pipe.write_all(&bytes).await;
        });
    }

    let deadline = tokio::time::Instant::now() + limits.wall_time.saturating_sub(child.elapsed());
    let (status, mut limit) = tokio::select! {
        status = child.wait() => (status, None),
        () = tokio::time::sleep_until(deadline) => {
            child.kill();
            (child.wait().await, Some(LimitHit::Time))
        }
        () = overflow.notified() => {
            child.kill();
            (child.wait().await, Some(LimitHit::Output))
        }
    };
    let duration = child.elapsed();
    // The main process is gone; anything still in its group or cgroup is a stray and dies too.
    child.kill();
    let exit = status.map_err(|e| spawn_error(spec, e))?;
    if limit.is_none() {
        limit = child.limit_behind(exit);
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
    let layers = std::mem::take(&mut child.layers);
    let unenforced = std::mem::take(&mut child.unenforced);
    let scratch_kept = child.finish().await;
    let usage_after = children_usage();
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

async fn join(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    match task {
        Some(t) => t.await.unwrap_or_default(),
        None => Captured::default(),
    }
}
