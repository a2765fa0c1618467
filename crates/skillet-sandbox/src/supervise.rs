//! Spawning a confined process, enforcing time and output limits, and reaping everything.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc, watch};

use crate::capture::{Captured, OutputChunk, Stream, read_capped};
use crate::confined::{spawn, spawn_error};
use crate::policy::SandboxPolicy;
use crate::{Exit, LimitHit, Outcome, ProcessSpec, SpawnError};

/// How often a scratch directory no tmpfs caps is measured (runs without namespaces).
const SCRATCH_POLL: Duration = Duration::from_millis(200);

/// How long output may keep arriving after the main process ended and its group was killed.
/// Only a process that left the group and the namespace can still hold the pipes open then.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// How long init gets to reap a program it was told to end before everything is killed.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// Ends a run cut short by a limit: the program first, so that init reaps it and its CPU time
/// is counted, then, if init has not followed within [`STOP_GRACE`], everything.
async fn stop(child: &mut crate::Confined) -> std::io::Result<Exit> {
    child.stop_program();
    if let Ok(status) = tokio::time::timeout(STOP_GRACE, child.wait()).await {
        return status;
    }
    child.kill();
    child.wait().await
}

/// Runs `spec` confined by `policy` to completion, forwarding output to `live` as it arrives.
///
/// ```no_run
/// # async fn f() -> Result<(), skillet_sandbox::SpawnError> {
/// use skillet_sandbox::*;
/// let policy = SandboxPolicy::new(std::time::Duration::from_secs(5));
/// let spec = ProcessSpec { program: "echo".into(), args: vec!["hi".into()], cwd: "/".into(), stdin: StdinSource::Null, inherit_fd: None };
/// let outcome = run(&spec, &policy, None).await?;
/// assert_eq!(outcome.stdout, b"hi\n");
/// # Ok(()) }
/// ```
pub async fn run(
    spec: &ProcessSpec,
    policy: &SandboxPolicy,
    live: Option<mpsc::UnboundedSender<OutputChunk>>,
) -> Result<Outcome, SpawnError> {
    let called = std::time::Instant::now();
    let usage_before = children_usage();
    // Opened before the run, so that what is measured is what the run was given.
    let capped = crate::write_caps::Capped::open(&policy.fs.capped)
        .map_err(|e| SpawnError::Setup(e.to_string()))?;
    let mut child = spawn(spec, policy)?;
    // Launching returns once the program has been executed (launch/mod.rs).
    let setup = called.elapsed();
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
    let scratch_watch = watch_scratch(child.scratch_to_watch());
    let (status, mut limit) = tokio::select! {
        status = child.wait() => (status, None),
        () = tokio::time::sleep_until(deadline) => (stop(&mut child).await, Some(LimitHit::Time)),
        () = overflow.notified() => (stop(&mut child).await, Some(LimitHit::Output)),
        () = scratch_watch => (stop(&mut child).await, Some(LimitHit::ScratchDisk)),
        // Every process at once: each one still writing adds to what the directory holds.
        () = capped.watch() => {
            child.kill();
            (child.wait().await, Some(LimitHit::WriteCap))
        }
    };
    let duration = child.elapsed();
    let ended = std::time::Instant::now();
    // The main process is gone; anything still in its group or cgroup is a stray and dies too.
    child.kill();
    let exit = status.map_err(|e| spawn_error(spec, e))?;
    // A run that filled a capped grant between two looks and ended is stopped all the same:
    // what it left is past the cap.
    if limit.is_none() && capped.over() {
        limit = Some(LimitHit::WriteCap);
    }
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
    // Read before the group goes with `finish`.
    let cgroup_cpu = child.cgroup_cpu_time();
    let cgroup_processes = child.cgroup_peak_processes();
    let cgroup_written = child.cgroup_bytes_written();
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
        setup,
        teardown: ended.elapsed(),
        layers,
        unenforced,
        scratch_kept,
        // The group's count is this run's alone; the supervisor's children's count also
        // holds any other run that ended meanwhile in this process.
        cpu_time: cgroup_cpu.or(usage_after.cpu.checked_sub(usage_before.cpu)),
        peak_memory_kb: usage_after.max_rss_kb,
        peak_processes: cgroup_processes,
        bytes_written: cgroup_written.or_else(|| {
            let blocks = usage_after
                .out_blocks
                .checked_sub(usage_before.out_blocks)?;
            Some(blocks.saturating_mul(512))
        }),
    })
}

/// Returns once the scratch directory holds more than its cap; never, when there is nothing
/// to measure (a private tmpfs caps the scratch instead).
async fn watch_scratch(watched: Option<(std::path::PathBuf, u64)>) {
    let Some((dir, cap)) = watched else {
        return std::future::pending().await;
    };
    let dir = Arc::new(dir);
    // Not at once: most runs are over before anything is worth measuring.
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + SCRATCH_POLL, SCRATCH_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let d = dir.clone();
        let used = tokio::task::spawn_blocking(move || crate::scratch::usage(&d))
            .await
            .unwrap_or(0);
        if used > cap {
            return;
        }
    }
}

/// What this process's reaped children used, all of them so far.
struct ChildrenUsage {
    /// CPU time, user and system.
    cpu: Duration,
    /// The largest resident set of any one child, KiB.
    max_rss_kb: u64,
    /// Writes to storage, in 512-byte blocks.
    out_blocks: u64,
}

/// What this process's reaped children used. The difference across one run is that run's CPU
/// time and storage writes; the peak is the largest of any child so far. Exact when one run
/// happens per process (the CLI), an upper bound otherwise.
fn children_usage() -> ChildrenUsage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is always valid.
    #[allow(unsafe_code)]
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv =
        |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
    ChildrenUsage {
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kb: usage.ru_maxrss.max(0) as u64,
        out_blocks: usage.ru_oublock.max(0) as u64,
    }
}

async fn join(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    match task {
        Some(t) => t.await.unwrap_or_default(),
        None => Captured::default(),
    }
}
